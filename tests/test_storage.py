"""edge/storage.py: reading an original in time, held once. (S3's answers, through moto and
botocore, are tested end to end in tests/test_hostile.py.)"""

import io
import tracemalloc

import pytest

from edge import storage
from edge.errors import SourceTooLarge, Unavailable

ORIGINAL = bytes(range(256)) * (8 << 12) + b"tail"  # 8 MB and a bit: the last piece is short


def test_the_original_is_read_whole_and_held_once():
    tracemalloc.start()
    try:
        data = storage.read_in_time(io.BytesIO(ORIGINAL), len(ORIGINAL), len(ORIGINAL), lambda: True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == ORIGINAL
    assert peak < 1.05 * len(ORIGINAL)


def test_without_a_length_the_original_is_still_read_whole():
    assert storage.read_in_time(io.BytesIO(ORIGINAL), 0, len(ORIGINAL), lambda: True) == ORIGINAL


def test_a_body_shorter_than_its_length_is_unavailable_not_padded():
    with pytest.raises(Unavailable, match=f"ended after {len(ORIGINAL) - 1} of its {len(ORIGINAL)} bytes"):
        storage.read_in_time(io.BytesIO(ORIGINAL[:-1]), len(ORIGINAL), len(ORIGINAL), lambda: True)


def test_the_time_left_is_checked_after_every_piece():
    looks = iter([True, True, False])
    with pytest.raises(Unavailable, match=f"after {3 * storage.READ_PIECE} bytes"):
        storage.read_in_time(io.BytesIO(ORIGINAL), len(ORIGINAL), len(ORIGINAL), lambda: next(looks))


@pytest.mark.parametrize("declared", [0, 1000], ids=["no-length", "a-shorter-length"])
def test_a_body_longer_than_the_limit_stops_there_whatever_it_declared(declared):
    with pytest.raises(SourceTooLarge, match="over 1000 bytes"):
        storage.read_in_time(io.BytesIO(ORIGINAL), declared, 1000, lambda: True)
