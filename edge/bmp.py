"""Whether a BMP's pixels are run-length coded, and its size, read from its header as Pillow reads it; its
palette's depth and size, and its embedded ICC profile, which Pillow leaves unread; its run-length coded
pixels, decoded as Chromium 156 decodes them; and the bit fields its 16- and 32-bit pixels are read by, as
Chromium reads them.

An RLE8 or RLE4 BMP is decoded in Python: a step for each pair of coded bytes. By hand, Pillow's decoder took
0.9-1.4 s for 4 MiB of one-pixel runs, 6.5 s for 7,000 rows that each end after a pixel (28 KB for 49 MP), where
it padded each row a pixel at a time, and 0.3-0.4 s for 4 MP of 4-bit runs. Other BMPs are decoded in C, bit
fields by tables Pillow looks a band of each byte up in: 12 MP of 4-4-4-4 rendered in 0.16-0.24 s, by hand.
"""

import struct
from dataclasses import dataclass

_RUN_LENGTH_CODED = {1: 8, 2: 4}  # RLE8 and RLE4, by compression, and the depth each codes
# The information headers, by their size, that state a compression (Pillow's list); OS/2's 12-byte
# core header does not, and is never run-length coded.
_INFO_HEADERS = frozenset({40, 52, 56, 64, 108, 124})
_CORE_HEADER, _V5_HEADER = 12, 124
_FILE_HEADER = 14  # then the information header, whose size comes first
_PALETTED_DEPTHS = frozenset({1, 4, 8})
# A V5 header's colour space type, little-endian: PROFILE_EMBEDDED ('MBED'), whose profile's offset (from the
# header's start) and size stand at the header's end.
_PROFILE_EMBEDDED = b"DEBM"
_CS_TYPE_AT, _PROFILE_AT = _FILE_HEADER + 56, _FILE_HEADER + 112
# A V4 or V5 header's alpha mask, after those of red, green and blue.
_ALPHA_MASK_HEADERS, _ALPHA_MASK_AT = frozenset({108, _V5_HEADER}), _FILE_HEADER + 52
_UNCOMPRESSED = 0  # BI_RGB: no bit fields, a 32-bit pixel's bytes blue, green, red and a fourth
_BIT_FIELDS, _ALPHA_BIT_FIELDS = 3, 6  # BI_BITFIELDS: masks of red, green and blue; BI_ALPHABITFIELDS: and alpha's
_OS2_HEADER = 64  # OS/2's second header, for which compression 3 is Huffman coding, not bit fields
_MASKS_AT = _FILE_HEADER + 40  # after a 40-byte information header, or within a longer one, which holds them
_COLOUR_MASKS_ONLY = 52  # a header that holds masks of red, green and blue, but none of alpha
_MASK_DEPTHS = frozenset({16, 32})
# Masks of red, green and blue: 5-5-5 is an uncompressed 16-bit pixel's.
_FIVE_SIX_FIVE, _FIVE_FIVE_FIVE, _BYTE_EACH = (0xF800, 0x7E0, 0x1F), (0x7C00, 0x3E0, 0x1F), (0xFF0000, 0xFF00, 0xFF)
# The masks of red, green and blue of 16-bit pixels that Pillow reads by a raw mode of its own, each as it stands in
# BI_BITFIELDS whatever the alpha mask beside it; its levels are a level off Chromium's rounding on about half the
# values (sample_levels), but a table apart.
PILLOW_16_BIT_RAW_MODES = {_FIVE_SIX_FIVE: "BGR;16", _FIVE_FIVE_FIVE: "BGR;15"}
# Masks Pillow reads, by depth, that the pixels' bit fields are given to it as: 5-6-5 (its raw mode BGR;16), and
# blue, green and red bytes then padding (BGRX), at 16 and 32 bits.
_MASKS_PILLOW_OPENS = {16: _FIVE_SIX_FIVE, 32: _BYTE_EACH}
# The masks of red, green, blue and alpha of 32-bit pixels that Pillow reads a byte each, as Chromium 156 reads them
# (a helper's measure): its own table but for masks all zero, which it reads as BGRA and Chromium as opaque black.
_WHOLE_BYTES_PILLOW_READS = frozenset({
    (0xFF0000, 0xFF00, 0xFF, 0), (0xFF000000, 0xFF0000, 0xFF00, 0), (0xFF000000, 0xFF00, 0xFF, 0),
    (0xFF000000, 0xFF0000, 0xFF00, 0xFF), (0xFF, 0xFF00, 0xFF0000, 0xFF000000), (0xFF0000, 0xFF00, 0xFF, 0xFF000000),
    (0xFF000000, 0xFF00, 0xFF, 0xFF0000),
})
_END_OF_LINE, _END_OF_BITMAP, _DELTA = 0, 1, 2  # after a zero count, what it escapes to (3-255: a literal's length)
# Runs of up to 255 pixels of each coded byte: RLE8's of its value, RLE4's alternating its two halves.
_BYTE_RUNS = [bytes([value]) * 255 for value in range(256)]
_NIBBLE_RUNS = [bytes([value >> 4, value & 15]) * 128 for value in range(256)]
_HIGH_NIBBLES, _LOW_NIBBLES = bytes(value >> 4 for value in range(256)), bytes(value & 15 for value in range(256))


