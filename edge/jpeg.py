"""A JPEG's frame header and the size of its coded data, read from the markers without
decoding a pixel: enough to tell that the data is too short for the size it declares.

libjpeg does not fail on a scan that ends early at an end-of-image marker, nor on corrupt
coded data: it warns, fills what it could not read with mid-grey, and Pillow ignores its
warnings. So 300 bytes that declare 7000x7000 would decode to 49 MP of grey, and that
derivative would be stored. But in Huffman-coded DCT data every 8x8 block of every
component costs at least a bit (its DC difference is a Huffman code, and none is shorter),
and in a sequential frame a second one (the end-of-block code, or its AC coefficients').
Coded data shorter than that cannot be the whole image. It is a floor, far below what a
photograph takes (1-5% of it): a scan cut later still decodes, grey below the cut, or
blurred where a progressive file lost its last scans. Only libjpeg's warnings could tell.
"""

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

# Huffman-coded DCT frames: baseline, extended sequential, progressive. Arithmetic coding
# (0xC9-0xCB) has no such floor, and a lossless frame (0xC3) another one: not judged.
_SEQUENTIAL_FRAMES, _PROGRESSIVE_FRAME = frozenset({0xC0, 0xC1}), 0xC2
_OTHER_FRAMES = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_START_OF_SCAN, _END_OF_IMAGE, _TEM = 0xDA, 0xD9, 0x01
# Reserved codes, whose layout this cannot know: the file is then not judged.
_RESERVED = frozenset({*range(0x02, 0xC0), 0xC8})
# In coded data, 0xFF is followed by 0x00 (a stuffed byte), a restart marker, another 0xFF
# (fill), or the marker that ends the scan.
_MARKER_IN_CODED_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_BLOCK = 8
# Markers Pillow's header walk takes without a length (JPG, RST0-7, SOI, EOI, JPG0-13); it fails on
# codes below 0xC0, and skips every other marker's segment by its length.
_PILLOW_STANDALONE = frozenset({0xC8, *range(0xD0, 0xDA), *range(0xF0, 0xFE)})
_FILL = re.compile(rb"\xff+")
_APP1, _EXIF_HEADER = 0xE1, b"Exif\x00\x00"
_APP2, _ICC_HEADER = 0xE2, b"ICC_PROFILE\x00"
_ICC_OVERHEAD = len(_ICC_HEADER) + 2  # then the segment's sequence number and the count of segments
_ICC_STUB_RENAMED = b"ICC_STUB\x00\x00\x00\x00"  # as long as _ICC_HEADER, which Pillow no longer recognises
# Segments whose inside Pillow's handlers walk in Python: a frame header a step per component (3 bytes),
# a quantization table a step per byte, a Photoshop segment a step per resource (12 bytes at least).
# Pillow reads DHP (0xDE, define hierarchical progression) as a frame header too.
_PILLOW_FRAME_HEADERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xDE})
_DQT, _APP13, _PHOTOSHOP_HEADER = 0xDB, 0xED, b"Photoshop 3.0"
_ARITHMETIC_FRAMES = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_ARITHMETIC_FRAME_MARKER = re.compile(rb"\xff[" + re.escape(bytes(sorted(_ARITHMETIC_FRAMES))) + rb"]")
_PILLOW_LAYERS = frozenset({1, 3, 4})  # the components a frame may have for Pillow: L, RGB, CMYK
# Sequential DCT frames, Huffman- or arithmetic-coded: a first scan of all their components is libjpeg's only one.
_ONE_PASS_FRAMES = frozenset({0xC0, 0xC1, 0xC9})
MOST_SEGMENTS_BETWEEN_SCANS = 10_000
_SCAN_MARKER = b"\xff\xda"
# What libjpeg does with each code before a frame header (jdmarker.c's read_markers), indexed by the code: it reads
# a frame header, whatever its coding (it fails on some codings itself); reads or skips by their lengths the segments
# of DHT, DAC, DQT, DNL, DRI, APPn and COM; passes over RST0-7 and TEM, which have none; and fails on any other code
# (a scan, the image's end, a second start of image, a code it does not know).
_FAILS, _FRAME_HEADER, _SEGMENT, _PASSED_OVER = range(4)
_BEFORE_FRAME = bytes(
    _FRAME_HEADER if code in {*_SEQUENTIAL_FRAMES, _PROGRESSIVE_FRAME, *_OTHER_FRAMES}
    else _SEGMENT if code in {0xC4, 0xCC, 0xDB, 0xDC, 0xDD, *range(0xE0, 0xF0), 0xFE}
    else _PASSED_OVER if code in {*range(0xD0, 0xD8), _TEM}
    else _FAILS
    for code in range(256))
