"""An AVIF's boxes that Pillow does not read or write: its colour code points and clean aperture, an
animation's clock stopped, and how many times it plays.

Colour (HEIF, ISO/IEC 23008-12, 6.5.5; MIAF): a picture may say what its numbers mean only by
code points, in an `nclx` colour box, which Pillow does not report (edge/icc.py makes them a
profile). A still's box is a property of its primary item; an image sequence's is in its colour
track's sample entry. Which of the two libavif decodes, the file's major brand decides. An HDR
picture may say there, too, how bright its brightest pixel is (a `clli` box, MIAF 7.4.4.2.2). A still's
clean aperture (`clap`) says what of the coded picture to show, which Pillow decodes whole (top_left_aperture).

libavif stamps the movie, track and media headers (mvhd, tkhd, mdhd) of an image
sequence with the second it was encoded in, so two renders of the same frames differ.
The stamps say nothing of the picture: zeroed (ISO BMFF's epoch, 1904), every render
of a URL is byte-identical, as concurrent misses and the ETag expect. Still AVIFs
have no such boxes and are left as they are.

How many times a sequence plays is in its boxes too, which Pillow neither reads nor
writes (HEIF, ISO/IEC 23008-12, 9.6.1, as libavif reads it): an edit list (elst) whose
flags say "repeat" plays until the track's duration (tkhd) is filled, and forever when
that duration is all ones. libavif writes every sequence so, to play forever.

What a hostile AVIF could make libavif and Pillow walk is counted before Pillow opens it
(survey). libavif looks every item up in a list of all of them, for each entry of each
table that names one (iinf, iloc, ipma, iref): 60,000 entries in any one of them took Pillow
4.5-5.9 s to open a 2 MB file, by hand, and the time grows as their square. A sequence's sample
table and properties cost it time or memory too (_check_sample_table). And Pillow decodes the Exif
libavif hands it (an Exif item's payload, after the 4-byte offset of its TIFF header, HEIF Annex
A.2.1) as it opens it when its orientation differs from the file's own, every number of a tag
whatever count the tag declares: 4 MB of one RATIONAL took 1.1-5.8 s. Those payloads are returned,
for the caller to bound, with the largest frame each AV1 sequence and frame header lets dav1d decode.
"""

import itertools
import struct
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from fractions import Fraction

