"""A still PNG decoded on two cores: inflated on one while Pillow unfilters it on the other.

Pillow's PNG decoder inflates the IDAT stream and unfilters its rows in one pass, on one
core: for the bench's 4 MP photos about 30 ms of inflating and 50 of unfiltering. The
reader here hands Pillow the same PNG, except that a worker inflates the IDAT stream a
piece ahead of it and wraps each piece in deflate's stored blocks, which Pillow's inflate
only copies. Pillow still parses every chunk and unfilters every row, so the pixels and
the metadata are its own. The reader fails where Pillow alone fails (corrupt compressed data
is an OSError from the reader, with zlib's message), and where a zlib stream ends before the rows
that IHDR declares, which Pillow lets through as a partial image, black below the last row: so
a few hundred bytes declaring 25 MP are refused, not rendered and stored. Rows that are all there
may pass where Pillow would have stopped at what follows them: the stream's checksum, wrong or
missing, or a later IDAT chunk that runs past the end of the file.

An APNG gets None, and the caller lets Pillow read the original itself, while a worker checks its
images' streams (check_frame_streams). So does anything that is not a PNG. A PNG or APNG whose chunks
before the pixels no valid PNG has (a chunk that runs past the end, IEND or frame data, a critical
chunk of a type PNG does not define, an IHDR that is not the one first chunk, or that no row size
follows from, a palette image without its PLTE, or with an empty or a second one, a second tRNS) is a
MalformedPng: Pillow would read on, sizes the rows by the last IHDR, and paints a palette image without
one in a made-up grey ramp, which browsers refuse to show, and so is frame data before the pixels, or a
frame control there that browsers refuse (frame_control_refused). Frame chunks without an acTL before the
pixels are left out, as browsers leave them (layout), and so are the acTL chunks browsers skip
(without_chunks_browsers_skip).

Reading the reader waits on the executor, so it must never be read on one of its threads.

Colour: a PNG may say what its numbers mean by code points (a cICP chunk, PNG's third edition), before
and over any profile, and how bright an HDR picture's brightest pixel is (cLLI). Pillow reads neither.
Nor does it apply what gAMA and cHRM say (file_gamma), as browsers do where nothing says more. Where an
ancillary chunk before the pixels has a wrong CRC, or is one Chromium ignores (too short, not zlib-compressed),
Pillow refuses the file, and browsers skip the chunk; of two iCCP chunks Pillow applies the last, Chromium the
first (without_chunks_browsers_skip).
"""

import io
import itertools
import math
import struct
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass

