"""A GIF's frames and canvas, read from its block structure without decoding a pixel; and each frame
as a GIF of its own, for Pillow to decode alone.

Pillow cannot be asked this cheaply or safely. Its `n_frames` walks every frame
in Python to the end of the file, however many there are; and a frame may reach
past the logical screen, which Pillow answers by growing the canvas only when it
seeks to that frame, long after the size from the header was checked (an 85-byte
GIF with a 10x10 screen then makes it allocate 20000x20000). This walk follows
the same blocks as Pillow's (refusing the few extensions that Pillow reads past
their end), stops one frame past the limit, and reports the area the frames need
(Layout.size), and what each frame says of itself. Pillow composites the frames
otherwise than browsers do, so edge/image/frames.py composites them itself, from
each frame decoded alone (`standalone`), and Pillow never loads past the first.
"""

import re
import struct
from dataclasses import dataclass

_SIGNATURES = (b"GIF87a", b"GIF89a")
_EXTENSION, _TRAILER = 0x21, 0x3B  # and 0x2C, an image descriptor: a frame
_GRAPHIC_CONTROL, _GRAPHIC_CONTROL_SIZE = 0xF9, 4  # Pillow indexes its 4 bytes without checking
_COMMENT, _APPLICATION, _LOOP_APPLICATION = 0xFE, 0xFF, b"NETSCAPE2.0"
_LOOP_APPLICATIONS = (_LOOP_APPLICATION, b"ANIMEXTS1.0")  # as Chromium reads them, each 11 bytes
_LOOP_SUB_BLOCK = b"\x03\x01"  # its length, then its kind; the count follows, in 16 bits
_INTERLACED = 0x40  # in an image descriptor's packed byte
_NO_CONTROL = (0, None, None)  # the disposal, transparency and delay of a frame without a graphic control
# Like Pillow, skip any stray byte between blocks; unlike Pillow, in C rather than one read at a time.
_NEXT_BLOCK = re.compile(rb"[!,;]")
# Encoders write 255-byte sub-blocks, and short ones only at the end of a frame or in
# small extensions; a file made of tiny sub-blocks or stray bytes exists only to make
# the walk (ours, then Pillow's own several) cost a Python step per byte or two.
_BYTES_PER_STEP = 64
_FREE_STEPS = 4096
_STEPS_PER_FRAME = 8  # a small frame takes about 4 (its graphic control and its data) in 25 bytes


class MalformedGif(ValueError):
    """Truncated inside a block, or built to be expensive to walk."""


@dataclass(frozen=True)
class Frame:
    """One image of a GIF, as its descriptor and the graphic control before it say."""

    box: tuple[int, int, int, int]  # left, top, right, bottom, on the logical screen
    disposal: int  # 0-7, as written: 0 (none said) where no graphic control comes before it
    transparency: int | None  # the palette index that draws nothing
    delay_ms: int | None  # None where no graphic control comes before it
    palette: bytes | None  # its local colour table, None for the global one
    flags: int  # the descriptor's packed byte: local table, interlacing, table size
    data: tuple[int, int]  # where its LZW code size and data sub-blocks begin and end, terminator included


@dataclass(frozen=True)
class Layout:
    # What the limits weigh: the logical screen, grown to the first frame's extent, as Pillow grows it when it opens
    # the file; and to the size of each later frame that has pixels, which is decoded alone (standalone) and drawn
    # clipped to the screen, so that where it lies costs nothing.
    size: tuple[int, int]
    images: tuple[Frame, ...]  # the frames found, in order, counting stopped at max_frames + 1
    palette: bytes | None  # the global colour table
    # The count of repeats in the last loop block, wherever it is, as Chromium 156 reads it (Pillow reads one
    # only before the first frame, and a file whose block follows it played once where browsers loop it).
    repeats: int | None = None

    @property
    def frames(self) -> int:
        return len(self.images)


def screen_size(data: bytes) -> tuple[int, int] | None:
    """The logical screen a GIF's header declares (Pillow's size for it); None for anything but a GIF."""
    if len(data) < 13 or data[:6] not in _SIGNATURES:
        return None
    return struct.unpack_from("<HH", data, 6)