# The next marker, as libjpeg finds it: past junk and fill bytes, a stuffed zero taken as junk. Sought as the last
# 0xFF of a run, which ends where the first does: as the first (\xff+), re retried the rest of the run from each 0xFF
# of one that ends in a stuffed zero, 100,000 of them 71 s.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xff]")
_MARKER_AND_LENGTH, _HEIGHT_AND_WIDTH = struct.Struct(">BBH"), struct.Struct(">HH")


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]  # each component's (horizontal, vertical) sampling factors
    progressive: bool
    data_offset: int  # where the first scan's coded data begins

    def blocks(self) -> int:
        """The 8x8 blocks of every component, as sampled (a subsampled component has fewer)."""
        most_h = max(h for h, _ in self.sampling)
        most_v = max(v for _, v in self.sampling)
        return sum(
            _ceil_div(_ceil_div(self.width * h, most_h), _BLOCK) * _ceil_div(_ceil_div(self.height * v, most_v), _BLOCK)
            for h, v in self.sampling
        )

    def least_coded_bytes(self) -> int:
        """The least coded data that can hold every block: two bits each in a sequential frame, one in a
        progressive one (whose scans after the first, of DC values, may all be left out)."""
        return _ceil_div(self.blocks() * (1 if self.progressive else 2), 8)


def too_short(data: bytes, most_steps: int) -> Frame | None:
    """The frame of a JPEG whose coded data is shorter than its size needs; None when it is long
    enough, or when this cannot judge (not a Huffman-coded DCT JPEG, or markers it does not read)."""
    frame = huffman_frame(data, most_steps)
    if frame is None or _coded_data_reaches(data, frame.data_offset, frame.least_coded_bytes()):
        return None
    return frame


def huffman_frame(data: bytes, most_steps: int) -> Frame | None:
    """The Huffman-coded DCT frame of a JPEG, or None when there is none, when the markers before the first
    scan are not what this reads, or are more than `most_steps` (Pillow, more lenient, then decides alone)."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, frame = 2, None
    # Bounded on its own: Pillow's walk before it does not bound this one, whose fill bytes are a step each, where a
    # length that only this walk reads (a JPGn marker's) lands it in an APP1 that Pillow skips whole.
    for _ in range(most_steps):
        if pos + 4 > len(data):
            return None
        if data[pos] != 0xFF:  # junk where a marker belongs, which libjpeg and Pillow skip to the next 0xFF
            pos = data.find(b"\xff", pos)
            if pos < 0:
                return None
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte before a marker
            pos += 1
            continue
        if marker == 0x00:  # a stuffed zero where a marker belongs: junk too
            pos += 2
            continue
        if 0xD0 <= marker <= 0xD7 or marker == _TEM:
            pos += 2
            continue
        if marker == _END_OF_IMAGE or marker in _OTHER_FRAMES:
            return None
        end = _segment_end(data, pos)
        if end is None:
            return None
        if marker in _SEQUENTIAL_FRAMES or marker == _PROGRESSIVE_FRAME:
            frame = _frame(data[pos + 4 : end], progressive=marker == _PROGRESSIVE_FRAME)
            if frame is None:
                return None
        if marker == _START_OF_SCAN:
            return None if frame is None else Frame(*frame, data_offset=end)
        pos = end
    return None


class HeaderTooLong(ValueError):
    """A header Pillow would take more steps to walk than allowed."""


@dataclass(frozen=True)
class PillowHeader:
    """What Pillow reads of a JPEG's header, up to its first scan, as it opens it."""
    size: tuple[int, int] | None  # None where Pillow fails to open it
    exif: list[bytes]  # the pieces of Exif it gathers, in the order it appends them
    # Where each APP2 ICC segment before the first scan holds its number, count and piece (icc_profile).
    icc: list[tuple[int, int]]
    # Where each ICC segment too short to hold its number and count begins: Chromium passes over it, and Pillow,
    # indexing past its end as it reads the frame header, fails to open the file (icc_stubs_hidden).
    icc_stubs: list[int]
    first_scan: int | None = None  # where the first scan's header begins, when the walk reached it
    arithmetic: bool = False  # whether its last frame header is of an arithmetic-coded frame
    # Whether libjpeg decodes the first scan alone: the header's one frame is sequential and that scan holds all its
    # components. libjpeg then decodes as it reads, in one pass, and fails on any later scan instead of decoding it.
    first_scan_alone: bool = False