_CONTAINERS = frozenset({b"moov", b"trak", b"mdia"})  # the boxes on the way to the stamped ones
_STAMPED = frozenset({b"mvhd", b"tkhd", b"mdhd"})  # creation, then modification time, after version and flags
FOREVER = 0  # plays, as WebP and APNG count them
# Past this many repeats libavif's count (a C int) overflows, and it plays the sequence forever.
_MOST_REPEATS = 2**31 - 1
_DURATION_AT = {b"mvhd": 16, b"tkhd": 20}  # in version 0, after the fields before it
_TRACK_SIZE_AT = 76  # a tkhd's width and height, 16.16 fixed point, in version 0 (12 bytes further in version 1)
_SAMPLE_TABLE_PATH = (b"mdia", b"minf", b"stbl", b"stsd")
_TABLE_ENTRY_SIZES = {b"stco": 4, b"co64": 8, b"stsc": 12}
# One of each in a sample table: descriptions, chunk offsets, samples per chunk, sample sizes.
_SAMPLE_PLACING = ((b"stsd",), (b"stco", b"co64"), (b"stsc",), (b"stsz",))
_VISUAL_SAMPLE_ENTRY_FIELDS = 78  # before a visual sample entry's boxes (ISO/IEC 14496-12, 12.1.3)
# A clean aperture (clap): its width, height and the offsets of its centre from the picture's, each a fraction.
# Each number signed, as libavif (avifCropRectConvertCleanApertureBox) and CrabbyAvif read them: ISO/IEC 14496-12
# declares them unsigned, but a width or denominator of 2^31 or more is negative to both, and the clap invalid.
_CLAP = struct.Struct(">iiiiiiii")
_NCLX = struct.Struct(">4sHHHB")  # colour type, primaries, transfer characteristics, matrix, full range flag
BRANDS = frozenset({b"avif", b"avis", b"mif1", b"msf1"})  # the major brands Pillow opens as AVIF
_LOCATION_FIELD_SIZES = frozenset({0, 4, 8})  # of an iloc's offsets, lengths, base offsets and indices
# Walked in Python: a file of 40 MiB of 8-byte boxes would take seconds each time. libavif writes a few
# boxes in each container, an item for each tile of a grid, and its alpha's (1,526 for 50 MP in 256-pixel
# tiles) and a few more, and a track or two (colour, alpha); the limits multiply as walks nest, so they
# are kept low. By the square law libavif's lookups follow, 2,048 items in each of the four tables cost it
# about 0.1 s.
MOST_BOXES = 1_000
MOST_ITEMS = 2_048
MOST_TRACKS = 16
# A legitimate sequence has a chunk per frame or a few, and a sample-to-chunk entry or a few.
MOST_CHUNK_LOOKUPS = 10_000_000
# In all the av01 items and samples read, and OBUS_A_FRAME more for each frame a track may have read: a 300-frame
# animation with alpha from Pillow has 1,202 (a temporal delimiter and a frame a sample, a sequence header a track).
MOST_OBUS = 16_384
OBUS_A_FRAME = 8  # two tracks (colour, alpha) of a temporal delimiter, a hidden frame, a frame and a sequence header
MOST_SEQUENCE_HEADERS = 1_024  # different ones; a still or a track repeats its own
MOST_EXIF_ITEMS = 16  # each checked before Pillow opens the file; libavif hands it one
MOST_EXTENTS = 8_192  # of the items read (av01, grid, Exif): an item of a grid's tile each, in an extent or a few
_SEQUENCE_HEADER_OBU = 1
_FRAME_HEADER_OBUS = frozenset({3, 6, 7})  # a frame header, a frame (its header, then its tiles), a redundant one
_KEY_FRAME, _SWITCH_FRAME = 0, 3
_SELECT = 2  # seq_force_screen_content_tools or seq_force_integer_mv leaving it to each frame header
_MOST_SEQUENCE_HEADER_BYTES = 512  # up to its screen content tools: 32 operating points of 90 bits, and the rest
_MOST_FRAME_HEADER_BYTES = 16  # up to its frame_size_override_flag: 67 bits at most


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
    for _, _, trak, trak_end in _tracks(buffer):
        edit_list = _edit_list(buffer, trak, trak_end)
        if edit_list is None:
            return FOREVER
        flags, segment = edit_list
        if not flags & 1:
            return 1
        field = _duration_field(buffer, trak, trak_end, b"tkhd")
        if field is None or segment == 0:
            return FOREVER
        duration = int.from_bytes(field)
        if duration == (1 << 8 * len(field)) - 1:
            return FOREVER
        repeats = max(0, -(-duration // segment) - 1)  # the segments that fill the track, after the first
        return FOREVER if repeats > _MOST_REPEATS else repeats + 1
    return FOREVER


def set_plays(buffer: memoryview, count: int) -> None:
    """Make an AVIF that libavif wrote to play forever play `count` times instead (FOREVER: left
    as it is), in place: its movie's and tracks' durations become `count` times their edit lists'."""
    if count == FOREVER:
        return
    for moov, moov_end, trak, trak_end in _tracks(buffer):
        edit_list = _edit_list(buffer, trak, trak_end)
        if edit_list is None or not edit_list[0] & 1:
            continue
        duration = count * edit_list[1]
        for field in _duration_field(buffer, trak, trak_end, b"tkhd"), _duration_field(buffer, moov, moov_end, b"mvhd"):
            if field is not None and duration < 1 << 8 * len(field):
                field[:] = duration.to_bytes(len(field))


def _tracks(buffer: memoryview) -> Iterator[tuple[int, int, int, int]]:
    """(its movie's payload start and end, its own) of each of the first MOST_TRACKS tracks."""
    for moov, moov_end in _children(buffer, 0, len(buffer), b"moov"):
        for trak, trak_end in itertools.islice(_children(buffer, moov, moov_end, b"trak"), MOST_TRACKS):
            yield moov, moov_end, trak, trak_end


def _edit_list(buffer: memoryview, trak: int, trak_end: int) -> tuple[int, int] | None:
    for edts, edts_end in _children(buffer, trak, trak_end, b"edts"):
        for elst, elst_end in _children(buffer, edts, edts_end, b"elst"):
            width = _width(buffer, elst)
            if elst + 8 + width <= elst_end and _uint(buffer, elst + 4, 4):  # an entry
                flags = _uint(buffer, elst + 1, 3)
                return flags, _uint(buffer, elst + 8, width)
    return None


def _duration_field(buffer: memoryview, start: int, end: int, kind: bytes) -> memoryview | None:
    """The duration of the first `kind` header between start and end, in place, if it holds one: after
    its version, flags, times and the fields before it (_DURATION_AT in version 0; the times take 8 more
    bytes in version 1)."""
    for header, header_end in _children(buffer, start, end, kind):
        width = _width(buffer, header)
        at = header + _DURATION_AT[kind] + (8 if width == 8 else 0)
        return buffer[at:at + width] if at + width <= header_end else None
    return None


def colour_codes(data: bytes | memoryview) -> tuple[int, int] | None:
    """The colour primaries and transfer characteristics (ITU-T H.273) of what libavif decodes of an AVIF,
    from its nclx colour box (_decoded_boxes). None when it has none (libavif then reads the codes from the
    AV1 stream's sequence header, which is not read here)."""
    buffer = memoryview(data)
    return _nclx(buffer, _decoded_boxes(buffer))


def brightest_nits(data: bytes | memoryview) -> int | None:
    """How bright, in nits, the brightest pixel of what libavif decodes is (the MaxCLL of its clli box, beside
    its colour box); None when it does not say, or says 0 (unknown), or its box is cut (libavif refuses it)."""
    buffer = memoryview(data)
    for kind, payload, box_end in _decoded_boxes(buffer):
        if kind == b"clli" and payload + 4 <= box_end:
            return _uint(buffer, payload, 2) or None
    return None


def top_left_aperture(data: bytes | memoryview, size: tuple[int, int]) -> tuple[int, int] | None:
    """The width and height of the clean aperture (clap) of what libavif decodes of an AVIF `size` large, where it
    is cut from the picture's top-left corner, in whole pixels, and smaller than the picture: Chromium 156 shows
    such a picture cut so, and shows any other whole, an aperture centred or elsewhere included (by hand). None
    where there is no such aperture, or where libavif decodes a sequence's track."""
    buffer = memoryview(data)
    if _decodes_track(buffer, list(_tracks(buffer))):
        return None
    for kind, payload, box_end in _primary_item_boxes(buffer):
        if kind != b"clap" or payload + _CLAP.size > box_end:
            continue
        width_n, width_d, height_n, height_d, across_n, across_d, down_n, down_d = _CLAP.unpack_from(buffer, payload)
        if min(width_d, height_d, across_d, down_d) <= 0 or min(width_n, height_n) < 0:
            return None
        width, height = Fraction(width_n, width_d), Fraction(height_n, height_d)
        left = (size[0] - width) / 2 + Fraction(across_n, across_d)
        top = (size[1] - height) / 2 + Fraction(down_n, down_d)
        whole = width.denominator == height.denominator == 1 and 0 < width <= size[0] and 0 < height <= size[1]
        if whole and left == top == 0 and (width, height) != size:
            return int(width), int(height)
        return None
    return None


def _decoded_boxes(buffer: memoryview) -> Iterator[tuple[bytes, int, int]]:
    """The boxes that say how libavif decodes an AVIF: a sequence's colour track's, or the primary item's
    properties."""
    tracks = list(_tracks(buffer))
    if _decodes_track(buffer, tracks):
        return _colour_entry_boxes(buffer, tracks)
    return _primary_item_boxes(buffer)


def _decodes_track(buffer: memoryview, tracks: list[tuple[int, int, int, int]]) -> bool:
    """Whether libavif decodes a sequence's track: when the major brand is avis, or is not avif and there is one."""
    brand = _major_brand(buffer)
    return brand == b"avis" or (brand != b"avif" and bool(tracks))


def _major_brand(buffer: memoryview) -> bytes | None:
    for kind, payload, box_end in _boxes(buffer, 0, len(buffer)):
        return bytes(buffer[payload:payload + 4]) if kind == b"ftyp" and payload + 4 <= box_end else None
    return None


def set_colour_codes(buffer: memoryview, primaries: int, transfer: int) -> None:
    """Make the nclx colour boxes the picture is decoded with (the primary item's, and a sequence's colour
    track's) state these primaries and transfer characteristics, in place; an alpha plane's are left as
    they are. Matrix and range, which the pixels were coded with, stay. The AV1 stream's own sequence
    header still says what libavif wrote: the boxes override it (MIAF), as libavif reads them."""
    for boxes in _colour_entry_boxes(buffer, list(_tracks(buffer))), _primary_item_boxes(buffer):
        for payload in _nclx_payloads(buffer, boxes):
            colour_type, _, _, matrix, full_range = _NCLX.unpack_from(buffer, payload)
            _NCLX.pack_into(buffer, payload, colour_type, primaries, transfer, matrix, full_range)


class Crowded(ValueError):
    """An AVIF of more boxes in a container, tracks, items named or Exif extents than the limits."""


class Ambiguous(ValueError):
    """An AVIF of a box twice where libavif may read both and this module one (_only, _sample_table)."""


@dataclass(frozen=True)
class Survey:
    """What an AVIF holds that its caller bounds before Pillow opens it."""
    exif: list[bytes]  # what libavif may hand Pillow as Exif
    coded_sizes: list[tuple[int, int]]  # the largest frames dav1d may decode, from AV1 sequence and frame headers
    coded_pixels: int  # of all the frames dav1d may decode, each at its largest
    declared_sizes: list[tuple[int, int]]  # what libavif may scale a decoded frame to: ispe, grid, tkhd sizes


def survey(data: bytes, most_samples: int) -> Survey:
    """The Exif, the coded and the declared frame sizes of a file Pillow opens as AVIF (BRANDS), from one walk of
    its items.

    Crowded, first, for a file libavif would take too long to parse: more than MOST_BOXES boxes in a container
    on the way (MOST_ITEMS item infos in an iinf), MOST_TRACKS tracks, MOST_ITEMS items named by any one kind of
    table (iinf, iloc, ipma, iref) of the meta boxes that share a list of items, a track's sample table whose
    chunks and sample-to-chunk entries make more than MOST_CHUNK_LOOKUPS pairs, MOST_ITEMS extents of Exif items
    in all or of any one item, Exif items larger together than the file, as only overlapping extents make them,
    MOST_EXIF_ITEMS Exif items (2,048 of them took a helper's checks 6.9 s), MOST_EXTENTS extents of the items
    read, av01 items larger together than the file, more than MOST_OBUS OBUs in the av01 items and the samples
    read (and OBUS_A_FRAME for each of `most_samples`), or more than MOST_SEQUENCE_HEADERS different sequence
    headers among them. Ambiguous for a file of two of a box it holds one of, which libavif would read otherwise
    (_only, _sample_table).

    The Exif is each Exif item's payload after the offset of its TIFF header, from the file's meta box and its
    tracks'; libavif hands on the primary item's, or its track's. The coded sizes are those the sequence and
    frame headers give (_frame_sizes) of the av01 items, and of the first `most_samples` samples of each track:
    dav1d decodes the frame the bitstream gives, whatever size the item's ispe box or the track declares, which
    is all that Pillow and libavif check (3 KB declaring 100x100 over 16,000x16,000 took 1 s and 553 MB to
    render, 16,384x16,384 with alpha 3 s and 1.3 GB: a helper's measures). The declared sizes are what libavif
    scales a decoded frame to, which Pillow checks only for the image it reports: every ispe property of the
    meta boxes read, every grid item's output and every track header's size (a helper's 425-byte file, a 64x64
    tile under an ispe of 16,384x16,384, took 799 MB to render)."""
    if data[4:8] != b"ftyp" or data[8:12] not in BRANDS:
        return Survey([], [], 0, [])
    buffer = memoryview(data)
    exif_located, extents_located, coded, coded_length, declared = [], 0, [], 0, []
    for metas in _item_lists(buffer):
        for item_type, source, extents in _item_data(buffer, metas, (b"Exif", b"av01", b"grid")):
            pieces = [source[offset:offset + length] for offset, length in extents]
            if item_type == b"grid":
                declared += _grid_size(pieces)
            elif item_type == b"av01":
                # Each of its own bytes, as a track's first sample may share an item's; joined only then.
                coded_length += sum(len(piece) for piece in pieces)
                if coded_length > len(data):
                    raise Crowded("av01 items larger together than the file")
                coded.append([pieces[0] if len(pieces) == 1 else b"".join(pieces)])
            else:
                extents_located += len(extents)
                if extents_located > MOST_ITEMS:
                    raise Crowded(f"more than {MOST_ITEMS} extents of Exif items")
                exif_located.append(pieces)
                if len(exif_located) > MOST_EXIF_ITEMS:
                    raise Crowded(f"more than {MOST_EXIF_ITEMS} Exif items")
        declared += _property_sizes(buffer, metas)
    if sum(len(piece) for pieces in exif_located for piece in pieces) > len(data):
        raise Crowded("Exif items larger than the file")
    for _, _, trak, trak_end in _tracks(buffer):
        trak_boxes = _counted_boxes(buffer, trak, trak_end, "a track")
        declared += _track_sizes(buffer, trak_boxes)
        table = _sample_table(buffer, trak_boxes)
        _check_samples(buffer, table, most_samples)
        coded.append(list(_samples(buffer, table, most_samples)))
    frames = _frame_sizes(coded, MOST_OBUS + OBUS_A_FRAME * most_samples)
    # The Exif after the 32-bit offset of its TIFF header; libavif fails on less, and Pillow ignores an empty one.
    return Survey([payload[4:] for payload in map(b"".join, exif_located) if len(payload) > 4], frames.sizes,
                  frames.pixels, declared)


def _property_sizes(buffer: memoryview, metas: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The width and height of each ispe property of the meta boxes, whatever item it is associated with."""
    for meta, meta_end in metas:
        _, properties = _item_properties(buffer, _counted_boxes(buffer, meta, meta_end, "a meta box"))
        for kind, ispe, ispe_end in properties:
            if kind == b"ispe" and ispe + 12 <= ispe_end:  # after its version and flags
                yield _uint(buffer, ispe + 4, 4), _uint(buffer, ispe + 8, 4)


def _item_properties(buffer: memoryview, meta_boxes: list[tuple[bytes, int, int]]
                     ) -> tuple[list[tuple[bytes, int, int]], list[tuple[bytes, int, int]]]:
    """The boxes of a meta box's item properties box (iprp), and of the property container in it (ipco);
    none where it has none. libavif allocates for each property, so they are counted."""
    iprp_boxes, properties = [], []
    for iprp, iprp_end in _only(meta_boxes, b"iprp", "a meta box"):
        iprp_boxes = _counted_boxes(buffer, iprp, iprp_end, "an iprp box")
        for ipco, ipco_end in _only(iprp_boxes, b"ipco", "an iprp box"):
            properties = _counted_boxes(buffer, ipco, ipco_end, "an ipco box")
    return iprp_boxes, properties


def _grid_size(pieces: list[memoryview]) -> list[tuple[int, int]]:
    """A grid item's output width and height (HEIF ImageGrid: version, flags, rows and columns less one, then
    16-bit sizes, 32-bit with flag 1); none for one cut short."""
    head = bytes(itertools.islice(itertools.chain.from_iterable(pieces), 12))
    width = 4 if len(head) > 1 and head[1] & 1 else 2
    if len(head) < 4 + 2 * width:
        return []
    return [(int.from_bytes(head[4:4 + width]), int.from_bytes(head[4 + width:4 + 2 * width]))]


def _track_sizes(buffer: memoryview, trak_boxes: list[tuple[bytes, int, int]]) -> Iterator[tuple[int, int]]:
    """The width and height of each of a track's headers (tkhd), their whole part."""
    for kind, tkhd, tkhd_end in trak_boxes:
        at = tkhd + _TRACK_SIZE_AT + (12 if _width(buffer, tkhd) == 8 else 0)
        if kind == b"tkhd" and at + 8 <= tkhd_end:  # the size after the times, which version 1 makes wider
            yield _uint(buffer, at, 4) >> 16, _uint(buffer, at + 4, 4) >> 16


@dataclass(frozen=True)
class _Frames:
    sizes: list[tuple[int, int]]  # each size once
    pixels: int  # of every frame decoded, each at its size


def _frame_sizes(streams: list[list[bytes | memoryview]], most_obus: int) -> _Frames:
    """The largest frames dav1d may decode under the AV1 sequence and frame headers (AV1 5.5.1, 5.9.2) of each
    stream of items or samples, in the order dav1d takes them: an av01 item, or a track's samples.

    A sequence header declares a largest frame, and a frame header that does not override the frame size
    (frame_size_override_flag) is decoded at exactly that size. One that does gives its own size in fields as
    wide as its sequence header says, and dav1d does not hold it to the declared largest (8000x8000 under a header
    of at most 64x48 decoded, a helper's measure), so its bound is what those fields can hold. A frame header read
    before any sequence header of its stream, whose fields cannot be known, bounds every sequence header so, and
    counts as the largest of them. Crowded past `most_obus` OBUs in all, or MOST_SEQUENCE_HEADERS different
    sequence headers, each read once."""
    sizes: dict[tuple[int, int], None] = {}
    headers: dict[bytes, _SequenceHeader | None] = {}
    unknown, obus, pixels = 0, 0, 0
    for stream in streams:
        active = None
        for kind, payload in itertools.chain.from_iterable(map(_obus, stream)):
            obus += 1
            if obus > most_obus:
                raise Crowded(f"more than {most_obus} OBUs in its AV1 items and samples")
            if kind == _SEQUENCE_HEADER_OBU:
                fields = bytes(payload[:_MOST_SEQUENCE_HEADER_BYTES])
                if fields not in headers:
                    if len(headers) == MOST_SEQUENCE_HEADERS:
                        raise Crowded(f"more than {MOST_SEQUENCE_HEADERS} different AV1 sequence headers")
                    headers[fields] = _sequence_header(fields)
                active = headers[fields]
                if active is not None:
                    sizes[active.largest] = None
            elif kind in _FRAME_HEADER_OBUS:
                if active is None:
                    unknown += 1
                    continue
                overrides = _overrides_frame_size(payload[:_MOST_FRAME_HEADER_BYTES], active)
                if overrides is not None:
                    size = active.size_fields_hold if overrides else active.largest
                    sizes[size] = None
                    pixels += size[0] * size[1]
    if unknown:
        bounds = [header.size_fields_hold for header in headers.values() if header is not None]
        sizes.update(dict.fromkeys(bounds))
        pixels += unknown * max((width * height for width, height in bounds), default=0)
    return _Frames(list(sizes), pixels)


def _obus(unit: bytes | memoryview) -> Iterator[tuple[int, memoryview]]:
    """The type and payload of each OBU of an AV1 item or sample (AV1 5.3)."""
    coded, pos = memoryview(unit), 0
    while pos < len(coded):
        header = coded[pos]
        pos += 2 if header & 4 else 1  # the extension byte
        size, pos = _leb128(coded, pos) if header & 2 else (len(coded) - pos, pos)
        yield header >> 3 & 15, coded[pos:pos + size]
        pos += size


def _leb128(item: bytes | memoryview, pos: int) -> tuple[int, int]:
    """An OBU's size, 7 bits a byte, low first, in up to 8 bytes; and where the OBU's payload starts."""
    value = 0
    for index in range(8):
        if pos + index >= len(item):
            return len(item), len(item)
        value |= (item[pos + index] & 0x7F) << (7 * index)
        if not item[pos + index] & 0x80:
            return value, pos + index + 1
    return value, pos + 8


class _CutShort(ValueError):
    """Bits read past the end of a sequence header."""


class _Bits:
    """A big-endian bit reader (AV1's f(n), and past its uvlc())."""

    def __init__(self, data: bytes | memoryview):
        self._value, self._left = int.from_bytes(data), 8 * len(data)

    def read(self, count: int) -> int:
        if count > self._left:
            raise _CutShort
        self._left -= count
        return self._value >> self._left & ((1 << count) - 1)

    def skip_uvlc(self) -> None:
        """Past a variable-length number: its leading zeros, a one, then as many bits. Past 32 zeros it stops, as
        dav1d and libaom do (the spec would read on)."""
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros == 32:
                return
        self.read(zeros)


@dataclass(frozen=True)
class _SequenceHeader:
    """What an AV1 sequence header says of the frames under it, and how their frame headers are laid out."""
    largest: tuple[int, int]  # max_frame_width_minus_1 + 1, and height
    size_fields_hold: tuple[int, int]  # the largest frame a frame header may give (the largest, if reduced)
    reduced: bool  # reduced_still_picture_header: its frame headers have none of the fields below
    presentation_time_bits: int  # of a shown frame's temporal_point_info; 0 where it has none
    frame_id_bits: int  # 0 where frame_id_numbers_present_flag is not set
    screen_content_tools: int  # seq_force_screen_content_tools: 0, 1 or _SELECT, each frame header saying
    integer_mv: int  # seq_force_integer_mv, likewise


def _sequence_header(payload: bytes | memoryview) -> _SequenceHeader | None:
    """A sequence header OBU's payload (AV1 5.5.1) read as dav1d reads it, as far as its screen content tools;
    None where it is cut short, on which dav1d fails."""
    bits = _Bits(payload)
    try:
        bits.read(4)  # seq_profile, still_picture
        reduced = bits.read(1)  # reduced_still_picture_header: only seq_level_idx[0] follows
        presentation_time_bits = 0
        if reduced:
            bits.read(5)
        else:
            decoder_model, delay_bits = False, 0
            if bits.read(1):  # timing_info_present_flag
                bits.read(64)  # num_units_in_display_tick, time_scale
                equal_interval = bits.read(1)
                if equal_interval:
                    bits.skip_uvlc()
                decoder_model = bits.read(1)
                if decoder_model:
                    delay_bits = bits.read(5) + 1
                    bits.read(37)  # num_units_in_decoding_tick, buffer_removal_time_length_minus_1
                    presentation_time_length = bits.read(5) + 1
                    presentation_time_bits = 0 if equal_interval else presentation_time_length
            initial_display_delay = bits.read(1)
            for _ in range(bits.read(5) + 1):  # operating points
                bits.read(12)  # operating_point_idc
                if bits.read(5) > 7:  # seq_level_idx, then seq_tier
                    bits.read(1)
                if decoder_model and bits.read(1):  # decoder and encoder buffer delays, low delay mode
                    bits.read(2 * delay_bits + 1)
                if initial_display_delay and bits.read(1):
                    bits.read(4)
        width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
        largest = bits.read(width_bits) + 1, bits.read(height_bits) + 1
        frame_id_bits = 0
        if not reduced and bits.read(1):  # frame_id_numbers_present_flag
            frame_id_bits = bits.read(4) + 2 + bits.read(3) + 1  # the delta's length, then the additional
        bits.read(3)  # use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
        screen_content_tools = integer_mv = _SELECT
        if not reduced:
            bits.read(4)  # enable_interintra_compound, enable_masked_compound, enable_warped_motion, dual filter
            if bits.read(1):  # enable_order_hint
                bits.read(2)  # enable_jnt_comp, enable_ref_frame_mvs
            screen_content_tools = _SELECT if bits.read(1) else bits.read(1)
            if screen_content_tools:
                integer_mv = _SELECT if bits.read(1) else bits.read(1)
    except _CutShort:
        return None
    return _SequenceHeader(largest, largest if reduced else (1 << width_bits, 1 << height_bits), bool(reduced),
                           presentation_time_bits, frame_id_bits, screen_content_tools, integer_mv)


def _overrides_frame_size(payload: bytes | memoryview, header: _SequenceHeader) -> bool | None:
    """Whether a frame header (AV1 5.9.2, read as dav1d reads it) gives its own frame size: its
    frame_size_override_flag, always set for a switch frame; yes for one cut short; never under a reduced still
    picture header. None for a frame shown again (show_existing_frame), which is not decoded anew."""
    if header.reduced:
        return False
    bits = _Bits(payload)
    try:
        if bits.read(1):  # show_existing_frame
            return None
        frame_type, shown = bits.read(2), bits.read(1)
        if frame_type == _SWITCH_FRAME:
            return True
        bits.read(header.presentation_time_bits if shown else 1)  # temporal_point_info, or showable_frame
        if frame_type != _KEY_FRAME or not shown:
            bits.read(1)  # error_resilient_mode
        bits.read(1)  # disable_cdf_update
        screen_content = bits.read(1) if header.screen_content_tools == _SELECT else header.screen_content_tools
        if screen_content and header.integer_mv == _SELECT:
            bits.read(1)  # force_integer_mv
        bits.read(header.frame_id_bits)  # current_frame_id
        return bool(bits.read(1))
    except _CutShort:
        return True


def _item_lists(buffer: memoryview) -> Iterator[list[tuple[int, int]]]:
    """The meta boxes libavif reads, as lists of those that share its list of items, each meta box as
    where it starts (after its version and flags) and ends: the file's first meta box, and every meta
    box of each track of its movie, whose sample table is checked on the way. A later top-level meta box
    it does not read (60,000 items in one cost it nothing, by hand); a second movie is Ambiguous."""
    top = _counted_boxes(buffer, 0, len(buffer), "the file")
    yield _metas_among(top)[:1]
    for moov, moov_end in _only(top, b"moov", "a file"):
        traks = [(trak, trak_end) for kind, trak, trak_end in _counted_boxes(buffer, moov, moov_end, "a movie")
                 if kind == b"trak"]
        if len(traks) > MOST_TRACKS:
            raise Crowded(f"more than {MOST_TRACKS} tracks")
        for trak, trak_end in traks:
            boxes = _counted_boxes(buffer, trak, trak_end, "a track")
            _check_sample_table(buffer, boxes)
            _only(boxes, b"meta", "a track")  # Ambiguous for two
            yield _metas_among(boxes)


def _metas_among(boxes: list[tuple[bytes, int, int]]) -> list[tuple[int, int]]:
    return [(payload + 4, end) for kind, payload, end in boxes if kind == b"meta"]


def _check_sample_table(buffer: memoryview, trak_boxes: list[tuple[bytes, int, int]]) -> None:
    """Crowded for a track's sample table (mdia/minf/stbl) of more than MOST_BOXES sample descriptions
    (stsd), for each of which libavif allocates about a kilobyte, or whose chunks (stco, co64) times its
    sample-to-chunk entries (stsc) are more than MOST_CHUNK_LOOKUPS: for each chunk libavif looks its
    entry up from the last one back (60,000 of each, in 1 MB, took it 7.2 s)."""
    boxes = _sample_table(buffer, trak_boxes)
    for kind, stsd, stsd_end in boxes:
        if kind == b"stsd":
            _counted_boxes(buffer, stsd + 8, stsd_end, "an stsd box")  # after version, flags and entry count
    entries = {kind: _entries_held(buffer, payload, end, _TABLE_ENTRY_SIZES[kind])
               for kind, payload, end in boxes if kind in _TABLE_ENTRY_SIZES}
    chunks = max(entries.get(b"stco", 0), entries.get(b"co64", 0))
    if chunks * entries.get(b"stsc", 0) > MOST_CHUNK_LOOKUPS:
        raise Crowded(f"a sample table of more than {MOST_CHUNK_LOOKUPS} chunk lookups")


def _sample_table(buffer: memoryview, trak_boxes: list[tuple[bytes, int, int]]) -> list[tuple[bytes, int, int]]:
    """The boxes of a track's sample table (mdia/minf/stbl), none where it has none. Ambiguous for a track of
    two of a box on the way, or a table of two of the boxes that place its samples: libavif reads every one,
    adding up their entries (a helper's empty mdia before the real one hid an 8192x8192 frame from a survey
    that read the first)."""
    boxes = trak_boxes
    for container in _SAMPLE_TABLE_PATH[:-1]:
        found = _only(boxes, container, "a track")
        if not found:
            return []
        boxes = _counted_boxes(buffer, *found[0], f"an {container.decode()} box")
    for kinds in _SAMPLE_PLACING:
        if sum(kind in kinds for kind, _, _ in boxes) > 1:
            raise Ambiguous(f"a sample table of more than one {' or '.join(kind.decode() for kind in kinds)} box")
    return boxes


def _check_samples(buffer: memoryview, table: list[tuple[bytes, int, int]], most: int) -> None:
    """Crowded for a track whose sample table places more than `most` samples, or holds more time-to-sample
    entries (stts) than that, each of which holds a sample at least in a file Pillow may render whole. libavif
    lists every sample as Pillow opens the file (2,592,000 one-byte samples in one chunk took 650 MB before
    the frame limit refused them), and walks the stts entries for each frame it decodes (100,000 entries of no
    samples took 300 frames 7.1-8.5 s): a helper's measures."""
    if sum(1 for _ in _placements(buffer, table, most + 1)) > most:
        raise Crowded(f"a track of more than {most} samples")
    if any(kind == b"stts" and _entries_held(buffer, payload, end, 8) > most for kind, payload, end in table):
        raise Crowded(f"a track of more than {most} time-to-sample entries")


def _samples(buffer: memoryview, table: list[tuple[bytes, int, int]], most: int) -> Iterator[memoryview]:
    """The data of a track's first `most` samples (_placements), up to the first that the file does not hold."""
    for at, size in _placements(buffer, table, most):
        if at + size > len(buffer):
            return
        yield buffer[at:at + size]


def _placements(buffer: memoryview, table: list[tuple[bytes, int, int]], most: int) -> Iterator[tuple[int, int]]:
    """Where each of a track's first `most` samples starts and its size, as its sample table places them
    (ISO/IEC 14496-12, 8.7): chunk offsets (stco, co64), samples per chunk from a chunk on (stsc), sample sizes
    (stsz), as many as it holds, or one for all whatever count it declares, as libavif reads it (a helper's
    count of 0 hid 300 frames of 8192x8192 from a walk that held to it). A run of chunks of no samples is
    passed over whole."""
    tables = {kind: (payload, end) for kind, payload, end in table}
    if b"stsz" not in tables or b"stsc" not in tables or not {b"stco", b"co64"} & tables.keys():
        return
    offset_size = 4 if b"stco" in tables else 8
    chunk_table = tables[b"stco"] if offset_size == 4 else tables[b"co64"]
    chunks = _entries_held(buffer, *chunk_table, offset_size)
    # Each run holds a sample at least, but in a file no encoder writes: the first `most` samples need no more.
    run_count = min(_entries_held(buffer, *tables[b"stsc"], 12), most + 1)
    runs = [(_uint(buffer, at, 4), _uint(buffer, at + 4, 4))
            for at in range(tables[b"stsc"][0] + 8, tables[b"stsc"][0] + 8 + 12 * run_count, 12)]
    stsz, stsz_end = tables[b"stsz"]
    if stsz + 12 > stsz_end:
        return
    constant_size, sizes_at = _uint(buffer, stsz + 4, 4), stsz + 12
    # the sizes follow the count as a table's entries do
    count = most if constant_size else min(_entries_held(buffer, stsz + 4, stsz_end, 4), most)
    sample = 0
    for index, (first_chunk, per_chunk) in enumerate(runs):
        last_chunk = min(runs[index + 1][0] - 1 if index + 1 < len(runs) else chunks, chunks)
        for chunk in range(first_chunk, last_chunk + 1) if per_chunk else ():
            at = _uint(buffer, chunk_table[0] + 8 + (chunk - 1) * offset_size, offset_size)
            for _ in range(per_chunk):
                if sample >= count:
                    return
                size = constant_size or _uint(buffer, sizes_at + 4 * sample, 4)
                yield at, size
                at, sample = at + size, sample + 1


def _entries_held(buffer: memoryview, payload: int, end: int, entry_size: int) -> int:
    """The entries a table declares (a 32-bit count after its version and flags), as many as it holds."""
    return min(_uint(buffer, payload + 4, 4), max(end - payload - 8, 0) // entry_size) if payload + 8 <= end else 0


def _item_data(buffer: memoryview, metas: list[tuple[int, int]], item_types: tuple[bytes, ...]
               ) -> Iterator[tuple[bytes, memoryview, list[tuple[int, int]]]]:
    """(its type, the bytes its extents lie in, the offset and length of each of its extents) of each item of
    these types the meta boxes name and locate by file offsets or in their idat (libavif reads no other construction,
    and takes every data reference for this file); Crowded past MOST_ITEMS items named by a kind of
    table in all of them, which share libavif's list of items, or extents of one item, or past MOST_EXTENTS
    extents of these items (2,048 items of 2,048 empty extents each took a helper's survey 6.8 s). An item
    libavif cannot read (cut short, elsewhere) is left out: libavif fails on it, and so does Pillow's open."""
    children = {meta: _counted_boxes(buffer, meta, meta_end, "a meta box") for meta, meta_end in metas}
    tables = {kind: [(meta, payload, end) for meta, boxes in children.items() for found, payload, end in boxes
                     if found == kind] for kind in (b"iinf", b"iloc", b"iref", b"idat")}
    tables[b"ipma"] = []
    for meta, boxes in children.items():
        iprp_boxes, _ = _item_properties(buffer, boxes)
        tables[b"ipma"] += [(meta, payload, end) for kind, payload, end in iprp_boxes if kind == b"ipma"]
    for kind, count in _ITEMS_NAMED.items():
        if sum(count(buffer, payload, end) for _, payload, end in tables[kind]) > MOST_ITEMS:
            raise Crowded(f"more than {MOST_ITEMS} items named in its {kind.decode()} boxes")
    typed = {item: item_type for _, iinf, iinf_end in tables[b"iinf"]
             for item, item_type in _item_types(buffer, iinf, iinf_end) if item_type in item_types}
    # Construction method 1 locates an item in its own meta box's idat (libavif refuses a second one).
    idats = {meta: buffer[idat:idat_end] for meta, idat, idat_end in tables[b"idat"]}
    extents_read = 0
    for meta, iloc, iloc_end in tables[b"iloc"]:
        sources = {0: buffer, 1: idats.get(meta)}  # by construction method: offsets in the file, or in idat
        for item, method, extents in _item_locations(buffer, iloc, iloc_end, typed.keys()):
            extents_read += len(extents)
            if extents_read > MOST_EXTENTS:
                raise Crowded(f"more than {MOST_EXTENTS} extents of the items read")
            source = sources.get(method)
            if source is not None and all(offset + length <= len(source) for offset, length in extents):
                yield typed[item], source, extents


def _uint(buffer: memoryview, at: int, size: int) -> int:
    return int.from_bytes(buffer[at:at + size])


def _items_in_iinf(buffer: memoryview, iinf: int, iinf_end: int) -> int:
    """The entries an iinf declares: a 16-bit count in version 0, else 32."""
    width = 2 if iinf < iinf_end and buffer[iinf] == 0 else 4
    return _uint(buffer, iinf + 4, width) if iinf + 4 + width <= iinf_end else 0


def _items_in_iloc(buffer: memoryview, iloc: int, iloc_end: int) -> int:
    """The items an iloc declares it locates: a 16-bit count before version 2, else 32, after the sizes."""
    width = 4 if iloc < iloc_end and buffer[iloc] == 2 else 2
    return _uint(buffer, iloc + 6, width) if iloc + 6 + width <= iloc_end else 0


def _items_in_ipma(buffer: memoryview, ipma: int, ipma_end: int) -> int:
    return _uint(buffer, ipma + 4, 4) if ipma + 8 <= ipma_end else 0


def _items_in_iref(buffer: memoryview, iref: int, iref_end: int) -> int:
    """The items an iref names: each reference's from-item and its to-items (a 16-bit count after the
    from-item, whose ID takes 16 bits in version 0, else 32)."""
    width = 2 if iref < iref_end and buffer[iref] == 0 else 4
    return sum(1 + _uint(buffer, payload + width, 2)
               for _, payload, end in _counted_boxes(buffer, iref + 4, iref_end, "an iref box")
               if payload + width + 2 <= end)


_ITEMS_NAMED = {b"iinf": _items_in_iinf, b"iloc": _items_in_iloc, b"ipma": _items_in_ipma, b"iref": _items_in_iref}


def _item_types(buffer: memoryview, iinf: int, iinf_end: int) -> Iterator[tuple[int, bytes]]:
    """The ID and type of each item an iinf's item info entries (infe, from version 2: item ID of 16 bits, 32
    from version 3, protection index, type) name, as many as it declares: libavif reads no more (a helper's infe
    past them, retyping an av01 item as Exif, hid its frame)."""
    first = iinf + 4 + (2 if iinf < iinf_end and buffer[iinf] == 0 else 4)
    declared = _items_in_iinf(buffer, iinf, iinf_end)
    for kind, infe, infe_end in _counted_boxes(buffer, first, iinf_end, "an iinf box", MOST_ITEMS)[:declared]:
        if kind != b"infe" or infe >= infe_end or buffer[infe] < 2:
            continue
        width = 2 if buffer[infe] == 2 else 4
        kind_at = infe + 4 + width + 2
        if kind_at + 4 <= infe_end:
            yield _uint(buffer, infe + 4, width), bytes(buffer[kind_at:kind_at + 4])


def _item_locations(buffer: memoryview, iloc: int, iloc_end: int, items: Collection[int]
                    ) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    """(item, construction method, [(offset, length) of each extent]) of each of `items` the iloc locates
    (ISO/IEC 14496-12, 8.11.3), up to the first entry cut short; Crowded for one of more than MOST_ITEMS
    extents. Its fields' sizes are 0, 4 or 8 bytes (libavif refuses others)."""
    version = buffer[iloc] if iloc < iloc_end else 0
    id_width = 4 if version == 2 else 2
    at = iloc + 6 + id_width
    if version > 2 or at > iloc_end:
        return
    offset_size, length_size = buffer[iloc + 4] >> 4, buffer[iloc + 4] & 15
    base_size, index_size = buffer[iloc + 5] >> 4, buffer[iloc + 5] & 15 if version else 0
    if not {offset_size, length_size, base_size, index_size} <= _LOCATION_FIELD_SIZES:
        return
    method_width, extent_size = (2 if version else 0), index_size + offset_size + length_size
    for _ in range(_items_in_iloc(buffer, iloc, iloc_end)):
        item, at = _uint(buffer, at, id_width), at + id_width
        # Its 12 reserved bits too: with one set, libavif hands on no Exif (by hand).
        method, at = _uint(buffer, at, method_width), at + method_width
        base = _uint(buffer, at + 2, base_size)  # after the data reference index
        extent_count, at = _uint(buffer, at + 2 + base_size, 2), at + 2 + base_size + 2
        extents_end = at + extent_count * extent_size
        if extents_end > iloc_end:  # the entry cut short, whatever its fields read past the iloc
            return
        if item in items:
            if extent_count > MOST_ITEMS:
                raise Crowded(f"an item of more than {MOST_ITEMS} extents")
            yield item, method, [
                (base + _uint(buffer, extent + index_size, offset_size),
                 _uint(buffer, extent + index_size + offset_size, length_size))
                for extent in range(at, extents_end, extent_size or 1)]  # fields of no size: no extents
        at = extents_end


def _nclx(buffer: memoryview, boxes: Iterator[tuple[bytes, int, int]]) -> tuple[int, int] | None:
    for payload in _nclx_payloads(buffer, boxes):
        _, primaries, transfer, _, _ = _NCLX.unpack_from(buffer, payload)
        return primaries, transfer
    return None


def _nclx_payloads(buffer: memoryview, boxes: Iterator[tuple[bytes, int, int]]) -> Iterator[int]:
    """Where each whole nclx colour box among `boxes` starts its payload."""
    for kind, payload, box_end in boxes:
        if kind == b"colr" and payload + _NCLX.size <= box_end and buffer[payload:payload + 4] == b"nclx":
            yield payload


def _colour_entry_boxes(buffer: memoryview, tracks: list[tuple[int, int, int, int]]
                        ) -> Iterator[tuple[bytes, int, int]]:
    """The boxes in the first AV1 sample entry of the first track that has one and is not auxiliary (an
    alpha track refers to its colour track by tref/auxl): the entry libavif decodes the colour with."""
    for _, _, trak, trak_end in tracks:
        if any(True for tref, tref_end in _children(buffer, trak, trak_end, b"tref")
               for _ in _children(buffer, tref, tref_end, b"auxl")):
            continue
        for entry, entry_end in _av1_entries(buffer, trak, trak_end):
            yield from _boxes(buffer, entry + _VISUAL_SAMPLE_ENTRY_FIELDS, entry_end)
            return


def _av1_entries(buffer: memoryview, trak: int, trak_end: int) -> Iterator[tuple[int, int]]:
    """The payloads of the track's AV1 sample entries."""
    start, end = trak, trak_end
    for kind in _SAMPLE_TABLE_PATH:
        start, end = next(_children(buffer, start, end, kind), (end, end))
    yield from _children(buffer, start + 8, end, b"av01")  # after version, flags and the entry count


def _primary_item_boxes(buffer: memoryview) -> Iterator[tuple[bytes, int, int]]:
    """The properties (ipco) the primary item (pitm) is associated with (ipma), in the file's first meta box, in
    the order ipma associates them: libavif copies them to the item in that order, and takes the first of a kind
    (avifPropertyArrayFind: a clap's, a clli's), whatever order ipco stores them in."""
    meta, meta_end = next(_children(buffer, 0, len(buffer), b"meta"), (0, 0))
    meta += 4  # after its version and flags
    primary = _primary_item(buffer, meta, meta_end)
    for iprp, iprp_end in _children(buffer, meta, meta_end, b"iprp"):
        indices = dict.fromkeys(index for ipma, ipma_end in _children(buffer, iprp, iprp_end, b"ipma")
                                for index in _associations(buffer, ipma, ipma_end, primary))
        for ipco, ipco_end in _children(buffer, iprp, iprp_end, b"ipco"):
            stored = dict(enumerate(_boxes(buffer, ipco, ipco_end), start=1)) if indices else {}
            yield from (stored[index] for index in indices if index in stored)


def _associations(buffer: memoryview, ipma: int, ipma_end: int, item: int | None) -> Iterator[int]:
    """The property indices ipma associates with `item`: item IDs and indices are wider from version 1
    and with flag 1 respectively; each index's top bit says whether the property is essential."""
    if ipma + 8 > ipma_end:
        return
    version, wide_indices = buffer[ipma], buffer[ipma + 3] & 1
    id_width, index_width = 2 if version == 0 else 4, 2 if wide_indices else 1
    at = ipma + 8
    for _ in range(min(_items_in_ipma(buffer, ipma, ipma_end), MOST_ITEMS)):
        if at + id_width + 1 > ipma_end:
            return
        entry_item, count = _uint(buffer, at, id_width), buffer[at + id_width]
        at += id_width + 1
        if at + count * index_width > ipma_end:
            return
        if entry_item == item:
            for index_at in range(at, at + count * index_width, index_width):
                yield _uint(buffer, index_at, index_width) & ~(1 << 8 * index_width - 1)
        at += count * index_width


def _primary_item(buffer: memoryview, meta: int, meta_end: int) -> int | None:
    """The primary item's ID (pitm): 16 bits after the box's version and flags, 32 from version 1."""
    for pitm, pitm_end in _children(buffer, meta, meta_end, b"pitm"):
        width = 4 if pitm < pitm_end and buffer[pitm] else 2
        return _uint(buffer, pitm + 4, width) if pitm + 4 + width <= pitm_end else None
    return None


def _width(buffer: memoryview, payload: int) -> int:
    """The width of a full box's times and durations: 64-bit from version 1."""
    return 8 if payload < len(buffer) and buffer[payload] == 1 else 4


def _children(buffer: memoryview, start: int, end: int, kind: bytes) -> Iterator[tuple[int, int]]:
    for found, payload, box_end in _boxes(buffer, start, end):
        if found == kind:
            yield payload, box_end


def _boxes(buffer: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, where its payload starts, where it ends) of each box from start to end, up to the
    first that is malformed, or the MOST_BOXES-th: libavif wrote no such box, and the rest is left as it is."""
    return itertools.islice(_every_box(buffer, start, end), MOST_BOXES)


def _counted_boxes(buffer: memoryview, start: int, end: int, container: str, most: int | None = None
                   ) -> list[tuple[bytes, int, int]]:
    """The boxes from start to end, as _boxes finds them; Crowded past `most` of them (MOST_BOXES)."""
    most = MOST_BOXES if most is None else most
    boxes = list(itertools.islice(_every_box(buffer, start, end), most + 1))
    if len(boxes) > most:
        raise Crowded(f"more than {most} boxes in {container}")
    return boxes


def _only(boxes: list[tuple[bytes, int, int]], kind: bytes, container: str) -> list[tuple[int, int]]:
    """Where the payload of the box of this kind among a container's boxes starts and ends, if it has one.
    Ambiguous where it holds more than one: legitimate files do not, libavif reads them otherwise than this
    module, and a walk of each would multiply (16 tracks of 999 meta boxes each took a helper's checks 7.2 s)."""
    found = [(payload, end) for found_kind, payload, end in boxes if found_kind == kind]
    if len(found) > 1:
        raise Ambiguous(f"{container} of more than one {kind.decode()} box")
    return found


def _every_box(buffer: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
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
