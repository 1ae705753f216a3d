"""edge/png.py: a PNG read through InflatingReader decodes exactly as Pillow decodes it alone."""

import gc
import io
import itertools
import struct
import tracemalloc
import weakref
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageCms

from bombs import PNG_SIGNATURE, apng_with_frames, grey_png, png_chunk, png_ending_after_one_row
from edge import icc, png
from edge.inflate import INPUT_SLICE, Stopped
from edge.errors import SourceTooLarge, UnsupportedMedia
from edge.image import Limits, check_pixels_in_head, render
from edge.png import ZLIB_HEADER
from edge.rendition import parse_rendition
from imaging import (
    DISPLAY_P3, SRGB_CHRM, apng_from_streams, chunks_before_idat, chunks_before_iend, encoded, exif_of, gama_chunk,
    gradient, icc_profile_gray, noise_image, png_from_rows, png_with_chunks_after_ihdr, png_with_corrupt_data,
)

WORKER = ThreadPoolExecutor(1)
LIMITS = Limits(50_000_000, 300)


class CountingExecutor:
    def __init__(self):
        self.submitted = 0

    def submit(self, function, *args):
        self.submitted += 1
        return WORKER.submit(function, *args)


def through_reader(data: bytes, executor=WORKER) -> Image.Image:
    reader = png.inflating_reader(data, executor)
    assert reader is not None
    return Image.open(reader, formats=["PNG"])


def by_pillow(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=["PNG"])


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, position = [], len(PNG_SIGNATURE)
    while position < len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        found.append((kind, data[position + 8:position + 8 + length]))
        position += 12 + length
    return found


def idat_stream(data: bytes) -> bytes:
    return b"".join(payload for kind, payload in chunks(data) if kind == b"IDAT")


def before_pixels(data: bytes) -> bytes:
    """The signature and every chunk before the first IDAT."""
    return data[:data.index(b"IDAT") - 4]


def fails_alike(data: bytes) -> None:
    with pytest.raises(OSError):
        by_pillow(data).load()
    with pytest.raises(OSError):
        through_reader(data).load()


def rebuilt(data: bytes, zlib_stream: bytes | None = None, idat_size: int | None = None,
            after_idat: list[tuple[bytes, bytes]] = ()) -> bytes:
    """`data` with its IDAT stream replaced or cut into chunks of `idat_size`, and chunks put after it."""
    parts = chunks(data)
    stream = zlib_stream if zlib_stream is not None else idat_stream(data)
    idat_size = idat_size or max(len(stream), 1)
    head = [png_chunk(kind, payload) for kind, payload in parts if kind not in (b"IDAT", b"IEND")]
    idat = [png_chunk(b"IDAT", stream[start:start + idat_size]) for start in range(0, len(stream), idat_size)]
    after = [png_chunk(kind, payload) for kind, payload in after_idat]
    return PNG_SIGNATURE + b"".join(head + idat + after) + png_chunk(b"IEND", b"")


def interlaced(image: Image.Image) -> bytes:
    """An Adam7 PNG of an 8-bit L or RGB image, every row unfiltered: Pillow writes none."""
    colour_type, channels = {"L": (0, 1), "RGB": (2, 3)}[image.mode]
    width, height = image.size
    pixels = image.tobytes()
    rows = []
    for first_x, first_y, step_x, step_y in png.ADAM7:
        for y in range(first_y, height, step_y):
            if first_x < width:
                rows.append(b"\0" + b"".join(
                    pixels[(y * width + x) * channels:(y * width + x + 1) * channels]
                    for x in range(first_x, width, step_x)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 1)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + png_chunk(b"IEND", b""))


SAVED = [
    ("1", (13, 7)), ("L", (1, 1)), ("L", (301, 199)), ("LA", (64, 33)), ("P", (97, 41)), ("RGB", (1, 1)),
    ("RGB", (700, 500)), ("RGBA", (700, 500)), ("I;16", (129, 65)),
]


@pytest.mark.parametrize("idat_size", [None, 100], ids=["one-idat", "idat-every-100-bytes"])
@pytest.mark.parametrize("mode, size", SAVED, ids=[f"{mode}-{w}x{h}" for mode, (w, h) in SAVED])
def test_pixels_are_pillows_own(mode, size, idat_size):
    data = rebuilt(encoded(gradient(size, mode), "PNG"), idat_size=idat_size)
    expected, image = by_pillow(data), through_reader(data)
    image.load()
    assert (image.mode, image.size, image.tobytes()) == (expected.mode, expected.size, expected.tobytes())


# Every colour type and depth PNG has (its specification's table, not edge/png.py's): Pillow writes few of them.
EVERY_DEPTH = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2), (3, 4), (3, 8), (4, 8),
               (4, 16), (6, 8), (6, 16)]
