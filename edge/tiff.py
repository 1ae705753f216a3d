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
from collections.abc import Callable, Iterable
from typing import NamedTuple

from edge.inflate import Inflater, never

# The field types Pillow decodes value by value: SHORT, LONG, RATIONAL, SBYTE, SSHORT, SLONG, SRATIONAL, FLOAT,
# DOUBLE, IFD, LONG8, SLONG8, IFD8 (bytes and text come whole).
_NUMBER_TYPES = frozenset({3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 16, 17, 18})
# Classic TIFF and BigTIFF: where the first directory's offset is, and the layout of its entry count and
# of each entry (tag, type, count, value or offset).
_LAYOUTS = {42: (4, "I", "H", "HHI4x"), 43: (8, "Q", "Q", "HHQ8x")}
_VALUE_FIELD = {12: 4, 20: 8}  # by entry size: where the value (or its offset) stands, at the entry's end
# The directories Pillow reads beside the first (Exif, GPS), and from the Exif one (Interop), by the tags that
# point to them; a pointer read as Pillow reads a single number of an integer type.
_EXIF_DIRECTORY, _GPS_DIRECTORY, _INTEROP_DIRECTORY = 34665, 34853, 40965
_FIRST_DIRECTORY_POINTERS = (_EXIF_DIRECTORY, _GPS_DIRECTORY)
_OFFSET_FORMATS = {3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 18: "Q"}  # SHORT, LONG, signed, IFD...
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_ORIENTATION, _SHORT, _LONG = 0x0112, 3, 4
MOST_ORIENTATION_ENTRIES = 2 * 65_535  # the most a directory's count can declare, twice
_CLASSIC_ENTRY_SIZE = 12  # tag, type, count, value or offset; BigTIFF's are 20
_PIECE_OFFSETS = (273, 324)  # StripOffsets, TileOffsets


class MalformedTiff(Exception):
    pass


class _Layout(NamedTuple):
    """How a TIFF (classic or BigTIFF) is laid out, from its header."""

    order: str  # struct's byte order: "<" or ">"
    offset_at: int  # where the first directory's offset is
    offset_format: str  # of that offset
    count_format: str  # of a directory's entry count
    entry: struct.Struct  # tag, type, count, value or offset


def first_directory_over(data: bytes, most_entries: int, most_values: int) -> bool:
    """Whether a TIFF's first directory has more than `most_entries` entries, or an entry of more than
    `most_values` numbers. False for anything this cannot read (not a TIFF, cut short): Pillow decides."""
    layout = _layout(data)
    return layout is not None and _over(data, layout, _first_directory(data, layout), most_entries, most_values)


def sub_directories_over(data: bytes, most_entries: int, most_values: int) -> bool:
    """Whether the Exif and GPS directories a TIFF's first directory points to, and the Interop directory the
    Exif one points to, hold more than `most_values` numbers together, a directory counted each time it is
    pointed to, or one of them more than `most_entries` entries. Pillow decodes each whole, each time, as it
    loads a TIFF, and as it rewrites Exif (an AVIF's whose orientation differs from the file's own): 4 MiB of
    RATIONALs in them took 1.2-3.5 s, 40 MiB 32 s and 1.5 GB; split among 520 entries of a directory that both
    Exif and GPS point to, 34.7 s and 1.3 GB (helpers' measures)."""
    layout = _layout(data)
    return layout is not None and _over_together(
        data, layout, _pointed(data, layout, most_entries), most_entries, most_values)


def exif_over(exif: bytes, most_entries: int, most_values: int) -> bool:
    """As sub_directories_over, of Exif (a TIFF structure of its own), its first directory counted with them."""
    layout = _layout(exif)
    if layout is None:
        return False
    directories = [_first_directory(exif, layout), *_pointed(exif, layout, most_entries)]
    return _over_together(exif, layout, directories, most_entries, most_values)


