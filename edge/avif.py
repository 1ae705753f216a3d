"""An animated AVIF's movie boxes: its clock stopped, and how many times it plays.

libavif stamps the movie, track and media headers (mvhd, tkhd, mdhd) of an image
sequence with the second it was encoded in, so two renders of the same frames differ.
The stamps say nothing of the picture: zeroed (ISO BMFF's epoch, 1904), every render
of a URL is byte-identical, as concurrent misses and the ETag expect. Still AVIFs
have no such boxes and are left as they are.

How many times a sequence plays is in its boxes too, which Pillow neither reads nor
writes (HEIF, ISO/IEC 23008-12, 9.6.1, as libavif reads it): an edit list (elst) whose
flags say "repeat" plays until the track's duration (tkhd) is filled, and forever when
that duration is all ones. libavif writes every sequence so, to play forever.
"""

import struct
from collections.abc import Iterator

_CONTAINERS = frozenset({b"moov", b"trak", b"mdia"})  # the boxes on the way to the stamped ones
_STAMPED = frozenset({b"mvhd", b"tkhd", b"mdhd"})  # creation, then modification time, after version and flags
FOREVER = 0  # plays, as WebP and APNG count them
# Past this many repeats libavif's count (a C int) overflows, and it plays the sequence forever.
_MOST_REPEATS = 2**31 - 1


def stop_clock(buffer: memoryview) -> None:
    """Zero the creation and modification times of an AVIF's movie boxes, in place."""
    _zero_stamps(buffer, 0, len(buffer))


def _zero_stamps(buffer: memoryview, start: int, end: int) -> None:
    for kind, payload, box_end in _boxes(buffer, start, end):
        if kind in _CONTAINERS:
            _zero_stamps(buffer, payload, box_end)
        elif kind in _STAMPED and box_end > payload:
            stamps = payload + 4  # after the version and the flags
            length = 2 * _width(buffer, payload)
            if stamps + length <= box_end:
                buffer[stamps:stamps + length] = bytes(length)


def plays(data: bytes | memoryview) -> int:
    """How many times the sequence plays, as its first track says: FOREVER (0) for ever, also when it
    has no edit list, as browsers play one that has none."""
    buffer = memoryview(data)
    for trak, trak_end in _tracks(buffer):
        edit_list = _edit_list(buffer, trak, trak_end)
        if edit_list is None:
            return FOREVER
        flags, segment = edit_list
        if not flags & 1:
            return 1
        header = next((_duration(buffer, tkhd, end, 20) for tkhd, end in _children(buffer, trak, trak_end, b"tkhd")),
                      None)
        if header is None or segment == 0:
            return FOREVER
        duration, width = header
        if duration == (1 << 8 * width) - 1:
            return FOREVER
        repeats = max(0, -(-duration // segment) - 1)  # the segments that fill the track, after the first
        return FOREVER if repeats > _MOST_REPEATS else repeats + 1
    return FOREVER


def set_plays(buffer: memoryview, count: int) -> None:
    """Make an AVIF that libavif wrote to play forever play `count` times instead (FOREVER: left
    as it is), in place: its movie's and tracks' durations become `count` times their edit lists'."""
    if count == FOREVER:
        return
    for moov, moov_end in _children(buffer, 0, len(buffer), b"moov"):
        for trak, trak_end in _children(buffer, moov, moov_end, b"trak"):
            edit_list = _edit_list(buffer, trak, trak_end)
            if edit_list is None or not edit_list[0] & 1:
                continue
            duration = count * edit_list[1]
            for tkhd, tkhd_end in _children(buffer, trak, trak_end, b"tkhd"):
                _set_duration(buffer, tkhd, tkhd_end, 20, duration)
            for mvhd, mvhd_end in _children(buffer, moov, moov_end, b"mvhd"):
                _set_duration(buffer, mvhd, mvhd_end, 16, duration)


def _tracks(buffer: memoryview) -> Iterator[tuple[int, int]]:
    for moov, moov_end in _children(buffer, 0, len(buffer), b"moov"):
        yield from _children(buffer, moov, moov_end, b"trak")


def _edit_list(buffer: memoryview, trak: int, trak_end: int) -> tuple[int, int] | None:
    for edts, edts_end in _children(buffer, trak, trak_end, b"edts"):
        for elst, elst_end in _children(buffer, edts, edts_end, b"elst"):
            width = _width(buffer, elst)
            if elst + 8 + width <= elst_end and int.from_bytes(buffer[elst + 4:elst + 8]):  # an entry
                flags = int.from_bytes(buffer[elst + 1:elst + 4])
                return flags, int.from_bytes(buffer[elst + 8:elst + 8 + width])
    return None


def _duration(buffer: memoryview, start: int, end: int, version_0_offset: int) -> tuple[int, int] | None:
    """A header's duration and its width: after the version, flags, times and the fields before it,
    which take version_0_offset bytes in version 0 and 8 more (the 64-bit times) in version 1."""
    at, width = _duration_field(buffer, start, version_0_offset)
    if at + width > end:
        return None
    return int.from_bytes(buffer[at:at + width]), width


def _set_duration(buffer: memoryview, start: int, end: int, version_0_offset: int, value: int) -> None:
    at, width = _duration_field(buffer, start, version_0_offset)
    if at + width <= end and value < 1 << 8 * width:
        buffer[at:at + width] = value.to_bytes(width)


def _duration_field(buffer: memoryview, start: int, version_0_offset: int) -> tuple[int, int]:
    width = _width(buffer, start)
    return start + version_0_offset + (8 if width == 8 else 0), width


def _width(buffer: memoryview, payload: int) -> int:
    """The width of a full box's times and durations: 64-bit from version 1."""
    return 8 if payload < len(buffer) and buffer[payload] == 1 else 4


def _children(buffer: memoryview, start: int, end: int, kind: bytes) -> Iterator[tuple[int, int]]:
    for found, payload, box_end in _boxes(buffer, start, end):
        if found == kind:
            yield payload, box_end


def _boxes(buffer: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, where its payload starts, where it ends) of each box from start to end, up to the
    first that is malformed: libavif wrote no such box, and the rest is left as it is."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buffer, offset)
        header = 8
        if size == 1 and offset + 16 <= end:  # a 64-bit size follows the type
            size, header = struct.unpack_from(">Q", buffer, offset + 8)[0], 16
        elif size == 0:  # to the end of its container
            size = end - offset
        if size < header or offset + size > end:
            return
        yield bytes(kind), offset + header, offset + size
        offset += size