SAMPLES_PER_PIXEL = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def varied_png(colour_type: int, depth: int, size=(13, 5)) -> bytes:
    """Rows of varied bytes, unfiltered; a palette image gets a palette as long as its depth allows."""
    width, height = size
    row_bytes = -(-width * SAMPLES_PER_PIXEL[colour_type] * depth // 8)
    rows = b"".join(b"\0" + bytes((y * 37 + x * 11) % 256 for x in range(row_bytes)) for y in range(height))
    if colour_type == 3:  # every byte a valid index: 1 << depth entries cover every value a sample can take
        palette = png_chunk(b"PLTE", bytes(value * 53 % 256 for value in range(3 * (1 << depth))))
    else:
        palette = b""
    return png_from_rows(size, depth, colour_type, rows, palette)


@pytest.mark.parametrize(("colour_type", "depth"), EVERY_DEPTH, ids=[f"type{c}-{d}bit" for c, d in EVERY_DEPTH])
def test_every_depth_of_every_colour_type_is_read_as_pillow_reads_it(colour_type, depth):
    data = varied_png(colour_type, depth)
    expected, image = by_pillow(data), through_reader(data)
    image.load()
    assert (image.mode, image.size, image.tobytes()) == (expected.mode, expected.size, expected.tobytes())


def test_the_stored_stream_is_a_whole_zlib_stream_with_its_checksum():
    """Pillow stops once the rows are there, so only inflating the rebuilt stream shows how it ends."""
    data = encoded(gradient((300, 200)), "PNG")
    rebuilt_png = png.inflating_reader(data, WORKER).read()
    assert zlib.decompress(idat_stream(rebuilt_png)) == zlib.decompress(idat_stream(data))


def test_a_first_idat_of_only_the_zlib_header_is_read_on():
    """Some encoders flush the header on its own: inflating it gives nothing, and is no end."""
    data = encoded(gradient((40, 30)), "PNG")
    stream = idat_stream(data)
    split = (before_pixels(data) + png_chunk(b"IDAT", stream[:2]) + png_chunk(b"IDAT", stream[2:])
             + png_chunk(b"IEND", b""))
    image = through_reader(split)
    image.load()
    assert image.tobytes() == by_pillow(data).tobytes()


def test_a_flat_image_inflates_to_many_pieces_from_one_input_slice():
    """A few hundred compressed bytes become seven pieces, each resumed where the one before ran out of room."""
    source = Image.new("RGB", (700, 500), (12, 34, 56))
    data = encoded(source, "PNG", compress_level=9)
    assert len(data) < INPUT_SLICE
    image = through_reader(data)
    image.load()
    assert image.tobytes() == source.tobytes()


def test_a_palette_with_transparency_keeps_it():
    source = gradient((40, 30), "P")
    source.info["transparency"] = 3
    image = through_reader(encoded(source, "PNG", transparency=3))
    image.load()
    assert (image.mode, image.info["transparency"], image.tobytes()) == ("P", 3, source.tobytes())


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("size", [(1, 1), (3, 2), (13, 11), (64, 64)])
def test_an_interlaced_png_comes_out_whole(mode, size):
    source = gradient(size, mode)
    image = through_reader(interlaced(source))
    image.load()
    assert image.tobytes() == source.tobytes()


def test_exif_after_the_pixels_is_read():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = rebuilt(encoded(gradient((20, 10)), "PNG"), after_idat=[(b"eXIf", exif.tobytes())])
    image = through_reader(data)
    image.load()
    assert image.getexif()[0x0112] == 6


def outcome(open_image, data: bytes):
    try:
        image = open_image(data)
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # edge.image's DECODE_ERRORS
        return type(error)
    return image.tobytes(), image.text


@pytest.mark.parametrize("split_at", [0.5, 1.0], ids=["rows-on-both-sides", "rows-all-before"])
def test_a_chunk_inside_the_idat_run_ends_it_as_for_pillow_alone(split_at):
    """Pillow decodes the IDATs before the first other chunk, and skips the IDATs after it."""
    data = encoded(gradient((60, 40)), "PNG", compress_level=0)
    stream = idat_stream(data)
    cut = int(len(stream) * split_at)
    split = (before_pixels(data) + png_chunk(b"IDAT", stream[:cut]) + png_chunk(b"tEXt", b"note\0between")
             + png_chunk(b"IDAT", stream[cut:] or bytes(4)) + png_chunk(b"IEND", b""))
    assert outcome(through_reader, split) == outcome(by_pillow, split)


@pytest.mark.parametrize("after", [png_chunk(b"IEND", b""), png_chunk(b"tEXt", b"k\0v"), b""],
                         ids=["then-iend", "then-text", "then-nothing"])
def test_a_stream_cut_anywhere_fails_or_decodes_as_with_pillow_alone(after):
    """A stream cut at a row's end must not look whole: the reader ends its own stream only
    where the original ends, or once every row is there."""
    data = encoded(gradient((40, 30)), "PNG")
    stream, head = idat_stream(data), before_pixels(data)
    for cut in range(1, len(stream) + 1):
        cut_data = head + png_chunk(b"IDAT", stream[:cut]) + after
        assert outcome(through_reader, cut_data) == outcome(by_pillow, cut_data), cut


def test_a_file_cut_inside_a_later_idat_chunk_fails_or_decodes_as_with_pillow_alone():
    data = rebuilt(encoded(gradient((40, 30)), "PNG"), idat_size=200)
    first_idat_end = data.index(b"IDAT") + 4 + 200 + 4
    for end in range(first_idat_end + 1, len(data)):
        assert outcome(through_reader, data[:end]) == outcome(by_pillow, data[:end]), end


def test_opening_reads_no_further_than_the_first_idat():
    """A body of one-byte IDAT chunks, as many as the limit allows, behind an IHDR that the pixel limit
    refuses: opening it must cost next to nothing, as with Pillow alone (their headers are only counted)."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 9000, 9000, 8, 2, 0, 0, 0))
    data = PNG_SIGNATURE + ihdr + png_chunk(b"IDAT", b"\x78") * (png.MAX_CHUNKS - 1) + png_chunk(b"IEND", b"")
    tracemalloc.start()
    through_reader(data).size
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100_000


def test_opening_inflates_nothing():
    executor = CountingExecutor()
    image = through_reader(encoded(gradient((300, 200)), "PNG"), executor)
    assert (image.size, executor.submitted) == ((300, 200), 0)


def test_inflating_stops_at_the_rows_that_ihdr_declares():
    """Pillow's decoder stops at the rows, but it then skips the IDAT chunks after them by
    reading them: the worker stops at the rows, so 64 MB of zeros after them (64 KB
    compressed) is not inflated."""
    source = gradient((300, 200))
    rows = b"".join(b"\0" + source.tobytes()[y * 900:(y + 1) * 900] for y in range(200))
    data = rebuilt(encoded(source, "PNG"), zlib_stream=zlib.compress(rows + bytes(64 << 20), 9))
    executor = CountingExecutor()
    image = through_reader(data, executor)
    image.load()
    assert image.tobytes() == source.tobytes()
    pieces = -(-len(rows) // png.PIECE)
    assert executor.submitted <= pieces + 1  # and the look for more after the last


def test_rows_complete_without_the_streams_checksum_decode_as_pillow_lets_them():
    source = gradient((50, 40))
    data = encoded(source, "PNG")
    cut = rebuilt(data, zlib_stream=idat_stream(data)[:-4])
    expected, image = by_pillow(cut), through_reader(cut)
    image.load()
    assert image.tobytes() == expected.tobytes() == source.tobytes()


def test_a_stream_cut_right_after_its_last_row_still_gives_every_row():
    """The shortest prefix of the stream that holds every row: inflate takes all its input while
    the room left in a block cuts its last output short, and must still be asked for the rest.
    (Found by search; at 218x300, zlib's level 9 ends the rows five bytes before the end.)"""
    row = bytes(x * 7 % 256 for x in range(218))
    rows = (b"\0" + row) * 300
    stream = zlib.compress(rows, 9)
    shortest = next(stream[:end] for end in range(len(stream))
                    if len(zlib.decompressobj().decompress(stream[:end])) == len(rows))
    data = grey_png((218, 300), shortest)
    image = through_reader(data)
    image.load()
    assert image.tobytes() == by_pillow(data).tobytes() == row * 300


@pytest.mark.parametrize(("size", "fails"), [((180, 181), True), ((132, 485), True), ((133, 489), False)],
                         ids=["rows-end-at-32763", "rows-end-at-64512", "checksum-across-65536"])
def test_a_wrong_checksum_fails_or_decodes_as_with_pillow_alone(size, fails):
    """Pillow reads an IDAT chunk 64 KB at a time; when the stream's checksum comes in the same read
    as the last row, zlib checks it, and when the read ends inside it, the rows are whole and it is not
    checked. The rows of a stored stream end at the byte the id says; a wrong checksum follows them."""
    width, height = size
    rows = (b"\0" + bytes(range(width))) * height
    stream = ZLIB_HEADER + struct.pack("<BHH", 1, len(rows), len(rows) ^ 0xFFFF) + rows + bytes(4)
    data = grey_png(size, stream)
    assert outcome(through_reader, data) == outcome(by_pillow, data)
    assert (outcome(by_pillow, data) is OSError) == fails


@pytest.mark.parametrize("idat_size", [None, 7], ids=["one-idat", "idat-every-7-bytes"])
def test_a_stream_that_ends_before_its_rows_fails_where_pillow_alone_leaves_them_black(idat_size):
    data = rebuilt(png_ending_after_one_row(300, 200), idat_size=idat_size)
    with pytest.raises(OSError, match=f"ends {199 * (1 + 300)} bytes before the rows"):
        through_reader(data).load()
    if idat_size is None:  # as one chunk, Pillow alone decodes it, every row but the first black
        image = by_pillow(data)
        image.load()
        assert image.crop((0, 1, 300, 200)).getextrema() == (0, 0)


def test_a_reader_never_read_is_freed_without_the_garbage_collector():
    """An image refused after opening (over the pixel limit, say) must not keep its original alive."""
    gc.disable()
    try:
        image = through_reader(encoded(gradient((300, 200)), "PNG"))
        reader = weakref.ref(image.fp)
        del image
        assert reader() is None
    finally:
        gc.enable()


def cut_short(data: bytes) -> bytes:
    stream = idat_stream(data)
    return rebuilt(data, zlib_stream=stream[:len(stream) // 2])


@pytest.mark.parametrize("broken", [png_with_corrupt_data, lambda: cut_short(encoded(gradient((300, 200)), "PNG"))],
                         ids=["corrupt", "cut-short"])
def test_broken_pixels_fail_to_load_as_with_pillow_alone(broken):
    fails_alike(broken())


def test_the_reader_reads_and_seeks_as_a_file_does():
    data = encoded(gradient((300, 200)), "PNG")
    head = len(before_pixels(data)) + 12 + len(ZLIB_HEADER)  # and the chunk that holds only the zlib header
    reader = png.inflating_reader(data, WORKER)
    assert (reader.read(1), reader.tell()) == (b"\x89", 1)
    assert (reader.read(7), reader.seek(-4, io.SEEK_CUR), reader.read(4)) == (PNG_SIGNATURE[1:], 4, PNG_SIGNATURE[4:])
    reader.read(head - 8)
    assert reader.seek(reader.tell()) == head  # the very end of what is buffered
    last = reader.read(20)[-5:]
    assert (reader.seek(reader.tell() - 5), reader.read(5)) == (head + 15, last)
    reader.read()
    assert reader.read() == b""


def test_the_worker_inflates_the_next_piece_while_one_is_read():
    data = encoded(noise_image((700, 500)), "PNG")  # about a megabyte of rows: four pieces
    executor = CountingExecutor()
    reader = png.inflating_reader(data, executor)
    reader.read(len(before_pixels(data)) + 12 + len(ZLIB_HEADER) + 1)
    assert executor.submitted == 2  # the first piece, read from now, and the second, asked for ahead


def test_seeking_back_reaches_only_into_the_piece_being_read():
    reader = png.inflating_reader(encoded(gradient((300, 200)), "PNG"), WORKER)
    signature = reader.read(8)
    assert (reader.seek(0), reader.read(8), reader.tell()) == (0, signature, 8)
    with pytest.raises(OSError):
        reader.seek(0, 2)
    reader.read()
    with pytest.raises(OSError):
        reader.seek(0)


def palette_png(*palettes: bytes, animated: bool = False) -> bytes:
    """A 4x4 palette image with these PLTE chunks before its pixels; as an APNG, acTL and fcTL come first."""
    frame_control = png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 4, 4, 0, 0, 1, 10, 0, 0))
    return (PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0))
            + (png_chunk(b"acTL", struct.pack(">II", 1, 0)) if animated else b"")
            + b"".join(png_chunk(b"PLTE", palette) for palette in palettes)
            + (frame_control if animated else b"")
            + png_chunk(b"IDAT", zlib.compress(bytes(20))) + png_chunk(b"IEND", b""))


def whole_png() -> bytes:
    return encoded(gradient((30, 20)), "PNG")


FRAME_CONTROL_REFUSED = ("an fcTL before the pixels that is not the sequence's next, over the whole picture, "
                         "of known ops")


@pytest.mark.parametrize("data", [
    pytest.param(b"GIF89a" + bytes(30), id="not-a-png"),
    pytest.param(apng_with_frames(2), id="animated"),
    pytest.param(palette_png(bytes(3), animated=True), id="animated-palette"),
])
def test_anything_but_a_still_png_is_left_to_pillow(data):
    assert png.inflating_reader(data, WORKER) is None


