"""An animated AVIF's clock, stopped.

libavif stamps the movie, track and media headers (mvhd, tkhd, mdhd) of an image
sequence with the second it was encoded in, so two renders of the same frames differ.
The stamps say nothing of the picture: zeroed (ISO BMFF's epoch, 1904), every render
of a URL is byte-identical, as concurrent misses and the ETag expect. Still AVIFs
have no such boxes and are left as they are.
"""

import struct

_CONTAINERS = frozenset({b"moov", b"trak", b"mdia"})  # the boxes on the way to the stamped ones
_STAMPED = frozenset({b"mvhd", b"tkhd", b"mdhd"})  # creation, then modification time, after version and flags


def stop_clock(buffer: memoryview) -> None:
    """Zero the creation and modification times of an AVIF's movie boxes, in place."""
    _zero_stamps(buffer, 0, len(buffer))


def _zero_stamps(buffer: memoryview, start: int, end: int) -> None:
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buffer, offset)
        header = 8
        if size == 1 and offset + 16 <= end:  # a 64-bit size follows the type
            size, header = struct.unpack_from(">Q", buffer, offset + 8)[0], 16
        elif size == 0:  # to the end of its container
            size = end - offset
        if size < header or offset + size > end:
            return  # libavif wrote no such box: leave the rest as it is
        if kind in _CONTAINERS:
            _zero_stamps(buffer, offset + header, offset + size)
        elif kind in _STAMPED and size > header:
            stamps = offset + header + 4  # after the version and the flags
            length = 2 * (8 if buffer[offset + header] == 1 else 4)
            if stamps + length <= offset + size:
                buffer[stamps:stamps + length] = bytes(length)
        offset += size
