"""What is refused before a pixel is decoded (edge/image/checks.py): the pixel limit read from an original's first
bytes, a side over a million pixels, and each output's largest side, what its encoder writes and its decoders read."""

import io
import struct
import warnings

import pytest
from PIL import Image
from PIL.TiffImagePlugin import (
    SAMPLESPERPIXEL, STRIPBYTECOUNTS, STRIPOFFSETS, TILEBYTECOUNTS, TILELENGTH, TILEOFFSETS, TILEWIDTH)

from edge.errors import BadRequest, SourceTooLarge, UnsupportedMedia
from edge.image import Limits, render
from edge.image.checks import (
    check_animation_pixels, check_encodable, check_jpeg_exif, check_jpeg_scans, check_pixels_in_head, check_tiff_layout,
    check_tiff_pieces, declared_size, jpeg_header, tiff_jpeg_markers, tiff_pieces, tiff_size, tiff_tile)
from edge.jpeg import PillowHeader
from edge.rendition import parse_rendition
from imaging import LIMITS, animation, encoded, gradient, png_from_rows, rendered, tiled_tiff


def test_over_the_pixel_limit_is_413_before_decoding():
    data = encoded(gradient((100, 100)), "PNG")
    with pytest.raises(SourceTooLarge):
        rendered(data, "10x", Limits(max_pixels=9_999, max_frames=300))


def jpeg_with_metadata_before_its_size(segments: int) -> bytes:
    """A JPEG whose frame header (its size) comes after `segments` APP15 segments of 60,000 bytes, as
    large EXIF thumbnails, ICC profiles and XMP packets put it."""
    data = encoded(gradient((90, 60)), "JPEG")
    padding = b"\xff\xef" + (60_002).to_bytes(2, "big") + b"\0" * 60_000
    return data[:2] + padding * segments + data[2:]


def bmp_spelling_webp() -> bytes:
    """A BMP whose reserved bytes and pixel offset (20,546) read "WEBP" where a WebP's RIFF header has it."""
    data = encoded(gradient((90, 60)), "BMP")
    offset = struct.unpack_from("<I", data, 10)[0]
    return data[:8] + b"WEBP" + data[12:offset] + bytes(0x5042 - offset) + data[offset:]


HEADS = {
    "jpeg": lambda: encoded(gradient((90, 60)), "JPEG"),
    "jpeg-progressive": lambda: encoded(gradient((90, 60)), "JPEG", progressive=True),
    "jpeg-after-180-kb-of-metadata": lambda: jpeg_with_metadata_before_its_size(3),
    "png": lambda: encoded(gradient((90, 60), "RGBA"), "PNG"),
    "apng": lambda: animation("PNG"),
    "gif": lambda: encoded(gradient((90, 60)), "GIF"),
    "gif-animated": lambda: animation("GIF"),
    "webp-lossy": lambda: encoded(gradient((90, 60)), "WEBP"),
    "webp-lossless": lambda: encoded(gradient((90, 60), "RGBA"), "WEBP", lossless=True),
    "webp-animated": lambda: animation("WEBP"),
    "bmp": lambda: encoded(gradient((90, 60)), "BMP"),
    "bmp-spelling-webp": bmp_spelling_webp,  # a WebP's "RIFF" before it, not "WEBP" alone
}
# Formats whose size only the whole file tells (edge.image.checks.tells_its_size_only_whole).
WHOLE_ONLY = {
    "avif": lambda: encoded(gradient((90, 60)), "AVIF"),
    "tiff": lambda: encoded(gradient((90, 60)), "TIFF"),
    "tiff-lzw": lambda: encoded(gradient((90, 60)), "TIFF", compression="tiff_lzw"),
    "bigtiff": lambda: encoded(gradient((90, 60)), "TIFF", big_tiff=True),
}