@pytest.mark.parametrize("data, error", [
    pytest.param(whole_png()[:-20], "IDAT runs past the end of the file", id="chunk-past-the-end"),
    pytest.param(whole_png()[:-12 - 1], "IDAT runs past the end of the file", id="last-crc-byte-missing"),
    pytest.param(PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0) + b"\0")
                 + png_chunk(b"IDAT", zlib.compress(bytes(52))) + png_chunk(b"IEND", b""),
                 "an IHDR that declares no pixel layout PNG has", id="ihdr-of-14-bytes"),
    pytest.param(PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 4, 2, 0, 0, 0))
                 + png_chunk(b"IDAT", zlib.compress(bytes(40))) + png_chunk(b"IEND", b""),
                 "an IHDR that declares no pixel layout PNG has", id="rgb-at-4-bits"),
    pytest.param(rebuilt(whole_png(), zlib_stream=b""), "IEND before the pixels", id="no-idat"),
    pytest.param(whole_png()[:33], "no IDAT", id="nothing-after-ihdr"),
    pytest.param(whole_png()[:33] + png_chunk(b"tEXt", b"")[:11], "no IDAT", id="a-chunk-head-cut-short"),
    pytest.param(PNG_SIGNATURE + whole_png()[33:], "IDAT before IHDR", id="no-ihdr"),
    # Pillow would size the rows by the last IHDR, while this caps the inflating by the first.
    pytest.param(whole_png()[:33] + whole_png()[8:33] + whole_png()[33:], "a second IHDR", id="a-second-ihdr"),
    # Chromium 156 refuses frame data before the pixels, with an acTL or without (a helper's measure).
    pytest.param(whole_png()[:33] + png_chunk(b"acTL", struct.pack(">II", 1, 0)) + png_chunk(b"fdAT", bytes(8))
                 + whole_png()[33:], "fdAT before the pixels", id="fdat-first"),
    pytest.param(whole_png()[:33] + png_chunk(b"fdAT", bytes(8)) + whole_png()[33:], "fdAT before the pixels",
                 id="fdat-first-without-actl"),
    # And a frame control there that is not the sequence's next over the whole picture: this one is 0 x 0.
    pytest.param(whole_png()[:33] + png_chunk(b"fcTL", bytes(26)) + whole_png()[33:], FRAME_CONTROL_REFUSED,
                 id="fctl-first-without-actl"),
    # Chromium 156 refuses an animation chunk before IHDR, which leaving it out would have let through.
    pytest.param(whole_png()[:8] + png_chunk(b"acTL", struct.pack(">II", 0, 0)) + whole_png()[8:], "acTL before IHDR",
                 id="actl-before-ihdr"),
    pytest.param(whole_png()[:8] + png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 30, 20, 0, 0, 1, 10, 0, 0))
                 + whole_png()[8:], "fcTL before IHDR", id="fctl-before-ihdr"),
    pytest.param(whole_png()[:33] + png_chunk(b"IEND", b"") + whole_png()[33:], "IEND before the pixels",
                 id="iend-first"),
    pytest.param(whole_png()[:33] + png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 30, 20, 0, 0, 1, 10, 0, 0)),
                 "no IDAT", id="frame-control-and-no-idat"),
    # Pillow would paint it in a grey ramp of its own, or with the last palette; browsers show nothing.
    pytest.param(palette_png(), "a palette image with no PLTE before its pixels", id="palette-without-plte"),
    pytest.param(palette_png(b""), "an empty PLTE", id="empty-plte"),
    pytest.param(palette_png(bytes(3), bytes(3)), "a second PLTE", id="two-plte"),
    pytest.param(palette_png(animated=True), "a palette image with no PLTE before its pixels",
                 id="apng-palette-without-plte"),
    pytest.param(palette_png(b"", animated=True), "an empty PLTE", id="apng-empty-plte"),
    pytest.param(palette_png(bytes(3), bytes(3), animated=True), "a second PLTE", id="apng-two-plte"),
    # libpng reads the first, Pillow the last (past 256 entries, its conversion failed: a 500).
    pytest.param(whole_png()[:33] + png_chunk(b"tRNS", bytes(6)) * 2 + whole_png()[33:], "a second tRNS",
                 id="two-trns"),
    # libpng refuses it, and Chromium 156 shows nothing (a helper's measure); Pillow skips it.
    pytest.param(whole_png()[:33] + png_chunk(b"CrIT", b"") + whole_png()[33:],
                 "a critical chunk no PNG decoder knows, CrIT", id="unknown-critical"),
    pytest.param(palette_png(bytes(3), animated=True)[:33] + png_chunk(b"CRIT", b"")
                 + palette_png(bytes(3), animated=True)[33:],
                 "a critical chunk no PNG decoder knows, CRIT", id="apng-unknown-critical"),
])
def test_what_no_valid_png_has_before_its_pixels_is_refused(data, error):
    with pytest.raises(png.MalformedPng) as refused:
        png.inflating_reader(data, WORKER)
    assert str(refused.value) == error


@pytest.mark.parametrize(("frame_chunk", "after_the_pixels"), [
    pytest.param(png_chunk(b"fcTL", bytes(26)), True, id="fctl-after-the-pixels"),
    pytest.param(png_chunk(b"fdAT", bytes(8)), True, id="fdat-after-the-pixels"),
    pytest.param(png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 30, 20, 0, 0, 1, 10, 0, 0)), False,
                 id="whole-fctl-before-the-pixels"),
])
def test_frame_chunks_without_an_actl_are_left_out_of_the_layout(frame_chunk, after_the_pixels):
    """A still PNG's, as Chromium 156 reads them (by hand, and a helper's measure). Pillow would decode the frame an
    fcTL places, not the whole IDAT stream, and fails on frame data or controls after the pixels; such a PNG was
    refused. Before the pixels, Chromium refuses frame data and any frame control but the sequence's first over the
    whole picture (test_what_no_valid_png_has_before_its_pixels_is_refused)."""
    at = whole_png().index(b"IEND") - 4 if after_the_pixels else 33
    assert png.layout(whole_png()[:at] + frame_chunk + whole_png()[at:]) == png.layout(whole_png())


def test_a_frame_control_between_idat_chunks_of_a_still_png_is_refused():
    """Chromium 156 refuses the file (a reviewer's measure): the chunk is not left out, and Pillow fails on it."""
    stream = zlib.compress(GREY_ROWS)
    data = (PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 12, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", stream[:40]) + png_chunk(b"fcTL", bytes(26)) + png_chunk(b"IDAT", stream[40:])
            + png_chunk(b"IEND", b""))
    assert png.layout(data).data is data
    with pytest.raises(UnsupportedMedia):
        render(data, parse_rendition("/8x,png/a.png"), LIMITS)


@pytest.mark.parametrize("header, size", [
    ((13, 7, 1, 0, 0, 0, 0), 7 * (1 + 2)),
    ((3, 2, 16, 6, 0, 0, 0), 2 * (1 + 3 * 8)),
    ((1, 1, 8, 2, 0, 0, 1), 1 + 3),  # only Adam7's first pass has a pixel
    ((8, 8, 8, 2, 0, 0, 1), 4 + 4 + 7 + 2 * 7 + 2 * 13 + 4 * 13 + 4 * 25),
    ((4, 4, 4, 2, 0, 0, 0), None),  # RGB has no 4-bit depth
    ((4, 4, 8, 2, 1, 0, 0), None),  # no compression method but deflate
    ((4, 4, 8, 2, 0, 0, 2), None),  # no interlace method but Adam7
])
def test_filtered_size_is_every_row_with_its_filter_byte(header, size):
    assert png.filtered_size(*header) == size


def ihdr_only(depth: int, colour_type: int) -> bytes:
    return PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, depth, colour_type, 0, 0, 0))


@pytest.mark.parametrize(("data", "key", "at_8_bits"), [
    (ihdr_only(2, 0), 1, 85), (ihdr_only(4, 0), 7, 119),  # scaled as Pillow scales the samples
    (ihdr_only(16, 2), (0x1234, 0xABCD, 0x00FF), (0x12, 0xAB, 0x00)),  # the high bytes Pillow keeps
    (ihdr_only(1, 0), 1, 1), (ihdr_only(8, 0), 7, 7), (ihdr_only(8, 2), (1, 2, 3), (1, 2, 3)),  # as Pillow reads them
    (ihdr_only(16, 0), 0x1234, 0x1234),  # Pillow keeps 16-bit grey whole (edge.image matches it at 16 bits)
    (ihdr_only(2, 0), 3, 255), (ihdr_only(4, 0), 15, 255),  # the largest sample is white
    (b"GIF89a" + bytes(30), 7, 7),
    (b"GIF89a" + bytes(18) + b"\x02\x00" + bytes(10), 1, 1),  # where a PNG's depth and colour type would be
    (PNG_SIGNATURE + png_chunk(b"tEXt", struct.pack(">IIBBBBB", 4, 4, 2, 0, 0, 0, 0)), 1, 1),  # laid out like IHDR
    (ihdr_only(2, 0)[:25], 1, 1), (ihdr_only(2, 0)[:29], 1, 85),  # IHDR's fields cut short, and just whole
], ids=["grey-2", "grey-4", "rgb-16", "grey-1", "grey-8", "rgb-8", "grey-16", "grey-2-white", "grey-4-white",
        "not-a-png", "gif-like-ihdr", "other-chunk-first", "ihdr-cut-short", "ihdr-fields-only"])
def test_a_colour_key_is_brought_to_pillows_eight_bit_samples(data, key, at_8_bits):
    assert png.transparency_at_8_bits(data, key) == at_8_bits


def grey_apng(size: tuple[int, int], streams: list[bytes]) -> bytes:
    """An 8-bit grey APNG of whole-canvas frames, each from its zlib stream: the first in IDAT, the others in fdAT."""
    return apng_from_streams((*size, 8, 0), [(stream, size, (0, 0), 0, 0) for stream in streams])


GREY_ROWS = b"".join(b"\0" + bytes([row * 8] * 16) for row in range(12))  # 16x12, each row a grey
WHOLE, ONE_ROW = zlib.compress(GREY_ROWS), zlib.compress(GREY_ROWS[:17])


# The third frame's, after two (their chunks numbered 0 to 2): its control, and its data after that control or alone.
FRAME_CONTROL = png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 3, 16, 12, 0, 0, 1, 10, 0, 0))
FRAME_DATA, FRAME_DATA_ALONE = (png_chunk(b"fdAT", struct.pack(">I", sequence) + WHOLE) for sequence in (4, 3))


@pytest.mark.parametrize(("fallback", "after", "present"), [
    (False, b"", 2),
    (True, b"", 2),
    (False, FRAME_CONTROL, 2),
    (False, FRAME_DATA_ALONE, 2),
    (False, FRAME_CONTROL + png_chunk(b"tEXt", b"a\0b") + FRAME_DATA, 3),
    (False, FRAME_CONTROL + png_chunk(b"tEXt", b"a\0b"), 2),
    (False, png_chunk(b"IEND", b"") + FRAME_CONTROL + FRAME_DATA, 2),
], ids=["frames", "after-a-fallback", "control-without-data", "data-without-control", "data-after-other-chunks",
        "control-then-other-chunks-without-data", "frame-after-iend"])
def test_the_frames_present_are_frame_controls_that_data_follows_before_iend(fallback, after, present):
    """Of a two-frame APNG (after a fallback image), with `after` inserted before its IEND."""
    data = apng_from_streams((16, 12, 8, 0), [(WHOLE, (16, 12), (0, 0), 0, 0)] * 2,
                             fallback=WHOLE if fallback else None)
    end = data.index(b"IEND") - 4
    assert len(png.frame_controls(data[:end] + after + data[end:], 300)) == present


