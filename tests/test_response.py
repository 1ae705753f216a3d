import base64
from urllib.parse import unquote_plus

import pytest

from edge import errors
from edge.event import OriginResponseEvent
from edge.response import (
    error_response,
    fits_inline,
    generated_size,
    image_response,
    redirect_response,
    without_body,
)
from imaging import load_event

SPEC_CAP = 1_000_000  # SPEC.md: "too large" is over 1,000,000 bytes, headers plus base64 body


@pytest.fixture
def origin():
    cf = load_event("miss-404-resize.json")["Records"][0]["cf"]
    cf["response"]["headers"]["via"] = [{"key": "Via", "value": "1.1 abc.cloudfront.net (CloudFront)"}]
    return OriginResponseEvent.from_record(cf).response


def test_image_response_edits_the_origin_response(origin):
    response = image_response(origin, b"\x89PNG...", "image/png", "public, max-age=60", '"s3-etag"')
    assert response["status"] == "200" and response["statusDescription"] == "OK"
    assert base64.b64decode(response["body"]) == b"\x89PNG..."
    assert response["bodyEncoding"] == "base64"
    headers = response["headers"]
    assert headers["content-type"] == [{"key": "Content-Type", "value": "image/png"}]
    assert headers["cache-control"] == [{"key": "Cache-Control", "value": "public, max-age=60"}]
    assert headers["etag"] == [{"key": "ETag", "value": '"s3-etag"'}]
    # Read-only headers exactly as they came; the XML error's own headers are gone.
    assert headers["transfer-encoding"] == [{"key": "Transfer-Encoding", "value": "chunked"}]
    assert headers["via"] == [{"key": "Via", "value": "1.1 abc.cloudfront.net (CloudFront)"}]
    # Date and Server are S3's, as on a hit; nothing else of the XML error's.
    assert headers["date"] == [{"key": "Date", "value": "Sat, 28 Nov 2026 12:00:00 GMT"}]
    assert headers["server"] == [{"key": "Server", "value": "AmazonS3"}]
    assert sorted(headers) == ["cache-control", "content-type", "date", "etag", "server", "transfer-encoding", "via"]


def test_an_image_response_without_a_stored_copy_has_no_validator(origin):
    assert "etag" not in image_response(origin, b"abc", "image/jpeg", "no-store")["headers"]


def test_head_keeps_status_and_headers_without_body(origin):
    full = image_response(origin, b"abc", "image/jpeg", "max-age=1")
    head = without_body(full)
    assert "body" not in head and "bodyEncoding" not in head
    assert head["headers"] == full["headers"] and head["status"] == full["status"]


@pytest.mark.parametrize(
    ("error", "status", "reason", "cache_control"),
    [
        (errors.BadRequest(), "400", "Bad Request", "public, max-age=60"),
        (errors.OriginalNotFound(), "404", "Not Found", "public, max-age=10"),
        (errors.SourceTooLarge(), "413", "Payload Too Large", "public, max-age=60"),
        (errors.UnsupportedMedia(), "415", "Unsupported Media Type", "public, max-age=60"),
        (errors.Misconfigured("bucket secret-originals missing"), "500", "Internal Server Error", "no-store"),
        (errors.EdgeError("Traceback ..."), "500", "Internal Server Error", "no-store"),
        (errors.Unavailable("SlowDown from s3"), "503", "Service Unavailable", "no-store"),
    ],
)
def test_error_responses_are_short_and_public(origin, error, status, reason, cache_control):
    response = error_response(origin, error)
    assert (response["status"], response["statusDescription"]) == (status, reason)
    assert response["headers"]["cache-control"][0]["value"] == cache_control
    assert response["headers"]["content-type"][0]["value"] == "text/plain; charset=utf-8"
    assert response["bodyEncoding"] == "text"
    assert response["body"] == error.public_message + "\n"
    assert error.detail == "" or error.detail not in response["body"]


def test_public_message_can_be_specific(origin):
    response = error_response(origin, errors.BadRequest("internal detail", public_message="Size not allowed."))
    assert response["body"] == "Size not allowed.\n"


def test_redirect_points_at_the_same_uri_and_is_not_cached(origin):
    response = redirect_response(origin, "/640x/a%20b.jpg")
    assert (response["status"], response["statusDescription"]) == ("307", "Temporary Redirect")
    assert response["headers"]["content-type"] == [{"key": "Content-Type", "value": "text/plain; charset=utf-8"}]
    assert response["headers"]["location"] == [{"key": "Location", "value": "/640x/a%20b.jpg"}]
    assert response["headers"]["cache-control"][0]["value"] == "no-store"
    assert (response["body"], response["bodyEncoding"]) == ("The image is stored; request it again.\n", "text")


@pytest.mark.parametrize(("uri", "location"), [
    # CloudFront passes a path's raw UTF-8 on as it came (and ISO-8859-1 converted to UTF-8): the Location is
    # a URI reference (RFC 9110, 10.2.2), ASCII only, so each such character goes as its UTF-8 escapes, as a
    # browser would send them; the retry names the same key.
    ("/640x/caf\u00e9.jpg", "/640x/caf%C3%A9.jpg"),
    ("/640x/\u5199\u771f/\U0001f408.png", "/640x/%E5%86%99%E7%9C%9F/%F0%9F%90%88.png"),
    ("/640x/a b\"<>{|}^`[].jpg", "/640x/a%20b%22%3C%3E%7B%7C%7D%5E%60%5B%5D.jpg"),
    # What a URI may hold stays exactly as received: escapes (%2B is a plus, + a space), sub-delims, : and @.
    ("/640x,cover/a%2Bb+c%20d%25e.jpg", "/640x,cover/a%2Bb+c%20d%25e.jpg"),
    ("/640x/!$&'()*+,;=:@-._~.jpg", "/640x/!$&'()*+,;=:@-._~.jpg"),
])
def test_the_redirect_location_is_a_uri_for_the_same_key(origin, uri, location):
    response = redirect_response(origin, uri)
    assert response["headers"]["location"] == [{"key": "Location", "value": location}]
    assert unquote_plus(location) == unquote_plus(uri)


def test_the_one_megabyte_cap_counts_the_base64_body_and_headers(origin):
    """A response of exactly 1,000,000 bytes fits; one byte more, in the body or in a header, does not."""
    overhead = generated_size(image_response(origin, b"", "image/jpeg", ""))
    largest = (SPEC_CAP - overhead) // 4 * 3
    padding = "x" * (SPEC_CAP - overhead - largest // 3 * 4)  # in Cache-Control, to the exact byte
    at_cap = image_response(origin, b"\0" * largest, "image/jpeg", padding)
    assert generated_size(at_cap) == SPEC_CAP and fits_inline(at_cap)
    assert not fits_inline(image_response(origin, b"\0" * largest, "image/jpeg", padding + "x"))
    assert not fits_inline(image_response(origin, b"\0" * (largest + 3), "image/jpeg", ""))


def test_the_size_counted_is_compact_json():
    """What CloudFront is sent: no spaces between items, and escapes counted as the bytes they take."""
    assert generated_size({"a": 1, "b": "é"}) == len('{"a":1,"b":"\\u00e9"}') == 20
