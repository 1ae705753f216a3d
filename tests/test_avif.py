"""edge/avif.py: an animated AVIF's encoding time, zeroed, and nothing else touched."""

import io
import struct
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


def box(kind: bytes, payload: bytes, size_field: str = "32-bit") -> bytes:
    """An ISO BMFF box, its size as libavif writes it (32-bit), in 64 bits, or 0: to the end of its container."""
    if size_field == "64-bit":
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 0 if size_field == "to-the-end" else 8 + len(payload), kind) + payload


def movie_header(version: int, stamp: int, rest: bytes = b"\x22" * 4) -> bytes:
    """An mvhd's payload: version and flags, then its creation and modification times (64-bit from
    version 1), filled with `stamp`, then `rest`, the fields that follow them."""
    return bytes([version, 0, 0, 0]) + bytes([stamp]) * (16 if version == 1 else 8) + rest


@pytest.mark.parametrize(("data", "expected"), [
    (box(b"moov", box(b"mvhd", movie_header(0, 0x11))), box(b"moov", box(b"mvhd", movie_header(0, 0)))),
    (box(b"moov", box(b"mvhd", movie_header(1, 0x11))), box(b"moov", box(b"mvhd", movie_header(1, 0)))),
    (box(b"moov", box(b"mvhd", movie_header(1, 0x11, rest=b""))),
     box(b"moov", box(b"mvhd", movie_header(1, 0, rest=b"")))),
    (box(b"moov", box(b"mvhd", movie_header(0, 0x11)), "64-bit"),
     box(b"moov", box(b"mvhd", movie_header(0, 0)), "64-bit")),
    (box(b"moov", box(b"mvhd", movie_header(0, 0x11)), "to-the-end"),
     box(b"moov", box(b"mvhd", movie_header(0, 0)), "to-the-end")),
    (box(b"free", b"") + box(b"moov", box(b"mvhd", movie_header(0, 0x11))),
     box(b"free", b"") + box(b"moov", box(b"mvhd", movie_header(0, 0)))),
    (box(b"ftyp", b"avis") + box(b"moov", box(b"mvhd", movie_header(0, 0x11)), "to-the-end"),
     box(b"ftyp", b"avis") + box(b"moov", box(b"mvhd", movie_header(0, 0)), "to-the-end")),
], ids=["version-0", "version-1", "ending-with-its-stamps", "64-bit-size", "size-to-the-end", "after-an-empty-box",
        "size-to-the-end-after-a-box"])
def test_the_stamps_are_zeroed_in_every_layout_of_the_boxes(data, expected):
    assert stopped(data) == expected


@pytest.mark.parametrize("data", [
    encoded(gradient((16, 16)), "AVIF"),  # a still picture: no movie boxes
    b"\x00\x00\x00\x08moov" + b"\x00\x00\x00\xffmvhd\x01",  # a box that claims more than there is
    b"\x00\x00\x00\x01moov\x00\x00\x00\x00\x00\x00\x00\x04",  # a 64-bit size smaller than its own header
    b"\x00\x00\x00\x10moov\x00\x00\x00\x08mvhd",  # a movie header with nothing in it
    box(b"moov", box(b"mvhd", bytes(4))),  # a movie header with its version and flags only
    b"\x00\x00\x00\x01moov" + bytes(7),  # a 64-bit size cut short
    b"\x00\x00\x00\x01moov" + bytes(8),  # a 64-bit size of 0
    bytes(7),  # less than a box header
    b"",
], ids=["still", "box-overruns", "size-under-header", "empty-mvhd", "mvhd-without-stamps", "64-bit-size-cut",
        "64-bit-size-0", "seven-bytes", "empty"])
def test_what_has_no_clock_is_left_as_it_is(data):
    assert stopped(data) == data
