"""A zlib stream inflated a bounded piece at a time, from its compressed bytes in slices.

Shared by edge/png.py (an IDAT run, inflated ahead of Pillow) and edge/tiff.py (each
Deflate strip, checked to its end): output is taken in pieces no larger than asked for,
so that a stream that inflates to far more than its size costs no more memory than a piece.
"""

import zlib
from collections.abc import Callable, Iterator

# Compressed bytes per inflate call: Pillow's own read size (it reads each IDAT chunk 64 KB at a time). zlib
# copies what a call leaves unread, so a whole 38 MB chunk handed to it at once took 25 s (a reviewer's file).
INPUT_SLICE = 64 * 1024
SKIPPED_PIECE = 1024 * 1024  # output inflated at a time by skip(), and thrown away


class Stopped(Exception):
    """The inflater was asked to stop: whoever wanted its output no longer does."""


def never() -> bool:
    return False


class Inflater:
    """`stopped()` is asked after each slice of input is inflated, and Stopped raised once it says so: per slice,
    not per output, as valid deflate can inflate to nothing (a reviewer's 38 MB of empty blocks took 3.3 s)."""

    def __init__(self, inputs: Iterator[bytes | memoryview], stopped: Callable[[], bool] = never):
        self._inputs = _slices(inputs)
        self._stopped = stopped
        self._inflater = zlib.decompressobj()
        self._unread: bytes | memoryview = b""  # input that inflate has not taken yet

    @property
    def stream_ended(self) -> bool:
        return self._inflater.eof

    def take(self, most: int) -> bytes:
        """Up to `most` more bytes; b"" once the stream ends or the input runs out. zlib.error for
        corrupt data, Stopped once stopped() says so."""
        while not self._inflater.eof:
            if not self._unread:
                self._unread = next(self._inputs, b"")
                if not self._unread:  # inflate may still hold output that `most` cut off
                    return self._inflater.decompress(b"", most)
            block = self._inflater.decompress(self._unread, most)
            self._unread = self._inflater.unconsumed_tail
            if self._stopped():
                raise Stopped
            if block:
                return block
        return b""

    def skip(self, most: int) -> int:
        """Inflate up to `most` more bytes, thrown away as they come: how many there were. zlib.error for
        corrupt data."""
        skipped = 0
        while skipped < most and (piece := self.take(min(SKIPPED_PIECE, most - skipped))):
            skipped += len(piece)
        return skipped


def _slices(inputs: Iterator[bytes | memoryview]) -> Iterator[memoryview]:
    """Each input in slices of INPUT_SLICE; an empty one, which PNG allows, gives none."""
    for piece in inputs:
        view = memoryview(piece)
        yield from (view[start:start + INPUT_SLICE] for start in range(0, len(view), INPUT_SLICE))