def test_a_frame_control_gives_its_place_and_dispose_op_and_the_frames_end_before_one_cut_short():
    data = apng_from_streams((16, 12, 8, 0), [(WHOLE, (16, 12), (0, 0), 1, 0), (ONE_ROW, (5, 1), (3, 7), 2, 1)])
    second = data.index(b"fcTL", data.index(b"IDAT")) - 4
    short = data[:second] + png_chunk(b"fcTL", data[second + 8:second + 8 + 25]) + data[second + 12 + 26:]
    assert png.frame_controls(data, 300) == [(16, 12, 0, 0, 1), (5, 1, 3, 7, 2)]
    assert png.frame_controls(short, 300) == [(16, 12, 0, 0, 1)]
    assert png.frame_control(memoryview(short)[second + 8:second + 8 + 25]) is None


def _apng_variants(frames: int) -> dict[str, bytes]:
    whole, pixel = apng_with_frames(frames), zlib.compress(b"\0\0")
    fifth_frame_data = png_chunk(b"fdAT", struct.pack(">I", 8) + pixel)
    assert fifth_frame_data in whole and whole.endswith(png_chunk(b"IEND", b""))
    return {
        "whole": whole,
        "cut-in-its-last-frame": whole[:whole.rindex(b"fdAT") + 6],
        "without-iend": whole[:-12],  # the last frame's data may go on: Chromium does not play it
        "out-of-sequence": whole.replace(fifth_frame_data, png_chunk(b"fdAT", struct.pack(">I", 9) + pixel)),
        "more-data-out-of-sequence": whole.replace(  # ends the animation before the fifth frame, found
            fifth_frame_data, fifth_frame_data + png_chunk(b"fdAT", struct.pack(">I", 99) + pixel)),
    }


@pytest.mark.parametrize(("name", "present"), [("whole", 7), ("cut-in-its-last-frame", 6), ("without-iend", 6),
                                               ("out-of-sequence", 4), ("more-data-out-of-sequence", 4)])
@pytest.mark.parametrize("max_frames", range(1, 9))
def test_the_walk_stops_with_one_frame_more_than_max_frames(name, present, max_frames):
    """The frames found then are the first of all those present, and enough to tell that there are too many,
    whatever the chunks after them would take back."""
    data = _apng_variants(7)[name]
    every_frame = png.frame_controls(data, 300)
    assert len(every_frame) == present
    assert png.frame_controls(data, max_frames) == every_frame[:max_frames + 1]


def test_an_apng_of_many_frames_is_walked_only_as_far_as_max_frames(monkeypatch):
    walked, chunks = [], png._chunks
    monkeypatch.setattr(png, "_chunks", lambda data: (walked.append(chunk) or chunk for chunk in chunks(data)))
    assert len(png.frame_controls(apng_with_frames(20_000), 300)) == 301
    assert len(walked) == 2 + 2 * 302  # IHDR, acTL, then a control and its data for each frame


@pytest.mark.parametrize(("streams", "error"), [
    ([ONE_ROW, WHOLE, WHOLE], "image 0 of the animation ends 187 bytes before its rows"),
    ([WHOLE, WHOLE, ONE_ROW], "image 2 of the animation ends 187 bytes before its rows"),
    ([WHOLE, WHOLE[:-20]], "image 1 of the animation ends"),  # cut short
    ([WHOLE, WHOLE[:8] + bytes(len(WHOLE) - 8)], "image 1 of the animation: Error"),  # corrupt
], ids=["first-ends-early", "last-ends-early", "cut-short", "corrupt"])
def test_an_animation_image_whose_stream_ends_before_its_rows_is_malformed(streams, error):
    with pytest.raises(png.MalformedPng, match=error):
        png.check_frame_streams(grey_apng((16, 12), streams), len(streams))


def test_a_check_of_the_animation_s_streams_stops_when_told_as_it_walks_the_chunks():
    """A reviewer's 99,990 empty IDAT chunks kept a worker 139-163 ms: the walk asked nothing."""
    with pytest.raises(Stopped):
        png.check_frame_streams(grey_apng((16, 12), [b"", b""]), 2, stopped=lambda: True)


def test_a_check_of_the_animation_s_streams_stops_when_told_as_it_inflates():
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    asked = itertools.count()
    walked = len(list(png._chunks(data)))  # asked once a chunk, at most, before any inflating
    with pytest.raises(Stopped):
        png.check_frame_streams(data, 2, stopped=lambda: next(asked) >= walked)


@pytest.mark.parametrize("streams", [[ONE_ROW, WHOLE], [WHOLE, ONE_ROW]], ids=["first", "second"])
def test_an_animation_image_that_ends_early_is_a_415_not_a_black_frame(streams):
    """Pillow decodes a stream cut short or corrupt to an error, but one that ends properly to a whole frame."""
    with pytest.raises(UnsupportedMedia, match="malformed PNG: image . of the animation ends 187 bytes before"):
        render(grey_apng((16, 12), streams), parse_rendition("/8x,png/key"), LIMITS)


def test_an_image_stream_is_the_data_chunks_that_follow_one_another_as_pillow_reads_it():
    """Pillow reads on through fdAT after IDAT, ends the stream at any other chunk, and skips data of no image."""
    half = grey_apng((16, 12), [WHOLE[:20]])
    end = half.index(b"IEND") - 4
    rest = png_chunk(b"fdAT", struct.pack(">I", 1) + WHOLE[20:])
    run_on = half[:end] + rest + half[end:]
    png.check_frame_streams(run_on, 1)
    assert render(run_on, parse_rendition("/16x,png/key"), LIMITS).body == render(
        grey_apng((16, 12), [WHOLE]), parse_rendition("/16x,png/key"), LIMITS).body
    split = half[:end] + png_chunk(b"tEXt", b"a\0b") + rest + half[end:]
    with pytest.raises(png.MalformedPng, match="image 0 of the animation ends"):
        png.check_frame_streams(split, 1)
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    second = data.index(b"fcTL", data.index(b"IDAT")) - 4
    skipped = data[:second] + png_chunk(b"tEXt", b"a\0b") + png_chunk(b"IDAT", ONE_ROW) + data[second:]
    png.check_frame_streams(skipped, 2)  # the run after tEXt belongs to no image


def test_an_image_stream_runs_on_through_ddat_as_pillow_reads_it():
    """Pillow reads a DDAT chunk's data as part of the stream, as it reads IDAT's and fdAT's."""
    half = grey_apng((16, 12), [WHOLE[:20]])
    end = half.index(b"IEND") - 4
    run_on = half[:end] + png_chunk(b"DDAT", WHOLE[20:]) + half[end:]
    png.check_frame_streams(run_on, 1)
    assert render(run_on, parse_rendition("/16x,png/key"), LIMITS).body == render(
        grey_apng((16, 12), [WHOLE]), parse_rendition("/16x,png/key"), LIMITS).body


def test_the_check_of_the_animation_s_streams_ends_at_iend():
    """Past IEND nothing is read: not even a frame control there that reaches past the canvas."""
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    end = data.index(b"IEND") - 4
    past = png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 3, 16, 12, 5, 0, 1, 10, 0, 0)) + png_chunk(
        b"fdAT", struct.pack(">I", 4) + WHOLE)
    png.check_frame_streams(data + past, 3)
    with pytest.raises(png.MalformedPng, match="frame 2 reaches past the canvas"):
        png.check_frame_streams(data[:end] + past + data[end:], 3)


def test_a_frame_control_cut_short_by_the_end_of_the_file_is_left_to_pillow():
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    second = data.index(b"fcTL", data.index(b"IDAT")) - 4
    png.check_frame_streams(data[:second + 12], 2)  # declares 26 bytes, holds 4
    assert Image.open(io.BytesIO(render(data[:second + 12], parse_rendition("/8x,jpeg/key"), LIMITS).body)).size == (
        8, 6)


def test_empty_data_chunks_are_part_of_a_stream():
    """PNG allows them, and Pillow reads past them."""
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    idat, fdat = data.index(b"IDAT") - 4, data.index(b"fdAT") - 4
    data = (data[:idat] + png_chunk(b"IDAT", b"") + data[idat:fdat] + png_chunk(b"fdAT", struct.pack(">I", 2))
            + data[fdat:])
    png.check_frame_streams(data, 2)


def test_a_frame_past_the_canvas_after_the_images_decoded_is_left_to_pillow():
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    second = data.index(b"fcTL", data.index(b"IDAT")) - 4
    data = (data[:second] + png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 1, 16, 12, 5, 0, 1, 10, 0, 0))
            + data[second + 12 + 26:])
    png.check_frame_streams(data, 1)
    assert Image.open(io.BytesIO(render(data, parse_rendition("/8x,jpeg/key"), LIMITS).body)).size == (8, 6)


def test_a_later_frames_stream_starts_at_its_first_fdat_as_pillow_skips_an_idat_before_it():
    data = grey_apng((16, 12), [WHOLE, ONE_ROW])
    fdat = data.index(b"fdAT") - 4
    data = data[:fdat] + png_chunk(b"IDAT", WHOLE) + data[fdat:]
    with pytest.raises(png.MalformedPng, match="image 1 of the animation ends 187 bytes before its rows"):
        png.check_frame_streams(data, 2)


def test_only_the_images_that_will_be_decoded_are_checked():
    """A JPEG is made of the first frame alone."""
    data = grey_apng((16, 12), [WHOLE, ONE_ROW])
    png.check_frame_streams(data, 1)
    with pytest.raises(png.MalformedPng, match="image 1 of the animation ends"):
        png.check_frame_streams(data, 2)
    assert Image.open(io.BytesIO(render(data, parse_rendition("/8x,jpeg/key"), LIMITS).body)).size == (8, 6)


def frames_of(body: bytes) -> int:
    return getattr(Image.open(io.BytesIO(body)), "n_frames", 1)


@pytest.mark.parametrize("place", [(16, 12, 1, 0), (16, 12, 0, 1), (17, 12, 0, 0), (1, 1, 2**32 - 1, 0)],
                         ids=["right", "down", "wider", "wrapping"])
