"""The original, opened as browsers read it: by the decoders the package registers, with what Pillow would read
otherwise (a BMP's palette and runs, a PNG's tRNS) read as browsers do, and a TIFF sized and decoded as stored,
where Pillow would turn it upright; and the size and orientation browsers show."""

import io
import struct
from functools import cache, partial
from typing import BinaryIO

from PIL import Image, ImageChops, ImageFile, ImagePalette

from edge import avif, bmp, gif, jpeg, png, tiff, webp
from edge.errors import SourceTooLarge, UnsupportedMedia
from edge.geometry import upright_size
from edge.image.checks import (
    EXIF_HEADER, EXIF_TIFF_HEADERS, MAX_TIFF_PIXEL_BYTES, check_exif, check_jpeg_data, check_pixels, check_tiff,
    check_what_pillow_walks, exif_directory, is_iso_media, stored_size,
)
from edge.image.model import (
    ANIMATED_SOURCES, DECODERS, DECODE_ERRORS, JPEG_FORMATS, Limits, Source, is_animated, worker_pool,
)

# Signed or 32-bit integer and floating-point samples (TIFF's): the file does not say what range
# they span (0-1, 0-255, the type's whole range...), so no scaling to 8 bits is right for all.
# A guess would be stored, and cached for a year; a 415 tells the uploader at once.
RANGELESS_MODES = frozenset({"I", "F"})
# The PNG chunks Pillow reads as metadata, each by a handler of its own (PngStream's chunk_ methods).
PNG_METADATA_CHUNKS = ("tRNS", "iCCP", "sRGB", "gAMA", "cHRM", "pHYs", "tEXt", "zTXt", "iTXt", "eXIf")
# A BMP's palette of greys that Pillow reads as grey pixels rightly: (mode, bit depth, palette entries).
GREYS_AS_PILLOW_READS_THEM = frozenset({("1", 1, 2), ("L", 8, 256)})
PALETTE_RAW_MODES = {1: "P;1", 4: "P;4", 8: "P"}  # a paletted BMP's pixels, by bit depth
RUN_LENGTH_DECODER = "edge_bmp_rle"  # RunLengthDecoder's name, beside Pillow's bmp_rle
BIT_FIELDS_DECODER = "edge_bmp_bit_fields"  # BitFieldsDecoder's
PIXEL_BYTES_MODES = {16: "LA", 32: "RGBA"}  # a mode of as many bytes a pixel as a BMP's depth, each a band
BIT_FIELDS_STRIP_PIXELS = 1 << 20  # read by their bit fields at a time (BitFieldsDecoder)
BLACK_RGB = bytes(3)
ORIENTATION_TAG = 0x0112
# What turns a stored image upright, by EXIF orientation (as ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def open_source(data: bytes, limits: Limits) -> Source:
    """Open the original from its header and check the limits; nothing is decoded yet."""
    try:
        reader = png.inflating_reader(data, worker_pool())
    except png.MalformedPng as error:
        raise UnsupportedMedia(f"malformed PNG: {error}") from None
    except png.TooManyChunks as error:
        raise SourceTooLarge(f"PNG of {error}") from None
    gif_layout, jpeg_head = check_what_pillow_walks(data, limits)
    hidden_alpha = webp.hides_animation_alpha(data)
    as_shown = webp.with_alpha_declared(data) if hidden_alpha else jpeg.icc_stubs_hidden(data, jpeg_head)
    try:
        as_shown = bmp.bit_fields_pillow_opens(as_shown)
    except bmp.MasksRefused as error:
        raise UnsupportedMedia(f"BMP of {error}, which browsers refuse") from None
    image = pillow_open(reader or io.BytesIO(as_shown), data)
    if image.mode in RANGELESS_MODES:
        raise UnsupportedMedia(f"{image.format} with mode {image.mode} samples, whose range is unknown")
    canvas = image.size
    check_pixels(canvas, limits)
    prepare_decode(image, data)
    if image.format in JPEG_FORMATS:
        check_jpeg_data(data)
    data_check = check_tiff(image, data, limits) if image.format == "TIFF" else None
    if image.format != "GIF":
        gif_layout = None
    elif gif_layout is not None:
        canvas = gif_layout.size
    frames, first_frame, controls = counted_frames(image, data, gif_layout, limits)
    return Source(image, frames, canvas, data_check, apng=image.format == "PNG" and reader is None,
                  first_frame=first_frame, frame_controls=controls, hidden_alpha=hidden_alpha, gif_layout=gif_layout,
                  jpeg_icc_profile=jpeg.icc_profile(data, jpeg_head.icc) if image.format in JPEG_FORMATS else None)


