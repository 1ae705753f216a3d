"""CloudFront responses generated from the origin's own: pure functions over plain values.

A generated response edits the origin response: it keeps the read-only headers
(Transfer-Encoding, Via) exactly as they came, adds none that Lambda@Edge
forbids, and replaces the content headers. This is the only module that turns
an EdgeError into a response.
"""

import base64
import json
from typing import Any
from urllib.parse import quote

from edge.errors import NO_STORE, EdgeError
from edge.event import OriginResponse

# Lambda@Edge rejects a generated response over 1 MB (headers plus base64 body).
MAX_GENERATED_BYTES = 1_000_000
READ_ONLY_HEADERS = frozenset({"transfer-encoding", "via"})
KEPT_HEADERS = READ_ONLY_HEADERS | {"date", "server"}
# What a URI's path may hold as it is (RFC 3986: unreserved, sub-delims, ":", "@", "/"), and "%", whose every
# escape in a parsed URI is well formed (rendition.decode_path refuses the others).
_URI_PATH_CHARACTERS = "/%!$&'()*+,;=:@-._~"


def image_response(
    origin: OriginResponse, body: bytes, content_type: str, cache_control: str, etag: str | None = None
) -> dict[str, Any]:
    """200 with the image inline, base64-encoded.

    The ETag, when given, is the one S3 gave the stored copy, so that the copy CloudFront caches
    from this answer is revalidated like the later hits, with the same validator."""
    response = _edit(origin, 200, "OK", content_type, cache_control)
    if etag:
        response["headers"]["etag"] = [{"key": "ETag", "value": etag}]
    response["body"] = base64.b64encode(body).decode("ascii")
    response["bodyEncoding"] = "base64"
    return response


def without_body(response: dict[str, Any]) -> dict[str, Any]:
    """The answer to a HEAD: the same status and headers as the GET, no body."""
    return {name: value for name, value in response.items() if name not in ("body", "bodyEncoding")}


def redirect_response(origin: OriginResponse, uri: str) -> dict[str, Any]:
    """307 back to the same URI, now a plain S3 hit; no-store so the redirect is not pinned.

    CloudFront hands on a path's raw UTF-8 as the viewer sent it (and ISO-8859-1 as UTF-8), but a Location
    is a URI reference, ASCII only (RFC 9110, 10.2.2): a character no URI may hold goes as its UTF-8 escapes,
    as a browser sends it, which S3 decodes to the same key. All else stays as received (%2B, +, %20...)."""
    response = _edit(origin, 307, "Temporary Redirect", "text/plain; charset=utf-8", NO_STORE)
    location = quote(uri, safe=_URI_PATH_CHARACTERS)
    response["headers"]["location"] = [{"key": "Location", "value": location}]
    # A response without a body of its own would go out with S3's (its NoSuchKey XML).
    return _with_text(response, "The image is stored; request it again.\n")


def error_response(origin: OriginResponse, error: EdgeError) -> dict[str, Any]:
    response = _edit(origin, error.status, error.reason, "text/plain; charset=utf-8", error.cache_control)
    return _with_text(response, error.public_message + "\n")


def fits_inline(response: dict[str, Any]) -> bool:
    """Whether Lambda@Edge accepts this generated response (1 MB, headers plus base64 body)."""
    return generated_size(response) <= MAX_GENERATED_BYTES


def generated_size(response: dict[str, Any]) -> int:
    """An upper bound of what Lambda@Edge counts: the response serialized as JSON."""
    return len(json.dumps(response, separators=(",", ":")).encode("utf-8"))


def _edit(origin: OriginResponse, status: int, reason: str, content_type: str, cache_control: str) -> dict[str, Any]:
    headers = origin.headers.to_cloudfront(KEPT_HEADERS)
    headers["content-type"] = [{"key": "Content-Type", "value": content_type}]
    headers["cache-control"] = [{"key": "Cache-Control", "value": cache_control}]
    return {"status": str(status), "statusDescription": reason, "headers": headers}


def _with_text(response: dict[str, Any], text: str) -> dict[str, Any]:
    response["body"] = text
    response["bodyEncoding"] = "text"
    return response