def test_a_frame_past_the_canvas_is_malformed_before_its_stream_inflates_and_ends_the_animation(place):
    """Its stream would otherwise be inflated to the rows it declares. Chromium 156 ends the animation before it
    (by hand), where Pillow refused the file."""
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    second = data.index(b"fcTL", data.index(b"IDAT")) - 4
    control = struct.pack(">IIIIIHHBB", 1, *place, 1, 10, 0, 0)
    data = data[:second] + png_chunk(b"fcTL", control) + data[second + 12 + 26:]
    with pytest.raises(png.MalformedPng, match="frame 1 reaches past the canvas"):
        png.check_frame_streams(data, 2)
    assert frames_of(render(data, parse_rendition("/8x,png/key"), LIMITS).body) == 1


def test_an_animation_ends_before_a_frame_control_cut_short():
    """As Chromium 156 ends it (by hand), where Pillow refused the file when it got to that frame."""
    data = grey_apng((16, 12), [WHOLE, WHOLE])
    second = data.index(b"fcTL", data.index(b"IDAT")) - 4
    data = data[:second] + png_chunk(b"fcTL", struct.pack(">III", 1, 16, 12)[:10]) + data[second + 12 + 26:]
    png.check_frame_streams(data, 2)
    assert Image.open(io.BytesIO(render(data, parse_rendition("/8x,jpeg/key"), LIMITS).body)).size == (8, 6)
    assert frames_of(render(data, parse_rendition("/8x,png/key"), LIMITS).body) == 1


@pytest.mark.parametrize("streams", [[WHOLE, WHOLE], [WHOLE, zlib.compress(GREY_ROWS + bytes(5000))]],
                         ids=["whole", "past-its-rows"])
def test_an_animation_whose_streams_hold_their_rows_renders(streams):
    data = grey_apng((16, 12), streams)
    png.check_frame_streams(data, 2)
    output = Image.open(io.BytesIO(render(data, parse_rendition("/16x,png/key"), LIMITS).body))
    assert (getattr(output, "n_frames", 1), output.size) == (1, (16, 12))  # two identical frames, merged into one
    assert output.convert("L").tobytes() == bytes(row * 8 for row in range(12) for _ in range(16))


FOUR_COLOURS = png_chunk(b"PLTE", bytes(range(12)))


@pytest.mark.parametrize(("colour_type", "chunks", "ignored"), [
    (3, FOUR_COLOURS + png_chunk(b"tRNS", bytes(4)), False),  # an alpha for each entry
    (3, FOUR_COLOURS + png_chunk(b"tRNS", bytes(2)), False),  # the entries past it are opaque
    (3, FOUR_COLOURS + png_chunk(b"tRNS", bytes(5)), True),
    (3, FOUR_COLOURS + png_chunk(b"tRNS", bytes(257)), True),
    (3, png_chunk(b"tRNS", bytes(2)) + FOUR_COLOURS, True),  # out of place
    (3, FOUR_COLOURS, False),
    (0, png_chunk(b"tRNS", bytes(2)), False),  # a grey colour key
], ids=["one-each", "fewer", "one-more", "257", "before-plte", "no-trns", "grey-key"])
def test_palette_alpha_that_libpng_ignores(colour_type, chunks, ignored):
    data = png_from_rows((1, 1), 8, colour_type, b"\0\0", chunks)
    assert png.palette_alpha_ignored(data) is ignored


def test_a_file_that_is_not_a_png_has_no_palette_alpha():
    assert not png.palette_alpha_ignored(b"GIF89a" + bytes(30))


@pytest.mark.parametrize("original", [png_with_corrupt_data, lambda: png_ending_after_one_row(2000, 1500)],
                         ids=["corrupt", "ending-early"])
def test_a_png_refused_mid_decode_leaves_no_cycle_holding_its_pixels(original, monkeypatch):
    """Only the garbage collector would free a cycle, tens of requests later in a warm container: until
    then it held the reader, and through its frames the half-decoded image (12 MB here, 190 MB at the
    pixel limit)."""
    readers, real = [], png.inflating_reader

    def watched(data, executor):
        reader = real(data, executor)
        readers.append(weakref.ref(reader))
        return reader

    monkeypatch.setattr(png, "inflating_reader", watched)
    gc.disable()
    try:
        with pytest.raises(UnsupportedMedia):
            render(original(), parse_rendition("/640x/k.png"), Limits(50_000_000, 300))
        assert len(readers) == 1 and readers[0]() is None
    finally:
        gc.enable()


PLAIN = encoded(gradient((8, 8)), "PNG")


@pytest.mark.parametrize(("data", "codes"), [
    (png_with_chunks_after_ihdr(PLAIN, (b"cICP", bytes([9, 16, 0, 1]))), (9, 16)),
    (png_with_chunks_after_ihdr(PLAIN, (b"iCCP", b"x\0\0"), (b"cICP", bytes([12, 13, 0, 1]))), (12, 13)),
    (png_with_chunks_after_ihdr(PLAIN, (b"cICP", bytes([9, 16, 0, 0]))), None),  # narrow range
    (png_with_chunks_after_ihdr(PLAIN, (b"cICP", bytes([9, 16, 1, 1]))), None),  # a matrix: not RGB
    (png_with_chunks_after_ihdr(PLAIN, (b"cICP", bytes([9, 16, 0]))), None),  # cut
    (PLAIN[:-12] + png_chunk(b"cICP", bytes([9, 16, 0, 1])) + PLAIN[-12:], None),  # after the pixels
    (png_with_chunks_after_ihdr(PLAIN, (b"PLTE", bytes(3)), (b"cICP", bytes([9, 16, 0, 1]))), None),  # after PLTE
    (PLAIN, None),
], ids=["cicp", "after-iccp", "narrow-range", "matrix", "cut", "after-idat", "after-plte", "none"])
def test_colour_codes_are_read_from_cicp_before_the_pixels(data, codes):
    assert png.colour_codes(data) == codes


@pytest.mark.parametrize(("payload", "nits"), [
    ((4000 * 10_000).to_bytes(4) + (400 * 10_000).to_bytes(4), 4000),
    ((1000 * 10_000).to_bytes(4) + bytes(4), 1000),
    ((1000 * 10_000 + 1).to_bytes(4) + bytes(4), 1001),  # up to a whole nit, as the peak goes up to 100
    (bytes(8), None),  # 0: unknown
    ((4000 * 10_000).to_bytes(4), None),  # cut
], ids=["4000", "1000", "just-above", "zero", "cut"])
def test_the_brightest_pixel_is_read_from_clli_in_ten_thousandths_of_a_nit(payload, nits):
    assert png.brightest_nits(png_with_chunks_after_ihdr(PLAIN, (b"cLLI", payload))) == nits


def test_no_clli_says_nothing():
    assert png.brightest_nits(PLAIN) is None


def with_empty_chunks(count: int, where: str) -> bytes:
    """PLAIN (IHDR, IDAT, IEND) with `count` empty tEXt chunks before its pixels, after them, or after IEND."""
    flood = png_chunk(b"tEXt", b"") * count
    at = {"before": 33, "after": len(PLAIN) - 12, "past-iend": len(PLAIN)}[where]
    return PLAIN[:at] + flood + PLAIN[at:]


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_png_of_more_chunks_than_the_limit_is_too_large_before_pillow_walks_them(monkeypatch, pillow_opens, where):
    monkeypatch.setattr(png, "MAX_CHUNKS", 20)
    with pytest.raises(SourceTooLarge, match="more than 20 chunks"):
        render(with_empty_chunks(20 - 1, where), parse_rendition("/4x/a.png"), Limits(50_000_000, 300))
    assert pillow_opens == []


@pytest.mark.parametrize("where", ["before", "after", "past-iend"])
def test_a_png_of_as_many_chunks_as_the_limit_renders(monkeypatch, where):
    """IHDR, IDAT and the flood are 20 (IEND, and what follows it, are not counted)."""
    monkeypatch.setattr(png, "MAX_CHUNKS", 20)
    rendered = render(with_empty_chunks(18 if where != "past-iend" else 30, where), parse_rendition("/4x/a.png"),
                      Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).size == (4, 4)


def test_the_chunk_limit_is_100_000_up_to_iend_as_security_md_states():
    """IHDR, IDAT and the flood make the count; IEND is not in it."""
    assert png.layout(with_empty_chunks(100_000 - 2, "after")).first_idat == 33
    with pytest.raises(png.TooManyChunks, match="more than 100000 chunks"):
        png.layout(with_empty_chunks(100_000 - 1, "after"))


def test_the_compressed_chunk_limit_is_64_as_security_md_states():
    chunks = [(b"zTXt", b"key\0\0" + TEXT)]
    assert png.layout(png_with_chunks_after_ihdr(PLAIN, *chunks * 64)).first_idat == 33 + 64 * (12 + 5 + len(TEXT))
    with pytest.raises(png.TooManyChunks, match="more than 64 compressed text or profile chunks"):
        png.layout(png_with_chunks_after_ihdr(PLAIN, *chunks * 65))


def test_the_chunk_limit_leaves_room_for_the_largest_original_in_libpngs_idat_chunks():
    assert png.MAX_CHUNKS >= 41943040 // 8192 * 10


def test_the_declared_size_is_ihdrs_and_read_without_pillow(pillow_opens):
    data = encoded(gradient((300, 200)), "PNG")
    assert png.declared_size(data[:24]) == (300, 200)
    assert png.declared_size(data[:23]) is None and png.declared_size(b"GIF89a" + data[6:]) is None
    with pytest.raises(SourceTooLarge):
        check_pixels_in_head(data[:24], Limits(300 * 200 - 1, 300))
    assert pillow_opens == []


TEXT = zlib.compress(b"text")
INFLATED = [(b"zTXt", b"key\0\0" + TEXT), (b"iCCP", b"profile\0\0" + zlib.compress(bytes(200))),
            (b"iTXt", b"key\0\2\0\0\0" + TEXT)]  # a flag of 2: Pillow inflates for any but 0
