"""The miss path (edge/miss.py), through the handler on CloudFront-shaped events against moto S3: what is
rendered, stored and answered, SPEC.md's response table, the 1 MB cap, and the log line."""

import hashlib
import json

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from edge import storage
from edge.handler import handler
from edge.miss import REFUSED_TO_CLOUDFRONT
from imaging import (
    DERIVATIVES, IMMUTABLE, Context, answering_with, body_bytes, body_image, encoded, gradient, header, load_event,
    miss_event, noise_image, without_field,
)

# --- rendered, stored, answered ----------------------------------------------


@pytest.mark.parametrize("status", ["404", "403"])
@pytest.mark.parametrize(
    ("spec", "size", "image_format", "content_type"),
    [
        ("640x", (640, 480), "JPEG", "image/jpeg"),
        ("x480", (640, 480), "JPEG", "image/jpeg"),
        ("300x300,cover,webp", (300, 300), "WEBP", "image/webp"),
        ("200x200,fill,png", (200, 200), "PNG", "image/png"),
        ("1200x630,cover,jpeg,q70", (1200, 630), "JPEG", "image/jpeg"),
        ("320x,avif", (320, 240), "AVIF", "image/avif"),
        ("160x,gif", (160, 120), "GIF", "image/gif"),
    ],
)
def test_twelve_megapixel_jpeg_is_resized_inline_and_stored(
    cat, stored, originals_snapshot, status, spec, size, image_format, content_type
):
    before = originals_snapshot()
    response = handler(miss_event(f"/{spec}/photos/cat.jpg", status=status), Context())
    assert response["status"] == "200"
    assert header(response, "content-type") == content_type
    assert header(response, "cache-control") == IMMUTABLE
    assert header(response, "transfer-encoding") == "chunked"
    image = body_image(response)
    assert (image.format, image.size) == (image_format, size)
    assert stored() == {f"{spec}/photos/cat.jpg": (body_bytes(response), content_type, IMMUTABLE)}
    assert originals_snapshot() == before


def test_the_inline_answer_carries_the_etag_of_the_stored_copy(cat, s3):
    """The copy CloudFront keeps from the miss revalidates like the later S3 hits."""
    response = handler(miss_event("/640x/photos/cat.jpg"), Context())
    assert header(response, "etag") == s3.head_object(Bucket=DERIVATIVES, Key="640x/photos/cat.jpg")["ETag"]


def test_head_generates_and_stores_but_returns_no_body(cat, stored):
    response = handler(load_event("miss-404-head.json"), Context())
    assert response["status"] == "200"
    assert "body" not in response
    assert header(response, "content-type") == "image/png"
    assert list(stored()) == ["200x200,fill,png/photos/cat.jpg"]


@pytest.mark.parametrize(
    ("original_key", "uri", "derivative_key"),
    [
        ("news/2026/front page été+1.jpg", "/x480/news/2026/front+page%20%C3%A9t%C3%A9%2B1.jpg",
         "x480/news/2026/front page été+1.jpg"),
        ("a+b.jpg", "/x480/a%2Bb.jpg", "x480/a+b.jpg"),
        ("写真/猫.jpg", "/x480/%E5%86%99%E7%9C%9F/%E7%8C%AB.jpg", "x480/写真/猫.jpg"),
        ("deep/er/and/deeper/photo.jpg", "/x480/deep/er/and/deeper/photo.jpg", "x480/deep/er/and/deeper/photo.jpg"),
    ],
)
def test_keys_with_spaces_plus_unicode_and_folders(put_original, stored, original_key, uri, derivative_key):
    put_original(original_key, encoded(gradient((960, 720)), "JPEG"))
    response = handler(miss_event(uri), Context())
    assert response["status"] == "200"
    assert body_image(response).size == (640, 480)
    assert list(stored()) == [derivative_key]


@pytest.mark.parametrize(("uri", "status"), [("/640y/photos/cat.jpg", "400"), ("/640x/photos/none.jpg", "404")])
def test_head_errors_have_the_get_status_and_no_body(cat, uri, status):
    get = handler(miss_event(uri), Context())
    head = handler(miss_event(uri, method="HEAD"), Context())
    assert head["status"] == get["status"] == status
    assert head["headers"] == get["headers"]
    assert "body" not in head and "bodyEncoding" not in head


# --- the response table of SPEC.md -------------------------------------------


def error_case(response, status: str, cache_control: str, stored_objects: dict):
    assert response["status"] == status
    assert response["bodyEncoding"] == "text"
    assert header(response, "cache-control") == cache_control
    assert header(response, "content-type") == "text/plain; charset=utf-8"
    assert len(response["body"]) < 100
    assert stored_objects == {}


