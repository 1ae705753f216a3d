"""A JPEG's frame header and where its image data begins, read from the markers without
decoding a pixel: enough to tell that the data is too short for the size it declares.

libjpeg does not fail on a scan that ends early at an end-of-image marker: it warns,
and fills the blocks it never read with mid-grey, and Pillow ignores libjpeg's warnings.
So 300 bytes that declare 7000x7000 would decode to 49 MP, almost all of it grey, and
that derivative would be stored. In Huffman-coded DCT data, though, every 8x8 block of
every component costs at least one bit: its DC difference is a Huffman code, and no
Huffman code is shorter than a bit. Data shorter than that cannot be the whole image.
A scan cut short by less than that still decodes, grey where it ends: nothing short
of libjpeg's warnings can tell it apart.
"""

import struct
from dataclasses import dataclass

# Huffman-coded DCT frames: baseline, extended sequential, progressive. Arithmetic coding
# (0xC9-0xCB) has no such floor, and a lossless frame (0xC3) a higher one: not checked.
_HUFFMAN_DCT_FRAMES = frozenset({0xC0, 0xC1, 0xC2})
_OTHER_FRAMES = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_START_OF_SCAN, _END_OF_IMAGE = 0xDA, 0xD9
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length
_BLOCK = 8


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]  # each component's (horizontal, vertical) sampling factors
    data_offset: int  # where the first scan's coded data begins

    def blocks(self) -> int:
        """The 8x8 blocks of every component, as sampled (a subsampled component has fewer)."""
        most_h = max(h for h, _ in self.sampling)
        most_v = max(v for _, v in self.sampling)
        return sum(
            _ceil_div(_ceil_div(self.width * h, most_h), _BLOCK) * _ceil_div(_ceil_div(self.height * v, most_v), _BLOCK)
            for h, v in self.sampling
        )

    def least_data_bytes(self) -> int:
        """The least coded data that can hold every block: a bit each."""
        return _ceil_div(self.blocks(), 8)


def scan(data: bytes) -> Frame | None:
    """The Huffman-coded DCT frame of a JPEG, or None when there is none or the markers before
    the first scan are not what this reads (Pillow, more lenient, then decides alone)."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, frame = 2, None
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == _END_OF_IMAGE:
            return None
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if length < 2 or end > len(data) or marker in _OTHER_FRAMES:
            return None
        if marker in _HUFFMAN_DCT_FRAMES:
            frame = _frame(data[pos + 4 : end])
            if frame is None:
                return None
        if marker == _START_OF_SCAN:
            return None if frame is None else Frame(*frame, data_offset=end)
        pos = end
    return None


def _frame(segment: bytes) -> tuple[int, int, tuple[tuple[int, int], ...]] | None:
    """Width, height and sampling factors from a start-of-frame segment."""
    if len(segment) < 6:
        return None
    height, width, components = struct.unpack_from(">HHB", segment, 1)
    if len(segment) != 6 + 3 * components or components == 0 or width == 0 or height == 0:
        return None  # a height of 0 is defined later (DNL), which Pillow does not read
    sampling = tuple((segment[6 + 3 * i + 1] >> 4, segment[6 + 3 * i + 1] & 15) for i in range(components))
    if any(not (1 <= h <= 4 and 1 <= v <= 4) for h, v in sampling):
        return None
    return width, height, sampling


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
