"""Whether a BMP's pixels are run-length coded, and its size, read from its header as Pillow reads it.

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


def run_length_coded_size(data: bytes) -> tuple[int, int] | None:
    """The width and height Pillow reads from a BMP whose pixels are run-length coded (RLE8 or RLE4);
    None for any other file. A height whose top byte is 0xFF is a top-down BMP's, counted down."""
    if data[:2] != b"BM" or len(data) < 34:
        return None
    header_size, width, height = struct.unpack_from("<III", data, 14)
    if header_size not in _INFO_HEADERS or struct.unpack_from("<I", data, 30)[0] not in _RUN_LENGTH_CODED:
        return None
    return width, (2**32 - height if height >> 24 == 0xFF else height)