def prepare_decode(image: Image.Image, data: bytes) -> None:
    """Tell Pillow, before it decodes the opened original, what it would otherwise do its own way: a TIFF decoded as
    stored, a long row's decode kept linear, a PNG's tRNS and a BMP's palette, profile, alpha and runs read as
    browsers read them, and a PNG's metadata after its pixels skipped; an UnsupportedMedia for a BMP whose profile
    runs past the end of the file."""
    if image.format == "TIFF":
        # Pillow's getexif() reads XMP's tiff:Orientation where the file has no Orientation tag, which would have
        # load() turn the pixels (a helper's file, rendered black). XMP never turns an image here (exif_orientation).
        image.info.pop("xmp", None)
        read_tiff_as_stored(image)
    # Pillow hands a decoder the file in blocks of 64 KB, each joined to what the decoder left unread, and its raw
    # decoder takes whole rows only: a row far longer than a block was copied again for each block, quadratic in its
    # length (a fuzzer's animated WebP of 138 bytes, its canvas 16,777,216 x 1, took 54 s; a BMP of one 4,194,304-
    # pixel row 0.8 s, of twice that 3.3 s). Blocks of two of the widest rows at least keep it linear.
    image.decodermaxblock = max(ImageFile.MAXBLOCK, 2 * MAX_TIFF_PIXEL_BYTES * stored_size(image)[0])
    if image.format == "PNG":
        skip_metadata_after_pixels(image)
        read_transparency_as_browsers(image, data)
    if image.format == "BMP":
        read_bmp_as_browsers(image, data)


def counted_frames(
    image: Image.Image, data: bytes, gif_layout: gif.Layout | None, limits: Limits,
) -> tuple[int, int, tuple]:
    """How many frames to render, Pillow's number of the first, and an APNG's frame controls (Source); a
    SourceTooLarge past the frame limit. `gif_layout` is a GIF's, None for any other format."""
    if gif_layout is not None:
        frames = gif_layout.frames
    elif image.format in ANIMATED_SOURCES:
        frames = getattr(image, "n_frames", 1)  # as declared: nothing is walked (an APNG's is checked below)
    else:
        frames = 1  # TIFF pages and MPO previews are never rendered, and counting TIFF pages walks every IFD
    first_frame, controls = 0, ()
    if image.format == "PNG" and frames > 1:
        controls = tuple(png.frame_controls(data, limits.max_frames))
        frames, first_frame = apng_frames(image, len(controls))
    if frames > limits.max_frames:
        raise SourceTooLarge(f"{frames} frames counted, over {limits.max_frames}")
    return frames, first_frame, controls


def pillow_open(file: "BinaryIO | png.InflatingReader", data: bytes) -> Image.Image:
    """Image.open of the original `data`, as `file` reads it; what fails there is the original's fault."""
    try:
        return Image.open(file, formats=DECODERS)
    except Image.UnidentifiedImageError:  # its message names the BytesIO's address, unique to each log line
        # Also where a decoder knew the signature but failed on the header after it, which Pillow does not say.
        raise UnsupportedMedia(f"cannot identify image: no decoder of {', '.join(DECODERS)} opened it; "
                               f"it begins {data[:8]!r}") from None
    except DECODE_ERRORS as error:
        raise UnsupportedMedia(f"cannot identify image: {error}") from None
    except AttributeError as error:
        # Pillow's AVIF reader rewrites Exif whose orientation is not irot and imir's, and its writer fails on a
        # tag it writes as text that holds a number (a fuzzer's): the Exif is the file's, broken. Anywhere else,
        # it would be ours: the PNG reader's.
        if not is_iso_media(data):
            raise
        raise UnsupportedMedia(f"cannot identify image: its Exif cannot be rewritten: {error}") from None


