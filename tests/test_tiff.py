"""edge/tiff.py: a TIFF's directories and strips bounded before Pillow reads them; each Deflate strip inflated to
its checksum, and no further than the pixels allow."""

import io
import re
import struct
import zlib

import pytest
from PIL import Image, TiffImagePlugin

import edge.image
from edge import jpeg, tiff
from edge.inflate import SKIPPED_PIECE, Stopped
from edge.errors import SourceTooLarge, UnsupportedMedia
from edge.rendition import parse_rendition
from imaging import (
    EXIF_POINTER, XMP_ORIENTATION_6, DirectoryAt, encoded, exif_directories, gradient, largest_difference,
    little_endian_tiff, noise_image, tiff_pointing, tiled_tiff)

ENTRIES = edge.image.checks.MAX_TIFF_ENTRIES
PIXELS = noise_image((64, 48)).tobytes()  # 9216 bytes that deflate keeps nearly as they are
STREAM = zlib.compress(PIXELS)


def checked(data: bytes, strips: list[tuple[int, int]], most_bytes: int = 1 << 30) -> None:
    tiff.check_deflate_strips(data, strips, most_bytes)


def refusal(data: bytes, strips: list[tuple[int, int]], most_bytes: int = 1 << 30) -> str:
    with pytest.raises(tiff.MalformedTiff) as refused:
        checked(data, strips, most_bytes)
    return str(refused.value)


def test_whole_streams_pass_where_the_strips_say_they_are():
    other = zlib.compress(PIXELS[::-1])
    data = b"header" + STREAM + b"gap" + other
    checked(data, [(6, len(STREAM)), (9 + len(STREAM), len(other))])


def test_the_check_stops_when_told():
    with pytest.raises(Stopped):
        tiff.check_deflate_strips(STREAM, [(0, len(STREAM))], 1 << 30, stopped=lambda: True)


def test_no_strips_pass():
    checked(b"", [])


def test_bytes_after_a_stream_s_end_are_left_as_libtiff_leaves_them():
    checked(STREAM + b"junk", [(0, len(STREAM) + 4)])