def orientation(exif: bytes) -> int:
    """The orientation, 1 to 8, that Exif (a classic TIFF structure) gives a picture, as Chromium 156 reads it
    (Skia's Exif parser; a helper matched it on 148 files): the header's magic must be 42; the first directory's
    entries are read in order, as far as whole ones go, and an Exif directory's where the first points to one (a
    LONG); the first Orientation entry that is one SHORT of 1 to 8 counts. 1 where none does. Pillow reads other
    types too, and only the first directory. Chromium follows every such pointer: Exif of 5,459 of them, each to
    the first directory again, took 4.2 s in Python (a reviewer's), so no more than MOST_ORIENTATION_ENTRIES are
    read, a first and an Exif directory at their largest."""
    layout = _layout(exif)
    if layout is None or layout.entry.size != _CLASSIC_ENTRY_SIZE:  # BigTIFF's header (magic 43) is no Exif's
        return 1
    order = layout.order
    left = MOST_ORIENTATION_ENTRIES

    def found_in(directory: int, first: bool) -> int | None:
        nonlocal left
        found = _entries(exif, layout, directory, left)
        if found is None:
            return None
        entries = found[1]
        left -= len(entries)
        for tag, field_type, count, value_at in entries:
            if count != 1:
                continue
            if tag == _ORIENTATION and field_type == _SHORT:
                short = struct.unpack_from(order + "H", exif, value_at)[0]
                if 1 <= short <= 8:
                    return short
            elif tag == _EXIF_DIRECTORY and field_type == _LONG and first and (
                    inside := found_in(struct.unpack_from(order + "I", exif, value_at)[0], False)):
                return inside
        return None

    return found_in(_first_directory(exif, layout), first=True) or 1


def strips(data: bytes, most_entries: int) -> int:
    """How many strips or tiles a TIFF's first directory declares (the count of its StripOffsets or
    TileOffsets); 0 for anything this cannot read. Pillow makes a tile of each in Python: 200,000
    one-row strips of 1.5 MiB took 1.5-2.2 s to render (a helper's measure)."""
    return max((count for tag, _, count in _first_entries(data, most_entries) if tag in _PIECE_OFFSETS), default=0)


def values_apart(data: bytes, most_entries: int) -> int:
    """How many bytes of values a TIFF's first directory keeps apart from its entries, together; 0 for anything
    this cannot read. libtiff reads and keeps each tag's values whole, even where tags share the same bytes:
    990 private tags on one 1 MB run took 975 MB to render (a helper's measure)."""
    layout = _layout(data)
    if layout is None:
        return 0
    inline = _VALUE_FIELD[layout.entry.size]  # what an entry holds itself
    sizes = (count * _TYPE_SIZES.get(field_type, 0) for _, field_type, count in _first_entries(data, most_entries))
    return sum(size for size in sizes if size > inline)


def _first_entries(data: bytes, most: int) -> list[tuple[int, int, int]]:
    """(tag, type, count) of the entries of a TIFF's first directory; none for anything this cannot read."""
    layout = _layout(data)
    found = _entries(data, layout, _first_directory(data, layout), most) if layout else None
    return [] if found is None else [(tag, field_type, count) for tag, field_type, count, _ in found[1]]