def read_tiff_as_stored(image: Image.Image) -> None:
    """Have Pillow size and decode a TIFF as stored, where it sizes it upright by its Orientation tag and load()
    turns the whole decoded picture by getexif()'s (a second copy as large), so that the steps work on it as stored
    and turn only the output, as every other format's (orient, by tiff_orientation)."""
    image._size = stored_size(image)  # Pillow's plugins set the size so; no public way does, once the file is open
    image.getexif().pop(ORIENTATION_TAG, None)


def apng_frames(image: Image.Image, present: int) -> tuple[int, int]:
    """How many frames of an APNG to render, and Pillow's number of the first: the frames `present`, up to as
    many as acTL declares. An IDAT image outside the animation (Pillow's frame 0) is a fallback, which browsers
    never show: where no frame is present, Chromium shows an empty canvas, and we render the fallback, which is
    what a viewer without APNG shows."""
    if not image.info.get("default_image"):
        return min(image.n_frames, present), 0
    return (min(image.n_frames - 1, present), 1) if present else (1, 0)


def read_transparency_as_browsers(image: Image.Image, data: bytes) -> None:
    """A PNG's tRNS as libpng (and so Firefox) reads it, where Pillow reads it otherwise: a colour key brought
    to Pillow's 8-bit samples, and palette alpha ignored whole where libpng ignores it (one after the pixels is
    skipped: skip_metadata_after_pixels). Chromium differs on one invalid file: docs/SECURITY.md."""
    if "transparency" not in image.info:
        return
    if png.palette_alpha_ignored(data):
        del image.info["transparency"]
    else:
        image.info["transparency"] = png.transparency_at_8_bits(data, image.info["transparency"])


def read_bmp_as_browsers(image: Image.Image, data: bytes) -> None:
    """A BMP's palette and profile as Chromium 156 reads them (a helper's measure). Pillow reads a palette all of
    greys as grey pixels, which holds only at the depth whose values they are, black and white at 1 bit and all
    256 greys at 8: a palette of black and white at 4 or 8 bits came out all black, one of 16 greys at 4 bits was
    refused. Such a BMP is read by its palette. Nor does Pillow read a V5 header's embedded ICC profile; one that
    runs past the end of the file, Chromium refuses the whole picture for. An uncompressed 32-bit one's fourth
    bytes are alpha behind a V4 or V5 header that has an alpha mask (bmp.alpha_in_fourth_byte). Bit fields are
    read by their masks where Pillow reads them otherwise (bmp.bit_fields)."""
    try:
        profile = bmp.embedded_profile(data)
    except bmp.ProfileOutside:
        raise UnsupportedMedia("BMP whose embedded ICC profile runs past the end of the file, which browsers refuse")
    if profile is not None:
        image.info["icc_profile"] = profile
    paletted = bmp.palette_size(data) if image.mode in ("1", "L") else None
    if paletted is not None and (image.mode, *paletted) not in GREYS_AS_PILLOW_READS_THEM:
        read_greys_by_palette(image, *paletted)
    if image.mode == "RGB" and bmp.alpha_in_fourth_byte(data):
        read_as(image, "RGBA", "BGRA")
    if image.tile[0].codec_name == "bmp_rle":
        decode_runs_as_browsers(image)
    fields = bmp.bit_fields(data)
    if fields is not None:
        image._mode = "RGBA" if fields.masks[3] else "RGB"  # as read_as sets it
        _, extents, offset, (_, stride, direction) = image.tile[0]
        image.tile = [ImageFile._Tile(BIT_FIELDS_DECODER, extents, offset, (fields, stride, direction))]


def read_greys_by_palette(image: Image.Image, bits: int, colours: int) -> None:
    """A palette of greys that Pillow read as grey pixels of another depth, read as a palette (read_bmp_as_browsers)."""
    # What Pillow found the palette to be, up to as many entries as the depth can index (Chromium's cap): Pillow
    # compares a level past 255 by its low byte.
    levels = (0, 255) if colours == 2 else range(min(colours, 1 << bits))
    read_as(image, "P", PALETTE_RAW_MODES[bits])
    image.palette = ImagePalette.raw("RGB", bytes(level for level in levels for _ in "RGB"))


