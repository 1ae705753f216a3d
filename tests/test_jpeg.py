"""A JPEG's frame header, its coded data and the least of it that its size needs."""

import io
import struct
import time

import pytest
from PIL import Image

import bombs
import edge.image
from edge import jpeg
from edge.errors import SourceTooLarge, UnsupportedMedia
from edge.image import Limits, render
from edge.image.checks import check_jpeg_data
from edge.rendition import parse_rendition
from imaging import (
    DISPLAY_P3, app1, encoded, exif_directories, exif_with, gradient, largest_difference, lossless_jpeg, tiff_pointing,
)

STEPS = edge.image.checks.MAX_JPEG_HEADER_STEPS
# Pillow's subsampling codes: 0 is 4:4:4, 1 is 4:2:2, 2 is 4:2:0.
LUMA_SAMPLING = {0: (1, 1), 1: (2, 1), 2: (2, 2)}


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def first_scan_data(data: bytes) -> int:
    sos = data.index(b"\xff\xda")
    return sos + 2 + struct.unpack_from(">H", data, sos + 2)[0]


def coded_bytes(data: bytes) -> int:
    """The oracle, one byte at a time: every byte of every scan up to the end-of-image marker,
    but the segments between scans (tables, scan headers)."""
    pos, counted = first_scan_data(data), 0
    while True:
        if data[pos] == 0xFF and data[pos + 1] not in (0x00, 0xFF, *range(0xD0, 0xD8)):
            if data[pos + 1] == 0xD9:
                return counted
            pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
        else:
            counted, pos = counted + 1, pos + 1


def decodes(data: bytes) -> bool:
    Image.open(io.BytesIO(data)).load()
    return True


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
@pytest.mark.parametrize("subsampling", [0, 1, 2], ids=["444", "422", "420"])
def test_a_colour_frame_is_read_with_its_sampling(subsampling, progressive):
    data = jpeg_bytes(Image.new("RGB", (101, 37), (200, 40, 90)), subsampling=subsampling, progressive=progressive)
    frame = jpeg.huffman_frame(data, STEPS)
    assert (frame.width, frame.height, frame.progressive) == (101, 37, progressive)
    assert frame.sampling == (LUMA_SAMPLING[subsampling], (1, 1), (1, 1))
    assert frame.data_offset == first_scan_data(data)


def test_no_frame_is_read_from_what_does_not_start_as_a_jpeg():
    data = jpeg_bytes(Image.new("L", (64, 48)))
    assert jpeg.huffman_frame(data, STEPS) is not None
    assert jpeg.huffman_frame(b"\0\0" + data[2:], STEPS) is None


@pytest.mark.parametrize("code", [0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF])
def test_a_frame_neither_huffman_sequential_nor_progressive_is_not_judged(code):
    """Lossless, hierarchical and arithmetic-coded frames have no floor of coded bytes: no frame is read past one."""
    data = jpeg_bytes(Image.new("L", (64, 48)))
    at = data.index(b"\xff\xc0")
    other = bytes([0xFF, code]) + data[at + 2:at + 4 + int.from_bytes(data[at + 2:at + 4]) - 2]
    assert jpeg.huffman_frame(data[:at] + other + data[at:], STEPS) is None


def test_no_frame_is_read_past_an_end_of_image_before_it():
    """Not even where the bytes after the marker would read as a segment's length."""
    data = jpeg_bytes(Image.new("L", (64, 48)))
    assert jpeg.huffman_frame(data[:2] + b"\xff\xd9\x00\x02" + data[2:], STEPS) is None


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_frames_are_read(mode):
    data = jpeg_bytes(Image.new(mode, (64, 48)))
    frame = jpeg.huffman_frame(data, STEPS)
    assert (frame.width, frame.height, len(frame.sampling)) == (64, 48, len(mode))
    assert frame.data_offset == first_scan_data(data)


@pytest.mark.parametrize(("progressive", "least"), [(False, 37), (True, 19)], ids=["sequential", "progressive"])
def test_blocks_count_each_component_as_sampled(progressive, least):
    # 100x50 at 4:2:0: luma 13 x 7 blocks; each chroma plane is 50x25 pixels, 7 x 4 blocks.
    frame = jpeg.Frame(100, 50, ((2, 2), (1, 1), (1, 1)), progressive=progressive, data_offset=0)
    assert frame.blocks() == 13 * 7 + 2 * 7 * 4
    assert frame.least_coded_bytes() == least  # 2 bits a block, or 1, of 147 blocks


@pytest.mark.parametrize("options", [{}, {"progressive": True}, {"restart_marker_blocks": 1}],
                         ids=["baseline", "progressive", "restart-every-block"])
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_the_coded_data_is_measured_exactly(mode, options):
    data = jpeg_bytes(Image.radial_gradient("L").resize((300, 200)).convert(mode), **options)
    frame, exact = jpeg.huffman_frame(data, STEPS), coded_bytes(data)
    assert jpeg._coded_data_reaches(data, frame.data_offset, exact)
    assert not jpeg._coded_data_reaches(data, frame.data_offset, exact + 1)


def test_coded_data_that_runs_to_the_files_end_is_counted_to_its_last_byte():
    """No end-of-image marker: every byte after the scan header counts, the last one too."""
    data = jpeg_bytes(Image.radial_gradient("L").resize((300, 200)))
    frame, exact, unended = jpeg.huffman_frame(data, STEPS), coded_bytes(data), data[:-2]
    assert jpeg._coded_data_reaches(unended, frame.data_offset, exact)
    assert not jpeg._coded_data_reaches(unended, frame.data_offset, exact + 1)


def test_tem_between_scans_is_no_coded_data():
    """TEM stands alone, two bytes and no length, and libjpeg passes over it: neither byte is coded data."""
    data = jpeg_bytes(Image.radial_gradient("L").resize((300, 200)), progressive=True)
    last = data.rindex(b"\xff\xda")
    with_tem = data[:last] + b"\xff\x01" + data[last:]
    assert decodes(with_tem)
    frame, exact = jpeg.huffman_frame(with_tem, STEPS), coded_bytes(data)
    assert jpeg._coded_data_reaches(with_tem, frame.data_offset, exact)
    assert not jpeg._coded_data_reaches(with_tem, frame.data_offset, exact + 1)


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("size", [(1, 1), (8, 8), (1000, 700), (4000, 3000)])
def test_the_floor_is_below_what_the_flattest_real_image_takes(size, mode, progressive):
    """A single flat colour, with Huffman tables optimised for it: the least an encoder writes."""
    data = jpeg_bytes(Image.new(mode, size, "white"), optimize=True, progressive=progressive, quality=50)
    assert jpeg.huffman_frame(data, STEPS).least_coded_bytes() <= coded_bytes(data)
    assert jpeg.too_short(data, STEPS) is None


GREY_16X16_FRAME = b"\xff\xc0\x00\x0b\x08\x00\x10\x00\x10\x01\x01\x11\x00"  # baseline, 1 component


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff\xd9\0\0",  # ends before any frame
        b"\xff\xd8\xff\xda\x00\x02",  # a scan before any frame
        b"\xff\xd8\xff\x02\0\x04\0\0",  # a reserved marker
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # a segment longer than the data
        b"\xff\xd8" + GREY_16X16_FRAME + b"junk, and no marker after it",
        b"\xff\xd8" + GREY_16X16_FRAME + b"\xff\xfe\x00\x02",  # the markers end before a scan
        b"\xff\xd8\xff\xc0\x00\x07\x08\x00\x10\x00\x10" + b"\xff\xda\x00\x02",  # a frame header without its count
        # a byte longer than its one component (libjpeg fails on it), then as long as one but counting two
        b"\xff\xd8\xff\xc0\x00\x0c\x08\x00\x10\x00\x10\x01\x01\x11\x00\x00" + b"\xff\xda\x00\x02",
        b"\xff\xd8\xff\xc0\x00\x0b\x08\x00\x10\x00\x10\x02\x01\x11\x00" + b"\xff\xda\x00\x02",
        b"\xff\xd8\xff\xc0\x00\x0b\x08\x00\x10\x00\x00\x01\x01\x11\x00" + b"\xff\xda\x00\x02",  # no width
        b"\xff\xd8\xff\xc0\x00\x08\x08\x00\x10\x00\x10\x00" + b"\xff\xda\x00\x02",  # no component
        # libjpeg fails on the first, where the second would be read
        b"\xff\xd8\xff\xc0\x00\x0b\x08\x00\x10\x00\x00\x01\x01\x11\x00" + GREY_16X16_FRAME
        + b"\xff\xda\x00\x02",
    ],
    ids=["empty", "png", "end-before-frame", "scan-before-frame", "reserved-marker", "short-segment", "junk-to-the-end",
         "no-scan", "short-frame-header", "frame-header-longer-than-its-components",
         "frame-header-shorter-than-its-count", "no-width", "no-component", "no-width-then-a-frame"],
)
def test_what_is_not_read_is_left_to_pillow(data):
    assert jpeg.huffman_frame(data, STEPS) is None