def pillow_header(data: bytes, most_steps: int) -> PillowHeader:
    """The header of a JPEG (or of its first bytes) as Pillow walks it, in one walk that counts its
    steps: HeaderTooLong past `most_steps`. Pillow reads a byte at a time where no marker is (junk, and
    fill bytes before one), and calls Python for each marker, keeping every application segment: 40 MiB
    of tiny segments, or of junk, take it many seconds and, for segments, gigabytes. Here each run of
    junk or fill is skipped at once and counted as the steps Pillow takes through it, so that this
    takes at most `most_steps` steps itself.

    The size is the last frame header's, None where Pillow fails to open the bytes: no frame header, a
    segment cut short by their end (the first scan's header too), a frame header of samples other than
    8 bits, of a layer count it has no mode for, or of no width or height, or a code it does not know;
    Pillow stops there, so the walk does too, with the Exif Pillow had gathered. What Pillow fails on
    inside other segments (a quantization table cut short) still gives a size here: the whole file is
    refused either way, once Pillow opens it. The Exif is the first APP1 Exif segment whole, then each
    later one's payload after its "Exif" header."""
    exif, icc, icc_stubs, frames = [], [], [], []  # each frame header's code, height, width and layers
    for steps, marker, start, end, cut in _pillow_walk(data):
        if steps > most_steps:
            raise HeaderTooLong(f"more than {most_steps} steps")
        if marker == _START_OF_SCAN:  # where the walk stops, once Pillow has read the scan header
            length = int.from_bytes(data[start:start + 2])
            whole = start + max(length, 2) <= len(data)
            layers = data[start + 2] if whole and length > 2 else None  # the scan's components, after its length
            return PillowHeader(_last_frame_size(frames) if whole else None, exif, icc, icc_stubs,
                                start - 2,  # at its 0xFF
                                bool(frames) and frames[-1][0] in _ARITHMETIC_FRAMES,
                                len(frames) == 1 and frames[0][0] in _ONE_PASS_FRAMES and frames[0][3] == layers)
        if cut or (marker < 0xC0 and marker != 0x00):
            return PillowHeader(None, exif, icc, icc_stubs)
        if marker in _PILLOW_FRAME_HEADERS:
            frame = data[start:end]
            if len(frame) < 6 or (len(frame) - 6) % 3 or frame[0] != 8 or frame[5] not in _PILLOW_LAYERS:
                return PillowHeader(None, exif, icc, icc_stubs)
            frames.append((marker, *struct.unpack_from(">HHB", frame, 1)))
        if marker == _APP1 and data.startswith(_EXIF_HEADER, start):
            exif.append(data[start + (len(_EXIF_HEADER) if exif else 0):end])
        if marker == _APP2 and data.startswith(_ICC_HEADER, start, end):
            if end - start >= _ICC_OVERHEAD:
                icc.append((start + len(_ICC_HEADER), end))
            else:
                icc_stubs.append(start)
    return PillowHeader(_last_frame_size(frames), exif, icc, icc_stubs)


def icc_stubs_hidden(data: bytes, header: PillowHeader) -> bytes:
    """The JPEG with its ICC stubs (PillowHeader.icc_stubs) renamed, for Pillow to open it as Chromium shows it:
    Pillow then keeps them as other application segments. Its own ICC profile is not read (icc_profile is)."""
    if not header.icc_stubs:
        return data
    renamed = bytearray(data)
    for start in header.icc_stubs:
        renamed[start:start + len(_ICC_HEADER)] = _ICC_STUB_RENAMED
    return bytes(renamed)


def icc_profile(data: bytes, segments: list[tuple[int, int]]) -> bytes | None:
    """The ICC profile a JPEG's APP2 segments hold (where `segments` say: each its number, their count, then a
    piece), put together as Skia puts it for Chromium 156 (SkJpegMetadataDecoderImpl; a helper's measure): a
    segment of no piece is passed over, the first of the others gives the count, and a count of 0, a number of 0
    or past it, another count or a number twice before all are found gives none, as does one missing. Pillow
    takes only those before the frame header, and checks only that their count is the first one's."""
    pieces: dict[int, bytes] = {}
    count = 0
    for start, end in segments:
        if end - start <= 2:
            continue
        number, of = data[start], data[start + 1]
        count = count or of
        if not 0 < number <= of or of != count or number in pieces:
            return None
        pieces[number] = data[start + 2:end]
        if len(pieces) == count:
            return b"".join(pieces[number] for number in range(1, count + 1))
    return None


