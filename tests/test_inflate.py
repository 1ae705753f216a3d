"""edge/inflate.py: a zlib stream taken a bounded piece at a time, from input in slices."""

import zlib

import pytest
from PIL import ImageFile

import edge.inflate
from edge.inflate import INPUT_SLICE, SKIPPED_PIECE, Inflater, Stopped
from imaging import noise_image

ZLIB_HEADER = b"\x78\x9c"
EMPTY_STORED_BLOCK = bytes.fromhex("000000ffff")  # not the last: a stored block of no bytes
FINAL_EMPTY_BLOCK = bytes.fromhex("0300")  # the last: fixed codes, its end code alone
RAW = noise_image((64, 48)).tobytes() * 4  # 36 KB that deflate shrinks to a quarter
STREAM = zlib.compress(RAW)


def slices(data: bytes, size: int) -> list[memoryview]:
    view = memoryview(data)
    return [view[start:start + size] for start in range(0, len(data), size)]


@pytest.mark.parametrize("slice_size", [1, 7, 4096, len(STREAM)])
@pytest.mark.parametrize("most", [1, 1000, 1 << 20])
def test_the_stream_comes_whole_in_pieces_no_larger_than_asked(slice_size, most):
    inflater = Inflater(iter(slices(STREAM, slice_size)))
    pieces = []
    while piece := inflater.take(most):
        assert len(piece) <= most
        pieces.append(piece)
    assert b"".join(pieces) == RAW and inflater.stream_ended
    assert inflater.take(most) == b""


def test_output_held_back_by_most_comes_after_the_input_runs_out():
    """All the input is taken in at once; what `most` cut off is inflate's to give, piece by piece."""
    inflater = Inflater(iter([STREAM]))
    assert [len(inflater.take(len(RAW) // 2)) for _ in range(3)] == [len(RAW) // 2, len(RAW) // 2, 0]
    assert inflater.stream_ended


def test_input_that_runs_out_first_leaves_the_stream_unended():
    inflater = Inflater(iter(slices(STREAM[:-10], 100)))
    given = b"".join(iter(lambda: inflater.take(4096), b""))
    assert RAW.startswith(given) and len(given) > len(RAW) // 2 and not inflater.stream_ended


def test_corrupt_data_is_zlibs_error():
    broken = bytearray(STREAM)
    broken[-1] ^= 1
    inflater = Inflater(iter([bytes(broken)]))
    with pytest.raises(zlib.error, match="incorrect data check"):
        while inflater.take(1 << 20):
            pass


def test_a_large_input_goes_to_zlib_a_slice_at_a_time_and_an_empty_one_is_skipped(monkeypatch):
    """zlib copies what a call leaves unread: a 38 MB chunk handed whole took 25 s (a reviewer's file)."""
    fed, real = [], zlib.decompressobj

    class Recording:
        def __init__(self):
            self._inflater = real()

        def decompress(self, data, most):
            fed.append(len(data))
            return self._inflater.decompress(data, most)

        def __getattr__(self, name):
            return getattr(self._inflater, name)

    monkeypatch.setattr(edge.inflate.zlib, "decompressobj", Recording)
    stream = zlib.compress(bytes(range(256)) * 2048 + noise_image((300, 200)).tobytes(), 0)  # stored: 700 KB
    inflater = Inflater(iter([b"", stream[:5], b"", stream[5:]]))
    assert inflater.skip(1 << 30) == 256 * 2048 + 300 * 200 * 3 and inflater.stream_ended
    assert 0 < max(fed) <= INPUT_SLICE and len(fed) >= len(stream) // INPUT_SLICE


@pytest.mark.parametrize("most", [0, 1, len(RAW) - 1, len(RAW), len(RAW) + 1])
def test_skip_inflates_up_to_most_and_says_how_much(most):
    inflater = Inflater(iter([STREAM]))
    assert inflater.skip(most) == min(most, len(RAW))
    assert inflater.stream_ended == (most >= len(RAW))


def test_inflating_stops_at_the_slice_after_it_is_told_to_even_where_it_inflates_to_nothing():
    """Empty blocks are valid deflate that inflates to nothing: an inflater asked only between outputs ran on
    through 38 MB of them (3.3 s, a reviewer's)."""
    empty_blocks = ZLIB_HEADER + EMPTY_STORED_BLOCK * (4 * INPUT_SLICE // len(EMPTY_STORED_BLOCK))
    asked = []

    def stopped() -> bool:
        asked.append(True)
        return len(asked) == 2

    with pytest.raises(Stopped):
        Inflater(iter([empty_blocks]), stopped).skip(SKIPPED_PIECE)
    assert len(asked) == 2
    whole = Inflater(iter([empty_blocks + FINAL_EMPTY_BLOCK + zlib.adler32(b"").to_bytes(4, "big")]))
    assert whole.skip(SKIPPED_PIECE) == 0 and whole.stream_ended


def test_the_input_slice_is_pillows_own_read_size():
    """Pillow reads an IDAT chunk ImageFile.MAXBLOCK at a time: slices of that size cost what its own inflate costs."""
    assert INPUT_SLICE == ImageFile.MAXBLOCK == 64 * 1024


def test_skip_asks_for_a_mebibyte_at_a_time():
    """A piece held at a time: a mebibyte bounds the memory, and keeps a bomb's gigabytes to a step per mebibyte."""
    asked = []

    class Recording(Inflater):
        def take(self, most: int) -> bytes:
            asked.append(most)
            return super().take(most)

    zeros = zlib.compress(bytes(4 << 20))
    assert Recording(iter([zeros])).skip((4 << 20) - 10) == (4 << 20) - 10
    assert asked == [1 << 20, 1 << 20, 1 << 20, (1 << 20) - 10]