def read_as(image: Image.Image, mode: str, raw_mode: str) -> None:
    """Have a BMP's pixels decoded into `mode` from `raw_mode`, where Pillow chose otherwise as it opened it."""
    image._mode = mode  # Pillow's plugins set the mode so; no public way does, once the file is open
    codec, extents, offset, args = image.tile[0]
    image.tile = [ImageFile._Tile(codec, extents, offset, (raw_mode, *args[1:]))]


def decode_runs_as_browsers(image: Image.Image) -> None:
    """Have an RLE8 or RLE4 BMP decoded as Chromium 156 decodes it (bmp.run_length_pixels), where Pillow wrapped
    runs and deltas onto the next row, shifted the rows after a literal that passes a row's end, refused a file
    whose end-of-bitmap comes early, and showed the pixels left unwritten in its palette's first colour, which
    Chromium shows black, as it shows an index past the palette. Black must then be one of the colours: a
    palette of 256 without it becomes RGB pixels."""
    codec, extents, offset, (_, rle4, direction) = image.tile[0]
    palette = None
    if image.mode == "P":
        colours = palette_colours(image.palette)[:256]
        black = len(colours) if len(colours) < 256 else next((index for index, colour in enumerate(colours)
                                                              if colour == BLACK_RGB), None)
        if black is None:
            palette, black = b"".join(colours), tuple(BLACK_RGB)
            image._mode, image.palette = "RGB", None
        else:
            image.palette = ImagePalette.raw("RGB", b"".join(colours).ljust(256 * 3, b"\0"))
    else:  # "L": Pillow's reading of 256 greys, the one palette of greys an RLE BMP keeps (read_greys_by_palette)
        black = 0
    image.tile = [ImageFile._Tile(RUN_LENGTH_DECODER, extents, offset, (palette, black, rle4, direction))]


def palette_colours(palette: ImagePalette.ImagePalette) -> list[bytes]:
    """The RGB of each entry of a palette, in the order of its raw mode as a plugin read it (BGRX, BGR), or of its
    mode once Pillow has taken it in."""
    order, data = palette.rawmode or palette.mode, palette.palette
    return [bytes(data[start + order.index(band)] for band in "RGB")
            for start in range(0, len(data) - len(order) + 1, len(order))]


class RunLengthDecoder(ImageFile.PyDecoder):
    """An RLE8 or RLE4 BMP's pixels (decode_runs_as_browsers). It reads the file from the pixels' offset to its end,
    all of it at once: run-length coded rows have no length to read them by."""

    _pulls_fd = True

    def decode(self, buffer: bytes) -> tuple[int, int]:
        palette, black, rle4, direction = self.args
        size = (self.state.xsize, self.state.ysize)
        indices, unwritten = bmp.run_length_pixels(self.fd.read(), *size, rle4, fill=0 if palette else black)
        if palette is None:
            self.set_as_raw(indices, "L" if self.mode == "L" else "P", (0, direction))
            return -1, 0
        # Every index is a colour, and none is black: the pixels are given their colours, then black where unwritten.
        pixels = Image.frombytes("P", size, indices)
        pixels.putpalette(palette)
        pixels = pixels.convert("RGB")
        if unwritten is not None:
            pixels.paste(black, mask=Image.frombytes("L", size, unwritten))
        self.set_as_raw(pixels.tobytes(), "RGB", (0, direction))
        return -1, 0


Image.register_decoder(RUN_LENGTH_DECODER, RunLengthDecoder)


