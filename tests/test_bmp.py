"""edge/bmp.py: a run-length coded BMP's size, read as Pillow reads it; and the limits on what Pillow
decodes of one in Python, checked before it opens it."""

import io
import re
import struct

import pytest
from PIL import Image

import edge.image.source
from edge import bmp
from edge.errors import SourceTooLarge, UnsupportedMedia
from edge.image import render
from edge.image.source import open_source
from edge.rendition import parse_rendition
from imaging import DISPLAY_P3, LIMITS, encoded, gradient, rendered

RLE8, RLE4 = 1, 2
END_OF_LINE, END_OF_BITMAP = b"\x00\x00", b"\x00\x01"


def rle_bmp(width: int, height: int, coded: bytes, compression: int = RLE8, header_size: int = 40,
            colours: list[tuple[int, int, int]] | None = None) -> bytes:
    """A BMP of a grey palette (index i is grey i, 4-bit ones grey 17 i), or of `colours`, its pixels `coded`
    by `compression`; a negative height is a top-down BMP's."""
    bits = 8 if compression == RLE8 else 4
    step = 255 // ((1 << bits) - 1)
    colours = colours or [(step * index,) * 3 for index in range(1 << bits)]
    palette = b"".join(bytes((blue, green, red, 0)) for red, green, blue in colours)
    info = struct.pack("<IiiHHIIiiII", header_size, width, height, 1, bits, compression, len(coded), 2835, 2835,
                       len(colours), 0) + bytes(header_size - 40)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(coded), 0, 0, offset) + info + palette + coded


def runs(rows: list[list[tuple[int, int]]]) -> bytes:
    """Each row's (count, index) runs, bottom row first as a BMP stores them, each row ended."""
    return b"".join(b"".join(bytes(run) for run in row) + END_OF_LINE for row in rows) + END_OF_BITMAP


@pytest.mark.parametrize(("compression", "header_size"), [(RLE8, 40), (RLE4, 40), (RLE8, 52), (RLE4, 56), (RLE8, 64),
                                                         (RLE8, 124), (RLE4, 108)])
def test_a_run_length_coded_bmp_is_decoded_by_pillow_at_the_size_read(compression, header_size):
    index = 0x12 if compression == RLE8 else 0x31  # 4-bit pixels alternate between a byte's two halves
    data = rle_bmp(4, 2, runs([[(4, index)], [(2, index), (2, 0)]]), compression, header_size)
    image = Image.open(io.BytesIO(data))
    assert bmp.run_length_coding(data) == bmp.RunLengthCoding(image.size, depth_fits=True)
    assert image.size == (4, 2)
    grey = [0x12, 0x12, 0x12, 0x12] if compression == RLE8 else [0x33, 0x11, 0x33, 0x11]
    assert list(image.convert("L").tobytes()) == [*grey[:2], 0, 0, *grey]  # the first row stored is the bottom


def test_the_header_is_read_up_to_the_compression():
    data = rle_bmp(4, 2, runs([[(4, 1)]] * 2))
    assert bmp.run_length_coding(data[:34]).size == (4, 2)


def test_a_top_down_bmps_height_is_counted_down():
    data = rle_bmp(4, -3, runs([[(4, 1)]] * 3))
    assert bmp.run_length_coding(data).size == Image.open(io.BytesIO(data)).size == (4, 3)


@pytest.mark.parametrize("data", [
    encoded(gradient((4, 2)), "BMP"),  # uncompressed
    rle_bmp(4, 1, runs([[(4, 1)]]))[:33],  # cut before its compression
    # OS/2's core header, a 1 where a longer header's compression (RLE8) would be
    b"BM" + struct.pack("<IHHIIHHHH", 40, 0, 0, 26, 12, 4, 1, 1, 8) + bytes(4) + b"\x01" + bytes(7),
    rle_bmp(4, 1, runs([[(4, 1)]]), header_size=44),  # a header size Pillow does not know
    encoded(gradient((4, 2)), "PNG"),
    b"BA" + rle_bmp(4, 1, runs([[(4, 1)]]))[2:],  # OS/2's bitmap array, which Pillow does not open
    # a header size of 40 and 2**24: four bytes, not three
    (lambda data: data[:14] + struct.pack("<I", 0x0100_0028) + data[18:])(rle_bmp(4, 1, runs([[(4, 1)]]))),
], ids=["uncompressed", "cut", "core-header", "unknown-header", "png", "bitmap-array", "header-size-past-24-bits"])
def test_what_is_not_run_length_coded_has_no_size_here(data):
    assert bmp.run_length_coding(data) is None


# --- run-length coded pixels, as Chromium 156 decodes them -----------------------

RED_GREEN_BLUE = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
SHOWN = {"R": (255, 0, 0), "G": (0, 255, 0), "B": (0, 0, 255), "K": (0, 0, 0), "W": (255, 255, 255)}
R, G, B = 0, 1, 2  # RED_GREEN_BLUE's indices


def shown_rows(data: bytes) -> str:
    """The rendered pixels, top row first, rows apart by "/", each pixel by its letter in SHOWN."""
    _, image = rendered(data, f"{Image.open(io.BytesIO(data)).width}x,png")
    image = image.convert("RGB")
    letters = {colour: letter for letter, colour in SHOWN.items()}
    pixels = list(image.get_flattened_data())
    return "/".join("".join(letters[pixel] for pixel in pixels[start:start + image.width])
                    for start in range(0, len(pixels), image.width))


