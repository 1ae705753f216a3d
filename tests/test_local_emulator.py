"""The local CDN: embedded S3 (moto's server mode) + CloudFront emulator, over real HTTP on loopback."""

import contextlib
import hashlib
import http.client
import io
import logging
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import zlib
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from PIL import Image

from bombs import png_chunk
from edge import response as responses
from edge.event import OriginResponseEvent
from edge.handler import handler as edge_handler
from imaging import (
    DERIVATIVES, IMMUTABLE, ORIGINALS, apng_from_streams, encoded, gradient, load_event, noise_image,
    origin_response, png_stream, png_with_corrupt_data, template_with_origins, tiled_tiff,
)
from local import cdn, s3, samples, template
from local.cache import ResponseCache
from local.gallery import Gallery

REGION = "us-east-1"
CUSTOM_HEADERS = {"x-originals-bucket": ORIGINALS, "x-max-dimension": "4096"}
ORIGIN = cdn.Origin(DERIVATIVES, REGION, CUSTOM_HEADERS)  # the S3 origin of the distribution these tests run
EXIF_SAMPLE = "samples/lighthouse-exif6.jpg"  # 900×1350 once upright
LANDSCAPE = "samples/alpine-lake.jpg"  # 1600×1067
README = Path(__file__).resolve().parent.parent / "README.md"


def use_embedded_s3(monkeypatch: pytest.MonkeyPatch, endpoint_url: str) -> None:
    """Point default-built boto3 clients at the embedded S3, as `make demo` does for the function."""
    for name, value in s3.boto3_environment(endpoint_url, REGION, dummy_credentials=True).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def endpoint_url():
    with s3.EmbeddedS3() as url:
        yield url