from edge.inflate import Inflater, Stopped, never

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Raw bytes per IDAT chunk handed to Pillow. `make bench-levers BENCH_ARGS="--only pngdecode"`,
# the bench's 4 MP PNGs, four runs: 256 KB decode in 0.70-0.80x the time of Pillow alone;
# 64 KB pieces take 0.75-0.92x, with four times the hand-offs; 1 and 4 MB pieces 0.72-0.93x.
PIECE = 256 * 1024
STORED_BLOCK = 65_535  # deflate's largest stored block
ZLIB_HEADER = b"\x78\x01"  # deflate with a 32 KB window, no dictionary, check bits valid
FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by IHDR colour type
ANCILLARY_BIT = 0x20  # in a chunk type's first letter: lower case, a chunk a decoder may skip
CRITICAL_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})  # those it may not, all PNG has
GREY, RGB, PALETTE, GREY_ALPHA = 0, 2, 3, 4  # IHDR colour types; a palette image's PLTE must come before its pixels
# Ancillary chunks too short for what Pillow reads of them, which then refuses the whole file, where Chromium 156
# shows the picture as if they were not there (by hand): the fewest bytes each needs, a tRNS by colour type.
SHORTEST_CHUNKS = {b"sRGB": 1, b"gAMA": 4, b"cHRM": 32, b"pHYs": 9}
SHORTEST_TRANSPARENCY = {GREY: 2, RGB: 6}
KEYWORD_LIMIT = 80  # the longest keyword before its NUL that Chromium 156 reads (by hand; PNG allows 79)
IHDR = struct.Struct(">IIBBBBB")  # width, height, depth, colour type, compression, filtering, interlace
HEADER_CHUNK = struct.pack(">I4s", IHDR.size, b"IHDR")  # a whole IHDR's length and type
CICP = struct.Struct(">BBBB")  # primaries, transfer characteristics, matrix (0: RGB, PNG's only), full range flag
CLLI_UNITS_PER_NIT = 10_000
GAMA, CHRM = struct.Struct(">I"), struct.Struct(">8I")  # the gamma; white, red, green and blue, x then y
GAMMA_UNITS = 100_000  # a gAMA or cHRM number's unit is 1/100,000
# libpng's png_gamma_significant: a file gamma times 2.2, in those units, this near 1 is sRGB's.
SRGB_GAMMA_TOLERANCE = 5_000
MOST_SRGB_INTENT = 3  # absolute colorimetric
# Pillow walks a PNG's chunks in Python, about 5 us each: 40 MiB of empty ones took it 19 s to open.
# libpng cuts a PNG's pixels into 8 KB IDAT chunks: 5,000 of them in the largest original allowed.
MAX_CHUNKS = 100_000
# Pillow inflates each profile or compressed text chunk up to 1 MB, and holds no total for a profile or for
# text without a keyword: 4 MiB of 1 KB chunks inflating 1 MB each took it 10 s (a helper's measure). A PNG
# holds one profile at most, and a few texts.
MAX_COMPRESSED_CHUNKS = 64
FIRST_CHUNK = len(SIGNATURE)  # where IHDR, which must be first, begins
# A frame control's width, height, left and top, after its sequence number.
FCTL_PLACE, FCTL_PLACE_AT = struct.Struct(">IIII"), 4
FCTL_DISPOSE_AT, FCTL_BLEND_AT, FCTL_SIZE = 24, 25, 26  # the dispose op after the place and the delay; the blend op
MOST_DISPOSE_OP, MOST_BLEND_OP = 2, 1  # previous; over
ACTL = struct.Struct(">II")  # an animation control's frames and plays
MOST_APNG_NUMBER = 2**31 - 1  # PNG's largest four-byte number, past which Chromium plays no animation
FDAT_SEQUENCE_SIZE = 4  # before a frame data chunk's compressed bytes
DATA_CHUNKS = frozenset({b"IDAT", b"fdAT", b"DDAT"})  # what Pillow reads on through, in an image's stream
FRAME_CHUNKS = frozenset({b"fcTL", b"fdAT"})  # an APNG's, after its acTL
IMAGE_DATA_CHUNKS = frozenset({b"IDAT", b"fdAT"})  # where an APNG's image begins, the first's or a frame's
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# Adam7's passes: first column and row, then the step across and down.
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


@dataclass(frozen=True)
class Layout:
    """A still PNG cut where the compressed pixels begin."""

    data: bytes  # the whole file: the worker walks its IDAT run as it inflates
    first_idat: int  # where the first IDAT chunk begins; before it, the chunks Pillow opens the image by
    filtered_size: int  # the bytes of filtered rows that IHDR declares: Pillow's decoder takes no more


class MalformedPng(ValueError):
    """Chunks before the pixels that no valid PNG has. Pillow would read on, and might take a
    stream that ends early for a whole image: such a file is refused rather than left to it."""


class TooManyChunks(ValueError):
    """More chunks than MAX_CHUNKS: Pillow walks each in Python, and so would take seconds."""


def without_chunks_browsers_skip(data: bytes) -> bytes:
    """A PNG as browsers read it: without the ancillary chunks before IDAT whose CRC is wrong, which libpng and
    Chromium 156 (by Skia's Rust codec) drop as if they were not there (a broken eXIf turns nothing, a broken
    tRNS leaves the picture opaque, a broken acTL or fcTL is not there), where Pillow refuses the whole file;
    without those that Chromium 156 ignores and Pillow refuses the file for or reads (_ignored_by_chromium), and
    every iCCP after the first whole one, which Chromium does not read, even where it ignores that first; and
    without the acTL chunks there that Chromium 156 skips (a helper's measure): one it cannot use (_usable_actl)
    or any after the first it uses, where Pillow showed the IDAT image for a second acTL. Critical chunks are
    left as they are (with a wrong CRC, Pillow and browsers both refuse them), and so is frame data, which
    Chromium refuses before the pixels whatever its CRC (layout), and anything that is not a PNG.
    `data` itself where nothing is dropped, and where IHDR is not the first chunk, whole: layout refuses it.
    (Dropping a chunk before IHDR would have let a file through that Chromium 156 refuses.)"""
    if not data.startswith(SIGNATURE) or _picture(data) is None:
        return data
    colour_type = IHDR.unpack_from(data, FIRST_CHUNK + 8)[3]
    dropped, animation_control, profile = [], False, False
    # No further than layout() walks before it refuses the file: Python takes about 1.4 us a chunk here.
    for position, length, kind in itertools.islice(_chunks(data), MAX_CHUNKS + 1):
        end = position + 8 + length
        if kind == b"IDAT" or end + 4 > len(data):
            break
        ancillary = kind[0] & ANCILLARY_BIT and kind != b"fdAT"
        if ancillary and _crc_wrong(data, position, length):
            dropped.append((position, end + 4))
        elif kind == b"iCCP":
            # Chromium 156 takes the first whole iCCP for the profile before it reads it: no later one is read,
            # even where it ignores that first (by hand). Pillow applies the last.
            if profile or _ignored_by_chromium(data, position, length, colour_type):
                dropped.append((position, end + 4))
            profile = True
        elif ancillary and _ignored_by_chromium(data, position, length, colour_type):
            dropped.append((position, end + 4))
        elif kind == b"acTL":
            used = not animation_control and _usable_actl(data, position, length)
            if not used:
                dropped.append((position, end + 4))
            animation_control = animation_control or used
    return _without(data, dropped)