class BitFieldsDecoder(ImageFile.PyDecoder):
    """A 16- or 32-bit BMP's pixels, read by their bit fields (bmp.BitFields), a strip of rows at a time
    (BIT_FIELDS_STRIP_PIXELS), each pasted where it lies: the bands a strip takes on the way are held for the
    strip, not the whole picture (20 MP of 5-6-5 peaked at 582 MB read whole, against Pillow's own 160)."""

    _pulls_fd = True

    def decode(self, buffer: bytes) -> tuple[int, int]:
        fields, stride, direction = self.args
        width, height = self.state.xsize, self.state.ysize
        rows_a_strip = max(1, BIT_FIELDS_STRIP_PIXELS // width)
        for first in range(0, height, rows_a_strip):  # in the file's order: bottom up where direction is -1
            rows = min(rows_a_strip, height - first)
            stored = self.fd.read(stride * rows)
            # The last row may want its padding, which Pillow's raw decoder never reads (nor did it need it).
            needed = stride * rows - (stride - width * fields.bits // 8 if first + rows == height else 0)
            if len(stored) < needed:
                raise OSError(f"image file is truncated: {len(stored)} bytes of a strip of {needed}")
            stored = stored.ljust(stride * rows, b"\0")
            strip = by_bit_fields(stored, fields, (stride, direction), (width, rows), self.mode)
            top = first if direction > 0 else height - first - rows
            self.im.paste(strip.im, (0, top, width, top + rows))
        return -1, 0


Image.register_decoder(BIT_FIELDS_DECODER, BitFieldsDecoder)


def by_bit_fields(stored: bytes, fields: bmp.BitFields, layout: tuple[int, int], size: tuple[int, int],
                  mode: str) -> Image.Image:
    """Rows of pixels as stored, each `layout`'s stride of bytes apart, in its direction (-1: bottom up), read by
    their bit fields, top row first: each of a pixel's bytes a band, of which each sample takes the bits its mask
    covers from one or two (its highest 8 bits at most), then scaled to 8 bits, each step a table Pillow looks
    values up in."""
    # Opaque 16-bit pixels Pillow's raw decoder reads: its levels are Chromium's but for a table, where the bands took
    # 2.1 times as long (20 MP of 5-6-5, by hand).
    colour_masks, alpha_mask = fields.masks[:3], fields.masks[3]
    raw_mode = bmp.PILLOW_16_BIT_RAW_MODES.get(colour_masks) if fields.bits == 16 and not alpha_mask else None
    if raw_mode is not None:
        pillows = Image.frombytes(mode, size, stored, "raw", raw_mode, *layout)
        return pillows.point(pillow_levels_as_chromiums(colour_masks))
    bytes_mode = PIXEL_BYTES_MODES[fields.bits]
    bands = Image.frombytes(bytes_mode, size, stored, "raw", bytes_mode, *layout).split()
    return Image.merge(mode, [bit_field(bands, mask) for mask in (fields.masks if alpha_mask else colour_masks)])


@cache
def pillow_levels_as_chromiums(colour_masks: tuple[int, int, int]) -> list[int]:
    """A table of Pillow's 8-bit level of each sample of pixels of these masks of red, green and blue, read by its
    raw mode for them (bmp.PILLOW_16_BIT_RAW_MODES), band by band, to Chromium's: one level for each, as Pillow's
    differ from Chromium's rounding on 15 of 32 and 30 of 64 (bmp.sample_levels)."""
    table, raw_mode = [], bmp.PILLOW_16_BIT_RAW_MODES[colour_masks]
    for band, mask in enumerate(colour_masks):
        shift, levels = (mask & -mask).bit_length() - 1, bmp.sample_levels(mask)
        pixels = b"".join((value << shift).to_bytes(2, "little") for value in range(len(levels)))
        decoded = Image.frombytes("RGB", (len(levels), 1), pixels, "raw", raw_mode).getchannel(band)
        by_pillows = dict(zip(decoded.tobytes(), levels))
        table += [by_pillows.get(level, level) for level in range(256)]
    return table


def bit_field(pixel_bytes: tuple[Image.Image, ...], mask: int) -> Image.Image:
    """The 8-bit samples of `mask`'s bits (bmp.BitFields) in pixels of `pixel_bytes`, bands of each byte."""
    if not mask:
        return Image.new("L", pixel_bytes[0].size)
    levels, parts = bmp.sample_levels(mask), bmp.sample_parts(mask)
    if len(parts) == 1:
        (at, values), = parts
        return pixel_bytes[at].point([levels[value] for value in values])
    # Two bytes at most, each with bits of its own: their sum is the sample, never past 255 (ImageChops.add's clip).
    (low_at, low), (high_at, high) = parts
    sums = ImageChops.add(pixel_bytes[low_at].point(low), pixel_bytes[high_at].point(high))
    return sums.point(levels + [0] * (256 - len(levels)))  # a table of every 8-bit value, as Pillow takes one


def skip_metadata_after_pixels(image: Image.Image) -> None:
    """Have Pillow skip a PNG's metadata chunks after the pixels, which browsers ignore (CSS Images 3), where it
    would read them as it finishes decoding, past every check: a tRNS (with more than 256 palette entries, its
    conversion to RGBA then failed), or an iCCP cut short (an IndexError a fuzzer found): each a 500."""
    # Pillow's chunk reader finds each chunk's handler by name. Bound to the file alone, not to the reader
    # (a cycle, which would keep a refused image's pixels until the garbage collector ran).
    for kind in PNG_METADATA_CHUNKS:
        setattr(image.png, f"chunk_{kind}", partial(skip_chunk, image.png.fp))


def skip_chunk(file: BinaryIO, position: int, length: int) -> bytes:
    return file.read(length)


def oriented_size(image: Image.Image, data: bytes) -> tuple[int, int]:
    return upright_size(shown_size(image, data), exif_orientation(image, data))


def shown_size(image: Image.Image, data: bytes) -> tuple[int, int]:
    """The size, as stored, of what browsers show of a picture: a still AVIF's clean aperture where it is cut from
    the top-left corner (avif.top_left_aperture), which Pillow decodes around; else all Pillow decodes, a TIFF's read
    from its tags (stored_size): Pillow opens one sized upright until read_tiff_as_stored, and exif_orientation
    turns it by its tag either way (bench/job.py opens it with Pillow alone: a sideways one was turned twice)."""
    if image.format == "AVIF" and not is_animated(image):
        return avif.top_left_aperture(data, image.size) or image.size
    return stored_size(image)


def exif_orientation(image: Image.Image, data: bytes) -> int:
    """How the stored pixels must be turned to stand upright: 1 to 8, as EXIF numbers them, read only where
    browsers read it, so that a derivative stands as its original does on the page. CSS Images 3 has them read
    only metadata before the image data (Chromium 156, by hand): a JPEG's first Exif segment (shown_exif), the
    first eXIf chunk of a PNG if it precedes IDAT (png.exif_before_pixels), both read as Chromium reads them
    (tiff.orientation), an AVIF's irot and imir (avif_orientation), and a TIFF's Orientation tag, as Pillow turns
    one (tiff_orientation). Never a WebP's EXIF chunk, which follows the image data, nor XMP's tiff:Orientation,
    both of which Pillow's getexif() reads."""
    if image.format in JPEG_FORMATS:
        exif = shown_exif(image)
    elif image.format == "PNG":
        exif = png.exif_before_pixels(data)
    elif image.format == "AVIF":
        return avif_orientation(image)
    elif image.format == "TIFF":
        return tiff_orientation(image)
    else:
        return 1
    return 1 if exif is None else tiff.orientation(exif)


def tiff_orientation(image: Image.Image) -> int:
    """A TIFF's Orientation tag, read as Pillow reads it to turn one (ImageOps.exif_transpose), which no browser
    shows: any value but 1 to 8 leaves it as stored."""
    orientation = image.tag_v2.get(ORIENTATION_TAG)
    return int(orientation) if orientation in UPRIGHT else 1


def shown_exif(image: Image.Image) -> bytes | None:
    """The Exif Chromium 156 turns a JPEG by (a helper's measure, as Skia's SkJpegMetadataDecoderImpl reads it): the
    payload of the first application segment before the scan that Pillow keeps as APP1 and that begins "Exif\\0"
    and a sixth byte of any value, with something after them. Pillow joins every "Exif\\0\\0" segment's."""
    for name, payload in image.applist:
        if name == "APP1" and payload.startswith(EXIF_HEADER[:5]) and len(payload) > len(EXIF_HEADER):
            return payload[len(EXIF_HEADER):]
    return None


def avif_orientation(image: Image.Image) -> int:
    """An AVIF's irot and imir, as the orientation that Pillow's reader writes into the Exif it gives: where the
    file's own Exif item reads as the same orientation to Pillow, it is kept as stored, so Pillow reads it back."""
    exif = image.info.get("exif")
    if not isinstance(exif, bytes):
        return 1
    directory = exif_directory(exif)
    if not directory.startswith(EXIF_TIFF_HEADERS):
        return 1
    check_exif(directory)
    exif = Image.Exif()
    try:
        exif.load(directory)
        orientation = int(exif.get(ORIENTATION_TAG, 1))
    except (ValueError, TypeError, OSError, SyntaxError, struct.error):  # struct: a TIFF header cut short
        return 1  # a broken EXIF block must not stop an otherwise good image
    return orientation if 1 <= orientation <= 8 else 1
