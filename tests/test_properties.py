"""Properties over arbitrary input (hypothesis): the handler never raises, every answer is one
CloudFront accepts, and every 200 is a decodable image of the size edge.geometry.plan promises.

One moto S3 per module (tests/safety.py); each example cleans up after itself.
"""

import io
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from edge import gif, image
from edge.errors import BadRequest, EdgeError
from edge.geometry import plan
from edge.image.model import CONTENT_TYPES as OUTPUT_CONTENT_TYPES
from edge.image.source import open_source
from edge.rendition import S3_MAX_KEY_BYTES, parse_derivative_key, parse_rendition
from imaging import DERIVATIVES, ORIGINALS, body_bytes, encoded, gradient, header, origin_response
from safety import assert_clean, hostile_event, invoked, moto_s3, s3  # noqa: F401 - fixtures

# Pillow warns about the broken TIFFs and EXIF blocks the mutations make; they are the point.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
                 "AVIF": "image/avif"}
END_TO_END = settings(
    max_examples=120, deadline=None, database=None,
    # The fixtures are per test on purpose: each example restores the buckets it touched.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE = settings(max_examples=1000, deadline=None, database=None)


# --- strategies ------------------------------------------------------------------------------------------------

ORIGINAL_KEYS = ["photos/cat.jpg", "a", "deep/er/x.png", "front page+1.jpg", "é/写真.gif"]
SPECS = ["64x", "x48", "1x1", "40x40,cover", "30x20,fill,png", "64x,webp", "32x,gif", "16x,jpeg,q50", "20x,avif",
         "4096x", "x4096,contain", "3x7,cover,webp,q1", "100x1,fill"]
# Pieces a hostile or sloppy URL is made of: grammar tokens, separators, escapes and traps.
PIECES = ["640x", "x480", "0x0", "1x", "x1", "00", "9" * 30, ",", ",cover", ",fill", ",webp", ",q80", ",q0", ",JPG",
          "/", "//", ".", "..", "%2e", "%2E%2e", "%2F", "%5C", "\\", "%00", "%0a", "%", "%C3", "%C3%A9", "%FF", "+",
          "%2B", " ", "%20", "é", "写真", "\x00", "\x7f", "photos", "cat.jpg", "a", "k" * 300]


def encode_randomly(text: str, how: int) -> str:
    """As CloudFront might send it: as is, percent-encoded, or with + for spaces."""
    if how == 0:
        return text
    if how == 1:
        return quote(text, safe="/,")
    return quote(text, safe="/,").replace("%20", "+")


structured_uris = st.builds(
    lambda spec, key, how: encode_randomly(f"/{spec}/{key}", how),
    st.one_of(st.sampled_from(SPECS), st.lists(st.sampled_from(PIECES), max_size=4).map("".join)),
    st.one_of(st.sampled_from(ORIGINAL_KEYS), st.lists(st.sampled_from(PIECES), max_size=6).map("".join)),
    st.integers(0, 2),
)
good_uris = st.builds(  # ours and well formed: these reach S3 and, for a key that exists, the renderer
    lambda spec, key, how: encode_randomly(f"/{spec}/{key}", how),
    st.sampled_from(SPECS), st.sampled_from(ORIGINAL_KEYS), st.integers(1, 2),
)
any_uris = st.one_of(
    good_uris,
    structured_uris,
    st.text(max_size=60).map(lambda text: "/" + text),
    st.text(alphabet="0123456789x,/%.+\\ abcdefqwpnjgivrAEFX", max_size=40).map(lambda text: "/" + text),
    st.text(max_size=40),  # not even a leading slash
)


def small_images() -> dict[str, bytes]:
    still = gradient((24, 16))
    frames = [still.rotate(angle) for angle in (0, 90, 180)]
    animated_gif, animated_webp = io.BytesIO(), io.BytesIO()
    frames[0].save(animated_gif, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    frames[0].save(animated_webp, "WEBP", save_all=True, append_images=frames[1:], duration=50, lossless=True)
    return {
        "jpeg": encoded(still, "JPEG", quality=70), "png": encoded(gradient((24, 16), "RGBA"), "PNG"),
        "gif": encoded(still, "GIF"), "webp": encoded(still, "WEBP"), "bmp": encoded(still, "BMP"),
        "tiff": encoded(still, "TIFF"), "avif": encoded(still, "AVIF"),
        "animated-gif": animated_gif.getvalue(), "animated-webp": animated_webp.getvalue(),
    }


SEEDS = small_images()


@st.composite
def mutated_images(draw) -> bytes:
    """A small real image, then a few byte flips, insertions, deletions or a cut."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at: at + draw(st.integers(1, 8))]
        else:
            data = data[:at]
    return bytes(data)


originals = st.one_of(st.binary(max_size=256), mutated_images())


# --- helpers -----------------------------------------------------------------------------------------------------


def promised_size(original: bytes, uri: str) -> tuple[int, int]:
    """What SPEC.md promises for this original and URL, from edge.geometry.plan and the upright source size."""
    source = Image.open(io.BytesIO(original))
    width, height = source.size
    try:
        orientation = int(source.getexif().get(0x0112, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    rendition = parse_rendition(uri)
    return plan((width, height), rendition.width, rendition.height, rendition.fit).size


def clear_derivatives(s3) -> None:
    keys = [{"Key": item["Key"]} for item in s3.list_objects_v2(Bucket=DERIVATIVES).get("Contents", [])]
    if keys:
        s3.delete_objects(Bucket=DERIVATIVES, Delete={"Objects": keys})


def stored_objects(s3) -> dict[str, bytes]:
    return {item["Key"]: s3.get_object(Bucket=DERIVATIVES, Key=item["Key"])["Body"].read()
            for item in s3.list_objects_v2(Bucket=DERIVATIVES).get("Contents", [])}


def check_answer(s3, uri: str, original: bytes, response: dict, received: dict) -> None:
    event(f"status {response['status']}")  # hypothesis statistics: what the examples reached
    assert_clean(response, received)
    stored = stored_objects(s3)
    if response["status"] == "200":
        body = body_bytes(response)
        picture = Image.open(io.BytesIO(body))
        picture.load()
        assert picture.size == promised_size(original, uri)
        assert header(response, "content-type") == CONTENT_TYPES[picture.format]
        assert stored == {parse_rendition(uri).derivative_key: body}
    else:
        assert stored == {}


# --- end to end --------------------------------------------------------------------------------------------------


@pytest.fixture
def seeded(s3):
    """Every key of ORIGINAL_KEYS holds a small good JPEG."""
    good = SEEDS["jpeg"]
    for key in ORIGINAL_KEYS:
        s3.put_object(Bucket=ORIGINALS, Key=key, Body=good)
    return s3, good


@END_TO_END
@given(uri=any_uris, status=st.sampled_from(["404", "403"]))
@example(uri="/64x/photos/cat.jpg", status="404")
@example(uri="/40x40,cover/front+page%2B1.jpg", status="403")
def test_any_uri(seeded, uri, status):
    s3, good = seeded
    event = hostile_event(uri, status=status)
    invocation = invoked(event)
    response, untouched = invocation.response, invocation.origin_response
    try:
        check_answer(s3, uri, good, response, untouched)
        if response is origin_response(event):
            assert response == untouched and response["status"] == status
    finally:
        clear_derivatives(s3)
    assert sorted(item["Key"] for item in s3.list_objects_v2(Bucket=ORIGINALS)["Contents"]) == sorted(ORIGINAL_KEYS)


@END_TO_END
@given(original=originals, spec=st.sampled_from(SPECS))
@example(original=b"", spec="64x")
@example(original=SEEDS["animated-gif"], spec="32x,gif")
@example(original=encoded(Image.new("P", (1, 32_769)), "GIF"), spec="20x,avif")
@example(original=encoded(Image.new("L", (65_501, 1)), "TIFF"), spec="x48")  # too wide for its default, JPEG
def test_any_original(s3, original, spec):
    s3.put_object(Bucket=ORIGINALS, Key="upload", Body=original)
    uri = f"/{spec}/upload"
    invocation = invoked(hostile_event(uri))
    response = invocation.response
    try:
        check_answer(s3, uri, original, response, invocation.origin_response)
        assert response["status"] in ("200", "400", "413", "415", "500")
        if response["status"] == "400":  # the only 400 an original makes: an output taller or wider than its format
            named = spec.rpartition(",")[2]
            formats = [named] if named in OUTPUT_CONTENT_TYPES else list(OUTPUT_CONTENT_TYPES)  # else its default
            assert response["body"] in [f"Too large for {name}.\n" for name in formats]
    finally:
        clear_derivatives(s3)
    assert s3.get_object(Bucket=ORIGINALS, Key="upload")["Body"].read() == original


# --- the pure parts, with many more examples -----------------------------------------------------------------


@PURE
@given(uri=any_uris)
def test_a_uri_parses_to_a_safe_derivative_key_or_is_a_bad_request(uri):
    try:
        rendition = parse_rendition(uri)
    except BadRequest as error:
        assert error.status == 400 and error.public_message and len(error.public_message) < 100
        return
    key = rendition.derivative_key
    assert len(key.encode("utf-8")) <= S3_MAX_KEY_BYTES
    assert key == f"{key.partition('/')[0]}/{rendition.original_key}"
    assert not ({"", ".", ".."} & set(rendition.original_key.split("/")))
    assert "\\" not in key and not any(ord(character) < 32 or ord(character) == 127 for character in key)
    assert parse_derivative_key(key) == rendition  # what storage checks before it writes


@PURE
@given(data=st.one_of(st.binary(max_size=200), mutated_images()), max_frames=st.integers(1, 5))
def test_the_gif_scan_only_raises_malformed_gif(data, max_frames):
    try:
        layout = gif.scan(data, max_frames)
    except gif.MalformedGif:
        return
    assert 0 <= layout.frames <= max_frames + 1
    assert layout.size[0] >= 0 and layout.size[1] >= 0


@settings(max_examples=300, deadline=None, database=None)
@given(data=originals, max_pixels=st.sampled_from([1, 100, 50_000_000]), max_frames=st.sampled_from([1, 2, 300]))
def test_opening_an_original_raises_only_edge_errors(data, max_pixels, max_frames):
    try:
        source = open_source(data, image.Limits(max_pixels, max_frames))
    except EdgeError as error:
        assert error.status in (413, 415)
        return
    assert source.image.width * source.image.height <= max_pixels
    assert source.canvas[0] * source.canvas[1] <= max_pixels and 1 <= source.frames <= max_frames