def test_a_file_that_ends_with_its_scan_header_is_too_short():
    """No coded data at all after the header: the frame is read, and the 4 blocks' byte is missing."""
    data = b"\xff\xd8" + GREY_16X16_FRAME + b"\xff\xda\x00\x02"
    assert jpeg.huffman_frame(data, STEPS).data_offset == len(data)
    assert jpeg.too_short(data, STEPS).least_coded_bytes() == 1


@pytest.mark.parametrize("frame_marker", [0xC3, 0xC9, 0xCA], ids=["lossless", "arithmetic", "arithmetic-progressive"])
def test_frames_of_other_codings_are_not_judged(frame_marker):
    data = bytearray(bombs.jpeg_declaring(7000, 7000))
    data[data.index(b"\xff\xc0") + 1] = frame_marker
    assert jpeg.huffman_frame(bytes(data), STEPS) is None
    check_jpeg_data(bytes(data))  # no floor known: Pillow decides


def test_a_height_defined_later_is_not_judged():
    data = bytearray(jpeg_bytes(Image.new("L", (16, 16))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 7] = b"\0\0"
    assert jpeg.huffman_frame(bytes(data), STEPS) is None


def test_an_extended_sequential_frame_is_judged_as_a_baseline_one():
    """SOF1 is Huffman-coded like SOF0, and libjpeg fills what its scan lacks with grey just the same."""
    real = bytearray(jpeg_bytes(Image.new("L", (16, 16), 77)))
    real[real.index(b"\xff\xc0") + 1] = 0xC1
    assert decodes(bytes(real))
    bomb = bytearray(bombs.jpeg_declaring(7000, 7000))
    bomb[bomb.index(b"\xff\xc0") + 1] = 0xC1
    with pytest.raises(UnsupportedMedia, match="bytes that"):
        check_jpeg_data(bytes(bomb))


@pytest.mark.parametrize("code", [0x02, 0xBF, 0xC8])
def test_a_reserved_marker_in_the_coded_data_is_not_judged(code):
    data = bombs.jpeg_declaring(7000, 7000)
    with_reserved = data[:-2] + bytes([0xFF, code]) + b"\0\x04\0\0" + data[-2:]
    assert jpeg.too_short(data, STEPS) is not None
    assert jpeg.too_short(with_reserved, STEPS) is None


@pytest.mark.parametrize("tail", [b"\xff\xfe", b"\xff\xfe\x00"], ids=["marker", "marker-and-half-a-length"])
def test_a_marker_cut_off_at_the_very_end_is_left_to_pillow(tail):
    assert jpeg.too_short(bombs.jpeg_declaring(7000, 7000)[:-2] + tail, STEPS) is None


def with_first_sampling(factors: int) -> bytes:
    """The 7000x7000 bomb with its first component's sampling byte (horizontal << 4 | vertical) replaced."""
    data = bytearray(bombs.jpeg_declaring(7000, 7000))
    data[data.index(b"\xff\xc0") + 11] = factors
    return bytes(data)


@pytest.mark.parametrize("factors", [0x00, 0x01, 0x10, 0x15, 0x51, 0x50, 0x05])
def test_sampling_factors_libjpeg_refuses_are_not_judged(factors):
    assert jpeg.huffman_frame(with_first_sampling(factors), STEPS) is None


def test_the_largest_sampling_factors_are_read():
    assert jpeg.huffman_frame(with_first_sampling(0x44), STEPS).sampling[0] == (4, 4)


def test_fill_bytes_before_a_marker_are_skipped():
    data = jpeg_bytes(Image.new("L", (16, 16)))
    padded = data[:2] + b"\xff\xff\xff" + data[2:]
    assert jpeg.huffman_frame(padded, STEPS).data_offset == jpeg.huffman_frame(data, STEPS).data_offset + 3


def fewest_steps(data: bytes) -> int:
    """The fewest steps huffman_frame takes to reach the first scan."""
    return next(steps for steps in range(1, 1000) if jpeg.huffman_frame(data, steps) is not None)


def test_the_walk_to_the_frame_stops_after_its_steps():
    """Each fill byte is a step: a run of them longer than the walk may take leaves it undecided (Pillow decides)."""
    data = jpeg_bytes(Image.new("L", (16, 16)))
    padded = data[:2] + b"\xff" * 100 + data[2:]
    assert fewest_steps(data) == 6  # APP0, DQT, SOF0, two DHT, SOS
    assert fewest_steps(padded) == fewest_steps(data) + 100


@pytest.mark.parametrize("marker", [b"\xff\x00", b"\xff\xd0", b"\xff\xd7", b"\xff\x01"],
                         ids=["stuffed-zero", "restart-0", "restart-7", "tem"])
def test_a_stuffed_zero_a_restart_marker_or_tem_is_passed_in_one_step_of_its_two_bytes(marker):
    """Stepped past a byte at a time, its second byte would be junk, a step more, before the next marker."""
    data = jpeg_bytes(Image.new("L", (16, 16)))
    assert fewest_steps(data[:2] + marker + data[2:]) == fewest_steps(data) + 1


def test_a_header_pillow_walks_in_few_steps_and_this_walk_in_many_is_left_to_pillow():
    """A JPGn marker (0xF0-0xFD) stands alone to Pillow and has a length to huffman_frame, which can land it inside
    an APP1 that Pillow skips whole: there it walks fill, a step a byte. Before its own bound, a 4 MiB file that
    Pillow's walk took in 400 steps held huffman_frame 0.7 s (a reviewer's measure). Past
    MAX_JPEG_HEADER_STEPS it stops undecided, and libjpeg, which refuses a JPGn marker, decides."""
    hidden = (b"\xff\xf0\x00\x10" + b"\xff\xe1\xff\xff" + b"\xff" * 65533) * 2
    data = bombs.jpeg_declaring(7000, 7000)
    data = data[:2] + hidden + data[2:]
    assert jpeg.pillow_header(data, 1000).first_scan is not None  # Pillow's walk: a few hundred steps
    assert jpeg.huffman_frame(data, 2 * 65533) is not None  # this walk: a step for each of the fill bytes
    check_jpeg_data(data)  # undecided at MAX_JPEG_HEADER_STEPS: not refused here
    with pytest.raises(UnsupportedMedia, match="cannot decode image"):
        render(data, parse_rendition("/320x/a.jpg"), Limits(50_000_000, 300))


def inserted(data: bytes, where: str, extra: bytes) -> bytes:
    at = {"after-start": 2, "before-frame": data.index(b"\xff\xc0"), "before-end": len(data) - 2}[where]
    return data[:at] + extra + data[at:]


# What libjpeg and Pillow both read past, wherever a marker may come.
SKIPPED = [
    ("junk-before-the-frame", "before-frame", b"\x00\x13"),
    ("stuffed-zero-after-the-start", "after-start", b"\xff\x00"),
    ("empty-comment-before-the-frame", "before-frame", b"\xff\xfe\x00\x00"),
    ("comment-of-length-1-before-the-end", "before-end", b"\xff\xfe\x00\x01"),
    ("one-fill-byte-before-the-frame", "before-frame", b"\xff"),
    ("stuffed-zero-before-the-frame", "before-frame", b"\xff\x00"),
    ("restart-0-before-the-frame", "before-frame", b"\xff\xd0"),
    ("restart-7-before-the-frame", "before-frame", b"\xff\xd7"),
    ("comment-holding-an-end-marker-after-the-start", "after-start", b"\xff\xfe\x00\x04\xff\xd9"),
    ("tem-before-the-end", "before-end", b"\xff\x01"),
    # Its last byte is the comment's, not a marker's 0xFF before the junk 0xD9, which would read as the image's end.
    ("comment-ending-in-0xff-then-junk-0xd9-before-the-frame", "before-frame", b"\xff\xfe\x00\x03\xff\xd9"),
    # Junk, then a comment of 256 bytes, whose length is both its bytes: by its low byte alone, 0x02, the end of
    # image inside would be the next marker.
    ("junk-then-a-long-comment-holding-an-end-marker-before-the-frame", "before-frame",
     b"\x00" + b"\xff\xfe\x01\x02\xff\xd9" + bytes(254)),
]


@pytest.mark.parametrize(("where", "extra"), [row[1:] for row in SKIPPED], ids=[row[0] for row in SKIPPED])
def test_what_libjpeg_skips_between_markers_is_skipped_here_too(where, extra):
    real = jpeg_bytes(Image.new("L", (16, 16), 77))
    assert decodes(inserted(real, where, extra))
    assert jpeg.huffman_frame(inserted(real, where, extra), STEPS).sampling == jpeg.huffman_frame(real, STEPS).sampling
    with pytest.raises(UnsupportedMedia, match="bytes that"):
        check_jpeg_data(inserted(bombs.jpeg_declaring(7000, 7000), where, extra))


SHORT = [
    ("declares-7000x7000-with-8x8-data", bombs.jpeg_declaring(7000, 7000)),
    ("scan-ended-after-1000-bytes", bombs.jpeg_scan_cut_short((2000, 1500), 1000)),
    # What follows the end-of-image marker is not the image's: padding, or an MPO's next picture.
    ("then-padding", bombs.jpeg_declaring(7000, 7000) + b"\0" * 400_000),
    ("then-a-whole-jpeg", bombs.jpeg_scan_cut_short((2000, 1500), 1000) + jpeg_bytes(Image.new("L", (2000, 1500)))),
]


@pytest.mark.parametrize("data", [row[1] for row in SHORT], ids=[row[0] for row in SHORT])
def test_coded_data_too_short_for_the_declared_size_is_refused(data):
    with pytest.raises(UnsupportedMedia, match="bytes that"):
        check_jpeg_data(data)


def test_a_scan_ended_past_the_floor_is_not_refused_and_decodes():
    """The limit of counting: the floor is far below what real data takes, and libjpeg does not complain."""
    data = bombs.jpeg_scan_cut_short((2000, 1500), 20_000)
    assert jpeg.too_short(data, STEPS) is None
    assert decodes(data)


SOI, SOS = b"\xff\xd8", b"\xff\xda\x00\x02"
EMPTY_COMMENT = b"\xff\xfe\x00\x02"


def steps_over(data: bytes, most: int) -> bool:
    """Whether Pillow's walk of the header takes more than `most` steps, as pillow_header counts them."""
    try:
        jpeg.pillow_header(data, most)
    except jpeg.HeaderTooLong:
        return True
    return False


@pytest.mark.parametrize(("header", "steps"), [
    (EMPTY_COMMENT * 5, 5 + 1),  # a step per marker, the scan's included
    (b"\xff\xe1\x00\x06abcd" * 5, 5 + 1),  # a segment's bytes are skipped in one
    (b"\x01" * 500, 500 + 1),  # junk: a step per byte
    (b"\xff" * 500, 500 + 1),  # fill: a step per 0xFF, then the scan
    (b"\xff\x00" * 5 + b"\xff\xd0" * 5 + b"\xff\xd9" + b"\xff\xf3", 10 + 2 + 1),  # taken without a length
    (b"\xff\xc8" * 5, 5 + 1),  # JPG, taken without a length too
    (b"\xff\xf0" * 2 + b"\xff\xfd" * 3, 5 + 1),  # JPG0 and JPG13, the first and last JPGn, as well
    (b"\xff\xef\x00\x06abcd" * 5, 5 + 1),  # APP15, the last application segment, skipped by its length
    (b"\xff\xc0\x00\x14\x08\x00\x01\x00\x01\x04" + bytes(12), 1 + 18 // 3 + 1),  # a frame header: a step per component
    (b"\xff\xde\x00\x14\x08\x00\x01\x00\x01\x04" + bytes(12), 1 + 18 // 3 + 1),  # DHP, read as one too
    (b"\xff\xc0\x00\x15\x08\x00\x01\x00\x01\x04" + bytes(13), 1 + 19 // 3),  # a part component: Pillow fails
    (b"\xff\xdb\x00\x84" + bytes(130), 1 + 130 + 1),  # quantization tables: a step per byte
    (b"\xff\xed\x00\x7a" + b"Photoshop 3.0\x00" + bytes(106), 1 + 120 // 12 + 1),  # a step per resource
    (b"\xff\xed\x00\x70" + b"Photoshop 3.0\x00" + bytes(96), 1 + 110 // 12 + 1),  # a resource's worth left over
    (b"\xff\xed\x00\x7a" + bytes(120), 1 + 1),  # not Photoshop's: not walked inside
    (b"\xff\xee\x00\x7a" + b"Photoshop 3.0\x00" + bytes(106), 1 + 1),  # Photoshop's, but in APP14: not walked either
], ids=["comments", "application-segments", "junk", "fill", "standalone", "jpg", "jpg0-and-13", "app15", "frame", "dhp",
        "frame-part-component", "quantization", "photoshop", "photoshop-part-resource", "other-app13",
        "photoshop-in-app14"])
def test_pillows_header_walk_is_counted_a_step_per_marker_and_per_byte_of_junk_or_fill(header, steps):
    """After a first comment: Pillow opens as a JPEG only what has a marker right after SOI."""
    data = SOI + EMPTY_COMMENT + header + SOS + b"\x00" * 64
    assert (steps_over(data, steps), steps_over(data, steps + 1)) == (
        True, False)


@pytest.mark.parametrize("code", [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xDE])
def test_every_code_pillow_reads_as_a_frame_header_is_counted_a_step_per_component(code):
    header = bytes([0xFF, code]) + b"\x00\x14\x08\x00\x01\x00\x01\x04" + bytes(12)  # 18 bytes inside: 6 steps of 3
    data = SOI + EMPTY_COMMENT + header + SOS + b"\x00" * 64
    assert (steps_over(data, 1 + 1 + 18 // 3), steps_over(data, 1 + 1 + 18 // 3 + 1)) == (True, False)


@pytest.mark.parametrize("data", [
    SOI + b"\xff\x01\x00\x02" + EMPTY_COMMENT * 50 + SOS,  # a code Pillow fails on: it walks no further
    SOI + SOS + EMPTY_COMMENT * 50,  # after the first scan, libjpeg reads on, not Pillow's walk
    EMPTY_COMMENT * 50,  # not a JPEG
    SOI + b"\x01" * 50 + SOS,  # junk right after SOI: not a JPEG to Pillow either
    SOI + EMPTY_COMMENT * 3 + b"\xff\xfe\x00",  # a length cut by the end of the file
])
def test_what_pillow_does_not_walk_is_not_counted(data):
    assert not steps_over(data, 10)


@pytest.mark.parametrize("flood", [EMPTY_COMMENT * 21, b"\xff" * 21, b"\xff\xe1\x00\x02" * 21,
                                   EMPTY_COMMENT + b"\x01" * 21])
def test_a_jpeg_whose_header_pillow_would_walk_too_long_is_too_large_before_it_opens(monkeypatch, pillow_opens, flood):
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_HEADER_STEPS", 20)
    data = encoded(Image.new("RGB", (8, 8)), "JPEG")
    with pytest.raises(SourceTooLarge, match="more than 20 markers"):
        render(data[:2] + flood + data[2:], parse_rendition("/4x/a.jpg"), Limits(50_000_000, 300))
    assert pillow_opens == []


def test_a_jpeg_whose_header_walk_is_at_the_limit_renders(monkeypatch):
    data = encoded(Image.new("RGB", (8, 8)), "JPEG")
    steps = next(n for n in range(10_000) if not steps_over(data, n))
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_HEADER_STEPS", steps + 5)
    rendered = render(data[:2] + EMPTY_COMMENT * 5 + data[2:], parse_rendition("/4x/a.jpg"), Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).size == (4, 4)


@pytest.mark.parametrize(("segments", "reaches"), [(9_999, False), (10_000, True)])
def test_coded_data_is_counted_past_no_more_segments_than_the_limit(segments, reaches):
    """Past the limit (10,000, as docs/SECURITY.md states) there is no verdict (True: not too short), rather than
    a walk on in Python."""
    data = EMPTY_COMMENT * segments + b"\xff\xd9"
    assert jpeg._coded_data_reaches(data, 0, 10) is reaches


def test_a_head_whose_walk_is_over_the_limit_is_too_large_before_pillow_opens_it(monkeypatch, pillow_opens):
    """The early pixel check reads the first pieces of an original as Pillow walks them: the same count goes first."""
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_HEADER_STEPS", 20)
    head = encoded(Image.new("RGB", (8, 8)), "JPEG")[:2] + EMPTY_COMMENT * 30
    with pytest.raises(SourceTooLarge, match="more than 20 markers"):
        edge.image.check_pixels_in_head(head, Limits(50_000_000, 300))
    assert pillow_opens == []


EMPTY_EXIF = b"Exif\x00\x00II*\x00" + struct.pack("<IHI", 8, 0, 0)  # a first directory of no tags


@pytest.mark.parametrize(("header", "exif"), [
    (app1(EMPTY_EXIF), EMPTY_EXIF),
    (app1(b"Exif\x00\x00one") + app1(b"http://ns.adobe.com/xap/1.0/\x00xmp") + app1(b"Exif\x00\x00two"),
     b"Exif\x00\x00onetwo"),  # Pillow appends a later segment's payload, and leaves XMP apart
    (app1(b"http://ns.adobe.com/xap/1.0/\x00xmp"), None),
    (b"\xff\xe2" + app1(EMPTY_EXIF)[2:] + b"\xff\xfe" + app1(EMPTY_EXIF)[2:], None),  # in APP2, in a comment: not Exif
    (EMPTY_COMMENT + SOS + app1(b"Exif\x00\x00after"), None),  # after the first scan: not Pillow's
])
def test_the_exif_is_gathered_as_pillow_gathers_it(header, exif):
    data = SOI + header + SOS
    assert (b"".join(jpeg.pillow_header(data, 10_000).exif) or None) == exif
    if exif is not None:
        assert Image.open(io.BytesIO(encoded(Image.new("RGB", (8, 8)), "JPEG")[:2] + header
                                     + encoded(Image.new("RGB", (8, 8)), "JPEG")[2:])).info["exif"] == exif


@pytest.mark.filterwarnings("ignore:Metadata Warning")  # Pillow's, on ten values where one is expected
@pytest.mark.parametrize("source", ["JPEG", "PNG", "WEBP", "AVIF"])
@pytest.mark.parametrize(("field_type", "count", "refused"), [(5, 11, True), (5, 10, False), (3, 11, True),
                                                                (7, 11, False)])
def test_exif_whose_first_directory_pillow_would_decode_too_long_is_too_large(monkeypatch, source, field_type,
                                                                                count, refused):
    monkeypatch.setattr(edge.image.checks, "MAX_EXIF_VALUES", 10)
    data = encoded(Image.new("RGB", (8, 8)), source, exif=exif_with(field_type, count))
    spec = parse_rendition(f"/4x/a.{source.lower()}")
    # Pillow decodes a JPEG's as it opens it, an AVIF's as it states irot and imir in it. A PNG's orientation is
    # read by tiff.orientation, which reads two directories at most; no browser turns a WebP by its Exif.
    if refused and source in ("JPEG", "AVIF"):
        with pytest.raises(SourceTooLarge, match="^Exif of a directory of more than 1000 entries, or of more than 10 "):
            render(data, spec, Limits(50_000_000, 300))
    else:
        assert Image.open(io.BytesIO(render(data, spec, Limits(50_000_000, 300)).body)).size == (4, 4)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's, as it reads the entries there are
def test_a_jpeg_whose_exif_counts_more_entries_than_it_holds_is_shown():
    """Its first directory pointed at its own header, whose byte order reads as 18,761 entries: Chromium 156 shows
    the picture, upright (a helper's measure), and Pillow reads the two entries there are. It was a 413."""
    exif = b"Exif\0\0" + exif_directories([(0x0112, 3, 1, 6)], order="<", first_at=0)
    data = encoded(gradient((20, 10)), "JPEG", exif=exif)
    assert Image.open(io.BytesIO(render(data, parse_rendition("/8x,png/a.jpg"), Limits(50_000_000, 300)).body)).size \
        == (8, 4)


def test_a_jpegs_exif_is_checked_before_pillow_opens_it(monkeypatch, pillow_opens):
    """Pillow decodes a JPEG's Exif as it opens it, for a resolution."""
    monkeypatch.setattr(edge.image.checks, "MAX_EXIF_VALUES", 10)
    data = encoded(Image.new("RGB", (8, 8)), "JPEG", exif=exif_with(5, 11))
    with pytest.raises(SourceTooLarge, match="^Exif of a directory of more than 1000 entries, or of more than 10 "):
        render(data, parse_rendition("/4x/a.jpg"), Limits(50_000_000, 300))
    assert pillow_opens == []


def with_exif_segments(count: int) -> bytes:
    photo = encoded(Image.new("RGB", (8, 8)), "JPEG")
    return photo[:2] + app1(EMPTY_EXIF) + app1(b"Exif\x00\x00" + bytes(4)) * (count - 1) + photo[2:]


def test_a_jpeg_of_as_many_exif_segments_as_the_limit_renders(monkeypatch):
    monkeypatch.setattr(edge.image.checks, "MAX_EXIF_SEGMENTS", 2)
    rendered = render(with_exif_segments(2), parse_rendition("/4x/a.jpg"), Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).size == (4, 4)


@pytest.mark.parametrize(("after", "ends"), [(b"", False), (b"\xff\x02", False), (b"\xff\xc0\x00\x0b\x0c", False),
                                           (b"\xff\xfe\x00\x09", True)],
                         ids=["then-the-frame", "then-a-code-pillow-fails-on", "then-12-bit-samples", "then-cut"])
def test_a_jpeg_of_more_exif_segments_than_the_limit_is_too_large_before_pillow_opens_it(monkeypatch, pillow_opens,
                                                                                          after, ends):
    """Pillow grows one bytes object by each Exif segment in turn (640 of 64 KB took it 2.4 s), also when it
    fails on what follows them: a code it does not know, a frame it cannot read, the file's end."""
    monkeypatch.setattr(edge.image.checks, "MAX_EXIF_SEGMENTS", 2)
    photo = with_exif_segments(3)
    tables = photo.index(b"\xff\xdb")
    data = photo[:tables] + after + (b"" if ends else photo[tables:])
    with pytest.raises(SourceTooLarge, match="JPEG of more than 2 Exif segments"):
        render(data, parse_rendition("/4x/a.jpg"), Limits(50_000_000, 300))
    assert pillow_opens == []


def pillows_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            return image.size
    except Exception:  # noqa: BLE001 - a header cut short fails in as many ways as Pillow has
        return None


def frame_patched(data: bytes, offset: int, value: bytes) -> bytes:
    """data with `value` written `offset` bytes into its baseline frame header's payload."""
    at = data.index(b"\xff\xc0") + 4 + offset
    return data[:at] + value + data[at + len(value):]


PHOTO = jpeg_bytes(gradient((40, 30)), exif=EMPTY_EXIF, icc_profile=bytes(200), comment=b"hi")
OTHER_FRAME = b"\xff\xc0\x00\x11\x08\x00\x07\x00\x09\x03" + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"  # 9 x 7
SIZED_HEADS = {
    "baseline-with-exif-icc-and-comment": PHOTO,
    "progressive-grey": jpeg_bytes(gradient((33, 17)).convert("L"), progressive=True),
    "cmyk": jpeg_bytes(gradient((20, 12)).convert("CMYK")),
    "12-bit-samples": frame_patched(PHOTO, 0, b"\x0c"),
    "2-layers": frame_patched(PHOTO, 5, b"\x02"),
    "no-width": frame_patched(PHOTO, 3, b"\x00\x00"),
    "no-height": frame_patched(PHOTO, 1, b"\x00\x00"),
    "a-component-cut": frame_patched(PHOTO, -2, b"\x00\x10"),  # a length one byte short of the last component
    "3-bytes-inside": frame_patched(PHOTO, -2, b"\x00\x05"),  # a length that ends before the width
    "two-frame-headers": inserted(PHOTO, "before-frame", OTHER_FRAME),
    "the-second-frame-header-without-width": inserted(frame_patched(PHOTO, 3, b"\x00\x00"), "after-start", OTHER_FRAME),
    "hierarchical-progression-after-the-frame": PHOTO.replace(b"\xff\xc4", OTHER_FRAME.replace(b"\xc0", b"\xde", 1)
                                                              + b"\xff\xc4", 1),
    "reserved-code": inserted(PHOTO, "before-frame", b"\xff\x02"),
    "reserved-code-after-the-frame": PHOTO.replace(b"\xff\xc4", b"\xff\x02\xff\xc4", 1),
    # 0xBF, the highest code Pillow fails on: past it, 0xC0 is a frame header
    "code-0xbf-after-the-frame": PHOTO.replace(b"\xff\xc4", b"\xff\xbf\xff\xc4", 1),
    # a length of 8: its precision, height, width and layer count, and no component after them, which Pillow opens
    # (the components' bytes then junk that it skips)
    "frame-header-of-no-component": frame_patched(PHOTO, -2, b"\x00\x08"),
    # a scan header of no count, the file's last bytes: whole, so Pillow opens it (libjpeg fails on it later)
    "scan-header-of-length-2-at-the-end": SOI + GREY_16X16_FRAME + SOS,
    **{name: inserted(PHOTO, where, extra) for name, where, extra in SKIPPED if where != "before-end"},
}


@pytest.mark.parametrize("data", SIZED_HEADS.values(), ids=SIZED_HEADS.keys())
def test_the_size_is_read_from_every_head_as_pillow_reads_it(data):
    """Each of the first bytes of a JPEG, up to its first scan and past it, as the early pixel check gets them."""
    for length in range(3, first_scan_data(data) + 8):
        assert jpeg.pillow_header(data[:length], 10_000).size == pillows_size(data[:length]), length
    assert jpeg.pillow_header(data, 10_000).size == pillows_size(data)


def test_a_heads_size_is_read_without_pillow(pillow_opens):
    assert edge.image.checks.declared_size(PHOTO[:first_scan_data(PHOTO)]) == (40, 30)
    assert pillow_opens == []


PROGRESSIVE = jpeg_bytes(gradient((48, 32)), progressive=True)
BASELINE = jpeg_bytes(gradient((48, 32)))
ARITHMETIC_SEQUENTIAL = BASELINE.replace(b"\xff\xc0", b"\xff\xc9", 1)


def scans_of(data: bytes) -> list[int] | None:
    return jpeg.scans(data, jpeg.pillow_header(data, 10_000))


def with_extra_scan(data: bytes, before_end: bytes = b"") -> bytes:
    """data with its last scan, header and coded data, repeated before its end-of-image marker, after `before_end`."""
    last = data.rindex(b"\xff\xda")
    return data[:-2] + before_end + data[last:-2] + data[-2:]


def components_by_scan(data: bytes, scans: int) -> list[int]:
    """The oracle: the component count of each of the first `scans` scan headers, found by their marker."""
    found, at = [], data.find(b"\xff\xda")
    while at >= 0 and len(found) < scans:
        found.append(data[at + 4])
        at = data.find(b"\xff\xda", at + 2)
    return found


SCANS = PROGRESSIVE.count(b"\xff\xda")


def first_scan_of_one_component(data: bytes) -> bytes:
    """A sequential file whose first scan holds only the first of its three components (the coded data left as it
    is): libjpeg reads all such a file's scans, as a progressive one's."""
    sos = data.index(b"\xff\xda")
    return data[:sos] + b"\xff\xda\x00\x08\x01" + data[sos + 5:sos + 7] + b"\x00\x3f\x00" + data[sos + 14:]


def with_frame_header_twice(data: bytes, code: int = 0xC0) -> bytes:
    """data with a copy of its sequential frame header, coded `code`, before its first scan."""
    sof = data.index(b"\xff\xc0") if b"\xff\xc0" in data else data.index(b"\xff\xc9")
    sos = data.index(b"\xff\xda")
    copy = bytes([0xFF, code]) + data[sof + 2:sof + 2 + struct.unpack_from(">H", data, sof + 2)[0]]
    return data[:sos] + copy + data[sos:]


SPLIT = first_scan_of_one_component(BASELINE)
GREY = jpeg_bytes(gradient((48, 32)).convert("L"))


@pytest.mark.parametrize(("data", "count"), [
    (BASELINE, 1),
    (with_extra_scan(BASELINE), 1),  # libjpeg fails on the second instead of decoding it
    (with_extra_scan(GREY), 1),
    (with_extra_scan(ARITHMETIC_SEQUENTIAL), 1),
    (with_extra_scan(BASELINE.replace(b"\xff\xc0", b"\xff\xc1", 1)), 1),  # extended sequential: one pass too
    (with_extra_scan(SPLIT), 2),
    (with_extra_scan(with_frame_header_twice(BASELINE)), 2),
    (with_extra_scan(BASELINE.replace(b"\xff\xc0", b"\xff\xc3", 1)), 2),  # lossless
    (PROGRESSIVE, SCANS),
    (with_extra_scan(PROGRESSIVE), SCANS + 1),
    (with_extra_scan(PROGRESSIVE, EMPTY_COMMENT + b"\xff\xff" + b"\xff\x01"), SCANS + 1),
    (PROGRESSIVE + PROGRESSIVE, SCANS),  # what follows the end-of-image marker is not read
    (with_extra_scan(PROGRESSIVE)[:-2], SCANS + 1),  # no end-of-image marker
    (with_extra_scan(PROGRESSIVE, b"\xff\x02"), SCANS),  # a reserved code: libjpeg stops
    (PROGRESSIVE[:PROGRESSIVE.rindex(b"\xff\xda") + 5], SCANS - 1),  # its last header cut
], ids=["baseline", "baseline-a-scan-more", "grey-a-scan-more", "arithmetic-a-scan-more", "extended-a-scan-more",
        "first-of-one-component", "two-frame-headers", "lossless", "progressive", "a-scan-more",
        "after-a-comment-fill-and-tem", "two-files", "no-end", "reserved-code", "last-header-cut"])
def test_the_scans_are_counted_as_libjpeg_reads_them(data, count):
    """Each with its components: 3 in a baseline file's one scan; 3 or 1 in a progressive one's. A sequential frame's
    first scan of all its components is the only one libjpeg decodes; where another frame header, or a scan of fewer
    components, may make more, they are walked."""
    assert SCANS > 2 and components_by_scan(BASELINE, 1) == [3] and components_by_scan(SPLIT, 1) == [1]
    assert scans_of(data) == components_by_scan(data, count)


@pytest.mark.parametrize(("header", "count"), [(b"\x00\x00", 0), (b"\x00\x01", 0), (b"\x00\x02", 0),
                                               (b"\x00\x03\x02", 2)],
                         ids=["length-0", "length-1", "length-2", "length-3"])
def test_a_later_scan_header_too_short_for_its_count_counts_no_component(header, count):
    """A length of 2 or less (read as 2) ends the header before its count: the byte after it, 0x03, is coded data,
    and libjpeg fails on such a header, decoding nothing. A length of 3 holds the count and nothing more."""
    data = PROGRESSIVE[:-2] + b"\xff\xda" + header + b"\x03" + b"\xff\xd9"
    assert scans_of(data) == components_by_scan(PROGRESSIVE, SCANS) + [count]


@pytest.mark.parametrize(("header", "alone"), [(b"\xff\xda\x00\x03\x01", True), (b"\xff\xda\x00\x02\x01", False)],
                         ids=["length-3", "length-2"])
def test_the_first_scans_count_is_read_where_its_header_holds_it(header, alone):
    """A grey baseline frame's first scan of its one component is decoded alone: its count is the byte after the
    length where the length takes it in, and no count where it does not (the 0x01 after it is coded data). Both
    headers are too short for libjpeg, which fails on them: this pins what is read, not what is decoded."""
    assert jpeg.pillow_header(SOI + GREY_16X16_FRAME + header, 10_000).first_scan_alone is alone


@pytest.mark.parametrize(("segments", "counted"), [(3, True), (2, False)])
def test_scans_are_counted_past_no_more_segments_than_the_limit(monkeypatch, segments, counted):
    """A split file's scan header, then its end-of-image marker: segments after its first scan past the limit
    give no count."""
    monkeypatch.setattr(jpeg, "MOST_SEGMENTS_BETWEEN_SCANS", segments)
    data = with_extra_scan(SPLIT, EMPTY_COMMENT)
    assert scans_of(data) == ([1, 1] if counted else None)


def test_a_baseline_jpeg_of_more_scans_than_the_limit_is_not_decoded_past_its_first(monkeypatch):
    """Not refused as too large: libjpeg stops at its second scan, which Pillow reports as broken data."""
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_SCANS", 10)
    data = BASELINE
    for _ in range(10):
        data = with_extra_scan(data)
    with pytest.raises(UnsupportedMedia, match="broken data stream"):
        render(data, parse_rendition("/24x/a.jpg"), Limits(50_000_000, 300))


def test_a_jpeg_of_as_many_scans_as_the_limit_renders(monkeypatch):
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_SCANS", PROGRESSIVE.count(b"\xff\xda"))
    assert Image.open(io.BytesIO(render(PROGRESSIVE, parse_rendition("/24x/a.jpg"), Limits(50_000_000, 300)).body)
                      ).size == (24, 16)


@pytest.mark.parametrize(("limit", "refusal"), [("MAX_JPEG_SCANS", "more than 10 scans"),
                                                ("MOST_SEGMENTS_BETWEEN_SCANS", "more than 10 segments after")])
def test_a_jpeg_past_a_scan_limit_is_too_large_before_pillow_opens_it(monkeypatch, pillow_opens, limit, refusal):
    data = PROGRESSIVE
    while len(scans_of(data)) < 11:
        data = with_extra_scan(data)
    monkeypatch.setattr(edge.image.checks if limit.startswith("MAX") else jpeg, limit, 10)
    with pytest.raises(SourceTooLarge, match=refusal):
        render(data, parse_rendition("/24x/a.jpg"), Limits(50_000_000, 300))
    assert pillow_opens == []


@pytest.mark.parametrize("where", ["exif", "gps", "interop"])
def test_exif_whose_exif_gps_or_interop_directory_pillow_may_decode_too_long_is_too_large(monkeypatch, where):
    """Pillow decodes them whole where it rewrites Exif (an AVIF's) or loads a TIFF; held to the same limits."""
    monkeypatch.setattr(edge.image.checks, "MAX_EXIF_VALUES", 10)
    directories = {where: [(1000, 5, 11)], **({"exif": [(1001, 3, 1)]} if where == "interop" else {})}
    exif = b"Exif\x00\x00" + tiff_pointing([(0x0112, 3, 1)], **directories, order=">")
    with pytest.raises(SourceTooLarge, match="^Exif of a directory of more than 1000 entries, or of more than 10 "):
        render(encoded(Image.new("RGB", (8, 8)), "JPEG", exif=exif), parse_rendition("/4x/a.jpg"),
               Limits(50_000_000, 300))


ARITHMETIC = PROGRESSIVE.replace(b"\xff\xc2", b"\xff\xca", 1)  # its frame header's code: arithmetic-coded progressive


@pytest.mark.parametrize(("data", "arithmetic"), [
    (PROGRESSIVE, False), (BASELINE, False), (ARITHMETIC, True), (ARITHMETIC_SEQUENTIAL, True),
    (with_frame_header_twice(ARITHMETIC_SEQUENTIAL), False),  # told by the last, which Pillow takes
    (with_frame_header_twice(BASELINE, 0xC9), True),
], ids=["progressive", "baseline", "arithmetic", "arithmetic-sequential", "arithmetic-then-not", "not-then-arithmetic"])
def test_an_arithmetic_coded_frame_is_told(data, arithmetic):
    assert jpeg.pillow_header(data, 10_000).arithmetic is arithmetic


@pytest.mark.parametrize(("data", "weight", "refused"), [(PROGRESSIVE, 1, False), (PROGRESSIVE, 1, True),
                                                         (ARITHMETIC, 4, False), (ARITHMETIC, 4, True)],
                         ids=["at-the-limit", "a-pixel-more", "arithmetic-at-the-limit", "arithmetic-a-pixel-more"])
def test_the_pixels_of_components_all_scans_decode_are_held_to_the_limit(monkeypatch, pillow_opens, data, weight,
                                                                          refused):
    """48 x 32 pixels times the components of each scan, four times that arithmetic-coded."""
    work = 48 * 32 * sum(scans_of(data)) * weight
    monkeypatch.setattr(edge.image.checks, "MAX_JPEG_SCAN_PIXELS", work - refused)
    if refused:
        with pytest.raises(SourceTooLarge, match="JPEG whose scans decode more than"):
            render(data, parse_rendition("/24x/a.jpg"), Limits(50_000_000, 300))
        assert pillow_opens == []
    else:
        edge.image.checks.check_what_pillow_walks(data, Limits(50_000_000, 300))


@pytest.mark.parametrize(("data", "found"), [
    (BASELINE, (1, False)),
    (PROGRESSIVE, (SCANS, False)),
    (ARITHMETIC, (SCANS, True)),
    (ARITHMETIC_SEQUENTIAL, (1, True)),
    (with_extra_scan(BASELINE, b"\xff\xfe\x00\x04\xff\xc9"), (2, False)),  # after the first scan: no frame header
    (BASELINE[:BASELINE.index(b"\xff\xda")] + b"\xff\xfe\x00\x04\xff\xda" + BASELINE[BASELINE.index(b"\xff\xda"):],
     (2, False)),  # the scan marker's bytes in a comment count too
])
def test_the_most_scans_of_a_stream_and_whether_arithmetic_coded_are_found_in_its_bytes(data, found):
    assert jpeg.most_scans(data, 0, len(data)) == found
    assert jpeg.most_scans(PROGRESSIVE + data + ARITHMETIC, len(PROGRESSIVE), len(PROGRESSIVE) + len(data)) == found


@pytest.mark.parametrize("code", [0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF])
def test_every_arithmetic_coded_frame_is_told_from_its_bytes(code):
    data = BASELINE.replace(b"\xff\xc0", bytes([0xFF, code]), 1)
    assert jpeg.most_scans(data, 0, len(data)) == (1, True)


@pytest.mark.parametrize(("prefixes", "refused"), [(1, True), (2, True), (3, False)])
def test_exif_is_checked_past_the_header_pillow_takes_off_twice(monkeypatch, prefixes, refused):
    """Pillow takes "Exif\\0\\0" off as it reads a file and again in getexif(): a reviewer's doubled header hid 40 MB
    of Exif from a check that took it off once. Under a third, Pillow reads no Exif."""
    monkeypatch.setattr(edge.image.checks, "MAX_EXIF_VALUES", 10)
    exif = b"Exif\x00\x00" * (prefixes - 1) + exif_with(5, 11)
    if refused:
        with pytest.raises(SourceTooLarge, match="^Exif of a directory of more than 1000 entries, or of more than 10 "):
            edge.image.checks.check_exif(exif)
    else:
        edge.image.checks.check_exif(exif)


# --- its ICC profile, as Chromium puts it together ------------------------------

def icc_segment(number: int, count: int, piece: bytes) -> bytes:
    payload = b"ICC_PROFILE\0" + bytes([number, count]) + piece
    return b"\xff\xe2" + struct.pack(">H", len(payload) + 2) + payload


def in_thirds(profile: bytes) -> list[bytes]:
    third = len(profile) // 3 + 1
    return [profile[at:at + third] for at in range(0, len(profile), third)]


P3_THIRDS = in_thirds(DISPLAY_P3)


# As Chromium 156 reads each (a helper's measure): Skia's rules, which differ from libjpeg's.
@pytest.mark.parametrize(("segments", "whole"), [
    ([(1, 1, DISPLAY_P3)], True),
    ([(1, 3, P3_THIRDS[0]), (2, 3, P3_THIRDS[1]), (3, 3, P3_THIRDS[2])], True),
    ([(3, 3, P3_THIRDS[2]), (1, 3, P3_THIRDS[0]), (2, 3, P3_THIRDS[1])], True),  # in any order
    ([(1, 1, b""), (1, 1, DISPLAY_P3)], True),  # a segment of no piece is passed over
    ([(1, 2, DISPLAY_P3[:1]), (2, 2, DISPLAY_P3[1:])], True),  # nor is one of a byte
    ([(0, 0, b""), (1, 1, DISPLAY_P3)], True),
    ([(1, 1, DISPLAY_P3), (1, 1, DISPLAY_P3)], True),  # found whole before the second
    ([(1, 1, DISPLAY_P3), (5, 3, b"junk")], True),
    ([(1, 2, DISPLAY_P3), (2, 2, b"")], False),  # the second passed over: one missing
    ([(1, 3, P3_THIRDS[0]), (3, 3, P3_THIRDS[2])], False),  # one missing
    ([(1, 2, DISPLAY_P3), (1, 2, b"junk"), (2, 2, b"")], False),  # a number twice before all are found
    ([(1, 2, P3_THIRDS[0]), (2, 3, P3_THIRDS[1])], False),  # counts that disagree
    ([(1, 3, P3_THIRDS[0]), (2, 2, P3_THIRDS[1] + P3_THIRDS[2])], False),  # the later count would be met
    ([(1, 3, P3_THIRDS[0]), (1, 3, P3_THIRDS[0]), (2, 3, P3_THIRDS[1]), (3, 3, P3_THIRDS[2])], False),  # a same twice
    ([(0, 1, DISPLAY_P3)], False),  # a number of 0
    ([(2, 1, DISPLAY_P3)], False),  # past the count
    ([(1, 0, DISPLAY_P3)], False),  # a count of 0
])
def test_the_icc_profile_is_put_together_as_chromium_does(segments, whole):
    data = b"".join(icc_segment(*segment) for segment in segments)
    spans, at = [], 0
    for number, count, piece in segments:
        spans.append((at + 4 + len(b"ICC_PROFILE\0"), at + len(icc_segment(number, count, piece))))
        at += len(icc_segment(number, count, piece))
    assert jpeg.icc_profile(data, spans) == (DISPLAY_P3 if whole else None)


def test_an_icc_segment_between_the_frame_header_and_the_scan_is_read():
    """libjpeg reads every marker before the scan; Pillow only those before the frame header (a helper's
    measure: Chromium 156 shows such a P3 photo in P3, where it came out desaturated)."""
    photo = encoded(Image.new("RGB", (8, 8), (200, 100, 50)), "JPEG", quality=95)
    scan = photo.index(b"\xff\xda")
    data = photo[:scan] + icc_segment(1, 1, DISPLAY_P3) + photo[scan:]
    assert jpeg.icc_profile(data, jpeg.pillow_header(data, 10_000).icc) == DISPLAY_P3
    rendered = Image.open(io.BytesIO(render(data, parse_rendition("/8x,png/a.jpg"), Limits(50_000_000, 300)).body))
    assert rendered.info["icc_profile"] == DISPLAY_P3


@pytest.mark.parametrize("stub", [b"ICC_PROFILE\0", b"ICC_PROFILE\0\x01"])  # no number, or no count
@pytest.mark.parametrize("before_the_frame_header", [True, False])
def test_an_icc_segment_too_short_to_number_itself_is_passed_over(stub, before_the_frame_header):
    """As Chromium 156 passes over it (by hand), beside a whole profile's segment. Pillow indexed past its end
    as it read the frame header, and failed to open a file with one before that header: a 415."""
    photo = encoded(gradient((20, 10)), "JPEG")
    at = 2 if before_the_frame_header else photo.index(b"\xff\xda")
    with_profile = photo[:at] + icc_segment(1, 1, DISPLAY_P3) + photo[at:]
    with_stub = with_profile[:at] + b"\xff\xe2" + struct.pack(">H", len(stub) + 2) + stub + with_profile[at:]
    assert jpeg.pillow_header(with_stub, 10_000).icc_stubs == [at + 4]
    rendition = parse_rendition("/8x,png/a.jpg")
    rendered = render(with_stub, rendition, Limits(50_000_000, 300)).body
    assert rendered == render(with_profile, rendition, Limits(50_000_000, 300)).body
    assert Image.open(io.BytesIO(rendered)).info["icc_profile"] == DISPLAY_P3


def test_an_icc_segment_of_a_number_and_a_count_but_no_piece_is_not_a_stub():
    """Pillow reads its number and count, and opens the file: it is left in the profile's segments, where
    icc_profile passes over it as Chromium does, not renamed."""
    photo = encoded(gradient((20, 10)), "JPEG")
    data = photo[:2] + icc_segment(1, 1, b"") + photo[2:]
    header = jpeg.pillow_header(data, 10_000)
    assert (header.icc, header.icc_stubs) == ([(2 + 4 + len(b"ICC_PROFILE\0"), 2 + 4 + 14)], [])
    assert jpeg.icc_profile(data, header.icc) is None
    assert Image.open(io.BytesIO(data)).size == (20, 10)


def test_an_icc_profile_in_a_segment_other_than_app2_is_not_read():
    """Pillow reads ICC segments only as APP2: the same bytes in APP3 or a comment are not the profile's."""
    photo = encoded(gradient((20, 10)), "JPEG")
    for marker in (b"\xff\xe3", b"\xff\xfe"):
        data = photo[:2] + marker + icc_segment(1, 1, DISPLAY_P3)[2:] + photo[2:]
        assert jpeg.pillow_header(data, 10_000).icc == []
        assert "icc_profile" not in Image.open(io.BytesIO(data)).info


def test_an_application_segment_is_an_icc_one_only_by_its_own_bytes():
    """An APP2 of "ICC_P", then junk that goes on as "ROFILE\\0": Pillow reads no ICC segment, nor does the walk."""
    photo = encoded(gradient((20, 10)), "JPEG")
    data = photo[:2] + b"\xff\xe2\x00\x07ICC_PROFILE\x00\x01" + photo[2:]
    assert jpeg.pillow_header(data, 10_000).icc_stubs == []
    assert Image.open(io.BytesIO(data)).size == (20, 10)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_lossless_jpeg_renders_at_every_size(mode):
    """libjpeg cannot decode it at a reduced scale: it failed there (a 415 at 20 px, where 50 px rendered)."""
    source = gradient((200, 120)).convert(mode)
    data = lossless_jpeg(source)
    for width in (200, 50, 20):
        rendered = Image.open(io.BytesIO(render(data, parse_rendition(f"/{width}x,png/a.jpg"),
                                                Limits(50_000_000, 300)).body))
        expected = source.resize(rendered.size, Image.Resampling.LANCZOS)
        assert rendered.size == (width, width * 3 // 5) and largest_difference(rendered, expected) <= 2


def test_an_mpos_icc_profile_is_put_together_as_a_jpegs():
    """Pillow names a phone's JPEG of extra pictures MPO: its segments are read as a JPEG's, those after the
    frame header too, which Pillow leaves out."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 100, 50)).save(buffer, "MPO", save_all=True,
                                                  append_images=[Image.new("RGB", (8, 8))])
    scan = buffer.getvalue().index(b"\xff\xda")
    data = buffer.getvalue()[:scan] + icc_segment(1, 1, DISPLAY_P3) + buffer.getvalue()[scan:]
    assert Image.open(io.BytesIO(data)).format == "MPO" and "icc_profile" not in Image.open(io.BytesIO(data)).info
    rendered = render(data, parse_rendition("/8x,png/a.jpg"), Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).info["icc_profile"] == DISPLAY_P3


def test_a_streams_frame_size_is_read_within_its_bounds():
    """As a TIFF's strip or tile: from its start of image, and only up to its end."""
    first, second = jpeg_bytes(Image.new("L", (16, 8))), jpeg_bytes(Image.new("RGB", (24, 40)), progressive=True)
    data = b"junk" + first + second
    assert jpeg.frame_size(data, 4, 4 + len(first), STEPS) == (16, 8)
    assert jpeg.frame_size(data, 4 + len(first), len(data) + 100, STEPS) == (24, 40)
    assert jpeg.frame_size(data, 4, data.index(b"\xff\xc0") + 8, STEPS) is None  # its frame header cut by the end
    assert jpeg.frame_size(data, 0, len(data), STEPS) is None  # no start of image where it starts


def test_a_stream_without_its_start_of_image_declares_no_size():
    """libjpeg fails on a stream whose first marker is not SOI, however well formed the frame header after it."""
    data = jpeg_bytes(Image.new("L", (16, 8)))
    for unstarted in (b"\x00\x00" + data[2:], b"\xff\xd9" + data[2:]):
        assert jpeg.frame_size(unstarted, 0, len(unstarted), STEPS) is None
    assert jpeg.frame_size(data, 0, 1, STEPS) is None  # its SOI cut by the stream's end


def test_tem_before_the_frame_header_is_passed_over_as_libjpeg_passes_it():
    """It has no length, as a restart marker; Pillow fails on it, a code below 0xC0."""
    real = jpeg_bytes(Image.new("L", (16, 8)))
    walked = inserted(real, "before-frame", b"\xff\x01")
    assert jpeg.huffman_frame(walked, STEPS).data_offset == jpeg.huffman_frame(real, STEPS).data_offset + 2
    assert jpeg.frame_size(walked, 0, len(walked), STEPS) == (16, 8)
    assert jpeg.pillow_header(walked, 10_000).size is None


@pytest.mark.parametrize(("where", "extra"), [row[1:] for row in SKIPPED if row[1] != "before-end"],
                         ids=[row[0] for row in SKIPPED if row[1] != "before-end"])
def test_what_libjpeg_skips_before_a_streams_frame_header_is_skipped_there_too(where, extra):
    """Restart markers and TEM have no length: the two bytes after one are the next marker's."""
    walked = inserted(jpeg_bytes(Image.new("L", (16, 8))), where, extra)
    assert jpeg.frame_size(walked, 0, len(walked), STEPS) == (16, 8)


# What libjpeg reads or skips by its length before a frame header, each as short as it takes it (DNL's and DRI's two
# bytes): every such code but the application segments', of which the first and last.
LENGTHED = [
    ("dht", b"\xff\xc4\x00\x02"),
    ("dac", b"\xff\xcc\x00\x02"),
    ("dqt", b"\xff\xdb\x00\x02"),
    ("dnl", b"\xff\xdc\x00\x04\x00\x08"),
    ("dri", b"\xff\xdd\x00\x04\x00\x00"),
    ("app0", b"\xff\xe0\x00\x02"),
    ("app15", b"\xff\xef\x00\x02"),
    ("com", b"\xff\xfe\x00\x02"),
]


@pytest.mark.parametrize("segment", [row[1] for row in LENGTHED], ids=[row[0] for row in LENGTHED])
def test_a_segment_libjpeg_skips_by_its_length_before_a_streams_frame_header_leaves_its_size(segment):
    walked = inserted(jpeg_bytes(Image.new("L", (16, 8))), "after-start", segment)
    assert decodes(walked)
    assert jpeg.frame_size(walked, 0, len(walked), STEPS) == (16, 8)


# DHP, EXP and JPG0, next to codes of segments libjpeg skips (DRI, APP0, APP15), and JPG13, the last JPGn.
@pytest.mark.parametrize("code", [0xD8, 0xD9, 0xDA, 0x02, 0xC8, 0xDE, 0xDF, 0xF0, 0xFD],
                         ids=["soi", "eoi", "sos", "reserved", "jpg", "dhp", "exp", "jpg0", "jpg13"])
def test_a_code_libjpeg_fails_on_before_a_streams_frame_header_leaves_no_size(code):
    """Even with a length after it that would skip it to the frame header."""
    walked = inserted(jpeg_bytes(Image.new("L", (16, 8))), "after-start", bytes([0xFF, code]) + b"\x00\x02")
    assert jpeg.frame_size(walked, 0, len(walked), STEPS) is None


def test_a_streams_frame_header_is_read_down_to_its_width_and_no_shorter():
    """Length 7 holds its precision, height and width, and may end right at the stream's end; 6 does not hold its
    width: libjpeg fails."""
    header = b"\xff\xc0\x00\x07\x08\x00\x08\x00\x10"
    assert jpeg.frame_size(SOI + header, 0, 11, STEPS) == (16, 8)
    assert jpeg.frame_size(SOI + header.replace(b"\x07", b"\x06", 1), 0, 11, STEPS) is None


@pytest.mark.parametrize("code", [0xC3, 0xC5, 0xC9, 0xCA, 0xCF], ids=["lossless", "differential", "arithmetic",
                                                                       "arithmetic-progressive", "last"])
def test_a_streams_frame_header_of_any_coding_declares_its_size(code):
    """libjpeg reads the size of every kind of frame header, those it cannot decode too."""
    header = GREY_16X16_FRAME.replace(b"\xc0", bytes([code]), 1)
    assert jpeg.frame_size(SOI + header, 0, len(SOI + header), STEPS) == (16, 16)


def test_junk_before_a_streams_frame_header_is_skipped_whatever_its_bytes():
    """0xFE D8 is junk, not a second start of image: only 0xFF begins a marker."""
    data = SOI + b"\xfe\xd8" + GREY_16X16_FRAME
    assert jpeg.frame_size(data, 0, len(data), STEPS) == (16, 16)


def test_a_stream_of_three_bytes_after_its_start_declares_no_size():
    """Too short for a marker and its length: None, not an error reading past the end."""
    assert jpeg.frame_size(SOI + b"\xff\xd0\x00", 0, 5, STEPS) is None


@pytest.mark.parametrize("marker", [b"\xff\xd0", b"\xff\x01"], ids=["restart", "tem"])
def test_a_stream_that_ends_in_a_marker_without_a_length_declares_no_size(marker):
    """Its end reached before a frame header: None, not an error reading past it."""
    assert jpeg.frame_size(SOI + marker, 0, 4, STEPS) is None
    assert jpeg.frame_size(SOI + marker + GREY_16X16_FRAME, 0, 4, STEPS) is None  # the frame header past its end


def test_a_streams_frame_header_is_sought_a_marker_a_step_a_run_of_junk_with_the_marker_after_it():
    data = jpeg_bytes(Image.new("L", (16, 8)))  # its frame header after JFIF's segment and a quantization table
    junk = data[:2] + b"\x00" * 100 + b"\xff" * 100 + data[2:]
    for walked in (data, junk):
        assert jpeg.frame_size(walked, 0, len(walked), 3) == (16, 8)
        assert jpeg.frame_size(walked, 0, len(walked), 2) is None


def test_a_streams_first_frame_header_is_read():
    """libjpeg decodes the first, and fails on a second, where Pillow's walk takes the last."""
    data = jpeg_bytes(Image.new("L", (16, 8)))
    declaring = bombs.jpeg_declaring(7000, 7000)
    frame = declaring[declaring.index(b"\xff\xc0"):declaring.index(b"\xff\xc4")]
    assert jpeg.frame_size(data[:2] + frame + data[2:], 0, len(data) + len(frame), STEPS) == (7000, 7000)


def test_a_long_run_of_fill_bytes_is_passed_in_time_linear_in_its_length():
    """A run of 0xFF that ends in a stuffed zero is junk, and libjpeg passes it in one go: so does the walk. Sought
    as the run's first 0xFF, it was retried from each, 50,000 of them after a start of image 18 s, 100,000 71 s."""
    data = jpeg_bytes(Image.new("L", (16, 8)))
    for fill in (b"\xff" * 50_000 + b"\x00", b"\xff" * 50_000 + b"\x00" + b"\xff" * 50_000):
        started = time.process_time()  # CPU time, which a loaded machine does not stretch
        assert jpeg.frame_size(data[:2] + fill, 0, len(fill) + 2, STEPS) is None
        walked = data[:2] + fill + data[2:]
        assert jpeg.frame_size(walked, 0, len(walked), STEPS) == (16, 8)
        assert time.process_time() - started < 1