@pytest.fixture(scope="module")
def client(endpoint_url):
    """The emulator's own S3 client, on buckets seeded with the sample originals."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_embedded_s3(monkeypatch, endpoint_url)
        client = s3.s3_client(endpoint_url, REGION)  # credentials are read now, from the environment
    s3.create_buckets(client, REGION, ORIGINALS, DERIVATIVES)
    s3.put_originals(client, ORIGINALS, samples.sample_originals())
    return client


@pytest.fixture(autouse=True)
def function_environment(aws_credentials, monkeypatch, endpoint_url):
    """conftest.py resets the AWS variables for every test: set them again, after it."""
    use_embedded_s3(monkeypatch, endpoint_url)
    s3.forget_edge_clients()
    yield
    s3.forget_edge_clients()


@pytest.fixture(autouse=True)
def no_derivatives(client):
    """Each test starts without derivatives: one that asks for a size another has stored, or the gallery's first
    tiles, would otherwise find an S3 hit where it expects a miss."""
    stored = client.list_objects_v2(Bucket=DERIVATIVES).get("Contents", [])
    if stored:
        client.delete_objects(Bucket=DERIVATIVES, Delete={"Objects": [{"Key": item["Key"]} for item in stored]})


class CountingHandler:
    """The real function, recording its calls: (URI, the origin's status) for each event that reached it."""

    def __init__(self, handler=edge_handler):
        self.calls: list[tuple[str, str]] = []
        self._handler = handler

    def __call__(self, event, context):
        self.calls.append((cdn.event_uri(event), origin_response(event)["status"]))
        return self._handler(event, context)


@contextlib.contextmanager
def serving(client, handler, cache: ResponseCache | None = None, viewer_headers=template.ViewerHeaders()):
    """An emulator on a free port, in a thread; yields its base URL."""
    gallery = Gallery(client, ORIGINALS, {sample.key: sample.note for sample in samples.SAMPLES})
    cloudfront = cdn.CloudFront(client, ORIGIN, gallery, handler, cache, viewer_headers=viewer_headers)
    server = cdn.CloudFrontServer(cloudfront, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def function():
    return CountingHandler()


@pytest.fixture
def cdn_url(client, function):
    """The emulator without an edge cache: every request goes to S3."""
    with serving(client, function) as url:
        yield url


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None):
    """(status, headers, body) of one real HTTP request."""
    try:
        request = urllib.request.Request(url, method=method, headers=headers or {})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def decoded(body: bytes) -> Image.Image:
    return Image.open(io.BytesIO(body))


def stored(client, key: str) -> bytes:
    return client.get_object(Bucket=DERIVATIVES, Key=key)["Body"].read()


def test_a_miss_is_rendered_by_the_function_stored_in_s3_and_served(cdn_url, client, function):
    status, headers, body = fetch(f"{cdn_url}/320x/{LANDSCAPE}")
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["X-Cache"] == "Miss from cloudfront"
    assert decoded(body).size == (320, 213)
    assert stored(client, f"320x/{LANDSCAPE}") == body
    assert function.calls == [(f"/320x/{LANDSCAPE}", "404")]


def test_the_second_request_is_an_s3_hit_the_function_passes_through(cdn_url, function):
    url = f"{cdn_url}/300x300,cover,webp/{LANDSCAPE}"
    _, _, first = fetch(url)
    status, headers, second = fetch(url)
    assert status == 200
    assert second == first
    assert headers["Content-Type"] == "image/webp"  # S3's metadata, as the function stored it
    assert headers["Cache-Control"] == IMMUTABLE
    assert headers["Server"] == "AmazonS3"
    assert headers["X-Cache"] == "Miss from cloudfront"  # from the origin, S3 this time
    # CloudFront calls an origin-response function on every origin response, hits included.
    assert function.calls == [("/300x300,cover,webp/" + LANDSCAPE, "404"), ("/300x300,cover,webp/" + LANDSCAPE, "200")]


def test_head_generates_and_stores_with_no_body_then_hits(cdn_url, client, function):
    url = f"{cdn_url}/200x200,fill,png/photos/cat.jpg"
    status, headers, body = fetch(url, "HEAD")
    assert (status, headers["Content-Type"], body) == (200, "image/png", b"")
    assert decoded(stored(client, "200x200,fill,png/photos/cat.jpg")).size == (200, 200)
    status, headers, body = fetch(url, "HEAD")
    assert (status, headers["Content-Type"], body) == (200, "image/png", b"")
    assert int(headers["Content-Length"]) > 0  # S3's length of the stored object
    assert [status for _, status in function.calls] == ["404", "200"]


def test_behind_oac_a_missing_key_is_403_and_still_rendered(client, function):
    """Without s3:ListBucket, S3 answers 403 for a missing key: the function must treat it as a miss."""
    cloudfront = cdn.CloudFront(client, ORIGIN, handler=function, cache=None, missing_as_403=True)
    rendered = cloudfront.answer("GET", f"/330x/{LANDSCAPE}", "127.0.0.1")  # a size no other test stores
    not_ours = cloudfront.answer("GET", "/about/index.html", "127.0.0.1")
    assert (rendered.status, rendered.source, decoded(rendered.body).width) == (200, "lambda", 330)
    assert (not_ours.status, not_ours.source) == (403, "pass-through")
    assert b"<Code>AccessDenied</Code>" in not_ours.body
    assert function.calls == [(f"/330x/{LANDSCAPE}", "403"), ("/about/index.html", "403")]


def test_a_function_that_changes_a_hit_is_served_what_it_returns(client):
    client.put_object(Bucket=DERIVATIVES, Key="100x/photos/cat.jpg", Body=b"stored", ContentType="image/jpeg")

    def stamp(event, context):
        response = origin_response(event)
        response["headers"]["x-stamped"] = [{"key": "X-Stamped", "value": response["status"]}]
        return response

    with serving(client, stamp) as url:
        status, headers, body = fetch(f"{url}/100x/photos/cat.jpg")
        head_status, head_headers, head_body = fetch(f"{url}/100x/photos/cat.jpg", "HEAD")
    assert (status, headers["X-Stamped"], body) == (200, "200", b"stored")  # no body of its own: S3's
    # A HEAD has no body to measure: its length is S3's, as CloudFront forwards it, once.
    assert (head_status, head_headers["X-Stamped"], head_headers.get_all("Content-Length"), head_body) == (
        200, "200", ["6"], b"")


def test_a_malformed_spec_is_400(cdn_url):
    status, headers, body = fetch(f"{cdn_url}/640y/photos/cat.jpg")
    assert status == 400
    assert headers["Content-Type"].startswith("text/plain")
    assert body.startswith(b"Malformed size")


def test_a_path_that_is_not_ours_gets_s3s_own_404(cdn_url, function):
    status, headers, body = fetch(f"{cdn_url}/about/index.html")
    assert status == 404
    assert (headers["Content-Type"], headers["Server"]) == ("application/xml", "AmazonS3")
    assert b"<Code>NoSuchKey</Code>" in body
    assert f"<RequestId>{headers['x-amz-request-id']}</RequestId>".encode() in body
    assert function.calls == [("/about/index.html", "404")]  # the function saw the 404 and passed it through


def test_a_missing_original_is_404(cdn_url):
    status, _, body = fetch(f"{cdn_url}/640x/photos/no-such-photo.jpg")
    assert (status, body) == (404, b"Original image not found.\n")


def test_a_key_is_decoded_as_s3_decodes_it_so_any_spelling_then_hits(cdn_url, client, function):
    status, _, body = fetch(f"{cdn_url}/x480/news/2026/front+page%20%C3%A9t%C3%A9%2B1.jpg")
    assert status == 200
    assert decoded(body).size == (853, 480)
    assert stored(client, "x480/news/2026/front page été+1.jpg") == body
    status, _, again = fetch(f"{cdn_url}/x480/news/2026/front%20page%20%C3%A9t%C3%A9%2B1.jpg")
    assert (status, again) == (200, body)
    assert [status for _, status in function.calls] == ["404", "200"]


def test_a_rendition_too_large_to_inline_redirects_to_itself_and_the_retry_hits_s3(cdn_url, function):
    uri = "/1600x,png/news/2026/front+page%20%C3%A9t%C3%A9%2B1.jpg"  # a 0.9 MB PNG: 1.2 MB as base64
    status, _, body = fetch(cdn_url + uri)  # urllib follows the 307, as a browser does
    assert status == 200
    assert decoded(body).size == (1600, 900)
    assert function.calls == [(uri, "404"), (uri, "200")]


def test_the_readmes_social_card_example_works_on_the_samples(cdn_url):
    status, headers, body = fetch(f"{cdn_url}/1200x630,cover,jpeg,q70/news/2026/front%20page.png")
    assert (status, headers["Content-Type"]) == (200, "image/jpeg")
    assert decoded(body).size == (1200, 630)
    assert "/1200x630,cover,jpeg,q70/news/2026/front%20page.png" in README.read_text()


def test_the_exif_rotated_sample_comes_out_upright(cdn_url):
    status, _, body = fetch(f"{cdn_url}/300x/{EXIF_SAMPLE}")
    assert status == 200
    assert decoded(body).size == (300, 450)


def test_a_response_that_breaks_a_rule_is_a_loud_502_naming_it(client, capsys):
    with serving(client, lambda event, context: {"status": 200, "body": "hi"}) as url:
        status, headers, body = fetch(f"{url}/100x/photos/cat.jpg")
    assert status == 502
    assert headers["X-Cache"] == "LambdaValidationError from cloudfront"
    assert b"LambdaValidationError" in body
    assert b"status: status must be a string" in body
    # Loud in the log too, where the developer watching the demo looks, the broken rule on the next line
    logged = capsys.readouterr().err
    assert "!!! LambdaValidationError: CloudFront answers 502 for /100x/photos/cat.jpg\n  status: " in logged


def test_an_exception_in_the_function_is_500(client):
    def crash(event, context):
        raise RuntimeError("boom")

    with serving(client, crash) as url:
        status, headers, body = fetch(f"{url}/100x/photos/cat.jpg")
    assert status == 500
    assert headers["X-Cache"] == "LambdaExecutionError from cloudfront"


def test_the_function_runs_one_request_at_a_time_as_in_one_lambda_instance(client):
    """The gallery asks for dozens of images at once; each invocation still has the instance to itself."""
    running, overlaps, lock = [0], [], threading.Lock()

    def tracked(event, context):
        with lock:
            running[0] += 1
            overlaps.append(running[0])
        try:
            return edge_handler(event, context)
        finally:
            with lock:
                running[0] -= 1

    with serving(client, tracked) as url:
        fetches = [threading.Thread(target=fetch, args=(f"{url}/{width}x/{LANDSCAPE}",)) for width in range(180, 184)]
        for thread in fetches:
            thread.start()
        for thread in fetches:
            thread.join()
    assert overlaps == [1, 1, 1, 1]


def test_a_hit_does_not_wait_for_a_render_in_progress(client):
    """AWS would run it in another instance; the function only passes a hit through."""
    client.put_object(Bucket=DERIVATIVES, Key="99x/photos/cat.jpg", Body=b"stored", ContentType="image/jpeg")
    rendering, hit_served, waits = threading.Event(), threading.Event(), []

    def slow_misses(event, context):
        if origin_response(event)["status"] != "200":
            rendering.set()
            waits.append(hit_served.wait(timeout=5))  # False: the hit was held up behind this miss
        return edge_handler(event, context)

    with serving(client, slow_misses) as url:
        miss = threading.Thread(target=fetch, args=(f"{url}/186x/{LANDSCAPE}",))
        miss.start()
        assert rendering.wait(timeout=30)
        status, _, body = fetch(f"{url}/99x/photos/cat.jpg")
        hit_served.set()
        miss.join()
    assert (status, body, waits) == (200, b"stored", [True])


def test_the_edge_cache_serves_what_cache_control_allows(client, function):
    with serving(client, function, cache=ResponseCache()) as url:
        _, first_headers, first = fetch(f"{url}/160x/{LANDSCAPE}")
        status, headers, second = fetch(f"{url}/160x/{LANDSCAPE}")
        _, head_headers, _ = fetch(f"{url}/160x/{LANDSCAPE}", "HEAD")
    assert first_headers["X-Cache"] == "Miss from cloudfront"
    assert (status, second) == (200, first)
    assert headers["X-Cache"] == head_headers["X-Cache"] == "Hit from cloudfront"
    assert headers["Age"] == "0"


def test_every_answer_names_the_viewer_request_the_function_was_called_for(client):
    """X-Amz-Cf-Id, as CloudFront sends it: the event's requestId, which the function logs as request_id
    (and the event's clientIp is the viewer's address)."""
    request_ids, client_ips = [], []

    def recording(event, context):
        request_ids.append(event["Records"][0]["cf"]["config"]["requestId"])
        client_ips.append(event["Records"][0]["cf"]["request"]["clientIp"])
        return edge_handler(event, context)

    with serving(client, recording, cache=ResponseCache()) as url:
        answers = [fetch(f"{url}/189x/{LANDSCAPE}")[1]["X-Amz-Cf-Id"] for _ in range(2)]  # a miss, then a hit
    assert answers[0] == request_ids[0] and len(request_ids) == 1
    assert client_ips == [s3.LOOPBACK]
    assert answers[1] != answers[0] and re.fullmatch(r"[A-Za-z0-9_-]{56}", answers[1])  # no padding: 42 bytes


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_a_method_the_distribution_does_not_allow_is_refused_at_the_edge(cdn_url, function, method):
    request = urllib.request.Request(f"{cdn_url}/640x/{LANDSCAPE}", method=method, data=b"form=data")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    status, headers, body = refused.value.code, refused.value.headers, refused.value.read()
    assert (status, headers["X-Cache"], headers["Cache-Control"]) == (403, "Error from cloudfront", "no-store")
    assert int(headers["Content-Length"]) == len(body) and headers["Connection"] == "close"
    assert b"GET and HEAD only" in body and function.calls == []


@pytest.mark.parametrize(("declared", "drained"), [
    (64 * 1024, True), (cdn.MAX_DRAINED_BODY, True), (cdn.MAX_DRAINED_BODY + 1, False), ("-1", False), ("64k", False),
])
def test_a_refused_body_is_read_if_small_and_left_unread_if_large(declared, drained):
    """Either way the viewer gets the 403, and the connection ends after it; a length that is not one is not
    read by. (64 KB are sent: more than is read ahead with the request line and headers, so that what is left
    unread stays in the socket.)"""
    server = SimpleNamespace(cloudfront=cdn.CloudFront(s3=None, origin=ORIGIN, cache=None))
    viewer, edge = socket.socketpair()
    with viewer:
        with edge:
            head = f"POST /640x/{LANDSCAPE} HTTP/1.1\r\nHost: cdn\r\nContent-Length: {declared}\r\n\r\n"
            viewer.sendall(head.encode() + b"x" * (64 * 1024))
            viewer.shutdown(socket.SHUT_WR)
            cdn.CloudFrontRequestHandler(edge, ("127.0.0.1", 0), server)  # handles the request, as the server would
            left = edge.recv(1 << 20)
        answer = viewer.makefile("rb").read()
    assert (left == b"") is drained
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n") and b"\r\nConnection: close\r\n" in answer


def test_a_head_answer_has_no_body_so_the_next_answer_on_the_connection_follows_it(cdn_url):
    """S3's 404 and the gallery have bodies, which a HEAD's answer leaves out: on a kept-alive connection,
    anything sent after its headers would be read as the start of the next answer."""
    connection = http.client.HTTPConnection(urlsplit(cdn_url).netloc, timeout=60)
    try:
        answers = []
        for method, path in [("HEAD", "/about/index.html"), ("HEAD", "/"), ("GET", "/about/index.html")]:
            connection.request(method, path)
            response = connection.getresponse()
            answers.append((response.status, response.read()))
    finally:
        connection.close()
    assert answers[:2] == [(404, b""), (200, b"")]
    assert answers[2][0] == 404 and b"<Code>NoSuchKey</Code>" in answers[2][1]


def test_the_server_closes_while_a_viewer_keeps_its_connection_open(client, function):
    """A browser keeps its connections alive: Ctrl-C must not wait for it to let go of them."""
    server = cdn.CloudFrontServer(cdn.CloudFront(client, ORIGIN, handler=function, cache=None), port=0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    with socket.create_connection(server.server_address[:2], timeout=60) as viewer:
        viewer.sendall(b"GET /about/index.html HTTP/1.1\r\nHost: cdn\r\n\r\n")
        assert viewer.recv(12) == b"HTTP/1.1 404"  # answered, and the connection stays open
        server.shutdown()
        closing = threading.Thread(target=server.server_close)
        closing.start()
        closing.join(timeout=10)
        assert not closing.is_alive()


class FailingS3:
    """An origin S3 client whose every read raises `error`."""

    def __init__(self, error: Exception):
        self.error = error

    def get_object(self, **_):
        raise self.error

    head_object = get_object


@pytest.mark.parametrize(("error", "status", "name", "says", "logged"), [
    (EndpointConnectionError(endpoint_url="http://s3"), 502, "OriginConnectError",
     b"S3 could not be reached: Could not connect to the endpoint URL: \"http://s3\"", ""),
    (RuntimeError("a bug"), 500, "EmulatorError", b"the emulator failed; see its log", "RuntimeError: a bug"),
])
def test_an_unreachable_s3_is_502_and_a_bug_in_the_emulator_500(function, capsys, error, status, name, says, logged):
    """CloudFront's own errors, never cached (no-store), and the function is not called."""
    with serving(FailingS3(error), function, cache=ResponseCache()) as url:
        answers = [fetch(f"{url}/640x/{LANDSCAPE}", method) for method in ("GET", "GET", "HEAD")]
    assert [(code, headers["X-Cache"], headers["Cache-Control"], headers["Content-Type"])
            for code, headers, _ in answers] == [
        (status, f"{name} from cloudfront", "no-store", "text/plain; charset=utf-8")] * 3
    assert answers[0][2] == f"{status} {name} (from the local CloudFront emulator)\n".encode() + says + b"\n"
    assert answers[2][2] == b"" and function.calls == []
    assert logged in capsys.readouterr().err


@pytest.mark.parametrize(("metadata", "status", "request_id", "host_id"), [
    ({"HTTPStatusCode": 404, "RequestId": "REQ", "HostId": "HOST"}, 404, "REQ", "HOST"),
    ({"HTTPStatusCode": 404}, 404, r"[0-9A-F]{16}", r"[A-Za-z0-9+/]{64}"),  # made up in S3's shapes if S3 names none
    ({}, 500, r"[0-9A-F]{16}", r"[A-Za-z0-9+/]{64}"),  # an error without a status is S3's failure
])
def test_an_s3_error_keeps_s3s_status_and_request_and_host_ids(metadata, status, request_id, host_id):
    miss = cdn.s3_miss(ClientError({"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": metadata}, "GetObject"))
    assert (miss.status, miss.code) == (status, "NoSuchKey")
    assert re.fullmatch(request_id, miss.request_id) and re.fullmatch(host_id, miss.host_id)


def test_a_viewer_holding_the_etag_gets_304_from_the_cache_s3_and_a_new_render(client, function):
    """The ETag of the generated answer is the stored copy's: one validator, wherever the answer came from.
    (188 px: a size no other test of this module stores.)"""
    key = f"188x/{LANDSCAPE}"
    with serving(client, function, cache=ResponseCache()) as cached_url, serving(client, function) as s3_url:
        status, headers, body = fetch(f"{cached_url}/{key}")
        etag = headers["ETag"]
        held = {"If-None-Match": f'"other", {etag}'}
        revalidated = [fetch(f"{url}/{key}", headers=held) for url in (cached_url, s3_url)]
        changed = fetch(f"{s3_url}/{key}", headers={"If-None-Match": '"other"'})
        client.delete_object(Bucket=DERIVATIVES, Key=key)  # as the bucket's lifecycle rule expires it
        revalidated.append(fetch(f"{s3_url}/{key}", headers=held))
    assert status == 200 and etag == f'"{hashlib.md5(body).hexdigest()}"'
    assert [(code, answer["ETag"], answer["X-Cache"], data) for code, answer, data in revalidated] == [
        (304, etag, "Hit from cloudfront", b""), (304, etag, "Miss from cloudfront", b""),
        (304, etag, "Miss from cloudfront", b"")]
    assert (changed[0], changed[2]) == (200, body)
    # The function rendered twice: the first request, and the last, whose miss it answered with the same bytes.
    assert [status for uri, status in function.calls if uri == f"/{key}"] == ["404", "200", "200", "404"]


# CloudFront's guide, "HTTP 4xx and 5xx status codes that CloudFront caches", copied rather than read from cdn.py.
CACHED_BY_CLOUDFRONT = (400, 403, 404, 405, 412, 414, 415, 500, 501, 502, 503, 504)


@pytest.mark.parametrize(("status", "second"), [
    *((code, "Hit from cloudfront") for code in CACHED_BY_CLOUDFRONT),
    (413, "Error from cloudfront"), (401, "Error from cloudfront"),
])
def test_errors_are_cached_only_where_cloudfront_caches_them(client, status, second):
    """Every answer allows 60 s; CloudFront keeps a 415 for that long, but never a 413."""

    def refuse(event, context):
        response = origin_response(event)  # its Transfer-Encoding must stay
        response["headers"]["cache-control"] = [{"key": "Cache-Control", "value": "max-age=60"}]
        return response | {"status": str(status), "body": "refused", "bodyEncoding": "text"}

    with serving(client, CountingHandler(refuse), cache=ResponseCache()) as url:
        answers = [fetch(f"{url}/176x/{LANDSCAPE}") for _ in range(2)]
    assert [(code, headers["X-Cache"]) for code, headers, _ in answers] == [
        (status, "Error from cloudfront"), (status, second)]


def test_a_fragment_is_not_part_of_the_key(client, function):
    cloudfront = cdn.CloudFront(client, ORIGIN, handler=function)
    assert cloudfront.answer("GET", "/about/index.html#top", "127.0.0.1").status == 404
    assert function.calls == [("/about/index.html", "404")]


def test_the_query_string_is_not_part_of_the_key(cdn_url, function):
    """The template's cache policy forwards no query string: S3 and the function see the path alone.
    (194 px: a size no other test of this module stores, as they share one S3.)"""
    status, _, body = fetch(f"{cdn_url}/194x/{LANDSCAPE}?v=2")
    assert (status, decoded(body).width) == (200, 194)
    assert function.calls == [(f"/194x/{LANDSCAPE}", "404")]


ETAG = '"0123456789abcdef"'
STORED_IMAGE = cdn.Answer(200, "OK", (("ETag", ETAG), ("Content-Length", "4"), ("Content-Type", "image/jpeg")), b"JPEG")


@pytest.mark.parametrize(("answer", "if_none_match", "status"), [
    (STORED_IMAGE, ETAG, 304),
    (STORED_IMAGE, f'W/{ETAG}', 304),  # compared weakly, as for a GET
    (STORED_IMAGE, f'"other", {ETAG}', 304),
    (STORED_IMAGE, "*", 304),
    (STORED_IMAGE, '"other"', 200),
    (STORED_IMAGE, None, 200),
    (cdn.Answer(404, "Not Found", (("ETag", ETAG),)), ETAG, 404),  # only a 200 becomes a 304
    (cdn.Answer(200, "OK", (("Content-Type", "text/html"),), b"<html>"), '"x"', 200),  # no ETag to match
], ids=["same", "weak", "in-a-list", "any", "other", "none", "not-a-200", "no-etag"])
def test_a_viewer_holding_the_etag_gets_304_without_a_body(answer, if_none_match, status):
    revalidated = cdn.not_modified(answer, if_none_match)
    assert revalidated.status == status
    if status == 304:
        assert (revalidated.reason, revalidated.body) == ("Not Modified", b"")
        assert revalidated.header("content-length") is None
        assert revalidated.header("etag") == ETAG
    else:
        assert revalidated == answer


@pytest.mark.parametrize(("description", "reason"), [({"statusDescription": "Gone Fishing"}, "Gone Fishing"),
                                                    ({}, "Not Found"), ({"statusDescription": ""}, "Not Found")])
def test_the_reason_is_the_functions_status_description_or_else_the_statuss_own(description, reason):
    response = {"status": "404", "headers": {}, "body": "gone", **description}
    assert cdn.function_answer(response, STORED_IMAGE).reason == reason


@pytest.mark.parametrize(("status", "x_cache"), [(200, "Miss"), (399, "Miss"), (400, "Error"), (599, "Error")])
def test_an_answer_from_the_origin_is_labelled_an_error_from_400(status, x_cache):
    assert cdn.x_cache(cdn.Answer(status, "", ())) == f"{x_cache} from cloudfront"


# HTTP's date, in GMT, as S3 and CloudFront send it and the shipped events show it: "Sat, 28 Nov 2026 12:00:00 GMT"
HTTP_DATE = r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT"


def named(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def test_cloudfront_frames_the_body_and_adds_via_x_cache_and_date_once():
    """Whatever the function set for them, as CloudFront replaces them."""
    answer = cdn.Answer(200, "OK", (("Content-Length", "999"), ("Via", "1.1 function"), ("X-Cache", "Hit from me"),
                                    ("Content-Type", "image/jpeg")), b"JPEG")
    headers = cdn.wire_headers(answer, "GET")
    assert [named(headers, name) for name in ("content-length", "via", "x-cache", "content-type")] == [
        ["4"], [cdn.VIA], ["Miss from cloudfront"], ["image/jpeg"]]
    (date,) = named(headers, "date")
    assert re.fullmatch(HTTP_DATE, date)


@pytest.mark.parametrize(("status", "method", "given", "body", "sent"), [
    (200, "HEAD", (("Content-Length", "999"),), b"", ["999"]),  # the length a GET would have, as S3 said
    (404, "HEAD", (), b"<Error/>", []),  # S3 sends a HEAD no error page: the one made for it has no length
    (304, "GET", (), b"", []),  # no body, and no length of one (not_modified took the 200's away)
])
def test_a_head_keeps_only_the_length_its_answer_names_and_a_304_gets_none(status, method, given, body, sent):
    headers = cdn.wire_headers(cdn.Answer(status, "", (*given, ("Date", "then")), body), method)
    assert (named(headers, "content-length"), named(headers, "date")) == (sent, ["then"])


def test_a_head_after_a_get_is_a_hit_with_the_gets_length_and_one_before_claims_none(client, function):
    """A HEAD's miss generates the image, and passes S3's 404 on to the function, but is sent neither's
    body, so it names no length; the GET's answer, cached, gives a HEAD its own.
    (164 px: a size no other test of this module stores, as they share one S3.)"""
    with serving(client, function, cache=ResponseCache()) as url:
        missed = [fetch(f"{url}{path}", "HEAD")[1] for path in (f"/164x/{LANDSCAPE}", "/164x/no/such.jpg")]
        _, get_headers, body = fetch(f"{url}/164x/{LANDSCAPE}")
        _, head_headers, _ = fetch(f"{url}/164x/{LANDSCAPE}", "HEAD")
    assert [headers["Content-Length"] for headers in missed] == [None, None]
    assert head_headers["X-Cache"] == "Hit from cloudfront"
    assert head_headers.get_all("Content-Length") == [get_headers["Content-Length"]] == [str(len(body))]


def test_a_head_after_a_get_the_function_rendered_is_a_hit_with_the_bodys_length(client, function):
    """The function's answer names no length of its own: the cache gives the HEAD the body's."""
    cloudfront = cdn.CloudFront(client, ORIGIN, handler=function, cache=ResponseCache())
    rendered = cloudfront.answer("GET", f"/162x/{LANDSCAPE}", "127.0.0.1")  # a size no other test stores
    head = cloudfront.answer("HEAD", f"/162x/{LANDSCAPE}", "127.0.0.1")
    assert (rendered.source, rendered.header("content-length")) == ("lambda", None)
    assert (head.source, head.header("content-length")) == ("cache", str(len(rendered.body)))
    assert [(name, value) for name, value in head.headers if name not in ("Content-Length", "Age", "X-Amz-Cf-Id")] == [
        (name, value) for name, value in rendered.headers if name != "X-Amz-Cf-Id"]  # the rest as the GET had them


def test_an_s3_hit_carries_s3s_type_cache_control_and_validators(client):
    """docs/LOCAL.md: Content-Type, Cache-Control, ETag and Last-Modified, as S3 sent them."""
    client.put_object(Bucket=DERIVATIVES, Key="185x/hit.jpg", Body=b"stored", ContentType="image/jpeg",
                      CacheControl="max-age=60")
    sent = client.head_object(Bucket=DERIVATIVES, Key="185x/hit.jpg")["ResponseMetadata"]["HTTPHeaders"]
    hit = cdn.CloudFront(client, ORIGIN, handler=edge_handler, cache=None).answer("GET", "/185x/hit.jpg", "127.0.0.1")
    assert [hit.header(name) for name in ("content-type", "cache-control", "etag", "last-modified")] == [
        "image/jpeg", "max-age=60", sent["etag"], sent["last-modified"]]


def test_a_head_that_s3_answers_is_not_sent_the_object(client):
    """S3 is asked for the head alone: the answer holds no body, only the length S3 names."""
    client.put_object(Bucket=DERIVATIVES, Key="186x/head.jpg", Body=b"stored", ContentType="image/jpeg")
    cloudfront = cdn.CloudFront(client, ORIGIN, handler=edge_handler)
    head = cloudfront.answer("HEAD", "/186x/head.jpg", "127.0.0.1")
    assert (head.status, head.source, head.body, head.header("content-length")) == (200, "s3", b"", "6")


def test_a_leading_double_slash_reaches_the_function_as_sent(client, function):
    """Not ours (the key would start with an empty segment): S3's 404 passes through, as from CloudFront."""
    with serving(client, function) as url:
        status, _, body = fetch(f"{url}//176x/{LANDSCAPE}")
    assert (status, b"NoSuchKey" in body) == (404, True)
    assert function.calls == [(f"//176x/{LANDSCAPE}", "404")]


def status_line_for(client, function, request_line: bytes) -> bytes:
    """The status line an emulator answers this raw request line with (the rest of the request is a Host)."""
    with serving(client, function) as url:
        with socket.create_connection((s3.LOOPBACK, urlsplit(url).port), timeout=60) as viewer:
            viewer.sendall(request_line + b"\r\nHost: cdn\r\nConnection: close\r\n\r\n")
            return viewer.makefile("rb").readline()


# Bytes that http.server's ISO-8859-1 reading of the request line makes white space (\x85, \xa0), which UTF-8 holds:
# voil\u00e0 is C3 A0, \u00c5 C3 85; and \xa0 sent alone is ISO-8859-1's no-break space.
@pytest.mark.parametrize("path", ["/179x/caf\u00e9.jpg", "/179x/voil\u00e0.jpg", "/179x/\u00c5s.jpg",
                                  "/179x/a\u00a0b.jpg"])
@pytest.mark.parametrize("encoding", ["utf-8", "iso-8859-1"])
def test_a_raw_non_ascii_path_reaches_the_function_as_utf_8(client, function, path, encoding):
    """As from CloudFront, which hands on a path's raw UTF-8 as it came and turns raw ISO-8859-1 into UTF-8."""
    status_line = status_line_for(client, function, b"GET " + path.encode(encoding) + b" HTTP/1.1")
    assert status_line.startswith(b"HTTP/1.1 404 ")
    assert function.calls == [(path, "404")]


@pytest.mark.parametrize("request_line", [b"GET\t/184x/a.jpg\tHTTP/1.1", b"GET  /184x/a.jpg HTTP/1.1"],
                         ids=["tabs", "two-spaces"])
def test_a_request_line_not_split_at_single_spaces_is_read_as_http_server_reads_it(client, function, request_line):
    """Its target is then http.server's second word: the path, not the method or the version."""
    assert status_line_for(client, function, request_line).startswith(b"HTTP/1.1 404 ")
    assert function.calls == [("/184x/a.jpg", "404")]


@pytest.mark.parametrize(("width", "scheme", "query"), [(177, "http", ""), (178, "http", "?v=2"), (187, "https", "")])
def test_a_request_through_a_proxy_naming_the_whole_url_reaches_the_function_as_its_path(client, function, width,
                                                                                         scheme, query):
    with serving(client, function) as url:
        netloc = urlsplit(url).netloc
        connection = http.client.HTTPConnection(netloc, timeout=60)
        try:
            connection.request("GET", f"{scheme}://{netloc}/{width}x/{LANDSCAPE}{query}")
            response = connection.getresponse()
            answer = (response.status, decoded(response.read()).width)
        finally:
            connection.close()
    assert answer == (200, width)
    assert function.calls == [(f"/{width}x/{LANDSCAPE}", "404")]


@pytest.mark.parametrize("target", [b"*", b"184x/a.jpg", b"ftp://cdn/184x/a.jpg", b"http:/184x/a.jpg"])
def test_a_request_target_neither_a_path_nor_an_http_url_is_a_400_the_function_never_sees(client, function, target):
    assert status_line_for(client, function, b"GET " + target + b" HTTP/1.1").startswith(b"HTTP/1.1 400 ")
    assert function.calls == []


def test_a_head_is_cached_for_heads_only(client, function):
    """A HEAD's answer has no body: a second HEAD is a hit, a GET after it still fetches the image.
    (168 px: a size no other test of this module stores, as they share one S3.)"""
    with serving(client, function, cache=ResponseCache()) as url:
        _, first_headers, _ = fetch(f"{url}/168x/{LANDSCAPE}", "HEAD")
        _, second_headers, _ = fetch(f"{url}/168x/{LANDSCAPE}", "HEAD")
        status, get_headers, body = fetch(f"{url}/168x/{LANDSCAPE}")
    assert first_headers["X-Cache"] == "Miss from cloudfront"
    assert second_headers["X-Cache"] == "Hit from cloudfront"
    assert (status, get_headers["X-Cache"]) == (200, "Miss from cloudfront")
    assert Image.open(io.BytesIO(body)).size[0] == 168
    # The function saw the HEAD's miss, which generated, and the GET's S3 hit, which it passed through.
    assert [status for _, status in function.calls] == ["404", "200"]


def test_the_templates_viewer_headers_go_on_misses_and_hits_alike(client, function):
    """CORS for a request that names its Origin, Timing-Allow-Origin for all; never kept in the cache.
    (172 px: a size no other test of this module stores.)"""
    policy = template.viewer_headers(template.load_template(template.DEFAULT_TEMPLATE))
    page = {"Origin": "https://news.example"}
    with serving(client, function, cache=ResponseCache(), viewer_headers=policy) as url:
        answers = [fetch(f"{url}/172x/{LANDSCAPE}", headers=page), fetch(f"{url}/172x/{LANDSCAPE}"),
                   fetch(f"{url}/172x/{LANDSCAPE}", headers=page)]
    assert [headers["X-Cache"] for _, headers, _ in answers] == ["Miss from cloudfront"] + ["Hit from cloudfront"] * 2
    assert [headers.get_all("Access-Control-Allow-Origin") for _, headers, _ in answers] == [["*"], None, ["*"]]
    assert [headers.get_all("Timing-Allow-Origin") for _, headers, _ in answers] == [["*"]] * 3
    # A browser keeps the answers to requests with and without an Origin apart.
    assert [headers.get_all("Vary") for _, headers, _ in answers] == [["Origin"]] * 3


@pytest.mark.parametrize(
    ("origins", "request_origin", "allowed"),
    [
        (("*",), "https://a.example", "*"),
        (("https://a.example", "https://b.example"), "https://b.example", "https://b.example"),
        (("https://a.example",), "https://b.example", None),
        (("*",), None, None),
        ((), "https://a.example", None),
    ],
)
def test_cors_answers_a_request_from_an_allowed_origin_only(origins, request_origin, allowed):
    policy = template.ViewerHeaders(origins, (("Timing-Allow-Origin", "*"),))
    added = dict(policy.added_to((("Content-Type", "image/jpeg"), ("timing-allow-origin", "x")), request_origin))
    assert added == {"Content-Type": "image/jpeg", "Timing-Allow-Origin": "*"} | (
        {"Access-Control-Allow-Origin": allowed} if allowed else {})


def test_the_gallery_shows_each_original_with_responsive_picture_and_cover_renditions(cdn_url):
    status, headers, body = fetch(f"{cdn_url}/")
    page = body.decode()
    # no-store: the page lists what the bucket holds now, so a browser asks again
    assert (status, headers["Content-Type"], headers["Cache-Control"]) == (200, "text/html; charset=utf-8", "no-store")
    for sample in samples.SAMPLES:
        assert f"<h2>{sample.key}</h2>" in page
    assert 'type="image/avif"' in page and 'type="image/webp"' in page
    assert "/320x/samples/alpine-lake.jpg 320w, /640x/samples/alpine-lake.jpg 640w" in page
    assert 'src="/240x240,cover/samples/alpine-lake.jpg"' in page
    assert "/x480/" not in page and "front%20page%20%C3%A9t%C3%A9%2B1.jpg" in page
    assert re.search(r'data-expect="\{&quot;/320x/samples/lighthouse-exif6.jpg&quot;:\[320,480\]', page)


def gallery_page(client, bucket: str, originals: dict[str, bytes], headers: dict[str, str] | None = None) -> str:
    """The gallery of a distribution whose originals bucket holds just these, its origin sending `headers`."""
    derivatives = f"{bucket}-derivatives"
    s3.create_buckets(client, REGION, bucket, derivatives)
    s3.put_originals(client, bucket, originals)
    origin = cdn.Origin(derivatives, REGION, {"x-originals-bucket": bucket} | (headers or {}))
    answer = cdn.CloudFront(client, origin, Gallery(client, bucket, {}), cache=None).answer("GET", "/", s3.LOOPBACK)
    assert answer.status == 200
    return answer.body.decode()


def test_the_gallery_leaves_out_an_original_it_cannot_decode(client, capsys):
    fine = encoded(gradient((90, 60)), "JPEG")
    # An ICC segment too short to number itself, which browsers pass over, and so does render.
    with_stub = fine[:2] + b"\xff\xe2\x00\x0fICC_PROFILE\x00\x01" + fine[2:]
    # A frame control with no acTL, which browsers pass over, and so does render (one over the whole picture:
    # Chromium 156 refuses others before the pixels).
    still = encoded(gradient((90, 60)), "PNG")
    still = still[:33] + png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 90, 60, 0, 0, 1, 10, 0, 0)) + still[33:]
    originals = {"broken.png": png_with_corrupt_data(), "fine.jpg": fine, "stub.jpg": with_stub, "still.png": still}
    page = gallery_page(client, "gallery-with-a-broken-original", originals)
    assert all(f"<h2>{key}</h2>" in page for key in ("fine.jpg", "stub.jpg", "still.png")) and "broken.png" not in page
    logged = capsys.readouterr().err
    assert re.search(r"^GET  /320x/fine\.jpg  200  lambda  \d+ ms  \(for the gallery\)$", logged, re.MULTILINE)
    assert re.search(r"^GET  /320x/broken\.png  415  lambda  \d+ ms  \(for the gallery\)$", logged, re.MULTILINE)


def test_the_gallery_shows_what_the_function_serves_under_its_configuration(client):
    """Each original here but the first two is refused by the function (413 or 415), for the reason its key gives."""
    frame, turned = png_stream(gradient((30, 20))), png_stream(gradient((30, 20)).transpose(Image.Transpose.ROTATE_180))
    small = {
        # Two frames after a fallback image, which Pillow counts as a third and browsers never show.
        "animated.png": apng_from_streams((30, 20, 8, 2), [(frame, (30, 20), (0, 0), 0, 0),
                                                           (turned, (30, 20), (0, 0), 0, 0)], fallback=frame),
        "repeated.png": apng_from_streams((30, 20, 8, 2), [(frame, (30, 20), (0, 0), 0, 0)] * 3),  # plays as a still
        "over-the-pixel-limit.jpg": encoded(gradient((90, 60)), "JPEG"),
        "over-the-pixel-limit-in-all.png": apng_from_streams(
            (60, 60, 8, 2), [(png_stream(gradient((60, 60))), (60, 60), (0, 0), 0, 0)] * 2),
        # Pillow decodes it; the data check render awaits finds its one tile inflating past the pixels.
        "overflowing-tile.tif": tiled_tiff(Image.new("L", (16, 16)), 16, [zlib.compress(bytes(8193))]),
    }
    large = encoded(noise_image((100, 100)), "PNG")
    assert max(map(len, small.values())) < 25_000 < len(large)
    page = gallery_page(client, "gallery-under-limits", small | {"over-the-byte-limit.png": large},
                        {"x-max-source-pixels": "5000", "x-max-source-bytes": "25000"})
    assert re.findall(r"<h2>(.*?)</h2>", page) == ["animated.png", "repeated.png"]
    assert "PNG · 30×20 · 2 frames ·" in page and page.count(" frames ·") == 1


@pytest.mark.parametrize("headers", [{"x-allowed-sizes": "640x"}, {"x-max-frames": "many"}],
                         ids=["first-tile-not-allowed", "malformed"])
def test_the_gallery_keeps_an_original_refused_for_the_configurations_sake(client, headers):
    """Its tiles show the function's 400s or 500s, which are what such a configuration gives."""
    page = gallery_page(client, f"gallery-{next(iter(headers))}", {"cat.jpg": encoded(gradient((90, 60)), "JPEG")},
                        headers)
    assert "<h2>cat.jpg</h2>" in page and "JPEG · 90×60 ·" in page


def test_a_rendition_the_function_redirects_to_is_fetched_from_where_it_stored_it(client):
    """As for an image too large to answer with inline: the gallery counts the stored image's frames."""
    stored = encoded(gradient((32, 20)), "PNG")

    def storing_and_redirecting(event, context):
        miss = OriginResponseEvent.from_record(event["Records"][0]["cf"])
        if miss.response.status == "200":
            return edge_handler(event, context)  # passed through
        client.put_object(Bucket=DERIVATIVES, Key="320x/large.png", Body=stored, ContentType="image/png")
        return responses.redirect_response(miss.response, miss.request.uri)

    cloudfront = cdn.CloudFront(client, ORIGIN, None, storing_and_redirecting)
    assert cloudfront.rendition("/320x/large.png") == (200, stored)


def test_a_rendition_redirected_again_is_followed_no_further(client):
    """One redirect is followed, as the function makes one at most: a loop of them ends at the second."""
    always = CountingHandler(lambda event, context: responses.redirect_response(
        OriginResponseEvent.from_record(event["Records"][0]["cf"]).response, "/elsewhere.png"))
    cloudfront = cdn.CloudFront(client, ORIGIN, None, always, cache=None)
    assert cloudfront.rendition("/320x/looping.png")[0] == 307
    assert len(always.calls) == 2


def test_a_rendition_that_is_not_a_redirect_is_fetched_once(client, function):
    cloudfront = cdn.CloudFront(client, ORIGIN, None, function, cache=None)
    status, body = cloudfront.rendition(f"/158x/{LANDSCAPE}")  # a size no other test stores
    assert (status, decoded(body).width) == (200, 158)
    assert function.calls == [(f"/158x/{LANDSCAPE}", "404")]


def test_a_request_is_logged_with_its_time_in_milliseconds(monkeypatch, capsys):
    monkeypatch.setattr(cdn.time, "perf_counter", lambda: 11.5)
    cdn.log_request("GET", "/x", cdn.Answer(200, "OK", ()), started=10.0)
    assert capsys.readouterr().err == "GET  /x  200  s3  1500 ms\n"


def test_each_viewer_request_is_logged_with_what_answered_it_before_the_answer_leaves(cdn_url, capsys):
    fetch(f"{cdn_url}/about/index.html")
    assert re.fullmatch(r"GET  /about/index\.html  404  pass-through  \d+ ms\n", capsys.readouterr().err)


def test_a_built_event_has_the_shape_of_the_shipped_events():
    origin = cdn.Origin(DERIVATIVES, REGION, {"x-originals-bucket": ORIGINALS})
    miss = cdn.S3Miss(404, "NoSuchKey", "REQUESTID", "HOSTID")
    built = cdn.build_event("GET", "/640x/photos/cat.jpg", "127.0.0.1", origin, 404, cdn.miss_headers(miss),
                            cdn.request_id())
    shipped = load_event("miss-404-resize.json")
    assert shape(built) == shape(shipped)
    cf = built["Records"][0]["cf"]
    assert cf["request"]["origin"]["s3"]["domainName"] == "image-cdn-derivatives.s3.us-east-1.amazonaws.com"
    assert cf["response"]["headers"]["transfer-encoding"] == [{"key": "Transfer-Encoding", "value": "chunked"}]
    assert cf["request"]["uri"] == "/640x/photos/cat.jpg"
    (date,) = cf["response"]["headers"]["date"]
    assert re.fullmatch(HTTP_DATE, date["value"])


def shape(node, path=()):
    """The structure of a JSON value: its keys and value types, not its values (custom headers aside)."""
    if isinstance(node, dict):
        if path[-1:] == ("customHeaders",):
            return "custom headers"
        return {key: shape(value, (*path, key)) for key, value in node.items()}
    if isinstance(node, list):
        return [shape(item, path) for item in node[:1]]
    return type(node).__name__


def test_origin_headers_come_from_the_templates_parameter_defaults(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(
        """
Parameters:
  MaxDimension: {Type: Number, Default: 2048}
  AllowedSizes: {Type: String, Default: "320x, 640x"}
  CacheControl: {Type: String, Default: ""}
  OriginalsBucketRegion: {Type: String, Default: ""}
Conditions:
  HasRegion: !Not [!Equals [!Ref OriginalsBucketRegion, ""]]
Resources:
  Distribution:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Origins:
          - Id: derivatives
            DomainName: !GetAtt DerivativesBucket.RegionalDomainName
            OriginCustomHeaders:
              - {HeaderName: x-originals-bucket, HeaderValue: !Ref OriginalsBucket}
              - HeaderName: x-originals-region
                HeaderValue: !If [HasRegion, !Ref OriginalsBucketRegion, !Ref "AWS::Region"]
              - {HeaderName: x-max-dimension, HeaderValue: !Ref MaxDimension}
              - {HeaderName: x-allowed-sizes, HeaderValue: !Sub "${AllowedSizes}"}
              - {HeaderName: x-cache-control, HeaderValue: !Ref CacheControl}
"""
    )
    headers = template.origin_headers(template.load_template(path), "eu-west-1")
    assert headers.headers == {
        "x-originals-region": "eu-west-1", "x-max-dimension": "2048", "x-allowed-sizes": "320x, 640x",
    }
    assert headers.unresolved == ("x-originals-bucket",)


@pytest.mark.skipif(not template.DEFAULT_TEMPLATE.is_file(), reason="template.yaml is not there yet")
def test_the_projects_template_configures_every_header_but_the_stacks_own_bucket():
    headers = template.origin_headers(template.load_template(template.DEFAULT_TEMPLATE), REGION)
    assert set(headers.headers) == set(cdn.CONFIG_HEADERS)
    assert headers.unresolved == ("x-originals-bucket",)


def test_flags_override_the_template_and_the_local_bucket_always_wins():
    args = cdn.parse_args(["--max-dimension", "1000", "--allowed-sizes", "*", "--originals-bucket", "mine"])
    headers = cdn.custom_headers(
        args.originals_bucket, {"x-originals-bucket": "stack-bucket", "x-max-dimension": "4096", "x-max-frames": "9"},
        cdn.flag_overrides(args),
    )
    assert headers == {
        "x-originals-bucket": "mine", "x-max-dimension": "1000", "x-max-frames": "9", "x-allowed-sizes": "*",
    }


def test_a_folder_of_originals_uploads_its_images_only(tmp_path: Path):
    (tmp_path / "trips" / "2026").mkdir(parents=True)
    (tmp_path / "trips" / "2026" / "beach.JPG").write_bytes(b"jpeg")
    (tmp_path / "logo.png").write_bytes(b"png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.jpg").write_bytes(b"hidden")
    (tmp_path / "trips" / ".thumbnails").mkdir()
    (tmp_path / "trips" / ".thumbnails" / "beach.png").write_bytes(b"thumbnail")
    assert s3.folder_originals(tmp_path) == {"logo.png": b"png", "trips/2026/beach.JPG": b"jpeg"}


@pytest.mark.parametrize(("dummy_credentials", "credentials"), [
    (True, {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}),
    (False, {"AWS_ACCESS_KEY_ID": "mine", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
             "AWS_PROFILE": "work"}),
])
def test_default_built_clients_are_pointed_at_the_s3_and_a_throwaway_one_gets_no_real_credentials(
        monkeypatch, dummy_credentials, credentials):
    names = ("AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN", "AWS_PROFILE")
    for name, value in zip(names, ("us-east-1", "https://elsewhere", "mine", "secret", "token", "work")):
        monkeypatch.setenv(name, value)  # and put back after the test
    s3.apply_environment(s3.boto3_environment("http://127.0.0.1:9000", "eu-west-1", dummy_credentials))
    assert {name: os.environ[name] for name in names if name in os.environ} == {
        "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", **credentials}


def test_the_functions_clients_are_built_again_once_forgotten():
    """A client the function built for one S3 is not used for another."""
    from edge import storage

    built = storage.s3_client(REGION)
    assert storage.s3_client(REGION) is built
    s3.forget_edge_clients()
    assert storage.s3_client(REGION) is not built


@pytest.mark.parametrize(("region", "location"), [("us-east-1", None), ("eu-west-1", "eu-west-1")])
def test_buckets_are_created_in_the_region_asked_for(endpoint_url, region, location):
    """S3 refuses an explicit us-east-1 location, and requires one anywhere else."""
    client = s3.s3_client(endpoint_url, region)
    s3.create_buckets(client, region, f"located-in-{region}", f"also-in-{region}")
    assert [client.get_bucket_location(Bucket=f"{name}-in-{region}")["LocationConstraint"]
            for name in ("located", "also")] == [location] * 2


def test_the_embedded_s3_does_not_log_each_request(endpoint_url, caplog):
    """Werkzeug logs every request at INFO: the emulator's one line per viewer request would drown in them."""
    caplog.set_level(logging.INFO)
    s3.s3_client(endpoint_url, REGION).list_buckets()
    assert [record.getMessage() for record in caplog.records if record.name == "werkzeug"] == []


def test_the_embedded_s3_stops_when_its_block_ends():
    with s3.EmbeddedS3() as url:
        address = urlsplit(url).hostname, urlsplit(url).port
        socket.create_connection(address, timeout=60).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=60).close()


# docs/LOCAL.md's list for --originals, copied here rather than read from local/s3.py.
ORIGINALS_SUFFIXES = ("jpg", "jpeg", "png", "gif", "webp", "avif", "tif", "tiff", "bmp")


@pytest.mark.parametrize("suffix", ORIGINALS_SUFFIXES)
def test_a_folder_of_originals_uploads_every_image_type_the_docs_list(tmp_path: Path, suffix):
    images = (f"lower.{suffix}", f"upper.{suffix.upper()}")
    for name in (*images, f"{suffix}.txt"):
        (tmp_path / name).write_bytes(name.encode())
    assert s3.folder_originals(tmp_path) == {name: name.encode() for name in images}


@pytest.mark.parametrize(
    ("files", "message"),
    [(None, "no such folder"), ((), "no images"), (("notes.txt", ".hidden.jpg"), "no images")],
    ids=["missing", "empty", "no-image"],
)
def test_originals_must_be_a_folder_with_images(tmp_path: Path, capsys, files, message):
    folder = tmp_path / "originals"
    if files is not None:
        folder.mkdir()
        for name in files:
            (folder / name).write_bytes(b"x")
    with pytest.raises(SystemExit) as exit_:
        cdn.parse_args(["--originals", str(folder)])
    assert exit_.value.code == 2
    assert f"argument --originals: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--originals-bucket", "--derivatives-bucket"])
