"""The engine on its own: images made in memory, exact assertions (an epsilon only for lossy codecs)."""

import gc
import io
import struct
import threading
import time
import weakref
import zlib

import pytest
from PIL import ExifTags, Image, ImageOps, PngImagePlugin

import edge.image
from edge import png, tiff
from edge.errors import BadRequest, UnsupportedMedia
from edge.geometry import plan
from edge.image.source import open_source
from edge.image.steps import decode_pixels
from edge.rendition import parse_rendition
from bombs import gif_frames, png_chunk
from imaging import (
    BLUE, EXIF_POINTER, GREEN, LIMITS, LOSSY_EPSILON, RED, XMP_ORIENTATION_6, YELLOW, app1, chunks_before_idat,
    chunks_before_iend, encoded, exif_directories, exif_of, gradient, half_transparent, max_difference, noise_image,
    png_from_rows, png_with_corrupt_data, quadrants, rendered, stored_as, tiled_tiff,
)


def corners(image: Image.Image) -> list:
    width, height = image.size
    rgb = image.convert("RGB")
    return [rgb.getpixel((2, 2)), rgb.getpixel((width - 3, 2)), rgb.getpixel((2, height - 3)),
            rgb.getpixel((width - 3, height - 3))]


# --- orientation -------------------------------------------------------------


# Pillow turns a TIFF upright itself as it loads it; it must not be turned twice.
@pytest.mark.parametrize("source_format", ["JPEG", "PNG", "AVIF", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright_without_the_tag(source_format, orientation):
    stored, exif = stored_as(quadrants((80, 40)), orientation)
    options = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}, "AVIF": {"quality": 95}}.get(source_format, {})
    data = encoded(stored, source_format, exif=exif, **options)
    for spec in ("40x", "20x20,cover"):
        result, image = rendered(data, spec + ",png")
        assert image.size == ((40, 20) if spec == "40x" else (20, 20))
        if spec == "40x":
            for got, expected in zip(corners(image), [RED, GREEN, BLUE, YELLOW], strict=True):
                assert max_difference(got, expected) <= 16
        assert not image.getexif()


# 81 columns to 40 leave 41, 20 on the left and 21 on the right: a crop mapped onto the stored pixels the wrong
# way round would be a column off.
@pytest.mark.parametrize("orientation", range(1, 9))
def test_an_off_centre_cover_crop_is_cut_from_the_same_upright_pixels_in_every_orientation(orientation):
    upright = Image.new("RGB", (81, 40))
    upright.putdata([(x * 3, y * 6, 0) for y in range(40) for x in range(81)])
    stored, exif = stored_as(upright, orientation)
    _, image = rendered(encoded(stored, "PNG", exif=exif), "40x40,cover,png")
    assert image.tobytes() == upright.crop((20, 0, 60, 40)).tobytes()


# Pillow would turn a TIFF itself, in place, as it loads it: that turn goes unseen here, and must not happen either.
@pytest.mark.parametrize("source_format", ["PNG", "TIFF"])
@pytest.mark.parametrize("orientation", [3, 6])
def test_only_the_output_is_turned_upright(monkeypatch, source_format, orientation):
    stored, exif = stored_as(quadrants((800, 400)), orientation)
    turned = []
    transpose = Image.Image.transpose
    monkeypatch.setattr(Image.Image, "transpose", lambda image, method: turned.append(image.size) or transpose(
        image, method))
    _, image = rendered(encoded(stored, source_format, exif=exif), "40x,png")
    assert image.size == (40, 20)
    assert corners(image) == [RED, GREEN, BLUE, YELLOW]
    assert turned == [(40, 20) if orientation == 3 else (20, 40)]


# bench/job.py plans a render on oriented_size of the original as Pillow opens it, which reports a TIFF turned
# upright by its Orientation tag; render and local/gallery.py on that of open_source's, which has it as stored.
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiffs_upright_size_is_the_same_as_pillow_opens_it_and_as_open_source_does(orientation):
    stored, exif = stored_as(quadrants((80, 40)), orientation)
    data = encoded(stored, "TIFF", exif=exif)
    source = open_source(data, LIMITS)
    edge.image.model.stop_data_check(source)
    with Image.open(io.BytesIO(data)) as opened:
        oriented_size = edge.image.source.oriented_size
        assert oriented_size(opened, data) == oriented_size(source.image, data) == (80, 40)


def test_a_gifs_canvas_is_weighed_with_every_frame_not_only_the_first_pillow_opens():
    """Pillow opens a GIF at its first frame's canvas; a later frame, decoded alone, weighs its own 5x6 pixels
    (edge/gif.py walks them all), not the 8x8 its place on the screen reaches."""
    source = open_source(gif_frames((4, 4), [(0, 0, 1, 1), (3, 2, 5, 6)]), LIMITS)
    assert (source.image.size, source.canvas, source.frames) == ((4, 4), (5, 6), 2)


