"""CloudFront responses generated from the origin's own: pure functions over plain values.

A generated response edits the origin response: it keeps the read-only headers
(Transfer-Encoding, Via) exactly as they came, adds none that Lambda@Edge
forbids, and replaces the content headers. This is the only module that turns
an EdgeError into a response.
"""

import base64
import json
from typing import Any

from edge.errors import NO_STORE, EdgeError
from edge.event import OriginResponse

# Lambda@Edge rejects a generated response over 1 MB (headers plus base64 body).
MAX_GENERATED_BYTES = 1_000_000
READ_ONLY_HEADERS = frozenset({"transfer-encoding", "via"})
KEPT_HEADERS = READ_ONLY_HEADERS | {"date", "server"}


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


def redirect_response(origin: OriginResponse, location: str) -> dict[str, Any]:
    """307 back to the same URI, now a plain S3 hit; no-store so the redirect is not pinned."""
    response = _edit(origin, 307, "Temporary Redirect", "text/plain; charset=utf-8", NO_STORE)
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