@pytest.mark.parametrize("name", ["Bad_Bucket!", "ab", "Derivs", "a" * 64, "derivs-"])
def test_a_bucket_name_s3_refuses_is_a_usage_error(client, flag, name):
    args = cdn.parse_args([flag, name])
    with pytest.raises(SystemExit) as exit_:
        cdn.prepare_buckets(client, args, embedded=True)
    assert str(exit_.value) == f"error: {name!r} is not a bucket name S3 accepts"


@pytest.mark.parametrize(("originals", "derivatives", "missing"), [
    ("no-such-originals", DERIVATIVES, "no-such-originals"),
    (ORIGINALS, "no-such-derivatives", "no-such-derivatives"),
    ("no-such-originals", "no-such-derivatives", "no-such-originals, no-such-derivatives"),
])
def test_an_s3_of_your_own_must_hold_both_buckets(client, endpoint_url, originals, derivatives, missing):
    args = cdn.parse_args(["--endpoint-url", endpoint_url, "--originals-bucket", originals,
                           "--derivatives-bucket", derivatives])
    with pytest.raises(SystemExit) as exit_:
        cdn.prepare_buckets(client, args, embedded=False)
    assert str(exit_.value) == (f"error: bucket(s) {missing} not found at {endpoint_url}; create them, "
                                "or name yours with --originals-bucket and --derivatives-bucket")


