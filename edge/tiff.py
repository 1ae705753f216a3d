"""A Deflate-compressed TIFF's strips (or tiles), each checked to its end.

libtiff inflates a strip only until the rows it holds are filled, so it never reaches the
Adler-32 checksum that ends the zlib stream, and Pillow raises nothing: a strip corrupted
mid-way decodes into wrong rows, which would be stored and cached for a year. Here each
stream is inflated to its end first, its output counted and thrown away, so that the
checksum is checked. LZW and PackBits carry no checksum, and nothing can be checked there.
"""

import zlib
from collections.abc import Iterable

from edge.inflate import Inflater

INFLATE_PIECE = 1024 * 1024  # output inflated at a time, and thrown away


class MalformedTiff(Exception):
    pass


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