def test_a_stream_inflating_to_many_pieces_is_inflated_to_its_end():
    """More than one piece of output: the stream goes on from what the last piece left unconsumed."""
    large = bytes(range(256)) * (3 * SKIPPED_PIECE // 256 + 7)
    stream = zlib.compress(large)
    checked(stream, [(0, len(stream))], most_bytes=len(large))
    broken = bytearray(stream)
    broken[-1] ^= 1
    assert refusal(bytes(broken), [(0, len(stream))]) == (
        "strip 0: Error -3 while decompressing data: incorrect data check")


@pytest.mark.parametrize("position", [-1, -4, len(STREAM) // 2, 2])
def test_a_corrupt_stream_is_refused(position):
    """The checksum (the last 4 bytes), or the coded data before it, which libtiff would take as it is."""
    broken = bytearray(STREAM)
    broken[position] ^= 0x55
    assert refusal(b"xx" + STREAM + bytes(broken), [(2, len(STREAM)), (2 + len(STREAM), len(STREAM))]).startswith(
        "strip 1: Error -3 while decompressing data")


@pytest.mark.parametrize("kept", [len(STREAM) - 1, len(STREAM) - 4, 2, 0])
def test_a_stream_cut_short_is_refused(kept):
    assert refusal(STREAM[:kept], [(0, kept)]) == "strip 0 ends before its zlib stream does"


@pytest.mark.parametrize(("offset", "length"), [(0, len(STREAM) + 1), (1, len(STREAM)), (len(STREAM) + 1, 0)])
def test_a_strip_past_the_file_s_end_is_refused(offset, length):
    assert refusal(STREAM, [(offset, length)]) == "strip 0 runs past the end of the file"


def test_the_pixels_of_all_strips_together_may_take_the_most_and_no_more():
    data = STREAM + STREAM
    strips = [(0, len(STREAM)), (len(STREAM), len(STREAM))]
    checked(data, strips, most_bytes=2 * len(PIXELS))
    assert refusal(data, strips, most_bytes=2 * len(PIXELS) - 1) == "strip 1 inflates to more than the image's pixels"


@pytest.mark.parametrize(("most_bytes", "message"), [
    (len(PIXELS) - 1, "strip 0: Error -3 while decompressing data: incorrect data check"),
    (len(PIXELS) - 2, "strip 0 inflates to more than the image's pixels"),
])
def test_a_stream_is_inflated_no_further_than_a_byte_past_the_most(most_bytes, message):
    """A byte past the most refuses a stream: its broken checksum, past its last byte, is reached only by a stream
    whose last byte is that one."""
    broken = bytearray(STREAM)
    broken[-1] ^= 1
    assert refusal(bytes(broken), [(0, len(STREAM))], most_bytes) == message


def test_a_bomb_stops_at_the_most():
    bomb = zlib.compress(bytes(64 * SKIPPED_PIECE), 9)  # 64 MiB of zeros in 64 KB
    assert refusal(bomb, [(0, len(bomb))], most_bytes=SKIPPED_PIECE) == (
        "strip 0 inflates to more than the image's pixels")


def directory(entries: list[tuple[int, int, int]], order: str = "<", big: bool = False) -> bytes:
    """A TIFF whose first directory holds these (tag, type, count) entries, their values left out."""
    if big:
        head = struct.pack(order + "2sHHHQ", b"II" if order == "<" else b"MM", 43, 8, 0, 16)
        return head + struct.pack(order + "Q", len(entries)) + b"".join(
            struct.pack(order + "HHQ8x", *entry) for entry in entries)
    head = struct.pack(order + "2sHI", b"II" if order == "<" else b"MM", 42, 8)
    return head + struct.pack(order + "H", len(entries)) + b"".join(
        struct.pack(order + "HHI4x", *entry) for entry in entries)


# TIFF 6.0's and BigTIFF's field types: each one's number, and the size of a value of it in bytes.
TYPE_SIZES = {"BYTE": (1, 1), "ASCII": (2, 1), "SHORT": (3, 2), "LONG": (4, 4), "RATIONAL": (5, 8), "SBYTE": (6, 1),
              "UNDEFINED": (7, 1), "SSHORT": (8, 2), "SLONG": (9, 4), "SRATIONAL": (10, 8), "FLOAT": (11, 4),
              "DOUBLE": (12, 8), "IFD": (13, 4), "LONG8": (16, 8), "SLONG8": (17, 8), "IFD8": (18, 8)}
BYTES_OR_TEXT = {"BYTE", "ASCII", "UNDEFINED"}  # which Pillow reads whole, not value by value


@pytest.mark.parametrize(("mode", "compression", "big"), [
    ("RGB", "raw", False), ("RGB", "tiff_deflate", False), ("L", "tiff_lzw", False), ("RGBA", "packbits", False),
    ("RGB", "raw", True), ("I;16", "raw", False)])
def test_what_pillow_writes_is_within_the_directory_limits(mode, compression, big):
    data = encoded(Image.new(mode, (300, 200)), "TIFF", compression=compression, big_tiff=big)
    assert not tiff.first_directory_over(data, 30, 64)  # bits per sample, strips: a few numbers each
    assert tiff.first_directory_over(data, 5, 64)  # over five entries


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize(("field_type", "over"), [
    (field_type, name not in BYTES_OR_TEXT) for name, (field_type, _) in TYPE_SIZES.items()], ids=TYPE_SIZES.keys())
def test_a_number_array_over_the_limit_is_over_and_bytes_or_text_are_not(order, big, field_type, over):
    data = directory([(256, 3, 1), (273, field_type, 11)], order, big)
    assert tiff.first_directory_over(data, 10, 10) is over
    assert not tiff.first_directory_over(directory([(256, 3, 1), (273, field_type, 10)], order, big), 10, 10)


@pytest.mark.parametrize("data", [
    directory([(256, 3, 1), (273, 3, 11)])[:-12],  # the entry over the limit cut off: not read
    b"II*\x00\xff\xff\xff\xff",  # a directory past the end
    b"II*\x00\xff\xff\xff\xff" + bytes(8),  # the same, in a file long enough to be read
    b"II\x2b\x00",  # too short to say
    directory([], big=True)[:15],  # BigTIFF's header cut short of its directory's offset
    b"XX*\x00" + bytes(12),  # neither byte order
    b"II\x2a\x01" + bytes(12),  # neither classic nor big
])
def test_what_cannot_be_read_is_left_to_pillow(data):
    # False, not merely falsy: each answers a yes or no, whichever way it gives up
    assert (tiff.first_directory_over(data, 10, 10), tiff.sub_directories_over(data, 10, 10),
            tiff.exif_over(data, 10, 10)) == (False, False, False)
    assert (tiff.strips(data, 10), tiff.values_apart(data, 10)) == (0, 0)


def test_a_tiff_as_long_as_bigtiffs_header_is_read():
    """16 bytes: a classic directory at 2, its count the magic (42), holds one whole entry there, made of the
    header's own offset: a tag 0 of 5 ASCII bytes kept apart. A byte less, and nothing is read."""
    data = b"MM\0*" + struct.pack(">IIi", 2, 5, 0)
    assert tiff.values_apart(data, ENTRIES) == 5
    assert tiff.values_apart(data[:15], ENTRIES) == 0


def with_values_apart(entries: list[tuple[int, int, int]]) -> bytes:
    """directory(entries), followed by as many bytes as their values kept apart take: within the file's size."""
    data = directory(entries)
    return data + bytes(tiff.values_apart(data, len(entries)))


DIRECTORY_REFUSAL = "TIFF directory of more than 1000 entries, or 200000 numbers in one"


# At the limits docs/SECURITY.md states, and one past them.
@pytest.mark.parametrize(("make", "limit", "refusal"), [
    (lambda count: with_values_apart([(256 + index, 3, 1) for index in range(count)]), 1_000, DIRECTORY_REFUSAL),
    (lambda count: with_values_apart([(256, 3, 1), (40000, 3, count)]), 200_000, DIRECTORY_REFUSAL),
    (lambda count: with_values_apart([(256, 3, 1), (273, 4, count)]), 65_536,
     "TIFF of more than 65536 strips or tiles"),
    # Pillow decodes the Exif and GPS directories whole as it loads a TIFF (4 MiB of RATIONALs took 1.2 s)
    (lambda count: tiff_pointing([(256, 3, 1)], exif=[(1000, 5, count)]), 20_000,
     "TIFF's Exif or GPS directory of more than 1000 entries, or Exif and GPS directories of more than 20000 numbers"),
], ids=["entries", "values", "strips", "exif-values"])
def test_a_tiff_past_a_limit_is_too_large_before_pillow_opens_it(pillow_opens, make, limit, refusal):
    edge.image.checks.check_what_pillow_walks(make(limit), edge.image.Limits(50_000_000, 300))
    with pytest.raises(SourceTooLarge) as refused:
        edge.image.render(make(limit + 1), parse_rendition("/4x/a.tif"), edge.image.Limits(50_000_000, 300))
    assert refused.value.detail == refusal
    assert pillow_opens == []


@pytest.mark.parametrize(("entries", "over"), [(10, False), (11, True)])
def test_a_directory_of_more_entries_than_the_limit_is_over(entries, over):
    assert tiff.first_directory_over(directory([(256 + index, 3, 1) for index in range(entries)]), 10, 10) is over


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(("big", "pointer_type"), [(False, 3), (False, 4), (False, 6), (False, 8), (False, 9),
                                                   (False, 13), (True, 4), (True, 16), (True, 18)],
                         ids=["SHORT", "LONG", "SBYTE", "SSHORT", "SLONG", "IFD", "big-LONG", "LONG8", "IFD8"])
@pytest.mark.parametrize("where", ["exif", "gps", "interop"])
def test_a_directory_pillow_reads_beside_the_first_is_held_to_the_limits(order, big, pointer_type, where):
    """Exif and GPS from the first directory, Interop from the Exif one; more than 20 numbers in all of them (the
    pointers among them), or 11 entries in one."""
    def with_entries(entries: list) -> bytes:
        exif = {"exif": [(1000, 3, 1)]} if where == "interop" else {}
        return tiff_pointing([(256, 3, 1)], **exif, **{where: entries}, order=order, big=big, pointer_type=pointer_type)

    assert tiff.sub_directories_over(with_entries([(1000, 5, 21)]), 10, 20)
    assert tiff.sub_directories_over(with_entries([(1000 + index, 5, 3) for index in range(7)]), 10, 20)
    assert tiff.sub_directories_over(with_entries([(1000 + index, 3, 1) for index in range(11)]), 10, 100)
    assert not tiff.sub_directories_over(with_entries([(1000 + index, 3, 1) for index in range(10)]), 10, 100)
    assert not tiff.sub_directories_over(with_entries([(1000 + index, 5, 3) for index in range(6)]), 10, 20)
    assert not tiff.first_directory_over(with_entries([(1000, 5, 21)]), 10, 20)


def twice_pointed(numbers: int) -> bytes:
    """A TIFF whose Exif and GPS pointers both point to one directory of a tag of `numbers` RATIONALs."""
    pointed = 8 + 2 + 3 * 12
    return directory([(256, 3, 1), (34665, 4, 1), (34853, 4, 1)]).replace(
        struct.pack("<HHI", 34665, 4, 1) + bytes(4), struct.pack("<HHII", 34665, 4, 1, pointed)).replace(
        struct.pack("<HHI", 34853, 4, 1) + bytes(4), struct.pack("<HHII", 34853, 4, 1, pointed)) + struct.pack(
        "<HHHI4x", 1, 1000, 5, numbers)


def test_a_directory_pointed_to_twice_is_counted_twice_as_pillow_decodes_it_twice():
    """A helper's 40 MB directory that both Exif and GPS pointed to took 34.7 s and 1.3 GB to render."""
    assert not tiff.sub_directories_over(twice_pointed(10), 10, 20)
    assert tiff.sub_directories_over(twice_pointed(11), 10, 20)
    assert tiff.first_directory_over(twice_pointed(11), 2, 20)  # the first directory's own entries, not counted


def test_exif_counts_its_first_directory_with_the_ones_it_points_to():
    """An AVIF's Exif is decoded whole by Pillow as it rewrites it: 40 MB split among 510 tags of 10,000 RATIONALs
    took 92 s and 983 MB to render (a helper's measure)."""
    exif = tiff_pointing([(256, 3, 1), (1000, 5, 9)], exif=[(1001, 5, 9)])
    assert not tiff.exif_over(exif, 10, 20)  # 1 + 9 + the pointer + 9
    assert tiff.exif_over(exif, 10, 19)
    assert not tiff.sub_directories_over(exif, 10, 19)


@pytest.mark.parametrize("data", [
    tiff_pointing([(256, 3, 1)], exif=[(1000, 5, 11)], pointer_type=5),  # a pointer Pillow does not read as a number
    tiff_pointing([(256, 3, 1), (34853, 4, 2)]),  # two numbers where a pointer belongs: Pillow follows none
    tiff_pointing([(256, 3, 1)], gps=[(1000, 5, 11)])[:-12],  # the entry over the limit cut off: not read
    tiff_pointing([(256, 3, 1)], interop=[(1000, 5, 11)]).replace(b"\x05\xa0", b"\x06\xa0"),  # Interop from no Exif
    directory([(256, 3, 1)]) + b"\x00" * 12,  # no pointer
    # an SSHORT pointer of -8, or of -1, the nearest before the file's start
    *(directory([(256, 3, 1), (34665, 8, 1)]).replace(b"\x08\x00\x01\x00\x00\x00\x00\x00",
                                                     b"\x08\x00\x01\x00\x00\x00" + struct.pack("<h", pointer))
      for pointer in (-8, -1)),
    b"II*\x00\xff\xff\xff\xff",
])
def test_what_pillow_does_not_read_beside_the_first_directory_is_not_held(data):
    assert not tiff.sub_directories_over(data, 10, 10)


def test_pointers_are_read_from_no_more_entries_than_a_directory_may_hold():
    """Past them the first directory is refused itself; the walk stops there."""
    assert tiff.sub_directories_over(tiff_pointing([(256, 3, 1)], exif=[(1000, 5, 11)]), 2, 10)
    assert not tiff.sub_directories_over(tiff_pointing([(256, 3, 1), (257, 3, 1)], exif=[(1000, 5, 11)]), 2, 10)


@pytest.mark.parametrize(("entries", "count"), [
    ([(256, 3, 1), (273, 4, 7), (279, 4, 7)], 7),
    ([(256, 3, 1), (324, 4, 9), (325, 4, 9)], 9),
    ([(256, 3, 1), (273, 3, 5), (324, 4, 9)], 9),
    ([(256, 3, 1), (279, 4, 7)], 0),  # byte counts alone: not the offsets Pillow makes tiles of
])
def test_the_strips_or_tiles_are_counted_from_their_offsets(entries, count):
    assert tiff.strips(directory(entries), ENTRIES) == count
    assert tiff.strips(directory(entries, ">", big=True), ENTRIES) == count


def test_a_tiff_of_as_many_strips_as_the_limit_renders(monkeypatch):
    data = encoded(noise_image((40, 30)), "TIFF", compression="raw")
    monkeypatch.setattr(edge.image.checks, "MAX_TIFF_STRIPS", tiff.strips(data, ENTRIES))
    assert tiff.strips(data, ENTRIES) >= 1
    assert Image.open(io.BytesIO(edge.image.render(data, parse_rendition("/4x/a.tif"),
                                                   edge.image.Limits(50_000_000, 300)).body)).size == (4, 3)


def jpeg_tiles(image: Image.Image, tile: int, cut: bool = False, **options) -> tuple[bytes, list[bytes]]:
    """A TIFF of an L image in tile x tile tiles, each a whole JPEG of its part (saved with `options`), and the tiles'
    JPEGs; `cut`, those past the image's edges only as large as the part of it they hold."""
    across, down = -(-image.width // tile), -(-image.height // tile)
    edges = image.size if cut else (across * tile, down * tile)
    streams = [encoded(image.crop((x * tile, y * tile, min((x + 1) * tile, edges[0]), min((y + 1) * tile, edges[1]))),
                       "JPEG", **options)
               for y in range(down) for x in range(across)]
    return tiled_tiff(image, tile, streams, compression=7), streams


def scan_work(monkeypatch, data: bytes, most: int) -> None:
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_SCAN_PIXELS", most)
    image = Image.open(io.BytesIO(data))
    pieces = edge.image.checks.tiff_pieces(image)
    edge.image.checks.check_tiff_jpeg_scans(image, pieces, edge.image.checks.tiff_jpeg_sizes(data, pieces), data)


def test_jpeg_tiffs_render(monkeypatch):
    """Strips as libtiff writes them, and tiles of whole JPEGs, baseline and progressive."""
    strips = encoded(gradient((40, 30)), "TIFF", compression="jpeg", strip_size=2000)
    tiles, _ = jpeg_tiles(gradient((40, 30), "L"), 16, progressive=True)
    for data in (strips, tiles):
        rendered = Image.open(io.BytesIO(edge.image.render(data, parse_rendition("/20x/a.tif"),
                                                           edge.image.Limits(50_000_000, 300)).body))
        assert rendered.size == (20, 15)


def test_a_jpeg_tiffs_strips_are_each_counted_as_one_scan_of_every_sample_over_the_whole_strip(monkeypatch):
    data = encoded(gradient((40, 30)), "TIFF", compression="jpeg", strip_size=2000)
    work = 2 * 3 * 40 * 16  # the last strip, of 14 rows, counted as one of 16
    assert Image.open(io.BytesIO(data)).tag_v2[278] == 16 and tiff.strips(data, ENTRIES) == 2
    scan_work(monkeypatch, data, work)
    with pytest.raises(SourceTooLarge, match="TIFF whose JPEG strips or tiles may decode more than 3839 pixels"):
        scan_work(monkeypatch, data, work - 1)


@pytest.mark.parametrize("arithmetic", [False, True])
def test_a_jpeg_tiffs_tiles_are_counted_by_their_scans_each_arithmetic_coded_one_four_times(monkeypatch, arithmetic):
    data, streams = jpeg_tiles(gradient((40, 30), "L"), 16, progressive=True)
    if arithmetic:
        data = data.replace(b"\xff\xc2", b"\xff\xca")
    scans = sum(stream.count(b"\xff\xda") for stream in streams)
    work = scans * 16 * 16 * (4 if arithmetic else 1)
    assert scans == 6 * len(streams) == 36
    scan_work(monkeypatch, data, work)
    with pytest.raises(SourceTooLarge, match="may decode more than"):
        scan_work(monkeypatch, data, work - 1)


def test_a_jpeg_tiff_past_the_scan_limit_is_too_large_before_it_is_decoded(monkeypatch):
    data, _ = jpeg_tiles(gradient((40, 30), "L"), 16, progressive=True)
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_SCAN_PIXELS", 100)
    monkeypatch.setattr(Image.Image, "load", lambda _: pytest.fail("decoded"))
    with pytest.raises(SourceTooLarge, match="TIFF whose JPEG strips or tiles"):
        edge.image.render(data, parse_rendition("/20x/a.tif"), edge.image.Limits(50_000_000, 300))


def test_a_tiff_whose_tiles_share_bytes_adding_up_to_more_than_the_file_is_too_large(monkeypatch):
    stream = zlib.compress(noise_image((16, 16)).convert("L").tobytes())  # all a tile's pixels
    data = tiled_tiff(gradient((64, 64), "L"), 16, [stream] * 16, shared=True)
    assert 16 * len(stream) > len(data)
    with pytest.raises(SourceTooLarge, match="TIFF whose strips or tiles share bytes"):
        edge.image.render(data, parse_rendition("/20x/a.tif"), edge.image.Limits(50_000_000, 300))


def raw_strips(rows_per_strip: int, strips: int, planar: int = 1, size: tuple[int, int] = (16, 16),
               orientation: int = 1) -> bytes:
    """An uncompressed RGB TIFF of `size`, as stored, in strips of `rows_per_strip` rows, its first `strips` of them
    only; planar 2 lays each sample's plane apart, in strips of its own."""
    width, height = size
    image = gradient(size)
    planes = [band.tobytes() for band in image.split()] if planar == 2 else [image.tobytes()]
    row_bytes = len(planes[0]) // height
    pieces = [plane[top * row_bytes:(top + rows_per_strip) * row_bytes]
              for plane in planes for top in range(0, height, rows_per_strip)][:strips]
    return little_endian_tiff([(256, "I", [width]), (257, "I", [height]), (258, "H", [8, 8, 8]), (259, "H", [1]),
                               (262, "H", [2]), (273, "I", None), (274, "H", [orientation]), (277, "H", [3]),
                               (278, "I", [rows_per_strip]), (279, "I", [len(piece) for piece in pieces]),
                               (284, "H", [planar])], pieces, 273)


@pytest.mark.parametrize(("rows_per_strip", "strips", "planar"), [(4, 3, 1), (8, 1, 1), (4, 11, 2), (16, 2, 2)])
def test_an_uncompressed_tiff_missing_strips_is_refused(rows_per_strip, strips, planar):
    """Pillow decoded the strips there were and left the rest black, where libtiff refuses a compressed one (a
    fuzzer's 298-byte TIFF declared 33,554,432 rows and held 31)."""
    with pytest.raises(UnsupportedMedia, match="malformed TIFF: .* strips or tiles of the .* its size needs"):
        edge.image.render(raw_strips(rows_per_strip, strips, planar), parse_rendition("/16x/a.tif"),
                          edge.image.Limits(50_000_000, 300))


def extra_raw_strips(rows_per_strip: int, strips: int) -> bytes:
    """An uncompressed 16x16 RGB TIFF of `strips` strips of `rows_per_strip` rows, more than its size needs, each
    declaring one byte and all pointing at one copy of the whole picture. (With planes apart, Pillow fails to open
    one strip more than the planes take.)"""
    return little_endian_tiff([(256, "I", [16]), (257, "I", [16]), (258, "H", [8, 8, 8]), (259, "H", [1]),
                               (262, "H", [2]), (273, "I", None), (277, "H", [3]), (278, "I", [rows_per_strip]),
                               (279, "I", [1] * strips)], [gradient((16, 16)).tobytes()] * strips, 273, shared=True)


# Pillow's raw decoder decodes every strip or tile, starting over at the top after the last row, each for as many
# bytes as its rows take whatever its byte count says (libtiff reads those the size needs): 65,536 strips of two an
# image redrew a 9.5 MB TIFF 32,768 times in 47 s (a helper's file). Of one strip an image, it decoded the last.
@pytest.mark.parametrize(("rows_per_strip", "strips"), [(15, 3), (15, 4096), (16, 2), (8, 5)])
def test_an_uncompressed_tiff_of_more_strips_than_its_size_needs_is_refused(rows_per_strip, strips):
    with pytest.raises(UnsupportedMedia, match=f"malformed TIFF: {strips} strips or tiles of the .* its size needs"):
        edge.image.render(extra_raw_strips(rows_per_strip, strips), parse_rendition("/16x/a.tif"),
                          edge.image.Limits(50_000_000, 300))


# Pillow gives a TIFF's size turned upright by its Orientation, its sides swapped from 5 to 8; its strips are cut
# from the size as stored (a helper's files: missing strips passed, and a whole TIFF was refused).
@pytest.mark.parametrize("orientation", range(1, 9))
def test_an_uncompressed_tiff_missing_strips_is_refused_however_it_is_turned(orientation):
    with pytest.raises(UnsupportedMedia, match="malformed TIFF: 1 strips or tiles of the 16 its size needs"):
        edge.image.render(raw_strips(4, 1, size=(4, 64), orientation=orientation), parse_rendition("/16x/a.tif"),
                          edge.image.Limits(50_000_000, 300))


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiff_stored_wider_than_high_renders_upright_however_it_is_turned(orientation, compression):
    stored = gradient((96, 32))
    data = encoded(stored, "TIFF", tiffinfo={274: orientation}, compression=compression)
    rendered = edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    upright = stored if orientation == 1 else stored.transpose(edge.image.source.UPRIGHT[orientation])
    image = Image.open(io.BytesIO(rendered.body))
    assert (image.mode, image.size, image.tobytes()) == ("RGB", upright.size, upright.tobytes())


def test_a_tiff_is_never_turned_by_its_xmp():
    """Pillow's load() turned it by XMP's tiff:Orientation, which Pillow's size had not: the picture came out in a
    canvas not turned, half black (a helper's file)."""
    stored = gradient((96, 32))
    data = encoded(stored, "TIFF", tiffinfo={700: XMP_ORIENTATION_6}, compression="tiff_lzw")
    assert Image.open(io.BytesIO(data)).info["xmp"] == XMP_ORIENTATION_6
    rendered = edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).tobytes() == stored.tobytes()


def turned_tiles(stored: Image.Image, tile: tuple[int, int], orientation: int, compression: int = 1,
                 tiles: int | None = None) -> bytes:
    """A TIFF of an L or RGBA image, as stored, in tiles of `tile` (width, height), each padded to a whole tile; an
    RGBA one's samples of 16 bits, each the 8-bit one in its high byte. Its first `tiles` tiles only."""
    tile_width, tile_height = tile
    across, down = -(-stored.width // tile_width), -(-stored.height // tile_height)
    padded = Image.new(stored.mode, (across * tile_width, down * tile_height))
    padded.paste(stored)
    pieces = [padded.crop((x * tile_width, y * tile_height, (x + 1) * tile_width, (y + 1) * tile_height)).tobytes()
              for y in range(down) for x in range(across)][:tiles]
    samples = len(stored.getbands())
    if samples == 4:
        pieces = [bytes(byte for sample in piece for byte in (0, sample)) for piece in pieces]
    pieces = [zlib.compress(piece) if compression == 8 else piece for piece in pieces]
    extra = [(338, "H", [2])] if samples == 4 else []
    return little_endian_tiff([(256, "I", [stored.width]), (257, "I", [stored.height]),
                               (258, "H", [8] if samples == 1 else [16] * samples), (259, "H", [compression]),
                               (262, "H", [1 if samples == 1 else 2]), (274, "H", [orientation]),
                               (277, "H", [samples]), (322, "H", [tile_width]), (323, "H", [tile_height]),
                               (324, "I", None), (325, "I", [len(piece) for piece in pieces]), *extra], pieces, 324)


# Tiles that are not square are as many across and down as the size as stored asks, not as Pillow's, turned
# upright by Orientation 5 to 8, asks: 40x24 in tiles of 16x32 takes 3, and 24x40 takes 4.
@pytest.mark.parametrize("orientation", range(1, 9))
def test_an_uncompressed_tiled_tiff_renders_upright_however_it_is_turned(orientation):
    stored = noise_image((40, 24)).convert("L")
    rendered = edge.image.render(turned_tiles(stored, (16, 32), orientation), parse_rendition("/40x,png/a.tif"),
                                 edge.image.Limits(50_000_000, 300))
    upright = stored if orientation == 1 else stored.transpose(edge.image.source.UPRIGHT[orientation])
    image = Image.open(io.BytesIO(rendered.body))
    assert (image.size, image.tobytes()) == (upright.size, upright.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_an_uncompressed_tiff_missing_a_tile_is_refused_however_it_is_turned(orientation):
    with pytest.raises(UnsupportedMedia, match="malformed TIFF: 3 strips or tiles of the 4 its size needs"):
        edge.image.render(turned_tiles(noise_image((24, 40)).convert("L"), (16, 32), orientation, tiles=3),
                          parse_rendition("/20x/a.tif"), edge.image.Limits(50_000_000, 300))


@pytest.mark.parametrize("orientation", [1, 6])
def test_tiles_cover_the_pixel_limit_as_stored_however_it_is_turned(orientation):
    """16x256 in tiles of 256x16 cover 65,536 pixels; turned, as 256x16, they would cover 4,096."""
    data = turned_tiles(gradient((16, 256), "L"), (256, 16), orientation, compression=8)
    with pytest.raises(SourceTooLarge, match="TIFF whose tiles cover 65536 pixels, over 2 times 32767"):
        edge.image.render(data, parse_rendition("/8x/a.tif"), edge.image.Limits(32_767, 300))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_deflate_tiles_of_the_widest_pixels_inflate_within_the_size_as_stored_however_it_is_turned(orientation):
    """16x256 in tiles of 256x16, 8 bytes a pixel: 524,288 bytes inflated, within 8 x (16 + 256) x (256 + 16); by
    Pillow's size turned, 256x16, 131,072 would have been the most, and the file malformed."""
    stored = noise_image((16, 256)).convert("RGBA")
    rendered = edge.image.render(turned_tiles(stored, (256, 16), orientation, compression=8),
                                 parse_rendition("/256x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    upright = stored if orientation == 1 else stored.transpose(edge.image.source.UPRIGHT[orientation])
    image = Image.open(io.BytesIO(rendered.body))
    assert (image.mode, image.size, image.tobytes()) == ("RGBA", upright.size, upright.tobytes())


def test_a_deflate_tiffs_last_strip_padded_to_whole_rows_renders():
    """Some writers pad it so, and libtiff decodes it (a reviewer's file): 100x10 of 16-bit RGBA in strips of 8 rows,
    16 inflated, past 8 x (100 + 1) x (10 + 1) bytes."""
    row = bytes(index * 7 % 256 for index in range(100 * 8))
    strip = zlib.compress(row * 8)
    data = little_endian_tiff([(256, "I", [100]), (257, "I", [10]), (258, "H", [16] * 4), (259, "H", [8]),
                               (262, "H", [2]), (273, "I", None), (277, "H", [4]), (278, "I", [8]),
                               (279, "I", [len(strip)] * 2), (338, "H", [2])], [strip, strip], 273)
    assert len(row) * 16 > 8 * 101 * 11
    rendered = edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    with Image.open(io.BytesIO(data)) as alone:  # libtiff's decode, as Pillow makes it
        assert Image.open(io.BytesIO(rendered.body)).tobytes() == alone.convert("RGBA").tobytes()


@pytest.mark.parametrize("rows_per_strip", [None, 10, 2**32 - 1])
def test_a_deflate_tiffs_only_strip_is_not_allowed_a_strip_of_padding(rows_per_strip):
    """One strip holds every row: nothing can be padded, and a strip that inflates past (100 + 1) x (10 + 1) pixels
    of 8 bytes is corrupt, as it was before the last strip's padding was allowed (510da70 allowed 10 rows more)."""
    row = bytes(index * 7 % 256 for index in range(100 * 8))
    strip = zlib.compress(row * 12)
    rows = [] if rows_per_strip is None else [(278, "I", [rows_per_strip])]
    data = little_endian_tiff([(256, "I", [100]), (257, "I", [10]), (258, "H", [16] * 4), (259, "H", [8]),
                               (262, "H", [2]), (273, "I", None), (277, "H", [4]), *rows, (279, "I", [len(strip)]),
                               (338, "H", [2])], [strip], 273)
    assert len(row) * 12 > 8 * 101 * 11
    with pytest.raises(UnsupportedMedia, match="malformed TIFF: strip 0 inflates to more than the image's pixels"):
        edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))


# A RowsPerStrip far past the height but short of the default, 2**32 - 1, is as declared too: 2**31 - 1, which libtiff
# decodes (2**31 and 2**32 - 2 it fails on, by hand), its strip padded to 16 rows.
@pytest.mark.parametrize(("rows_per_strip", "padded_to"), [(16, 16), (20, 20), (2**31 - 1, 16)])
def test_a_deflate_tiffs_only_strip_padded_to_a_strip_taller_than_the_image_renders(rows_per_strip, padded_to):
    """RowsPerStrip past the height makes the only strip the last, which a writer that pads the last strip pads
    to RowsPerStrip rows, and libtiff decodes: 100x10 of 16-bit RGBA padded to 16 rows inflates past
    8 x (100 + 1) x (10 + 1) bytes, and 65ada86 refused it (a helper's file)."""
    row = bytes(index * 7 % 256 for index in range(100 * 8))
    strip = zlib.compress(row * padded_to)
    data = little_endian_tiff([(256, "I", [100]), (257, "I", [10]), (258, "H", [16] * 4), (259, "H", [8]),
                               (262, "H", [2]), (273, "I", None), (277, "H", [4]), (278, "I", [rows_per_strip]),
                               (279, "I", [len(strip)]), (338, "H", [2])], [strip], 273)
    assert len(row) * padded_to > 8 * 101 * 11
    rendered = edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    with Image.open(io.BytesIO(data)) as alone:  # libtiff's decode, as Pillow makes it
        assert Image.open(io.BytesIO(rendered.body)).tobytes() == alone.convert("RGBA").tobytes()


# 100x10 of 16-bit RGBA in one strip, all its rows in it by default or as declared: a column and a row more than its
# pixels, 8 x (100 + 1) x (10 + 1) bytes, inflate, and a byte more does not.
@pytest.mark.parametrize("rows_per_strip", [None, 10])
@pytest.mark.parametrize(("inflated", "renders"), [(8 * 101 * 11, True), (8 * 101 * 11 + 1, False)],
                         ids=["the-most", "a-byte-more"])
def test_a_deflate_tiffs_only_strip_may_inflate_to_a_column_and_a_row_more_than_its_pixels(rows_per_strip, inflated,
                                                                                           renders):
    strip = zlib.compress((bytes(index * 7 % 256 for index in range(100 * 8)) * 12)[:inflated])
    rows = [] if rows_per_strip is None else [(278, "I", [rows_per_strip])]
    data = little_endian_tiff([(256, "I", [100]), (257, "I", [10]), (258, "H", [16] * 4), (259, "H", [8]),
                               (262, "H", [2]), (273, "I", None), (277, "H", [4]), *rows, (279, "I", [len(strip)]),
                               (338, "H", [2])], [strip], 273)
    if not renders:
        with pytest.raises(UnsupportedMedia, match="malformed TIFF: strip 0 inflates to more than the image's pixels"):
            edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))
        return
    rendered = edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    with Image.open(io.BytesIO(data)) as alone:  # libtiff's decode, as Pillow makes it
        assert Image.open(io.BytesIO(rendered.body)).tobytes() == alone.convert("RGBA").tobytes()


def test_a_deflate_tiffs_only_strip_is_allowed_no_more_than_the_height_again():
    """RowsPerStrip of 32 for 10 rows: 22 rows of padding are allowed 10, a bound on what a bomb inflates."""
    row = bytes(index * 7 % 256 for index in range(100 * 8))
    strip = zlib.compress(row * 21)
    data = little_endian_tiff([(256, "I", [100]), (257, "I", [10]), (258, "H", [16] * 4), (259, "H", [8]),
                               (262, "H", [2]), (273, "I", None), (277, "H", [4]), (278, "I", [32]),
                               (279, "I", [len(strip)]), (338, "H", [2])], [strip], 273)
    assert len(row) * 21 > 8 * 101 * 20
    with pytest.raises(UnsupportedMedia, match="malformed TIFF: strip 0 inflates to more than the image's pixels"):
        edge.image.render(data, parse_rendition("/100x,png/a.tif"), edge.image.Limits(50_000_000, 300))


# Counting a TIFF's pages seeks back to the first, which reads its XMP (a reviewer's file) and its Orientation tag
# again (another's): the load would turn the pixels by either, in a canvas planned unturned. Its tag would also have
# Pillow size the image upright again, so the size before the load says nothing.
@pytest.mark.parametrize("turned_by", [{700: XMP_ORIENTATION_6}, {274: 6}])
def test_pixels_decoded_to_another_size_than_declared_are_refused(turned_by):
    buffer = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(buffer, True) as writer:
        gradient((40, 24)).save(writer, "TIFF", tiffinfo=turned_by, compression="tiff_lzw")
        writer.newFrame()
        gradient((8, 8)).save(writer, "TIFF")
        writer.newFrame()
    source = edge.image.source.open_source(buffer.getvalue(), edge.image.Limits(50_000_000, 300))
    assert source.image.n_frames == 2
    with pytest.raises(UnsupportedMedia, match="^decoded 24x40, where it declared 40x24$"):
        edge.image.steps.decode_pixels(source.image)


@pytest.mark.parametrize(("rows_per_strip", "strips", "planar"), [(4, 4, 1), (16, 1, 1), (5, 4, 1), (4, 12, 2)])
def test_an_uncompressed_tiff_with_every_strip_renders_whole(rows_per_strip, strips, planar):
    rendered = edge.image.render(raw_strips(rows_per_strip, strips, planar), parse_rendition("/16x,png/a.tif"),
                                 edge.image.Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).convert("RGB").tobytes() == gradient((16, 16)).tobytes()


def test_a_tile_running_past_the_files_end_counts_only_what_the_file_holds():
    """Not too large: cut short, which the decode then finds."""
    data = tiled_tiff(gradient((64, 128), "L"), 64, [bytes(64 * 64)] * 2, compression=1)[:-1000]
    assert 2 * 64 * 64 > len(data)
    with pytest.raises(UnsupportedMedia):
        edge.image.render(data, parse_rendition("/20x/a.tif"), edge.image.Limits(50_000_000, 300))


@pytest.mark.parametrize(("most_pixels", "refused"), [(1024 * 1024 // 2, False), (1024 * 1024 // 2 - 1, True)])
def test_tiles_may_cover_twice_the_pixel_limit_and_no_more(most_pixels, refused):
    """A 16x16 image in one 1024-pixel tile: 1,048,576 pixels decoded."""
    data = tiled_tiff(gradient((16, 16), "L"), 1024)
    limits = edge.image.Limits(most_pixels, 300)
    if refused:
        with pytest.raises(SourceTooLarge, match="TIFF whose tiles cover 1048576 pixels, over 2 times 524287"):
            edge.image.render(data, parse_rendition("/8x/a.tif"), limits)
    else:
        assert Image.open(io.BytesIO(edge.image.render(data, parse_rendition("/8x/a.tif"), limits).body)).size == (8, 8)


def jpeg_strip_tiff(size: tuple[int, int], rows: int, strips: list[bytes], samples: int = 1,
                    orientation: int = 1) -> bytes:
    """A TIFF of `size`, as stored, in strips of `rows` rows, each strip one of these JPEG streams: grey, or of
    `samples` samples planes apart (PlanarConfiguration 2), `strips` then holding each plane's in turn."""
    planar = 1 if samples == 1 else 2
    return little_endian_tiff([(256, "I", [size[0]]), (257, "I", [size[1]]), (258, "H", [8] * samples),
                               (259, "H", [7]), (262, "H", [planar]), (273, "I", None), (274, "H", [orientation]),
                               (277, "H", [samples]), (278, "I", [rows]), (279, "I", [len(strip) for strip in strips]),
                               (284, "H", [planar])], strips, 273)


@pytest.mark.parametrize("orientation", [1, 6])  # 6: Pillow gives the size turned upright, 14x32
@pytest.mark.parametrize(("last_rows", "counted_rows"), [(8, 8), (6, 8), (40, 40)],
                         ids=["whole", "shorter", "taller"])
def test_the_last_jpeg_strip_is_counted_with_the_rows_its_jpeg_declares_where_they_are_more(monkeypatch, last_rows,
                                                                                            counted_rows, orientation):
    """libtiff lets the last strip's JPEG be taller than the strip, and libjpeg decodes all its rows."""
    first = encoded(gradient((32, 8), "L"), "JPEG", progressive=True)
    last = encoded(gradient((32, last_rows), "L"), "JPEG", progressive=True)
    data = jpeg_strip_tiff((32, 14), 8, [first, last], orientation=orientation)
    assert Image.open(io.BytesIO(data)).size == ((32, 14) if orientation == 1 else (14, 32))
    work = (first.count(b"\xff\xda") * 8 + last.count(b"\xff\xda") * counted_rows) * 32
    scan_work(monkeypatch, data, work)
    with pytest.raises(SourceTooLarge, match="may decode more than"):
        scan_work(monkeypatch, data, work - 1)


def test_a_jpeg_strip_past_those_libtiff_decodes_whose_header_cannot_be_read_counts_as_high_as_a_jpeg_may_be(
        monkeypatch):
    """libtiff never reads it, so the picture renders; its scans are counted all the same, an upper bound."""
    strip = encoded(gradient((32, 8), "L"), "JPEG")
    data = jpeg_strip_tiff((32, 14), 8, [strip, strip, b"\xff\xd8\xff\xda"])
    rendered = edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).size == (16, 7)
    work = (strip.count(b"\xff\xda") * 2 * 8 + 65_535) * 32
    scan_work(monkeypatch, data, work)
    with pytest.raises(SourceTooLarge, match="may decode more than"):
        scan_work(monkeypatch, data, work - 1)


def test_a_jpeg_tiff_renders_with_its_last_strip_taller_than_the_image():
    strips = [encoded(gradient((32, 8), "L"), "JPEG"), encoded(gradient((32, 8), "L"), "JPEG")]
    data = jpeg_strip_tiff((32, 14), 8, strips)
    rendered = edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).size == (16, 7)


def test_the_last_jpeg_strip_of_each_plane_is_counted_with_the_rows_its_jpeg_declares(monkeypatch):
    """Three planes of two strips each (a first of 8 rows, a last of 6 whose JPEG declares 40), every strip counted
    with all three samples."""
    first = encoded(gradient((32, 8), "L"), "JPEG", progressive=True)
    last = encoded(gradient((32, 40), "L"), "JPEG", progressive=True)
    data = jpeg_strip_tiff((32, 14), 8, [first, last] * 3, samples=3)
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    work = 3 * 3 * (first.count(b"\xff\xda") * 8 + last.count(b"\xff\xda") * 40) * 32
    scan_work(monkeypatch, data, work)
    with pytest.raises(SourceTooLarge, match="may decode more than"):
        scan_work(monkeypatch, data, work - 1)


def test_each_jpeg_strip_s_frame_header_is_read_once_for_both_checks(monkeypatch):
    """Within an equal share of MOST_TIFF_JPEG_MARKERS: its size checked against its strip's, its rows counted."""
    walked = []
    read = jpeg.frame_size
    monkeypatch.setattr(jpeg, "frame_size", lambda *walk: walked.append(walk[1:]) or read(*walk))
    first = encoded(gradient((32, 8), "L"), "JPEG")
    last = encoded(gradient((32, 40), "L"), "JPEG")
    data = jpeg_strip_tiff((32, 14), 8, [first, last] * 3, samples=3)
    rendered = edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).size == (16, 7)
    offsets = Image.open(io.BytesIO(data)).tag_v2[273]
    share = edge.image.checks.MOST_TIFF_JPEG_MARKERS // 6
    assert walked == [(offset, offset + len(strip), share) for offset, strip in zip(offsets, [first, last] * 3)]


def white_jpeg(size: tuple[int, int]) -> bytes:
    return encoded(Image.new("L", size, "white"), "JPEG")


def white_tiles(sizes: list[tuple[int, int]]) -> bytes:
    """A 40x30 grey TIFF in 16x16 tiles (three across, two down), each a white JPEG of these sizes."""
    return tiled_tiff(Image.new("L", (40, 30)), 16, [white_jpeg(size) for size in sizes], compression=7)


WHITE_STRIP, WHITE_LAST = white_jpeg((32, 8)), white_jpeg((32, 6))
# JPEG strips or tiles narrower or shorter than the part of the picture they hold (a 32x14 one in strips of 8 rows, a
# 40x30 one in tiles of 16), and where the error names them.
SHORT_OF_THEIR_PART = [
    ("strip-shorter", jpeg_strip_tiff((32, 14), 8, [white_jpeg((32, 7)), WHITE_LAST]), "0 is a JPEG of 32x7, short of "
     "the 32x8"),
    ("last-strip-shorter", jpeg_strip_tiff((32, 14), 8, [WHITE_STRIP, white_jpeg((32, 5))]), "1 is a JPEG of 32x5"),
    ("strip-narrower", jpeg_strip_tiff((32, 14), 8, [white_jpeg((31, 8)), WHITE_LAST]), "0 is a JPEG of 31x8"),
    ("last-strip-narrower", jpeg_strip_tiff((32, 14), 8, [WHITE_STRIP, white_jpeg((31, 6))]), "1 is a JPEG of 31x6"),
    ("second-plane-s-last-strip-shorter", jpeg_strip_tiff(
        (32, 14), 8, [WHITE_STRIP, WHITE_LAST, WHITE_STRIP, white_jpeg((32, 5)), WHITE_STRIP, WHITE_LAST], samples=3),
     "3 is a JPEG of 32x5, short of the 32x6"),
    ("tile-narrower", white_tiles([(15, 16)] + [(16, 16)] * 5), "0 is a JPEG of 15x16, short of the 16x16"),
    ("edge-tile-shorter-than-its-part", white_tiles([(16, 16)] * 5 + [(8, 13)]), "5 is a JPEG of 8x13, short of the "
     "8x14"),
]


@pytest.mark.parametrize(("data", "named"), [row[1:] for row in SHORT_OF_THEIR_PART],
                         ids=[row[0] for row in SHORT_OF_THEIR_PART])
def test_libtiff_decodes_a_jpeg_strip_or_tile_short_of_its_part_of_the_picture_black_where_it_does_not_reach(data,
                                                                                                            named):
    """It only warns ("Improper JPEG strip/tile size" in JPEGPreDecode): what Pillow decodes alone."""
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    assert min(band.getextrema()[0] for band in decoded.split()) == 0  # of white JPEGs


@pytest.mark.parametrize(("data", "named"), [
    *[row[1:] for row in SHORT_OF_THEIR_PART],
    # 761 bytes declaring 7000x7000 in 1x1 JPEGs rendered black in 0.3 s and 356 MB
    (jpeg_strip_tiff((7000, 7000), 1000, [white_jpeg((1, 1))] * 7), "0 is a JPEG of 1x1, short of the 7000x1000"),
], ids=[*[row[0] for row in SHORT_OF_THEIR_PART], "1x1-jpegs-declaring-7000x7000"])
def test_a_jpeg_tiff_whose_strip_or_tile_is_short_of_its_part_of_the_picture_is_unsupported_before_it_decodes(
        monkeypatch, data, named):
    monkeypatch.setattr(Image.Image, "load", lambda _: pytest.fail("decoded"))
    with pytest.raises(UnsupportedMedia, match=f"malformed TIFF: strip or tile {named}"):
        edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))


def strip_with(extra: bytes, where: str = "before-frame") -> bytes:
    """A white JPEG strip of 32x8 with `extra` after its start of image, or before its frame header."""
    at = 2 if where == "after-start" else WHITE_STRIP.index(b"\xff\xc0")
    return WHITE_STRIP[:at] + extra + WHITE_STRIP[at:]


# What libjpeg passes over before a frame header, with a warning or none.
PASSED_OVER = [("junk", b"\x00\x13"), ("fill-bytes", b"\xff\xff\xff"), ("stuffed-zero", b"\xff\x00"),
               ("restart-0", b"\xff\xd0"), ("tem", b"\xff\x01"), ("comment-of-length-0", b"\xff\xfe\x00\x00"),
               ("comment-of-length-1", b"\xff\xfe\x00\x01"), ("dnl", b"\xff\xdc\x00\x04\x00\x08")]


@pytest.mark.parametrize("extra", [row[1] for row in PASSED_OVER], ids=[row[0] for row in PASSED_OVER])
def test_what_libjpeg_passes_over_before_a_jpeg_strip_s_frame_header_is_passed_over(extra):
    data = jpeg_strip_tiff((32, 14), 8, [strip_with(extra), WHITE_LAST])
    assert rendered_whole(data).getextrema() == (255, 255)


# Strips libtiff fails on: libjpeg before their frame header or on it, or libtiff on a size past its strip's; and
# what the render says of each.
FAILING_STRIPS = [
    ("no-start-of-image", b"\x00" + WHITE_STRIP, "without a frame header among its first"),
    ("a-scan-first", strip_with(b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00", "after-start"), "without a frame"),
    ("end-of-image-first", strip_with(b"\xff\xd9", "after-start"), "without a frame"),
    ("second-start-of-image", strip_with(b"\xff\xd8", "after-start"), "without a frame"),
    ("unknown-code", strip_with(b"\xff\xde\x00\x02"), "without a frame"),  # DHP
    ("reserved-code", strip_with(b"\xff\x02\x00\x02"), "without a frame"),
    ("segment-past-the-strip", WHITE_STRIP[:2] + b"\xff\xe0\xff\xff", "without a frame"),
    ("frame-header-cut-short", WHITE_STRIP[:WHITE_STRIP.index(b"\xff\xc0") + 8], "without a frame"),
    ("wider", white_jpeg((33, 8)), "cannot decode image"),
    ("taller", white_jpeg((32, 9)), "cannot decode image"),
]


@pytest.mark.parametrize(("strip", "refusal"), [row[1:] for row in FAILING_STRIPS],
                         ids=[row[0] for row in FAILING_STRIPS])
def test_a_jpeg_strip_libtiff_fails_on_is_unsupported(strip, refusal):
    data = jpeg_strip_tiff((32, 14), 8, [strip, WHITE_LAST])
    with pytest.raises(OSError, match="decoder error"):
        Image.open(io.BytesIO(data)).load()
    with pytest.raises(UnsupportedMedia, match=refusal):
        edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))


def test_a_jpeg_strip_s_frame_header_is_sought_within_an_equal_share_of_the_markers(monkeypatch):
    """Pillow's JPEG has its frame header third, after JFIF's segment and the quantization table. At the most strips
    a TIFF may have, each is sought within 4 markers: 0.2-0.3 s for all, its header checks with it (by hand)."""
    assert edge.image.checks.tiff_jpeg_markers(edge.image.checks.MAX_TIFF_STRIPS) == 4
    assert edge.image.checks.tiff_jpeg_markers(1) == edge.image.checks.MAX_JPEG_HEADER_STEPS
    data = jpeg_strip_tiff((32, 14), 8, [WHITE_STRIP, WHITE_LAST])
    monkeypatch.setattr(edge.image.checks, "MOST_TIFF_JPEG_MARKERS", 2 * 3)
    assert rendered_whole(data).size == (32, 14)
    monkeypatch.setattr(edge.image.checks, "MOST_TIFF_JPEG_MARKERS", 2 * 3 - 1)
    with pytest.raises(UnsupportedMedia, match="strip or tile 0 is a JPEG without a frame header among its first 2 "):
        edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))