def cuts(data: bytes) -> list[int]:
    """Where to cut a file into a head: every byte of its first 2 KB, then 500 places through it."""
    return sorted({*range(min(len(data), 2048)), *range(0, len(data), max(1, len(data) // 500))})


@pytest.mark.parametrize("make", HEADS.values(), ids=HEADS.keys())
def test_a_head_tells_the_whole_files_size_or_nothing(make):
    """No head may claim another size than the whole file's; some head shorter than the file tells it;
    and no reader warns on a head cut short (a warning would be a log line on every miss)."""
    data = make()
    whole = Image.open(io.BytesIO(data)).size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        told = {cut: declared_size(data[:cut]) for cut in cuts(data)}
    assert set(told.values()) == {None, whole}
    assert declared_size(data) == whole


def test_metadata_before_the_size_postpones_the_check_to_a_later_piece():
    data = jpeg_with_metadata_before_its_size(3)
    assert declared_size(data[:64 * 1024]) is None
    assert declared_size(data[:len(data) - 100]) == (90, 60)


@pytest.mark.parametrize("make", HEADS.values(), ids=HEADS.keys())
def test_the_shortest_head_over_the_pixel_limit_is_refused_with_the_whole_files_message(make):
    data = make()
    width, height = Image.open(io.BytesIO(data)).size
    shortest = next(cut for cut in cuts(data) if declared_size(data[:cut]))
    while declared_size(data[: shortest - 1]):  # cuts() steps through a long file: find the very byte
        shortest -= 1
    head = data[:shortest]
    limits = Limits(max_pixels=width * height - 1, max_frames=300)
    assert check_pixels_in_head(head[:-1], limits) is False  # one byte less does not tell yet
    with pytest.raises(SourceTooLarge) as from_head:
        check_pixels_in_head(head, limits)
    with pytest.raises(SourceTooLarge) as from_file:
        rendered(data, "10x", limits)
    assert from_head.value.detail == from_file.value.detail == f"{width}x{height} is over {limits.max_pixels} pixels"
    assert check_pixels_in_head(head, Limits(max_pixels=width * height, max_frames=300)) is True


def grey_png_of(size: tuple[int, int]) -> bytes:
    """An 8-bit grey PNG of mid-grey rows, written by hand: a few KB for a million rows."""
    width, height = size
    return png_from_rows(size, 8, 0, (b"\0" + b"\x80" * width) * height)


@pytest.mark.parametrize("size", [(1, 1_000_001), (1_000_001, 1)], ids=["tall", "wide"])
def test_a_side_over_a_million_pixels_is_refused_from_the_head(size):
    """libpng's default limit, which Chromium 156 keeps (by hand: 1 x 1,000,001 does not show). Pillow holds a
    pointer a row: a PNG of 1 x 50,000,000 in 146 KB took 7 s and 2.5 GB (a helper's measure)."""
    data = grey_png_of(size)
    message = f"{size[0]}x{size[1]} has a side over 1000000 pixels"
    with pytest.raises(SourceTooLarge, match=message):
        check_pixels_in_head(data[:64 * 1024], LIMITS)
    with pytest.raises(SourceTooLarge, match=message):
        rendered(data, "x1")


def test_a_side_of_a_million_pixels_renders():
    result, image = rendered(grey_png_of((1, 1_000_000)), "x100")
    assert image.size == (1, 100) and image.convert("L").getpixel((0, 50)) == 0x80


@pytest.mark.parametrize("make", WHOLE_ONLY.values(), ids=WHOLE_ONLY.keys())
def test_a_format_that_tells_its_size_only_whole_is_left_to_the_whole_file(make):
    data = make()
    limits = Limits(max_pixels=1, max_frames=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert {check_pixels_in_head(data[:cut], limits) for cut in cuts(data) if cut >= 8} == {True}
    with pytest.raises(SourceTooLarge):
        rendered(data, "10x", limits)


# The first 8 bytes of each: classic TIFF and BigTIFF, little- and big-endian (Pillow writes no big-endian BigTIFF
# it reads back).
@pytest.mark.parametrize("head", [b"II*\0\x08\0\0\0", b"MM\0*\0\0\0\x08", b"II+\0\x08\0\0\0", b"MM\0+\0\x08\0\0"],
                         ids=["tiff", "tiff-big-endian", "bigtiff", "bigtiff-big-endian"])
def test_a_tiff_of_either_byte_order_is_left_to_the_whole_file_from_its_header(head):
    assert check_pixels_in_head(head, Limits(max_pixels=1, max_frames=300)) is True


@pytest.mark.parametrize("image_format", ["PPM", "PCX", "TGA", "QOI"])
def test_a_format_pillow_opens_and_we_do_not_decode_tells_no_size(image_format):
    """Over the pixel limit, it is still not an image we decode: a 415, not a 413."""
    data = encoded(gradient((90, 60)), image_format)
    limits = Limits(max_pixels=1, max_frames=300)
    assert (declared_size(data), check_pixels_in_head(data, limits)) == (None, False)
    with pytest.raises(UnsupportedMedia, match="^cannot identify image"):
        rendered(data, "10x", limits)


@pytest.mark.parametrize(("target", "width", "readable"), [
    ("avif", 32_768, True), ("avif", 32_769, False), ("png", 1_000_000, True),
])
def test_an_output_is_never_wider_than_decoders_read(target, width, readable):
    """A panorama asked for by height keeps its width; an image no decoder would open is a 400, not stored. (No
    PNG is wider than PNG's decoders read: no original's side may be, and nothing is enlarged.)"""
    data = encoded(Image.new("L", (width, 1), 128), "PNG")
    if not readable:
        with pytest.raises(BadRequest) as refused:
            render(data, parse_rendition(f"/x1,{target}/key"), LIMITS)
        assert refused.value.public_message == f"Too large for {target}."
        return
    _, image = rendered(data, f"x1,{target}")
    assert (image.format, image.size) == (target.upper(), (width, 1))


def refusal(check, *args) -> str | None:
    """What SourceTooLarge says of a check's arguments; None where it passes them."""
    try:
        check(*args)
    except SourceTooLarge as refused:
        return refused.detail
    return None


@pytest.mark.parametrize(("frames", "most", "expected"), [
    (2, 128, None), (2, 127, "2 frames of 8x8 are over 127 pixels"),
    (1, 63, None),  # a still is not an animation: its own size is checked against the limit alone
])
def test_an_animations_frames_fit_the_pixel_limit_together(frames, most, expected):
    assert refusal(check_animation_pixels, frames, (8, 8), Limits(max_pixels=most, max_frames=300)) == expected


@pytest.mark.parametrize(("pieces", "expected"), [
    ([(0, 1_000)], None), ([(100, 500), (0, 500)], None),
    ([(100, 500), (0, 501)], "TIFF whose strips or tiles share bytes, adding up to more than the file"),
    ([(900, 5_000)], None),  # counted as far as the file goes
    ([(0, 1_000), (2_000, 5)], None),  # a strip wholly past the end counts nothing
    ([(0, 1_000), (0, 1), (2_000, 5)], "TIFF whose strips or tiles share bytes, adding up to more than the file"),
], ids=["the-whole-file", "sharing-as-many-bytes", "a-byte-more", "past-the-end", "beyond-the-end",
        "a-byte-more-beside-one-beyond-the-end"])
def test_a_tiffs_strips_may_add_up_to_the_files_bytes_and_no_more(pieces, expected):
    data = encoded(gradient((10, 10)), "TIFF").ljust(1_000, b"\0")
    with Image.open(io.BytesIO(data)) as image:
        assert refusal(check_tiff_pieces, image, pieces, data, LIMITS) == expected


# What each encoder writes (libjpeg 65,500, libwebp 16,383, GIF's 16 bits) and its decoders read (libavif's default,
# libpng's): spelled out, as edge.image.checks.MAX_SIDE states them.
@pytest.mark.parametrize(("target", "side"), [
    ("jpeg", 65_500), ("png", 1_000_000), ("webp", 16_383), ("avif", 32_768), ("gif", 65_535)])
@pytest.mark.parametrize("turned", [False, True], ids=["wide", "tall"])
def test_each_outputs_largest_side_is_encodable_and_one_more_is_refused(target, side, turned):
    def size(long_side: int) -> tuple[int, int]:
        return (1, long_side) if turned else (long_side, 1)

    check_encodable(size(side), target)
    with pytest.raises(BadRequest) as refused:
        check_encodable(size(side + 1), target)
    assert refused.value.public_message == f"Too large for {target}."


def test_what_is_checked_against_an_encoders_limit_is_the_output():
    """A source wider than WebP can hold, scaled down into it, is fine."""
    _, image = rendered(encoded(Image.new("L", (16_384, 10), 128), "PNG"), "100x,webp")
    assert (image.format, image.size) == ("WEBP", (100, 1))


# --- a JPEG's limits, at the values docs/SECURITY.md states and one past them --------------------------------------

SCAN_PIXELS_REFUSAL = "JPEG whose scans decode more than 1200000000 pixels of components"


@pytest.mark.parametrize(("comments", "expected"), [
    (100_000, None), (100_001, "JPEG header of more than 100000 markers, or bytes of junk or fill")])
def test_a_jpeg_header_of_more_than_100_000_steps_is_too_large(comments, expected):
    """A step for each empty comment after the start of image, the file ending there."""
    assert refusal(jpeg_header, b"\xff\xd8" + b"\xff\xfe\x00\x02" * comments) == expected


@pytest.mark.parametrize(("segments", "expected"), [(64, None), (65, "JPEG of more than 64 Exif segments")])
def test_a_jpegs_exif_in_more_than_64_segments_is_too_large(segments, expected):
    assert refusal(check_jpeg_exif, [b""] * segments) == expected


def scans_header(height: int, arithmetic: bool = False) -> PillowHeader:
    return PillowHeader(size=(1, height), exif=[], icc=[], icc_stubs=[], first_scan=0, arithmetic=arithmetic)


@pytest.mark.parametrize(("components", "header", "expected"), [
    ([1] * 100, scans_header(1), None),
    ([1] * 101, scans_header(1), "JPEG of more than 100 scans"),
    ([1, 2], scans_header(400_000_000), None),
    ([1, 2], scans_header(400_000_001), SCAN_PIXELS_REFUSAL),
    ([1], scans_header(300_000_000, arithmetic=True), None),  # counted four times
    ([1], scans_header(300_000_001, arithmetic=True), SCAN_PIXELS_REFUSAL),
    ([1] * 100, PillowHeader(size=None, exif=[], icc=[], icc_stubs=[], first_scan=0, arithmetic=False), None),
], ids=["100-scans", "101-scans", "at-the-pixels", "a-pixel-more", "arithmetic-at-the-pixels",
        "arithmetic-a-pixel-more", "no-frame-header"])
def test_a_jpegs_scans_are_held_to_100_and_to_1_200_000_000_pixels_of_components(components, header, expected):
    assert refusal(check_jpeg_scans, components, header) == expected


# --- a TIFF's tags, as its decoders and these checks read them -------------------------------------------------------

TILED = tiled_tiff(gradient((16, 16), "L"), 16)
STRIPS = encoded(gradient((16, 16), "L"), "TIFF", compression="tiff_lzw")  # Pillow writes no SamplesPerPixel for it


def with_tags(data: bytes, removed: tuple[int, ...] = (), added: tuple[int, ...] = ()) -> Image.Image:
    """The TIFF opened, these tags taken from its directory and these given the value 16."""
    image = Image.open(io.BytesIO(data))
    for tag in removed:
        del image.tag_v2[tag]
    for tag in added:
        image.tag_v2[tag] = 16
    return image


BESIDE, WITH, WITHOUT = ("malformed TIFF: " + what for what in (
    "strip offsets or byte counts beside tile ones", "strip offsets or byte counts with a tile size",
    "tile offsets or byte counts without a tile size"))


# Either entry of a pair says there are strips, or tiles, or a tile size.
@pytest.mark.parametrize(("data", "removed", "added", "expected"), [
    (TILED, (), (STRIPOFFSETS,), BESIDE), (TILED, (), (STRIPBYTECOUNTS,), BESIDE),
    (STRIPS, (), (TILEOFFSETS,), BESIDE), (STRIPS, (), (TILEBYTECOUNTS,), BESIDE),
    (STRIPS, (), (TILEWIDTH,), WITH), (STRIPS, (), (TILELENGTH,), WITH),
    (TILED, (TILEWIDTH, TILELENGTH), (), WITHOUT),
    (TILED, (TILEOFFSETS, TILEBYTECOUNTS), (), None),  # a tile size, and no pieces to be read otherwise
    (TILED, (), (), None), (STRIPS, (), (), None),
], ids=["tiles-and-strip-offsets", "tiles-and-strip-byte-counts", "strips-and-tile-offsets",
        "strips-and-tile-byte-counts", "strips-and-a-tile-width", "strips-and-a-tile-length", "tiles-of-no-size",
        "a-tile-size-alone", "tiles", "strips"])
def test_a_tiff_whose_pieces_its_decoders_would_read_otherwise_is_refused(data, removed, added, expected):
    try:
        check_tiff_layout(with_tags(data, removed, added))
    except UnsupportedMedia as refused:
        assert refused.detail == expected
    else:
        assert expected is None


@pytest.mark.parametrize(("removed", "expected"), [
    (STRIPOFFSETS, "malformed TIFF: 0 strip offsets for 1 lengths"),
    (STRIPBYTECOUNTS, "malformed TIFF: 1 strip offsets for 0 lengths"),
])
def test_a_tiffs_strip_offsets_or_byte_counts_alone_are_refused(removed, expected):
    with pytest.raises(UnsupportedMedia) as refused:
        tiff_pieces(with_tags(STRIPS, (removed,)))
    assert refused.value.detail == expected


def test_a_tiff_size_whose_tag_is_absent_is_1():
    """A strip TIFF's tile size, and the SamplesPerPixel that Pillow does not write for a grey one."""
    image = Image.open(io.BytesIO(STRIPS))
    assert (tiff_tile(image), tiff_size(image, SAMPLESPERPIXEL)) == ((1, 1), 1)


@pytest.mark.parametrize(("pieces", "most"), [(0, 100_000), (1, 100_000), (2, 100_000), (3, 87_381), (65_536, 4)])
def test_each_jpeg_strips_frame_header_is_sought_within_an_equal_share_of_the_markers(pieces, most):
    """No more than a JPEG's own header's steps for one strip, or none (a JPEG TIFF of no strips divides no share)."""
    assert tiff_jpeg_markers(pieces) == most