def _last_frame_size(frames: list[tuple[int, int, int, int]]) -> tuple[int, int] | None:
    """The width and height of the last frame header Pillow read, which it takes; None where there is none,
    or where either is 0."""
    if not frames:
        return None
    _, height, width, _ = frames[-1]
    return (width, height) if width and height else None


def scans(data: bytes, header: PillowHeader) -> list[int] | None:
    """How many components each scan of a JPEG that libjpeg decodes holds, from its first (header.first_scan)
    up to its end-of-image marker or the data's end. libjpeg decodes every scan of a multi-scan frame over all
    the blocks of its components, at any draft scale, and only warns where scans repeat: 10,000 copies of one
    tiny scan in a 7000x7000 picture, half a MB, took it 12 s, 350,000 in a 2000x2000 one, 4 MiB, 35 s; at
    49 MP a scan costs it about 18 ms a component, or up to 87 ms arithmetic-coded (a helper's measures).
    None past MOST_SEGMENTS_BETWEEN_SCANS segments, which libjpeg reads on and this does not walk.

    Where the first scan is decoded alone (header.first_scan_alone: a baseline photograph's), the coded data is
    not searched, which takes 2-10 ms for 3-13 MB: 0, 10 or 50 copies of a 12 MB scan after a 16 MP one
    decoded in the same 160-170 ms (by hand)."""
    components, pos = [], header.first_scan
    for _ in range(MOST_SEGMENTS_BETWEEN_SCANS):
        end = _marker_end(data, pos)
        if end is None:  # a reserved code, or the data's end: libjpeg reads no further scan
            return components
        if data[pos + 1] == _START_OF_SCAN:
            components.append(data[pos + 4] if pos + 4 < end else 0)  # after the segment's length
            if header.first_scan_alone:
                return components
        found = _MARKER_IN_CODED_DATA.search(data, end)
        if found is None or data[found.start() + 1] == _END_OF_IMAGE:
            return components
        pos = found.start()
    return None


def most_scans(data: bytes, start: int, end: int) -> tuple[int, bool]:
    """At most how many scans libjpeg decodes from the JPEG stream data[start:end] (a TIFF's strip or tile),
    and whether they may be arithmetic-coded, found in C without a walk: each scan header's marker is in
    the stream, and an arithmetic-coded frame's header before the first. The same bytes inside other
    segments count too, so both may be more than libjpeg reads."""
    first_scan = data.find(_SCAN_MARKER, start, end)  # -1 where there is none: nothing to search, nor to decode
    return data.count(_SCAN_MARKER, start, end), _ARITHMETIC_FRAME_MARKER.search(data, start, first_scan) is not None


def frame_size(data: bytes, start: int, end: int, most_markers: int) -> tuple[int, int] | None:
    """The width and height that the first frame header of the JPEG stream data[start:end] (a TIFF's strip or tile)
    declares, found as libjpeg reads it for libtiff (jdmarker.c's read_markers): right after its start-of-image
    marker, past junk, fill bytes and the segments it reads or skips by their lengths. None where libjpeg fails
    first: no start-of-image marker, or a scan, the image's end, a second start of image or a code it does not know
    before a frame header, or a segment that runs past `end` (libtiff then hands it an end of image); and where the
    frame header is not among the first `most_markers` markers, a run of junk counted with the marker after it. The
    first frame header is the one libjpeg decodes: it fails on a second."""
    end = min(end, len(data))
    if not data.startswith(b"\xff\xd8", start, end):
        return None
    pos = start + 2
    for _ in range(most_markers):
        if pos + 4 > end:
            return None
        fill, marker, length = _MARKER_AND_LENGTH.unpack_from(data, pos)
        if fill != 0xFF or marker in (0x00, 0xFF):  # junk, fill bytes or a stuffed zero, which libjpeg skips
            found = _NEXT_MARKER.search(data, pos, end)
            if found is None or found.end() + 2 > end:
                return None
            pos = found.end() - 2  # at its last 0xFF
            marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4])
        kind = _BEFORE_FRAME[marker]
        if kind == _PASSED_OVER:
            pos += 2
            continue
        segment_end = pos + 2 + max(length, 2)  # a length of 0 or 1 read as 2, as libjpeg reads it
        if kind == _FAILS or segment_end > end:
            return None
        if kind == _FRAME_HEADER:
            if length < 7:  # too short for its length, precision, height and width: libjpeg fails
                return None
            height, width = _HEIGHT_AND_WIDTH.unpack_from(data, pos + 5)
            return width, height
        pos = segment_end
    return None