def rendered_whole(data: bytes) -> Image.Image:
    """A TIFF rendered at the size it declares, losslessly: the pixels its decode gave."""
    width = Image.open(io.BytesIO(data)).width
    rendered = edge.image.render(data, parse_rendition(f"/{width}x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    return Image.open(io.BytesIO(rendered.body))


def ycbcr_jpeg_strips(image: Image.Image, rows: int, subsampling: int) -> bytes:
    """A YCbCr TIFF of an RGB image in strips of `rows` rows, each a whole JPEG of them subsampled as Pillow's code
    says (0: 4:4:4, 1: 4:2:2, 2: 4:2:0), as libtiff writes what it is handed as RGB (JPEGCOLORMODE_RGB). Pillow's
    TIFF writer hands libtiff the pixels of a subsampled one whole, which it takes for subsampled ones."""
    strips = [encoded(image.crop((0, top, image.width, min(top + rows, image.height))), "JPEG", quality=95,
                      subsampling=subsampling) for top in range(0, image.height, rows)]
    return little_endian_tiff([(256, "I", [image.width]), (257, "I", [image.height]), (258, "H", [8, 8, 8]),
                               (259, "H", [7]), (262, "H", [6]), (273, "I", None), (277, "H", [3]),
                               (278, "I", [rows]), (279, "I", [len(strip) for strip in strips]),
                               (530, "H", [[1, 1], [2, 1], [2, 2]][subsampling])], strips, 273)


PICTURE = gradient((40, 30))
JPEG_EPSILON = 12  # the most a smooth gradient's pixels move through a JPEG of quality 95 (by hand: 10)
# Each as its writer lays it (Pillow's in strips of 8 or 16 rows, the last shorter; tiles by hand), and the picture.
WHOLE_JPEG_TIFFS = [
    *[(f"pillow-{mode}", encoded(PICTURE.convert(mode), "TIFF", compression="jpeg", quality=95,
                                 strip_size=40 * 8 * len(mode)),
       PICTURE.convert("L" if mode == "L" else "RGB")) for mode in ("L", "RGB", "CMYK", "YCbCr")],
    *[(f"ycbcr-{name}", ycbcr_jpeg_strips(PICTURE, 16, subsampling), PICTURE)
      for name, subsampling in [("444", 0), ("422", 1), ("420", 2)]],
    ("tiles", jpeg_tiles(PICTURE.convert("L"), 16, quality=95)[0], PICTURE.convert("L")),
    # libtiff only warns of a JPEG short of the whole tile past the picture's edge, and decodes it rightly
    ("tiles-cut-at-the-edges", jpeg_tiles(PICTURE.convert("L"), 16, cut=True, quality=95)[0], PICTURE.convert("L")),
]


@pytest.mark.parametrize(("data", "picture"), [row[1:] for row in WHOLE_JPEG_TIFFS],
                         ids=[row[0] for row in WHOLE_JPEG_TIFFS])
def test_jpeg_tiffs_render_whole(data, picture):
    rendered = rendered_whole(data)
    assert rendered.size == picture.size
    assert largest_difference(rendered.convert(picture.mode), picture) <= JPEG_EPSILON


def with_entry(data: bytes, tag: int, old: tuple[int, bytes], new: tuple[int, bytes]) -> bytes:
    """data with one directory entry of `tag`, (type, 4 value bytes), given another type and value."""
    return data.replace(struct.pack("<HHI", tag, old[0], 1) + old[1], struct.pack("<HHI", tag, new[0], 1) + new[1], 1)


GREY_STRIPS = jpeg_strip_tiff((32, 14), 8, [encoded(gradient((32, 8), "L"), "JPEG")] * 2)


@pytest.mark.parametrize(("data", "outcome"), [
    (with_entry(tiled_tiff(gradient((16, 16), "L"), 16), 322, (3, b"\x10\0\0\0"), (3, b"\0\0\0\0")),
     "malformed TIFF: tag 322 of (0,)"),
    (with_entry(GREY_STRIPS, 278, (4, b"\x08\0\0\0"), (4, b"\0\0\0\0")), "malformed TIFF: tag 278 of (0,)"),
    (with_entry(GREY_STRIPS, 278, (4, b"\x08\0\0\0"), (1, b"\x08\0\0\0")), (16, 7)),  # a BYTE: libtiff reads it
    (with_entry(GREY_STRIPS, 278, (4, b"\x08\0\0\0"), (7, b"\x08\0\0\0")), "cannot decode"),  # UNDEFINED: not
    (GREY_STRIPS.replace(struct.pack("<HHI", 278, 4, 1), struct.pack("<HHI", 278, 1, 2), 1),  # BYTEs 8 and 0
     "malformed TIFF: tag 278 of (8, 0)"),
], ids=["tile-width-0", "rows-per-strip-0", "rows-per-strip-byte", "rows-per-strip-undefined", "rows-per-strip-of-two"])
def test_a_tiffs_sizes_are_read_as_libtiff_reads_them_and_none_is_zero(data, outcome):
    if isinstance(outcome, str):
        with pytest.raises(UnsupportedMedia, match=re.escape(outcome)):
            edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))
    else:
        rendered = edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))
        assert Image.open(io.BytesIO(rendered.body)).size == outcome


