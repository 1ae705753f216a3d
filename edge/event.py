"""The CloudFront origin-response event, decoded once into frozen values.

Nothing past this module reads the raw event dict (before it, edge/handler.py's pass-through
gate reads the status and URI, and says why). Header maps keep CloudFront's
shape (lower-case name -> list of {key, value}) so that a response can be an
edit of the origin's own headers rather than a new map.
"""

from dataclasses import dataclass
from typing import Any

HeaderEntries = tuple[tuple[str, str], ...]  # (key as sent, value), in order


@dataclass(frozen=True)
class Headers:
    """An immutable CloudFront header map: lower-case name -> entries."""

    by_name: tuple[tuple[str, HeaderEntries], ...] = ()

    @classmethod
    def from_cloudfront(cls, raw: dict[str, list[dict[str, str]]] | None) -> "Headers":
        return cls(tuple(
            (name.lower(), tuple((entry.get("key", name), _entry_value(name, entry)) for entry in entries))
            for name, entries in (raw or {}).items()
        ))

    def get(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        name = name.lower()
        for header_name, entries in self.by_name:
            if header_name == name and entries:
                return entries[0][1]
        return None

    def to_cloudfront(self, names: frozenset[str]) -> dict[str, list[dict[str, str]]]:
        """The entries of the named headers, in CloudFront's shape, exactly as received."""
        return {
            name: [{"key": key, "value": value} for key, value in entries]
            for name, entries in self.by_name
            if name in names
        }


def _entry_value(name: str, entry: dict[str, str]) -> str:
    try:
        return entry["value"]
    except KeyError:
        raise ValueError(f"malformed event: an entry of header {name!r} has no value") from None


@dataclass(frozen=True)
class S3Origin:
    domain_name: str
    region: str
    path: str  # the origin path, which CloudFront puts before every key it asks S3 for
    custom_headers: Headers


@dataclass(frozen=True)
class ViewerRequest:
    method: str
    uri: str  # percent-encoded, as CloudFront sends it


@dataclass(frozen=True)
class OriginResponse:
    status: str
    headers: Headers


@dataclass(frozen=True)
class OriginResponseEvent:
    request: ViewerRequest
    origin: S3Origin | None  # None when the origin is not S3 (a custom origin)
    response: OriginResponse
    request_id: str = ""  # CloudFront's: the viewer's X-Amz-Cf-Id, and x-edge-request-id in its access logs

    @classmethod
    def from_record(cls, cf: dict[str, Any]) -> "OriginResponseEvent":
        request, response = cf["request"], cf["response"]
        s3 = (request.get("origin") or {}).get("s3")
        origin = None
        if s3 is not None:
            origin = S3Origin(
                domain_name=s3.get("domainName", ""),
                region=s3.get("region", ""),
                path=s3.get("path", ""),
                custom_headers=Headers.from_cloudfront(s3.get("customHeaders")),
            )
        return cls(
            request=ViewerRequest(method=request.get("method", "GET"), uri=request["uri"]),
            origin=origin,
            response=OriginResponse(
                status=str(response["status"]),
                headers=Headers.from_cloudfront(response.get("headers")),
            ),
            request_id=str((cf.get("config") or {}).get("requestId", "")),
        )
