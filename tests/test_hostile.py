"""Hostile input and faults (issue 6): nothing crashes, nothing leaks, nothing is lost.

Every row runs the handler end to end on moto S3 and asserts: the status;
that CloudFront would accept the response (tests/safety.py, which uses the local
emulator's validator); that an error body is short and public; what was stored
in the derivatives bucket (nothing, unless SPEC.md says the image is stored);
that the originals bucket is unchanged; and the miss's one JSON log line.
"""

import base64
import gzip
import io
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import boto3
from PIL import Image
import pytest
import urllib3
from botocore.awsrequest import AWSResponse
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

import bombs
from edge import budget, image, miss, storage
from edge.errors import Misconfigured, Unavailable, UnsafeWrite
from imaging import (
    DERIVATIVES, EVENTS, IMMUTABLE, LAMBDA_TIMEOUT_MS, ORIGINALS, Context, answering_with, body_bytes, body_image,
    encoded, gradient, header, noise_image, origin_response, png_with_corrupt_data, without_field,
)
from local import runtime
from safety import (  # noqa: F401 - fixtures
    assert_clean, hostile_event, invoked, log_records, moto_s3, s3,
)

SHORT = "public, max-age=60"
MISSING = "public, max-age=10"  # an original may be uploaded just after its page
NO_STORE = "no-store"
CAT = "photos/cat.jpg"


@dataclass
class Outcome:
    event: dict
    received: dict  # the origin response as the function got it (Invocation.origin_response)
    response: dict
    stored: dict
    logs: list[dict]
    cpu_seconds: float  # the process's, not the wall clock's: a loaded machine does not make it grow


@pytest.fixture(scope="module")
def cat_jpeg() -> bytes:
    return encoded(gradient((960, 720)), "JPEG", quality=85)


@pytest.fixture
def run(s3, stored, originals_snapshot, capsys):
    """Run the handler on an event; check that the originals did not change; collect what it did."""

    def run_(event: dict, context: Context | None = None) -> Outcome:
        before = originals_snapshot()
        capsys.readouterr()
        cpu_started = time.process_time()
        invocation = invoked(event, context)
        cpu_seconds = time.process_time() - cpu_started
        captured = capsys.readouterr()
        assert captured.err == ""  # everything goes into the one JSON line
        assert originals_snapshot() == before
        return Outcome(event, invocation.origin_response, invocation.response, stored(), log_records(captured.out),
                       cpu_seconds)

    return run_


def assert_row(outcome: Outcome, status: str, *, error: str | None = None, cache: str | None = None,
               stored: tuple[str, ...] = (), reflected: tuple[str, ...] = ()) -> dict | None:
    """The checks of every row; returns the miss's log record (None for a pass-through)."""
    response = outcome.response
    assert response["status"] == status, (response.get("body"), outcome.logs)
    assert_clean(response, outcome.received, *reflected)
    assert sorted(outcome.stored) == sorted(stored)
    if cache is not None:
        assert header(response, "cache-control") == cache
    if response is origin_response(outcome.event):
        assert outcome.logs == []  # not ours: not even a log line
        return None
    record, = outcome.logs
    assert record["status"] == int(status)
    assert record["uri"] == outcome.event["Records"][0]["cf"]["request"]["uri"]
    assert record.get("error") == error
    assert record["ms"] >= 0
    return record


# --- the checks themselves -----------------------------------------------------------------------------------


def test_a_pass_through_edited_in_place_fails_the_checks():
    """A function may return the origin response object itself: the checks compare it with a copy taken before."""

    def edits_via_in_place(event, _):
        edited = origin_response(event)
        edited["headers"]["via"] = [{"key": "Via", "value": "1.1 edited"}]
        return edited

    edited = runtime.invoke(edits_via_in_place, hostile_event("/about/index.html"))
    with pytest.raises(AssertionError):
        assert_clean(edited.response, edited.origin_response)
    untouched = runtime.invoke(lambda event, _: origin_response(event), hostile_event("/about/index.html"))
    assert_clean(untouched.response, untouched.origin_response)


# --- hostile URLs ---------------------------------------------------------------------------------------------

PASS = "pass"  # not ours: the origin's own 404, untouched

HOSTILE_URLS = [
    # traversal and confusion
    ("dotdot", "/640x/../photos/cat.jpg", "400", {}),
    ("dotdot-inside", "/640x/photos/../photos/cat.jpg", "400", {}),
    ("dotdot-encoded", "/640x/%2e%2e/photos/cat.jpg", "400", {}),
    ("dotdot-upper-encoded", "/640x/%2E%2E/photos/cat.jpg", "400", {}),
    ("dotdot-encoded-slashes", "/640x/%2E%2E%2Fphotos%2Fcat.jpg", "400", {}),
    ("dotdot-mixed", "/640x/..%2fphotos/cat.jpg", "400", {}),
    ("dot", "/640x/./photos/cat.jpg", "400", {}),
    ("dot-encoded", "/640x/photos/%2e/cat.jpg", "400", {}),
    ("dotdot-overlong-utf8", "/640x/%C0%AE%C0%AE/photos/cat.jpg", "400", {}),
    ("dotdot-as-spec", "/%2e%2e/640x/photos/cat.jpg", PASS, {}),
    ("double-slash-first", "//640x/photos/cat.jpg", PASS, {}),
    ("double-slash-after-spec", "/640x//photos/cat.jpg", "400", {}),
    ("double-slash-inside", "/640x/photos//cat.jpg", "400", {}),
    ("trailing-slash", "/640x/photos/cat.jpg/", "400", {}),
    ("encoded-slash-in-spec", "/640x%2Fphotos/cat.jpg", "200", {}),  # S3 decodes it the same way: same key
    ("backslash", "/640x/photos\\cat.jpg", "400", {}),
    ("backslash-encoded", "/640x/photos%5Ccat.jpg", "400", {}),
    ("backslash-traversal", "/640x/..%5C..%5Cphotos/cat.jpg", "400", {}),
    ("backslash-in-spec", "/640x%5Cphotos/cat.jpg", "400", {}),
    # control characters
    ("nul", "/640x/photos/cat.jpg%00.png", "400", {}),
    ("nul-raw", "/640x/photos/cat\x00.jpg", "400", {}),
    ("newline", "/640x/photos/cat%0A.jpg", "400", {}),
    ("carriage-return", "/640x/photos/cat%0D%0ASet-Cookie:%20x.jpg", "400", {}),
    ("tab", "/640x/photos/cat%09.jpg", "400", {}),
    ("unit-separator", "/640x/photos/cat%1F.jpg", "400", {}),
    ("delete", "/640x/photos/cat%7F.jpg", "400", {}),
    ("control-in-spec", "/640x%00/photos/cat.jpg", "400", {}),
    # invalid percent-escapes and UTF-8
    ("escape-not-hex", "/640x/photos/cat%ZZ.jpg", "400", {}),
    ("escape-cut-short", "/640x/photos/cat%4", "400", {}),
    ("lone-percent", "/640x/photos/100%.jpg", "400", {}),
    ("utf8-lead-byte-alone", "/640x/photos/caf%C3.jpg", "400", {}),
    ("utf8-bad-continuation", "/640x/photos/caf%C3%28.jpg", "400", {}),
    ("utf8-ff", "/640x/photos/%FF.jpg", "400", {}),
    ("utf8-surrogate", "/640x/photos/%ED%A0%80.jpg", "400", {}),
    # key length, empty key, nothing after the spec
    ("key-at-1024-bytes", "/640x/" + "k" * 1019, "404", {}),
    ("key-at-1025-bytes", "/640x/" + "k" * 1020, "400", {}),
    ("key-over-1024-in-utf8", "/640x/" + "%C3%A9" * 510, "400", {}),
    ("uri-of-8-kb", "/640x/" + "a/" * 4000 + "b", "400", {}),
    ("empty-key", "/640x/", "400", {}),
    ("spec-only", "/640x", "400", {}),
    ("spec-with-options-only", "/300x300,cover,webp", "400", {}),
    ("key-a-space", "/640x/%20", "404", {}),
    ("reflected-markup", "/640x/%3Cscript%3Ealert(1)%3C/script%3E.jpg", "404", {}),
    # spec abuse
    ("zero-by-zero", "/0x0/photos/cat.jpg", "400", {}),
    ("zero-width", "/0x100/photos/cat.jpg", "400", {}),
    ("zero-height", "/x0/photos/cat.jpg", "400", {}),
    ("plus-sign", "/+640x/photos/cat.jpg", PASS, {}),  # + is a space: the segment starts with one
    ("plus-sign-encoded", "/%2B640x/photos/cat.jpg", PASS, {}),
    ("minus-sign", "/-640x/photos/cat.jpg", PASS, {}),
    ("sign-inside", "/640x-480/photos/cat.jpg", "400", {}),
    ("plus-inside", "/640x+480/photos/cat.jpg", "400", {}),
    ("leading-zero-width", "/0640x/photos/cat.jpg", "400", {}),
    ("leading-zero-height", "/640x0480/photos/cat.jpg", "400", {}),
    ("leading-zero-quality", "/640x,q070/photos/cat.jpg", "400", {}),
    ("thirty-digit-width", "/123456789012345678901234567890x/photos/cat.jpg", "400", {}),
    ("thirty-digit-height", "/x123456789012345678901234567890/photos/cat.jpg", "400", {}),
    ("five-thousand-digits", "/" + "9" * 5000 + "x/photos/cat.jpg", "400", {}),  # past int()'s 4300-digit guard
    ("quality-thirty-digits", "/640x,q123456789012345678901234567890/photos/cat.jpg", "400", {}),
    ("duplicate-format", "/640x,webp,webp/photos/cat.jpg", "400", {}),
    ("conflicting-formats", "/640x,webp,png/photos/cat.jpg", "400", {}),
    ("conflicting-fits", "/640x480,cover,fill/photos/cat.jpg", "400", {}),
    ("two-qualities", "/640x,q50,q60/photos/cat.jpg", "400", {}),
    ("unknown-option", "/640x,blur/photos/cat.jpg", "400", {}),
    ("jpg-is-not-a-format", "/640x,jpg/photos/cat.jpg", "400", {}),
    ("empty-option", "/640x,,webp/photos/cat.jpg", "400", {}),
    ("upper-case-x", "/640X/photos/cat.jpg", "400", {}),
    ("upper-case-format", "/640x,WEBP/photos/cat.jpg", "400", {}),
    ("upper-case-leading-x", "/X640/photos/cat.jpg", PASS, {}),
    ("space-after-dims", "/640x%20/photos/cat.jpg", "400", {}),
    ("space-before-dims", "/%20640x/photos/cat.jpg", PASS, {}),
    ("space-before-option", "/640x,%20webp/photos/cat.jpg", "400", {}),
    ("raw-space-in-spec", "/640 x/photos/cat.jpg", "400", {}),
    ("cover-without-height", "/640x,cover/photos/cat.jpg", "400", {}),
    # x-allowed-sizes and x-max-dimension
    ("size-not-allowed", "/641x/photos/cat.jpg", "400", {"x_allowed_sizes": "320x, 640x"}),
    ("allowed-is-exact", "/640x480/photos/cat.jpg", "400", {"x_allowed_sizes": "640x"}),
    ("allowed-size", "/640x/photos/cat.jpg", "200", {"x_allowed_sizes": "320x, 640x"}),
    ("over-default-maximum", "/4097x/photos/cat.jpg", "400", {}),
    ("height-over-default-maximum", "/x4097/photos/cat.jpg", "400", {}),
    ("over-configured-maximum", "/2001x/photos/cat.jpg", "400", {"x_max_dimension": "2000"}),
    ("allowed-but-over-maximum", "/5000x/photos/cat.jpg", "400", {"x_allowed_sizes": "5000x"}),
    ("five-digits", "/99999x/photos/cat.jpg", "400", {}),
]