RAW_STRIPS = encoded(gradient((40, 30)), "TIFF", compression="raw", strip_size=1000)


@pytest.mark.parametrize(("original", "field_type"), [(GREY_STRIPS, 12), (RAW_STRIPS, 5)],
                         ids=["jpeg-double", "raw-rational"])
def test_strip_offsets_of_a_type_other_than_an_integers_are_unsupported(original, field_type):
    """DOUBLE offsets of JPEG strips, which Pillow hands on as floats and libtiff refuses; RATIONAL ones of
    uncompressed strips, which Pillow reads itself, and failed on in Python (a TypeError, a 500)."""
    count = len(Image.open(io.BytesIO(original)).tag_v2[273])
    offsets_at = original.index(struct.pack("<HHI", 273, 4, count))
    data = original[:offsets_at] + struct.pack("<HHI", 273, field_type, count) + original[offsets_at + 8:]
    with pytest.raises(UnsupportedMedia):
        edge.image.render(data, parse_rendition("/16x/a.tif"), edge.image.Limits(50_000_000, 300))


@pytest.mark.parametrize(("entries", "classic", "big"), [
    ([(256, 3, 1), (40000, 7, 4), (40001, 3, 2), (40002, 4, 1)], 0, 0),  # each within its entry
    ([(256, 3, 1), (40000, 7, 5), (40001, 3, 3), (40002, 5, 1), (40003, 16, 1)], 5 + 6 + 8 + 8, 0),
    ([(256, 3, 1), (40000, 7, 9), (40001, 5, 2)], 9 + 16, 9 + 16),
    ([(256, 3, 1), (40000, 99, 1000)], 0, 0),  # a type libtiff does not know
])
def test_the_values_kept_apart_from_the_entries_are_counted(entries, classic, big):
    """Apart from an entry of 12 bytes are more than 4 bytes of values; of a BigTIFF entry of 20, more than 8."""
    assert tiff.values_apart(directory(entries), ENTRIES) == classic
    assert tiff.values_apart(directory(entries, big=True), ENTRIES) == big


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize(("field_type", "size"), TYPE_SIZES.values(), ids=TYPE_SIZES.keys())
def test_each_types_values_kept_apart_are_counted_at_its_size(field_type, size, big):
    """Nine values of any type are too many for a BigTIFF entry's 8 bytes, as libtiff reads them."""
    assert tiff.values_apart(directory([(256, 3, 1), (40000, field_type, 9)], big=big), ENTRIES) == 9 * size