def _pillow_walk(data: bytes) -> Iterator[tuple[int, int, int, int, bool]]:
    """(steps so far, marker, where its segment's payload starts, where it ends, whether the data ends
    first) for each marker of Pillow's walk up to the first scan; a standalone marker's payload is empty."""
    if data[:3] != b"\xff\xd8\xff":  # all that Pillow opens as a JPEG
        return
    steps, pos = 0, 2
    while pos < len(data):
        if data[pos] != 0xFF:  # junk
            found = data.find(b"\xff", pos)
            end = len(data) if found < 0 else found
            steps, pos = steps + end - pos, end
            continue
        marker_at = _FILL.match(data, pos).end()  # past the fill bytes, and the marker's own 0xFF
        steps += marker_at - pos
        if marker_at == len(data):
            yield steps, 0, marker_at, marker_at, False
            return
        marker = data[marker_at]
        if marker == _START_OF_SCAN or (marker < 0xC0 and marker != 0x00):  # done, or Pillow fails here
            yield steps, marker, marker_at + 1, marker_at + 1, False
            return
        if marker == 0x00 or marker in _PILLOW_STANDALONE:
            pos = marker_at + 1
            yield steps, marker, pos, pos, False
        else:
            # Pillow reads a length of 0 or 1 as no payload, as libjpeg does
            pos = marker_at + 3 + max(int.from_bytes(data[marker_at + 1:marker_at + 3]) - 2, 0)
            start, end = min(marker_at + 3, len(data)), min(pos, len(data))
            steps += _steps_inside(data, marker, start, end)
            yield steps, marker, start, end, pos > len(data)
    yield steps, 0, pos, pos, False


def _steps_inside(data: bytes, marker: int, start: int, end: int) -> int:
    """The steps Pillow's handler for a segment takes inside it."""
    if marker in _PILLOW_FRAME_HEADERS:
        return (end - start) // 3
    if marker == _DQT:
        return end - start
    if marker == _APP13 and data.startswith(_PHOTOSHOP_HEADER, start):
        return (end - start) // 12
    return 0


def _coded_data_reaches(data: bytes, pos: int, needed: int) -> bool:
    """Whether the coded data of the scans from `pos` on, up to the end-of-image marker, is at
    least `needed` bytes. Segments between scans (tables, the next scan's header) do not count.
    It looks only as far as it must: for a photograph, the first few percent of the file, and past
    no more than MOST_SEGMENTS_BETWEEN_SCANS segments (a photograph has a few dozen), after which
    it gives no verdict rather than walk on in Python."""
    counted = 0
    for _ in range(MOST_SEGMENTS_BETWEEN_SCANS):
        remaining = needed - counted
        found = _MARKER_IN_CODED_DATA.search(data, pos, min(len(data), pos + remaining + 1))
        if found is None:
            return len(data) - pos >= remaining
        marker_at = found.start()
        counted += marker_at - pos
        marker = data[marker_at + 1]
        if marker == _END_OF_IMAGE:
            return False  # counted < needed: the marker came before `remaining` bytes
        end = _marker_end(data, marker_at)
        if end is None:
            return True  # not what this reads: no judgement
        pos = end
    return True


def _marker_end(data: bytes, pos: int) -> int | None:
    """Where the marker at `pos`, between scans, ends: TEM has no length; any other, its segment's."""
    return pos + 2 if data[pos + 1] == _TEM else _segment_end(data, pos)


def _segment_end(data: bytes, pos: int) -> int | None:
    """The end of the marker segment at `pos`, by its length field; None for a reserved code or a
    segment that runs past the data."""
    if data[pos + 1] in _RESERVED or pos + 4 > len(data):
        return None
    (length,) = struct.unpack_from(">H", data, pos + 2)
    # libjpeg and Pillow skip a segment whose length is 0 or 1 as if it were 2. As a frame header it
    # leaves this no fields to read; as a scan header, Pillow fails on it.
    end = pos + 2 + max(length, 2)
    return end if end <= len(data) else None


def _frame(segment: bytes, progressive: bool) -> tuple[int, int, tuple[tuple[int, int], ...], bool] | None:
    """Frame's fields but the data offset, which the scan header after it gives, from a start-of-frame segment."""
    if len(segment) < 6:
        return None
    height, width, components = struct.unpack_from(">HHB", segment, 1)
    if len(segment) != 6 + 3 * components or components == 0 or width == 0 or height == 0:
        return None  # a height of 0 is defined later (DNL), which Pillow does not read
    sampling = tuple((segment[6 + 3 * i + 1] >> 4, segment[6 + 3 * i + 1] & 15) for i in range(components))
    if any(not (1 <= h <= 4 and 1 <= v <= 4) for h, v in sampling):
        return None
    return width, height, sampling, progressive


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
