"""A still PNG decoded on two cores: inflated on one while Pillow unfilters it on the other.

Pillow's PNG decoder inflates the IDAT stream and unfilters its rows in one pass, on one
core: for the bench's 4 MP photos about 30 ms of inflating and 50 of unfiltering. The
reader here hands Pillow the same PNG, except that a worker inflates the IDAT stream a
piece ahead of it and wraps each piece in deflate's stored blocks, which Pillow's inflate
only copies. Pillow still parses every chunk and unfilters every row, so the pixels and
the metadata are its own, and the reader fails where Pillow would fail alone (corrupt
compressed data is an OSError from the reader, with zlib's message).

Anything but a plain still PNG (an APNG, a chunk that runs past the end, an IHDR that is not
the one chunk before all others, or that no row size follows from) gets None, and the caller
lets Pillow read the original itself.

Reading the reader waits on the executor, so it must never be read on one of its threads.
"""

import io
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Raw bytes per IDAT chunk handed to Pillow. `make bench-levers BENCH_ARGS="--only pngdecode"`,
# the bench's 4 MP PNGs, three runs: 256 KB decode in 0.70-0.80x the time of Pillow alone;
# 64 KB pieces take 0.81-0.92x, with four times the hand-offs; 1 and 4 MB pieces 0.75-0.93x.
PIECE = 256 * 1024
STORED_BLOCK = 65_535  # deflate's largest stored block
# Compressed bytes per inflate call: Pillow's own read size, so that zlib reaches the stream's
# checksum exactly when it would under Pillow (which reads each IDAT chunk 64 KB at a time).
INPUT_SLICE = 64 * 1024
ZLIB_HEADER = b"\x78\x01"  # deflate with a 32 KB window, no dictionary, check bits valid
FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by IHDR colour type
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# Adam7's passes: first column and row, then the step across and down.
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


@dataclass(frozen=True)
class Layout:
    """A still PNG cut where the compressed pixels are."""

    head: bytes  # the signature and every chunk before the first IDAT
    compressed: list[memoryview]  # the IDAT run's zlib stream, in slices of at most INPUT_SLICE
    tail: bytes  # everything after the IDAT run
    filtered_size: int  # the bytes of filtered rows that IHDR declares: Pillow's decoder takes no more


def layout(data: bytes) -> Layout | None:
    """The chunks up to the end of the IDAT run, walked; what follows is Pillow's to read, as it would alone."""
    if not data.startswith(SIGNATURE):
        return None
    view, position, filtered, head_end, idat_run = memoryview(data), len(SIGNATURE), None, None, []
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > len(data) or kind == b"acTL":  # cut short, or animated
            return None
        if kind == b"IHDR":
            if position != len(SIGNATURE) or length != 13:  # Pillow would size the rows by another
                return None
            filtered = filtered_size(*struct.unpack_from(">IIBBBBB", data, position + 8))
        if kind == b"IDAT":
            head_end = position if head_end is None else head_end
            idat_run.append(view[position + 8:end - 4])
        elif head_end is not None:
            break
        position = end
    if filtered is None or head_end is None:
        return None
    compressed = [chunk[start:start + INPUT_SLICE] for chunk in idat_run for start in range(0, len(chunk), INPUT_SLICE)]
    return Layout(data[:head_end], compressed, data[position:], filtered)


def filtered_size(width: int, height: int, depth: int, colour_type: int, compression: int, filtering: int,
                  interlace: int) -> int | None:
    """Each row's bytes plus its filter byte, over the image or over Adam7's seven passes."""
    if depth not in DEPTHS.get(colour_type, ()) or compression or filtering or interlace not in (0, 1):
        return None
    bits = CHANNELS[colour_type] * depth
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for first_x, first_y, step_x, step_y in passes:
        columns, rows = -(-(width - first_x) // step_x), -(-(height - first_y) // step_y)
        if columns > 0 and rows > 0:
            total += rows * (1 + -(-columns * bits // 8))
    return total


def inflating_reader(data: bytes, executor: Executor) -> "InflatingReader | None":
    """A file for Image.open, or None for Pillow to read `data` itself."""
    cut = layout(data)
    return None if cut is None else InflatingReader(cut, executor)


class InflatingReader:
    """The PNG with its IDAT stream stored, not compressed: the head, a chunk holding only the
    zlib header (so that opening the image inflates nothing), then one IDAT chunk per piece that
    the worker inflated, the tail after the last. Pillow seeks back only within what it has just read."""

    def __init__(self, cut: Layout, executor: Executor):
        self._cut = cut
        self._executor = executor
        self._pieces = self._inflated_pieces()  # advanced on the worker, one piece at a time
        self._next: Future | None = None
        self._buffer = memoryview(cut.head + idat_chunk(ZLIB_HEADER))
        self._buffer_start = 0  # the stream offset of the buffer's first byte
        self._offset = 0  # within the buffer

    def read(self, size: int = -1) -> bytes:
        parts, wanted = [], size
        while wanted != 0 and (self._offset < len(self._buffer) or self._advance()):
            end = len(self._buffer) if wanted < 0 else min(len(self._buffer), self._offset + wanted)
            parts.append(self._buffer[self._offset:end])
            if wanted > 0:
                wanted -= end - self._offset
            self._offset = end
        return b"".join(parts)

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset + (self.tell() if whence == io.SEEK_CUR else 0)
        buffered = self._buffer_start <= target <= self._buffer_start + len(self._buffer)
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or not buffered:
            raise OSError(f"cannot seek to {offset} ({whence}): the pixels are inflated as they are read")
        self._offset = target - self._buffer_start
        return target

    def tell(self) -> int:
        return self._buffer_start + self._offset

    def _advance(self) -> bool:
        """Move on to the next piece, and have the worker inflate the one after it meanwhile."""
        future = self._next or self._executor.submit(next, self._pieces, None)
        try:
            piece = future.result()
        except zlib.error as error:
            raise OSError(f"corrupt compressed pixels: {error}") from None
        self._next = None if piece is None else self._executor.submit(next, self._pieces, None)
        if piece is None:
            return False
        self._buffer_start += len(self._buffer)
        self._buffer, self._offset = memoryview(piece), 0
        return True

    def _inflated_pieces(self) -> Iterator[bytes]:
        """IDAT chunks of stored blocks, up to the bytes IHDR declares or the end of the data;
        the last one ends the zlib stream, and the tail follows it."""
        rows, left, adler, ended = RowInflater(self._cut.compressed), self._cut.filtered_size, 1, False
        while not ended:
            blocks, room = [], min(PIECE, left)
            while room:
                block = rows.take(min(room, STORED_BLOCK))
                if not block:
                    break
                adler = zlib.adler32(block, adler)
                blocks += [struct.pack("<BHH", 0, len(block), len(block) ^ 0xFFFF), block]
                room -= len(block)
                left -= len(block)
            ended = bool(room) or not left
            if ended:
                blocks += [FINAL_EMPTY_BLOCK, struct.pack(">I", adler)]
            yield idat_chunk(b"".join(blocks)) + (self._cut.tail if ended else b"")


class RowInflater:
    """The IDAT stream's filtered rows, inflated a block at a time."""

    def __init__(self, compressed: list[memoryview]):
        self._inflater = zlib.decompressobj()
        self._inputs = iter(compressed)
        self._unread: bytes | memoryview = b""  # input that inflate has not taken yet

    def take(self, most: int) -> bytes:
        """Up to `most` more bytes; b"" once the stream ends or the data runs out."""
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


def idat_chunk(payload: bytes) -> bytes:
    kind = b"IDAT"
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(payload, zlib.crc32(kind)))