@pytest.mark.parametrize(("uri", "expected", "config"), [row[1:] for row in HOSTILE_URLS],
                         ids=[row[0] for row in HOSTILE_URLS])
@pytest.mark.parametrize("status", ["404", "403"])
def test_hostile_url(run, put_original, cat_jpeg, uri, expected, config, status):
    put_original(CAT, cat_jpeg)
    outcome = run(hostile_event(uri, status=status, **config))
    reflected = ("<script", "alert(1)", "cat.jpg", "photos")
    if expected == PASS:
        assert outcome.response is origin_response(outcome.event)
        assert_row(outcome, status)
    elif expected == "400":
        record = assert_row(outcome, "400", error="bad_request", cache=SHORT, reflected=reflected)
        assert record["detail"]  # the reason is logged, even though the body does not say it
    elif expected == "404":
        assert_row(outcome, "404", error="original_not_found", cache=MISSING, reflected=reflected)
    else:
        key = outcome.logs[0]["derivative_key"] if outcome.logs else None
        assert_row(outcome, "200", cache=IMMUTABLE, stored=(key,))
        assert key.startswith("640x/")


def test_every_row_is_named_once():
    names = [row[0] for row in HOSTILE_URLS]
    assert len(names) == len(set(names))


def test_a_hostile_head_is_answered_like_its_get(run):
    for uri in ("/640x/../photos/cat.jpg", "/0x0/photos/cat.jpg"):
        head, get = run(hostile_event(uri, method="HEAD")), run(hostile_event(uri))
        assert_row(head, "400", error="bad_request", cache=SHORT)
        without_body = {name: value for name, value in get.response.items() if name not in ("body", "bodyEncoding")}
        assert head.response == without_body


# --- hostile originals ----------------------------------------------------------------------------------------


def png_bytes(size=(96, 64), mode="RGB") -> bytes:
    return encoded(gradient(size, mode), "PNG")