# No browser turns a WebP by its Exif, which follows the image data (CSS Images 3 has such metadata ignored).
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_webp_stays_as_stored_whatever_its_exif_says(orientation):
    stored, exif = stored_as(quadrants((80, 40)), orientation)
    _, image = rendered(encoded(stored, "WEBP", exif=exif, lossless=True), "100x,png")
    assert image.tobytes() == stored.tobytes()


STORED = quadrants((40, 20))
STORED_PNG = encoded(STORED, "PNG")
STORED_JPEG = encoded(STORED, "JPEG", quality=95)


def png_with(before_idat=(), after_idat=()) -> bytes:
    """STORED_PNG with these chunks (type, payload) just before its IDAT, and just before its IEND."""
    return chunks_before_iend(chunks_before_idat(STORED_PNG, *before_idat), *after_idat)


def jpeg_with(*segments: bytes) -> bytes:
    return STORED_JPEG[:2] + b"".join(segments) + STORED_JPEG[2:]


# Each case as Chromium 156 shows it, by hand (an <img> drawn on a canvas): the orientation it turns the
# stored picture by. Pillow's getexif() would turn all but the last four by what their Exif or XMP says.
@pytest.mark.parametrize(("data", "orientation"), [
    (png_with(before_idat=[(b"eXIf", exif_of(6))]), 6),
    (png_with(after_idat=[(b"eXIf", exif_of(6))]), 1),  # PNG's third edition puts it before the pixels
    (png_with(before_idat=[(b"eXIf", exif_of(6)), (b"eXIf", exif_of(3))]), 6),  # the first
    (png_with(before_idat=[(b"eXIf", b"garbage!"), (b"eXIf", exif_of(6))]), 1),  # the first, even unreadable
    (png_with(before_idat=[(b"eXIf", b"Exif\0\0" + exif_of(6))]), 1),  # a JPEG's header, which eXIf has not
    (png_with(before_idat=[(b"tEXt", b"Raw profile type exif\0" + f"\nexif\n{len(exif_of(6)) + 6:8d}\n".encode()
                            + (b"Exif\0\0" + exif_of(6)).hex().encode())]), 1),  # ImageMagick's hex of Exif
    (png_with(before_idat=[(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + XMP_ORIENTATION_6)]), 1),
    (jpeg_with(app1(b"http://ns.adobe.com/xap/1.0/\0" + XMP_ORIENTATION_6)), 1),
    (jpeg_with(app1(b"Exif\0\0Exif\0\0" + exif_of(6))), 1),
    (encoded(STORED, "WEBP", xmp=XMP_ORIENTATION_6, lossless=True), 1),
    (jpeg_with(app1(b"Exif\0\0" + exif_of(6))), 6),
    (jpeg_with(app1(b"Exif\0\0" + exif_of(6)), app1(b"Exif\0\0" + exif_of(3))), 6),  # the first
    (jpeg_with(app1(b"Exif\0\0" + exif_of(3)), app1(b"Exif\0\0" + exif_of(6))), 3),
    (jpeg_with(app1(b"Exif\0\0garbage!"), app1(b"Exif\0\0" + exif_of(6))), 1),
    # The next two by Skia's rule (shown_exif), not checked by hand: an APP1 that is not Exif's, then one that is;
    # Exif's header in an APP2 segment, then Exif's APP1.
    (jpeg_with(app1(b"http://ns.adobe.com/xap/1.0/\0" + XMP_ORIENTATION_6), app1(b"Exif\0\0" + exif_of(3))), 3),
    (jpeg_with(app1(b"Exif\0\0" + exif_of(3)).replace(b"\xff\xe1", b"\xff\xe2", 1), app1(b"Exif\0\0" + exif_of(6))),
     6),
    # Chromium's rules where they are not Pillow's (a helper's measure): Pillow turned the next four by 1, 3, 1 and 6.
    (jpeg_with(app1(b"Exif\0\xff" + exif_of(6))), 6),  # any sixth byte
    (jpeg_with(app1(b"Exif\0\xff" + exif_of(6)), app1(b"Exif\0\0" + exif_of(3))), 6),
    (jpeg_with(app1(b"Exif\0\0"), app1(b"Exif\0\xff" + exif_of(6))), 6),  # an empty one passed over
    (jpeg_with(app1(b"Exif\0\0" + exif_of(6)[:8]), app1(b"Exif\0\0" + exif_of(6)[8:])), 1),  # never joined
    (jpeg_with(app1(b"Exif\0\0" + exif_directories([(0x0112, 4, 1, 6)]))), 1),  # a LONG, read as tiff.orientation
    (png_with(before_idat=[(b"eXIf", exif_directories([(0x0112, 4, 1, 6)]))]), 1),
    (png_with(before_idat=[(b"eXIf", exif_directories([(0x8769, 4, 1, EXIF_POINTER)], [(0x0112, 3, 1, 6)]))]), 6),
], ids=["png-exif-before-the-pixels", "png-exif-after-them", "png-two-exif", "png-unreadable-exif-first",
        "png-exif-with-a-header", "png-raw-profile", "png-xmp", "jpeg-xmp", "jpeg-exif-with-two-headers", "webp-xmp",
        "jpeg-exif", "jpeg-two-exif-6-3", "jpeg-two-exif-3-6", "jpeg-unreadable-exif-first", "jpeg-xmp-then-exif",
        "jpeg-app2-exif-first", "jpeg-exif-any-sixth-byte",
        "jpeg-exif-any-sixth-byte-first", "jpeg-empty-exif-first", "jpeg-exif-split", "jpeg-long", "png-long",
        "png-exif-directory"])