# Each shown as Chromium 156 showed it, by hand: 4x3 RLE8 of red, green and blue, bottom row stored first.
@pytest.mark.parametrize(("coded", "rows"), [
    (bytes([4, G, 0, 0, 4, B, 0, 0, 4, R]) + END_OF_LINE + END_OF_BITMAP, "RRRR/BBBB/GGGG"),
    (bytes([4, G, 0, 0, 4, B, 0, 0, 4, R]) + END_OF_LINE, "RRRR/BBBB/GGGG"),  # past the last row: done
    (bytes([4, G]) + END_OF_LINE + END_OF_BITMAP, "KKKK/KKKK/GGGG"),
    (bytes([2, G]) + END_OF_BITMAP, "KKKK/KKKK/GGKK"),
    (bytes([2, G, 0, 0, 4, B, 0, 0, 4, G]) + END_OF_BITMAP, "GGGG/BBBB/GGKK"),
    (bytes([4, G, 0, 0, 0, 0, 4, B, 0, 0, 4, R]) + END_OF_BITMAP, "BBBB/KKKK/GGGG"),  # an end of line skips a row
    (bytes([0, 0, 4, G, 0, 0, 4, B, 0, 0, 4, R]) + END_OF_BITMAP, "BBBB/GGGG/KKKK"),
    (bytes([6, G, 0, 0, 4, B, 0, 0, 4, R]) + END_OF_BITMAP, "RRRR/BBBB/GGGG"),  # a run cut at the row's end
    (bytes([6, G, 2, B, 4, R]) + END_OF_BITMAP, "KKKK/KKKK/GGGG"),  # and the row's runs after it
    (bytes([0, 6, G, G, G, G, B, B, 0, 0, 4, B, 0, 0, 4, R]) + END_OF_BITMAP, "RRRR/BBBB/GGGG"),  # a literal
    (bytes([0, 6, G, G, G, G, B, B, 2, B, 4, R]) + END_OF_BITMAP, "KKKK/KKKK/GGGG"),
    (bytes([1, G, 0, 2, 2, 1, 1, B, 0, 0, 4, B]) + END_OF_BITMAP, "BBBB/KKKB/GKKK"),  # a delta
    (bytes([2, G, 0, 2, 5, 0, 2, B, 0, 0, 4, R]) + END_OF_BITMAP, "KKKK/RRRR/GGKK"),  # past the row's end
    (bytes([2, G, 0, 2, 0, 5, 2, B]) + END_OF_BITMAP, "KKKK/KKKK/GGKK"),  # past the last row
    (bytes([4, 7, 0, 0, 4, B, 0, 0, 4, R]) + END_OF_BITMAP, "RRRR/BBBB/KKKK"),  # an index past the palette
], ids=["whole", "no-end-of-bitmap-after-the-last-row", "ends-after-a-row", "ends-mid-row", "row-ended-early",
        "two-ends-of-line", "starts-with-an-end-of-line", "run-past-the-row", "runs-past-the-row",
        "literal-past-the-row", "literals-past-the-row", "delta", "delta-past-the-row", "delta-past-the-last-row",
        "index-past-the-palette"])
def test_run_length_coded_pixels_are_decoded_as_chromium_decodes_them(coded, rows):
    assert shown_rows(rle_bmp(4, 3, coded, colours=RED_GREEN_BLUE)) == rows


def test_a_top_down_run_length_coded_bmp_is_decoded_from_its_top():
    coded = bytes([4, G, 0, 0, 0, 0, 4, B]) + END_OF_LINE + END_OF_BITMAP
    assert shown_rows(rle_bmp(4, -3, coded, colours=RED_GREEN_BLUE)) == "GGGG/KKKK/BBBB"


@pytest.mark.parametrize(("width", "coded", "rows"), [
    (3, bytes([5, 0x12, 0, 0, 3, 0x22]) + END_OF_BITMAP, "BBB/GBG"),
    (5, bytes([0, 5, 0x12, 0x01, 0x20, 0]) + END_OF_LINE + bytes([2, 0x21]) + END_OF_BITMAP, "BGKKK/GBRGB"),
], ids=["runs", "literal"])
def test_4_bit_pixels_alternate_as_chromium_decodes_them(width, coded, rows):
    assert shown_rows(rle_bmp(width, 2, coded, RLE4, colours=RED_GREEN_BLUE)) == rows


@pytest.mark.parametrize(("colours", "coded", "rows"), [
    ([(0, 0, 0), (255, 255, 255)], bytes([2, 1, 2, 2, 0, 0, 4, 0]) + END_OF_BITMAP, "KKKK/WWKK"),
    ([(0, 0, 0), (255, 255, 255)], bytes([2, 1, 0, 0, 4, 1]) + END_OF_BITMAP, "WWWW/WWKK"),
    ([(255, 0, 0)] * 255 + [(0, 255, 0)], bytes([2, 255, 0, 0, 4, 0]) + END_OF_BITMAP, "RRRR/GGKK"),
    ([(255, 0, 0)] * 200 + [(0, 0, 0)] + [(0, 255, 0)] * 55, bytes([2, 255]) + END_OF_BITMAP, "KKKK/GGKK"),
    ([(255, 0, 0)] * 255 + [(0, 255, 0)], bytes([4, 255, 0, 0, 4, 0]) + END_OF_BITMAP, "RRRR/GGGG"),  # none left
    ([(level,) * 3 for level in range(256)], bytes([2, 255]) + END_OF_BITMAP, "KKKK/WWKK"),  # read as grey pixels
], ids=["black-and-white", "black-and-white-ended-early", "256-colours-none-black", "256-colours-one-black",
        "256-colours-none-black-every-pixel-written", "256-greys"])
def test_pixels_left_unwritten_are_black_whatever_the_palette(colours, coded, rows):
    """Chromium 156 shows them black (by hand: a palette of 256 without black too), where Pillow had shown
    palette entry 0."""
    assert shown_rows(rle_bmp(4, 2, coded, colours=colours)) == rows


@pytest.mark.parametrize(("colours", "mode"), [
    ([(255, 0, 0)] * 200 + [(0, 0, 0)] + [(0, 255, 0)] * 55, "P"),
    ([(255, 0, 0)] * 255 + [(0, 255, 0)], "RGB"),
    ([(255, 0, 0), (0, 255, 0)], "P"),  # black taken in as a third entry
    ([(255, 0, 0)] * 254 + [(0, 255, 0)], "P"),  # ...as the 256th
], ids=["256-colours-one-black", "256-colours-none-black", "2-colours-none-black", "255-colours-none-black"])
def test_a_run_length_coded_bmp_stays_paletted_where_its_palette_holds_black(colours, mode):
    """Its unwritten pixels take a black of the palette, its own or one taken in after its colours, a byte a pixel;
    only a palette of 256 without black, which has no room for one, has the pixels decoded as RGB, three bytes each,
    to show them black."""
    source = open_source(rle_bmp(4, 2, bytes([2, 255]) + END_OF_BITMAP, colours=colours), LIMITS)
    source.image.load()
    assert source.image.mode == mode


@pytest.mark.parametrize("coded", [
    bytes([4, G, 0, 0]),
    bytes([4, G, 0, 0, 4, B, 0, 0, 4, R]),  # every pixel, yet no end of line or of bitmap after the last row
    bytes([4, G, 0, 0, 0, 4, B, B]),
    bytes([4, G, 0, 2, 1]),
    bytes([4, G, 0]),
], ids=["after-an-end-of-line", "after-the-last-pixel", "in-a-literal", "in-a-delta", "in-a-pair"])
def test_run_length_coded_pixels_cut_short_are_refused(coded):
    """A file cut short, of which Chromium shows the rows that came, transparent beyond them."""
    with pytest.raises(UnsupportedMedia, match="before their end-of-bitmap"):
        shown_rows(rle_bmp(4, 3, coded, colours=RED_GREEN_BLUE))


def test_run_length_coded_pixels_left_unwritten_take_the_fill_and_are_told():
    indices, unwritten = bmp.run_length_pixels(bytes([2, 7, 0, 2, 1, 1, 1, 9]) + END_OF_BITMAP, 4, 3, rle4=False,
                                               fill=5)
    assert list(indices) == [7, 7, 5, 5, 5, 5, 5, 9, 5, 5, 5, 5]
    assert list(unwritten) == [0, 0] + [255] * 5 + [0] + [255] * 4
    assert bmp.run_length_pixels(bytes([4, 7, 0, 0, 4, 9]) + END_OF_BITMAP, 4, 2, rle4=False, fill=5)[1] is None