NOT_IMAGES = [
    ("text", b"plain text, not an image"),
    ("html", b"<!doctype html><html><script>alert(1)</script></html>"),
    ("zero-bytes", b""),
    ("one-byte", b"\xff"),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'),
    ("svg-with-xml-prolog", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
    ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF"),
    ("jpeg-signature-only", b"\xff\xd8\xff\xe0" + b"\0" * 100),
    ("png-signature-only", bombs.PNG_SIGNATURE),
    ("gif-signature-only", b"GIF89a"),
    ("gif-without-a-frame", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    ("truncated-jpeg", encoded(gradient((300, 200)), "JPEG")[:1500]),
    ("truncated-png", png_bytes((300, 200))[:400]),
    ("truncated-gif", encoded(gradient((300, 200)), "GIF")[:300]),
    ("truncated-webp", encoded(gradient((300, 200)), "WEBP")[:200]),
    ("png-with-corrupt-data", png_with_corrupt_data()),
    # libjpeg fills what a scan ended before with grey, without an error: edge/jpeg.py counts the data instead.
    ("jpeg-declaring-7000x7000-in-its-8x8-data", bombs.jpeg_declaring(7000, 7000)),
    ("jpeg-scan-ended-early", bombs.jpeg_scan_cut_short((2000, 1500), 1000)),
    ("mpo-first-scan-ended-early", bombs.jpeg_scan_cut_short((2000, 1500), 1000, "MPO")),
    # Pillow takes a zlib stream that ends before the rows as the whole image, black below: edge/png.py refuses it.
    ("png-declaring-5000x5000-ending-after-a-row", bombs.png_ending_after_one_row(5000, 5000)),
    ("png-the-same-behind-an-ihdr-of-1x1", bombs.png_ending_after_one_row(5000, 5000, first_declared=(1, 1))),
    ("gif-of-1-byte-sub-blocks", bombs.gif_tiny_sub_blocks(2)),
    ("gif-hiding-a-1000x1000-frame-from-the-walk", bombs.gif_hiding_a_frame((1000, 1000))),
]


@pytest.mark.parametrize("body", [row[1] for row in NOT_IMAGES], ids=[row[0] for row in NOT_IMAGES])
@pytest.mark.parametrize("key", ["photos/cat.jpg", "photos/cat.svg"])
def test_not_an_image_we_decode_is_415(run, put_original, body, key):
    put_original(key, body)
    outcome = run(hostile_event(f"/640x/{key}"))
    record = assert_row(outcome, "415", error="unsupported_media", cache=SHORT, reflected=("<script", "svg"))
    assert record["bytes_in"] == len(body)
    assert outcome.cpu_seconds < 1, f"{outcome.cpu_seconds:.3f} s"


@pytest.mark.parametrize(
    ("body", "key", "content_type", "image_format"),
    [
        (png_bytes(), "photos/cat.jpg", "image/png", "PNG"),
        (encoded(gradient((96, 64)), "JPEG"), "photos/cat.png", "image/jpeg", "JPEG"),
        (encoded(gradient((96, 64)), "GIF"), "photos/cat.webp", "image/gif", "GIF"),
        (encoded(gradient((96, 64)), "WEBP"), "photos/cat", "image/webp", "WEBP"),
    ],
    ids=["png-as-jpg", "jpeg-as-png", "gif-as-webp", "webp-without-extension"],
)
def test_a_wrong_extension_is_not_an_error(run, put_original, body, key, content_type, image_format):
    """The content decides, never the name: the answer is typed by what it is (docs/SECURITY.md)."""
    put_original(key, body)
    outcome = run(hostile_event(f"/48x/{key}"))
    assert_row(outcome, "200", cache=IMMUTABLE, stored=(f"48x/{key}",))
    assert header(outcome.response, "content-type") == content_type
    image_out = body_image(outcome.response)
    assert (image_out.format, image_out.size) == (image_format, (48, 32))
    assert outcome.stored[f"48x/{key}"][:2] == (body_bytes(outcome.response), content_type)


# Decompression bombs: every one is a few bytes to a few kilobytes, and rejected from its header.
BOMBS = [
    ("png-declares-100000x100000", lambda: bombs.png_declaring(100_000, 100_000), {}),
    ("png-declares-2^31-1-square", lambda: bombs.png_declaring(2**31 - 1, 2**31 - 1), {}),
    ("jpeg-declares-65500x65500", lambda: bombs.jpeg_declaring(65_500, 65_500), {}),
    ("webp-declares-16384x16384", lambda: bombs.webp_declaring(16_384, 16_384), {}),
    ("bmp-declares-100000x100000", lambda: bombs.bmp_declaring(100_000, 100_000), {}),
    ("gif-of-5000-frames", lambda: bombs.gif_with_frames(5000), {}),
    ("gif-of-100000-frames", lambda: bombs.gif_with_frames(100_000), {}),
    ("gif-frame-grows-canvas", lambda: bombs.gif_growing((10, 10), (20_000, 20_000)), {}),
    ("gif-first-frame-grows-canvas", lambda: bombs.gif_first_frame_growing((20_000, 20_000)), {}),
    ("gif-animation-over-total", lambda: bombs.gif_with_frames(20, (2000, 2000)), {}),
    ("gif-wide-animation-over-total", lambda: bombs.gif_with_frames(20, (4000, 1000)), {}),  # width x height, not
    ("gif-tall-animation-over-total", lambda: bombs.gif_with_frames(20, (1000, 4000)), {}),  # either side squared
    ("gif-two-frames-over-total", lambda: bombs.gif_with_frames(2, (6000, 6000)), {}),
    ("apng-of-20000-frames", lambda: bombs.apng_with_frames(20_000), {}),
    ("webp-of-400-frames", lambda: bombs.webp_with_frames(400), {}),
    ("over-configured-pixels", lambda: png_bytes((40, 40)), {"x_max_source_pixels": "1599"}),
    ("over-configured-frames", lambda: bombs.gif_with_frames(3), {"x_max_frames": "2"}),
    ("over-configured-bytes", lambda: png_bytes((40, 40)), {"x_max_source_bytes": "100"}),
]


@pytest.mark.parametrize(("make", "config"), [row[1:] for row in BOMBS], ids=[row[0] for row in BOMBS])
def test_a_decompression_bomb_is_413_from_its_header(run, put_original, make, config):
    body = make()
    assert len(body) < 3_000_000
    put_original("bomb.png", body)
    outcome = run(hostile_event("/640x/bomb.png", **config))
    record = assert_row(outcome, "413", error="source_too_large", cache=SHORT)
    assert outcome.cpu_seconds < 1, f"{outcome.cpu_seconds:.3f} s"  # generous; see test_bomb_rejection_is_fast_and_flat
    assert "over" in record["detail"]


def test_the_limits_admit_what_they_name(run, put_original):
    """Each limit is inclusive: exactly at it is rendered."""
    put_original("at.png", png_bytes((40, 40)))
    frames = [gradient((4, 4)).rotate(angle) for angle in (0, 90, 180)]
    animation = io.BytesIO()
    frames[0].save(animation, "GIF", save_all=True, append_images=frames[1:], duration=80)
    put_original("at.gif", animation.getvalue())
    pixels = run(hostile_event("/20x/at.png", x_max_source_pixels="1600",
                               x_max_source_bytes=str(len(png_bytes((40, 40))))))
    assert_row(pixels, "200", cache=IMMUTABLE, stored=("20x/at.png",))
    frames = run(hostile_event("/4x/at.gif", x_max_frames="3", x_max_source_pixels="48"))  # 3 frames x 16 px
    assert frames.response["status"] == "200", frames.logs


@pytest.mark.parametrize("spec", ["640x", "640x,avif"])
def test_a_tiff_with_many_pages_is_not_walked(run, put_original, spec):
    """Only its first page is rendered, so its pages are not counted: Pillow's count walks every IFD (17 s for 50k).
    Nor are they walked by Pillow's AVIF writer, which walks the frames of the image it is given: the source
    itself where no step changed it (5.7 s, by hand)."""
    put_original("pages.tif", bombs.tiff_with_pages(20_000))
    outcome = run(hostile_event(f"/{spec}/pages.tif"))
    assert outcome.response["status"] == "200", outcome.logs
    assert outcome.cpu_seconds < 1, f"{outcome.cpu_seconds:.3f} s"


BOMB_PROBE = r"""
import json, resource, sys, time
sys.path[:0] = [".", "tests"]
import bombs
from edge import image
from edge.config import DEFAULT_MAX_FRAMES, DEFAULT_MAX_SOURCE_PIXELS
from edge.errors import SourceTooLarge
from edge.rendition import parse_rendition
from imaging import encoded, gradient

limits = image.Limits(DEFAULT_MAX_SOURCE_PIXELS, DEFAULT_MAX_FRAMES)
rendition = parse_rendition("/640x/bomb")
image.render(encoded(gradient((1200, 900)), "JPEG"), rendition, limits)  # warm up: imports, codecs, arenas
made = {
    "png 100000x100000": bombs.png_declaring(100_000, 100_000),
    "jpeg 65500x65500": bombs.jpeg_declaring(65_500, 65_500),
    "webp 16384x16384": bombs.webp_declaring(16_384, 16_384),
    "bmp 100000x100000": bombs.bmp_declaring(100_000, 100_000),
    "gif 5000 frames": bombs.gif_with_frames(5000),
    "gif 100000 frames": bombs.gif_with_frames(100_000),
    "gif grows to 20000x20000": bombs.gif_growing((10, 10), (20_000, 20_000)),
    "gif's first frame grows to 20000x20000": bombs.gif_first_frame_growing((20_000, 20_000)),
    "gif 20 frames of 2000x2000": bombs.gif_with_frames(20, (2000, 2000)),
    "apng 20000 frames": bombs.apng_with_frames(20_000),
    "webp 400 frames": bombs.webp_with_frames(400),
}
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
results = {}
for name, data in made.items():
    best = None
    for _ in range(5):
        started = time.process_time()  # CPU time, which a loaded machine does not stretch
        try:
            image.render(data, rendition, limits)
            outcome = "rendered"
        except SourceTooLarge:
            outcome = "413"
        elapsed = (time.process_time() - started) * 1000
        best = elapsed if best is None else min(best, elapsed)
    results[name] = {"bytes": len(data), "outcome": outcome, "best_cpu_ms": round(best, 3)}
print(json.dumps({"rss_growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline, "bombs": results}))
"""


def test_bomb_rejection_is_fast_and_flat():
    """In a fresh process, after one normal render: each bomb is a 413 in well under a second, and the peak RSS
    does not grow (before the GIF scan, the 85-byte growing GIF alone took 381 MB)."""
    result = subprocess.run([sys.executable, "-c", BOMB_PROBE], capture_output=True, text=True, check=True,
                            cwd=EVENTS.parent)
    report = json.loads(result.stdout)
    for name, row in report["bombs"].items():
        assert row["outcome"] == "413", name
        assert row["best_cpu_ms"] < 1000, (name, row)
    assert report["rss_growth_kb"] < 20 * 1024, report


SHORT_BODY_PROBE = r"""
import json, resource, sys
sys.path[:0] = [".", "tests"]
import bombs
from edge import image
from edge.errors import UnsupportedMedia
from edge.rendition import parse_rendition
from imaging import encoded, gradient

limits = image.Limits(50_000_000, 1)
image.render(encoded(gradient((1200, 900)), "WEBP"), parse_rendition("/640x/k"), limits)  # warm up
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    image.render(bombs.lossy_webp_declaring(7000, 7000), parse_rendition(sys.argv[1]), limits)
    outcome = "rendered"
except UnsupportedMedia:
    outcome = "415"
print(json.dumps({"outcome": outcome, "rss_growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline}))
"""


@pytest.mark.parametrize("spec", ["/7000x/k", "/3000x/k"], ids=["full-size", "scaled-to-6000"])
def test_a_webp_declaring_more_than_its_body_holds_costs_no_memory_of_that_size(spec):
    """49 MP declared in 200 bytes: 147 MB at full size. libwebp stops in the first rows, and the
    buffer it was given is only touched where it wrote (a bytearray would be zeroed first)."""
    result = subprocess.run([sys.executable, "-c", SHORT_BODY_PROBE, spec], capture_output=True, text=True,
                            check=True, cwd=EVENTS.parent)
    report = json.loads(result.stdout)
    assert report["outcome"] == "415"
    assert report["rss_growth_kb"] < 20 * 1024, report


@pytest.fixture
def original_bodies(monkeypatch) -> list:
    """The body of every original the function gets from S3, to see how much of it was read."""
    bodies = []
    answering_with(monkeypatch, "get_object", lambda answer: bodies.append(answer["Body"]) or answer)
    return bodies


def test_an_original_over_the_byte_limit_is_not_downloaded(run, put_original, original_bodies):
    put_original("big.png", png_bytes((400, 300)))
    outcome = run(hostile_event("/640x/big.png", x_max_source_bytes="1000"))
    record = assert_row(outcome, "413", error="source_too_large", cache=SHORT)
    body, = original_bodies
    assert body._amount_read == 0  # not a byte of the body was read
    assert "bytes_in" not in record and "over 1000" in record["detail"]


@pytest.mark.parametrize(
    ("image_format", "options", "read_whole"),
    [("JPEG", {}, False), ("PNG", {}, False), ("GIF", {}, False), ("WEBP", {}, False), ("BMP", {}, False),
     ("TIFF", {}, True), ("TIFF", {"compression": "tiff_lzw"}, True), ("AVIF", {"speed": 10}, True)],
    ids=["jpeg", "png", "gif", "webp", "bmp", "tiff", "tiff-lzw", "avif"],
)
def test_an_original_over_the_pixel_limit_is_refused_from_its_first_piece(run, put_original, original_bodies,
                                                                         image_format, options, read_whole):
    """CloudFront never caches a 413: each request for such an original comes back to the function,
    and pays for its header, not for its whole body; only a TIFF or an AVIF is read whole to tell."""
    noise = Image.merge("RGB", [Image.effect_noise((700, 700), 64 + 32 * band) for band in range(3)])
    data = encoded(noise, image_format, **options)
    assert len(data) > 4 * storage.READ_PIECE
    put_original("big.img", data)
    outcome = run(hostile_event("/640x/big.img", x_max_source_pixels="489999"))
    record = assert_row(outcome, "413", error="source_too_large", cache=SHORT)
    body, = original_bodies
    assert body._amount_read == (len(data) if read_whole else storage.READ_PIECE)
    # An AVIF's AV1 frames are held to the limit before Pillow opens it, by the size their bitstream gives.
    coded = "AVIF frame coded at up to 700x700, over" if image_format == "AVIF" else "700x700 is over"
    assert record["detail"] == f"{coded} 489999 pixels"
    assert ("bytes_in" in record) is read_whole


def test_the_byte_limit_is_checked_before_reading_even_for_a_huge_object(run, monkeypatch):
    """A 5 GB object: only its Content-Length is looked at, and the stream is closed unread."""

    class Unreadable:
        closed = False

        def read(self, *args):
            raise AssertionError("the body of an object over the limit was read")

        def close(self):
            self.closed = True

    body = Unreadable()
    monkeypatch.setattr(storage.s3_client("us-east-1"), "get_object",
                        lambda **kwargs: {"ContentLength": 5 * 1024**3, "Body": body})
    outcome = run(hostile_event("/640x/huge.jpg"))
    assert_row(outcome, "413", error="source_too_large", cache=SHORT)
    assert body.closed


# --- faults ---------------------------------------------------------------------------------------------------


def client_error(code: str, http_status: int, operation: str):
    def fail(**kwargs):
        raise ClientError({"Error": {"Code": code, "Message": f"{code} message from AWS, bucket {ORIGINALS}"},
                           "ResponseMetadata": {"HTTPStatusCode": http_status, "RequestId": "EXAMPLEREQUESTID"}},
                          operation)

    return fail


def raising(exception: Exception):
    def fail(**kwargs):
        raise exception

    return fail


def body_failing_with(exception: Exception):
    """A GetObject whose body breaks off with what urllib3 raises, read through botocore's StreamingBody."""

    class Broken:
        def read(self, *args):
            raise exception

        def close(self):
            pass

    return lambda **kwargs: {"ContentLength": 1000, "Body": StreamingBody(Broken(), 1000)}


ENDPOINT = f"https://{ORIGINALS}.s3.us-east-1.amazonaws.com"
GET_FAULTS = [
    ("slow-down", client_error("SlowDown", 503, "GetObject"), "503", "unavailable"),
    ("internal-error", client_error("InternalError", 500, "GetObject"), "503", "unavailable"),
    ("service-unavailable", client_error("ServiceUnavailable", 503, "GetObject"), "503", "unavailable"),
    ("bare-500", client_error("500", 500, "GetObject"), "503", "unavailable"),
    ("request-timeout", client_error("RequestTimeout", 400, "GetObject"), "503", "unavailable"),
    ("read-timeout", raising(ReadTimeoutError(endpoint_url=ENDPOINT)), "503", "unavailable"),
    ("connect-timeout", raising(ConnectTimeoutError(endpoint_url=ENDPOINT)), "503", "unavailable"),
    ("no-connection", raising(EndpointConnectionError(endpoint_url=ENDPOINT)), "503", "unavailable"),
    ("body-cut-off", body_failing_with(urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")),
     "503", "unavailable"),
    ("body-tls-error", body_failing_with(urllib3.exceptions.SSLError("DECRYPTION_FAILED_OR_BAD_RECORD_MAC")),
     "503", "unavailable"),
    ("access-denied", client_error("AccessDenied", 403, "GetObject"), "500", "misconfigured"),
    ("bare-403", client_error("403", 403, "GetObject"), "500", "misconfigured"),
    ("all-access-disabled", client_error("AllAccessDisabled", 403, "GetObject"), "500", "misconfigured"),
    ("invalid-access-key", client_error("InvalidAccessKeyId", 403, "GetObject"), "500", "misconfigured"),
    ("signature-mismatch", client_error("SignatureDoesNotMatch", 403, "GetObject"), "500", "misconfigured"),
    ("no-such-bucket", client_error("NoSuchBucket", 404, "GetObject"), "500", "misconfigured"),
    # x-originals-bucket "ab": botocore sends it, S3 refuses the name.
    ("invalid-bucket-name", client_error("InvalidBucketName", 400, "GetObject"), "500", "misconfigured"),
    ("wrong-region", client_error("PermanentRedirect", 301, "GetObject"), "500", "misconfigured"),
    ("wrong-region-bare-301", client_error("301", 301, "GetObject"), "500", "misconfigured"),
    ("wrong-region-constraint", client_error("IllegalLocationConstraintException", 400, "GetObject"),
     "500", "misconfigured"),
    ("wrong-region-signature", client_error("AuthorizationHeaderMalformed", 400, "GetObject"), "500", "misconfigured"),
    ("archived", client_error("InvalidObjectState", 403, "GetObject"), "500", "misconfigured"),
    ("customer-key-encrypted", client_error("InvalidRequest", 400, "GetObject"), "500", "misconfigured"),
    ("no-such-key", client_error("NoSuchKey", 404, "GetObject"), "404", "original_not_found"),
    ("bare-404", client_error("404", 404, "GetObject"), "404", "original_not_found"),
    ("not-found", client_error("NotFound", 404, "GetObject"), "404", "original_not_found"),
]


@pytest.mark.parametrize(("failure", "status", "error"), [row[1:] for row in GET_FAULTS],
                         ids=[row[0] for row in GET_FAULTS])
def test_a_failed_read_of_the_original(run, put_original, cat_jpeg, monkeypatch, failure, status, error):
    put_original(CAT, cat_jpeg)
    monkeypatch.setattr(storage.s3_client("us-east-1"), "get_object", failure)
    outcome = run(hostile_event(f"/640x/{CAT}"))
    cache = MISSING if status == "404" else NO_STORE
    record = assert_row(outcome, status, error=error, cache=cache, reflected=("EXAMPLEREQUESTID", "message from AWS"))
    assert record["detail"]  # what AWS said is in the log


@pytest.mark.parametrize(("encoding", "status"), [
    ("gzip", "415"), ("br", "415"), ("identity", "200"), ("gzip, identity", "415"), ("identity, aws-chunked", "200"),
])
def test_an_original_stored_compressed_is_refused_before_its_body_is_read(run, s3, cat_jpeg, encoding, status):
    """S3 sends such bytes as stored, for a browser to decompress; the log says why they are no image."""
    body = gzip.compress(cat_jpeg) if encoding == "gzip" else cat_jpeg
    s3.put_object(Bucket=ORIGINALS, Key=CAT, Body=body, ContentEncoding=encoding)
    outcome = run(hostile_event(f"/640x/{CAT}"))
    if status == "200":
        assert_row(outcome, "200", cache=IMMUTABLE, stored=(f"640x/{CAT}",))
        return
    record = assert_row(outcome, "415", error="unsupported_media", cache=SHORT)
    assert record["detail"] == f"original stored with Content-Encoding {encoding!r}" and "bytes_in" not in record


@pytest.mark.parametrize("encoding", ["aws-chunked", "AWS-CHUNKED", " Identity ", "identity,aws-chunked", ","])
def test_an_original_whose_encoding_is_only_how_it_was_sent_is_rendered(run, put_original, cat_jpeg, monkeypatch,
                                                                        encoding):
    """aws-chunked is the upload's framing, identity no encoding at all: the bytes are the image."""
    put_original(CAT, cat_jpeg)
    answering_with(monkeypatch, "get_object", lambda answer: {**answer, "ContentEncoding": encoding})
    assert_row(run(hostile_event(f"/640x/{CAT}")), "200", cache=IMMUTABLE, stored=(f"640x/{CAT}",))


@pytest.mark.parametrize(("original", "status"), [("cat", "200"), ("empty", "415")])
def test_an_original_answered_without_a_length_is_read_whole(run, put_original, cat_jpeg, monkeypatch,
                                                            original, status):
    put_original(CAT, cat_jpeg if original == "cat" else b"")
    answering_with(monkeypatch, "get_object", without_field("ContentLength"))
    outcome = run(hostile_event(f"/640x/{CAT}"))
    if status == "200":
        assert_row(outcome, "200", cache=IMMUTABLE, stored=(f"640x/{CAT}",))
    else:
        assert_row(outcome, "415", error="unsupported_media", cache=SHORT)


PUT_FAULTS = [
    ("slow-down", client_error("SlowDown", 503, "PutObject"), "unavailable"),
    ("internal-error", client_error("InternalError", 500, "PutObject"), "unavailable"),
    ("access-denied", client_error("AccessDenied", 403, "PutObject"), "misconfigured"),
    ("read-timeout", raising(ReadTimeoutError(endpoint_url=ENDPOINT)), "unavailable"),
    ("no-connection", raising(EndpointConnectionError(endpoint_url=ENDPOINT)), "unavailable"),
]


@pytest.mark.parametrize(("failure", "error"), [row[1:] for row in PUT_FAULTS], ids=[row[0] for row in PUT_FAULTS])
def test_a_failed_store_still_serves_the_image_uncached(run, put_original, cat_jpeg, monkeypatch, failure, error):
    put_original(CAT, cat_jpeg)
    monkeypatch.setattr(storage.s3_client("us-east-1"), "put_object", failure)
    outcome = run(hostile_event(f"/640x/{CAT}"))
    record = assert_row(outcome, "200", error=error, cache=NO_STORE)
    assert body_image(outcome.response).size == (640, 480)
    assert record["stored"] is False and record["bytes_out"] == len(body_bytes(outcome.response))


def test_an_object_already_stored_is_not_rewritten(run, put_original, cat_jpeg, s3):
    """A second miss for a key that is already there (a race) gets 412 from the conditional PUT: success."""
    put_original(CAT, cat_jpeg)
    s3.put_object(Bucket=DERIVATIVES, Key=f"640x/{CAT}", Body=b"the first writer's bytes", ContentType="image/jpeg")
    outcome = run(hostile_event(f"/640x/{CAT}"))
    record = assert_row(outcome, "200", cache=IMMUTABLE, stored=(f"640x/{CAT}",))
    assert outcome.stored[f"640x/{CAT}"][0] == b"the first writer's bytes"
    assert record["stored"] is True


@pytest.mark.parametrize("code", ["PreconditionFailed", "412"])
@pytest.mark.parametrize("size", ["640x", "1200x"])
def test_every_answer_meaning_already_stored_counts_as_stored(run, put_original, cat_jpeg, monkeypatch, code, size):
    """412: the object is there, so the answer is cacheable, or the 307 to it."""
    put_original(CAT, cat_jpeg if size == "640x" else encoded(noise_image((1200, 1200)), "PNG"))
    monkeypatch.setattr(storage.s3_client("us-east-1"), "put_object", client_error(code, 412, "PutObject"))
    outcome = run(hostile_event(f"/{size}/{CAT}"))
    record = assert_row(outcome, "200" if size == "640x" else "307", cache=IMMUTABLE if size == "640x" else NO_STORE)
    assert record["stored"] is True


CONFLICT = ("ConditionalRequestConflict", 409)
PRECONDITION_FAILED = ("PreconditionFailed", 412)


def putting_in_turn(monkeypatch, *answers, then=lambda: None) -> list[dict]:
    """Make S3 answer each PutObject with the next of answers: a (code, HTTP status) error, or None for the real
    PUT to moto; then() runs after each. Returns the PUTs the function sent."""
    client = storage.s3_client("us-east-1")
    real_put, sent, pending = client.put_object, [], list(answers)

    def put_object(**kwargs):
        sent.append(kwargs)
        answer = pending.pop(0)
        then()
        return real_put(**kwargs) if answer is None else client_error(*answer, "PutObject")()

    monkeypatch.setattr(client, "put_object", put_object)
    return sent


@pytest.mark.parametrize(("second", "cache", "kept", "error"), [
    (None, IMMUTABLE, (f"640x/{CAT}",), None),
    (PRECONDITION_FAILED, IMMUTABLE, (), None),
    (CONFLICT, NO_STORE, (), "unavailable"),
], ids=["stored", "stored-meanwhile", "conflict-again"])
def test_a_conflict_says_nothing_is_stored_and_the_put_is_sent_once_more(
        run, put_original, cat_jpeg, monkeypatch, second, cache, kept, error):
    """409 ConditionalRequestConflict: an operation on the key (a delete, say) was under way. Unlike a 412, it
    does not say that an object is there, and AWS asks for the PUT again: sent once more, never a third time."""
    put_original(CAT, cat_jpeg)
    sent = putting_in_turn(monkeypatch, CONFLICT, second)
    outcome = run(hostile_event(f"/640x/{CAT}"))
    record = assert_row(outcome, "200", error=error, cache=cache, stored=kept)
    assert len(sent) == 2 and sent[0] == sent[1]
    assert record["stored"] is (error is None)
    if error:
        assert record["detail"] == "PutObject failed: ConditionalRequestConflict"


@pytest.mark.parametrize("size", ["640x", "1200x"])
def test_a_conflict_with_too_little_time_left_is_not_put_again(run, put_original, cat_jpeg, monkeypatch, size):
    """The second PUT is an S3 call like the first: it starts only with the time for its worst case left.
    Unstored, the image still goes out no-store, or a 503 when too large to inline."""
    put_original(CAT, cat_jpeg if size == "640x" else encoded(noise_image((1200, 1200)), "PNG"))
    context = Context()
    sent = putting_in_turn(monkeypatch, CONFLICT, None, then=lambda: setattr(context, "remaining",
                                                                             miss.MIN_MS_TO_STORE - 1))
    outcome = run(hostile_event(f"/{size}/{CAT}"), context)
    record = assert_row(outcome, "200" if size == "640x" else "503", error="unavailable", cache=NO_STORE)
    assert len(sent) == 1 and record["stored"] is False
    not_sent_again = "PutObject failed: ConditionalRequestConflict, with too little time left to send it again"
    assert not_sent_again in record["detail"]


@pytest.mark.parametrize("code", ["ConditionalRequestConflict", "409"])  # "409": a conflict whose body is lost
@pytest.mark.parametrize(("remaining", "put_again"), [(miss.MIN_MS_TO_STORE, True), (miss.MIN_MS_TO_STORE - 1, False)])
def test_a_conflict_is_put_again_with_exactly_the_time_a_store_needs(
        run, put_original, cat_jpeg, monkeypatch, code, remaining, put_again):
    put_original(CAT, cat_jpeg)
    context = Context()
    sent = putting_in_turn(monkeypatch, (code, 409), None, then=lambda: setattr(context, "remaining", remaining))
    outcome = run(hostile_event(f"/640x/{CAT}"), context)
    record = assert_row(outcome, "200", error=None if put_again else "unavailable",
                        cache=IMMUTABLE if put_again else NO_STORE, stored=(f"640x/{CAT}",) if put_again else ())
    assert len(sent) == 1 + put_again and record["stored"] is put_again


def test_concurrent_misses_store_identical_bytes_once(put_original, cat_jpeg, s3, monkeypatch):
    put_original(CAT, cat_jpeg)
    client = storage.s3_client("us-east-1")
    real_put, answers, barrier = client.put_object, [], threading.Barrier(2)
    # S3 checks If-None-Match and stores as one step; moto checks, then stores, and a thread switch between the
    # two let both PUTs through (about one run in 150 under load): the PUTs reach moto one at a time, as at S3.
    s3_applies_one_put_at_a_time = threading.Lock()

    def put_object(**kwargs):
        barrier.wait(timeout=10)  # both renders are done before either stores
        try:
            with s3_applies_one_put_at_a_time:
                stored = real_put(**kwargs)
        except ClientError as error:
            answers.append(error.response["Error"]["Code"])
            raise
        answers.append(stored["ResponseMetadata"]["HTTPStatusCode"])
        return stored

    monkeypatch.setattr(client, "put_object", put_object)
    invocations = [None, None]

    def one(index):
        invocations[index] = invoked(hostile_event(f"/300x300,cover,webp/{CAT}"))

    threads = [threading.Thread(target=one, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(str, answers)) == ["200", "PreconditionFailed"]
    bodies = {body_bytes(invocation.response) for invocation in invocations}
    assert len(bodies) == 1
    for invocation in invocations:
        response = invocation.response
        assert response["status"] == "200" and header(response, "cache-control") == IMMUTABLE
        assert_clean(response, invocation.origin_response)
    stored = s3.get_object(Bucket=DERIVATIVES, Key=f"300x300,cover,webp/{CAT}")["Body"].read()
    assert {stored} == bodies


@pytest.mark.parametrize("spec", ["640x", "300x300,cover,webp", "200x200,fill,png", "320x,avif", "160x,gif",
                                  "64x,webp", "64x,gif", "64x,png"])
def test_a_render_is_deterministic(cat_jpeg, spec):
    """Concurrent misses must store the same bytes, whoever wins: the same input renders to the same output."""
    from edge.rendition import parse_rendition

    frames = [gradient((128, 96)).rotate(angle) for angle in (0, 90, 180)]
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    source = animated.getvalue() if spec.startswith("64x") else cat_jpeg
    limits = image.Limits(50_000_000, 300)
    first, second = (image.render(source, parse_rendition(f"/{spec}/k"), limits).body for _ in range(2))
    assert first == second


def test_the_exact_put_sent_and_a_412_is_success(s3, cat_jpeg, capsys):
    """With botocore's Stubber: the exact PUT the function asks botocore for (its condition is a header,
    checked on the wire below), and what it makes of PreconditionFailed."""
    client = storage.s3_client("us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(cat_jpeg), len(cat_jpeg)), "ContentLength": len(cat_jpeg)},
            {"Bucket": ORIGINALS, "Key": CAT, "ChecksumMode": "ENABLED"},
        )
        stubber.add_client_error(
            "put_object", service_error_code="PreconditionFailed", http_status_code=412,
            expected_params={"Bucket": DERIVATIVES, "Key": f"640x/{CAT}", "Body": ANY, "ContentType": "image/jpeg",
                             "CacheControl": IMMUTABLE},
        )
        invocation = invoked(hostile_event(f"/640x/{CAT}"))
        stubber.assert_no_pending_responses()
    response = invocation.response
    assert response["status"] == "200" and header(response, "cache-control") == IMMUTABLE
    assert_clean(response, invocation.origin_response)
    record, = log_records(capsys.readouterr().out)
    assert record["stored"] is True and "error" not in record


def test_time_too_short_to_read_is_503_and_touches_nothing(run, put_original, cat_jpeg, monkeypatch):
    put_original(CAT, cat_jpeg)
    calls = []
    monkeypatch.setattr(storage.s3_client("us-east-1"), "get_object", lambda **kwargs: calls.append(kwargs))
    outcome = run(hostile_event(f"/640x/{CAT}"), Context(miss.MIN_MS_TO_READ - 1))
    record = assert_row(outcome, "503", error="unavailable", cache=NO_STORE)
    assert calls == [] and "ms left" in record["detail"]


def test_time_too_short_to_store_serves_the_image_uncached(run, put_original, cat_jpeg, monkeypatch):
    put_original(CAT, cat_jpeg)
    calls = []
    monkeypatch.setattr(storage.s3_client("us-east-1"), "put_object", lambda **kwargs: calls.append(kwargs))
    outcome = run(hostile_event(f"/640x/{CAT}"), Context([LAMBDA_TIMEOUT_MS, miss.MIN_MS_TO_STORE - 1]))
    record = assert_row(outcome, "200", error="unavailable", cache=NO_STORE)
    assert calls == [] and record["stored"] is False
    assert body_image(outcome.response).size == (640, 480)


def test_an_original_still_arriving_when_time_runs_short_is_503_and_stores_nothing(run, put_original):
    """The timeouts bound each stall, not a body that keeps trickling in: the time left is checked between
    pieces of it. Here the second look finds too little left to render."""
    put_original(CAT, bytes(3 * storage.READ_PIECE))
    outcome = run(hostile_event(f"/640x/{CAT}"), Context([LAMBDA_TIMEOUT_MS, miss.MIN_MS_TO_RENDER - 1]))
    record = assert_row(outcome, "503", error="unavailable", cache=NO_STORE)
    assert record["detail"] == f"too little time left after {storage.READ_PIECE} bytes of the original"


@pytest.mark.parametrize(("remaining", "read"), [
    ([12_000], True), ([11_999], False),  # 9 s for S3, 3 to render
    ([LAMBDA_TIMEOUT_MS, 3_000], True), ([LAMBDA_TIMEOUT_MS, 2_999], False),
])
def test_the_read_starts_and_goes_on_with_exactly_the_time_it_needs(run, put_original, remaining, read):
    """SECURITY.md's numbers, to the millisecond: a read starts with 12 s left, and goes on past each
    piece of the original while 3 s are left for the render."""
    put_original(CAT, encoded(gradient((1200, 900)), "PNG"))  # more than one piece
    outcome = run(hostile_event(f"/640x/{CAT}"), Context(remaining))
    if read:
        assert outcome.response["status"] == "200"
    else:
        assert_row(outcome, "503", error="unavailable", cache=NO_STORE)


@pytest.mark.parametrize(("remaining", "written"), [(10_000, True), (9_999, False)])  # 9 s for S3, 1 to answer
def test_the_store_starts_with_exactly_the_time_it_needs(run, put_original, cat_jpeg, remaining, written):
    put_original(CAT, cat_jpeg)
    outcome = run(hostile_event(f"/640x/{CAT}"), Context([LAMBDA_TIMEOUT_MS, remaining]))
    record = assert_row(outcome, "200", error=None if written else "unavailable",
                        cache=IMMUTABLE if written else NO_STORE, stored=(f"640x/{CAT}",) if written else ())
    assert record["stored"] is written


def test_the_worst_case_of_s3_fits_the_30_s_budget():
    """attempts x (connect + read timeout) + backoff, for a read and a write, leaves time to render."""
    retries = storage.CLIENT_CONFIG.retries
    assert retries == {"mode": "standard", "total_max_attempts": storage.MAX_ATTEMPTS}
    worst_backoff_s = sum(min(2**attempt, 20) for attempt in range(storage.MAX_ATTEMPTS - 1))  # throttled: 1 s scale
    worst_call_s = storage.MAX_ATTEMPTS * (storage.CLIENT_CONFIG.connect_timeout + storage.CLIENT_CONFIG.read_timeout)
    assert budget.WORST_CALL_MS == 1000 * (worst_call_s + worst_backoff_s) == 9000
    assert 2 * budget.WORST_CALL_MS <= LAMBDA_TIMEOUT_MS * 0.6  # well inside: 18 of 30 s
    # A read is started only if its worst case still leaves 3 s to render, and a write only if it can finish with
    # 1 s to answer: 9 + 3 and 9 + 1 s.
    assert (miss.MIN_MS_TO_READ, miss.MIN_MS_TO_RENDER, miss.MIN_MS_TO_STORE) == (12_000, 3_000, 10_000)
    assert miss.MIN_MS_TO_READ <= LAMBDA_TIMEOUT_MS - 10_000  # a cold start never trips it


class CannedBody:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **kwargs):
        yield self.data


def s3_error(status: int, code: str):
    body = f"<Error><Code>{code}</Code><Message>{code} message</Message></Error>".encode()
    return lambda request: AWSResponse(request.url, status, {}, CannedBody(body))


def timing_out(exception_class):
    def answer(request):
        raise exception_class(endpoint_url=request.url)

    return answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (s3_error(503, "SlowDown"), "GetObject failed: SlowDown"),
        (s3_error(500, "InternalError"), "GetObject failed: InternalError"),
        (timing_out(ReadTimeoutError), "Read timeout"),
        (timing_out(ConnectTimeoutError), "Connect timeout"),
    ],
    ids=["slow-down", "internal-error", "read-timeout", "connect-timeout"],
)
def test_botocore_retries_a_bounded_number_of_times(monkeypatch, answer, expected):
    """The real client configuration, with botocore answering from a before-send hook (no network, no moto)."""
    import botocore.endpoint

    from edge.errors import Unavailable

    client = boto3.client("s3", region_name="us-east-1", config=storage.CLIENT_CONFIG)
    attempts, sleeps = [], []

    def before_send(request, **kwargs):
        attempts.append(request.url)
        return answer(request)

    client.meta.events.register("before-send.s3", before_send)
    monkeypatch.setattr(botocore.endpoint.time, "sleep", sleeps.append)
    store = storage.Storage(ORIGINALS, DERIVATIVES, client, client)
    with pytest.raises(Unavailable) as raised:
        store.read_original(CAT, 10**6)
    assert len(attempts) == storage.MAX_ATTEMPTS
    assert len(sleeps) == storage.MAX_ATTEMPTS - 1 and all(0 <= sleep <= 1 for sleep in sleeps)
    assert expected in raised.value.detail


def put_done(request) -> AWSResponse:
    return AWSResponse(request.url, 200, {"ETag": '"stored"'}, CannedBody(b""))


@pytest.mark.parametrize(("second", "stored"), [(put_done, True), (s3_error(409, "ConditionalRequestConflict"), False)],
                         ids=["stored", "conflict-again"])
def test_a_conflict_on_the_wire_is_sent_again_by_the_function_alone(monkeypatch, second, stored):
    """S3's 409 as botocore parses it off the wire, with the real client configuration: botocore does not retry
    it itself (standard mode retries no 409 of S3's), so the function's one more PUT is the only one, no
    backoff slept before it."""
    import botocore.endpoint

    client = boto3.client("s3", region_name="us-east-1", config=storage.CLIENT_CONFIG)
    answers, sent, sleeps = [s3_error(409, "ConditionalRequestConflict"), second], [], []

    def before_send(request, **kwargs):
        sent.append(request.headers.get("If-None-Match"))
        return answers.pop(0)(request)

    client.meta.events.register("before-send.s3", before_send)
    monkeypatch.setattr(botocore.endpoint.time, "sleep", sleeps.append)
    store = storage.Storage(ORIGINALS, DERIVATIVES, client, client)
    if stored:
        assert store.write_derivative(f"640x/{CAT}", b"jpeg", "image/jpeg", IMMUTABLE) == storage.Stored(
            created=True, etag='"stored"')
    else:
        with pytest.raises(Unavailable, match="^PutObject failed: ConditionalRequestConflict$"):
            store.write_derivative(f"640x/{CAT}", b"jpeg", "image/jpeg", IMMUTABLE)
    assert sent == [b"*", b"*"] and sleeps == []  # prepared headers are bytes


# --- where the function may write -----------------------------------------------------------------------------


def test_every_s3_call_of_a_miss_goes_to_its_own_bucket(run, put_original, cat_jpeg):
    """As sent on the wire: the one PUT carries If-None-Match: *, and signs it."""
    put_original(CAT, cat_jpeg)
    calls = []

    def sent(request, **_):
        url = urlsplit(request.url)
        signed = b"if-none-match" in request.headers["Authorization"]  # prepared headers are bytes
        calls.append((request.method, url.hostname.split(".")[0], unquote(url.path[1:]),
                      request.headers.get("If-None-Match"), signed))

    storage.s3_client("us-east-1").meta.events.register("before-send.s3", sent)
    outcome = run(hostile_event(f"/640x/{CAT}"))
    assert_row(outcome, "200", cache=IMMUTABLE, stored=(f"640x/{CAT}",))
    assert calls == [("GET", ORIGINALS, CAT, None, False), ("PUT", DERIVATIVES, f"640x/{CAT}", b"*", True)]


def test_a_miss_reaches_s3_through_the_origins_fips_dual_stack_endpoint(run, put_original, cat_jpeg):
    """A deployment that names a FIPS origin keeps every S3 call of the function inside FIPS, the originals' too."""
    put_original(CAT, cat_jpeg)
    hosts = []
    storage.s3_client("us-east-1", fips=True, dualstack=True).meta.events.register(
        "before-send.s3", lambda request, **_: hosts.append(urlsplit(request.url).hostname))
    event = hostile_event(f"/640x/{CAT}")
    event["Records"][0]["cf"]["request"]["origin"]["s3"]["domainName"] = (
        f"{DERIVATIVES}.s3-fips.dualstack.us-east-1.amazonaws.com")
    assert_row(run(event), "200", cache=IMMUTABLE, stored=(f"640x/{CAT}",))
    assert hosts == [f"{bucket}.s3-fips.dualstack.us-east-1.amazonaws.com" for bucket in (ORIGINALS, DERIVATIVES)]


def test_an_original_whose_checksum_fails_is_not_rendered_on_any_botocore(s3, cat_jpeg):
    """A botocore before 1.36 checks a GetObject's checksum only when asked (as `when_required` does
    here): the function asks, so a corrupt original fails the read instead of being rendered."""
    s3.put_object(Bucket=ORIGINALS, Key=CAT, Body=cat_jpeg, ChecksumAlgorithm="CRC32")
    stored_original = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[ORIGINALS].keys[CAT]
    stored_original.checksum_value = "AAAAAA=="  # no longer the bytes' CRC32
    old_behaviour = {"response_checksum_validation": "when_required"}
    if "response_checksum_validation" not in BotoConfig.OPTION_DEFAULTS:  # before 1.36: all it can do
        old_behaviour = {}
    only_when_asked = boto3.client("s3", region_name="us-east-1", config=BotoConfig(**old_behaviour))
    store = storage.Storage(ORIGINALS, DERIVATIVES, only_when_asked, only_when_asked)
    with pytest.raises(Unavailable, match="Reading the original failed"):
        store.read_original(CAT, len(cat_jpeg))


@pytest.mark.parametrize("headers", [{"x_originals_bucket": "my originals"}, {"x_originals_region": "us east 1"}],
                         ids=["bucket-with-a-space", "region-with-spaces"])
def test_a_malformed_originals_header_is_a_misconfiguration_not_s3_unavailable(run, put_original, headers):
    """botocore refuses such a name on every call: that is the deployment's fault, not a passing S3 fault."""
    outcome = run(hostile_event(f"/640x/{CAT}", **{"x_originals_bucket": ORIGINALS, **headers}))
    assert_row(outcome, "500", error="misconfigured", cache=NO_STORE, stored=())


def test_an_origin_path_is_a_misconfiguration_and_nothing_is_read_or_stored(run, put_original, cat_jpeg):
    """With an origin path, S3 is asked for <path>/<uri>: a derivative stored at <uri> would never be found."""
    put_original(CAT, cat_jpeg)
    event = hostile_event(f"/640x/{CAT}")
    event["Records"][0]["cf"]["request"]["origin"]["s3"]["path"] = "/renditions"
    record = assert_row(run(event), "500", error="misconfigured", cache=NO_STORE)
    assert "origin path" in record["detail"]


@pytest.mark.parametrize("originals", [DERIVATIVES, DERIVATIVES.upper(), f" {DERIVATIVES} "])
def test_the_originals_bucket_may_not_be_the_derivatives_bucket(run, put_original, cat_jpeg, s3, originals):
    s3.put_object(Bucket=DERIVATIVES, Key=CAT, Body=cat_jpeg)  # were it read, it would render
    outcome = run(hostile_event(f"/640x/{CAT}", x_originals_bucket=originals))
    assert_row(outcome, "500", error="misconfigured", cache=NO_STORE, stored=(CAT,))
    assert outcome.stored[CAT][0] == cat_jpeg


def test_storage_refuses_one_bucket_for_both():
    for originals, derivatives in [("same", "same"), ("Same", "same"), ("same", "Same")]:
        with pytest.raises(Misconfigured):
            storage.Storage(originals, derivatives, object(), object())


@pytest.mark.parametrize(
    "key",
    ["photos/cat.jpg", "cat.jpg", "", "640x", "640x/", "640x/../cat.jpg", "640x/a/./b", "640x//cat.jpg",
     "640x/a\\b.jpg", "640x/a\x00b", "../640x/cat.jpg", "/640x/cat.jpg", "640X/cat.jpg", "0x0/cat.jpg",
     "640x,blur/cat.jpg", "640x/" + "k" * 1020],
)
def test_storage_writes_derivative_keys_only(key):
    """Whatever the caller passes, nothing but `<spec>/<original key>` reaches put_object."""

    class Client:
        def put_object(self, **kwargs):
            raise AssertionError(f"wrote {kwargs['Key']!r}")

    store = storage.Storage(ORIGINALS, DERIVATIVES, Client(), Client())
    with pytest.raises(UnsafeWrite) as raised:
        store.write_derivative(key, b"x", "image/jpeg", IMMUTABLE)
    assert raised.value.status == 500 and raised.value.code == "unsafe_write"


def test_the_function_cannot_overwrite_any_object(s3):
    """Even were the derivatives bucket an originals bucket by mistake: If-None-Match keeps what is there."""
    store = storage.Storage("elsewhere", ORIGINALS, s3, s3)
    s3.put_object(Bucket=ORIGINALS, Key="640x/cat.jpg", Body=b"precious")
    store.write_derivative("640x/cat.jpg", b"derivative", "image/jpeg", IMMUTABLE)
    assert s3.get_object(Bucket=ORIGINALS, Key="640x/cat.jpg")["Body"].read() == b"precious"


# --- logs -----------------------------------------------------------------------------------------------------


def test_the_log_line_of_a_success(run, put_original, cat_jpeg):
    put_original(CAT, cat_jpeg)
    outcome = run(hostile_event(f"/300x300,cover,webp/{CAT}"))
    record = assert_row(outcome, "200", cache=IMMUTABLE, stored=(f"300x300,cover,webp/{CAT}",))
    assert record["spec"] == "300x300,cover,webp" and record["derivative_key"] == f"300x300,cover,webp/{CAT}"
    assert record["bytes_in"] == len(cat_jpeg) and record["bytes_out"] == len(body_bytes(outcome.response))
    assert record["output"] == "webp" and record["stored"] is True and record["method"] == "GET"


@pytest.mark.parametrize(
    ("setup", "uri", "status", "error", "in_log_only"),
    [
        (None, "/640x/photos/%2e%2e/cat.jpg", "400", "bad_request", ".. segment"),
        (None, "/0640x/photos/cat.jpg", "400", "bad_request", "'0640x'"),
        ("bomb", "/640x/bomb.png", "413", "source_too_large", "100000x100000"),
        ("svg", "/640x/bomb.png", "415", "unsupported_media", "cannot identify image"),
        ("denied", f"/640x/{CAT}", "500", "misconfigured", "AccessDenied"),
        ("slow", f"/640x/{CAT}", "503", "unavailable", "SlowDown"),
    ],
)
def test_internal_details_are_logged_and_never_answered(run, put_original, cat_jpeg, monkeypatch,
                                                        setup, uri, status, error, in_log_only):
    put_original(CAT, cat_jpeg)
    put_original("bomb.png", bombs.png_declaring(100_000, 100_000) if setup == "bomb" else b"<svg/>")
    if setup in ("denied", "slow"):
        code, http_status = ("AccessDenied", 403) if setup == "denied" else ("SlowDown", 503)
        monkeypatch.setattr(storage.s3_client("us-east-1"), "get_object", client_error(code, http_status, "GetObject"))
    outcome = run(hostile_event(uri))
    record = assert_row(outcome, status, error=error, reflected=(in_log_only,))
    assert in_log_only in record["detail"]


def test_an_unexpected_exception_is_one_json_line_with_its_trace(run, put_original, cat_jpeg, monkeypatch):
    put_original(CAT, cat_jpeg)

    def explode(*args, **kwargs):
        raise RuntimeError(f"secret detail about {ORIGINALS}")

    monkeypatch.setattr(image, "render", explode)
    outcome = run(hostile_event(f"/640x/{CAT}"))  # run() also checks that nothing went to stderr
    record = assert_row(outcome, "500", error="internal", cache=NO_STORE)
    assert "secret detail" in record["detail"] and "Traceback" in record["trace"] and "explode" in record["trace"]


# --- originals that once broke the engine outside its header checks ------------------------------------------

AVIF_CORRUPT_COLOUR_PLANES = base64.b64decode(
    "AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADrbWV0YQAAAAAAAAAhaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAAAAAAAOcGl0"
    "bQAAAAAAAQAAAB5pbG9jAAAAAEQAAAEAAQAAAAEAAAETAAAAKQAAAChpaW5mAAAAAAABAAAAGmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAABqaXBy"
    "cAAAAEtpcGNvAAAAFGlzcGUAAAAAAAAABgAAAAUAAAAQcGl4aQAAAAADCAgIAAAADGF2MUOBAAwAAAAAE2NvbHJuY2x4AAEADQAGgAAAABdpcG1h"
    "AAAAAAAAAAEAAQQBAoMEAAAAMW1kYXQSAAoIzQisaICGg0IyGxTHh4ZlAgggnlAAAABIWtlc1jDUi25J0tDGqA=="
)
WEBP_ANIMATION_HUGE_DURATION = base64.b64decode(
    "UklGRuwAAABXRUJQVlA4WAoAAAACAAAABQAABAAAQU5JTQYAAAAAAAAAAABBTk1GMAAAAAAAAAAAAAUAAAQAADIAAAJWUDggGAAAADABAJ0BKgYA"
    "BQABQCYlpAADcAD+/TZoAEFOTUY+AAAAAAAAAAAABQAABAAAMgAAAFZQOCAmAAAANAEAnQEqBgAFAAAAJiUAAIwwAP78rlH9JdLkN//FDzW9gyoA"
    "AABBTk1GQgAAAAAAAAAAAAUAAAQAADIAwgBWUDggKgAAADQBAJ0BKgYABQAAACYloAADcAD++8Er/w7ubr1rf//LP/9lv+y3XoAAAA=="
)
ODD_ORIGINALS = [
    # All frames alike: folded into one still frame (Pillow's GIF writer would choke on the per-frame lists).
    ("gif-all-frames-alike", lambda: bombs.gif_frames((10, 10), [(0, 0, 1, 1)] * 3), "/8x/a.gif", "200", None),
    # A later frame far off the screen: decoded alone, at its own 1x1, and drawn nowhere, as in Chromium 156.
    ("gif-frame-far-off-screen", lambda: bombs.gif_frames((1, 1), [(0, 0, 1, 1), (65_000, 65_000, 1, 1)]),
     "/8x/a.gif", "200", None),
    # A later frame short of data: the frame cannot be decoded.
    ("gif-later-frame-truncated", lambda: bombs.gif_frames((10, 10), [(0, 0, 1, 1), (0, 0, 10, 10)]),
     "/8x/a.gif", "415", "unsupported_media"),
    # libavif raises RuntimeError on corrupt colour planes.
    ("avif-corrupt-colour-planes", lambda: AVIF_CORRUPT_COLOUR_PLANES, "/3x/a.avif", "415", "unsupported_media"),
    # A frame duration of 2**24 ms is clamped to GIF's largest delay.
    ("webp-to-gif-huge-duration", lambda: WEBP_ANIMATION_HUGE_DURATION, "/3x,gif/a.webp", "200", None),
    # A 20000x100 panorama asked by height only keeps its width (SPEC: the open side is unconstrained),
    # over WebP's 16383: a clean 400 from the size check, not the encoder's ValueError.
    ("panorama-too-wide-for-webp", lambda: png_bytes((20_000, 100)), "/x100,webp/pano.png", "400", "bad_request"),
]


@pytest.mark.parametrize(("make", "uri", "status", "error"), [row[1:] for row in ODD_ORIGINALS],
                         ids=[row[0] for row in ODD_ORIGINALS])
def test_odd_originals_get_a_clean_answer(run, put_original, make, uri, status, error):
    put_original(uri.split("/", 2)[2], make())
    outcome = run(hostile_event(uri))
    stored = (uri[1:],) if status == "200" else ()
    assert_row(outcome, status, error=error, stored=stored)
