"""edge/tiff.py: each Deflate strip inflated to its checksum, and no further than the pixels allow."""

import zlib

import pytest

from edge import tiff
from imaging import noise_image

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


def test_no_strips_pass():
    checked(b"", [])


def test_bytes_after_a_stream_s_end_are_left_as_libtiff_leaves_them():
    checked(STREAM + b"junk", [(0, len(STREAM) + 4)])


def test_a_stream_inflating_to_many_pieces_is_inflated_to_its_end():
    """More than one piece of output: the stream goes on from what the last piece left unconsumed."""
    large = bytes(range(256)) * (3 * tiff.INFLATE_PIECE // 256 + 7)
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


def test_a_bomb_stops_at_the_most():
    bomb = zlib.compress(bytes(64 * tiff.INFLATE_PIECE), 9)  # 64 MiB of zeros in 64 KB
    assert refusal(bomb, [(0, len(bomb))], most_bytes=tiff.INFLATE_PIECE) == (
        "strip 0 inflates to more than the image's pixels")