def test_a_literal_after_a_delta_is_written_where_the_delta_moved_to():
    delta, literal = bytes([0, 2, 1, 0]), bytes([0, 3, 7, 8, 9, 0])  # one pixel right; three pixels, padded
    indices, unwritten = bmp.run_length_pixels(delta + literal + END_OF_BITMAP, 4, 1, rle4=False, fill=5)
    assert (list(indices), list(unwritten)) == ([5, 7, 8, 9], [255, 0, 0, 0])
    assert bmp.run_length_pixels(bytes([1, 4]) + literal + END_OF_BITMAP, 4, 1, rle4=False, fill=5) == (
        bytearray([4, 7, 8, 9]), None)


@pytest.mark.parametrize(("rle4", "value", "expected"), [
    (False, 7, [7] * 255), (False, 255, [255] * 255), (True, 7, [0, 7] * 127 + [0]), (True, 255, [15] * 255),
], ids=["rle8", "rle8-of-255", "rle4", "rle4-of-255"])
def test_a_run_of_the_most_pixels_a_count_holds_is_written_whole(rle4, value, expected):
    """A count is a byte: 255 pixels of any byte, RLE4's alternating between the byte's two halves."""
    indices, unwritten = bmp.run_length_pixels(bytes([255, value]) + END_OF_BITMAP, 255, 1, rle4=rle4, fill=5)
    assert (list(indices), unwritten) == (expected, None)


@pytest.mark.parametrize(("bits", "compression"), [(1, RLE8), (4, RLE8), (1, RLE4), (8, RLE4)])
def test_a_depth_its_compression_does_not_code_is_refused(pillow_opens, bits, compression):
    """As Chromium 156 refuses it (a reviewer's measure); Pillow decoded it."""
    data = bytearray(rle_bmp(4, 1, bytes([2, 1, 1, 2, 1, 0]) + END_OF_BITMAP, compression, colours=RED_GREEN_BLUE))
    data[28:30] = bits.to_bytes(2, "little")
    with pytest.raises(UnsupportedMedia, match="^run-length coded BMP of a depth its compression does not code"):
        render(bytes(data), parse_rendition("/4x,png/a.bmp"), LIMITS)
    assert pillow_opens == []


# The limits docs/SECURITY.md states: 2,100,000 pixels, 2.5 MiB.
MOST_RLE_PIXELS, MOST_RLE_BYTES = 2_100_000, 5 * 1024 * 1024 // 2
EIGHT_BY_EIGHT = rle_bmp(8, 8, runs([[(8, 7)]] * 8))


def padded_to(size: int) -> bytes:
    """EIGHT_BY_EIGHT, `size` bytes long: what follows its end of bitmap is never read."""
    return EIGHT_BY_EIGHT + bytes(size - len(EIGHT_BY_EIGHT))


