"""A TIFF's first directory, bounded before Pillow reads it; a Deflate TIFF's strips (or tiles),
each checked to its end.

Pillow reads a TIFF's first directory in Python, an entry at a time, and decodes a number array
(SHORT, LONG, RATIONAL...) value by value; it makes an object for every strip or tile. A directory of
a few hundred thousand entries or values in 4 MiB took it seconds and hundreds of MB to open.

libtiff inflates a strip only until the rows it holds are filled, so it never reaches the
Adler-32 checksum that ends the zlib stream, and Pillow raises nothing: a strip corrupted
mid-way decodes into wrong rows, which would be stored and cached for a year. Here each
stream is inflated to its end first, its output counted and thrown away, so that the
checksum is checked. LZW and PackBits carry no checksum, and nothing can be checked there.
"""

import struct
import zlib
from collections.abc import Iterable

from edge.inflate import Inflater

INFLATE_PIECE = 1024 * 1024  # output inflated at a time, and thrown away
# The field types Pillow decodes value by value: SHORT, LONG, RATIONAL, SSHORT, SLONG, SRATIONAL, FLOAT,
# DOUBLE, IFD, LONG8, SLONG8, IFD8 (bytes and text come whole).
_NUMBER_TYPES = frozenset({3, 4, 5, 8, 9, 10, 11, 12, 13, 16, 17, 18})
# Classic TIFF and BigTIFF: where the first directory's offset is, and the layout of its entry count and
# of each entry (tag, type, count, value or offset).
_LAYOUTS = {42: (4, "I", "H", "HHI4x"), 43: (8, "Q", "Q", "HHQ8x")}


class MalformedTiff(Exception):
    pass


def first_directory_over(data: bytes, most_entries: int, most_values: int) -> bool:
    """Whether a TIFF's first directory has more than `most_entries` entries, or an entry of more than
    `most_values` numbers. False for anything this cannot read (not a TIFF, cut short): Pillow decides."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 16:
        return False
    layout = _LAYOUTS.get(struct.unpack_from(order + "H", data, 2)[0])
    if layout is None:
        return False
    offset_at, offset_format, count_format, entry_format = layout
    directory = struct.unpack_from(order + offset_format, data, offset_at)[0]
    count_size, entry = struct.calcsize(count_format), struct.Struct(order + entry_format)
    if directory + count_size > len(data):
        return False
    entries = struct.unpack_from(order + count_format, data, directory)[0]
    if entries > most_entries:
        return True
    first = directory + count_size
    readable = min(entries, (len(data) - first) // entry.size)
    return any(
        field_type in _NUMBER_TYPES and count > most_values
        for _, field_type, count in (entry.unpack_from(data, first + index * entry.size) for index in range(readable)))


def check_deflate_strips(data: bytes, strips: Iterable[tuple[int, int]], most_bytes: int) -> None:
    """Inflate each (offset, length) stream of data to its end: MalformedTiff if one is corrupt, cut
    short, or if together they inflate to more than most_bytes (the pixels' own size: no valid
    file holds more, and a bomb stops there)."""
    left = most_bytes
    for index, (offset, length) in enumerate(strips):
        if offset + length > len(data):
            raise MalformedTiff(f"strip {index} runs past the end of the file")
        left -= _inflated_size(memoryview(data)[offset:offset + length], left, index)


def _inflated_size(stream: memoryview, most_bytes: int, index: int) -> int:
    inflater = Inflater(iter([stream]))
    size = 0
    try:
        while piece := inflater.take(INFLATE_PIECE):
            size += len(piece)
            if size > most_bytes:
                raise MalformedTiff(f"strip {index} inflates to more than the image's pixels")
    except zlib.error as error:
        raise MalformedTiff(f"strip {index}: {error}") from None
    if not inflater.stream_ended:
        raise MalformedTiff(f"strip {index} ends before its zlib stream does")
    return size