def _layout(data: bytes) -> _Layout | None:
    """The TIFF's layout; None for what is not a TIFF."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 16:
        return None
    layout = _LAYOUTS.get(struct.unpack_from(order + "H", data, 2)[0])
    if layout is None:
        return None
    offset_at, offset_format, count_format, entry_format = layout
    return _Layout(order, offset_at, offset_format, count_format, struct.Struct(order + entry_format))


def _first_directory(data: bytes, layout: _Layout) -> int:
    order, offset_at, offset_format, _, _ = layout
    return struct.unpack_from(order + offset_format, data, offset_at)[0]


def _entries(data: bytes, layout: _Layout, directory: int, most: int
             ) -> tuple[int, list[tuple[int, int, int, int]]] | None:
    """How many entries a directory holds (as many as it declares, or as the data holds, where fewer: Pillow reads
    no further), and its first entries (tag, type, count, where its value field is), no more than `most`; None
    where its count is past the data."""
    order, _, _, count_format, entry = layout
    count_size = struct.calcsize(count_format)
    if not 0 <= directory <= len(data) - count_size:
        return None
    first = directory + count_size
    held = min(struct.unpack_from(order + count_format, data, directory)[0], (len(data) - first) // entry.size)
    return held, [(*entry.unpack_from(data, at), at + entry.size - _VALUE_FIELD[entry.size])
                  for at in range(first, first + min(held, most) * entry.size, entry.size)]


def _over(data: bytes, layout: _Layout, directory: int, most_entries: int, most_values: int) -> bool:
    found = _entries(data, layout, directory, most_entries)
    if found is None:
        return False
    held, entries = found
    return held > most_entries or any(
        field_type in _NUMBER_TYPES and count > most_values for _, field_type, count, _ in entries)


def _over_together(data: bytes, layout: _Layout, directories: list[int], most_entries: int, most_values: int) -> bool:
    numbers = 0
    for directory in directories:
        found = _entries(data, layout, directory, most_entries)
        if found is None:
            continue
        held, entries = found
        if held > most_entries:
            return True
        numbers += sum(count for _, field_type, count, _ in entries if field_type in _NUMBER_TYPES)
    return numbers > most_values


def _pointed(data: bytes, layout: _Layout, most_entries: int) -> list[int]:
    """The Exif and GPS directories the first directory points to, and the Interop one the Exif one does."""
    pointed = _pointers(data, layout, _first_directory(data, layout), _FIRST_DIRECTORY_POINTERS, most_entries)
    exif = pointed.get(_EXIF_DIRECTORY)
    if exif is not None:
        pointed |= _pointers(data, layout, exif, (_INTEROP_DIRECTORY,), most_entries)
    return list(pointed.values())


def _pointers(data: bytes, layout: _Layout, directory: int, tags: tuple[int, ...], most_entries: int
              ) -> dict[int, int]:
    """The directories that a directory's entries of these tags point to, each a single number, read where Pillow
    reads it: in the entry, or where the entry says where it is too wide for it (a LONG8 in a classic TIFF: a
    reviewer's hid 40 MB of Exif from a walk that read the entry's own bytes)."""
    found = _entries(data, layout, directory, most_entries)
    if found is None:
        return {}
    order, _, offset_format, _, entry = layout
    pointed = {}
    for tag, field_type, count, value_at in found[1]:
        if tag not in tags or count != 1 or field_type not in _OFFSET_FORMATS:
            continue
        value = struct.Struct(order + _OFFSET_FORMATS[field_type])
        if value.size > _VALUE_FIELD[entry.size]:
            value_at = struct.unpack_from(order + offset_format, data, value_at)[0]
        if value_at + value.size <= len(data):
            pointed[tag] = value.unpack_from(data, value_at)[0]
    return pointed


def check_deflate_strips(data: bytes, strips: Iterable[tuple[int, int]], most_bytes: int,
                         stopped: Callable[[], bool] = never) -> None:
    """Inflate each (offset, length) stream of data to its end: MalformedTiff if one is corrupt, cut
    short, or if together they inflate to more than most_bytes (the pixels' own size: no valid
    file holds more, and a bomb stops there). inflate.Stopped once `stopped()` says so."""
    left = most_bytes
    for index, (offset, length) in enumerate(strips):
        if offset + length > len(data):
            raise MalformedTiff(f"strip {index} runs past the end of the file")
        left -= _inflated_size(memoryview(data)[offset:offset + length], left, index, stopped)


def _inflated_size(stream: memoryview, most_bytes: int, index: int, stopped: Callable[[], bool]) -> int:
    inflater = Inflater(iter([stream]), stopped)
    try:
        size = inflater.skip(most_bytes + 1)
    except zlib.error as error:
        raise MalformedTiff(f"strip {index}: {error}") from None
    if size > most_bytes:
        raise MalformedTiff(f"strip {index} inflates to more than the image's pixels")
    if not inflater.stream_ended:
        raise MalformedTiff(f"strip {index} ends before its zlib stream does")
    return size