def test_an_s3_of_your_own_gets_your_originals_only_with_their_content_types(client, endpoint_url, tmp_path: Path):
    s3.create_buckets(client, REGION, "your-own-originals")
    (tmp_path / "cat.png").write_bytes(b"png")
    (tmp_path / "dog.JPEG").write_bytes(b"jpeg")
    args = cdn.parse_args(["--endpoint-url", endpoint_url, "--originals", str(tmp_path),
                           "--originals-bucket", "your-own-originals", "--derivatives-bucket", DERIVATIVES])
    assert cdn.prepare_buckets(client, args, embedded=False) == {"cat.png": b"png", "dog.JPEG": b"jpeg"}
    listed = client.list_objects_v2(Bucket="your-own-originals")["Contents"]
    assert [(item["Key"], client.head_object(Bucket="your-own-originals", Key=item["Key"])["ContentType"])
            for item in listed] == [("cat.png", "image/png"), ("dog.JPEG", "image/jpeg")]


def test_your_originals_come_first_and_win_over_a_sample_of_the_same_key(client, tmp_path: Path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"my own cat")
    (tmp_path / "zebra.png").write_bytes(b"my zebra")
    args = cdn.parse_args(["--originals", str(tmp_path), "--originals-bucket", "mine", "--derivatives-bucket", "out"])
    originals = cdn.prepare_buckets(client, args, embedded=True)
    assert list(originals)[:2] == ["photos/cat.jpg", "zebra.png"]
    assert set(originals) == set(samples.sample_originals()) | {"zebra.png"}
    assert client.get_object(Bucket="mine", Key="photos/cat.jpg")["Body"].read() == b"my own cat"


