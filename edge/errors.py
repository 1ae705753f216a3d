"""Typed errors: each carries the HTTP status and the short public text a viewer may see.

`detail` is for the logs only; it never reaches a response body.
"""

NO_STORE = "no-store"
SHORT_ERROR_CACHE = "public, max-age=60"
# An original may be uploaded just after the page that shows it is published: its 404 must not
# outlive that by long. CloudFront keeps it for the larger of this and ErrorCachingMinTTL (10 s).
MISSING_ORIGINAL_CACHE = "public, max-age=10"


class EdgeError(Exception):
    status = 500
    reason = "Internal Server Error"
    public_message = "Internal error."
    code = "internal"
    cache_control = NO_STORE

    def __init__(self, detail: str = "", *, public_message: str | None = None):
        super().__init__(detail or self.public_message)
        self.detail = detail
        if public_message is not None:
            self.public_message = public_message


class BadRequest(EdgeError):
    status = 400
    reason = "Bad Request"
    public_message = "Bad image request."
    code = "bad_request"
    cache_control = SHORT_ERROR_CACHE


class OriginalNotFound(EdgeError):
    status = 404
    reason = "Not Found"
    public_message = "Original image not found."
    code = "original_not_found"
    cache_control = MISSING_ORIGINAL_CACHE


class SourceTooLarge(EdgeError):
    status = 413
    reason = "Payload Too Large"
    public_message = "Original image is too large."
    code = "source_too_large"
    cache_control = SHORT_ERROR_CACHE


class UnsupportedMedia(EdgeError):
    status = 415
    reason = "Unsupported Media Type"
    public_message = "Original is not a supported image."
    code = "unsupported_media"
    cache_control = SHORT_ERROR_CACHE


class Misconfigured(EdgeError):
    """The deployment is wrong (missing header, AccessDenied): only an operator can fix it."""

    code = "misconfigured"


class Unavailable(EdgeError):
    status = 503
    reason = "Service Unavailable"
    public_message = "Image temporarily unavailable."
    code = "unavailable"


class UnsafeWrite(EdgeError):
    """A write the storage refused: a key that is not `<spec>/<original key>`. A bug, never the viewer's doing."""

    code = "unsafe_write"
