"""A GIF's frame count and canvas, read from its block structure without decoding a pixel.

Pillow cannot be asked this cheaply or safely. Its `n_frames` walks every frame
in Python to the end of the file, however many there are; and a frame may reach
past the logical screen, which Pillow answers by growing the canvas only when it
seeks to that frame, long after the size from the header was checked (an 85-byte
GIF with a 10x10 screen then makes it allocate 20000x20000). This walk follows
the same blocks as Pillow's (refusing the few extensions that Pillow reads past
their end), stops one frame past the limit, and reports the canvas that every
frame together needs.
"""

import re
import struct
from dataclasses import dataclass

_SIGNATURES = (b"GIF87a", b"GIF89a")
_EXTENSION, _TRAILER = 0x21, 0x3B  # and 0x2C, an image descriptor: a frame
_GRAPHIC_CONTROL, _GRAPHIC_CONTROL_SIZE = 0xF9, 4  # Pillow indexes its 4 bytes without checking
_COMMENT, _APPLICATION, _LOOP_APPLICATION = 0xFE, 0xFF, b"NETSCAPE2.0"
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
class Layout:
    frames: int  # the frames found, counting stopped at max_frames + 1
    size: tuple[int, int]  # the logical screen, grown to every counted frame's extent, as Pillow grows it


def screen_size(data: bytes) -> tuple[int, int] | None:
    """The logical screen a GIF's header declares (Pillow's size for it); None for anything but a GIF."""
    if len(data) < 13 or data[:6] not in _SIGNATURES:
        return None
    return struct.unpack_from("<HH", data, 6)


def scan(data: bytes, max_frames: int) -> Layout:
    """Walk the blocks of a GIF up to its trailer, or until more than max_frames frames are found."""
    if len(data) < 13 or data[:6] not in _SIGNATURES:
        raise MalformedGif("not a GIF")
    width, height = struct.unpack_from("<HH", data, 6)
    pos = 13 + _palette_size(data[10])
    steps = len(data) // _BYTES_PER_STEP + _FREE_STEPS
    frames = 0
    while frames <= max_frames:
        found = _NEXT_BLOCK.search(data, pos)
        if found is None or data[found.start()] == _TRAILER:
            break  # a missing trailer is common and harmless: Pillow stops at the end too
        steps -= found.start() - pos
        pos = found.start()
        if data[pos] == _EXTENSION:
            _check_extension(data, pos, frames)
            pos += 2  # introducer and label
        else:  # an image descriptor
            if pos + 11 > len(data):
                raise MalformedGif(f"truncated in the descriptor of frame {frames + 1}")
            left, top, frame_w, frame_h = struct.unpack_from("<HHHH", data, pos + 1)
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            frames += 1
            steps += _STEPS_PER_FRAME
            pos += 10 + _palette_size(data[pos + 9]) + 1  # descriptor, local palette, LZW code size
        pos, steps = _skip_sub_blocks(data, pos, steps)
        if steps < 0:
            raise MalformedGif("too many sub-blocks or stray bytes for its size")
    return Layout(frames, (width, height))


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
