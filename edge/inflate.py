"""A zlib stream inflated a bounded piece at a time, from its compressed bytes in slices.

Shared by edge/png.py (an IDAT run, inflated ahead of Pillow) and edge/tiff.py (each
Deflate strip, checked to its end): output is taken in pieces no larger than asked for,
so that a stream that inflates to far more than its size costs no more memory than a piece.
"""

import zlib
from collections.abc import Iterator


class Inflater:
    def __init__(self, inputs: Iterator[bytes | memoryview]):
        self._inputs = inputs
        self._inflater = zlib.decompressobj()
        self._unread: bytes | memoryview = b""  # input that inflate has not taken yet

    @property
    def stream_ended(self) -> bool:
        return self._inflater.eof

    def take(self, most: int) -> bytes:
        """Up to `most` more bytes; b"" once the stream ends or the input runs out. zlib.error for
        corrupt data."""
        while not self._inflater.eof:
            if not self._unread:
                self._unread = next(self._inputs, b"")
                if not self._unread:  # inflate may still hold output that `most` cut off
                    return self._inflater.decompress(b"", most)
            block = self._inflater.decompress(self._unread, most)
            self._unread = self._inflater.unconsumed_tail
            if block:
                return block
        return b""