def test_the_examples_skip_an_original_whose_bytes_are_not_an_image():
    """Nor one that Pillow takes for an image and fails to open: a PNG whose IHDR says it is 5 bytes, not 13,
    raises ValueError."""
    tiny = encoded(Image.new("L", (1, 1)), "PNG")
    short_header = tiny[:8] + (5).to_bytes(4, "big") + tiny[12:]
    originals = {"fake.jpg": b"not a picture", "tiny.png": tiny, "short-header.png": short_header,
                 "photo.jpg": encoded(Image.new("RGB", (8, 8)), "JPEG")}
    assert cdn.images(originals) == ["tiny.png", "photo.jpg"]


@pytest.mark.parametrize(
    ("key", "words"),
    [("a b.jpg", "a space"), ("a b+1.jpg", "a space and a plus"), ("été b.jpg", "a space and accents"),
     ("news/front page été+1.jpg", "a space, accents and a plus")],
)
def test_the_example_for_an_encoded_key_says_what_it_encodes(key, words):
    assert (f"http://cdn/x480/{quote(key, safe='/')}", f"a key with {words}") in cdn.example_urls("http://cdn", [key])


def test_the_examples_use_the_first_original_gif_and_key_with_a_space_and_a_misconfiguration_refuses_none():
    """The function answers a misconfigured x-allowed-sizes with its own error, whatever the size."""
    assert cdn.example_urls("http://cdn", ["a.jpg", "b.gif", "c d.jpg", "e.gif", "f g.jpg"], "640X") == [
        ("http://cdn/", "the gallery: every original beside its renditions"),
        ("http://cdn/640x/a.jpg", "fit inside 640 pixels wide"),
        ("http://cdn/300x300,cover,webp/a.jpg", "a centred square crop, as WebP"),
        ("http://cdn/x240,avif/b.gif", "an animated GIF as animated AVIF"),
        ("http://cdn/x480/c%20d.jpg", "a key with a space"),
        ("http://cdn/640y/a.jpg", "a malformed spec: 400"),
    ]


