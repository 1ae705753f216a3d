"""Configuration from the S3 origin's custom headers (Lambda@Edge has no environment).

Header names and defaults are SPEC.md's. A malformed value is a deployment error
(500, logged), never a viewer's: the viewer cannot fix it.
"""

import re
from dataclasses import dataclass
from typing import NamedTuple

from edge.errors import Misconfigured
from edge.event import Headers, S3Origin
from edge.rendition import is_dims

ORIGINALS_BUCKET = "x-originals-bucket"
ORIGINALS_REGION = "x-originals-region"
MAX_DIMENSION = "x-max-dimension"
ALLOWED_SIZES = "x-allowed-sizes"
MAX_SOURCE_PIXELS = "x-max-source-pixels"
MAX_SOURCE_BYTES = "x-max-source-bytes"
MAX_FRAMES = "x-max-frames"
CACHE_CONTROL = "x-cache-control"

DEFAULT_MAX_DIMENSION = 4096
DEFAULT_MAX_SOURCE_PIXELS = 50_000_000
DEFAULT_MAX_SOURCE_BYTES = 40 * 1024 * 1024
DEFAULT_MAX_FRAMES = 300
DEFAULT_CACHE_CONTROL = "public, max-age=31536000, immutable"
DEFAULT_REGION = "us-east-1"  # S3's global endpoint's, and s3-external-1's

# S3's rule for a bucket created today: 3 to 63 lower-case letters, digits, dots and hyphens, a letter or digit at
# each end.
BUCKET_NAME = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# bucket.s3.amazonaws.com, bucket.s3.<region>.amazonaws.com and the legacy bucket.s3-<region>.amazonaws.com; S3's
# FIPS and dual-stack endpoints, s3-fips.<region>, s3.dualstack.<region> and s3-fips.dualstack.<region>; and
# us-east-1's legacy s3-external-1.
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
_S3_DOMAIN = re.compile(
    rf"^(?P<bucket>{BUCKET_NAME})\.s3(?:(?P<fips>-fips)?(?P<dualstack>\.dualstack)?\.(?P<region>{_REGION})"
    rf"|-(?P<legacy>{_REGION})|(?P<external>-external-1))?\.amazonaws\.com$"
)
_POSITIVE_INT = re.compile(r"^[1-9][0-9]{0,11}$")


@dataclass(frozen=True)
class Config:
    originals_bucket: str
    originals_region: str
    derivatives_bucket: str
    derivatives_region: str
    max_dimension: int
    allowed_sizes: frozenset[str] | None  # None: any dims up to max_dimension
    max_source_pixels: int
    max_source_bytes: int
    max_frames: int
    cache_control: str
    # The function reaches S3 as CloudFront does, through the origin's FIPS or dual-stack endpoints: a deployment
    # that names a FIPS origin keeps all its S3 traffic inside FIPS, the originals' too.
    fips: bool
    dualstack: bool

    @classmethod
    def from_origin(cls, origin: S3Origin | None) -> "Config":
        if origin is None:
            raise Misconfigured("the origin is not an S3 origin")
        if origin.path:
            # S3 would look every derivative up under the path, and find none where it is stored.
            raise Misconfigured(f"the S3 origin has an origin path, {origin.path!r}")
        domain = parse_s3_domain(origin.domain_name)
        derivatives_region = origin.region or domain.region or DEFAULT_REGION
        headers = origin.custom_headers
        originals_bucket = _value(headers, ORIGINALS_BUCKET)
        if not originals_bucket:
            raise Misconfigured(f"origin custom header {ORIGINALS_BUCKET} is missing")
        return cls(
            originals_bucket=originals_bucket,
            # Region names are lower case: read so, a header in capitals names the same region, and client.
            originals_region=_value(headers, ORIGINALS_REGION).lower() or derivatives_region,
            derivatives_bucket=domain.bucket,
            derivatives_region=derivatives_region,
            max_dimension=_positive_int(headers, MAX_DIMENSION, DEFAULT_MAX_DIMENSION),
            allowed_sizes=parse_allowed_sizes(headers.get(ALLOWED_SIZES)),
            max_source_pixels=_positive_int(headers, MAX_SOURCE_PIXELS, DEFAULT_MAX_SOURCE_PIXELS),
            max_source_bytes=_positive_int(headers, MAX_SOURCE_BYTES, DEFAULT_MAX_SOURCE_BYTES),
            max_frames=_positive_int(headers, MAX_FRAMES, DEFAULT_MAX_FRAMES),
            cache_control=_header_value(headers, CACHE_CONTROL, DEFAULT_CACHE_CONTROL),
            fips=domain.fips,
            dualstack=domain.dualstack,
        )


class S3Domain(NamedTuple):
    bucket: str
    region: str | None  # None: S3's global endpoint, which names none
    fips: bool
    dualstack: bool


def parse_s3_domain(domain_name: str) -> S3Domain:
    """The bucket, region and endpoint kind a virtual-hosted S3 domain name says."""
    match = _S3_DOMAIN.match(domain_name.lower())
    if match is None:
        raise Misconfigured(f"unrecognised S3 origin domain {domain_name!r}")
    region = DEFAULT_REGION if match["external"] else match["region"] or match["legacy"]
    return S3Domain(match["bucket"], region, bool(match["fips"]), bool(match["dualstack"]))


def parse_allowed_sizes(value: str | None) -> frozenset[str] | None:
    """None for any size; else the dims listed. An entry not written as dims (such as 640X) is a typo
    that would refuse the size the deployment meant to allow: a misconfiguration, not an entry ignored."""
    if value is None or value.strip() in ("", "*"):
        return None
    sizes = frozenset(entry.strip() for entry in value.split(",") if entry.strip())
    if not sizes:
        raise Misconfigured(f"origin custom header {ALLOWED_SIZES} lists no size: {value!r}")
    if malformed := sorted(size for size in sizes if not is_dims(size)):
        raise Misconfigured(f"origin custom header {ALLOWED_SIZES} lists what is not WxH, Wx or xH: {malformed}")
    return sizes


def _value(headers: Headers, name: str) -> str:
    """A header's value without the spaces around it; "" when it is absent."""
    return (headers.get(name) or "").strip()


def _positive_int(headers: Headers, name: str, default: int) -> int:
    value = _value(headers, name)
    if not value:
        return default
    if not _POSITIVE_INT.match(value):
        raise Misconfigured(f"origin custom header {name} is not a positive integer: {value!r}")
    return int(value)


def _header_value(headers: Headers, name: str, default: str) -> str:
    """A value the function repeats in a header of its own, to S3 and to viewers: printable ASCII only,
    which S3 takes as metadata and CloudFront lets through."""
    value = _value(headers, name)
    if not value:
        return default
    if not (value.isascii() and value.isprintable()):
        raise Misconfigured(f"origin custom header {name} is not printable ASCII: {value!r}")
    return value