def test_the_orientation_is_read_where_browsers_read_it(data, orientation):
    _, image = rendered(data, "100x,png")
    upright = STORED.transpose(edge.image.source.UPRIGHT[orientation]) if orientation != 1 else STORED
    assert image.size == upright.size
    for got, expected in zip(corners(image), corners(upright), strict=True):
        assert max_difference(got, expected) <= LOSSY_EPSILON["jpeg"]


@pytest.mark.parametrize("data", [
    jpeg_with(app1(b"Exif\0\0II*\0")), png_with(before_idat=[(b"eXIf", b"MM\0*\0")])], ids=["jpeg", "png"])
def test_exif_cut_short_in_its_header_leaves_the_picture_as_stored(data):
    """Pillow unpacks the 8-byte TIFF header with struct, which raises its own error; Chromium 156 shows these."""
    _, image = rendered(data, "100x,png")
    assert image.size == STORED.size


@pytest.mark.parametrize(("exif", "orientation"), [
    (b"Exif\0\0" + exif_of(6), 6), (b"Exif\0\0Exif\0\0" + exif_of(6), 6), (exif_of(6), 6),
    (exif_of(8), 8), (exif_of(9), 1), (exif_of(0), 1)],  # 1 to 8, as Exif numbers them; any other leaves it stored
    ids=["once", "twice", "not-at-all", "8", "9", "0"])
def test_an_avifs_exif_is_read_with_its_header_once_twice_or_not_at_all(exif, orientation):
    """Pillow's reader states irot and imir in the Exif it gives, and keeps the file's own where it agrees:
    libavif takes an Exif item with its header twice (Chromium 156 then turns the picture by irot, a helper's
    measure)."""
    image = Image.new("RGB", (4, 2))
    image.format, image.info["exif"] = "AVIF", exif
    assert edge.image.source.exif_orientation(image, b"") == orientation


def test_a_size_the_target_cannot_hold_is_refused_before_the_pixels_are_decoded(monkeypatch):
    """A PNG's orientation is known without decoding it (above), so a 400 costs no decode: an APNG of
    large frames too wide for WebP took 3.3 s to refuse (a helper's measure), Pillow decoding its
    first frame as it looked for an eXIf after the pixels."""
    monkeypatch.setitem(edge.image.checks.MAX_SIDE, "webp", 299)
    with pytest.raises(BadRequest, match="is over webp's 299"):
        rendered(png_with_corrupt_data(), "x200,webp")


def exif_orientation_entry(field_type: int, count: int, value: bytes) -> bytes:
    """An EXIF block of one Orientation entry as written here, whatever its type (value: 4 bytes, inline)."""
    entry = struct.pack("<HHI", ExifTags.Base.Orientation, field_type, count) + value
    return b"Exif\0\0II*\0" + struct.pack("<IH", 8, 1) + entry + struct.pack("<I", 0)


ASCII, SHORT, RATIONAL = 2, 3, 5  # TIFF field types


@pytest.mark.parametrize(
    "exif",
    [
        *(exif_orientation_entry(SHORT, 1, struct.pack("<HH", orientation, 0)) for orientation in (0, 9, 65535)),
        exif_orientation_entry(ASCII, 4, b"abc\0"),  # read as text: no number at all
        exif_orientation_entry(RATIONAL, 1, struct.pack("<I", 4096)),  # its value past the block's end: None
    ],
    ids=["0", "9", "65535", "text", "past the end"],
)
@pytest.mark.filterwarnings("ignore:Truncated File Read")  # Pillow's word on the value past the end
def test_an_orientation_exif_does_not_define_or_cannot_be_read_is_taken_as_upright(exif):
    _, image = rendered(encoded(quadrants((80, 40)), "JPEG", quality=95, exif=exif), "40x,png")
    assert image.size == (40, 20)
    for got, expected in zip(corners(image), [RED, GREEN, BLUE, YELLOW], strict=True):
        assert max_difference(got, expected) <= 16