def test_malformed_spec_is_400_and_stores_nothing(cat, stored):
    error_case(handler(load_event("malformed-spec-400.json"), Context()), "400", "public, max-age=60", stored())


def test_size_not_allowed_is_400(cat, stored):
    event = miss_event("/641x/photos/cat.jpg", x_allowed_sizes="320x, 640x")
    error_case(handler(event, Context()), "400", "public, max-age=60", stored())
    assert handler(miss_event("/640x/photos/cat.jpg", x_allowed_sizes="320x, 640x"), Context())["status"] == "200"


def test_size_over_the_maximum_is_400(cat, stored):
    error_case(handler(miss_event("/2001x/photos/cat.jpg", x_max_dimension="2000"), Context()), "400",
               "public, max-age=60", stored())


def test_missing_original_is_404(s3, stored):
    error_case(handler(load_event("missing-original-404.json"), Context()), "404", "public, max-age=10", stored())


def test_missing_originals_bucket_header_is_500_no_store(cat, stored):
    response = handler(miss_event("/640x/photos/cat.jpg", x_originals_bucket=None), Context())
    error_case(response, "500", "no-store", stored())
    assert "bucket" not in response["body"].lower()


def test_unreadable_original_is_500_no_store(cat, stored, monkeypatch):
    fail_get(monkeypatch, "AccessDenied", 403)
    response = handler(miss_event("/640x/photos/cat.jpg"), Context())
    error_case(response, "500", "no-store", stored())
    assert "AccessDenied" not in response["body"]


@pytest.mark.parametrize(
    "body",
    [b"", b"plain text, not an image", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
     b"\xff\xd8\xff\xe0" + b"\0" * 100],
    ids=["empty", "text", "svg", "jpeg-header-only"],
)
def test_not_an_image_is_415(put_original, stored, body):
    put_original("photos/cat.jpg", body)
    error_case(handler(miss_event("/640x/photos/cat.jpg"), Context()), "415", "public, max-age=60", stored())