def scan(data: bytes, max_frames: int) -> Layout:
    """Walk the blocks of a GIF up to its trailer, or until more than max_frames frames are found."""
    screen = screen_size(data)
    if screen is None:
        raise MalformedGif("not a GIF")
    width, height = screen
    pos = 13 + _palette_size(data[10])  # after the header, the screen descriptor and its global colour table
    global_palette = data[13:pos]
    steps = len(data) // _BYTES_PER_STEP + _FREE_STEPS
    images: list[Frame] = []
    control = _NO_CONTROL  # what the next frame takes
    repeats, strayed = None, False
    while len(images) <= max_frames:
        found = _NEXT_BLOCK.search(data, pos)
        if found is None or data[found.start()] == _TRAILER:
            break  # a missing trailer is common and harmless: Pillow stops at the end too
        steps -= found.start() - pos
        strayed = strayed or found.start() > pos
        pos = found.start()
        if data[pos] == _EXTENSION:
            _check_extension(data, pos, len(images))
            pos, steps = _skip_sub_blocks(data, pos + 2, steps)  # past the introducer and the label
            if data[found.start() + 1] == _GRAPHIC_CONTROL:  # whole: its sub-blocks were walked
                flags, delay, index = struct.unpack_from("<BHB", data, found.start() + 3)
                control = ((flags >> 2) & 7, index if flags & 1 else None, delay * 10)
            elif data[found.start() + 1] == _APPLICATION and not strayed:  # Chromium reads none after a stray byte
                count = _loop_count(data, found.start())
                repeats = repeats if count is None else count
        else:  # an image descriptor
            if pos + 11 > len(data):
                raise MalformedGif(f"truncated in the descriptor of frame {len(images) + 1}")
            left, top, frame_w, frame_h = struct.unpack_from("<HHHH", data, pos + 1)
            if not images:
                width, height = max(width, left + frame_w), max(height, top + frame_h)
            elif frame_w and frame_h:  # an empty later frame draws nothing, and is never decoded
                width, height = max(width, frame_w), max(height, frame_h)
            flags = data[pos + 9]
            palette = data[pos + 10:pos + 10 + _palette_size(flags)] if flags & 0x80 else None
            start = pos + 10 + _palette_size(flags)  # after the descriptor and its local palette
            pos, steps = _skip_sub_blocks(data, start + 1, steps + _STEPS_PER_FRAME)  # past the LZW code size
            images.append(Frame((left, top, left + frame_w, top + frame_h), *control, palette, flags, (start, pos)))
            control = _NO_CONTROL
        if steps < 0:
            raise MalformedGif("too many sub-blocks or stray bytes for its size")
    return Layout((width, height), tuple(images), global_palette or None, repeats)


def _loop_count(data: bytes, pos: int) -> int | None:
    """The count of the application extension at `pos` if it is a loop block, walked whole: one of
    _LOOP_APPLICATIONS, then a sub-block of exactly 3 bytes, the first 1 (Chromium ignores any other)."""
    name = data[pos + 3:pos + 3 + data[pos + 2]]
    sub_block_at = pos + 3 + len(name)
    if name not in _LOOP_APPLICATIONS or data[sub_block_at:sub_block_at + 2] != _LOOP_SUB_BLOCK:
        return None
    return int.from_bytes(data[sub_block_at + 2:sub_block_at + 4], "little")


def standalone(data: bytes, layout: Layout, index: int) -> bytes:
    """Frame `index` of the GIF `data` as a GIF of its own, for Pillow to decode alone: a screen of the frame's
    size, its colour table (its local one, else the global one, else black, as Chromium draws a frame without
    one), its transparency, and its data as they are, placed at the top left."""
    frame = layout.images[index]
    table = frame.palette or layout.palette or bytes(3 * 256)
    left, top, right, bottom = frame.box
    screen = struct.pack("<HHBBB", right - left, bottom - top, 0x80 | _table_size_bits(table), 0, 0)
    transparent = frame.transparency is not None
    control = bytes([_EXTENSION, _GRAPHIC_CONTROL, 4, int(transparent), 0, 0, frame.transparency or 0, 0])
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, right - left, bottom - top, frame.flags & _INTERLACED)
    start, end = frame.data
    return b"".join((b"GIF89a", screen, table, control, descriptor, memoryview(data)[start:end], b";"))  # one copy


def _table_size_bits(table: bytes) -> int:
    """The size field of a colour table of 2 to 256 entries: 2 ** (bits + 1) entries."""
    return max(0, (len(table) // 3).bit_length() - 2)


def _check_extension(data: bytes, pos: int, frames: int) -> None:
    """Refuse an extension that Pillow would read differently from this walk.

    Pillow reads an extension's first sub-block by itself, then a chain of them after it; before
    the first frame it reads a NETSCAPE2.0 block's loop sub-block by itself too. Where such a
    sub-block is the chain's terminator, Pillow reads on through the next chain, and its walk and
    this one part: a frame hidden in what this walk takes for data would then grow the canvas
    unchecked. Only a comment is read as a chain from its first sub-block.
    """
    if pos + 3 > len(data):
        raise MalformedGif(f"truncated in an extension before frame {frames + 1}")
    label, first_length = data[pos + 1], data[pos + 2]
    if label == _GRAPHIC_CONTROL and first_length < _GRAPHIC_CONTROL_SIZE:
        raise MalformedGif(f"short graphic control block before frame {frames + 1}")
    if label != _COMMENT and first_length == 0:
        raise MalformedGif(f"an empty extension before frame {frames + 1}, which Pillow would read past")
    loop_length_at = pos + 3 + first_length
    if (label == _APPLICATION and frames == 0 and data[pos + 3 : loop_length_at].startswith(_LOOP_APPLICATION)
            and data[loop_length_at : loop_length_at + 1] == b"\0"):
        raise MalformedGif("a NETSCAPE2.0 block without its loop sub-block, which Pillow would read past")


def _palette_size(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _skip_sub_blocks(data: bytes, pos: int, steps: int) -> tuple[int, int]:
    """The position after a chain of sub-blocks and its zero-length terminator."""
    end = len(data)
    while steps >= 0:
        if pos >= end:
            raise MalformedGif("truncated inside a block")
        length = data[pos]
        pos += length + 1
        steps -= 1
        if length == 0:
            break
    return pos, steps