@dataclass(frozen=True)
class RunLengthCoding:
    size: tuple[int, int]  # as Pillow reads it
    depth_fits: bool  # 8 bits a pixel for RLE8, 4 for RLE4: Chromium 156 refuses any other (a reviewer's measure)


def run_length_coding(data: bytes) -> RunLengthCoding | None:
    """The width and height Pillow reads from a BMP whose pixels are run-length coded (RLE8 or RLE4), and whether
    its depth is the one the compression codes; None for any other file. A height whose top byte is 0xFF is a
    top-down BMP's, counted down."""
    if _header_size(data) not in _INFO_HEADERS or len(data) < 34:
        return None
    width, height = struct.unpack_from("<II", data, 18)
    bits, compression = struct.unpack_from("<HI", data, 28)
    if compression not in _RUN_LENGTH_CODED:
        return None
    return RunLengthCoding((width, 2**32 - height if height >> 24 == 0xFF else height),
                           bits == _RUN_LENGTH_CODED[compression])


def palette_size(data: bytes) -> tuple[int, int] | None:
    """The bit depth (1, 4 or 8) and palette entries of a paletted BMP, as Pillow reads them: the entries the
    header counts, or as many as the depth gives where it counts none (an OS/2 core header never counts them);
    None for any other file."""
    header_size = _header_size(data)
    if header_size == _CORE_HEADER and len(data) >= 26:
        bits, colours = struct.unpack_from("<H", data, 24)[0], 0
    elif header_size in _INFO_HEADERS and len(data) >= 50:
        bits, colours = struct.unpack_from("<H", data, 28)[0], struct.unpack_from("<I", data, 46)[0]
    else:
        return None
    return (bits, colours or 1 << bits) if bits in _PALETTED_DEPTHS else None


def alpha_in_fourth_byte(data: bytes) -> bool:
    """Whether an uncompressed 32-bit BMP has a V4 or V5 header whose alpha mask is not zero: Chromium 156 then reads
    each pixel's fourth byte as its alpha, whatever that mask (0xFF000000, 0x80000000, 0x0F000000 and 0xFF alike,
    by hand), where Pillow reads it as padding. Behind a smaller header, the fourth byte is padding to both."""
    if _header_size(data) not in _ALPHA_MASK_HEADERS or len(data) < _ALPHA_MASK_AT + 4:
        return False
    bits, compression = struct.unpack_from("<HI", data, 28)
    return bits == 32 and compression == _UNCOMPRESSED and struct.unpack_from("<I", data, _ALPHA_MASK_AT)[0] != 0


@dataclass(frozen=True)
class BitFields:
    """A 16- or 32-bit BMP's pixels, as Chromium 156 reads them from their bit fields (bit_fields)."""
    bits: int  # a pixel's, 16 or 32; little-endian
    # Red's, green's, blue's and alpha's bits: a mask's highest 8 at most, a zero mask a sample of 0 (of alpha: opaque)
    masks: tuple[int, int, int, int]


class MasksRefused(ValueError):
    """Bit fields that Chromium 156 refuses the picture for."""


