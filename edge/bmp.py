"""Whether a BMP's pixels are run-length coded, and its size, read from its header as Pillow reads it; its
palette's depth and size, and its embedded ICC profile, which Pillow leaves unread.

Pillow decodes an RLE8 or RLE4 BMP in Python: a step for each pair of coded bytes, and, where it pads
a row that ends early or spreads a run of 4-bit pixels, a step for each pixel. By hand, 4 MiB of
one-pixel runs took it 0.9-1.4 s to decode, 7,000 rows that each end after a pixel (28 KB for 49 MP) 6.5 s,
and 4 MP of 4-bit runs 0.3-0.4 s. Other BMPs are decoded in C.
"""

import struct

_RUN_LENGTH_CODED = frozenset({1, 2})  # RLE8, RLE4
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


def run_length_coded_size(data: bytes) -> tuple[int, int] | None:
    """The width and height Pillow reads from a BMP whose pixels are run-length coded (RLE8 or RLE4);
    None for any other file. A height whose top byte is 0xFF is a top-down BMP's, counted down."""
    if _header_size(data) not in _INFO_HEADERS or len(data) < 34:
        return None
    width, height = struct.unpack_from("<II", data, 18)
    if struct.unpack_from("<I", data, 30)[0] not in _RUN_LENGTH_CODED:
        return None
    return width, (2**32 - height if height >> 24 == 0xFF else height)


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


def _header_size(data: bytes) -> int | None:
    """The size of a BMP's information header, which tells its kind; None for anything else."""
    if data[:2] != b"BM" or len(data) < _FILE_HEADER + 4:
        return None
    return int.from_bytes(data[_FILE_HEADER:_FILE_HEADER + 4], "little")