def test_the_banner_says_which_examples_the_allowed_sizes_refuse():
    examples = dict(cdn.example_urls("http://cdn", ["a.jpg"], " 640x , 240x240"))
    assert examples == {
        "http://cdn/": "the gallery: every original beside its renditions",
        "http://cdn/640x/a.jpg": "fit inside 640 pixels wide",
        "http://cdn/300x300,cover,webp/a.jpg":
            "a centred square crop, as WebP (400 here: x-allowed-sizes lacks 300x300)",
        "http://cdn/640y/a.jpg": "a malformed spec: 400",
    }
    assert dict(cdn.example_urls("http://cdn", ["a.jpg"], "*"))["http://cdn/300x300,cover,webp/a.jpg"] == (
        "a centred square crop, as WebP")


@pytest.fixture
def served(monkeypatch) -> list[cdn.CloudFront]:
    """The distributions `python -m local.cdn` serves, each stopped (Ctrl-C) as soon as it starts."""
    distributions = []

    def interrupted(server, poll_interval=0.5):
        distributions.append(server.cloudfront)
        raise KeyboardInterrupt

    monkeypatch.setattr(cdn.CloudFrontServer, "serve_forever", interrupted)
    return distributions


@pytest.fixture
def gallery_notes(monkeypatch) -> list[dict[str, str]]:
    """The notes each gallery `python -m local.cdn` makes is given, by key."""
    given = []

    def noted(client, bucket, notes):
        given.append(notes)
        return Gallery(client, bucket, notes)

    monkeypatch.setattr(cdn, "Gallery", noted)
    return given


