"""S3 access: the only module that imports boto3.

Clients are built once per container, region and endpoint kind (FIPS, dual-stack), and reused across
invocations.
Retries are botocore's standard mode with few attempts and short timeouts, so
that a slow S3 becomes a 503 well inside Lambda@Edge's 30 s budget.
AWS errors become typed EdgeErrors here; their text goes to the logs only.

Writes are fenced three ways, besides IAM: only to the derivatives bucket, which
may not be the originals bucket; only under a key that parses as
`<spec>/<original key>`; and only if no object is there yet (If-None-Match: *),
so that no object, an original included, is ever overwritten.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import boto3
import urllib3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError, ValidationError

from edge.budget import CONNECT_TIMEOUT_S, MAX_ATTEMPTS, READ_TIMEOUT_S
from edge.errors import (
    BadRequest, EdgeError, Misconfigured, OriginalNotFound, SourceTooLarge, Unavailable, UnsafeWrite, UnsupportedMedia,
)
from edge.rendition import parse_derivative_key

CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
)
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
# Answers no retry can change, only an operator: access, a bucket or its region (when botocore's own
# redirect to the bucket's region fails), an original archived by a lifecycle rule until restored,
# or one encrypted with a customer key the function cannot send (InvalidRequest).
_MISCONFIGURED = frozenset({
    "AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
    "InvalidBucketName", "PermanentRedirect", "301", "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException", "InvalidObjectState", "InvalidRequest",
})
# What an object's Content-Encoding may say of bytes that are the image itself (aws-chunked is the upload's).
_PLAIN_ENCODINGS = frozenset({"", "identity", "aws-chunked"})
_ALREADY_STORED = frozenset({"PreconditionFailed", "412"})
# A conflicting operation (a delete of the key, say) was under way, and S3 asks for the PUT again: unlike a 412,
# it does not say that an object is there. Sent once more while time allows; else the derivative is not stored.
_CONFLICTED = frozenset({"ConditionalRequestConflict", "409"})
PUT_ATTEMPTS_ON_CONFLICT = 2
# The original's body is read a piece at a time, the time left checked between pieces: the timeouts
# bound each stall, not a body that keeps trickling in. A read of a piece returns only once it is
# whole, so the piece is small: a body must come slower than about 20 KB/s to outlast the time kept
# for the render (3 s) by one piece.
READ_PIECE = 64 * 1024
MAX_CLIENTS = 4
# How far into an original its header is looked for while the rest is still coming (image metadata
# before the size, such as EXIF thumbnails and ICC profiles, rarely takes more than a few pieces).
HEAD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    """What a conditional PUT of a derivative did."""

    created: bool  # False: an object was there already (a concurrent miss stored the same bytes first)
    etag: str | None = None  # S3's, for the object this PUT created


def s3_client(region: str, fips: bool = False, dualstack: bool = False):
    """A client for S3 in region, through its FIPS or dual-stack endpoints when asked."""
    # One cache entry whether the flags are passed or left out: lru_cache keys on the arguments as given.
    return _client(region, fips, dualstack)


# A warm container keeps a client for each region and endpoint kind it has met: the originals' and the derivatives'.
# Bounded, as each region a redeploy ever named would otherwise stay, with its connection pool.
@lru_cache(maxsize=MAX_CLIENTS)
def _client(region: str, fips: bool, dualstack: bool):
    endpoints = BotoConfig(use_fips_endpoint=fips, use_dualstack_endpoint=dualstack)
    return boto3.client("s3", region_name=region, config=CLIENT_CONFIG.merge(endpoints))


def forget_clients() -> None:
    """Drop every client kept, so that the next request builds its own (tests, and the local emulator)."""
    _client.cache_clear()


@dataclass(frozen=True)
class Storage:
    """Reads originals from one bucket and writes derivatives to another, never the reverse."""

    originals_bucket: str
    derivatives_bucket: str
    originals_client: object
    derivatives_client: object

    @classmethod
    def for_regions(
        cls, originals_bucket: str, originals_region: str, derivatives_bucket: str, derivatives_region: str,
        fips: bool, dualstack: bool,
    ):
        try:
            clients = s3_client(originals_region, fips, dualstack), s3_client(derivatives_region, fips, dualstack)
        except BotoCoreError as error:
            raise _typed(error, "Creating an S3 client") from None
        return cls(originals_bucket, derivatives_bucket, *clients)

    def __post_init__(self):
        # Bucket names are lower case; compare them so, so that a header in capitals cannot slip past.
        if self.originals_bucket.lower() == self.derivatives_bucket.lower():
            raise Misconfigured("originals and derivatives must be different buckets")

    def read_original(
        self, key: str, max_bytes: int, in_time: Callable[[], bool] = lambda: True,
        head_checked: Callable[[bytes], bool] | None = None,
    ) -> bytes:
        """The original's bytes; an object over max_bytes is refused before its body is read, and
        the read is given up when in_time() turns false. head_checked(first bytes) may refuse the
        original early (by raising) and says when it has seen enough (read_in_time)."""
        try:
            # A botocore before 1.36 checks an original's stored checksum only when asked to. A mismatch
            # then fails the read, so a corrupt original is never rendered.
            response = self.originals_client.get_object(Bucket=self.originals_bucket, Key=key, ChecksumMode="ENABLED")
        except (ClientError, BotoCoreError) as error:
            raise _typed(error, "GetObject") from None
        body = response["Body"]
        try:
            encoding = response.get("ContentEncoding", "").strip().lower()
            # HTTP's list of the codings applied in turn: "gzip, aws-chunked" is compressed all the same.
            if not {coding.strip() for coding in encoding.split(",")} <= _PLAIN_ENCODINGS:
                # S3 sends the stored bytes as they are, for the viewer to decompress: these are not an image.
                raise UnsupportedMedia(f"original stored with Content-Encoding {encoding!r}")
            length = response.get("ContentLength", 0)
            if length > max_bytes:
                raise SourceTooLarge(f"original is {length} bytes, over {max_bytes}")
            return read_in_time(body, length, max_bytes, in_time, head_checked)
        # botocore wraps only urllib3's read timeouts and broken connections; a TLS error comes as is.
        except (BotoCoreError, urllib3.exceptions.HTTPError) as error:
            raise _typed(error, "Reading the original") from None
        finally:
            body.close()

    def write_derivative(
        self, key: str, body: bytes, content_type: str, cache_control: str, in_time: Callable[[], bool] = lambda: True,
    ) -> Stored:
        """Store a complete derivative, with the ETag S3 gives it (right whatever the bucket's encryption).
        An object already there is left alone: it holds the same bytes. A PUT S3 answers with a conflict
        is sent again only while in_time() holds."""
        try:
            parse_derivative_key(key)
        except BadRequest as error:
            raise UnsafeWrite(f"refused to write {key!r}: {error.detail}") from None
        _make_puts_conditional(self.derivatives_client)
        attempts_left = PUT_ATTEMPTS_ON_CONFLICT
        while True:
            attempts_left -= 1
            try:
                stored = self.derivatives_client.put_object(
                    Bucket=self.derivatives_bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    CacheControl=cache_control,
                )
            except (ClientError, BotoCoreError) as error:
                code = _error_code(error) if isinstance(error, ClientError) else ""
                if code in _ALREADY_STORED:
                    return Stored(created=False)
                if code in _CONFLICTED and attempts_left:
                    if in_time():
                        continue
                    raise Unavailable(f"PutObject failed: {code}, with too little time left to send it again") from None
                # A PUT creates its key: a 404 says there is nowhere to put it, not that something is missing.
                raise _typed(error, "PutObject", not_found=Misconfigured) from None
            return Stored(created=True, etag=stored.get("ETag"))


def _make_puts_conditional(client) -> None:
    """Make every PutObject of this client carry If-None-Match: *, whatever botocore it runs on.

    Not PutObject's IfNoneMatch parameter: only botocore 1.35.2 (August 2024) and later know it, and
    the Lambda runtime brings a botocore of its own choosing, which neither the build nor the tests can
    check. As a header it is signed and sent by any botocore."""
    client.meta.events.register("before-sign.s3.PutObject", _if_none_match, unique_id="edge.storage.if-none-match")


def _if_none_match(request, **_) -> None:
    request.headers["If-None-Match"] = "*"


def read_in_time(
    body, length: int, max_bytes: int, in_time: Callable[[], bool],
    head_checked: Callable[[bytes], bool] | None = None,
) -> bytes:
    """The body, held once: gathered into a buffer of its length, whose bytes are then returned
    without a copy. A body that ends short (botocore raises first) must not leave zeros at its end,
    and one without a length, or longer than it, must still stop at max_bytes.

    While more is to come, head_checked gets the bytes so far once they have doubled since it last
    did (after the first piece, then twice as many...), up to HEAD_BYTES, until it returns True; an
    error it raises ends the read there. Each check may walk the head's header, which a hostile file
    can make slow: after every piece, that was 16 walks of up to 1 MB."""
    gathered = io.BytesIO()
    next_head_check = 0
    if length:
        gathered.seek(length - 1)
        gathered.write(b"\0")
        gathered.seek(0)
    while piece := body.read(READ_PIECE):
        gathered.write(piece)
        if gathered.tell() > max_bytes:
            raise SourceTooLarge(f"original is over {max_bytes} bytes, more than it declared")
        if not in_time():
            raise Unavailable(f"too little time left after {gathered.tell()} bytes of the original")
        if head_checked is not None and next_head_check <= gathered.tell() < length:
            with gathered.getbuffer() as buffer:
                head = bytes(buffer[: gathered.tell()])
            if head_checked(head) or len(head) >= HEAD_BYTES:
                head_checked = None
            next_head_check = 2 * len(head)
    if gathered.tell() < length:
        raise Unavailable(f"the original ended after {gathered.tell()} of its {length} bytes")
    return gathered.getvalue()


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _typed(
    error: ClientError | BotoCoreError | urllib3.exceptions.HTTPError, operation: str,
    not_found: type[EdgeError] = OriginalNotFound,
) -> EdgeError:
    """S3's answer, or botocore's (or urllib3's) own failure, as the error the viewer gets; `not_found` is what a
    404 means to the operation: to a read, the original's absence."""
    if isinstance(error, ParamValidationError | ValidationError):
        # Refused before it was sent (a bucket or region name botocore will not send): no retry
        # could succeed, so it is the deployment's fault, not S3 being unavailable.
        return Misconfigured(f"{operation} refused by botocore: {error}")
    if isinstance(error, BotoCoreError | urllib3.exceptions.HTTPError):  # timeouts, connections, a body cut short
        return Unavailable(f"{operation} failed: {error}")
    code = _error_code(error)
    detail = f"{operation} failed: {code}"
    if code in _NOT_FOUND:
        return not_found(detail)
    if code in _MISCONFIGURED:
        return Misconfigured(detail)
    return Unavailable(detail)