def bit_fields(data: bytes) -> BitFields | None:
    """The bit fields a BMP's pixels are read by where Pillow would read them otherwise than Chromium 156, which shows
    any masks (a helper's measure, over 16- and 32-bit pixels behind each header). Pillow refused all but a few
    layouts, among them 4-4-4-4, x-4-4-4, 3-3-2 and 10-10-10(-2), read 1-5-5-5 without its alpha, and masks all zero
    at 32 bits as blue, green, red and alpha bytes, which Chromium shows opaque black; and its 5- and 6-bit samples
    repeat their bits (3 of 5 bits: 24) where Chromium rounds (25): every 16-bit BMP's pixels are read here, an
    uncompressed one's as 5-5-5, as Chromium reads them (whatever its masks). None for other BMPs, and for one
    behind OS/2's 12-byte core header, which Pillow reads (not measured in Chromium).

    As Chromium reads them: masks behind a V4 or V5 header, or a 56-byte one, are of red, green, blue and alpha;
    BI_BITFIELDS' after a 40-byte header, and within a 52-byte one, of red, green and blue only, and
    BI_ALPHABITFIELDS' after a 40-byte header of all four. Masks may overlap, each read as if alone; of a mask wider
    than 8 bits its highest 8 are read, of a narrower one the value is scaled to 8 bits, rounded. An alpha of zero
    is transparent, even where every pixel's is (which Chromium shows of an uncompressed 32-bit BMP too).
    MasksRefused for what Chromium refuses: bit fields of 24 bits a pixel, or behind OS/2's header (where the
    compression is Huffman coding), BI_ALPHABITFIELDS behind a 52-byte header, a mask of bits apart, or of bits past
    a 16-bit pixel's."""
    header_size = _header_size(data)
    if header_size not in _INFO_HEADERS or len(data) < 34:
        return None
    bits, compression = struct.unpack_from("<HI", data, 28)
    if compression == _UNCOMPRESSED and bits == 16:
        return BitFields(bits, (*_FIVE_FIVE_FIVE, 0))
    if compression not in (_BIT_FIELDS, _ALPHA_BIT_FIELDS):
        return None
    if header_size == _OS2_HEADER:
        raise MasksRefused(f"an OS/2 header, whose compression {compression} is not bit fields")
    if bits not in _MASK_DEPTHS:
        raise MasksRefused(f"bit fields of {bits} bits a pixel")
    if compression == _ALPHA_BIT_FIELDS and header_size == _COLOUR_MASKS_ONLY:
        raise MasksRefused(f"alpha bit fields behind a {header_size}-byte header")
    count = 4 if compression == _ALPHA_BIT_FIELDS or header_size > _COLOUR_MASKS_ONLY else 3
    if len(data) < _MASKS_AT + 4 * count:
        return None  # cut short in its masks: Pillow refuses it
    masks = (*struct.unpack_from(f"<{count}I", data, _MASKS_AT), 0)[:4]
    for mask in masks:
        lowest = mask & -mask
        if mask >> bits or (mask + lowest) & mask:
            raise MasksRefused(f"a mask of bits {'apart' if (mask + lowest) & mask else 'past the pixel'}: {mask:#x}")
    if bits == 32 and compression == _BIT_FIELDS and masks in _WHOLE_BYTES_PILLOW_READS:
        return None
    return BitFields(bits, tuple(mask & 0xFF << max(mask.bit_length() - 8, 0) for mask in masks))


def bit_fields_pillow_opens(data: bytes) -> bytes:
    """A BMP whose bit fields Pillow refuses (bit_fields), rewritten for Pillow to open it: of BI_BITFIELDS, with
    masks it reads at the depth, and the offset of its pixels stated; the pixels are read by bit_fields' masks.
    Any other file as it is. MasksRefused for bit fields Chromium 156 refuses."""
    fields = bit_fields(data)
    if fields is None:
        return data
    header_size, (compression,) = _header_size(data), struct.unpack_from("<I", data, 30)
    pixels_stated = struct.unpack_from("<I", data, 10)[0] != 0
    pillow_opens = compression == _BIT_FIELDS and fields.bits == 16 and pixels_stated and struct.unpack_from(
        "<3I", data, _MASKS_AT) in PILLOW_16_BIT_RAW_MODES
    if compression == _UNCOMPRESSED or pillow_opens:  # no copy of the file: 20 MP of 5-6-5 took 40 MB more
        return data
    opened = bytearray(data)
    opened[30:34] = struct.pack("<I", _BIT_FIELDS)
    opened[_MASKS_AT:_MASKS_AT + 12] = struct.pack("<3I", *_MASKS_PILLOW_OPENS[fields.bits])
    if header_size > _COLOUR_MASKS_ONLY:
        opened[_MASKS_AT + 12:_MASKS_AT + 16] = bytes(4)  # no alpha: BGRX at 32 bits
    if not pixels_stated:  # they follow the masks, of which Pillow reads 3 of 4
        masks_after = (16 if compression == _ALPHA_BIT_FIELDS else 12) if header_size == 40 else 0
        opened[10:14] = struct.pack("<I", _FILE_HEADER + header_size + masks_after)
    return bytes(opened)


def sample_parts(mask: int) -> list[tuple[int, list[int]]]:
    """The bytes of a pixel (counted from its least significant) that a sample's mask (BitFields) takes bits of,
    each with the value those bits make of the sample, by the byte's value."""
    shift = (mask & -mask).bit_length() - 1
    return [(at, [(value << 8 * at & mask) >> shift for value in range(256)])
            for at in range(4) if 0xFF << 8 * at & mask]