# An iTXt that ends with its keyword: the byte after it, where a flag would be, is its CRC's, 1 for "k131".
NOT_INFLATED = [(b"iTXt", b"key\0\0\0\0\0text"), (b"tEXt", b"key\0text"), (b"iTXt", b"no-keyword-end"),
                (b"iTXt", b"k131\0")]


@pytest.mark.parametrize("chunks", [INFLATED, NOT_INFLATED * 2, [(b"zTXt", b"\0\0" + TEXT)] * 3 + NOT_INFLATED],
                         ids=["one-of-each", "uncompressed-text", "three-without-keyword"])
def test_a_png_of_no_more_compressed_chunks_than_the_limit_renders(monkeypatch, chunks):
    assert zlib.crc32(b"iTXtk131\0") >> 24 == 1
    monkeypatch.setattr(png, "MAX_COMPRESSED_CHUNKS", 3)
    rendered = render(png_with_chunks_after_ihdr(PLAIN, *chunks), parse_rendition("/4x/a.png"), Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).size == (4, 4)


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_png_of_more_compressed_chunks_than_the_limit_is_too_large_before_pillow_opens_it(monkeypatch, pillow_opens,
                                                                                             where):
    """Pillow inflates each up to 1 MB, with no total for profiles and for text without a keyword."""
    monkeypatch.setattr(png, "MAX_COMPRESSED_CHUNKS", 3)
    chunks = b"".join(png_chunk(kind, payload) for kind, payload in INFLATED + INFLATED[:1])
    at = 33 if where == "before" else len(PLAIN) - 12
    with pytest.raises(SourceTooLarge, match="more than 3 compressed text or profile chunks"):
        render(PLAIN[:at] + chunks + PLAIN[at:], parse_rendition("/4x/a.png"), Limits(50_000_000, 300))
    assert pillow_opens == []


# --- ancillary chunks with a wrong CRC -------------------------------------------

def broken(chunk: bytes) -> bytes:
    """The chunk with its CRC turned wrong."""
    return chunk[:-4] + bytes(byte ^ 0xFF for byte in chunk[-4:])


SIDEWAYS = encoded(Image.frombytes("RGB", (2, 1), bytes([255, 0, 0, 0, 0, 255])), "PNG")  # red, then blue
BLACK_AND_GREY = encoded(Image.frombytes("L", (2, 1), bytes([0, 200])), "PNG")


def rendered_pixels(data: bytes) -> tuple[tuple[int, int], bytes, bytes | None]:
    image = Image.open(io.BytesIO(render(data, parse_rendition("/100x,png/a.png"), LIMITS).body))
    return image.size, image.convert("RGBA").tobytes(), image.info.get("icc_profile")


# As Chromium 156 shows each (a helper's measure, an <img> drawn on a canvas): as if the chunk were not there.
# Pillow refuses every one of these files.
@pytest.mark.parametrize(("data", "as_if"), [
    (chunks_before_idat(SIDEWAYS, broken(png_chunk(b"tEXt", b"Title\0a photo"))), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, broken(png_chunk(b"eXIf", exif_of(6)))), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, broken(png_chunk(b"eXIf", exif_of(6))), png_chunk(b"eXIf", exif_of(3))),
     chunks_before_idat(SIDEWAYS, png_chunk(b"eXIf", exif_of(3)))),  # the first eXIf browsers read
    (chunks_before_idat(SIDEWAYS, broken(png_chunk(b"iCCP", b"p3\0\0" + zlib.compress(DISPLAY_P3)))), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, broken(png_chunk(b"prVt", b"private"))), SIDEWAYS),
    (chunks_before_idat(BLACK_AND_GREY, broken(png_chunk(b"tRNS", b"\0\0"))), BLACK_AND_GREY),  # black not see-through
], ids=["text", "exif", "exif-then-a-good-one", "profile", "private", "transparency"])
def test_an_ancillary_chunk_with_a_wrong_crc_is_dropped_as_browsers_drop_it(data, as_if):
    assert rendered_pixels(data) == rendered_pixels(as_if)


# As Chromium 156 shows each (by hand, an <img> drawn on a canvas): as if the chunk were not there. Pillow refuses
# every one of these files but two, whose profiles it applied: of a keyword of 81 bytes, and of none.
@pytest.mark.parametrize(("data", "as_if"), [
    (chunks_before_idat(SIDEWAYS, png_chunk(b"sRGB", b"")), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"gAMA", b"\0\1")), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"cHRM", SRGB_CHRM[:28])), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"pHYs", b"\0\1")), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"tRNS", b"\0" * 5)), SIDEWAYS),
    (chunks_before_idat(BLACK_AND_GREY, png_chunk(b"tRNS", b"\0")), BLACK_AND_GREY),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"iCCP", b"p3")), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"iCCP", b"p3\0\1" + zlib.compress(DISPLAY_P3))), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"iCCP", b"p" * 81 + b"\0\0" + zlib.compress(DISPLAY_P3))), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"zTXt", b"Title\0\1" + zlib.compress(b"a photo"))), SIDEWAYS),
    (chunks_before_idat(SIDEWAYS, png_chunk(b"iCCP", b"\0\0" + zlib.compress(DISPLAY_P3))), SIDEWAYS),
], ids=["srgb-empty", "gamma-short", "chrm-short", "phys-short", "rgb-transparency-short", "grey-transparency-short",
        "profile-without-keyword-end", "profile-not-zlib", "profile-keyword-of-81", "ztxt-not-zlib",
        "profile-of-no-keyword"])
def test_an_ancillary_chunk_chromium_ignores_is_dropped_where_pillow_refuses_or_reads_it(data, as_if):
    assert rendered_pixels(data) == rendered_pixels(as_if)


@pytest.mark.parametrize("chunk", [
    png_chunk(b"sRGB", b"\0"), png_chunk(b"gAMA", bytes(8)), png_chunk(b"cHRM", SRGB_CHRM + bytes(4)),
    png_chunk(b"pHYs", bytes(12)), png_chunk(b"tRNS", bytes(6)), png_chunk(b"iCCP", b"p" * 80 + b"\0\0"),
    png_chunk(b"zTXt", b"\0\0"), png_chunk(b"tIME", b"\0"),
], ids=["srgb", "gamma-long", "chrm-long", "phys-long", "transparency", "keyword-of-80", "ztxt-of-no-keyword",
        "time-short"])
def test_an_ancillary_chunk_pillow_reads_is_kept(chunk):
    data = chunks_before_idat(SIDEWAYS, chunk)
    assert png.without_chunks_browsers_skip(data) is data


def test_a_palettes_short_transparency_is_kept_as_pillow_reads_it():
    """A palette image's tRNS holds one alpha for each of its first entries, as many as it likes."""
    palette = encoded(Image.new("P", (4, 4)), "PNG")
    data = chunks_before_idat(palette, png_chunk(b"tRNS", b"\0"))
    assert png.without_chunks_browsers_skip(data) is data


@pytest.mark.parametrize(("first", "shown_by"), [("none", "display-p3"), ("wrong-crc", "display-p3"),
                                                ("of-no-keyword", "nothing"), ("not-zlib", "nothing")])
def test_the_first_whole_profile_is_the_one_chromium_reads(first, shown_by):
    """Chromium 156 shows a PNG of two iCCP chunks by the first (by hand: Display P3 then another, (200, 120, 80) as
    (213, 115, 70)), where Pillow read the last. It skips one whose CRC is wrong; one it ignores (no keyword, not
    zlib's) it still takes for the profile, and then reads no later one (by hand: the numbers shown as sRGB's)."""
    display_p3, other = (png_chunk(b"iCCP", b"p\0\0" + zlib.compress(profile))
                         for profile in (DISPLAY_P3, icc.profile(9, 8)))
    before = {"none": [], "wrong-crc": [broken(other)], "of-no-keyword": [png_chunk(b"iCCP", b"\0" + other[10:-4])],
              "not-zlib": [png_chunk(b"iCCP", b"p\0\1" + zlib.compress(DISPLAY_P3))]}[first]
    data = chunks_before_idat(SIDEWAYS, *before, display_p3, other)
    shown = chunks_before_idat(SIDEWAYS, display_p3) if shown_by == "display-p3" else SIDEWAYS
    assert rendered_pixels(data) == rendered_pixels(shown)


def test_only_the_broken_ancillary_chunks_before_the_pixels_are_dropped():
    good, bad = png_chunk(b"tEXt", b"a\0b"), broken(png_chunk(b"tEXt", b"c\0d"))
    after = png_chunk(b"tEXt", b"e\0f")
    data = chunks_before_idat(SIDEWAYS, good, bad, good)
    data = data[:-12] + broken(after) + data[-12:]
    kept = chunks_before_idat(SIDEWAYS, good, good)
    assert png.without_chunks_browsers_skip(data) == kept[:-12] + broken(after) + data[-12:]
    whole = chunks_before_idat(SIDEWAYS, good)
    assert png.without_chunks_browsers_skip(whole) is whole
    assert png.without_chunks_browsers_skip(b"GIF89a") == b"GIF89a"


@pytest.mark.parametrize(("before", "error"), [
    (broken(png_chunk(b"tEXt", b"a\0b")), "tEXt before IHDR"),
    (png_chunk(b"acTL", struct.pack(">II", 0, 0)), "acTL before IHDR"),
], ids=["broken-text", "unusable-actl"])
def test_a_chunk_before_ihdr_is_kept_whatever_browsers_skip_for_the_file_to_be_refused(before, error):
    """Dropping it would make IHDR the first chunk, and let through a file that Chromium 156 refuses."""
    data = SIDEWAYS[:8] + before + SIDEWAYS[8:]
    assert png.without_chunks_browsers_skip(data) is data
    with pytest.raises(UnsupportedMedia, match=f"malformed PNG: {error}"):
        render(data, parse_rendition("/2x/key"), LIMITS)


