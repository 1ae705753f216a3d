"""edge/avif.py: an animated AVIF's encoding time, zeroed, and nothing else touched."""

import io
import time

import pytest
from PIL import Image, ImageSequence

from edge import avif
from imaging import encoded, gradient


@pytest.fixture(scope="module")
def encoded_a_second_apart() -> tuple[bytes, bytes]:
    """The same three frames encoded twice, in different seconds: libavif stamps each with its own."""
    frames = [gradient((48, 32)).rotate(angle) for angle in (0, 90, 180)]

    def animation() -> bytes:
        return encoded(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100, quality=70)

    first = animation()
    time.sleep(1.1)
    return first, animation()


def stopped(data: bytes) -> bytes:
    buffer = bytearray(data)
    avif.stop_clock(memoryview(buffer))
    return bytes(buffer)


def frames_of(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as image:
        return [frame.convert("RGB").tobytes() for frame in ImageSequence.Iterator(image)]


def test_two_encodings_differ_only_by_their_clock(encoded_a_second_apart):
    first, second = encoded_a_second_apart
    assert first != second and len(first) == len(second)
    assert stopped(first) == stopped(second)


def test_the_frames_are_untouched(encoded_a_second_apart):
    first, _ = encoded_a_second_apart
    assert len(frames_of(first)) == 3
    assert frames_of(stopped(first)) == frames_of(first)


def test_only_the_clock_changes(encoded_a_second_apart):
    """Two stamps in each of mvhd, tkhd and mdhd: 48 bytes at most (64-bit times), all now zero."""
    first, _ = encoded_a_second_apart
    changed = [index for index, (was, now) in enumerate(zip(first, stopped(first), strict=True)) if was != now]
    assert 0 < len(changed) <= 48 and not any(stopped(first)[index] for index in changed)


@pytest.mark.parametrize("data", [
    encoded(gradient((16, 16)), "AVIF"),  # a still picture: no movie boxes
    b"\x00\x00\x00\x08moov" + b"\x00\x00\x00\xffmvhd\x01",  # a box that claims more than there is
    b"\x00\x00\x00\x01moov\x00\x00\x00\x00\x00\x00\x00\x04",  # a 64-bit size smaller than its own header
    b"\x00\x00\x00\x10moov\x00\x00\x00\x08mvhd",  # a movie header with nothing in it
    b"",
], ids=["still", "box-overruns", "size-under-header", "empty-mvhd", "empty"])
def test_what_has_no_clock_is_left_as_it_is(data):
    assert stopped(data) == data