def sample_levels(mask: int) -> list[int]:
    """The 8-bit level of each value of a sample of `mask`'s bits (BitFields), as Chromium 156 scales it: rounded
    (a helper's measure, of every value of 1 to 8 bits)."""
    most = (1 << mask.bit_length() - (mask & -mask).bit_length() + 1) - 1
    return [(2 * 255 * value + most) // (2 * most) for value in range(most + 1)]


class ProfileOutside(ValueError):
    """An embedded ICC profile that runs past the end of the file."""


def embedded_profile(data: bytes) -> bytes | None:
    """The ICC profile a BMP's V5 header embeds (PROFILE_EMBEDDED), which Chromium 156 applies (a helper's
    measure); None for any other BMP, or for a profile of no bytes. ProfileOutside for one not all within the
    file, for which Chromium refuses the picture (a reviewer's measure)."""
    if (_header_size(data) != _V5_HEADER or len(data) < _PROFILE_AT + 8
            or data[_CS_TYPE_AT:_CS_TYPE_AT + 4] != _PROFILE_EMBEDDED):
        return None
    offset, size = struct.unpack_from("<II", data, _PROFILE_AT)
    start = _FILE_HEADER + offset
    if start + size > len(data):
        raise ProfileOutside(f"{size} bytes at {start}, past the file's {len(data)}")
    return data[start:start + size] if size else None


class RunsEndEarly(ValueError):
    """Run-length coded pixels that end before their end-of-bitmap: a file cut short."""


def run_length_pixels(coded: bytes, width: int, height: int, rle4: bool,
                      fill: int) -> tuple[bytearray, bytearray | None]:
    """The palette indices of an RLE8 or RLE4 BMP's pixels, rows in the order stored, those left unwritten `fill`, and a
    mask of those (255), or None where every pixel was written: Chromium 156 shows them opaque black. Measured there,
    by hand: a run or a literal that passes the row's end is cut there, and so are the row's runs after it, since
    only an end of line moves on to the next row, skipping what is left of this one; a delta moves right and on by
    rows, however far; the end of the bitmap, or a cursor past the last row, ends the pixels. RunsEndEarly before
    both: the file is cut short, and Chromium shows only what came, as it does of other formats (Pillow refused such
    a file, too)."""
    # The cursor only ever moves on, so the pixels are appended in order, what it passes over filled.
    indices, filled, unwritten = bytearray(), bytes([fill]), bytearray()
    runs = _NIBBLE_RUNS if rle4 else _BYTE_RUNS

    def pass_over_to(position: int) -> None:
        unwritten.extend(bytes(len(indices) - len(unwritten)))
        unwritten.extend(b"\xff" * (position - len(indices)))
        indices.extend(filled * (position - len(indices)))

    x = y = row = at = 0  # row: where row y starts
    try:
        while y < height:
            count, value = coded[at], coded[at + 1]
            at += 2
            if count:  # a run of `count` pixels
                if x < width:
                    if row + x > len(indices):
                        pass_over_to(row + x)
                    if count == 1:  # a hostile file's cheapest pixel: an append takes half the time
                        indices.append(runs[value][0])
                    else:
                        indices += runs[value][:count if x + count <= width else width - x]
                x += count
            elif value == _END_OF_LINE:
                x, y, row = 0, y + 1, row + width
            elif value == _END_OF_BITMAP:
                break
            elif value == _DELTA:
                x, y, row, at = x + coded[at], y + coded[at + 1], row + coded[at + 1] * width, at + 2
            else:  # a literal of `value` pixels, padded to a whole 16-bit word
                size = (value + 1) // 2 if rle4 else value
                if at + size > len(coded):
                    raise IndexError
                if x < width:
                    if row + x > len(indices):
                        pass_over_to(row + x)
                    indices += (_nibbles(coded[at:at + size]) if rle4 else coded[at:at + size])[:min(value, width - x)]
                x, at = x + value, at + size + size % 2
    except IndexError:
        raise RunsEndEarly(f"run-length coded pixels end at row {y} of {height}, before their end-of-bitmap") from None
    if len(indices) < width * height:
        pass_over_to(width * height)
    return indices, unwritten + bytes(len(indices) - len(unwritten)) if unwritten else None


def _nibbles(packed: bytes) -> bytearray:
    """Each byte's two 4-bit pixels, the high one first."""
    pixels = bytearray(2 * len(packed))
    pixels[0::2], pixels[1::2] = packed.translate(_HIGH_NIBBLES), packed.translate(_LOW_NIBBLES)
    return pixels


def _header_size(data: bytes) -> int | None:
    """The size of a BMP's information header, which tells its kind; None for anything else."""
    if data[:2] != b"BM" or len(data) < _FILE_HEADER + 4:
        return None
    return int.from_bytes(data[_FILE_HEADER:_FILE_HEADER + 4], "little")