def test_a_critical_chunk_with_a_wrong_crc_is_still_refused():
    """Browsers refuse it too (a broken IHDR or PLTE)."""
    palette = encoded(Image.new("P", (4, 4)), "PNG")
    at = palette.index(b"PLTE") - 4
    length = int.from_bytes(palette[at:at + 4])
    data = palette[:at] + broken(palette[at:at + 12 + length]) + palette[at + 12 + length:]
    with pytest.raises(UnsupportedMedia):
        render(data, parse_rendition("/100x,png/a.png"), LIMITS)


# --- gAMA and cHRM ---------------------------------------------------------------

def with_gamma(*chunks: tuple[bytes, bytes]) -> bytes:
    return chunks_before_idat(SIDEWAYS, *chunks)


# Each as Chromium 156 reads it (by hand): libpng takes a gamma within 5% of 1/2.2 for sRGB's where no cHRM
# comes with it, the first of two gAMA chunks, and neither chunk alone but a gAMA.
@pytest.mark.parametrize(("data", "expected"), [
    (with_gamma(gama_chunk(100_000)), (1.0, None)),
    (with_gamma(gama_chunk(43_181)), (100_000 / 43_181, None)),
    (with_gamma(gama_chunk(43_182)), None),
    (with_gamma(gama_chunk(47_727)), None),
    (with_gamma(gama_chunk(47_728)), (100_000 / 47_728, None)),
    (with_gamma(gama_chunk(45_455), (b"cHRM", SRGB_CHRM)),
     (100_000 / 45_455, ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.329)))),
    (with_gamma((b"cHRM", SRGB_CHRM)), None),
    (with_gamma(gama_chunk(100_000), gama_chunk(45_455)), (1.0, None)),
    (with_gamma(gama_chunk(0)), None),
    (with_gamma((b"gAMA", struct.pack(">IB", 100_000, 0))), None),
    (chunks_before_iend(SIDEWAYS, gama_chunk(100_000)), None),  # after the pixels
    (with_gamma(gama_chunk(100_000), (b"cHRM", SRGB_CHRM[:31])), (1.0, None)),  # a cHRM of the wrong length
    (with_gamma(gama_chunk(0), gama_chunk(100_000)), (1.0, None)),  # the first valid one
], ids=["linear", "just-far-from-srgb", "just-near-srgb", "just-near-srgb-above", "just-far-from-srgb-above",
        "srgb-with-chrm", "chrm-alone", "the-first-of-two", "zero", "wrong-length", "after-the-pixels",
        "chrm-of-the-wrong-length", "the-first-valid"])
def test_the_file_gamma_is_read_as_chromium_reads_it(data, expected):
    assert png.file_gamma(data) == expected


LINEAR_RED = (200, 120, 80)


@pytest.mark.parametrize(("profile", "shown"), [
    (icc_profile_gray("grey", 1.0), LINEAR_RED),  # read, of other pixels: neither applies
    (DISPLAY_P3[:200], (229, 183, 152)),  # cut short, unread: the gAMA applies
    (DISPLAY_P3[:8] + bytes([5]) + DISPLAY_P3[9:], (229, 183, 152)),  # of version 5, unread
], ids=["grey-on-rgb", "cut-short", "version-5"])
def test_a_gamma_beside_a_profile_is_applied_only_where_chromium_cannot_read_the_profile(profile, shown):
    """Chromium 156's levels (by hand, 2026-12-02) for (200, 120, 80) under a gAMA of 1.0 and an iCCP it does not
    apply: it falls back on the gAMA only beside a profile skcms cannot read."""
    data = chunks_before_idat(encoded(Image.new("RGB", (8, 8), LINEAR_RED), "PNG"),
                              (b"iCCP", b"p\0\0" + zlib.compress(profile)), gama_chunk(100_000))
    image = Image.open(io.BytesIO(render(data, parse_rendition("/8x,png/a.png"), LIMITS).body))
    colour = image.convert("RGB").getpixel((4, 4))
    if "icc_profile" in image.info:
        in_srgb = ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"])),
                                            ImageCms.createProfile("sRGB"))
        colour = in_srgb.getpixel((4, 4))
    assert max(abs(got - want) for got, want in zip(colour, shown)) <= 1


def test_a_critical_chunk_no_decoder_knows_after_the_pixels_is_left_alone():
    """libpng, and so Chromium 156, reads no further than the pixels it needs (a helper's measure)."""
    data = SIDEWAYS[:-12] + png_chunk(b"CrIT", b"") + SIDEWAYS[-12:]
    assert rendered_pixels(data) == rendered_pixels(SIDEWAYS)


def test_broken_chunks_are_looked_for_no_further_than_the_chunks_are_counted(monkeypatch):
    """Past MAX_CHUNKS the file is refused (png.layout): dropping every broken chunk first, however many, took
    6 s on 40 MiB of them, and let the file through (a helper's measure)."""
    monkeypatch.setattr(png, "MAX_CHUNKS", 3)
    data = chunks_before_idat(SIDEWAYS, *[broken(png_chunk(b"tEXt", b"a\0b"))] * 5)
    kept = chunks_before_idat(SIDEWAYS, *[broken(png_chunk(b"tEXt", b"a\0b"))] * 2)
    assert png.without_chunks_browsers_skip(data) == kept
    with pytest.raises(SourceTooLarge, match="more than 3 chunks"):
        render(data, parse_rendition("/100x,png/a.png"), LIMITS)


@pytest.mark.parametrize(("payload", "says"), [(b"\0", True), (b"\3", True), (b"\4", False), (b"\0\0", False)])
def test_an_srgb_chunk_counts_only_if_valid(payload, says):
    """libpng, and so Chromium 156, skips another, and reads the gAMA (a helper's measure)."""
    assert png.says_srgb(with_gamma((b"sRGB", payload))) is says


def test_a_png_cut_short_before_its_pixels_is_left_for_layout_to_refuse():
    """The walk stops at a chunk that runs past the end; the file is then MalformedPng's, not a crash here."""
    data = chunks_before_idat(SIDEWAYS, broken(png_chunk(b"tEXt", b"a\0b")))
    cut = data[:data.index(b"tEXt") + 8 + 1]  # its length, type and a byte of its payload
    assert png.without_chunks_browsers_skip(cut) is cut
    with pytest.raises(UnsupportedMedia):
        render(cut, parse_rendition("/100x,png/a.png"), LIMITS)


# --- frame chunks as Chromium reads them ---------------------------------------

RED, GREEN, BLUE = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)


def three_frames() -> bytes:
    """An APNG of three 8x6 frames, red, green and blue, its IDAT the first."""
    buffer = io.BytesIO()
    frames = [Image.new("RGBA", (8, 6), colour) for colour in (RED, GREEN, BLUE)]
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def chunk_spans(data: bytes, kind: bytes) -> list[tuple[int, int]]:
    return [(position, position + 12 + length) for position, length, found in png._chunks(data) if found == kind]


def with_crc_broken(data: bytes, kind: bytes, nth: int) -> bytes:
    end = chunk_spans(data, kind)[nth][1]
    return data[:end - 4] + bytes(byte ^ 0xFF for byte in data[end - 4:end]) + data[end:]


def without_chunks(data: bytes, *kinds: bytes) -> bytes:
    return b"".join(data[start:end] for start, end in [(0, 8), *((position, position + 12 + length)
                    for position, length, kind in png._chunks(data) if kind not in kinds)])


def played(data: bytes) -> list[tuple[int, int, int, int]]:
    """The first pixel of each frame of the rendition as an APNG."""
    image = Image.open(io.BytesIO(render(data, parse_rendition("/8x,png/a.png"), LIMITS).body))
    colours = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        colours.append(image.convert("RGBA").getpixel((0, 0)))
    return colours


def actl_after_the_pixels(data: bytes) -> bytes:
    actl = data[slice(*chunk_spans(data, b"acTL")[0])]
    idat_end = chunk_spans(data, b"IDAT")[0][1]
    moved = without_chunks(data, b"acTL")
    at = idat_end - len(actl)
    return moved[:at] + actl + moved[at:]


def first_control_before_actl(data: bytes) -> bytes:
    start, end = chunk_spans(data, b"fcTL")[0]
    rest = data[:start] + data[end:]
    return rest[:33] + data[start:end] + rest[33:]  # just after IHDR


def with_chunk_edited(data: bytes, kind: bytes, layout: str, nth: int = 0, **fields: int) -> bytes:
    """The `nth` `kind` chunk with these of its fields, in `layout`'s order, set; its CRC made right."""
    names = {"acTL": ("frames", "plays"), "fcTL": ("sequence", "width", "height", "left", "top", "delay",
                                                   "delay_unit", "dispose", "blend")}[kind.decode()]
    start, end = chunk_spans(data, kind)[nth]
    values = dict(zip(names, struct.unpack(layout, data[start + 8:end - 4]), strict=True)) | fields
    return data[:start] + png_chunk(kind, struct.pack(layout, *values.values())) + data[end:]


def with_chunk_doubled(data: bytes, kind: bytes) -> bytes:
    start, end = chunk_spans(data, kind)[0]
    return data[:end] + data[start:end] + data[end:]


ACTL, FCTL = ">II", ">IIIIIHHBB"


def with_chunk_resized(data: bytes, kind: bytes, extra: bytes, nth: int = 0) -> bytes:
    """The `nth` `kind` chunk with `extra` bytes after its payload (its last byte left out for b"-"); its CRC made
    right."""
    start, end = chunk_spans(data, kind)[nth]
    payload = data[start + 8:end - 5] if extra == b"-" else data[start + 8:end - 4] + extra
    return data[:start] + png_chunk(kind, payload) + data[end:]


def with_frame_data_numbered(data: bytes, nth: int, sequence: int) -> bytes:
    """The `nth` fdAT chunk given this sequence number; its CRC made right."""
    start, end = chunk_spans(data, b"fdAT")[nth]
    return data[:start] + png_chunk(b"fdAT", struct.pack(">I", sequence) + data[start + 12:end - 4]) + data[end:]