def test_truncated_image_is_415(put_original, stored, twelve_megapixel_jpeg):
    put_original("photos/cat.jpg", twelve_megapixel_jpeg[: len(twelve_megapixel_jpeg) // 2])
    error_case(handler(miss_event("/640x/photos/cat.jpg"), Context()), "415", "public, max-age=60", stored())


def test_over_the_pixel_limit_is_413(cat, stored):
    response = handler(miss_event("/640x/photos/cat.jpg", x_max_source_pixels="11999999"), Context())
    error_case(response, "413", "public, max-age=60", stored())
    assert handler(miss_event("/640x/photos/cat.jpg", x_max_source_pixels="12000000"), Context())["status"] == "200"


def test_over_the_byte_limit_is_413(cat, stored, twelve_megapixel_jpeg):
    limit = str(len(twelve_megapixel_jpeg) - 1)
    error_case(handler(miss_event("/640x/photos/cat.jpg", x_max_source_bytes=limit), Context()), "413",
               "public, max-age=60", stored())


@pytest.mark.parametrize("code", ["SlowDown", "InternalError", "ServiceUnavailable"])
def test_s3_failure_on_read_is_503_no_store(cat, stored, monkeypatch, code):
    fail_get(monkeypatch, code, 503)
    error_case(handler(miss_event("/640x/photos/cat.jpg"), Context()), "503", "no-store", stored())


def test_s3_timeout_on_read_is_503_no_store(cat, stored, monkeypatch):
    def timeout(self, **kwargs):
        raise ReadTimeoutError(endpoint_url="https://s3.amazonaws.com")

    monkeypatch.setattr(type(storage.s3_client("us-east-1")), "get_object", timeout)
    error_case(handler(miss_event("/640x/photos/cat.jpg"), Context()), "503", "no-store", stored())


def test_time_running_out_is_503_no_store(cat, stored):
    error_case(handler(miss_event("/640x/photos/cat.jpg"), Context(remaining_ms=1500)), "503", "no-store", stored())


def test_without_a_lambda_context_the_time_left_is_unbounded(cat, stored):
    """Outside Lambda (a script, a REPL) no context is passed: a miss is rendered and stored as in Lambda."""
    response = handler(miss_event("/640x/photos/cat.jpg"), None)
    assert response["status"] == "200" and header(response, "cache-control") == IMMUTABLE
    assert list(stored()) == ["640x/photos/cat.jpg"]


def test_store_failure_still_serves_the_image_with_no_store(cat, stored, monkeypatch):
    fail_put(monkeypatch, "SlowDown", 503)
    response = handler(miss_event("/640x/photos/cat.jpg"), Context())
    assert response["status"] == "200"
    assert header(response, "cache-control") == "no-store"
    assert body_image(response).size == (640, 480)
    assert stored() == {}


def test_too_large_to_inline_is_stored_and_redirected(put_original, stored):
    noise = encoded(noise_image((1200, 1200)), "PNG")
    put_original("noise.png", noise)
    response = handler(miss_event("/1200x/noise.png"), Context())
    assert response["status"] == "307"
    assert header(response, "location") == "/1200x/noise.png"
    assert header(response, "cache-control") == "no-store"
    (body, content_type, _), = stored().values()
    assert len(body) > 750_000 and content_type == "image/png"


def test_a_raw_unicode_uri_is_redirected_to_its_percent_encoded_form(put_original, stored):
    """CloudFront hands the function a path's raw UTF-8 as it came; the Location must be ASCII, and name the
    key just stored."""
    put_original("café/noise 1.png", encoded(noise_image((1200, 1200)), "PNG"))
    response = handler(miss_event("/1200x/caf\u00e9/noise+1.png"), Context())
    assert response["status"] == "307"
    assert header(response, "location") == "/1200x/caf%C3%A9/noise+1.png"
    assert list(stored()) == ["1200x/café/noise 1.png"]


@pytest.mark.parametrize(("origin_status", "answer", "error"), [("404", "307", None), ("403", "500", "misconfigured")])
def test_too_large_and_already_stored_redirects_only_where_the_redirect_can_be_served(
    put_original, s3, capsys, origin_status, answer, error
):
    """S3 gave CloudFront 404, yet the derivative is there: a concurrent miss stored it first, and the retry
    finds it. Given 403 (the template grants s3:ListBucket, so the key exists and CloudFront may not read
    it), the retry would be refused too, and redirect to itself again: an operator's problem, said once."""
    put_original("noise.png", encoded(noise_image((1200, 1200)), "PNG"))
    s3.put_object(Bucket=DERIVATIVES, Key="1200x/noise.png", Body=b"the first writer's bytes")
    response = handler(miss_event("/1200x/noise.png", status=origin_status), Context())
    assert response["status"] == answer and header(response, "cache-control") == "no-store"
    record = json.loads(capsys.readouterr().out)
    assert record.get("error") == error and record["stored"] is True
    assert record.get("detail") == (REFUSED_TO_CLOUDFRONT if error else None)  # the why, for the operator


@pytest.mark.parametrize(("origin_status", "error"), [("404", None), ("403", "misconfigured")])
def test_already_stored_is_served_inline_without_a_validator(cat, s3, capsys, origin_status, error):
    """The bytes are the stored copy's, but not its ETag, which S3 gave the first writer only."""
    s3.put_object(Bucket=DERIVATIVES, Key="640x/photos/cat.jpg", Body=b"the first writer's bytes")
    response = handler(miss_event("/640x/photos/cat.jpg", status=origin_status), Context())
    assert response["status"] == "200" and header(response, "cache-control") == IMMUTABLE
    assert "etag" not in response["headers"] and body_image(response).size == (640, 480)
    record = json.loads(capsys.readouterr().out)
    assert record.get("error") == error and record["stored"] is True
    assert record.get("detail") == (REFUSED_TO_CLOUDFRONT if error else None)  # the why, for the operator


@pytest.mark.parametrize("first_writer", [None, b"the first writer's bytes"], ids=["new", "already-stored"])
def test_a_botocore_without_if_none_match_still_puts_only_if_absent(cat, s3, stored, monkeypatch, first_writer):
    """A Lambda runtime whose botocore predates S3's conditional writes still stores, and still never
    overwrites: the condition goes out as a header, which S3 (here moto) enforces."""
    members = storage.s3_client("us-east-1").meta.service_model.operation_model("PutObject").input_shape.members
    monkeypatch.delitem(members, "IfNoneMatch", raising=False)  # a botocore before 1.35.2 has none to delete
    if first_writer:
        s3.put_object(Bucket=DERIVATIVES, Key="640x/photos/cat.jpg", Body=first_writer)
    response = handler(miss_event("/640x/photos/cat.jpg"), Context())
    assert response["status"] == "200" and header(response, "cache-control") == IMMUTABLE
    assert stored()["640x/photos/cat.jpg"][0] == (first_writer or body_bytes(response))


def test_a_new_object_without_an_etag_is_still_a_new_object(cat, monkeypatch, capsys):
    """An S3-like store that answers a PUT without an ETag: the derivative is stored, not found stored."""
    answering_with(monkeypatch, "put_object", without_field("ETag"))
    response = handler(miss_event("/640x/photos/cat.jpg", status="403"), Context())
    assert response["status"] == "200" and "etag" not in response["headers"]
    assert "error" not in json.loads(capsys.readouterr().out)


def test_the_etag_is_the_one_s3_gave_the_put(cat, monkeypatch):
    """Under SSE-KMS, for one, S3's ETag is not the MD5 of the body: the answer carries S3's own."""
    answering_with(monkeypatch, "put_object", lambda answer: {**answer, "ETag": '"kms-etag"'})
    response = handler(miss_event("/640x/photos/cat.jpg"), Context())
    assert header(response, "etag") == '"kms-etag"'


def test_just_under_the_cap_is_served_inline(put_original, stored):
    """The largest noise PNG whose generated response still fits is served inline, not redirected."""
    from edge.event import OriginResponseEvent
    from edge.image import Limits, render
    from edge.rendition import parse_rendition
    from edge.response import MAX_GENERATED_BYTES, generated_size, image_response

    origin = OriginResponseEvent.from_record(miss_event("/400x/noise.png")["Records"][0]["cf"]).response

    def response_size(height: int) -> tuple[int, bytes]:
        source = encoded(noise_image((400, height)), "PNG")
        body = render(source, parse_rendition("/400x/noise.png"), Limits(50_000_000, 300)).body
        etag = f'"{hashlib.md5(body).hexdigest()}"'  # what moto answers the PUT with, as S3 does under SSE-S3
        return generated_size(image_response(origin, body, "image/png", IMMUTABLE, etag)), source

    low, high = 300, 700  # 400 x 300 noise fits, 400 x 700 does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if response_size(middle)[0] <= MAX_GENERATED_BYTES else (low, middle)
    size, source = response_size(low)
    assert MAX_GENERATED_BYTES - 2_500 < size <= MAX_GENERATED_BYTES
    put_original("noise.png", source)
    response = handler(miss_event("/400x/noise.png"), Context())
    assert response["status"] == "200"
    assert generated_size(response) == size
    assert body_image(response).size == (400, low)
    assert list(stored()) == ["400x/noise.png"]


@pytest.mark.parametrize(("code", "status", "cause"), [
    ("InternalError", 500, "unavailable"), ("AccessDenied", 403, "misconfigured"),
    # Not the original's absence, which a PUT cannot meet: nowhere to put the derivative.
    ("NoSuchKey", 404, "misconfigured"), ("404", 404, "misconfigured"),
])
def test_too_large_to_inline_and_not_stored_is_503(put_original, stored, monkeypatch, capsys, code, status, cause):
    """The log keeps why it was not stored: a PutObject refused is the deployment's to mend, not S3's."""
    put_original("noise.png", encoded(noise_image((1200, 1200)), "PNG"))
    fail_put(monkeypatch, code, status)
    error_case(handler(miss_event("/1200x/noise.png"), Context()), "503", "no-store", stored())
    record = json.loads(capsys.readouterr().out)
    assert record["error"] == "unavailable" and record["detail"].startswith(f"not stored ({cause}: PutObject failed")


def test_unexpected_exception_is_a_clean_500(cat, stored, monkeypatch, capsys):
    from edge import image

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(image, "render", explode)
    response = handler(miss_event("/640x/photos/cat.jpg"), Context())
    error_case(response, "500", "no-store", stored())
    assert "secret" not in response["body"]
    assert "secret internal detail" in capsys.readouterr().out


def test_one_json_log_line_per_miss(cat, capsys):
    handler(miss_event("/640x/photos/cat.jpg"), Context())
    line, = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["uri"] == "/640x/photos/cat.jpg" and record["status"] == 200 and record["stored"] is True
    assert record["bytes_out"] > 0 and record["ms"] >= 0
    assert (record["output"], record["width"], record["height"], record["frames"]) == ("jpeg", 640, 480, 1)
    # The viewer's X-Amz-Cf-Id, to find the line a complaint is about; and where the time went.
    assert record["request_id"] == load_event("miss-404-resize.json")["Records"][0]["cf"]["config"]["requestId"]
    assert list(record["phase_ms"]) == ["read", "render", "store"]
    assert 0 <= sum(record["phase_ms"].values()) <= record["ms"]


@pytest.mark.parametrize(("uri", "status", "phases"), [
    ("/640y/photos/cat.jpg", 400, []), ("/640x/photos/missing.jpg", 404, ["read"])])
def test_a_miss_logs_the_phases_it_reached(capsys, s3, uri, status, phases):
    handler(miss_event(uri), Context())
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == status and list(record.get("phase_ms", {})) == phases and record["detail"]


def fail_get(monkeypatch, code: str, status: int):
    fail(monkeypatch, "get_object", code, status)


def fail_put(monkeypatch, code: str, status: int):
    fail(monkeypatch, "put_object", code, status)


def fail(monkeypatch, operation: str, code: str, status: int):
    def failing(self, **kwargs):
        raise ClientError({"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                          operation)

    monkeypatch.setattr(type(storage.s3_client("us-east-1")), operation, failing)