def test_the_banner_says_where_the_cdn_and_its_s3_are_and_what_to_try(client, endpoint_url, served, gallery_notes,
                                                                     capsys, tmp_path):
    """On an S3 of your own, with no template and nothing uploaded, and no sample notes in its gallery;
    Ctrl-C stops it and frees the port."""
    no_template = tmp_path / "template.yaml"
    cdn.main(["--port", "0", "--endpoint-url", endpoint_url, "--originals-bucket", ORIGINALS,
              "--derivatives-bucket", DERIVATIVES, "--template", str(no_template), "--max-dimension", "2048",
              "--no-cache", "--missing-as-403"])
    [distribution] = served
    assert (distribution.cache, distribution.missing_as_403, distribution.viewer_headers) == (
        None, True, template.ViewerHeaders())
    assert distribution.origin == cdn.Origin(DERIVATIVES, REGION, {"x-originals-bucket": ORIGINALS,
                                                                   "x-max-dimension": "2048"})
    out, err = capsys.readouterr()
    url = re.match(r"Local image CDN on (http://127\.0\.0\.1:\d+)/ ", out)[1]
    assert out.splitlines() == [
        f"Local image CDN on {url}/   (Ctrl-C stops it)",
        f"  S3:      S3 at {endpoint_url}",
        f"           originals in {ORIGINALS}, derivatives in {DERIVATIVES}",
        f"  origin:  {DERIVATIVES}.s3.{REGION}.amazonaws.com, custom headers (none in {no_template}: "
        "the function's defaults; flags override):",
        f"           x-originals-bucket: {ORIGINALS}",
        "           x-max-dimension: 2048",
        "  edge:    no edge cache (--no-cache); S3 answers 403 (--missing-as-403: CloudFront without s3:ListBucket) "
        "for a missing key",
        "",
        "Try:",
        f"  {url}/                           the gallery: every original beside its renditions",
        f"  {url}/640x/<key of an original>  640 pixels wide",
        "",
        "Each request is logged below with what answered it: cache (the edge's copy), s3 (the stored",
        "derivative), lambda (the function's render), pass-through, gallery, or a CloudFront error's name.",
        "",
    ]
    assert err.endswith("stopped\n")
    assert gallery_notes == [{}]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((s3.LOOPBACK, urlsplit(url).port), timeout=60).close()