# As Chromium 156 shows each (a helper's measure, headless, by WebCodecs' ImageDecoder and an <img>). It decodes PNG
# with Skia's Rust codec, not png_image_reader.cc: an acTL before the pixels that it cannot use (of no frames, of more
# frames or plays than 2^31 - 1, not 8 bytes, or with a wrong CRC) is skipped, and so is any after the first it uses,
# where Pillow played the first or showed the IDAT image for a second; a frame control there with a wrong CRC too.
@pytest.mark.parametrize(("edit", "colours"), [
    (lambda data: with_chunk_edited(data, b"acTL", ACTL, frames=0), [RED]),
    (lambda data: with_chunk_edited(data, b"acTL", ACTL, frames=2**31), [RED]),
    (lambda data: with_chunk_edited(data, b"acTL", ACTL, plays=2**31), [RED]),
    (lambda data: with_chunk_resized(data, b"acTL", b"\0"), [RED]),
    (lambda data: with_chunk_edited(data, b"acTL", ACTL, frames=3, plays=2**31 - 1), [RED, GREEN, BLUE]),
    (lambda data: with_chunk_doubled(data, b"acTL"), [RED, GREEN, BLUE]),
    (lambda data: with_chunk_edited(with_chunk_doubled(data, b"acTL"), b"acTL", ACTL, frames=0),
     [RED, GREEN, BLUE]),
    (lambda data: with_chunk_edited(with_chunk_doubled(data, b"acTL"), b"acTL", ACTL, frames=2), [RED, GREEN]),
    (lambda data: with_crc_broken(with_chunk_doubled(data, b"acTL"), b"acTL", 0), [RED, GREEN, BLUE]),
    (lambda data: with_crc_broken(with_chunk_doubled(data, b"acTL"), b"acTL", 1), [RED, GREEN, BLUE]),
    (lambda data: with_crc_broken(with_chunk_doubled(data, b"fcTL"), b"fcTL", 1), [RED, GREEN, BLUE]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, dispose=2, blend=1), [RED, GREEN, BLUE]),
], ids=["no-frames", "too-many-frames", "too-many-plays", "actl-of-9-bytes", "most-plays", "two-actl",
        "first-actl-of-no-frames", "first-actl-of-2-frames", "first-actl-crc", "second-actl-crc",
        "second-fctl-first-crc", "fctl-ops"])
def test_the_animation_chunks_before_the_pixels_are_read_as_chromium_reads_them(edit, colours):
    assert played(edit(three_frames())) == colours


# Chromium 156 refuses these (a helper's measure): a frame control before the pixels that is not the sequence's next,
# over the whole picture, of the ops APNG defines and 26 bytes (with an acTL or without), and frame data there, even
# with a wrong CRC. Pillow played some, showed the first frame's place of others, and failed on the rest.
@pytest.mark.parametrize("edit", [
    lambda data: with_chunk_edited(data, b"fcTL", FCTL, width=7),
    lambda data: with_chunk_edited(data, b"fcTL", FCTL, height=5),
    lambda data: with_chunk_edited(data, b"fcTL", FCTL, left=1, width=7),
    lambda data: with_chunk_edited(data, b"fcTL", FCTL, sequence=1),
    lambda data: with_chunk_edited(data, b"fcTL", FCTL, dispose=3),
    lambda data: with_chunk_edited(data, b"fcTL", FCTL, blend=2),
    lambda data: with_chunk_resized(data, b"fcTL", b"\0"),
    lambda data: with_chunk_doubled(data, b"fcTL"),
    lambda data: with_chunk_edited(without_chunks(data, b"acTL"), b"fcTL", FCTL, dispose=3),
    lambda data: with_chunk_edited(with_chunk_edited(data, b"acTL", ACTL, frames=0), b"fcTL", FCTL, width=7),
    lambda data: data[:33] + png_chunk(b"fdAT", bytes(8)) + data[33:],
    lambda data: with_crc_broken(data[:33] + png_chunk(b"fdAT", bytes(8)) + data[33:], b"fdAT", 0),
], ids=["narrower", "shorter", "moved", "sequence", "dispose", "blend", "of-27-bytes", "two-fctl",
        "without-actl", "with-an-actl-skipped", "fdat", "fdat-crc"])
def test_frame_chunks_before_the_pixels_that_chromium_refuses_are_refused(edit):
    with pytest.raises(UnsupportedMedia, match="malformed PNG: (fdAT|an fcTL) before the pixels"):
        played(edit(three_frames()))


# As Chromium 156 shows each (by hand, headless, by WebCodecs' ImageDecoder): after the first frame, an animation
# ends before a frame control that it cannot play (not the sequence's next, not inside the picture, of an op APNG
# does not define, or not 26 bytes), and before a frame whose data is out of sequence; Pillow played on, or failed
# on the whole file.
@pytest.mark.parametrize(("edit", "colours"), [
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=1, sequence=7), [RED]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=1, blend=2), [RED]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=1, dispose=3), [RED]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=2, dispose=3), [RED, GREEN]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=1, width=0), [RED]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=1, width=9), [RED]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=1, left=1), [RED]),
    (lambda data: with_chunk_resized(data, b"fcTL", b"\0", nth=1), [RED]),
    (lambda data: with_chunk_resized(data, b"fcTL", b"-", nth=1), [RED]),
    (lambda data: with_frame_data_numbered(data, 0, 9), [RED]),
    (lambda data: with_chunk_edited(data, b"fcTL", FCTL, nth=1, width=7), [RED, GREEN, BLUE]),
], ids=["sequence", "blend", "dispose", "third-dispose", "no-width", "wider", "moved-out", "of-27-bytes",
        "of-25-bytes", "data-sequence", "narrower-plays"])
def test_an_animation_ends_before_a_later_frame_chromium_cannot_play(edit, colours):
    assert played(edit(three_frames())) == colours


def with_last_frame_data_split(data: bytes) -> bytes:
    """The last fdAT chunk split in two, the second numbered next (the last in the sequence)."""
    start, end = chunk_spans(data, b"fdAT")[-1]
    sequence, stream = int.from_bytes(data[start + 8:start + 12]), data[start + 12:end - 4]
    half = len(stream) // 2
    return (data[:start] + png_chunk(b"fdAT", struct.pack(">I", sequence) + stream[:half])
            + png_chunk(b"fdAT", struct.pack(">I", sequence + 1) + stream[half:]) + data[end:])


# As Chromium 156 shows each (a helper's measure, headless, WebCodecs' ImageDecoder over every cut of such a file): a
# file cut short in a later frame's data ends the animation before that frame wherever the cut falls, and the data
# of the last frame ends only at a whole chunk header that is not image data; a cut between two of the frame's data
# chunks, or in the first 12 bytes of one, was refused (a 415, Pillow's "image file is truncated").
@pytest.mark.parametrize(("chunk", "cut", "colours"), [
    (b"fdAT", 0, [RED, GREEN]),  # between the last frame's two data chunks
    (b"fdAT", 6, [RED, GREEN]),
    (b"fdAT", 10, [RED, GREEN]),  # its type whole, its sequence number not
    (b"fdAT", 14, [RED, GREEN]),  # its sequence number whole, its data not
    (b"IEND", 0, [RED, GREEN]),  # no IEND
    (b"IEND", 4, [RED, GREEN]),
    (b"IEND", 8, [RED, GREEN, BLUE]),
], ids=["between-data", "in-length", "in-sequence-number", "in-data", "no-iend", "in-iend-type", "in-iend-crc"])
def test_an_animation_cut_short_in_its_last_frame_data_ends_before_that_frame(chunk, cut, colours):
    data = with_last_frame_data_split(three_frames())
    start = chunk_spans(data, chunk)[-1][0]
    assert played(data[:start + cut]) == colours

def test_an_animation_whose_first_frame_control_has_a_wrong_crc_is_refused():
    """Chromium 156 skips the control, takes the IDAT image for a hidden one, and finds the next out of sequence:
    it shows no frame (a helper's measure), and Pillow fails on the sequence."""
    with pytest.raises(UnsupportedMedia, match="frame sequence errors"):
        played(with_crc_broken(three_frames(), b"fcTL", 0))


# As Chromium 156 shows each (by hand): a PNG of no acTL before its pixels is a still one, whatever frame chunks it
# holds, where Pillow failed on them (a 415); an animation whose first frame control comes before its acTL plays
# (it was refused); and an animation stops before a frame control whose CRC is wrong, where Pillow played on.
@pytest.mark.parametrize(("edit", "colours"), [
    (lambda data: data, [RED, GREEN, BLUE]),
    (lambda data: without_chunks(data, b"acTL"), [RED]),
    (lambda data: with_crc_broken(data, b"acTL", 0), [RED]),
    (lambda data: without_chunks(data, b"acTL", b"fcTL"), [RED]),
    (actl_after_the_pixels, [RED]),
    (first_control_before_actl, [RED, GREEN, BLUE]),
    (lambda data: with_crc_broken(data, b"fcTL", 1), [RED]),
    (lambda data: with_crc_broken(data, b"fcTL", 2), [RED, GREEN]),
    (lambda data: with_crc_broken(data, b"fdAT", 0), [RED, GREEN, BLUE]),  # a frame's data: as Chromium plays it
], ids=["whole", "no-actl", "actl-crc", "frame-data-alone", "actl-after-the-pixels", "fctl-before-actl",
        "second-fctl-crc", "third-fctl-crc", "fdat-crc"])
def test_frame_chunks_are_played_as_chromium_plays_them(edit, colours):
    assert played(edit(three_frames())) == colours


@pytest.mark.parametrize(("depth", "colour_type", "pillow_mode"), [
    (16, 4, "RGBA"), (8, 4, "LA"), (16, 0, "I;16"), (16, 6, "RGBA"), (16, 2, "RGB"),
])
def test_only_sixteen_bit_grey_with_alpha_is_grey_that_pillow_reads_as_colour(depth, colour_type, pillow_mode):
    channels = png.CHANNELS[colour_type]
    data = png_from_rows((1, 1), depth, colour_type, b"\0" + bytes(channels * depth // 8))
    assert Image.open(io.BytesIO(data)).mode == pillow_mode
    assert png.grey_read_as_colour(data) == (colour_type == 4 and depth == 16)