@pytest.mark.parametrize("data", [rle_bmp(2100, MOST_RLE_PIXELS // 2100, END_OF_BITMAP), padded_to(MOST_RLE_BYTES)],
                         ids=["pixels", "bytes"])
def test_a_run_length_coded_bmp_at_the_limits_renders(data):
    _, image = rendered(data, "4x")
    assert image.width == 4


# A tall one's pixels are its width times its height too: 3 x 700,001, each side under a million.
@pytest.mark.parametrize("data", [rle_bmp(MOST_RLE_PIXELS + 1, 1, END_OF_BITMAP), padded_to(MOST_RLE_BYTES + 1),
                                  rle_bmp(3, MOST_RLE_PIXELS // 3 + 1, END_OF_BITMAP)],
                         ids=["a-pixel-more", "a-byte-more", "a-pixel-more-tall"])
def test_a_run_length_coded_bmp_past_a_limit_is_too_large_before_pillow_opens_it(pillow_opens, data):
    with pytest.raises(SourceTooLarge, match="^run-length coded BMP of more than 2621440 bytes or 2100000 pixels, "
                                             "which is decoded in Python$"):
        render(data, parse_rendition("/4x/a.png"), LIMITS)
    assert pillow_opens == []


# --- palettes and profiles, as Chromium reads them ------------------------------

def paletted_bmp(bits: int, palette: list[tuple[int, int, int]], rows: list[list[int]]) -> bytes:
    """An uncompressed BMP of `bits` per pixel, its rows of palette indices given top first."""
    stride = (len(rows[0]) * bits + 31) // 32 * 4
    packed = []
    for row in rows:
        per_byte = 8 // bits
        padded = row + [0] * (-len(row) % per_byte)
        line = bytes(sum(index << bits * (per_byte - 1 - at) for at, index in enumerate(padded[start:start + per_byte]))
                     for start in range(0, len(padded), per_byte))
        packed.append(line + bytes(stride - len(line)))
    pixels = b"".join(reversed(packed))  # bottom row first
    info = struct.pack("<IiiHHIIiiII", 40, len(rows[0]), len(rows), 1, bits, 0, len(pixels), 2835, 2835,
                       len(palette), 0)
    entries = b"".join(bytes((blue, green, red, 0)) for red, green, blue in palette)
    offset = 14 + len(info) + len(entries)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + entries + pixels


BLACK_AND_WHITE = [(0, 0, 0), (255, 255, 255)]
SIXTEEN_GREYS = [(level, level, level) for level in range(16)]
# More entries than 8 bits index, which Pillow takes for greys by their low byte: it failed on them (a 500).
MORE_GREYS = [(level & 255, level & 255, level & 255) for level in range(300)]


# Pillow reads a palette of greys as grey pixels of its depth: the first two came out all black, the third
# was refused. The next two it reads rightly, and are read as before. Chromium 156 shows each by its palette.
@pytest.mark.parametrize(("bits", "palette"), [(8, BLACK_AND_WHITE), (4, BLACK_AND_WHITE), (4, SIXTEEN_GREYS),
                                               (8, SIXTEEN_GREYS), (1, BLACK_AND_WHITE), (8, MORE_GREYS),
                                               (4, MORE_GREYS)])
def test_a_bmp_of_grey_palette_is_read_by_its_palette(bits, palette):
    rows = [[(2 * x + y) % min(len(palette), 1 << bits) for x in range(7)] for y in range(5)]
    _, image = rendered(paletted_bmp(bits, palette, rows), "7x,png")
    assert image.size == (7, 5)
    assert list(image.convert("RGB").get_flattened_data()) == [palette[index] for row in rows for index in row]


ALL_GREYS = [(level, level, level) for level in range(256)]


@pytest.mark.parametrize(("bits", "palette"), [(1, BLACK_AND_WHITE), (8, ALL_GREYS)])
def test_a_bmp_of_the_greys_its_depth_indexes_comes_out_grey(bits, palette):
    """Pillow reads these as grey pixels rightly, and they are left so: read by their palette instead, they came
    out in colour (RGB), three samples a pixel for one."""
    rows = [[(37 * x + 11 * y) % len(palette) for x in range(7)] for y in range(5)]
    _, image = rendered(paletted_bmp(bits, palette, rows), "7x,png")
    assert image.mode == "L"
    assert list(image.get_flattened_data()) == [palette[index][0] for row in rows for index in row]


@pytest.mark.parametrize(("bits", "palette", "row", "shown"), [
    (8, SIXTEEN_GREYS, [200, 3, 15, 16, 255], [0, 3, 15, 0, 0]),
    (1, [(0, 0, 0)], [0, 1, 1, 0, 1], [0] * 5),  # one entry, black: Pillow read the 1-bit pixels as black and white
], ids=["8-bit", "1-bit"])
def test_an_index_past_a_bmps_palette_is_black(bits, palette, row, shown):
    """As Chromium 156 shows it (a helper's measure): Pillow had read these greys as their own values."""
    _, image = rendered(paletted_bmp(bits, palette, [row]), "5x,png")
    assert list(image.convert("L").get_flattened_data()) == shown


CORE_HEADER_BMP = b"BM" + struct.pack("<IHHIIHHHH", 26 + 6, 0, 0, 26 + 6, 12, 1, 1, 1, 1) + bytes(6)  # 1-bit, 1x1


@pytest.mark.parametrize(("data", "size"), [
    (CORE_HEADER_BMP, (1, 2)),  # an OS/2 core header counts no entries: as many as the depth gives
    (CORE_HEADER_BMP[:26], (1, 2)),
    (CORE_HEADER_BMP[:25], None),  # cut before its depth
    (paletted_bmp(4, SIXTEEN_GREYS[:3], [[0, 1, 2]]), (4, 3)),  # the entries the header counts
    (paletted_bmp(4, SIXTEEN_GREYS[:3], [[0, 1, 2]])[:50], (4, 3)),
    (paletted_bmp(4, SIXTEEN_GREYS[:3], [[0, 1, 2]])[:49], None),  # cut before its count
    (encoded(gradient((4, 2)), "BMP"), None),  # 24 bits a pixel: no palette
    (rle_bmp(4, 1, runs([[(4, 1)]]), header_size=44), None),  # a header size Pillow does not know
], ids=["core-header", "core-header-to-its-depth", "core-header-cut", "counted", "to-its-count", "cut", "24-bit",
        "unknown-header"])
def test_a_palettes_depth_and_entries_are_read_as_pillow_reads_them(data, size):
    assert bmp.palette_size(data) == size


def v5_bmp(profile: bytes, profile_offset: int | None = None) -> bytes:
    """A 2x1 24-bit BMP of (200, 100, 50) with a V5 header embedding `profile` after its pixels (PROFILE_EMBEDDED,
    its offset counted from the header's start)."""
    pixels = bytes((50, 100, 200)) * 2 + bytes(2)
    offset = 124 + len(pixels) if profile_offset is None else profile_offset
    info = (struct.pack("<IiiHHIIiiII", 124, 2, 1, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + bytes(16) + b"DEBM"
            + bytes(48) + struct.pack("<IIII", 4, offset, len(profile), 0))
    return b"BM" + struct.pack("<IHHI", 14 + 124 + len(pixels) + len(profile), 0, 0, 14 + 124) + info + pixels + profile


def test_a_bmps_embedded_profile_is_kept_or_converted():
    """Chromium 156 applies it: (200, 100, 50) in Display P3 shows as (216, 93, 24), by hand. Pillow read none."""
    _, kept = rendered(v5_bmp(DISPLAY_P3), "2x,png")
    assert kept.info["icc_profile"] == DISPLAY_P3 and kept.getpixel((0, 0)) == (200, 100, 50)
    _, converted = rendered(v5_bmp(DISPLAY_P3), "2x,gif")
    assert converted.convert("RGB").getpixel((0, 0)) == (216, 93, 24)


@pytest.mark.parametrize("offset", [124 + 8 + 1, 0xFFFFFFF0])
def test_a_bmp_whose_profile_runs_past_its_end_is_refused(offset):
    """As Chromium 156 refuses to show it (a reviewer's measure)."""
    with pytest.raises(UnsupportedMedia, match="^BMP whose embedded ICC profile runs past the end of the file"):
        render(v5_bmp(DISPLAY_P3, profile_offset=offset), parse_rendition("/2x,png/a.bmp"), LIMITS)


def bmp_of_32_bits(image: Image.Image, header_size: int, alpha_mask: int, compression: int = 0) -> bytes:
    """`image` (RGBA) as a bottom-up BMP of 32 bits a pixel, blue, green, red then alpha, behind an information header
    of `header_size` bytes whose masks (where it has them) are the usual colour ones and `alpha_mask`."""
    width, height = image.size
    pixels = b"".join(image.crop((0, y, width, y + 1)).tobytes("raw", "BGRA") for y in reversed(range(height)))
    masks = struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, alpha_mask) + b"BGRs" + bytes(48) + bytes(16)
    info = struct.pack("<IiiHHIIiiII", header_size, width, height, 1, 32, compression, len(pixels), 2835, 2835, 0, 0)
    info += masks[:header_size - len(info)]
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info)) + info + pixels


HALF_SEEN = Image.new("RGBA", (4, 2), (255, 0, 0, 200))
HALF_SEEN.paste((0, 0, 255, 0), (2, 0, 4, 2))


# As Chromium 156 shows them, by hand: behind a V4 or V5 header, any alpha mask but none makes the fourth byte alpha,
# whole; behind a smaller header, or with no alpha mask, it is padding, and the pixels opaque.
@pytest.mark.parametrize(("header_size", "alpha_mask", "alpha"), [
    (108, 0xFF000000, True), (124, 0xFF000000, True), (124, 0x80000000, True), (124, 0xFF, True),
    (124, 0, False), (40, 0, False), (56, 0xFF000000, False), (64, 0xFF000000, False),
])
def test_an_uncompressed_32_bit_bmps_fourth_byte_is_alpha_where_chromium_reads_it_so(header_size, alpha_mask, alpha):
    result, image = rendered(bmp_of_32_bits(HALF_SEEN, header_size, alpha_mask), "4x")
    if alpha:
        assert (result.format, image.mode) == ("png", "RGBA")
        assert list(image.get_flattened_data()) == ([(255, 0, 0, 200)] * 2 + [(0, 0, 255, 0)] * 2) * 2
    else:
        assert (result.format, image.mode) == ("jpeg", "RGB")


def test_bit_fields_say_where_alpha_is_as_before():
    """Pillow reads a 32-bit BMP of bit fields by its masks itself."""
    _, image = rendered(bmp_of_32_bits(HALF_SEEN, 124, 0xFF000000, compression=3), "4x,png")
    assert image.getpixel((0, 0)) == (255, 0, 0, 200)


def test_fourth_bytes_all_zero_behind_a_v5_header_are_transparent_as_chromium_shows_them():
    """Chromium 156 shows such a file wholly transparent, by hand, though an older Chromium reader of BMPs showed one
    opaque (a comment in its source that a reviewer read)."""
    result, image = rendered(bmp_of_32_bits(Image.new("RGBA", (4, 2), (10, 200, 30, 0)), 124, 0xFF000000), "4x")
    assert (result.format, image.getchannel("A").getextrema()) == ("png", (0, 0))


V4_HALF_SEEN = bmp_of_32_bits(HALF_SEEN, 108, 0xFF000000)


@pytest.mark.parametrize(("data", "alpha"), [
    (V4_HALF_SEEN, True),
    (V4_HALF_SEEN[:70], True),  # read up to its alpha mask
    (V4_HALF_SEEN[:69], False),  # cut inside it
    (V4_HALF_SEEN[:28] + struct.pack("<H", 24) + V4_HALF_SEEN[30:], False),  # 24 bits a pixel: no fourth byte
    (bmp_of_32_bits(HALF_SEEN, 108, 0xFF000000, compression=3), False),  # bit fields: Pillow reads the masks
    (bmp_of_32_bits(HALF_SEEN, 64, 0xFF000000), False),
], ids=["v4", "to-its-alpha-mask", "cut-in-its-alpha-mask", "24-bit", "bit-fields", "smaller-header"])
def test_the_fourth_byte_is_alpha_only_in_an_uncompressed_32_bit_bmp_with_an_alpha_mask(data, alpha):
    assert bmp.alpha_in_fourth_byte(data) is alpha


EMBEDDING = v5_bmp(DISPLAY_P3)
CS_TYPE_AT = 14 + 56  # in the V5 header


@pytest.mark.parametrize(("data", "profile"), [
    (EMBEDDING, DISPLAY_P3),
    (EMBEDDING[:CS_TYPE_AT] + b"BGRs" + EMBEDDING[CS_TYPE_AT + 4:], None),  # sRGB, no profile
    (EMBEDDING[:14] + struct.pack("<I", 108) + EMBEDDING[18:], None),  # a V4 header, which embeds none
    (EMBEDDING[:14 + 112 + 7], None),  # cut a byte short of the profile's offset and size
    (v5_bmp(b""), None),  # a profile of no bytes
], ids=["embedded", "srgb", "v4-header", "cut", "empty"])
def test_only_a_v5_header_of_profile_embedded_has_a_profile(data, profile):
    assert bmp.embedded_profile(data) == profile


def test_a_v5_header_cut_right_after_its_profile_s_offset_and_size_has_its_profile_outside():
    with pytest.raises(bmp.ProfileOutside, match=f"^{len(DISPLAY_P3)} bytes at {14 + 124 + 8}, past the file's 134$"):
        bmp.embedded_profile(EMBEDDING[:14 + 112 + 8])


@pytest.mark.parametrize("code", [
    bytes([1, 9]), bytes([2, 9]), bytes([0, 3, 9, 9, 9, 0]), bytes([2, 9, 0, 3, 9, 9, 9, 0]),
], ids=["a-pixel", "a-run", "a-literal", "a-literal-further-on"])
def test_what_comes_after_a_row_is_full_is_cut_whole(code):
    """Past the row's last pixel nothing is written, however short: the next row starts where its end of line says."""
    coded = bytes([4, 7]) + code + END_OF_LINE + bytes([1, 8]) + END_OF_BITMAP
    assert bmp.run_length_pixels(coded, 4, 2, rle4=False, fill=5) == (bytearray([7, 7, 7, 7, 8, 5, 5, 5]),
                                                                      bytearray([0, 0, 0, 0, 0, 255, 255, 255]))


def test_a_4_bit_literal_of_an_even_count_takes_half_as_many_bytes():
    """Four pixels in two bytes, a whole 16-bit word: the run after them is read right after."""
    coded = bytes([0, 4, 0x12, 0x34, 2, 0x55]) + END_OF_BITMAP
    assert bmp.run_length_pixels(coded, 6, 1, rle4=True, fill=9) == (bytearray([1, 2, 3, 4, 5, 5]), None)


def test_a_delta_down_counts_its_rows_towards_the_last():
    """A delta of a row down, then an end of line, passes the last of 2 rows: the pixels end there, as after the
    last row's end of line, with no end of bitmap."""
    coded = bytes([2, 7, 0, 2, 0, 1, 1, 8]) + END_OF_LINE
    assert bmp.run_length_pixels(coded, 4, 2, rle4=False, fill=5) == (bytearray([7, 7, 5, 5, 5, 5, 8, 5]),
                                                                      bytearray([0, 0, 255, 255, 255, 255, 0, 255]))


@pytest.mark.parametrize(("coded", "indices"), [
    (bytes([1, 7, 5, 8]), [7, 8, 8, 8, 6, 5, 5, 5]),  # a run from the second pixel past the row's end
    (bytes([0, 3, 7, 8, 9, 0]), [7, 8, 9, 5, 6, 5, 5, 5]),  # a literal of 3, padded to 4 bytes
    (bytes([1, 7, 0, 5, 8, 8, 8, 8, 8, 0]), [7, 8, 8, 8, 6, 5, 5, 5]),  # a literal from the second pixel, cut
], ids=["run-cut-at-the-row-s-end", "odd-literal", "literal-cut-at-the-row-s-end"])
def test_the_next_row_starts_where_the_end_of_line_after_a_run_or_literal_says(coded, indices):
    pixels, _ = bmp.run_length_pixels(coded + END_OF_LINE + bytes([1, 6]) + END_OF_BITMAP, 4, 2, rle4=False, fill=5)
    assert list(pixels) == indices


# --- bit fields, as Chromium reads them ----------------------------------------

BIT_FIELDS, ALPHA_BIT_FIELDS = 3, 6


def bit_fields_bmp(rows: list[list[int]], bits: int, masks: tuple[int, int, int, int], header_size: int = 124,
                   compression: int = BIT_FIELDS, top_down: bool = False) -> bytes:
    """A BMP of `bits` a pixel, its rows of pixel values given top first, with masks of red, green, blue and alpha
    where its header holds them (alpha's from 56 bytes on), or after a 40-byte one (three, four for alpha bit
    fields)."""
    stride = (len(rows[0]) * bits + 31) // 32 * 4
    stored = [b"".join(value.to_bytes(bits // 8, "little") for value in row).ljust(stride, b"\0") for row in rows]
    pixels = b"".join(stored if top_down else reversed(stored))
    height = -len(rows) if top_down else len(rows)
    info = struct.pack("<IiiHHIIiiII", header_size, len(rows[0]), height, 1, bits, compression, len(pixels), 2835,
                       2835, 0, 0)
    count = 4 if compression == ALPHA_BIT_FIELDS else 3
    after = struct.pack(f"<{count}I", *masks[:count])
    if header_size > 40:
        info, after = (info + struct.pack("<4I", *masks) + b"BGRs" + bytes(64))[:header_size], b""
    offset = 14 + len(info) + len(after)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + after + pixels


def shown_pixels(data: bytes) -> list[tuple[int, int, int, int]]:
    """The rendered pixels, top row first, as RGBA: a transparent one as (0, 0, 0, 0), whatever its colour."""
    _, image = rendered(data, f"{struct.unpack_from('<i', data, 18)[0]}x,png")  # as wide: Pillow opens few
    return [pixel if pixel[3] else (0, 0, 0, 0) for pixel in image.convert("RGBA").get_flattened_data()]


FOUR_BITS_EACH, FIVE_BITS_AND_ALPHA = (0xF00, 0xF0, 0xF, 0xF000), (0x7C00, 0x3E0, 0x1F, 0x8000)
TEN_BITS_EACH, TEN_BITS_AND_TWO = (0x3FF00000, 0xFFC00, 0x3FF, 0), (0x3FF00000, 0xFFC00, 0x3FF, 0xC0000000)


# Each as Chromium 156 shows it (a helper's measure, of every 16-bit value and 16,384 random 32-bit ones for each
# layout, behind each header): Pillow refused each, or read it otherwise (noted).
@pytest.mark.parametrize(("bits", "masks", "header_size", "compression", "row", "shown"), [
    (16, FOUR_BITS_EACH, 124, BIT_FIELDS, [0xF8C4, 0x7000, 0x0123, 0xFFFF],
     [(136, 204, 68, 255), (0, 0, 0, 119), (0, 0, 0, 0), (255, 255, 255, 255)]),
    (16, FOUR_BITS_EACH, 108, BIT_FIELDS, [0xF8C4, 0x7000], [(136, 204, 68, 255), (0, 0, 0, 119)]),
    (16, FOUR_BITS_EACH, 56, BIT_FIELDS, [0xF8C4, 0x7000], [(136, 204, 68, 255), (0, 0, 0, 119)]),
    (16, FOUR_BITS_EACH, 40, ALPHA_BIT_FIELDS, [0xF8C4, 0x7000], [(136, 204, 68, 255), (0, 0, 0, 119)]),
    (16, FOUR_BITS_EACH, 40, BIT_FIELDS, [0x0F8C, 0xF123], [(255, 136, 204, 255), (17, 34, 51, 255)]),  # no alpha
    (16, FOUR_BITS_EACH, 52, BIT_FIELDS, [0x0F8C, 0xF123], [(255, 136, 204, 255), (17, 34, 51, 255)]),
    (16, (0xE0, 0x1C, 0x3, 0), 124, BIT_FIELDS, [0xE3, 0x1C, 0xFF25], [(255, 0, 255, 255), (0, 255, 0, 255),
                                                                      (36, 36, 85, 255)]),
    (16, FIVE_BITS_AND_ALPHA, 124, BIT_FIELDS, [0x8003, 0x7FFF], [(0, 0, 25, 255), (0, 0, 0, 0)]),  # Pillow: opaque
    (16, (0xFC00, 0x3E0, 0x1F, 0), 124, BIT_FIELDS, [0x0400, 0xFFFF], [(4, 0, 0, 255), (255, 255, 255, 255)]),
    (16, (0x4, 0x2, 0x1, 0x8), 124, BIT_FIELDS, [0xFFFE, 0x0009], [(255, 255, 0, 255), (0, 0, 255, 255)]),
    (16, (0xF800, 0xFFE0, 0x1F, 0), 124, BIT_FIELDS, [0x0800, 0xFFFF], [(8, 8, 0, 255), (255, 255, 255, 255)]),
    (16, (0, 0x7E0, 0x1F, 0), 124, BIT_FIELDS, [0xFFFF], [(0, 255, 255, 255)]),  # a zero mask: a sample of 0
    (16, (0, 0xFFFF, 0, 0), 124, BIT_FIELDS, [0x12FF, 0x00FF], [(0, 18, 0, 255), (0, 0, 0, 255)]),  # its top 8 bits
    (32, TEN_BITS_EACH, 124, BIT_FIELDS, [0x3FF80001, 0x00403003], [(255, 128, 0, 255), (1, 3, 0, 255)]),
    (32, TEN_BITS_EACH, 40, BIT_FIELDS, [0xFFF80001], [(255, 128, 0, 255)]),
    (32, TEN_BITS_AND_TWO, 124, BIT_FIELDS, [0xFFF80001, 0x80000000, 0x40000000, 0x3FFFFFFF],
     [(255, 128, 0, 255), (0, 0, 0, 170), (0, 0, 0, 85), (0, 0, 0, 0)]),
    (32, TEN_BITS_AND_TWO, 40, ALPHA_BIT_FIELDS, [0xFFF80001, 0x40000000], [(255, 128, 0, 255), (0, 0, 0, 85)]),
    (32, (0xFF0000, 0xFF00, 0xFF, 0x80000000), 124, BIT_FIELDS, [0x80123456, 0x7F123456],
     [(0x12, 0x34, 0x56, 255), (0, 0, 0, 0)]),
    (32, (0xFFFF0000, 0xFFFF, 0, 0), 124, BIT_FIELDS, [0x12345678], [(0x12, 0x56, 0, 255)]),
    (32, (0, 0, 0, 0), 124, BIT_FIELDS, [0xFF123456], [(0, 0, 0, 255)]),  # Pillow: blue, green, red and alpha bytes
    (32, (0xFF0000, 0xFF00, 0xFF, 0xFF000000), 40, ALPHA_BIT_FIELDS, [0x80123456], [(0x12, 0x34, 0x56, 0x80)]),
], ids=["4-4-4-4", "4-4-4-4-v4", "4-4-4-4-56-byte-header", "4-4-4-4-alpha-bit-fields", "4-4-4-behind-40-bytes",
        "4-4-4-behind-52-bytes", "3-3-2", "1-5-5-5", "6-5-5", "1-bit", "overlapping", "zero-mask", "16-bit-mask",
        "10-10-10", "10-10-10-behind-40-bytes", "10-10-10-2", "10-10-10-2-alpha-bit-fields", "8-8-8-1", "16-16-0",
        "all-zero", "8-8-8-8-alpha-bit-fields"])
def test_bit_fields_are_read_as_chromium_reads_them(bits, masks, header_size, compression, row, shown):
    data = bit_fields_bmp([row, row[::-1]], bits, masks, header_size, compression)
    assert shown_pixels(data) == shown + shown[::-1]


@pytest.mark.parametrize("data", [
    bit_fields_bmp([[3, 0x7E0 | 3 << 11]], 16, (0xF800, 0x7E0, 0x1F, 0), header_size=40),
    bit_fields_bmp([[3, 0x3E0 | 3 << 10]], 16, (0x7C00, 0x3E0, 0x1F, 0), compression=0),  # uncompressed: 5-5-5
], ids=["5-6-5", "uncompressed"])
def test_5_and_6_bit_samples_are_rounded_as_chromium_rounds_them(data):
    """As Chromium 156 shows them (a helper's measure): a 5-bit 3 is 25, where Pillow repeated the bits, 24."""
    assert shown_pixels(data) == [(0, 0, 25, 255), (25, 255, 0, 255)]


def test_an_uncompressed_16_bit_bmp_is_5_5_5_whatever_its_masks():
    """Chromium 156 shows it opaque, its masks unread (a helper's measure)."""
    data = bit_fields_bmp([[0x8003, 0x7C00]], 16, FOUR_BITS_EACH, compression=0)
    assert shown_pixels(data) == [(0, 0, 25, 255), (255, 0, 0, 255)]


def test_bit_fields_of_a_zero_alpha_everywhere_are_transparent():
    """As Chromium 156 shows them (a helper's measure), as it shows an uncompressed 32-bit BMP's fourth bytes."""
    result, image = rendered(bit_fields_bmp([[0x0123, 0x0FFF]] * 2, 16, FOUR_BITS_EACH), "2x")
    assert (result.format, image.getchannel("A").getextrema()) == ("png", (0, 0))


def test_bit_fields_are_read_from_the_top_of_a_top_down_bmp_and_past_a_rows_padding():
    rows = [[0xFF00, 0xF0F0, 0xF00F], [0xFFFF, 0x7000, 0x0000]]  # 6 bytes a row, padded to 8
    assert shown_pixels(bit_fields_bmp(rows, 16, FOUR_BITS_EACH, top_down=True)) == [
        (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255, 255, 255, 255), (0, 0, 0, 119), (0, 0, 0, 0)]


@pytest.mark.parametrize(("data", "reason"), [
    (bit_fields_bmp([[1]], 16, (0xA800, 0x7E0, 0x1F, 0)), "a mask of bits apart: 0xa800"),
    (bit_fields_bmp([[1]], 32, (0xF0F00000, 0xFF00, 0xFF, 0)), "a mask of bits apart: 0xf0f00000"),
    (bit_fields_bmp([[1]], 16, (0x7C00, 0x3E0, 0x1F, 0xFF000000)), "a mask of bits past the pixel: 0xff000000"),
    (bit_fields_bmp([[1]], 16, (0xFF00, 0xF0, 0xF, 0xF000), header_size=52, compression=ALPHA_BIT_FIELDS),
     "alpha bit fields behind a 52-byte header"),
    (bit_fields_bmp([[1]], 24, (0xFF0000, 0xFF00, 0xFF, 0)), "bit fields of 24 bits a pixel"),
    (bit_fields_bmp([[1]], 32, (0xFF0000, 0xFF00, 0xFF, 0xFF000000), header_size=64),
     "an OS/2 header, whose compression 3 is not bit fields"),
], ids=["apart-16", "apart-32", "past-16-bits", "alpha-behind-52-bytes", "24-bit", "os2-header"])
def test_bit_fields_chromium_refuses_are_refused(pillow_opens, data, reason):
    """As Chromium 156 refuses them (a helper's measure). Pillow read the last three, the past two the masks at
    the offsets of a Windows header, and refused the others."""
    with pytest.raises(UnsupportedMedia, match=f"^BMP of {re.escape(reason)}, which browsers refuse$"):
        render(data, parse_rendition("/4x,png/a.bmp"), LIMITS)
    assert pillow_opens == []


@pytest.mark.parametrize(("data", "fields"), [
    (bit_fields_bmp([[1]], 32, (0xFF0000, 0xFF00, 0xFF, 0xFF000000)), None),  # Pillow reads these bytes rightly
    (bit_fields_bmp([[1]], 32, (0xFF0000, 0xFF00, 0xFF, 0xFF000000), compression=ALPHA_BIT_FIELDS),
     bmp.BitFields(32, (0xFF0000, 0xFF00, 0xFF, 0xFF000000))),  # ...but not as alpha bit fields
    (bit_fields_bmp([[1]], 32, (0x3FF00000, 0xFFC00, 0x3FF, 0xC0000000)),
     bmp.BitFields(32, (0x3FC00000, 0xFF000, 0x3FC, 0xC0000000))),  # the highest 8 bits of each
    (bit_fields_bmp([[1]], 32, TEN_BITS_AND_TWO, header_size=52), bmp.BitFields(32, (0x3FC00000, 0xFF000, 0x3FC, 0))),
    (bit_fields_bmp([[1]], 16, FOUR_BITS_EACH, header_size=40), bmp.BitFields(16, (0xF00, 0xF0, 0xF, 0))),
    (bit_fields_bmp([[1]], 16, FOUR_BITS_EACH, compression=0), bmp.BitFields(16, (0x7C00, 0x3E0, 0x1F, 0))),
    (bit_fields_bmp([[1]], 16, FOUR_BITS_EACH)[:14 + 40 + 15], None),  # cut in its alpha mask: Pillow refuses it
    (bit_fields_bmp([[1]], 32, FOUR_BITS_EACH, compression=0), None),
    (paletted_bmp(8, RED_GREEN_BLUE, [[0, 1, 2]]), None),
], ids=["bgra", "bgra-alpha-bit-fields", "10-10-10-2", "10-10-10-2-behind-52-bytes", "4-4-4-behind-40-bytes",
        "uncompressed-16-bit", "cut", "uncompressed-32-bit", "paletted"])
def test_bit_fields_are_read_here_where_pillow_reads_them_otherwise(data, fields):
    assert bmp.bit_fields(data) == fields


def test_bit_fields_pillow_refuses_are_given_it_as_masks_it_reads_with_the_pixels_offset_stated():
    data = bit_fields_bmp([[1, 2, 3]], 16, FOUR_BITS_EACH, header_size=40, compression=ALPHA_BIT_FIELDS)
    data = data[:10] + bytes(4) + data[14:]  # no offset: the pixels follow the four masks
    opened = bmp.bit_fields_pillow_opens(data)
    assert struct.unpack_from("<I", opened, 10) == (14 + 40 + 16,)
    assert struct.unpack_from("<I", opened, 30) == (BIT_FIELDS,)  # of Pillow's compressions
    assert struct.unpack_from("<3I", opened, 54) == (0xF800, 0x7E0, 0x1F)  # 5-6-5
    unchanged = (slice(0, 10), slice(14, 30), slice(34, 54), slice(66, None))
    assert [opened[part] for part in unchanged] == [data[part] for part in unchanged]
    assert bmp.bit_fields_pillow_opens(encoded(gradient((4, 2)), "BMP")) == encoded(gradient((4, 2)), "BMP")


@pytest.mark.parametrize("masks", [FOUR_BITS_EACH, (0xF800, 0x7E0, 0x1F, 0)], ids=["by-bands", "by-pillows-raw-mode"])
@pytest.mark.parametrize("top_down", [False, True])
def test_bit_fields_read_a_strip_of_rows_at_a_time_land_where_their_rows_lie(monkeypatch, masks, top_down):
    rows = [[(7919 * (3 * y + x)) & 0xFFFF for x in range(3)] for y in range(7)]  # 6 bytes a row, padded to 8
    data = bit_fields_bmp(rows, 16, masks, top_down=top_down)
    whole = shown_pixels(data)
    monkeypatch.setattr(edge.image.source, "BIT_FIELDS_STRIP_PIXELS", 6)  # two rows a strip, the last one alone
    assert shown_pixels(data) == whole
    assert len({tuple(whole[3 * y:3 * y + 3]) for y in range(7)}) == 7  # rows alike would hide a misplaced one


@pytest.mark.parametrize("masks", [FOUR_BITS_EACH, (0xF800, 0x7E0, 0x1F, 0)], ids=["by-bands", "by-pillows-raw-mode"])
@pytest.mark.parametrize("top_down", [False, True])
def test_bit_fields_of_a_bmp_cut_in_its_last_rows_padding_are_read_whole_and_cut_in_its_pixels_refused(masks,
                                                                                                      top_down):
    """Pillow's raw decoder read no padding after the last row, and rendered such a file whole."""
    data = bit_fields_bmp([[0xF0F0, 0x0F0F, 0xFFFF], [0x1234, 0x4321, 0x8888]], 16, masks, top_down=top_down)
    assert shown_pixels(data[:-2]) == shown_pixels(data)  # 6 bytes a row, padded to 8
    with pytest.raises(UnsupportedMedia, match="truncated: 13 bytes of a strip of 14"):
        shown_pixels(data[:-3])


@pytest.mark.parametrize(("masks", "header_size", "compression", "pixels_at"), [
    (FOUR_BITS_EACH, 40, BIT_FIELDS, 14 + 40 + 12), (FOUR_BITS_EACH, 40, ALPHA_BIT_FIELDS, 14 + 40 + 16),
    (FOUR_BITS_EACH, 124, BIT_FIELDS, 14 + 124), ((0xF800, 0x7E0, 0x1F, 0), 40, BIT_FIELDS, 14 + 40 + 12),
], ids=["3-masks-after-40-bytes", "4-masks-after-40-bytes", "masks-within-v5", "5-6-5"])
def test_bit_fields_whose_pixels_offset_is_not_stated_are_read_where_their_pixels_begin(masks, header_size,
                                                                                       compression, pixels_at):
    data = bit_fields_bmp([[0xF8C4, 0x7000]], 16, masks, header_size, compression)
    assert struct.unpack_from("<I", bmp.bit_fields_pillow_opens(data[:10] + bytes(4) + data[14:]), 10) == (pixels_at,)
    assert shown_pixels(data[:10] + bytes(4) + data[14:]) == shown_pixels(data)


def test_bit_fields_whose_pixels_lie_past_a_gap_are_read_from_the_offset_stated():
    data = bit_fields_bmp([[0xF8C4, 0x7000]], 16, FOUR_BITS_EACH)
    pixels_at = struct.unpack_from("<I", data, 10)[0]
    gapped = data[:10] + struct.pack("<I", pixels_at + 4) + data[14:pixels_at] + b"gap!" + data[pixels_at:]
    assert shown_pixels(gapped) == shown_pixels(data) == [(136, 204, 68, 255), (0, 0, 0, 119)]


@pytest.mark.parametrize(("masks", "shown"), [
    ((0xF800, 0x7E0, 0x1F, 0), [(255, 0, 0, 255), (123, 130, 0, 255)]),
    ((0x7C00, 0x3E0, 0x1F, 0x8000), [(247, 0, 0, 255), (0, 0, 0, 0)]),
], ids=["5-6-5", "1-5-5-5"])
def test_a_bit_fields_bmp_pillow_opens_as_it_is_is_given_it_without_a_copy(masks, shown):
    """But not as alpha bit fields, of which Pillow knows nothing."""
    data = bit_fields_bmp([[1, 2, 3]], 16, masks)
    assert bmp.bit_fields_pillow_opens(data) is data
    thirty_two_bits = bit_fields_bmp([[1, 2, 3]], 32, masks)  # masks Pillow reads at 16 bits only
    assert bmp.bit_fields_pillow_opens(thirty_two_bits) != thirty_two_bits
    as_alpha_bit_fields = bit_fields_bmp([[0xF800, 0x7C00]], 16, masks, header_size=40, compression=ALPHA_BIT_FIELDS)
    assert bmp.bit_fields_pillow_opens(as_alpha_bit_fields) != as_alpha_bit_fields
    assert shown_pixels(as_alpha_bit_fields) == shown


def test_an_uncompressed_16_bit_bmp_behind_a_40_byte_header_keeps_its_first_pixels():
    """Its masks are not there to rewrite: the bytes where they would be are its pixels."""
    data = bit_fields_bmp([[0x7C00, 0x03E0, 0x001F, 0x7FFF, 0x0000, 0x4210, 0x0001]], 16, (0, 0, 0, 0), 40, 0)
    assert bmp.bit_fields_pillow_opens(data) is data
    assert shown_pixels(data) == [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255, 255, 255, 255),
                                  (0, 0, 0, 255), (132, 132, 132, 255), (0, 0, 8, 255)]


def test_a_16_bit_bmp_behind_os2s_core_header_is_left_to_pillow():
    core = struct.pack("<IHHHH", 12, 1, 1, 1, 16)
    pixels = bytes([0, 0, 16, 0, 0, 0, 0, 0])  # read as a 40-byte header's, a depth of 16 and no compression
    data = b"BM" + struct.pack("<IHHI", 14 + 12 + len(pixels), 0, 0, 14 + 12) + core + pixels
    assert bmp.bit_fields(data) is None


@pytest.mark.parametrize("cut", [20, 30, 33, 34, 40, 54, 60, 66, 69, 70])
def test_a_bit_fields_bmp_cut_short_in_its_headers_or_masks_is_a_415(cut):
    data = bit_fields_bmp([[1, 2, 3]], 16, FOUR_BITS_EACH, header_size=40, compression=ALPHA_BIT_FIELDS)
    with pytest.raises(UnsupportedMedia):
        render(data[:cut], parse_rendition("/4x,png/a.bmp"), LIMITS)