def _ignored_by_chromium(data: bytes, position: int, length: int, colour_type: int) -> bool:
    """Whether Chromium 156 ignores this ancillary chunk, which Pillow refuses the file for or reads (by hand,
    each shown as the picture alone): one shorter than SHORTEST_CHUNKS, a tRNS shorter than one sample of each
    channel, an iCCP or zTXt whose keyword does not end within KEYWORD_LIMIT bytes or whose compression method is
    not zlib's (0), and an iCCP of no keyword (a helper's measure). Pillow refuses the first ones; the profiles of
    the last two and of a keyword of 81 bytes or more it applied."""
    kind = data[position + 4:position + 8]
    if kind in SHORTEST_CHUNKS:
        return length < SHORTEST_CHUNKS[kind]
    if kind == b"tRNS":
        return length < SHORTEST_TRANSPARENCY.get(colour_type, 0)
    if kind not in (b"iCCP", b"zTXt"):
        return False
    start = position + 8
    keyword_end = data.find(b"\0", start, start + min(length, KEYWORD_LIMIT + 1))
    if keyword_end < 0 or keyword_end + 1 >= start + length or data[keyword_end + 1] != 0:
        return True
    return kind == b"iCCP" and keyword_end == start


def _usable_actl(data: bytes, position: int, length: int) -> bool:
    """Whether Chromium 156 plays by an acTL (whole, its CRC checked): 8 bytes, of 1 to 2^31 - 1 frames and at most
    as many plays (a helper's measure); it skips any other."""
    if length != ACTL.size:
        return False
    frames, plays = ACTL.unpack_from(data, position + 8)
    return 1 <= frames <= MOST_APNG_NUMBER and plays <= MOST_APNG_NUMBER


def _crc_wrong(data: bytes, position: int, length: int) -> bool:
    end = position + 8 + length
    return zlib.crc32(memoryview(data)[position + 4:end]) != int.from_bytes(data[end:end + 4])


