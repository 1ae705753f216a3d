"""edge/errors.py: what each error answers, and what it keeps for the logs only."""

import pytest

from edge import errors


@pytest.mark.parametrize(("error", "status", "code", "public_message", "cache_control"), [
    (errors.EdgeError, 500, "internal", "Internal error.", "no-store"),
    (errors.BadRequest, 400, "bad_request", "Bad image request.", "public, max-age=60"),
    (errors.OriginalNotFound, 404, "original_not_found", "Original image not found.", "public, max-age=10"),
    (errors.SourceTooLarge, 413, "source_too_large", "Original image is too large.", "public, max-age=60"),
    (errors.UnsupportedMedia, 415, "unsupported_media", "Original is not a supported image.", "public, max-age=60"),
    (errors.Misconfigured, 500, "misconfigured", "Internal error.", "no-store"),
    (errors.Unavailable, 503, "unavailable", "Image temporarily unavailable.", "no-store"),
    (errors.UnsafeWrite, 500, "unsafe_write", "Internal error.", "no-store"),
])
def test_each_error_has_its_status_log_code_and_public_text(error, status, code, public_message, cache_control):
    """The codes are the `error` values docs/SECURITY.md lists for the log; the texts are the whole public body."""
    raised = error("bucket secret-originals: AccessDenied")
    assert (raised.status, raised.code, raised.public_message, raised.cache_control) == (
        status, code, public_message, cache_control)


def test_the_detail_is_the_exceptions_text_and_stays_out_of_the_public_message():
    error = errors.Misconfigured("origin custom header x-originals-bucket is missing")
    assert (str(error), error.detail) == ("origin custom header x-originals-bucket is missing",) * 2
    assert error.public_message == "Internal error."


def test_without_a_detail_the_exceptions_text_is_the_public_message():
    error = errors.BadRequest()
    assert (str(error), error.detail) == ("Bad image request.", "")


def test_a_specific_public_message_is_the_instances_own():
    assert errors.BadRequest("why", public_message="Size not allowed.").public_message == "Size not allowed."
    assert errors.BadRequest("why").public_message == "Bad image request."