# --- transparency --------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
@pytest.mark.parametrize("target", ["png", "webp", "avif", "gif"])
def test_alpha_is_kept(mode, target):
    _, image = rendered(encoded(half_transparent(mode), "PNG"), f"32x,{target}")
    rgba = image.convert("RGBA")
    assert rgba.getpixel((4, 8))[3] >= 255 - LOSSY_EPSILON[target]
    assert rgba.getpixel((28, 8))[3] <= LOSSY_EPSILON[target]


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
@pytest.mark.parametrize(("size", "spec"), [((256, 64), "32x,png"), ((256, 64), "100x,png"), ((1024, 512), "600x,png")],
                         ids=["reduced-first", "resampled", "in-strips"])
def test_the_colour_of_transparent_pixels_never_bleeds_into_the_edge(mode, size, spec):
    """Opaque red (black for LA) beside transparent blue (white): weighted by alpha, the
    channels that are zero in the opaque part stay exactly zero wherever anything shows,
    even in the output pixels that straddle the edge (off the output's pixel grid)."""
    opaque, hidden = ((255, 0, 0, 255), (0, 0, 255, 0)) if mode == "RGBA" else ((0, 255), (255, 0))
    source = Image.new(mode, size, hidden)
    source.paste(opaque, (0, 0, size[0] * 5 // 9, size[1]))
    _, image = rendered(encoded(source, "PNG"), spec)
    visible = [pixel for pixel in image.get_flattened_data() if pixel[-1] > 0]
    assert [pixel for pixel in visible if pixel[-1] < 255] and len(visible) > image.width * image.height // 2
    zero = slice(1, 3) if mode == "RGBA" else slice(0, 1)
    assert not any(any(pixel[zero]) for pixel in visible)


# --- depth and modes -----------------------------------------------------------


@pytest.mark.parametrize(("source_format", "target"), [("JPEG", "jpeg"), ("PNG", "png"), ("PNG", "jpeg")])
def test_grayscale_stays_grayscale(source_format, target):
    data = encoded(gradient((64, 64), "L"), source_format)
    _, image = rendered(data, f"32x,{target}")
    assert image.mode == "L"


@pytest.mark.parametrize(
    ("source", "options"),
    [
        (Image.new("I", (16, 16), 1000), {}),  # 32-bit signed
        (Image.new("F", (16, 16), 0.5), {}),  # 32-bit float
        (Image.new("I;16", (16, 16), 1000), {"tiffinfo": {339: 2}}),  # SampleFormat 2: 16-bit signed
    ],
    ids=["I;32S", "F;32F", "I;16S"],
)
def test_a_tiff_whose_samples_have_no_known_range_is_refused(source, options):
    """Scaled as 16-bit, a float TIFF came out black whatever its range, a full 32-bit one white."""
    with pytest.raises(UnsupportedMedia, match="range is unknown"):
        rendered(encoded(source, "TIFF", **options), "8x")


DEFLATE_TIFFS = {
    "strips": lambda image: encoded(image, "TIFF", compression="tiff_adobe_deflate"),
    "tiles": lambda image: tiled_tiff(image, 16),
    "tiles-32946": lambda image: tiled_tiff(image, 16, compression=32946),
}


@pytest.mark.parametrize("make", DEFLATE_TIFFS.values(), ids=DEFLATE_TIFFS.keys())
def test_a_deflate_tiff_renders_as_its_pixels(make):
    source = noise_image((120, 90)).convert("L")
    _, image = rendered(make(source), "120x,png")
    assert image.tobytes() == source.tobytes()


def tiff_with_corrupt_pixels() -> bytes:
    """64 zero bytes in the middle of a Deflate strip's pixels, which libtiff decodes without a word."""
    data = bytearray(encoded(gradient((400, 300)), "TIFF", compression="tiff_adobe_deflate"))
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    return bytes(data)


def test_a_deflate_tiff_with_corrupt_pixels_that_libtiff_decodes_is_refused():
    """libtiff decoded them into 13 wrong rows of 300, which were stored. It stops inflating a strip once
    its rows are filled, short of the checksum."""
    with pytest.raises(UnsupportedMedia, match=r"malformed TIFF: strip \d+: Error -3 while decompressing data"):
        rendered(tiff_with_corrupt_pixels(), "60x,png")


def test_a_tiff_refused_by_its_check_leaves_no_cycle_holding_its_pixels(monkeypatch):
    """As for a PNG (test_png): re-raised where the source is at hand, the check's error would hold the source,
    and with it the decoded image, in a cycle only the garbage collector frees."""
    checks, real = [], edge.image.checks.start_tiff_strip_check

    def watched(*arguments):
        check = real(*arguments)
        checks.append(weakref.ref(check))
        return check

    monkeypatch.setattr(edge.image.checks, "start_tiff_strip_check", watched)
    gc.disable()
    try:
        with pytest.raises(UnsupportedMedia):
            rendered(tiff_with_corrupt_pixels(), "60x,png")
        assert len(checks) == 1 and checks[0]() is None
    finally:
        gc.enable()


def two_frame_apng() -> bytes:
    return encoded(gradient((40, 30)), "PNG", save_all=True, append_images=[gradient((40, 30)).rotate(180)])


DATA_CHECKS = pytest.mark.parametrize(("module", "check", "make"), [
    (png, "check_frame_streams", two_frame_apng),
    (tiff, "check_deflate_strips", lambda: encoded(gradient((40, 30)), "TIFF", compression="tiff_adobe_deflate")),
], ids=["apng", "deflate-tiff"])


@DATA_CHECKS
def test_a_data_check_is_told_to_stop_once_the_render_fails_without_it(monkeypatch, module, check, make):
    """Left to run, it inflated the rest of the file on a worker that the next request's render needs."""
    told, finished = [], threading.Event()

    def waits_to_be_stopped(*arguments, stopped):
        deadline = time.monotonic() + 5
        while not stopped() and time.monotonic() < deadline:
            time.sleep(0.001)
        told.append(stopped())
        finished.set()

    def failing(*arguments):
        raise UnsupportedMedia("a frame that fails to decode")

    monkeypatch.setattr(module, check, waits_to_be_stopped)
    monkeypatch.setattr(edge.image, "rendered_frames", failing)
    with pytest.raises(UnsupportedMedia, match="a frame that fails to decode"):
        rendered(make(), "20x,png")
    assert finished.wait(10) and told == [True]


@DATA_CHECKS
def test_a_data_check_failing_on_anything_but_malformed_data_fails_the_render_with_that_error(
        monkeypatch, module, check, make):
    """Only malformed data is the original's fault (a 415); any other error is a bug of ours, never let pass."""
    class CheckBug(Exception):
        pass

    def failing(*arguments, stopped):
        raise CheckBug("the check's own failure")

    monkeypatch.setattr(module, check, failing)
    with pytest.raises(CheckBug):
        rendered(make(), "20x,png")


@pytest.mark.parametrize("compression", [8, 32946])
def test_a_tiled_tiff_whose_tiles_inflate_past_its_pixels_is_refused(compression):
    """16x16 in one 16x16 tile: at most 8 bytes a pixel, the tile's size added to each side (8192 bytes)."""
    image = Image.new("L", (16, 16))

    def inflating_to(size: int) -> bytes:
        return tiled_tiff(image, 16, [zlib.compress(bytes(size))], compression=compression)

    assert rendered(inflating_to(8192), "8x,png")[0].size == (8, 8)
    with pytest.raises(UnsupportedMedia, match="malformed TIFF: strip 0 inflates to more than the image's pixels"):
        rendered(inflating_to(8193), "8x,png")


def test_a_tiled_tiff_with_fewer_lengths_than_tiles_is_refused():
    with pytest.raises(UnsupportedMedia, match="malformed TIFF: 6 strip offsets for 5 lengths"):
        rendered(tiled_tiff(gradient((40, 30), "L"), 16, lengths=5), "8x,png")


def two_colour_png(chunks: bytes = b"") -> bytes:
    """8x2, its left half red and its right half blue, from a palette of two entries, with `chunks` after its PLTE."""
    palette = png_chunk(b"PLTE", bytes([255, 0, 0, 0, 0, 255]))
    return png_from_rows((8, 2), 8, 3, (b"\0" + bytes([0] * 4 + [1] * 4)) * 2, palette + chunks)


def after_the_pixels(data: bytes, chunk: bytes) -> bytes:
    end = data.index(b"IEND") - 4
    return data[:end] + chunk + data[end:]


@pytest.mark.parametrize("target", ["png", "jpeg", "webp"])
@pytest.mark.parametrize(("make", "entries"), [
    (two_colour_png, 3), (two_colour_png, 257),  # more alpha than palette entries
    (lambda chunk: after_the_pixels(two_colour_png(), chunk), 1),  # out of place
    (lambda chunk: after_the_pixels(two_colour_png(), chunk), 2),
    (lambda chunk: after_the_pixels(two_colour_png(), chunk), 257),
], ids=["3-entries", "257-entries", "1-entry-after-the-pixels", "2-entries-after-the-pixels",
        "257-entries-after-the-pixels"])
def test_palette_alpha_that_libpng_ignores_is_ignored(make, entries, target):
    """As browsers show such a PNG: opaque. Pillow applied it (and failed past 256 entries: a 500)."""
    _, output = rendered(make(png_chunk(b"tRNS", bytes(entries))), f"8x,{target}")
    _, opaque = rendered(two_colour_png(), f"8x,{target}")
    assert (output.mode, output.tobytes(), output.info.get("transparency")) == (opaque.mode, opaque.tobytes(), None)


def test_a_colour_key_after_the_pixels_is_ignored():
    grey = png_from_rows((2, 1), 8, 0, b"\0\x00\xff")
    _, output = rendered(after_the_pixels(grey, png_chunk(b"tRNS", b"\0\0")), "2x,png")
    assert (output.mode, output.tobytes(), output.info.get("transparency")) == ("L", b"\x00\xff", None)


def png_by_hand(colour_type: int, depth: int, samples: list[int], key: bytes | None = None) -> bytes:
    """One row of samples at a depth Pillow writes no PNG at (grey or RGB), with a tRNS colour key if given."""
    channels = 3 if colour_type == 2 else 1
    bits = "".join(format(sample, f"0{depth}b") for sample in samples)
    row = int(bits + "0" * (-len(bits) % 8), 2).to_bytes(-(-len(bits) // 8), "big")
    transparency = png_chunk(b"tRNS", key) if key is not None else b""
    return png_from_rows((len(samples) // channels, 1), depth, colour_type, b"\0" + row, transparency)


def test_sixteen_bit_rgb_png_becomes_eight_bit():
    # Pillow writes no 16-bit RGB PNG, so build one: 2x1 pixels, white and black.
    data = png_by_hand(2, 16, [0xFFFF] * 3 + [0] * 3)
    _, image = rendered(data, "2x,png")
    assert image.mode == "RGB"
    assert [image.getpixel((x, 0)) for x in range(2)] == [(255, 255, 255), (0, 0, 0)]


@pytest.mark.parametrize(("depth", "samples", "key", "transparent"), [
    (2, [0, 1, 3, 3, 1, 3], 1, [False, True, False, False, True, False]),
    (4, [0, 1, 3, 7, 7, 15], 7, [False, False, False, True, True, False]),
])
def test_low_bit_grey_keeps_its_transparent_value(depth, samples, key, transparent):
    """Pillow scales the samples up to 8 bits, not the key: matched as the samples are."""
    _, image = rendered(png_by_hand(0, depth, samples, key.to_bytes(2, "big")), f"{len(samples)}x,png")
    assert image.mode == "LA"
    assert [image.getpixel((x, 0))[1] == 0 for x in range(len(samples))] == transparent


def test_sixteen_bit_rgb_keeps_its_transparent_colour_by_its_high_bytes():
    """Pillow keeps each 16-bit sample's high byte: the key's pixel is transparent, a colour whose high bytes
    differ is not, and one that shares them (here one step away) cannot be told from the key."""
    key, near, far = (0x100, 0x200, 0x300), (0x101, 0x200, 0x300), (0x001, 0x002, 0x003)
    samples = [*key, *near, *far, 0xFFFF, 0xFFFF, 0xFFFF]
    _, image = rendered(png_by_hand(2, 16, samples, b"".join(v.to_bytes(2, "big") for v in key)), "4x,png")
    assert image.mode == "RGBA"
    assert [image.getpixel((x, 0))[3] for x in range(4)] == [0, 0, 255, 255]


# --- formats in ----------------------------------------------------------------


def one_wide_row(image_format: str) -> bytes:
    """An image of one row of 1,000,000 pixels (3 or 4 MB decoded); as a WebP, an animation's canvas of it,
    around two frames of one pixel (a fuzzer's shape, 138 bytes); as a turned TIFF, stored so and shown upright
    as a column (Orientation 6), its row as long as stored."""
    if image_format == "TIFF turned":
        return encoded(Image.new("RGB", (1_000_000, 1), (10, 20, 30)), "TIFF", tiffinfo={274: 6})
    if image_format != "WEBP":
        return encoded(Image.new("RGB", (1_000_000, 1), (10, 20, 30)), image_format)
    frames = [Image.new("RGBA", (1, 1), (255, 0, 0, 255)), Image.new("RGBA", (1, 1))]
    data = bytearray(encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True))
    data[24:27] = (1_000_000 - 1).to_bytes(3, "little")  # the VP8X canvas's width, less one
    return bytes(data)


@pytest.mark.parametrize("image_format", ["BMP", "TIFF", "TIFF turned", "WEBP"])
def test_a_row_far_longer_than_pillows_blocks_is_handed_to_its_decoder_once(monkeypatch, image_format):
    """Pillow hands a decoder the file in blocks, each joined to what the decoder left unread, and its raw decoder
    takes whole rows only: in blocks of 64 KB, a row of megabytes was handed over again for each block (a
    fuzzer's WebP of a 16,777,216-pixel row took 54 s)."""
    handed = []

    class Counted:
        def __init__(self, decoder):
            self.decoder = decoder

        def decode(self, data):
            handed.append(len(data))
            return self.decoder.decode(data)

        def __getattr__(self, name):
            return getattr(self.decoder, name)

    def counted(*args, get_decoder=Image._getdecoder):
        return Counted(get_decoder(*args))

    monkeypatch.setattr(Image, "_getdecoder", counted)
    source = open_source(one_wide_row(image_format), LIMITS)
    decode_pixels(source.image)
    assert sum(handed) <= 4 * 1_000_000  # each byte of the first frame's pixels, handed over once


@pytest.mark.parametrize(
    ("source_format", "mode", "options", "default_target"),
    [
        ("JPEG", "RGB", {}, "jpeg"),
        ("JPEG", "RGB", {"progressive": True}, "jpeg"),
        # What many phones write: a JPEG with more pictures after it, which Pillow opens as MPO.
        ("MPO", "RGB", {"save_all": True, "append_images": [Image.new("RGB", (200, 100))]}, "jpeg"),
        ("PNG", "RGB", {}, "png"),
        ("PNG", "RGBA", {}, "png"),
        ("GIF", "RGB", {}, "gif"),
        ("WEBP", "RGB", {}, "webp"),
        ("AVIF", "RGB", {}, "avif"),
        ("TIFF", "RGB", {}, "jpeg"),
        ("TIFF", "RGBA", {}, "png"),
        ("TIFF", "PA", {}, "png"),  # a palette with an alpha band, which Pillow opens as PA
        ("TIFF", "LA", {}, "png"),
        ("BMP", "RGB", {}, "jpeg"),
    ],
)
def test_every_source_format_is_decoded_and_keeps_or_picks_its_format(source_format, mode, options, default_target):
    data = encoded(gradient((200, 100), mode), source_format, **options)
    result, image = rendered(data, "100x")
    assert (result.format, image.size) == (default_target, (100, 50))


@pytest.mark.parametrize("target", ["jpeg", "png"])
def test_an_mpo_renders_byte_for_byte_as_its_first_picture_alone_as_a_jpeg(target):
    """Pillow names it MPO, but it is a JPEG with more pictures after it: decoded at reduced scale by libjpeg as a
    JPEG is (a full decode, then resampled, came out otherwise)."""
    picture = gradient((400, 200))
    mpo = encoded(picture, "MPO", save_all=True, append_images=[Image.new("RGB", (400, 200))])
    assert rendered(mpo, f"100x,{target}")[0].body == rendered(encoded(picture, "JPEG"), f"100x,{target}")[0].body


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64,
        b"%PDF-1.7\n",
        b"",
    ],
    ids=["svg", "heic", "pdf", "empty"],
)
def test_what_we_do_not_decode_is_415(data):
    """Logged by its first bytes: Pillow's message names its BytesIO's address, which made each log line unique."""
    with pytest.raises(UnsupportedMedia) as raised:
        rendered(data, "100x")
    named = "cannot identify image: no decoder of JPEG, PNG, GIF, WEBP, AVIF, TIFF, BMP opened it"
    assert raised.value.detail == f"{named}; it begins {data[:8]!r}"


@pytest.mark.parametrize("exif_first", [False, True], ids=["no-exif", "exif-before-the-pixels"])
def test_a_png_whose_compressed_pixels_are_corrupt_is_415(exif_first):
    """Without an eXIf chunk ahead of the pixels, Pillow decodes the whole PNG to look for one after
    them; that decode's failure must not be lost (a second load() returns the half-decoded image)."""
    data = png_with_corrupt_data()
    if exif_first:
        exif = Image.Exif()
        exif[0x0112] = 1
        header_end = data.index(b"IDAT") - 4
        data = data[:header_end] + png_chunk(b"eXIf", exif.tobytes()) + data[header_end:]
        assert "exif" in Image.open(io.BytesIO(data)).info
    with pytest.raises(UnsupportedMedia, match="cannot decode"):
        rendered(data, "100x")


@pytest.mark.parametrize("spec", ["32x", "600x,webp", "100x100,cover"])
def test_a_still_png_renders_the_same_inflated_on_the_worker_as_by_pillow_alone(monkeypatch, spec):
    data = encoded(gradient((500, 300), "RGBA"), "PNG")
    readers = []
    real = png.inflating_reader
    monkeypatch.setattr(png, "inflating_reader", lambda *args: readers.append(real(*args)) or readers[-1])
    worker, _ = rendered(data, spec)
    monkeypatch.setattr(png, "inflating_reader", lambda *args: None)
    pillow, _ = rendered(data, spec)
    assert [type(reader) for reader in readers] == [png.InflatingReader]
    assert readers[0].read() == data[-4:]  # Pillow read the PNG from it, up to IEND's CRC
    assert worker.body == pillow.body


def test_a_png_whose_metadata_after_the_pixels_is_broken_renders():
    """Browsers ignore metadata after the image data; Pillow read an iCCP there as it finished decoding, and one
    cut short before its compression method raised an IndexError (a 500 a fuzzer found)."""
    whole = encoded(gradient((32, 24)), "PNG")
    _, image = rendered(chunks_before_iend(whole, (b"iCCP", b"name\0")), "32x,png")
    assert image.tobytes() == Image.open(io.BytesIO(whole)).tobytes()


TEXT_BOMB = zlib.compress(bytes(2 * PngImagePlugin.MAX_TEXT_CHUNK))  # inflates past what Pillow inflates of a text


@pytest.mark.parametrize(("kind", "payload"), [
    (b"sRGB", b""), (b"gAMA", b""), (b"cHRM", bytes(4)), (b"pHYs", b""),  # cut short: Pillow's ValueError, a 415
    (b"zTXt", b"key\0\0" + TEXT_BOMB), (b"iTXt", b"key\0\1\0\0\0" + TEXT_BOMB),  # past Pillow's cap: a 415
    (b"tEXt", b"transparency\0" + b"0"),  # an RGB picture's colour key, to Pillow: a TypeError, a 500
    (b"eXIf", exif_of(6)),  # harmless yet: nothing reads the info after the decode
])
def test_metadata_chunks_after_the_pixels_are_skipped_as_browsers_skip_them(kind, payload):
    """Pillow reads each into the image's info as it finishes decoding, past every check; browsers ignore them and
    show the picture (CSS Images 3)."""
    whole = encoded(gradient((32, 24)), "PNG")
    data = chunks_before_iend(whole, (kind, payload))
    source = open_source(data, LIMITS)
    opened = dict(source.image.info)
    source.image.load()
    assert source.image.info == opened
    _, image = rendered(data, "32x,png")
    assert image.tobytes() == Image.open(io.BytesIO(whole)).tobytes()


@pytest.mark.parametrize("error", [OverflowError, AttributeError])
@pytest.mark.parametrize("reading", [
    (png.InflatingReader, "read"),  # on opening
    (PngImagePlugin.PngImageFile, "load_read"),  # on decoding, once opened
], ids=["open", "load"])
def test_a_bug_in_the_png_reader_stays_a_500(monkeypatch, error, reading):
    """Where a Pillow reader raises these on broken files (a TIFF's OverflowError, an AVIF's AttributeError), they
    are the original's fault, a 415; the PNG reader is ours, read inside the same calls."""
    def broken(*args):
        raise error("a bug")

    monkeypatch.setattr(*reading, broken)
    with pytest.raises(error):
        rendered(encoded(gradient((32, 24)), "PNG"), "16x,png")


# --- metadata -------------------------------------------------------------------

GPS_MARKER = b"52.3676N-secret-place"


def photo_with_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[0x1B] = "N", (52.0, 22.0, 3.36), GPS_MARKER.decode()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description dc:creator="secret-author"/></x:xmpmeta>'
    return encoded(gradient((120, 80)), "JPEG", exif=exif.tobytes(), comment=b"secret-comment", xmp=xmp)


@pytest.mark.parametrize("target", ["jpeg", "png", "webp", "avif", "gif"])
def test_exif_gps_xmp_and_comments_are_stripped(target):
    data = photo_with_metadata()
    source = Image.open(io.BytesIO(data))
    assert source.getexif() and source.info.get("comment") and source.info.get("xmp")  # the input really has them
    result, image = rendered(data, f"60x,{target}")
    for marker in (b"Exif", GPS_MARKER, b"CameraMaker", b"secret-author", b"secret-comment", b"xmpmeta"):
        assert marker not in result.body
    assert not image.getexif()
    assert not {"exif", "xmp", "comment"} & set(image.info)


# --- output ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_size", "spec"),
    [((1, 500), "x100"), ((500, 1), "100x"), ((1, 1), "100x100,cover"), ((10000, 3), "300x"),
     ((3, 3000), "1x1,cover"), ((3, 3000), "x1"), ((999, 333), "500x,webp"), ((640, 480), "640x480,fill")],
)
def test_output_size_is_exactly_the_plan_at_the_edges(source_size, spec):
    rendition = parse_rendition(f"/{spec}/key")
    result, image = rendered(encoded(gradient(source_size), "PNG"), spec)
    assert image.size == plan(source_size, rendition.width, rendition.height, rendition.fit).size


@pytest.mark.parametrize("target", ["jpeg", "png", "webp", "avif", "gif"])
@pytest.mark.parametrize("spec", ["300x", "200x200,cover"])
def test_output_is_deterministic(target, spec):
    data = encoded(gradient((1200, 900)), "JPEG", quality=90)
    first, _ = rendered(data, f"{spec},{target}")
    second, _ = rendered(data, f"{spec},{target}")
    assert first.body == second.body


def test_cover_crops_around_the_centre():
    source = Image.new("RGB", (300, 100), RED)
    source.paste(GREEN, (100, 0, 200, 100))
    _, image = rendered(encoded(source, "PNG"), "50x50,cover")
    assert image.size == (50, 50)
    assert {image.getpixel((x, y)) for x in range(50) for y in range(50)} == {GREEN}


def test_the_original_bytes_are_not_modified():
    data = photo_with_metadata()
    copy = bytes(data)
    rendered(data, "60x,webp")
    assert data == copy


def test_exif_transpose_matches_pillows_reference():
    stored, exif = stored_as(quadrants((60, 30)), 6)
    data = encoded(stored, "PNG", exif=exif)
    _, image = rendered(data, "60x,png")
    assert image.tobytes() == ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB").tobytes()