def test_by_default_the_origin_and_viewer_headers_come_from_the_projects_template(client, endpoint_url, served,
                                                                                   capsys):
    cdn.main(["--port", "0", "--endpoint-url", endpoint_url, "--originals-bucket", ORIGINALS,
              "--derivatives-bucket", DERIVATIVES])
    [distribution] = served
    assert set(distribution.origin.custom_headers) == {"x-originals-bucket", *cdn.CONFIG_HEADERS}
    policy = template.viewer_headers(template.load_template(template.DEFAULT_TEMPLATE))
    assert distribution.viewer_headers == policy != template.ViewerHeaders()


def test_the_banner_is_flushed_before_the_cdn_serves_so_that_a_pipe_or_a_log_file_shows_it(endpoint_url, tmp_path):
    """As `make demo > demo.log &` needs: Python buffers what it writes to anything but a terminal."""
    command = [sys.executable, "-m", "local.cdn", "--port", "0", "--endpoint-url", endpoint_url,
               "--originals-bucket", ORIGINALS, "--derivatives-bucket", DERIVATIVES,
               "--template", str(tmp_path / "no-template.yaml")]
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}  # as by default
    with subprocess.Popen(command, cwd=README.parent, env=buffered, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as demo:
        try:
            readable, _, _ = select.select([demo.stdout], [], [], 60)
            first = demo.stdout.readline() if readable else b""
        finally:
            demo.terminate()
    assert first.startswith(b"Local image CDN on http://127.0.0.1:")


def test_sigterm_stops_the_cdn_as_ctrl_c_does(endpoint_url, tmp_path):
    """As `make demo &` is stopped: it says so and exits 0, where Python's default exits 143 without a word."""
    command = [sys.executable, "-m", "local.cdn", "--port", "0", "--endpoint-url", endpoint_url,
               "--originals-bucket", ORIGINALS, "--derivatives-bucket", DERIVATIVES,
               "--template", str(tmp_path / "no-template.yaml")]
    with subprocess.Popen(command, cwd=README.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as demo:
        try:
            readable, _, _ = select.select([demo.stdout], [], [], 60)
            assert readable and demo.stdout.readline().startswith(b"Local image CDN on ")
        finally:
            demo.terminate()
        _, err = demo.communicate(timeout=60)
    assert (demo.returncode, err) == (0, b"stopped\n")


def test_the_demo_uploads_the_samples_to_an_embedded_s3_and_names_what_only_a_stack_knows(served, gallery_notes,
                                                                                           capsys, tmp_path):
    stack = tmp_path / "stack.yaml"
    stack.write_text(template_with_origins({
        "x-originals-bucket": "!Ref OriginalsBucket", "x-originals-region": "!GetAtt OriginalsBucket.Region",
        "x-max-frames": "12"}))
    cdn.main(["--port", "0", "--template", str(stack)])
    lines = capsys.readouterr().out.splitlines()
    embedded = re.fullmatch(r"  S3:      embedded moto server at (http://127\.0\.0\.1:\d+)", lines[1])[1]
    # The function's clients, built with default arguments, reach it through the environment.
    assert (os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_ACCESS_KEY_ID"]) == (embedded, "local")
    assert lines[3:8] == [
        f"  origin:  {DERIVATIVES}.s3.{REGION}.amazonaws.com, custom headers (from stack.yaml; flags override):",
        f"           x-originals-bucket: {ORIGINALS}",
        "           x-max-frames: 12",
        "  only a deployed stack knows x-originals-region: left to the function's defaults",
        "  edge:    an edge cache, for as long as Cache-Control allows; S3 answers 404 for a missing key",
    ]
    assert f"/640x/{samples.SAMPLES[0].key}" in lines[11]
    examples = [line for line in lines[lines.index("Try:") + 1:lines.index("", lines.index("Try:"))] if line]
    assert len(examples) == 6
    # Every description starts in the same column, two spaces after the longest URL.
    assert {len(url) + len(gap) for url, gap in (re.match(r"(  \S+)( +)\S", line).groups() for line in examples)} == {
        max(len(line.split()[0]) for line in examples) + 4}
    assert gallery_notes == [{sample.key: sample.note for sample in samples.SAMPLES}]
    [distribution] = served
    assert (type(distribution.cache), distribution.missing_as_403) == (ResponseCache, False)


def test_python_m_local_cdn_help_says_what_it_is_and_lists_the_flags():
    """docs/LOCAL.md's `python -m local.cdn --help`, run as a developer runs it."""
    # Wide enough that argparse wraps no line (it would break origin-response at its hyphen).
    done = subprocess.run([sys.executable, "-m", "local.cdn", "--help"], cwd=README.parent, capture_output=True,
                          text=True, timeout=60, env=os.environ | {"COLUMNS": "1000"})
    assert done.returncode == 0
    help_text = " ".join(done.stdout.split())
    assert help_text.startswith("usage: python -m local.cdn [-h] [--port PORT] ")
    assert "A local CloudFront in front of the derivatives bucket, with the origin-response function attached." in (
        help_text)
    assert all(cdn.header_flag(header) in help_text for header in cdn.CONFIG_HEADERS)


def test_by_default_the_cdn_is_on_8080_and_the_embedded_s3_on_any_free_port():
    args = cdn.parse_args([])
    assert (args.port, args.s3_port, args.region, args.originals_bucket, args.derivatives_bucket) == (
        8080, 0, REGION, ORIGINALS, DERIVATIVES)


@pytest.mark.parametrize("flag", ["--port", "--s3-port"])
@pytest.mark.parametrize("value", ["0", "65535"])
def test_a_port_from_0_to_65535_is_taken(flag, value):
    assert vars(cdn.parse_args([flag, value]))[flag[2:].replace("-", "_")] == int(value)


@pytest.mark.parametrize("flag", ["--port", "--s3-port"])
@pytest.mark.parametrize("value", ["65536", "70000", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error(capsys, flag, value):
    with pytest.raises(SystemExit) as exit_:
        cdn.parse_args([flag, value])
    assert exit_.value.code == 2
    assert f"argument {flag}: not a port (0 to 65535): {value}" in capsys.readouterr().err


def test_a_busy_port_is_a_one_line_error(client, endpoint_url):
    with socket.socket() as taken:
        taken.bind((s3.LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = cdn.parse_args(["--port", str(port), "--endpoint-url", endpoint_url, "--originals-bucket", ORIGINALS,
                               "--derivatives-bucket", DERIVATIVES])
        with pytest.raises(SystemExit) as exit_:
            cdn.serve(args, endpoint_url, embedded=False)
    assert str(exit_.value).startswith(f"error: cannot serve on {s3.LOOPBACK}:{port}: ")
    assert "--port" in str(exit_.value)


def test_a_busy_embedded_s3_port_is_a_one_line_error():
    """Not a hang: werkzeug, left to bind it, exits where it cannot, which in a server thread ends that thread
    alone (moto's ThreadedMotoServer then waited for it forever)."""
    exits = []

    def demo() -> None:
        with pytest.raises(SystemExit) as exit_:
            cdn.main(["--port", "0", "--s3-port", str(port)])
        exits.append(str(exit_.value))

    with socket.socket() as taken:
        taken.bind((s3.LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = threading.Thread(target=demo, daemon=True)
        running.start()
        running.join(timeout=30)
    assert exits == [f"error: cannot serve the embedded S3 on {s3.LOOPBACK}:{port}: Address already in use; "
                     "choose another port with --s3-port, or 0 for any free one"]