def _without(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    """`data` without these (start, end) spans, in order; `data` itself where there are none."""
    if not spans:
        return data
    view, kept, start = memoryview(data), [], 0
    for position, end in spans:
        kept.append(view[start:position])
        start = end
    return b"".join([*kept, view[start:]])  # one copy: the result


def layout(data: bytes) -> Layout | None:
    """The chunks before the pixels, walked as Pillow walks them to open the image, and no further;
    None for anything but a PNG, and for an APNG (checked all the same), whose frames Pillow decodes itself.
    TooManyChunks for one of more than MAX_CHUNKS chunks up to IEND, before Pillow walks them. MalformedPng for
    frame data before the pixels, or a frame control there that Chromium 156 refuses (frame_control_refused), with
    an acTL or without (a helper's measure). A PNG of no acTL before its pixels (without_chunks_browsers_skip
    has dropped those browsers skip) is a still one, as Chromium 156 shows it (by hand), whose frame chunks
    (fcTL, fdAT) mean nothing: the layout is of the file without them, on which Pillow failed ("frame sequence
    errors"), unless one stands between IDAT chunks, for which Chromium refuses the file (a reviewer's measure)."""
    if not data.startswith(SIGNATURE):
        return None
    compressed, frame_chunks, animated, controls = 0, [], False, 0
    first_idat = last_idat = None
    for count, (position, length, kind) in enumerate(_chunks(data), start=1):
        if kind == b"IEND":
            break
        if count > MAX_CHUNKS:
            raise TooManyChunks(f"more than {MAX_CHUNKS} chunks")
        compressed += _inflated_by_pillow(data, position, length, kind)
        if compressed > MAX_COMPRESSED_CHUNKS:
            raise TooManyChunks(f"more than {MAX_COMPRESSED_CHUNKS} compressed text or profile chunks")
        if kind == b"IDAT":
            first_idat, last_idat = position if first_idat is None else first_idat, position
        animated = animated or (kind == b"acTL" and first_idat is None)
        if kind in FRAME_CHUNKS:
            frame_chunks.append((position, position + 12 + length))
        if kind in FRAME_CHUNKS and first_idat is None:
            if kind == b"fdAT":
                raise MalformedPng("fdAT before the pixels")
            if frame_control_refused(data, position, length, controls):
                raise MalformedPng("an fcTL before the pixels that is not the sequence's next, over the whole picture, "
                                   "of known ops")
            controls += 1
    between_idats = first_idat is not None and any(first_idat < start < last_idat for start, _ in frame_chunks)
    if frame_chunks and not animated and not between_idats and _picture(data) is not None:
        return layout(_without(data, frame_chunks))  # (one before IHDR is refused below, as Chromium refuses it)
    filtered, colour_type, palette, transparency = None, None, False, False
    for position, length, kind in _chunks(data):
        name = kind.decode("latin-1")
        if position + 12 + length > len(data):
            raise MalformedPng(f"{name} runs past the end of the file")
        first = position == FIRST_CHUNK
        if first != (kind == b"IHDR"):
            raise MalformedPng(f"{name} before IHDR" if first else "a second IHDR")
        if kind == b"IHDR":
            header = IHDR.unpack_from(data, position + 8) if length == IHDR.size else None
            filtered = None if header is None else filtered_size(*header)
            if filtered is None:
                raise MalformedPng("an IHDR that declares no pixel layout PNG has")
            colour_type = header[3]
        if kind == b"PLTE" and colour_type == PALETTE:
            if palette or not length:  # libpng, and so browsers, refuse a second or an empty palette
                raise MalformedPng("a second PLTE" if palette else "an empty PLTE")
            palette = True
        if kind == b"tRNS":  # libpng reads the first, Pillow the last
            if transparency:
                raise MalformedPng("a second tRNS")
            transparency = True
        if not kind[0] & ANCILLARY_BIT and kind not in CRITICAL_CHUNKS:  # as libpng refuses it, Chromium too
            raise MalformedPng(f"a critical chunk no PNG decoder knows, {name}")
        if kind == b"IEND":  # (frame data before the pixels was refused above)
            raise MalformedPng("IEND before the pixels")
        if kind == b"IDAT":
            if colour_type == PALETTE and not palette:
                raise MalformedPng("a palette image with no PLTE before its pixels")
            return None if animated else Layout(data, position, filtered)
    raise MalformedPng("no IDAT")


def frame_control_refused(data: bytes, position: int, length: int, sequence: int) -> bool:
    """Whether Chromium 156 refuses a PNG for this frame control before its pixels (a helper's measure; it
    decodes PNG with Skia's Rust codec, whatever acTL there is): one it would not play (_control_plays) or not over
    the whole picture. One with a wrong CRC is not there (without_chunks_browsers_skip). False where IHDR is
    not the first chunk, whole, and for one that runs past the end: layout refuses those files for that."""
    picture = _picture(data)
    if picture is None or position + 12 + length > len(data):
        return False  # layout refuses the file by its IHDR, or a chunk that runs past the end
    control = memoryview(data)[position + 8:position + 8 + length]
    return not _control_plays(control, picture, sequence, over_the_whole_picture=True)


def _picture(data: bytes) -> tuple[int, int] | None:
    """The width and height that IHDR declares; None where it is not the first chunk, whole."""
    if not data.startswith(HEADER_CHUNK, FIRST_CHUNK) or len(data) < FIRST_CHUNK + 8 + IHDR.size:
        return None
    return IHDR.unpack_from(data, FIRST_CHUNK + 8)[:2]


def _control_plays(control: memoryview, picture: tuple[int, int], sequence: int, over_the_whole_picture: bool) -> bool:
    """Whether Chromium 156 plays a frame by this frame control's payload: 26 bytes, the `sequence`th of the
    sequence, of a dispose and a blend op APNG defines, and over the whole picture, or inside it (by hand, and a
    helper's measure)."""
    if len(control) != FCTL_SIZE:
        return False
    (width, height), (frame_width, frame_height, left, top) = picture, FCTL_PLACE.unpack_from(control, FCTL_PLACE_AT)
    if over_the_whole_picture:
        placed = (frame_width, frame_height, left, top) == (width, height, 0, 0)
    else:
        placed = 0 < frame_width <= width - left and 0 < frame_height <= height - top
    return (placed and int.from_bytes(control[:4]) == sequence
            and control[FCTL_DISPOSE_AT] <= MOST_DISPOSE_OP and control[FCTL_BLEND_AT] <= MOST_BLEND_OP)


def _inflated_by_pillow(data: bytes, position: int, length: int, kind: bytes) -> bool:
    """Whether Pillow inflates the chunk as it reads it: a profile (iCCP), compressed text (zTXt), or
    international text whose compression flag, after its keyword, is not 0 (Pillow inflates for any)."""
    if kind in (b"iCCP", b"zTXt"):
        return True
    if kind != b"iTXt":
        return False
    flag = data.find(b"\0", position + 8, position + 8 + length) + 1
    return 0 < flag < position + 8 + length and data[flag] != 0


def _chunks(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Where each chunk begins, its length and its type, from IHDR on, as far as their headers go."""
    position = FIRST_CHUNK
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        yield position, length, kind
        position += 12 + length


def colour_codes(data: bytes) -> tuple[int, int] | None:
    """The colour primaries and transfer characteristics (ITU-T H.273) of a PNG's cICP chunk; None
    without one, or for numbers in narrow range, which Pillow would pass as full-range ones."""
    payload = _payload_before_pixels(data, b"cICP")
    if payload is None or len(payload) != CICP.size:
        return None
    primaries, transfer, matrix, full_range = CICP.unpack(payload)
    return (primaries, transfer) if (matrix, full_range) == (0, 1) else None


def brightest_nits(data: bytes) -> int | None:
    """How bright, in nits, a PNG's brightest pixel is (the MaxCLL of its cLLI chunk, in units of
    0.0001 nits); None when it does not say, or says 0 (unknown)."""
    payload = _payload_before_pixels(data, b"cLLI")
    if payload is None or len(payload) != 8:
        return None
    return math.ceil(int.from_bytes(payload[:4]) / CLLI_UNITS_PER_NIT) or None


def file_gamma(data: bytes) -> tuple[float, tuple[tuple[float, float], ...] | None] | None:
    """What a PNG's gAMA and cHRM chunks say its numbers mean, as Chromium 156 reads them (by hand): a pure power
    curve, the inverse of the file's gamma, on cHRM's primaries or else sRGB's, returned as that power and the
    primaries (red, green, blue and white, CIE xy). The first valid one of each chunk before IDAT counts (after
    PLTE too, and whatever the gamma, where libpng alone would differ), and cHRM only with a gAMA. Without a cHRM,
    a gamma within 5% of sRGB's 1/2.2 (as libpng's png_gamma_significant weighs it) means sRGB: None, as for no
    gAMA. Where an iCCP, sRGB (says_srgb) or cICP chunk says more, it wins (the caller's)."""
    payload = _payload_before_pixels(data, b"gAMA", ends=(b"IDAT",),
                                     valid=lambda gamma: len(gamma) == GAMA.size and gamma != bytes(GAMA.size))
    if payload is None:
        return None
    (gamma,) = GAMA.unpack(payload)
    chromaticities = _payload_before_pixels(data, b"cHRM", ends=(b"IDAT",), valid=lambda chrm: len(chrm) == CHRM.size)
    if chromaticities is not None:
        x_and_y = [value / GAMMA_UNITS for value in CHRM.unpack(chromaticities)]
        white, red, green, blue = zip(x_and_y[::2], x_and_y[1::2])
        return GAMMA_UNITS / gamma, (red, green, blue, white)
    near_srgb = GAMMA_UNITS - SRGB_GAMMA_TOLERANCE <= (gamma * 11 + 2) // 5 <= GAMMA_UNITS + SRGB_GAMMA_TOLERANCE
    return None if near_srgb else (GAMMA_UNITS / gamma, None)


def says_srgb(data: bytes) -> bool:
    """Whether a PNG has a valid sRGB chunk before IDAT: one byte, a rendering intent of 0 to 3. Chromium 156
    skips another (a helper's measure), where Pillow takes it for sRGB all the same."""
    return _payload_before_pixels(data, b"sRGB", ends=(b"IDAT",),
                                  valid=lambda intent: len(intent) == 1 and intent[0] <= MOST_SRGB_INTENT) is not None


def exif_before_pixels(data: bytes) -> bytes | None:
    """The payload of the first eXIf chunk, if it comes before IDAT: the only one browsers read (Chromium 156;
    PNG's third edition puts it there, and CSS Images 3 has metadata after the image data ignored). Pillow reads
    the last one, and one after the pixels too, but only by decoding them first."""
    return _payload_before_pixels(data, b"eXIf", ends=(b"IDAT",))


def _payload_before_pixels(data: bytes, wanted: bytes, ends: tuple[bytes, ...] = (b"PLTE", b"IDAT"),
                          valid: Callable[[bytes], bool] = lambda payload: True) -> bytes | None:
    """The first `valid` `wanted` chunk's payload before any chunk of `ends`: by default, where colour chunks
    must stand, before PLTE and IDAT."""
    for position, length, kind in _chunks(data):
        if kind in ends:
            return None
        if kind == wanted and valid(payload := data[position + 8:position + 8 + length]):
            return payload
    return None


def declared_size(data: bytes) -> tuple[int, int] | None:
    """The size IHDR, the first chunk, declares (Pillow's size for the PNG); None for anything else."""
    if not data.startswith(SIGNATURE) or data[FIRST_CHUNK + 4:FIRST_CHUNK + 8] != b"IHDR" or len(data) < 24:
        return None
    return struct.unpack_from(">II", data, FIRST_CHUNK + 8)


def palette_alpha_ignored(data: bytes) -> bool:
    """Whether a palette PNG's tRNS is one that libpng (and so Firefox) ignores whole, showing the image
    opaque: alpha for more entries than its PLTE holds, or a tRNS before the PLTE. Pillow keeps it, and
    fails on more than 256 entries; Chromium 156 applies the first of too many entries."""
    header = _ihdr(data)
    if header is None or header[3] != PALETTE:
        return False
    palette_entries = 0
    for _, length, kind in _chunks(data):
        if kind == b"IDAT":
            break
        if kind == b"PLTE":
            palette_entries = length // 3
        elif kind == b"tRNS":
            return length > palette_entries
    return False


def transparency_at_8_bits(data: bytes, key: int | tuple[int, ...]) -> int | tuple[int, ...]:
    """A tRNS colour key as it stands among Pillow's 8-bit pixels. Pillow scales 2- and 4-bit grey
    samples up to 8 bits, and keeps the high byte of 16-bit RGB ones, but leaves the key as the file
    wrote it, which then matches the wrong pixels, or none. (16-bit grey stays 16-bit in Pillow, key
    and all; of 16-bit RGB only the high bytes are left, so a pixel that shares the key's matches it.)"""
    header = _ihdr(data)
    if header is None:
        return key
    _, _, depth, colour_type, *_ = header
    if colour_type == GREY and depth in (2, 4) and isinstance(key, int):
        return key * 255 // (2**depth - 1)
    if colour_type == RGB and depth == 16 and isinstance(key, tuple):
        return tuple(value >> 8 for value in key)
    return key


def grey_read_as_colour(data: bytes) -> bool:
    """Whether the PNG is grey with alpha at 16 bits, which Pillow reads as RGBA: it has no 16-bit LA mode."""
    header = _ihdr(data)
    return header is not None and header[2:4] == (16, GREY_ALPHA)


def _ihdr(data: bytes) -> tuple[int, ...] | None:
    """IHDR's fields, where a PNG begins with a whole IHDR; None for anything else."""
    fields = FIRST_CHUNK + 8
    if not data.startswith(SIGNATURE) or data[FIRST_CHUNK + 4:fields] != b"IHDR" or len(data) < fields + IHDR.size:
        return None
    return IHDR.unpack_from(data, fields)


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


def frame_controls(data: bytes, max_frames: int) -> list[tuple[int, int, int, int, int] | None]:
    """The frames of an APNG that there are to play, in order: frame controls (fcTL) before IEND that image data
    follows, the IDAT image one of them where a frame control comes before it. Browsers play no more than these,
    whatever acTL declares, where Pillow would take acTL's number and fail on a missing frame. As Chromium 156
    plays them (by hand), the animation ends before a control whose CRC is wrong, and after its first frame,
    before a control it would not play (_control_plays, inside the picture) and a frame whose data is out of
    sequence or cut short, where Pillow played on or refused the file: a frame's data ends only at a whole chunk
    header that is not image data (a helper's measure, over every cut of a file). Each is given as its width,
    height, left, top and dispose op; None for a first control cut short, which Pillow refuses. Once more than
    max_frames are certain, the walk stops there, with max_frames + 1 of them, as a GIF's (gif.scan)."""
    controls: list[tuple[int, int, int, int, int] | None] = []
    control, frame_due, sequence, in_data, end = None, False, 0, False, FIRST_CHUNK
    view, picture = memoryview(data), _picture(data)  # (layout refuses a file without it)
    for position, length, kind in _chunks(data):
        if kind == b"IEND":
            break
        in_data, end = kind in IMAGE_DATA_CHUNKS, position + 12 + length
        if kind in FRAME_CHUNKS:
            payload, whole = view[position + 8:position + 8 + length], end <= len(data)
            if kind == b"fcTL" and whole and _crc_wrong(data, position, length):
                break
            if picture is not None:
                played = len(controls) - (kind == b"fdAT" and not frame_due)  # the frames before this chunk's own
                if played and not (whole and _plays_in_sequence(payload, kind, picture, sequence)):
                    return controls[:played]
                sequence += 1
            if kind == b"fcTL":
                control, frame_due = frame_control(payload), True
                continue
        if frame_due and kind in IMAGE_DATA_CHUNKS:
            controls.append(control)
            frame_due = False
            if len(controls) > max_frames + 1:  # of the frames found, the walk may yet take back the last only
                return controls[:-1]
    else:  # no IEND: the file may end in the last frame's data, which Chromium 156 then cannot play
        after = data[end + 4:end + 8]  # the type of the chunk after the last one walked, as far as it goes
        if picture is not None and in_data and len(controls) > 1 and (len(after) < 4 or after in IMAGE_DATA_CHUNKS):
            return controls[:-1]
    return controls


def _plays_in_sequence(payload: memoryview, kind: bytes, picture: tuple[int, int], sequence: int) -> bool:
    """Whether Chromium 156 plays on through this frame chunk, the `sequence`th (by hand)."""
    if kind == b"fcTL":
        return _control_plays(payload, picture, sequence, over_the_whole_picture=False)
    return len(payload) >= FDAT_SEQUENCE_SIZE and int.from_bytes(payload[:FDAT_SEQUENCE_SIZE]) == sequence


def frame_control(payload: memoryview) -> tuple[int, int, int, int, int] | None:
    """An fcTL's width, height, left, top and dispose op; None for one cut short, which Pillow refuses."""
    if len(payload) < FCTL_SIZE:
        return None
    return (*FCTL_PLACE.unpack_from(payload, FCTL_PLACE_AT), payload[FCTL_DISPOSE_AT])


def check_frame_streams(data: bytes, count: int, stopped: Callable[[], bool] = never) -> None:
    """Inflate the first `count` images of an APNG (the IDAT run, then each frame's fdAT run) up to the rows its
    IHDR or fcTL declares, output counted and dropped, as the reader does for a still PNG's one stream:
    MalformedPng for a stream that is corrupt, or ends, properly or cut short, before those rows (Pillow takes
    it for the whole frame, black below its last row: a reviewer's still PNG given an acTL rendered so), and
    for a frame that reaches past the canvas, as Pillow refuses it (so no stream inflates to more than it).
    An image's stream is read as Pillow reads it: the first image's from the first IDAT, a later one's from the
    first fdAT after its fcTL, and on through the data chunks that follow one another, whatever their kind.
    inflate.Stopped once `stopped()` says so."""
    header = _ihdr(data)
    if header is None:
        return
    canvas_width, canvas_height, depth, colour_type, _, _, interlace = header
    due: tuple[int, int] | None = (canvas_width, canvas_height)  # the size of the image whose stream is next
    streams: list[tuple[int, list[memoryview]]] = []  # each one's filtered size, and its pieces
    gathering = False
    view = memoryview(data)
    for position, length, kind in _chunks(data):
        if stopped():  # the walk alone takes 60 ms over MAX_CHUNKS empty chunks (a reviewer's)
            raise Stopped
        payload = view[position + 8:position + 8 + length]
        if kind in DATA_CHUNKS:
            if not gathering and due is not None and kind == (b"fdAT" if streams else b"IDAT"):
                streams.append((filtered_size(*due, depth, colour_type, 0, 0, interlace) or 0, []))
                gathering, due = True, None
            piece = payload[FDAT_SEQUENCE_SIZE:] if kind == b"fdAT" else payload
            if gathering and piece:  # else data of no image, which Pillow skips, or none at all
                streams[-1][1].append(piece)
            continue
        gathering = False
        if kind == b"IEND" or (kind == b"fcTL" and len(streams) == count):
            break
        control = frame_control(payload) if kind == b"fcTL" else None
        if control is not None:  # Pillow refuses a short one itself
            width, height, left, top, _ = control
            if left + width > canvas_width or top + height > canvas_height:
                raise MalformedPng(f"frame {len(streams)} reaches past the canvas")
            due = (width, height)
    for index, (rows_size, pieces) in enumerate(streams):
        try:
            inflated = Inflater(iter(pieces), stopped).skip(rows_size)
        except zlib.error as error:
            raise MalformedPng(f"image {index} of the animation: {error}") from None
        if inflated < rows_size:
            raise MalformedPng(f"image {index} of the animation ends {rows_size - inflated} bytes before its rows")


def inflating_reader(data: bytes, executor: Executor) -> "InflatingReader | None":
    """A file for Image.open, or None for Pillow to read `data` itself; MalformedPng for a PNG
    whose chunks before the pixels no valid PNG has."""
    cut = layout(data)
    return None if cut is None else InflatingReader(cut, executor)


class InflatingReader:
    """The PNG with its IDAT stream stored, not compressed: the head, a chunk holding only the
    zlib header (so that opening the image inflates nothing), then one IDAT chunk per piece that
    the worker inflated, the tail after the last. Pillow seeks back only within what it has just read."""

    def __init__(self, cut: Layout, executor: Executor):
        self._executor = executor
        # Advanced on the worker, one piece at a time. A generator method would hold the reader,
        # and with it the original, in a cycle that only the garbage collector frees.
        self._pieces = inflated_pieces(cut)
        self._next: Future | None = None
        self._buffer = memoryview(cut.data[:cut.first_idat] + idat_chunk(ZLIB_HEADER))
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
        # Not future.result(): re-raised here, the worker's error would take this frame into its
        # traceback, and the frame holds the future that holds the error. That cycle would keep the
        # half-decoded image (tens of MB) alive until the garbage collector happens to run.
        failure = future.exception()
        if isinstance(failure, zlib.error):
            self._next = None
            raise OSError(f"corrupt compressed pixels: {failure}")
        piece = future.result()  # anything else the worker raised is a bug: as it is
        self._next = None if piece is None else self._executor.submit(next, self._pieces, None)
        if piece is None:
            return False
        self._buffer_start += len(self._buffer)
        self._buffer, self._offset = memoryview(piece), 0
        return True


class RowInflater(Inflater):
    """The filtered rows of the IDAT run that starts at `position`, inflated a block at a time;
    its chunks are walked as the inflating reaches them."""

    def __init__(self, data: bytes, position: int):
        self._data = data
        self._position = position  # of the next chunk, while the IDAT run lasts
        super().__init__(self._idat_chunks())

    def after_the_run(self) -> bytes:
        """Everything after the IDAT run, which Pillow reads on by itself; the run's chunks that
        inflating did not reach are walked over, not inflated."""
        for _ in self._inputs:
            pass
        return self._data[self._position:]

    def _idat_chunks(self) -> Iterator[memoryview]:
        """Each IDAT chunk's data, up to the first other chunk; a chunk that runs past the end gives
        what there is, as Pillow reads it."""
        data, view = self._data, memoryview(self._data)
        while self._position + 8 <= len(data):
            length, kind = struct.unpack_from(">I4s", data, self._position)
            if kind != b"IDAT":
                return
            start, end = self._position + 8, min(self._position + 8 + length, len(data))
            self._position = min(end + 4, len(data))
            yield view[start:end]


def inflated_pieces(cut: Layout) -> Iterator[bytes]:
    """IDAT chunks of stored blocks, up to the bytes IHDR declares, then what follows the IDAT
    run. The stored stream ends where the original does: with its rows all there, properly, or
    where the data runs out, cut short, for Pillow to find so. A zlib stream that ends before
    the rows is a zlib.error."""
    rows, left, adler = RowInflater(cut.data, cut.first_idat), cut.filtered_size, 1
    while True:
        blocks, room = [], min(PIECE, left)
        while room:
            block = rows.take(min(room, STORED_BLOCK))
            if not block:
                break
            adler = zlib.adler32(block, adler)
            blocks += [struct.pack("<BHH", 0, len(block), len(block) ^ 0xFFFF), block]
            room -= len(block)
            left -= len(block)
        if left and rows.stream_ended:
            raise zlib.error(f"the stream ends {left} bytes before the rows that IHDR declares")
        if not left:
            blocks += [FINAL_EMPTY_BLOCK, struct.pack(">I", adler)]
        if room or not left:  # the last piece
            yield idat_chunk(b"".join(blocks)) + rows.after_the_run()
            return
        yield idat_chunk(b"".join(blocks))


def idat_chunk(payload: bytes) -> bytes:
    kind = b"IDAT"
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(payload, zlib.crc32(kind)))