def test_tags_sharing_bytes_past_the_files_size_are_refused_before_pillow_opens_it(pillow_opens):
    """libtiff keeps each tag's values whole: 990 private tags on one 1 MB run took 975 MB (a helper's measure)."""
    def sharing(count: int) -> bytes:
        return directory([(256, 3, 1), *[(40000 + tag, 7, count) for tag in range(3)]])

    assert tiff.values_apart(sharing(19), ENTRIES) == 57 <= len(sharing(19))
    with pytest.raises(SourceTooLarge, match="^TIFF whose tags' values are larger together than the file$"):
        edge.image.render(sharing(20), parse_rendition("/4x/a.tif"), edge.image.Limits(50_000_000, 300))
    assert pillow_opens == []


def test_a_pointer_too_wide_for_its_entry_is_read_where_the_entry_says_as_pillow_reads_it():
    """A LONG8 Exif pointer in a classic TIFF, its 8 bytes laid apart: a reviewer's hid 40 MB of Exif so."""
    def pointing(kept_apart: bool) -> bytes:
        entries = struct.pack("<HHI4s", 256, 3, 1, b"\x01\0\0\0")
        if kept_apart:  # the entry says where the 8 bytes are (34), which say where the directory is (42)
            entries += struct.pack("<HHII", 34665, 16, 1, 34) + struct.pack("<Q", 42)
        else:
            entries += struct.pack("<HHII", 34665, 4, 1, 42) + bytes(8)
        return b"II*\0" + struct.pack("<IH", 8, 2) + entries + struct.pack("<HHHI4x", 1, 1000, 5, 21)

    for kept_apart in (False, True):
        assert tiff.sub_directories_over(pointing(kept_apart), 10, 20)
        assert not tiff.sub_directories_over(pointing(kept_apart), 10, 21)
    assert not tiff.sub_directories_over(pointing(True)[:40], 10, 20)  # its value past the end: nothing read
    # its value the file's last bytes, pointing back at the first directory, of two numbers: read
    assert tiff.sub_directories_over(pointing(True)[:34] + struct.pack("<Q", 8), 10, 1)


def test_an_xmp_tag_of_signed_bytes_is_never_read():
    """Pillow's getexif() searched the tuple it decodes them to for an orientation (a TypeError, a reviewer's file):
    the XMP is dropped before the load, and the pixels render."""
    pixels = bytes(range(64))
    data = little_endian_tiff([(256, "H", [8]), (257, "H", [8]), (258, "H", [8]), (262, "H", [1]), (273, "I", None),
                               (278, "H", [8]), (279, "I", [64]), (700, "b", [1] * 10)], [pixels], 273)
    rendered = edge.image.render(data, parse_rendition("/8x,png/a.tif"), edge.image.Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).tobytes() == pixels


def test_a_grey_tiff_of_associated_alpha_renders_as_grey_with_its_alpha():
    """Pillow opens grey under associated (premultiplied) alpha, ExtraSamples 1, as La: an image with alpha, so a
    PNG by default, and grey, so LA, its colour divided by its alpha (the only mode of the two premultiplied ones,
    La and RGBa, that a decoder opens)."""
    premultiplied = bytes([200, 255, 100, 128, 50, 64, 0, 0])  # grey 200 under alpha 255, 128, 64, then nothing
    data = little_endian_tiff([(256, "H", [4]), (257, "H", [1]), (258, "H", [8, 8]), (262, "H", [1]),
                               (273, "I", None), (277, "H", [2]), (278, "H", [1]), (279, "I", [len(premultiplied)]),
                               (338, "H", [1])], [premultiplied], 273)
    assert Image.open(io.BytesIO(data)).mode == "La"
    rendered = edge.image.render(data, parse_rendition("/4x/a.tif"), edge.image.Limits(50_000_000, 300))
    image = Image.open(io.BytesIO(rendered.body))
    assert (rendered.format, image.mode) == ("png", "LA")
    assert image.tobytes() == bytes([200, 255, 199, 128, 199, 64, 0, 0])  # 100 * 255 / 128 and 50 * 255 / 64


@pytest.mark.parametrize("tag_type", [3, 4])  # SHORT, LONG
def test_an_icc_tag_of_a_number_is_no_profile(tag_type):
    """Pillow passes the number on as the profile: every output failed on it (a 500, a helper's finding)."""
    directory = TiffImagePlugin.ImageFileDirectory_v2()
    directory[34675] = 7  # ICCProfile
    directory.tagtype[34675] = tag_type
    data = encoded(Image.new("RGB", (4, 4), (200, 30, 30)), "TIFF", tiffinfo=directory)
    rendered = Image.open(io.BytesIO(edge.image.render(data, parse_rendition("/4x,png/a.tif"),
                                                        edge.image.Limits(50_000_000, 300)).body))
    assert "icc_profile" not in rendered.info and rendered.getpixel((1, 1)) == (200, 30, 30)


# --- the orientation Exif gives, as Chromium reads it ----------------------------

ORIENTATION, EXIF_DIRECTORY, GPS_DIRECTORY = 0x0112, 0x8769, 0x8825
SHORT, LONG, SSHORT = 3, 4, 8


# As Chromium 156 turns a JPEG by each (a helper's measure, 148 files in both byte orders; a PNG's eXIf alike on the
# eight tried by hand). Pillow would read 6 where the first LONG or SSHORT, or two SHORTs, say 6, and 1 where
# only the Exif directory says it.
@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(("first", "exif", "orientation"), [
    *(([(ORIENTATION, SHORT, 1, value)], None, value) for value in range(1, 9)),
    *(([(ORIENTATION, SHORT, 1, value)], None, 1) for value in (0, 9, 65535)),
    ([(ORIENTATION, LONG, 1, 6)], None, 1),
    ([(ORIENTATION, SSHORT, 1, 6)], None, 1),
    ([(ORIENTATION, SHORT, 2, 6)], None, 1),
    ([(ORIENTATION, SHORT, 0, 6)], None, 1),
    ([(ORIENTATION, LONG, 1, 6), (ORIENTATION, SHORT, 1, 8)], None, 8),  # the first that is one SHORT of 1-8
    ([(ORIENTATION, SHORT, 1, 0), (ORIENTATION, SHORT, 1, 6)], None, 6),
    ([(ORIENTATION, SHORT, 1, 6), (ORIENTATION, SHORT, 1, 8)], None, 6),
    ([(ORIENTATION, SHORT, 1, 1), (ORIENTATION, SHORT, 1, 6)], None, 1),
    ([(0x0100, SHORT, 1, 3), (ORIENTATION, SHORT, 1, 6)], None, 6),  # ImageWidth's SHORT is no orientation
    ([(EXIF_DIRECTORY, LONG, 1, EXIF_POINTER)], [(ORIENTATION, SHORT, 1, 6)], 6),
    ([(EXIF_DIRECTORY, LONG, 1, EXIF_POINTER), (ORIENTATION, SHORT, 1, 8)], [(ORIENTATION, SHORT, 1, 6)], 6),
    ([(ORIENTATION, LONG, 1, 8), (EXIF_DIRECTORY, LONG, 1, EXIF_POINTER)], [(ORIENTATION, SHORT, 1, 6)], 6),
    ([(ORIENTATION, SHORT, 1, 8), (EXIF_DIRECTORY, LONG, 1, EXIF_POINTER)], [(ORIENTATION, SHORT, 1, 6)], 8),
    ([(EXIF_DIRECTORY, SHORT, 1, EXIF_POINTER)], [(ORIENTATION, SHORT, 1, 6)], 1),  # a pointer that is no LONG
    ([(GPS_DIRECTORY, LONG, 1, EXIF_POINTER)], [(ORIENTATION, SHORT, 1, 6)], 1),  # only the Exif directory's
    ([(EXIF_DIRECTORY, LONG, 1, EXIF_POINTER)], [(EXIF_DIRECTORY, LONG, 1, EXIF_POINTER)], 1),  # once, not again
])
def test_the_orientation_is_read_as_chromium_reads_it(first, exif, orientation, order):
    assert tiff.orientation(exif_directories(first, exif, order=order)) == orientation


@pytest.mark.parametrize("order", ["<", ">"])
def test_an_orientation_in_a_directory_cut_short_is_read_as_far_as_whole_entries_go(order):
    whole = exif_directories([(ORIENTATION, SHORT, 1, 6)], order=order)
    counted_twice = whole[:8] + struct.pack(order + "H", 2) + whole[10:22]  # one entry there of two, no pointer after
    assert tiff.orientation(counted_twice) == 6
    assert tiff.orientation(counted_twice[:-1]) == 1


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(("magic", "first_at", "length"), [
    (43, 8, None),  # BigTIFF's, which Exif never is
    (0, 8, None),
    (42, 0, None),  # pointing at the header: its byte order read as a count
    (42, 4, None),
    (42, 26, None),  # pointing past the end
    (42, 8, 7),  # a header cut short
])
def test_an_orientation_chromium_cannot_reach_is_1(order, magic, first_at, length):
    exif = exif_directories([(ORIENTATION, SHORT, 1, 6)], order=order, magic=magic, first_at=first_at)
    assert tiff.orientation(exif[:length]) == 1


def test_a_bigtiff_orientation_is_1():
    """An Orientation of 6 laid out as BigTIFF lays it out: Chromium reads only Exif's magic, 42."""
    exif = directory([(ORIENTATION, SHORT, 1)], big=True)
    assert tiff.orientation(exif[:-8] + struct.pack("<H", 6) + bytes(6)) == 1


def test_exif_entries_past_the_end_are_not_counted():
    """Pillow reads no entry past the end, so a count past it costs nothing: the first directory of Exif whose
    header points at itself reads as 18,761 entries ("II"), and Chromium 156 shows the picture (a helper's
    measure), where it was refused as over MAX_TIFF_ENTRIES."""
    exif = exif_directories([(ORIENTATION, SHORT, 1, 6)], order="<", first_at=0)
    assert not tiff.exif_over(exif, 1000, 100)
    assert tiff.exif_over(exif, 1, 100)  # two entries fit, which the limit counts


@pytest.mark.parametrize(("detour", "exif", "orientation"), [(0, 65_535, 6), (1, 65_534, 6), (1, 65_535, 1)])
def test_the_orientation_is_read_from_no_more_entries_than_two_directories_hold(detour, exif, orientation):
    """Chromium follows every pointer to an Exif directory: Exif of thousands of them, each to the first directory
    again, took seconds in Python (a reviewer's). 131,070 entries are read, as docs/SECURITY.md states: a first
    directory of 65,535 whose first pointer leads to `detour` entries, its second to `exif`, the last of them 6."""
    padding = (0x9000, 7, 1, 0)
    first = [(EXIF_DIRECTORY, LONG, 1, DirectoryAt(1)), (EXIF_DIRECTORY, LONG, 1, DirectoryAt(2)), *[padding] * 65_533]
    assert tiff.orientation(exif_directories(first, [padding] * detour,
                                             [*[padding] * (exif - 1), (ORIENTATION, SHORT, 1, 6)])) == orientation


def test_a_strip_whose_offset_no_file_can_reach_is_refused():
    """A classic TIFF's StripOffsets typed LONG8 (BigTIFF's), of 2^64 - 2: Pillow takes it and seeks there, which
    Python cannot (an OverflowError, a 500 a fuzzer found)."""
    entries = [(256, 3, 1, 3), (257, 3, 1, 4), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 16, 1, "far"), (278, 3, 1, 4), (279, 4, 1, 12)]
    far_at = 8 + 2 + 12 * len(entries) + 4
    directory = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, field_type, count, far_at if value == "far" else value)
        for tag, field_type, count, value in entries) + bytes(4)
    data = b"II*\0" + struct.pack("<I", 8) + directory + struct.pack("<Q", 2**64 - 2) + bytes(12)
    with pytest.raises(UnsupportedMedia, match="^cannot decode image: "):
        edge.image.render(data, parse_rendition("/3x,png/a.tif"), edge.image.Limits(50_000_000, 300))


def test_a_colour_map_of_signed_numbers_is_refused():
    """A palette TIFF's ColorMap typed SSHORT, one entry negative: Pillow packs it into bytes as it decodes, and
    failed with an OverflowError (a 500 a fuzzer found)."""
    image = Image.new("P", (4, 4))
    image.putpalette([10, 20, 30] * 256)
    data = bytearray(encoded(image, "TIFF"))
    order = "<" if data[:2] == b"II" else ">"
    directory = struct.unpack_from(order + "I", data, 4)[0]
    for at in range(directory + 2, directory + 2 + 12 * struct.unpack_from(order + "H", data, directory)[0], 12):
        tag, _, _, values = struct.unpack_from(order + "HHII", data, at)
        if tag == 320:  # ColorMap
            struct.pack_into(order + "H", data, at + 2, 8)  # SSHORT
            struct.pack_into(order + "h", data, values, -2)
    with pytest.raises(UnsupportedMedia, match="^cannot decode image: "):
        edge.image.render(bytes(data), parse_rendition("/4x,png/a.tif"), edge.image.Limits(50_000_000, 300))


def raw_strips_with_a_tile_size() -> bytes:
    """An uncompressed 16x16 RGB TIFF with a tile size of 4x4 (16 tiles) and 16 strips of 15 rows, all at one copy
    of the picture, in StripOffsets: Pillow's raw decoder reads it as strips and redraws the picture 8 times."""
    return little_endian_tiff([(256, "I", [16]), (257, "I", [16]), (258, "H", [8, 8, 8]), (259, "H", [1]),
                               (262, "H", [2]), (273, "I", None), (277, "H", [3]), (278, "I", [15]),
                               (279, "I", [1] * 16), (322, "I", [4]), (323, "I", [4])],
                              [gradient((16, 16)).tobytes()] * 16, 273, shared=True)


def packbits_strips_after_tiles(rows: int) -> bytes:
    """A PackBits 8x`rows` grey TIFF whose directory lists TileOffsets and TileByteCounts (one strip of one row)
    before StripOffsets and StripByteCounts (`rows` strips, all on one run of no-ops before that row): libtiff
    keeps the entries that come last."""
    row = bytes([7]) + bytes(range(0, 64, 8))
    body = b"\x80" * 1000 + row
    entries = [(256, 4, [8]), (257, 4, [rows]), (258, 3, [8]), (259, 3, [32773]), (262, 3, [1]), (277, 3, [1]),
               (278, 4, [1]), (324, 4, [0]), (325, 4, [len(row)]), (273, 4, [0] * rows),
               (279, 4, [len(body)] * rows)]
    arrays_at = 8 + 2 + 12 * len(entries) + 4
    body_at = arrays_at + sum(4 * len(values) for _, _, values in entries if len(values) > 1)
    directory, arrays = struct.pack("<H", len(entries)), b""
    for tag, kind, values in entries:
        values = [body_at + len(body) - len(row) if tag == 324 else body_at if tag == 273 else value
                  for value in values]
        packed = struct.pack(f"<{len(values)}{'I' if kind == 4 else 'H'}", *values)
        field = struct.pack("<I", arrays_at + len(arrays)) if len(packed) > 4 else packed.ljust(4, b"\0")
        arrays += packed if len(packed) > 4 else b""
        directory += struct.pack("<HHI", tag, kind, len(values)) + field
    return b"II*\0" + struct.pack("<I", 8) + directory + bytes(4) + arrays + body


# Where a TIFF's pieces are, read otherwise by libtiff, by Pillow's raw decoder and by these checks, let a file
# pass the checks with other pieces than its decoder decodes (a helper's: 81 s from 1.6 MB, and 30 s from 3.7 MB).
@pytest.mark.parametrize(("data", "refusal"), [
    (raw_strips_with_a_tile_size(), "strip offsets or byte counts with a tile size"),
    (packbits_strips_after_tiles(64), "strip offsets or byte counts beside tile ones"),
])
def test_strips_and_tiles_read_otherwise_by_their_decoder_are_refused(data, refusal):
    with Image.open(io.BytesIO(data)) as alone:
        alone.load()  # a file its decoder decodes, and Pillow opens
    with pytest.raises(UnsupportedMedia, match=f"^malformed TIFF: {refusal}$"):
        edge.image.render(data, parse_rendition("/8x,png/a.tif"), edge.image.Limits(50_000_000, 300))
