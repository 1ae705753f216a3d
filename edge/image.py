"""The image engine: the only module that imports Pillow, and the SIMD resizer that works on its images.

`render` opens the original, checks it against the limits from its header alone
(before a pixel is decoded), then runs each frame through a fixed list of small
steps. Every step returns early when it has nothing to do.

Colour: an RGB or grayscale source's ICC profile (Display P3, Adobe RGB, ...) is
kept, untouched, in JPEG, PNG, WebP and AVIF output, so browsers show the same
colours, where browsers would use it at all (icc.usable). An AVIF or PNG that
gives its colour by code points gets the profile they make (HDR's: its SDR
rendering), and AVIF output states the codes too, so that HDR stays HDR there; a
PNG that gives it by gAMA and cHRM, the profile they make. GIF cannot carry a
profile, nor WebP a grey one (WebP has no grey, nor AVIF with alpha as Pillow
writes it), nor grey pixels an RGB one, so those pixels are converted to sRGB
(to_srgb_where_the_profile_cannot_go), and CMYK is always converted to sRGB
(with its profile when it has one).
Metadata: EXIF (its orientation applied where browsers apply it, by turning only
the output, after the resize: the steps before work on the pixels as stored), XMP
and comments never reach the output.
"""

import io
import math
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import BinaryIO, NamedTuple

import PIL
from cykooz_resizer import AlphaMulDiv, CropBox, FilterType, ResizeAlg, ResizeOptions, Resizer
from PIL import Image, ImageChops, ImageCms, ImageFile, ImagePalette

# Only the decoders we accept are registered: Image.open then never tries the
# other few dozen plugins (less to import, and less attack surface).
from PIL import (  # noqa: F401 - imported for their registration side effect
    AvifImagePlugin,
    BmpImagePlugin,
    GifImagePlugin,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from edge import avif, bmp, gif, heap, icc, jpeg, png, tiff, webp
from edge.errors import BadRequest, SourceTooLarge, UnsupportedMedia
from edge.geometry import Box, Geometry, as_stored, plan, upright_size
from edge.rendition import Rendition

# We enforce our own pixel limit from configuration, before decoding; Pillow's
# global guard would otherwise fire at a fixed size we do not control.
Image.MAX_IMAGE_PIXELS = None
# Decoded images are large and short-lived: keep their memory for the next request (edge/heap.py).
heap.keep_freed_memory()

DECODERS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "TIFF", "BMP")
TIFF_SIGNATURES = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, either byte order
# Pillow format name -> our default output format (None: decided by alpha). MPO is
# what many phones write, a JPEG with extra pictures appended; the JPEG decoder opens it.
SOURCE_FORMATS = {
    "JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "AVIF": "avif",
    "TIFF": None, "BMP": None,
}
CONTENT_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif", "gif": "image/gif",
}
DEFAULT_QUALITY = {"jpeg": 82, "webp": 80, "avif": 62}
ANIMATED_SOURCES = frozenset({"GIF", "WEBP", "PNG", "AVIF"})  # not MPO: its extra frames are previews
JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # as Pillow names what its JPEG decoder opens
ANIMATED_OUTPUTS = frozenset({"gif", "webp", "png", "avif"})
ICC_OUTPUTS = frozenset({"jpeg", "png", "webp", "avif"})
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
GRAY_MODES = frozenset({"1", "L", "LA", "La"})
# The formats that may give their colour by code points, and the module that reads them.
CODE_POINT_READERS = {"AVIF": avif, "PNG": png}
# Signed or 32-bit integer and floating-point samples (TIFF's): the file does not say what range
# they span (0-1, 0-255, the type's whole range...), so no scaling to 8 bits is right for all.
# A guess would be stored, and cached for a year; a 415 tells the uploader at once.
RANGELESS_MODES = frozenset({"I", "F"})
DEFLATE_TIFF = frozenset({"tiff_adobe_deflate", "tiff_deflate"})  # Pillow's names for TIFF's compressions 8 and 32946
MAX_TIFF_PIXEL_BYTES = 8  # four samples of 16 bits: the widest pixel Pillow opens, once modes I and F are refused
EVERY_ROW = 2**32 - 1  # a TIFF's RowsPerStrip by default: the whole picture in one strip
# libpng's default limit on rows and columns, which Chromium 156 keeps (a PNG past it does not show). Pillow holds a
# pointer a row for every image it makes, and some of its steps take time a row: a PNG of 1 x 50,000,000, 146 KB,
# took 7 s and 2.5 GB to render, the same pixels in a square 1.4 s and 0.7 GB (a helper's measure). Either side can
# become the rows, as the picture is turned upright.
MOST_SOURCE_SIDE = 1_000_000
# Pillow walks a JPEG's header in Python, a step per marker or byte of junk or fill, and inside some
# segments (edge/jpeg.py): a photograph's takes about 150; 4 MiB of tiny segments took it 2.7 s and
# 122 MB, of fill bytes 2.9 s (by hand).
MAX_JPEG_HEADER_STEPS = 100_000
# A TIFF's first directory, read by Pillow in Python (edge/tiff.py): a photograph's has a few dozen entries;
# its longest number arrays are a 16-bit colour map (196,608) or strip and tile offsets, one per strip or
# tile (a 50 MP image cut into 16x16 tiles has 195,313). 4 MiB of 2-byte strip offsets took Pillow
# 4.3 s and 500 MB to open (by review).
MAX_TIFF_ENTRIES = 1_000
MAX_TIFF_VALUES = 200_000
# Pillow makes a tile object of each strip or tile in Python (edge/tiff.py): 50 MP in one-row strips is
# 7,071 of them, in 64-pixel tiles 12,207, four times that with planes apart; in 16-pixel tiles, 195,313,
# which would cost it seconds, is refused.
MAX_TIFF_STRIPS = 65_536
# Tiles cover the image and less than a tile more across and down (7000x7000 in 1024-pixel tiles: 1.05 times
# its pixels). libtiff decodes each whole, into a buffer of its own: past twice the pixel limit, refused.
MAX_TIFF_TILE_PADDING = 2
# Exif's directories say how to orient and print the picture, and how it was taken: a few numbers a tag (an IPTC
# block stored as LONGs may take a few thousand). In all of them, each counted as often as it is pointed to.
MAX_EXIF_VALUES = 20_000
MOST_KEPT_PROFILE_BYTES = 1024 * 1024  # a display or camera profile takes a few KB, a printer's up to a few MB
# Encoders write 10 progressive scans or so, a component or three each: 12 components' scans for libjpeg's
# default script. Each costs libjpeg about 18 ms at 49 MP, up to 87 ms arithmetic-coded (a helper's measures):
# at most 24 of them at 50 MP, 6 arithmetic-coded.
MAX_JPEG_SCANS = 100
MAX_JPEG_SCAN_PIXELS = 1_200_000_000
MOST_JPEG_ROWS = 65_535
# An AVIF's colour and alpha, as a still and as a track of frames held to the pixel limit together, and twice that
# for hidden frames, layers or tiles: the frames dav1d may decode, in all, against the pixel limit.
AVIF_DECODED_PIXELS = 8
# Each JPEG strip's or tile's frame header is walked to in Python, a step a marker, within an equal share of these for
# all: 4 a strip at MAX_TIFF_STRIPS (65,536 walked in 0.13 s, by hand), up to MAX_JPEG_HEADER_STEPS for one. libjpeg
# writes it after the start of image and its quantization tables, a segment each: libtiff's is the first marker (its
# tables in JPEGTables) or the second or third; a whole JPEG's, JFIF's segment before them, the third or fourth.
MOST_TIFF_JPEG_MARKERS = 4 * MAX_TIFF_STRIPS
ARITHMETIC_SCAN_COST = 4
MAX_EXIF_SEGMENTS = 64  # a camera writes one; 64 of 64 KB take Pillow 13 ms to gather, by hand
# A run-length coded BMP, which is decoded in Python (edge/bmp.py). Such BMPs are screenshots and icons, if
# anything: a 1920 x 1080 one fits, its pixels in absolute runs (2.1 MB). At the limits, the slowest hostile ones
# made by hand decode in 0.2-0.8 s (docs/SECURITY.md).
MAX_RLE_BMP_BYTES = 5 * 1024 * 1024 // 2
MAX_RLE_BMP_PIXELS = 2_100_000
# The PNG chunks Pillow reads as metadata, each by a handler of its own (PngStream's chunk_ methods).
PNG_METADATA_CHUNKS = ("tRNS", "iCCP", "sRGB", "gAMA", "cHRM", "pHYs", "tEXt", "zTXt", "iTXt", "eXIf")
# A BMP's palette of greys that Pillow reads as grey pixels rightly: (mode, bit depth, palette entries).
GREYS_AS_PILLOW_READS_THEM = frozenset({("1", 1, 2), ("L", 8, 256)})
PALETTE_RAW_MODES = {1: "P;1", 4: "P;4", 8: "P"}  # a paletted BMP's pixels, by bit depth
RUN_LENGTH_DECODER = "edge_bmp_rle"  # RunLengthDecoder's name, beside Pillow's bmp_rle
BLACK_RGB = bytes(3)
EXIF_HEADER = b"Exif\x00\x00"
EXIF_TIFF_HEADERS = TIFF_SIGNATURES[:2]  # Exif is classic TIFF
DEFAULT_FRAME_MS = 100
# Browsers show a frame of this or less for DEFAULT_FRAME_MS instead (Chromium's DeferredImageDecoder, as Firefox
# and WebKit do), whatever the format.
BROWSERS_SLOW_DOWN_MS = 10
MAX_GIF_REPEATS = MAX_WEBP_PLAYS = 65_535  # both counts take 16 bits
MAX_FRAME_MS = 655_350  # GIF's largest delay (65535 cs); WebP's is larger, and no real frame is near either
GIF_DELAY_UNIT_MS = 10
SHORTEST_GIF_DELAY_MS = BROWSERS_SLOW_DOWN_MS + GIF_DELAY_UNIT_MS
MOST_APNG_EXACT_MS = 65_535  # a delay of n/1000 s, reduced, whose terms are both 16 bits
MOST_WEBP_MS = 2**31 - 1  # an animation's whole time
# Pillow divides an APNG's delay in floats: 1001/1000 s comes out just short of 1001 ms. A true fraction of a
# millisecond is at least 1/65535 of one, far above this.
APNG_DELAY_SLACK_MS = 1e-6
# Largest side of each output: what its encoder writes (WebP's is 16383 in libwebp, JPEG's 65500 in
# libjpeg), and for AVIF and PNG what decoders read: libavif, and Chromium's, refuse over 32768 by
# default, libpng over 1,000,000 (and Chromium showed no wider PNG).
MAX_SIDE = {"jpeg": 65_500, "png": 1_000_000, "webp": 16_383, "avif": 32_768, "gif": 65_535}
# What a decoder raises on a corrupt or truncated body (libavif: RuntimeError; a GIF without a frame: EOFError).
# ZeroDivisionError: Pillow's AVIF plugin divides by a track's timescale, which a file may give as 0.
# Pillow also fails in Python on values of a type it does not expect (a TypeError): a TIFF's XMP tag of signed
# bytes made getexif() search a tuple (a reviewer's file), until the XMP was dropped before the load.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, ZeroDivisionError, TypeError)
BROKEN_PROFILE_ERRORS = (ImageCms.PyCMSError, OSError, ValueError)  # a profile LittleCMS cannot read or use
GIF_KEEP, GIF_RESTORE_BACKGROUND, GIF_RESTORE_PREVIOUS = 1, 2, 3
GIF_RESTORING = (GIF_RESTORE_PREVIOUS, 4)  # browsers read the reserved 4 as 3, and 5-7 as keeping the frame
GIF_OPAQUE_FROM = 128  # GIF alpha is all or nothing: this much alpha and up is opaque
WHITE = OPAQUE = 255
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# LANCZOS, by fast_image_resize's SIMD convolution: several times faster than Pillow's (by hand,
# 12 MP to 1600 px on one core: 15-24 against 137 ms), and the same bytes on every CPU it
# detects. On photographs it is within a level or two of Pillow's LANCZOS; on hard edges
# (text, noise) up to tens of levels apart, where the two run their passes in another
# order and so clip the ringing of their 8-bit middle pass in other places.
SIMD_LANCZOS = ResizeAlg.convolution(FilterType.lanczos3)
# Decode JPEGs in the DCT domain at up to 1/8 scale, still WebPs at any scale (and
# box-reduce other formats), but to no less than twice the output, so that the final
# LANCZOS pass still has enough pixels to filter: the headroom libvips leaves too.
# `make bench-levers` (12-50 MP JPEG to 320-1600 px, SSIM against a float LANCZOS of
# the full decode): at 2 the SSIM is within 0.0012 of a full decode's; 1.5 loses
# another 0.002 where it picks a smaller scale, 1 up to 0.03; 3 loses the reduced
# decode at 800-1600 px. The bench's 4 MP WebP to 320 and 800 px, by hand: at 2 the
# SSIM is that of a full decode or better (0.9118 and 0.9503 against 0.9100 and 0.9502).
DRAFT_GAP = 2
REDUCING_GAP = 2
# Lossless, the bench's photos take 3.4-3.8 bits a pixel, a logo or a screenshot 0.02-0.06 (by hand).
LOSSLESS_MAX_BITS_PER_PIXEL = 2
# An edge pixel covered this close to wholly or not at all is taken as such (a scale's rounding).
PARTIAL_EDGE_EPSILON = 1e-6
# Resampling runs in this many strips, on up to as many threads as there are cores.
# The count is fixed, not taken from the machine, so that the output bytes are the
# same everywhere. Below the pixel count one plain resize is quicker.
RESAMPLE_STRIPS = 4
PARALLEL_MIN_PIXELS = 512 * 512
# Pillow's raw modes that read 16-bit grey's high bytes, then its low bytes, as 8-bit grey, by the 16-bit mode's
# byte order ("L;16" reads the second byte of two, "L;16B" the first), and how many of its pixels are brought to
# 8 bits at a time (in_strips).
BYTE_RAW_MODES = {"I;16": ("L;16", "L;16B"), "I;16L": ("L;16", "L;16B"), "I;16B": ("L;16B", "L;16")}
STRIP_PIXELS = 1 << 20
# The working modes (to_working_mode) with alpha. Their colour is resampled weighted by it (alpha_weighted, as
# RGBa: the resampler has no two-band mode, and LA's three equal colour bands come back exactly).
WORKING_ALPHA_MODES = frozenset({"RGBA", "LA"})
# An animation's frames decoded ahead of their steps. The bench's 20-frame GIF to 320 px
# WebP: 330 against 390 ms, to GIF 460 against 540, the same bytes.
FRAMES_AHEAD = 2
FLAT_IMAGE_COLOURS = 4096  # at most this many colours: a graphic rather than a photo (png_strategy)
ORIENTATION_TAG = 0x0112
# Part of an image (left, upper, right, lower), in its pixels, fractions of a pixel kept.
Region = tuple[float, float, float, float]


@dataclass(frozen=True)
class Limits:
    max_pixels: int  # per frame, and for all the frames of an animation together
    max_frames: int


@dataclass(frozen=True)
class Source:
    """An opened original whose header passed the limits."""

    image: Image.Image
    frames: int
    canvas: tuple[int, int]  # for a GIF, grown to every frame's extent, as Pillow grows it
    data_check: "DataCheck | None" = None
    apng: bool = False  # whose streams Pillow inflates itself: the reader checks a still PNG's one stream
    # Pillow's number of the first frame: 1 where an APNG's IDAT image is a fallback for viewers without
    # APNG, outside its animation, which browsers never show and Pillow counts as frame 0.
    first_frame: int = 0
    frame_controls: tuple = ()  # of an APNG's frames present, from the first, up to max_frames + 1 (png.frame_controls)
    hidden_alpha: bool = False  # an animated WebP's, which its header does not declare (webp.hides_animation_alpha)
    gif_layout: gif.Layout | None = None  # a GIF's frames, as its blocks say (gif.scan)
    jpeg_icc_profile: bytes | None = None  # a JPEG's, put together as Chromium does (jpeg.icc_profile)


@dataclass(frozen=True)
class DataCheck:
    """A check of the original's compressed data that runs on a worker while the pixels decode (edge/png.py's,
    edge/tiff.py's): its error is awaited before anything is encoded. It asks `stop` as it goes, set once the
    render has failed without it: left to run, it would hold a worker that the next request's render needs (an
    APNG's 49 frames of 1000x1000 RGBA inflate for 0.19 s)."""

    outcome: Future
    stop: threading.Event


def start_data_check(check: Callable[..., None], *args) -> DataCheck:
    """Run `check(*args, stopped=...)` on a worker; `stopped()` turns true once the render fails."""
    stop = threading.Event()
    return DataCheck(worker_pool().submit(check, *args, stopped=stop.is_set), stop)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    format: str
    content_type: str
    size: tuple[int, int]
    frames: int


@dataclass(frozen=True)
class Frame:
    """One picture on its way through the steps, with what the encoder must know of it."""

    image: Image.Image
    geometry: Geometry  # in the pixels as stored, before the orient step turns the output upright (as_stored)
    target: str  # the output format
    icc_profile: bytes | None
    duration: int
    orientation: int = 1  # EXIF's, 1-8; 1: upright as stored
    original: bytes | None = None  # the encoded still picture, for a decoder that reads it itself (libwebp)
    region: Region | None = None  # what of `image` to scale; set by the crop step
    placement: "Placement | None" = None  # None: `image` is the source, pixel for pixel


@dataclass(frozen=True)
class Placement:
    """Where the source, as much of it as browsers show (shown_size), lies in the decoded frame. At reduced scale,
    libjpeg's is 1/2 to 1/8 of the source, plus a partial pixel that it rounds up on the right and bottom edges;
    libwebp's fills the frame, each axis scaled to its own whole number of pixels. At full scale, an AVIF's clean
    aperture is the frame's top-left part (source_frames)."""

    box: tuple[float, float, float, float]  # in the frame's pixels
    scale: tuple[float, float]  # frame pixels per source pixel, across and down

    @classmethod
    def of(cls, box: tuple[float, float, float, float], stored_size: tuple[int, int]) -> "Placement":
        """The stored source decoded into `box`: each axis scaled by its own ratio."""
        left, upper, right, lower = box
        return cls(box, ((right - left) / stored_size[0], (lower - upper) / stored_size[1]))


def render(data: bytes, rendition: Rendition, limits: Limits) -> Rendered:
    data = png.without_chunks_browsers_skip(data)
    source = open_source(data, limits)
    try:
        image = source.image
        target = rendition.format or default_format(image)
        frame_count = source.frames if is_animated(image) and target in ANIMATED_OUTPUTS else 1
        check_animation_pixels(source.first_frame + frame_count, source.canvas, limits)  # all Pillow decodes
        if source.apng:  # beside the decode, the images Pillow will decode
            images = source.first_frame + frame_count
            source = replace(source, data_check=start_data_check(png.check_frame_streams, data, images))
        orientation = exif_orientation(image, data)  # read once: every frame is turned the same way
        shown = shown_size(image, data)
        geometry = plan(upright_size(shown, orientation), rendition.width, rendition.height, rendition.fit)
        check_encodable(geometry.size, target)
        plays = animation_plays(source, data)  # read before seeking: only the first frame carries it
        lossless = target == "webp" and frame_count == 1 and is_lossless_graphic(image, data)
        codes = colour_codes(image, data)
        profile = colour_profile(source, codes, target, data)
        frames = merge_repeated(rendered_frames(
            source_frames(image, source.first_frame, frame_count, target, as_stored(geometry, orientation, shown),
                          orientation, data, profile, frame_canvas(source, frame_count, data), shown),
            frame_count))
        if not has_alpha(image) or source.hidden_alpha:
            drop_unshown_alpha(frames)
        await_data_check(source)
    except BaseException:
        stop_data_check(source)
        raise
    if target == "gif" and len(frames) > 1:
        frames = shown_as_gif(frames, plays)
    # AVIF output states the codes too, on the same numbers.
    body = encode(frames, rendition.quality, plays, lossless, codes)
    return Rendered(body, target, CONTENT_TYPES[target], geometry.size, len(frames))


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
    image = pillow_open(reader or io.BytesIO(as_shown), data)
    if image.mode in RANGELESS_MODES:
        raise UnsupportedMedia(f"{image.format} with mode {image.mode} samples, whose range is unknown")
    canvas = image.size
    check_pixels(canvas, limits)
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
    if image.format in JPEG_FORMATS:
        check_jpeg_data(data)
    data_check = check_tiff(image, data, limits) if image.format == "TIFF" else None
    if image.format == "GIF" and gif_layout is not None:
        frames, canvas = gif_layout.frames, gif_layout.size
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
    return Source(image, frames, canvas, data_check, apng=image.format == "PNG" and reader is None,
                  first_frame=first_frame, frame_controls=controls, hidden_alpha=hidden_alpha,
                  gif_layout=gif_layout if image.format == "GIF" else None,
                  jpeg_icc_profile=jpeg.icc_profile(data, jpeg_head.icc) if image.format in JPEG_FORMATS else None)


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
    bytes are alpha behind a V4 or V5 header that has an alpha mask (bmp.alpha_in_fourth_byte)."""
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


def check_what_pillow_walks(data: bytes, limits: Limits) -> tuple[gif.Layout | None, jpeg.PillowHeader]:
    """Refuse, before Pillow opens it, an original whose structures Pillow would walk in Python for
    seconds: a JPEG's header and Exif (which it reads as it opens it, for a resolution), an AVIF's items
    and Exif, a run-length coded BMP, a TIFF's first directory, a GIF's blocks; and a JPEG's scans, each
    of which libjpeg decodes over the whole picture. A PNG's chunks are counted by png.layout. The GIF's
    layout and the JPEG's header are returned, walked once."""
    header = jpeg_header(data)
    check_jpeg_exif(header.exif)
    if header.size is not None:
        check_pixels(header.size, limits)  # first: over the pixel limit, the scans do not matter
    if header.first_scan is not None:
        check_jpeg_scans(jpeg.scans(data, header), header)
    check_avif_items(data, limits)
    check_rle_bmp(data)
    if tiff.first_directory_over(data, MAX_TIFF_ENTRIES, MAX_TIFF_VALUES):
        raise SourceTooLarge(
            f"TIFF directory of more than {MAX_TIFF_ENTRIES} entries, or {MAX_TIFF_VALUES} numbers in one")
    if tiff.strips(data, MAX_TIFF_ENTRIES) > MAX_TIFF_STRIPS:
        raise SourceTooLarge(f"TIFF of more than {MAX_TIFF_STRIPS} strips or tiles")
    if tiff.values_apart(data, MAX_TIFF_ENTRIES) > len(data):
        raise SourceTooLarge("TIFF whose tags' values are larger together than the file")
    if tiff.sub_directories_over(data, MAX_TIFF_ENTRIES, MAX_EXIF_VALUES):
        raise SourceTooLarge(
            f"TIFF's Exif or GPS directory of more than {MAX_TIFF_ENTRIES} entries, "
            f"or Exif and GPS directories of more than {MAX_EXIF_VALUES} numbers")
    return scan_gif(data, limits), header


def check_avif_items(data: bytes, limits: Limits) -> None:
    """Refuse an AVIF that names more items than libavif should look through, whose Exif Pillow would
    decode for seconds as it opens it, whose AV1 frames may be coded larger than the pixel limit, whatever
    size it declares, or that declares a frame larger than it, which libavif scales to, or whose frames decode
    more than AVIF_DECODED_PIXELS times it in all (a 413); or that holds two of a box a file holds one of, which
    libavif would read otherwise than edge/avif.py (a 415)."""
    try:
        survey = avif.survey(data, limits.max_frames)
    except avif.Crowded as error:
        raise SourceTooLarge(f"AVIF of {error}") from None
    except avif.Ambiguous as error:
        raise UnsupportedMedia(f"AVIF of {error}") from None
    for exif in survey.exif:
        check_exif(exif)
    for how, sizes in (("frame coded at up to", survey.coded_sizes), ("image declared at", survey.declared_sizes)):
        for width, height in sizes:
            if width * height > limits.max_pixels:
                raise SourceTooLarge(f"AVIF {how} {width}x{height}, over {limits.max_pixels} pixels")
    if survey.coded_pixels > AVIF_DECODED_PIXELS * limits.max_pixels:
        raise SourceTooLarge(f"AVIF whose frames may decode more than {AVIF_DECODED_PIXELS} times {limits.max_pixels}"
                             " pixels in all")


def check_rle_bmp(data: bytes) -> None:
    coding = bmp.run_length_coding(data)
    if coding is None:
        return
    if not coding.depth_fits:
        raise UnsupportedMedia("run-length coded BMP of a depth its compression does not code, which browsers refuse")
    width, height = coding.size
    if len(data) > MAX_RLE_BMP_BYTES or width * height > MAX_RLE_BMP_PIXELS:
        raise SourceTooLarge(f"run-length coded BMP of more than {MAX_RLE_BMP_BYTES} bytes or "
                             f"{MAX_RLE_BMP_PIXELS} pixels, which is decoded in Python")


def scan_gif(data: bytes, limits: Limits) -> gif.Layout | None:
    """A GIF's frames and canvas (edge/gif.py), walked and checked before Pillow opens it: Pillow's n_frames
    walks every frame, opening reads the first frame's sub-blocks in Python with no bound (4 MiB of one-byte
    ones took it 0.5 s and 176 MB), and any frame may grow the canvas, the first one as Pillow opens the file
    (a 43-byte GIF's 65535x65535 first frame took 4.1 GB). The screen its header declares is checked first."""
    screen = gif.screen_size(data)
    if screen is None:
        return None
    check_pixels(screen, limits)
    try:
        layout = gif.scan(data, limits.max_frames)
    except gif.MalformedGif as error:
        raise UnsupportedMedia(f"malformed GIF: {error}") from None
    check_pixels(layout.size, limits)
    return layout


def check_pixels(size: tuple[int, int], limits: Limits) -> None:
    if size[0] * size[1] > limits.max_pixels:
        raise SourceTooLarge(f"{size[0]}x{size[1]} is over {limits.max_pixels} pixels")
    if max(size) > MOST_SOURCE_SIDE:
        raise SourceTooLarge(f"{size[0]}x{size[1]} has a side over {MOST_SOURCE_SIDE} pixels")


def check_pixels_in_head(head: bytes, limits: Limits) -> bool:
    """The pixel limit, checked on the first bytes of an original: SourceTooLarge if the size they
    declare is over it; True once they have told what they can (a size within the limit, or a format
    whose size only the whole file tells). CloudFront never caches a 413, so an original over the
    limit, asked for again and again, is refused after its header, not after all its bytes."""
    if tells_its_size_only_whole(head):
        return True
    size = declared_size(head)
    if size is None:
        return False
    check_pixels(size, limits)
    return True


def tells_its_size_only_whole(head: bytes) -> bool:
    """TIFF, whose directory (and size) may follow the pixels, and whose reader warns on a file cut
    short; AVIF (ISO BMFF), which Pillow opens only whole."""
    return head.startswith(TIFF_SIGNATURES) or is_iso_media(head)


def is_iso_media(data: bytes) -> bool:
    """An ISO BMFF file, as AVIF is: its first box a file type box."""
    return data[4:8] == b"ftyp"


def declared_size(head: bytes) -> tuple[int, int] | None:
    """The size the first bytes of a JPEG, PNG, GIF, WebP or BMP declare, as Image.open reports it for
    the whole file; None while the header runs past them (open_source judges the whole file anyway)."""
    fixed = png.declared_size(head) or gif.screen_size(head)  # where Pillow reads it, without its walk
    if fixed is not None:
        return fixed
    if head[:3] == b"\xff\xd8\xff":
        # Read as Pillow reads it, and counted as open_source counts the whole file, in one walk: the
        # count and Pillow's own walk took two (by hand, for 90,000 empty segments: 0.36-0.56 s of checks
        # in all, against 0.56-1.11 s).
        return jpeg_header(head).size
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and (decoder := webp_decoder()) is not None:
        # Pillow's WebP reader wants the whole file; libwebp reads the size from the first chunks.
        try:
            return decoder.features(head).size
        except webp.WebPError:
            return None
    try:
        with Image.open(io.BytesIO(head), formats=DECODERS) as probe:
            return probe.size
    except Exception:  # noqa: BLE001 - a header cut short fails in as many ways as there are readers
        return None


def jpeg_header(data: bytes) -> jpeg.PillowHeader:
    """A JPEG's header as Pillow walks it (edge/jpeg.py); SourceTooLarge for one it would take too long
    to walk, before it does: past MAX_JPEG_HEADER_STEPS."""
    try:
        return jpeg.pillow_header(data, MAX_JPEG_HEADER_STEPS)
    except jpeg.HeaderTooLong:
        raise SourceTooLarge(
            f"JPEG header of more than {MAX_JPEG_HEADER_STEPS} markers, or bytes of junk or fill") from None


def check_exif(exif: bytes) -> None:
    """Refuse Exif whose directories Pillow would take too long to decode (edge/tiff.py): it decodes every
    number of a tag, whatever count the tag declares (4 MiB of one RATIONAL took it 1.6 s to open a JPEG, by
    hand; 40 MB split among 510 tags of 10,000 took 92 s and 983 MB to render an AVIF, a helper's measure)."""
    if tiff.exif_over(exif_directory(exif), MAX_TIFF_ENTRIES, MAX_EXIF_VALUES):
        raise SourceTooLarge(
            f"Exif of a directory of more than {MAX_TIFF_ENTRIES} entries, or of more than {MAX_EXIF_VALUES} numbers")


def exif_directory(exif: bytes) -> bytes:
    """Exif's TIFF structure as Pillow reads it: "Exif\\0\\0" taken off, twice where it is there twice
    (Exif.load), as in some that libavif hands on."""
    return exif.removeprefix(EXIF_HEADER).removeprefix(EXIF_HEADER)


def check_icc_profile(profile: bytes) -> None:
    """Refuse a profile LittleCMS could take seconds or minutes to build a transform through (edge/icc.py):
    one with processing elements, whose number, and whose curves' segments, multiply its work. Photographs'
    profiles have none; a profile only carried into the output is not refused."""
    if icc.processing_elements(profile):
        raise SourceTooLarge("ICC profile with processing elements, which LittleCMS may take minutes to build on")


def check_jpeg_scans(components: list[int] | None, header: jpeg.PillowHeader) -> None:
    """Refuse a JPEG whose scans libjpeg would take seconds to decode (edge/jpeg.py): too many, or too many
    components of the picture's pixels in all, an arithmetic-coded one's weighed ARITHMETIC_SCAN_COST times."""
    if components is None:
        raise SourceTooLarge(f"JPEG of more than {jpeg.MOST_SEGMENTS_BETWEEN_SCANS} segments after its first scan")
    if len(components) > MAX_JPEG_SCANS:
        raise SourceTooLarge(f"JPEG of more than {MAX_JPEG_SCANS} scans")
    pixels = header.size[0] * header.size[1] if header.size else 0
    if sum(components) * pixels * (ARITHMETIC_SCAN_COST if header.arithmetic else 1) > MAX_JPEG_SCAN_PIXELS:
        raise SourceTooLarge(f"JPEG whose scans decode more than {MAX_JPEG_SCAN_PIXELS} pixels of components")


def check_jpeg_exif(pieces: list[bytes]) -> None:
    """Refuse a JPEG's Exif that Pillow would gather too long, one bytes object grown by each of its
    segments in turn (640 segments, 40 MiB, took it 2.4 s to open, by hand), or decode too long."""
    if len(pieces) > MAX_EXIF_SEGMENTS:
        raise SourceTooLarge(f"JPEG of more than {MAX_EXIF_SEGMENTS} Exif segments")
    check_exif(b"".join(pieces))


def check_jpeg_data(data: bytes) -> None:
    """Refuse a JPEG whose coded data is too short for the size it declares (edge/jpeg.py):
    libjpeg would decode it without an error, grey wherever the data was missing."""
    frame = jpeg.too_short(data, MAX_JPEG_HEADER_STEPS)
    if frame is not None:
        raise UnsupportedMedia(
            f"coded data under the {frame.least_coded_bytes()} bytes that {frame.width}x{frame.height} needs")


def check_tiff(image: Image.Image, data: bytes, limits: Limits) -> DataCheck | None:
    """Check an opened TIFF's strips or tiles, read once from its tags, before libtiff decodes them; a Deflate
    one's are checked beside the decode, on a worker, which this returns."""
    check_tiff_layout(image)
    pieces = tiff_pieces(image)
    check_tiff_pieces(image, pieces, data, limits)
    if image.info.get("compression") == "raw":
        check_tiff_covered(image, len(pieces))
    if image.info.get("compression") == "jpeg":
        sizes = tiff_jpeg_sizes(data, pieces)
        check_tiff_jpeg_sizes(image, sizes)
        check_tiff_jpeg_scans(image, pieces, sizes, data)
    if image.info.get("compression") in DEFLATE_TIFF:
        # Beside libtiff's decode, which takes as long: by hand, a 12 MP photo to 800 px renders in
        # 233-249 ms with the check, 237-242 without, 430-456 with it run before the decode.
        return start_tiff_strip_check(image, pieces, data)
    return None


def check_tiff_layout(image: Image.Image) -> None:
    """Refuse a TIFF whose strips or tiles its decoders would find otherwise than these checks read them: where
    it gives both StripOffsets and TileOffsets (or both byte counts), libtiff keeps whichever entry comes last in
    the directory, these checks the tiles', Pillow's raw decoder the strips'; and where a tile size comes with
    StripOffsets, or TileOffsets without one, libtiff reads tiles and Pillow's raw decoder strips, or fails. No
    writer does either: a helper's PackBits file listed its tiles first, one small strip for the checks and
    65,536 for libtiff, all on one MB, and took 81 s; an uncompressed one with a tile size, 65,536 strips that
    Pillow redrew the picture by 32,768 times, passed as exactly the tiles its size needs, 30 s for 3.7 MB."""
    tags = image.tag_v2
    strips = TiffImagePlugin.STRIPOFFSETS in tags or TiffImagePlugin.STRIPBYTECOUNTS in tags
    tiles = TiffImagePlugin.TILEOFFSETS in tags or TiffImagePlugin.TILEBYTECOUNTS in tags
    tiled = TiffImagePlugin.TILEWIDTH in tags or TiffImagePlugin.TILELENGTH in tags
    if strips and tiles:
        raise UnsupportedMedia("malformed TIFF: strip offsets or byte counts beside tile ones")
    if tiles != tiled and (strips or tiles):
        raise UnsupportedMedia(f"malformed TIFF: {'tile' if tiles else 'strip'} offsets or byte counts "
                               f"{'without' if tiles else 'with'} a tile size")


def start_tiff_strip_check(image: Image.Image, pieces: list[tuple[int, int]], data: bytes) -> DataCheck:
    """Check a Deflate TIFF's strips or tiles (edge/tiff.py) on a worker: libtiff would decode a corrupt
    one into wrong rows. No valid file inflates to more than its pixels take, tiles padded to whole ones, and a
    last strip to whole rows of a strip (some writers pad it so, and libtiff decodes it: a reviewer's file).
    The tags are read here, as the pixels are about to decode on this thread."""
    width, height = stored_size(image)
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        padding = tiff_tile(image)
    else:
        # The rows that make the last strip whole, of RowsPerStrip rows as declared: where it is past the height,
        # the only strip is the last, and a writer that pads one pads it (libtiff decodes it; helper 139's file
        # was refused). None where every row is in one strip by default, and no more than the height again: a
        # bound on what a bomb inflates on the worker. At least 1, as a tile's.
        rows = tiff_rows_per_strip(image)
        padding = 1, max(1, min(-height % rows, height) if rows < EVERY_ROW else 0)
    most_bytes = MAX_TIFF_PIXEL_BYTES * (width + padding[0]) * (height + padding[1])
    return start_data_check(tiff.check_deflate_strips, data, pieces, most_bytes)


def check_tiff_pieces(image: Image.Image, pieces: list[tuple[int, int]], data: bytes, limits: Limits) -> None:
    """Refuse a TIFF whose strips or tiles would make libtiff work far past the file's bytes and its pixels.
    libtiff reads and decodes each strip or tile whole, so strips that share bytes multiply them (65,500
    one-row strips all pointing at the same 1 MB of PackBits no-ops, a 1.6 MB file, took 74 s to render), and
    tiles far larger than the image multiply its pixels (a 16x16 image in one 23,152-pixel square tile took
    2 GB, 65,536 tiles of 16x65,536 pixels for a one-row image 8.7 s): a helper's measures."""
    if sum(min(length, max(len(data) - offset, 0)) for offset, length in pieces) > len(data):
        raise SourceTooLarge("TIFF whose strips or tiles share bytes, adding up to more than the file")
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        (across, down), (tile_width, tile_height) = tiff_grid(image), tiff_tile(image)
        padded = across * tile_width * down * tile_height
        if padded > MAX_TIFF_TILE_PADDING * limits.max_pixels:
            raise SourceTooLarge(f"TIFF whose tiles cover {padded} pixels, over {MAX_TIFF_TILE_PADDING} times "
                                 f"{limits.max_pixels}")


def check_tiff_covered(image: Image.Image, pieces: int) -> None:
    """Refuse an uncompressed TIFF with fewer strips or tiles than its size needs: Pillow decodes those there are
    and leaves the rest of the picture black (libtiff, which decodes the compressed ones, refuses them). A file cut
    short, or one that declares millions of rows in a few hundred bytes (a fuzzer's). Or with more: Pillow's own
    raw decoder (not libtiff's, which reads as many as the size needs) decodes every one, starting over at the top
    after the last row, each read from its offset for as many bytes as its rows take, whatever its byte count says:
    65,536 strips of two an image, all at one offset, redrew a 9.5 MB one 32,768 times in 47 s (a helper's file);
    and of one strip an image, it decodes the last where libtiff decodes the first."""
    planes = tiff_planes(image)
    across, down = tiff_grid(image)
    needed = planes * across * down
    if pieces != needed:
        raise UnsupportedMedia(f"malformed TIFF: {pieces} strips or tiles of the {needed} its size needs")


def tiff_jpeg_sizes(data: bytes, pieces: list[tuple[int, int]]) -> list[tuple[int, int] | None]:
    """The width and height each JPEG strip or tile of a TIFF declares (jpeg.frame_size), read once for the checks
    of both; None for one whose frame header is not within its share of MOST_TIFF_JPEG_MARKERS (tiff_jpeg_markers),
    or that libjpeg fails on first."""
    most_markers = tiff_jpeg_markers(len(pieces))
    return [jpeg.frame_size(data, offset, offset + length, most_markers) for offset, length in pieces]


def tiff_jpeg_markers(pieces: int) -> int:
    """The most markers walked to each of so many JPEG strips' or tiles' frame headers."""
    return min(MAX_JPEG_HEADER_STEPS, MOST_TIFF_JPEG_MARKERS // max(pieces, 1))


def check_tiff_jpeg_sizes(image: Image.Image, sizes: list[tuple[int, int] | None]) -> None:
    """Refuse a JPEG-compressed TIFF that libtiff would decode into a partial picture: one whose strip's or tile's
    JPEG is narrower or shorter than the part of the picture the strip or tile holds. libtiff only warns of it
    ("Improper JPEG strip/tile size", JPEGPreDecode) and leaves the rest black: 761 bytes declaring 7000x7000 in 1x1
    JPEGs rendered black in 0.3 s and 356 MB, a helper's measure. The JPEG of a tile past the picture's edge may be
    short of the whole tile: it fills what the picture holds of it. One wider or taller than its strip or tile
    libtiff refuses (but the last strip's of a plane, which may be taller: jpeg_strip_pixels counts its rows), and
    libjpeg one whose frame header it fails to reach: that is refused here, before anything is decoded, with one
    whose frame header is too far in to be sought. `sizes` (tiff_jpeg_sizes) past the pieces libtiff decodes are
    left, as libtiff leaves them."""
    for index, (size, (width, height)) in enumerate(zip(sizes, tiff_piece_parts(image))):
        if size is None:
            raise UnsupportedMedia(f"malformed TIFF: strip or tile {index} is a JPEG without a frame header among its "
                                   f"first {tiff_jpeg_markers(len(sizes))} markers, or one libjpeg fails on")
        if size[0] < width or size[1] < height:
            raise UnsupportedMedia(f"malformed TIFF: strip or tile {index} is a JPEG of {size[0]}x{size[1]}, short of "
                                   f"the {width}x{height} of the picture it holds")


def tiff_piece_parts(image: Image.Image) -> Iterator[tuple[int, int]]:
    """The width and height of the part of the stored picture that each strip or tile libtiff decodes holds, in
    their order: a strip's rows across the picture, the last strip's what is left, and a tile's, cut at the
    picture's edges."""
    (width, height), (piece_width, piece_height) = stored_size(image), tiff_piece_size(image)
    for _ in range(tiff_planes(image)):
        for top in range(0, height, piece_height):
            for left in range(0, width, piece_width):
                yield min(piece_width, width - left), min(piece_height, height - top)


def check_tiff_jpeg_scans(image: Image.Image, pieces: list[tuple[int, int]], sizes: list[tuple[int, int] | None],
                          data: bytes) -> None:
    """Refuse a JPEG-compressed TIFF whose strips or tiles libjpeg would take seconds to decode, held to the
    JPEG's limit (check_jpeg_scans) by an upper bound: every scan counted with all the TIFF's samples, over
    its whole strip or tile. libtiff hands each to libjpeg, which decodes every scan of a progressive one
    over all its blocks (99 empty arithmetic-coded scans in one strip of a 7000x7000 CMYK TIFF, 1.9 MB, took
    28.7 s to load, by hand), and stops past 100. So a progressive one of three samples is refused from 40 MP,
    where a JPEG's own scans are counted exactly; old-style JPEG (compression 6) fails on a progressive frame."""
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        tile_width, tile_height = tiff_tile(image)
        pixels = [tile_width * tile_height] * len(pieces)
    else:
        pixels = jpeg_strip_pixels(image, sizes)
    # libtiff has libjpeg decode as many components as the TIFF has samples, or one where its planes lie apart:
    # counted as all of them there too, an upper bound
    samples = tiff_size(image, TiffImagePlugin.SAMPLESPERPIXEL)
    work = 0
    for (offset, length), piece_pixels in zip(pieces, pixels):
        scans, arithmetic = jpeg.most_scans(data, offset, offset + length)
        work += scans * samples * piece_pixels * (ARITHMETIC_SCAN_COST if arithmetic else 1)
    if work > MAX_JPEG_SCAN_PIXELS:
        raise SourceTooLarge(f"TIFF whose JPEG strips or tiles may decode more than {MAX_JPEG_SCAN_PIXELS} pixels "
                             "of components")


def jpeg_strip_pixels(image: Image.Image, sizes: list[tuple[int, int] | None]) -> list[int]:
    """The pixels libjpeg decodes from each JPEG strip of a TIFF, of these JPEG sizes (jpeg.frame_size): the
    strip's, or the JPEG's own rows where it declares more. libtiff lets the last strip of each plane be taller
    (some writers leave the last at a whole strip's rows), and libjpeg decodes all of them: 1,270 bytes declaring
    7000x65,500 for the last 8 rows took 46 s and 904 MB, a helper's measure. libtiff fails on any other strip's
    taller JPEG before decoding it: counted so, it only weighs more what fails anyway. A strip whose frame header
    was not found (one past those libtiff decodes: check_tiff_jpeg_sizes refuses the others) counts as high as a
    JPEG may be."""
    width, height = stored_size(image)
    rows = min(tiff_rows_per_strip(image), height)
    return [width * max(rows, size[1] if size else MOST_JPEG_ROWS) for size in sizes]


def tiff_pieces(image: Image.Image) -> list[tuple[int, int]]:
    """A TIFF's strips or tiles, each as its offset and length."""
    tags = image.tag_v2
    offsets = tiff_integers(tags.get(TiffImagePlugin.TILEOFFSETS) or tags.get(TiffImagePlugin.STRIPOFFSETS) or ())
    lengths = tiff_integers(tags.get(TiffImagePlugin.TILEBYTECOUNTS) or tags.get(TiffImagePlugin.STRIPBYTECOUNTS) or ())
    if len(offsets) != len(lengths):
        raise UnsupportedMedia(f"malformed TIFF: {len(offsets)} strip offsets for {len(lengths)} lengths")
    return list(zip(offsets, lengths))


def tiff_integers(value: object) -> tuple[int, ...]:
    """A TIFF tag's values as integers, a BYTE or UNDEFINED one's bytes included (Pillow hands those on as
    bytes); UnsupportedMedia for values of another type where integers belong (a RATIONAL's, a DOUBLE's):
    libtiff refuses DOUBLE strip offsets, and Pillow fails in Python on RATIONAL ones (a TypeError)."""
    values = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(item, int | bytes) for item in values):
        raise UnsupportedMedia(f"malformed TIFF: {value!r} where integers belong")
    return tuple(number for item in values for number in (item if isinstance(item, bytes) else (item,)))


def stored_size(image: Image.Image) -> tuple[int, int]:
    """The width and height of the pixels as stored, which strips, tiles and rows are cut from: a TIFF's by its
    tags, as Pillow opens it turned upright by its Orientation (5 to 8: turned a quarter, the sides swapped) until
    read_tiff_as_stored."""
    if image.format != "TIFF":
        return image.size
    return tiff_size(image, TiffImagePlugin.IMAGEWIDTH), tiff_size(image, TiffImagePlugin.IMAGELENGTH)


def tiff_rows_per_strip(image: Image.Image) -> int:
    """A TIFF's RowsPerStrip as declared; EVERY_ROW, its default, where absent."""
    return tiff_size(image, TiffImagePlugin.ROWSPERSTRIP, EVERY_ROW)


def tiff_planes(image: Image.Image) -> int:
    """How many planes a TIFF's strips or tiles lie in: a sample each where they lie apart (PlanarConfiguration 2),
    each its own strips or tiles."""
    separate = image.tag_v2.get(TiffImagePlugin.PLANAR_CONFIGURATION) == 2
    return tiff_size(image, TiffImagePlugin.SAMPLESPERPIXEL) if separate else 1


def tiff_piece_size(image: Image.Image) -> tuple[int, int]:
    """The width and height of a TIFF's tiles, or of its strips: the picture's width, and RowsPerStrip rows."""
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        return tiff_tile(image)
    return stored_size(image)[0], tiff_rows_per_strip(image)


def tiff_grid(image: Image.Image) -> tuple[int, int]:
    """How many tiles, or strips, a TIFF's picture is cut into across and down, in each plane (tiff_planes)."""
    (width, height), (piece_width, piece_height) = stored_size(image), tiff_piece_size(image)
    return -(-width // piece_width), -(-height // piece_height)


def tiff_tile(image: Image.Image) -> tuple[int, int]:
    """A TIFF's tile width and height, each 1 where its tag is absent (strips)."""
    return tiff_size(image, TiffImagePlugin.TILEWIDTH), tiff_size(image, TiffImagePlugin.TILELENGTH)


def tiff_size(image: Image.Image, tag: int, default: int = 1) -> int:
    """A TIFF's one positive size (of a tile, a strip's rows, its samples); UnsupportedMedia for another."""
    values = tiff_integers(image.tag_v2.get(tag, default))
    if len(values) != 1 or values[0] < 1:
        raise UnsupportedMedia(f"malformed TIFF: tag {tag} of {values}")
    return values[0]


def await_data_check(source: Source) -> None:
    if source.data_check is None:
        return
    # Not result() in a try: re-raised in this frame, which holds the source, the check's error would
    # hold the source, its decoded image and the check itself in a cycle (as png.InflatingReader explains).
    failure = source.data_check.outcome.exception()
    if isinstance(failure, tiff.MalformedTiff):
        raise UnsupportedMedia(f"malformed TIFF: {failure}")
    if isinstance(failure, png.MalformedPng):
        raise UnsupportedMedia(f"malformed PNG: {failure}")
    source.data_check.outcome.result()  # anything else the check raised is a bug: as it is


def stop_data_check(source: Source) -> None:
    """Stop a check whose outcome no one will await, as once the render has failed (DataCheck)."""
    if source.data_check is not None:
        source.data_check.stop.set()


def check_animation_pixels(frame_count: int, canvas: tuple[int, int], limits: Limits) -> None:
    """Every frame of an animation is decoded and resized, so they must fit the pixel limit
    together, as imgproxy counts them: 300 frames of 2000x2000 would take a minute and GBs."""
    total = frame_count * canvas[0] * canvas[1]
    if frame_count > 1 and total > limits.max_pixels:
        raise SourceTooLarge(f"{frame_count} frames of {canvas[0]}x{canvas[1]} are over {limits.max_pixels} pixels")


def check_encodable(size: tuple[int, int], target: str) -> None:
    if max(size) > MAX_SIDE[target]:
        raise BadRequest(f"{size} is over {target}'s {MAX_SIDE[target]}", public_message=f"Too large for {target}.")


def default_format(source: Image.Image) -> str:
    """SPEC.md: web formats keep their format; any other becomes PNG with alpha, else JPEG."""
    kept = SOURCE_FORMATS.get(source.format or "")
    if kept is not None:
        return kept
    return "png" if has_alpha(source) else "jpeg"


def is_grey(mode: str) -> bool:
    return mode in GRAY_MODES or mode.startswith("I;16")


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ALPHA_MODES or "transparency" in image.info


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


def is_animated(image: Image.Image) -> bool:
    return image.format in ANIMATED_SOURCES and getattr(image, "is_animated", False)


def source_frames(
    source: Image.Image, first: int, count: int, target: str, geometry: Geometry, orientation: int,
    original: bytes, icc_profile: bytes | None, canvas: "Canvas | None", shown: tuple[int, int],
) -> Iterator[Frame]:
    """`count` frames from Pillow's frame `first`, each with what the encoder must know of it; drawn on `canvas`
    (frame_canvas), if any, else as Pillow draws them. Where less is `shown` than Pillow decodes (shown_size),
    the frame's placement says where it lies, for the crop step to cut."""
    # Later frames reuse the decoder's buffer, so an animation's frames are copied (which also loads them:
    # WebP reports a frame's duration only once it is loaded).
    as_pillow_draws = Image.Image.copy if count > 1 else lambda image: image
    for index in range(first, first + count):
        try:
            image, duration = canvas.frame(source, index) if canvas else sought(source, index, as_pillow_draws)
        except DECODE_ERRORS as error:
            raise UnsupportedMedia(f"cannot decode frame {index}: {error}") from None
        yield Frame(
            image=image,
            geometry=geometry,
            target=target,
            orientation=orientation,
            original=original if count == 1 else None,
            icc_profile=icc_profile,
            duration=whole_ms(duration, source.format),
            placement=None if shown == image.size else Placement((0, 0, *shown), (1.0, 1.0)),
        )


def whole_ms(duration: float | None, source_format: str) -> int:
    """A frame's delay as browsers show it, in whole milliseconds, which every encoder takes (the AVIF encoder
    refuses floats). An APNG's is cut to the millisecond, as Chromium 156 reads it (10.6 ms as 10); an AVIF's,
    whose reading by Chromium is unchecked, is rounded. GIF and WebP delays are whole already. One of 10 ms or
    less is shown for 100, and written so: frames that an encoder folds (libwebp those that its lossy coding
    makes alike, Pillow's GIF writer those that its palettes do) then add up to what browsers showed, not to
    20 ms for two frames of 10 shown for 200."""
    if duration is None:
        return DEFAULT_FRAME_MS
    whole = int(duration + APNG_DELAY_SLACK_MS) if source_format == "PNG" else round(duration)
    return DEFAULT_FRAME_MS if whole <= BROWSERS_SLOW_DOWN_MS else min(whole, MAX_FRAME_MS)


def sought(source: Image.Image, index: int, draw: Callable[[Image.Image], Image.Image]) -> tuple:
    """Frame `index` as `draw` takes it from Pillow once Pillow has sought to it, and its duration."""
    source.seek(index)
    return draw(source), source.info.get("duration")


def frame_canvas(source: Source, count: int, data: bytes) -> "Canvas | None":
    """What draws `count` frames of an APNG or a GIF as browsers show them. For an APNG, Pillow's own canvas
    where its frames are opaque, not interlaced, and leave no gap, else ApngCanvas; for a GIF, still or not,
    GifCanvas. None for any other source, and for an APNG's IDAT image alone: Pillow draws them as browsers
    do."""
    image = source.image
    if source.gif_layout is not None:
        return GifCanvas(image.size, source.gif_layout, data, count)
    if not source.frame_controls or (count == 1 and not source.first_frame):
        return None
    if has_alpha(image) or image.info.get("interlace") or leaves_gaps(source.frame_controls[:count], image.size):
        return ApngCanvas(image)
    return PillowCanvas()


def leaves_gaps(controls: tuple, canvas: tuple[int, int]) -> bool:
    """gaps_left() for an APNG's frames as their `controls` (png.frame_controls) place and dispose of them; a
    control cut short may say anything."""
    if None in controls:
        return True
    background, previous = PngImagePlugin.Disposal.OP_BACKGROUND, PngImagePlugin.Disposal.OP_PREVIOUS
    return gaps_left([((left, top, left + width, top + height), dispose == background, dispose == previous)
                      for width, height, left, top, dispose in controls], canvas)


def gaps_left(frames: list[tuple[Box, bool, bool]], canvas: tuple[int, int]) -> bool:
    """Whether opaque frames, each (its box, whether it is cleared after it shows, whether what was under it
    is put back), may leave part of the canvas undrawn, which shows transparent: a first frame smaller than the
    canvas, one before the last cleared, or a first one put back (onto the empty canvas). An animation's last
    disposal never shows."""
    first_box, _, first_restores = frames[0]
    return (first_box != (0, 0, *canvas) or any(clears for _, clears, _ in frames[:-1])
            or (len(frames) > 1 and first_restores))


def dispose_of(buffer: Image.Image, box: Box, clears: bool, kept: Image.Image | None) -> None:
    """After a frame shows: its box cleared to transparency, or `kept`, what was under it, put back."""
    if clears:
        buffer.paste(0, box)
    elif kept is not None:
        buffer.paste(kept, box[:2])


class SoughtFrames:
    """A canvas that draws each frame once Pillow has sought to it."""

    def frame(self, source: Image.Image, index: int) -> tuple:
        return sought(source, index, self.draw)  # each subclass's draw()


class PillowCanvas(SoughtFrames):
    """Pillow's own canvas, in the file's mode, for an APNG's opaque frames that leave no gap: there it is
    exact, and costs what Pillow costs (two frames of 5000 x 5000 to 320 px peaked at 131 MB if grey, 420 if
    RGB, against 584 and 624 on an RGBA canvas: a reviewer's measures)."""

    @staticmethod
    def draw(source: Image.Image) -> Image.Image:
        # Over the canvas, an opaque frame is the frame itself; Pillow's own blend would paste it into the
        # canvas it keeps for 'restore to previous', which would then restore nothing.
        source.blend_op = PngImagePlugin.Blend.OP_SOURCE
        return source.copy()


class ApngCanvas(SoughtFrames):
    """An APNG's output buffer, kept as the format says and browsers keep it: RGBA, transparent to begin with,
    each frame blended over it or pasted into its region, then its region disposed of. Pillow keeps it in the
    file's own mode, where a palette or a colour key cannot hold a blend, and RGB or grey cannot show what no
    frame has drawn yet (black instead); and it starts a first frame after a fallback image on that image. So
    Pillow only decodes each frame's own pixels into its region, and the canvas here does the rest."""

    def __init__(self, source: Image.Image):
        self._blends = has_alpha(source)  # an opaque frame over the canvas is the frame itself
        self._shown_mode = "LA" if is_grey(source.mode) else "RGBA"
        # alpha_composite() takes RGBA alone
        self._buffer = Image.new("RGBA" if self._blends else self._shown_mode, source.size, 0)

    def draw(self, source: Image.Image) -> Image.Image:
        """What shows once the frame `source` has sought to is drawn."""
        blend, dispose = source.blend_op, source.dispose_op
        source.blend_op = PngImagePlugin.Blend.OP_SOURCE  # Pillow pastes the frame's own pixels
        # Pillow adds an interlaced file's flag to the decoder's settings at each frame it loads, and so fails
        # on the second frame (too many arguments): each frame starts from none. It then decodes an interlaced
        # frame into the top left corner, wherever the frame is placed.
        source.decoderconfig = ()
        source.load()
        box = tuple(int(edge) for edge in source.dispose_extent)
        decoded = (0, 0, box[2] - box[0], box[3] - box[1]) if source.info.get("interlace") else box
        drawn = in_working_mode(source.crop(decoded)).convert(self._buffer.mode)
        kept = self._buffer.crop(box) if dispose == PngImagePlugin.Disposal.OP_PREVIOUS else None
        if blend == PngImagePlugin.Blend.OP_OVER and self._blends:
            self._buffer.alpha_composite(drawn, box[:2])
        else:
            self._buffer.paste(drawn, box)
        shown = self._buffer.convert(self._shown_mode)  # a copy, where the modes are the same
        dispose_of(self._buffer, box, dispose == PngImagePlugin.Disposal.OP_BACKGROUND, kept)
        return shown


class GifCanvas:
    """A GIF's frames composited as browsers (Chromium 156, checked) composite them, each frame decoded alone
    (gif.standalone): on a transparent screen the size of Pillow's first frame, each frame drawn where it is
    placed, clipped to the screen, its transparent index drawing nothing; then disposed of: 2 clears its box to
    transparency, 3 and the reserved 4 restore what was under it (on the first frame, the empty screen), the
    others keep it. Pillow's own reader departs from that: it fills the screen around a smaller first frame with
    palette entry 0, restores 'to background' with the background colour, repeats the disposal before for an
    unspecified one, reads 5-7 as 3, and grows the screen for a later frame past it. The screen is RGB where
    no gap can show: a first frame that fills it and holds no transparency, and none cleared but the last."""

    def __init__(self, size: tuple[int, int], layout: gif.Layout, data: bytes, count: int):
        frames = layout.images[:count]
        placed = [(frame.box, frame.disposal == GIF_RESTORE_BACKGROUND, frame.disposal in GIF_RESTORING)
                  for frame in frames]
        gaps = frames[0].transparency is not None or gaps_left(placed, size)
        self._mode, self._size = "RGBA" if gaps else "RGB", size
        self._screen: Image.Image | None = None  # made with the first frame, or as that frame
        self._layout, self._data, self._last = layout, data, count - 1

    def frame(self, _: Image.Image, index: int) -> tuple:
        """What shows once frame `index` is drawn, and its duration."""
        frame = self._layout.images[index]
        left, top, right, bottom = frame.box
        kept = None
        if left < right and top < bottom:  # an empty frame shows for its delay, drawing nothing, as in Chromium
            with Image.open(io.BytesIO(gif.standalone(self._data, self._layout, index)), formats=["GIF"]) as alone:
                alone.load()
            fills = self._fills(frame)
            if fills and index == self._last == 0:
                return alone, frame.delay_ms  # a still that fills its screen: its palette image
            restores = frame.disposal in GIF_RESTORING
            if self._screen is None and fills and not restores:
                self._screen = alone.convert(self._mode)  # the first frame, or one over all, over nothing to keep
            else:
                screen = self._drawn()
                kept = screen.crop(frame.box) if restores else None
                drawn = alone.convert("RGBA" if frame.transparency is not None else self._mode)
                screen.paste(drawn, frame.box[:2], drawn if drawn.mode == "RGBA" else None)  # alpha: 0 or 255
        screen = self._drawn()
        if index == self._last:  # nothing is drawn after it: its screen is handed on, not copied
            return screen, frame.delay_ms
        if self._draws_over(index + 1):  # nor does anything of it show again: handed on, and let go
            self._screen = None
            return screen, frame.delay_ms
        shown = screen.copy()
        dispose_of(screen, frame.box, frame.disposal == GIF_RESTORE_BACKGROUND, kept)
        return shown, frame.delay_ms

    def _draws_over(self, index: int) -> bool:
        """Whether frame `index` draws over the whole screen, opaque, and puts nothing back after it: it then
        starts a screen of its own, as the first frame does (a 2000 x 2000 RGB screen is 16 MB not copied)."""
        frame = self._layout.images[index]
        return self._fills(frame) and frame.disposal not in GIF_RESTORING

    def _fills(self, frame: gif.Frame) -> bool:
        """Whether a frame covers the whole screen, opaque."""
        return frame.box == (0, 0, *self._size) and frame.transparency is None

    def _drawn(self) -> Image.Image:
        """The screen as the frames so far leave it: empty before the first draws."""
        if self._screen is None:
            self._screen = Image.new(self._mode, self._size, 0)
        return self._screen


Canvas = ApngCanvas | PillowCanvas | GifCanvas  # what draws an animation's frames as browsers show them


def colour_codes(source: Image.Image, original: bytes) -> tuple[int, int] | None:
    """The colour code points (H.273 primaries and transfer) of an AVIF or a PNG, which Pillow does not
    read: P3 numbers taken for sRGB ones look desaturated, HDR ones washed out. An AVIF's ICC profile
    wins over its codes; a PNG's codes win over its profile (PNG, third edition)."""
    reader = CODE_POINT_READERS.get(source.format)
    if reader is None or (reader is avif and source.info.get("icc_profile")):
        return None
    codes = reader.colour_codes(original)
    # A PNG's codes replace its profile only when they say what its numbers mean: unknown or unspecified
    # ones would drop a profile that does.
    if reader is png and codes is not None and not icc.known(*codes):
        return None
    return codes


def colour_profile(source: Source, codes: tuple[int, int] | None, target: str, original: bytes) -> bytes | None:
    """The source's ICC profile where browsers would use it (embedded_profile), or the one its colour code
    points make (edge/icc.py), HDR's rolled off from its brightest pixel when it says, or its gAMA and cHRM
    (file_gamma_profile): a grey one for a grey picture. None for HDR into AVIF, which states HDR's codes: a
    decoder would show the profile's SDR rendering instead."""
    image = source.image
    if codes is None:
        return embedded_profile(source) or file_gamma_profile(image, original)
    primaries, transfer = codes
    if target == "avif" and transfer in icc.HDR_TRANSFERS:
        return None
    brightest = CODE_POINT_READERS[image.format].brightest_nits(original)
    if is_grey(image.mode):
        return icc.grey_profile(transfer, brightest)
    return icc.profile(primaries, transfer, brightest)


def run_steps(frame: Frame) -> Frame:
    for step in STEPS:
        frame = step(frame)
    return frame


def rendered_frames(frames: Iterator[Frame], count: int) -> list[Frame]:
    """Every frame through the steps, in order. An animation's frames take the steps on a
    worker thread while this one decodes the next (Pillow's decoders release the GIL), at
    most FRAMES_AHEAD behind, so that only a few decoded frames are held at once."""
    if count == 1:
        return [run_steps(frame) for frame in frames]
    done: list[Frame] = []
    pending: deque[Future] = deque()
    try:
        for frame in frames:
            pending.append(frame_pool().submit(run_steps, frame))
            if len(pending) > FRAMES_AHEAD:
                done.append(pending.popleft().result())
        while pending:
            done.append(pending.popleft().result())
    finally:
        # After a failure nothing more starts, and the frame under way ends here: on Lambda,
        # work left running would eat into the next request's time.
        for future in pending:
            future.cancel()
        wait(pending)
    return done


@cache
def frame_pool() -> ThreadPoolExecutor:
    # Its own thread: the steps wait on worker_pool, which must never wait on them. One for
    # the process: a Lambda instance runs one request at a time (and so does the local emulator).
    return ThreadPoolExecutor(1, thread_name_prefix="frames")


# --- the steps, in order -------------------------------------------------


def decode_scale(geometry: Geometry, gap: float = DRAFT_GAP) -> float:
    """The smallest scale a reduced decode may have: `gap` times the output's."""
    left, upper, right, lower = geometry.crop
    out_w, out_h = geometry.size
    return max(out_w / (right - left), out_h / (lower - upper)) * gap


def reduce_on_decode(frame: Frame) -> Frame:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the output is that much smaller. Not a lossless JPEG,
    which libjpeg cannot scale (it failed: a 415 for the sizes a reduced decode would serve, where larger ones
    rendered); it alone has no quantization tables, which Pillow keeps as it opens the file."""
    image = frame.image
    if image.format not in JPEG_FORMATS or frame.geometry.is_identity or not image.quantization:
        return frame
    scale = decode_scale(frame.geometry)
    if scale >= 1:
        return frame
    stored_w, stored_h = image.size
    drafted = image.draft(image.mode, (int(stored_w * scale) + 1, int(stored_h * scale) + 1))
    if drafted is None:
        return frame
    # Pillow's box is exact; the decoded width over the stored one is not (the partial
    # pixel), and a region mapped by it drifts by up to half an output pixel.
    _, box = drafted
    return replace(frame, placement=Placement.of(box, (stored_w, stored_h)))


def decode_webp(frame: Frame) -> Frame:
    """Let libwebp decode a still WebP itself (edge/webp.py): at DRAFT_GAP times the output's
    scale when that is smaller, else at full size, which still spares Pillow's two canvases.

    A lossy WebP with alpha is never scaled: libwebp scales its colour without weighting it
    by alpha, so the colour of transparent pixels would bleed into the edges.
    """
    image, original = frame.image, frame.original
    decoder = webp_decoder() if image.format == "WEBP" and original is not None else None
    if decoder is None:
        return frame
    alpha = image.mode == "RGBA"  # as Pillow reads the header, so that either path gives the same mode
    scale = decode_scale(frame.geometry)
    try:
        features = decoder.features(original)
        if features.is_animated:  # its first frame, for a still output: WebPDecode reads still pictures only
            return frame
        scaled = scale < 1 and (features.format == webp.LOSSLESS or not alpha)
        size = (math.ceil(image.width * scale), math.ceil(image.height * scale)) if scaled else image.size
        decoded = decoder.decode(original, size, alpha)
    except webp.WebPError as error:
        raise UnsupportedMedia(f"cannot decode image: {error}") from None
    placement = Placement.of((0, 0, *size), image.size) if scaled else None
    return replace(frame, image=decoded_image(decoded), placement=placement)


def decoded_image(decoded: webp.Decoded) -> Image.Image:
    """libwebp's pixels as an image: on the same memory for RGBA; RGB, which Pillow keeps in 4
    bytes a pixel, is copied."""
    return Image.frombuffer(decoded.mode, decoded.size, decoded.pixels, "raw", decoded.mode, 0, 1)


@cache
def webp_decoder() -> webp.Decoder | None:
    # The libwebp that Pillow's wheel vendors: beside the package on Linux, inside it on macOS.
    pillow = Path(PIL.__file__).parent
    return webp.load([*pillow.parent.glob("pillow.libs/libwebp-*.so*"), *pillow.glob(".dylibs/libwebp.*dylib")])


def load(frame: Frame) -> Frame:
    decode_pixels(frame.image)
    return frame


def decode_pixels(image: Image.Image) -> None:
    """A truncated or corrupt body is the original's fault, not ours."""
    declared = stored_size(image)
    try:
        image.load()
    except DECODE_ERRORS as error:
        raise UnsupportedMedia(f"cannot decode image: {error}") from None
    except OverflowError as error:
        # A TIFF's, where Pillow seeks to a strip's offset past what a file can hold, or packs a colour map of
        # negative numbers into bytes (fuzzers' 500s). Anywhere else, it would be ours: the PNG reader's.
        if image.format != "TIFF":
            raise
        raise UnsupportedMedia(f"cannot decode image: {error}") from None
    # The render was planned on the size declared, a TIFF's by its tags. Pillow's TIFF load() turns the pixels by
    # what getexif() says, which read_tiff_as_stored empties of the orientation and open_source of XMP; should a
    # seek to the first page read them back, the pixels would come out turned in a canvas that is not (reviewers'
    # findings), and Pillow's size, by the tag, turned with them.
    if image.size != declared:
        raise UnsupportedMedia(
            f"decoded {image.size[0]}x{image.size[1]}, where it declared {declared[0]}x{declared[1]}")


def orient(frame: Frame) -> Frame:
    """Turn the output upright by its EXIF orientation (the tag itself is dropped with all metadata). The steps
    before work on the picture as stored (as_stored), so that only the output is turned: a 50 MP PNG stored
    sideways and turned whole peaked at 487 MB to 320 px, against 296 upright, and a 12 MP turn takes 85 ms, by
    hand."""
    if frame.orientation == 1:
        return frame
    return replace(frame, image=frame.image.transpose(UPRIGHT[frame.orientation]))


# What turns a stored image upright, by EXIF orientation (as ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def to_working_mode(frame: Frame) -> Frame:
    """Bring any mode to L, LA, RGB or RGBA: what resampling and every encoder handle."""
    image = in_working_mode(frame.image, frame.icc_profile)
    if image is frame.image:
        return frame
    return replace(frame, image=image, icc_profile=None if frame.image.mode == "CMYK" else frame.icc_profile)


def in_working_mode(image: Image.Image, icc_profile: bytes | None = None) -> Image.Image:
    """`image` in L, LA, RGB or RGBA; CMYK through its profile, to sRGB."""
    if image.mode in ("L", "RGB", "LA", "RGBA") and "transparency" not in image.info:
        return image
    if image.mode == "CMYK":
        return cmyk_to_srgb(image, icc_profile)
    if image.mode.startswith("I;16"):
        return sixteen_bit_grey_in_eight(image)
    if has_alpha(image):
        return image.convert("LA" if image.mode in GRAY_MODES else "RGBA")
    return image.convert("L" if image.mode in GRAY_MODES else "RGB")


def sixteen_bit_grey_in_eight(image: Image.Image) -> Image.Image:
    """16-bit grey down to 8 bits by its high byte, as Chromium 156 shows it (libpng's strip), and as Pillow reads
    16-bit RGB: a plain convert would clip everything above 255 to white. Behind a steep gAMA curve, a level more
    shows as 13 (a helper's measure). With a colour key, LA: the key is one value of 65536, matched before
    scaling, where it is still unique."""
    high_byte, low_byte = BYTE_RAW_MODES[image.mode]
    grey = in_strips(image, lambda strip: Image.frombytes("L", strip.size, strip.tobytes(), "raw", high_byte))
    key = image.info.get("transparency")
    if not isinstance(key, int):
        return grey
    # Matched byte by byte: a table of a byte has 256 entries, where one of the whole value would have 65536, which
    # Pillow makes anew for every strip (8 ms each, a reviewer's measure).
    not_high, not_low = ([0 if value == byte else 255 for value in range(256)] for byte in divmod(key, 256))

    def alpha_of(strip: Image.Image) -> Image.Image:
        pixels = strip.tobytes()
        return ImageChops.lighter(Image.frombytes("L", strip.size, pixels, "raw", high_byte).point(not_high),
                                  Image.frombytes("L", strip.size, pixels, "raw", low_byte).point(not_low))

    return Image.merge("LA", (grey, in_strips(image, alpha_of)))


def in_strips(image: Image.Image, to_grey: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """The 8-bit grey image `to_grey` makes of `image`, made a strip of rows at a time, so that what it makes on
    the way (a strip's bytes, its byte planes) is held for a strip, not the whole picture (16-bit grey at 16 MP:
    the 32-bit copy a table of the whole picture took was 64 MB, a helper's measure)."""
    grey = Image.new("L", image.size)
    rows = max(1, STRIP_PIXELS // image.width)
    for top in range(0, image.height, rows):
        grey.paste(to_grey(image.crop((0, top, image.width, min(top + rows, image.height)))), (0, top))
    return grey


def to_srgb_where_the_profile_cannot_go(frame: Frame) -> Frame:
    """Convert the pixels to sRGB, so that the colours survive, where the output cannot carry
    the profile: GIF carries none, a grey profile would sit on RGB in WebP, which has no grey,
    and in AVIF with alpha, which Pillow writes as RGBA, and an RGB profile on grey pixels, which
    Chromium applies but PNG forbids (libpng, and so Firefox, drops it)."""
    profile = frame.icc_profile
    if not profile:
        return frame
    grey_on_rgb = (frame.target, frame.image.mode) in (("webp", "L"), ("webp", "LA"), ("avif", "LA"))
    rgb_on_grey = frame.image.mode in ("L", "LA") and icc.data_colour_space(profile) == icc.RGB
    if frame.target in ICC_OUTPUTS and not grey_on_rgb and not rgb_on_grey:
        return frame
    return replace(frame, image=profile_to_srgb(frame.image, profile), icc_profile=None)


def crop(frame: Frame) -> Frame:
    """Cut away what cover drops before scaling, so that no cropped pixel bleeds into the edges.

    The crop box is in stored source pixels; where the frame places the source otherwise (a decode at
    reduced scale, an AVIF's aperture), the box is mapped onto it, and the fraction of a pixel left over
    goes to the resize.
    """
    image, (left, upper, right, lower) = frame.image, frame.geometry.crop
    if frame.placement is None:
        region = (float(left), float(upper), float(right), float(lower))
    else:
        (origin_x, origin_y, _, _), (scale_x, scale_y) = frame.placement.box, frame.placement.scale
        # A product can land an ulp past the image (42 * (23 / 42) is 23.000000000000004), and
        # a crop one pixel too wide would pad the edge with black for LANCZOS to blend in.
        region = (origin_x + left * scale_x, origin_y + upper * scale_y,
                  min(origin_x + right * scale_x, image.width), min(origin_y + lower * scale_y, image.height))
    outer = (math.floor(region[0]), math.floor(region[1]), math.ceil(region[2]), math.ceil(region[3]))
    if outer == (0, 0, image.width, image.height):
        return replace(frame, region=region)
    shifted = (region[0] - outer[0], region[1] - outer[1], region[2] - outer[0], region[3] - outer[1])
    return replace(frame, image=image.crop(outer), region=shifted)


def reduce(frame: Frame) -> Frame:
    """Average whole blocks of pixels first when the output is more than REDUCING_GAP times
    smaller, as libvips shrinks before it reduces (the JPEG draft does the same in the DCT
    domain; this serves PNG, GIF, TIFF, ...). It pays where the source is many times the
    output (by hand, 50 MP to 320 px resamples in 30 against 71 ms); at 8 times (the bench's
    4 MP PNG to 320 px) it takes the same time as LANCZOS alone, for 0.0007 less SSIM."""
    image, (out_w, out_h) = frame.image, frame.geometry.size
    left, upper, right, lower = frame.region
    factor_x = max(1, int((right - left) / out_w / REDUCING_GAP))
    factor_y = max(1, int((lower - upper) / out_h / REDUCING_GAP))
    if factor_x == factor_y == 1:
        return frame
    region = (left / factor_x, upper / factor_y, right / factor_x, lower / factor_y)
    # The last block across and down may hold fewer pixels than the factor: reduce() averages what
    # it holds, into a pixel as wide as the others.
    extent = (0.0, 0.0, image.width / factor_x, image.height / factor_y)

    def reduced(pixels: Image.Image) -> Image.Image:
        return with_partial_edges_weighed(pixels.reduce((factor_x, factor_y)), extent)

    # Pillow's reduce() would weight by alpha too, but by its own convert(): ten times slower.
    return replace(frame, image=alpha_weighted(image, reduced), region=region)


def weigh_partial_edges(frame: Frame) -> Frame:
    """libjpeg's scaled decode rounds a partial pixel up on the right and bottom edges: weigh it by what it
    holds, as reduce() does its last block."""
    placement = frame.placement
    if placement is None or not partial_edges(frame.image.size, placement.box):
        return frame
    return replace(frame, image=alpha_weighted(
        frame.image, lambda pixels: with_partial_edges_weighed(pixels, placement.box)))


def with_partial_edges_weighed(image: Image.Image, extent: Region) -> Image.Image:
    """The image, in place, with each edge line that `extent` (where the picture lies, in the
    image's pixels) covers only in part blended with its inner neighbour in that proportion. A
    resampler takes every pixel for a whole one: unweighed, a partial edge pixel would weigh as
    much as a whole one, a dark or light line along that edge, and most of a 1-pixel output."""
    for edge, inner, covered in partial_edges(image.size, extent):
        # A paste through a mask rounds; Image.blend would truncate, half a level dark on average.
        share = Image.new("L", (edge[2] - edge[0], edge[3] - edge[1]), round((1 - covered) * 255))
        image.paste(image.crop(inner), edge, share)
    return image


def partial_edges(size: tuple[int, int], extent: Region) -> list[tuple[Box, Box, float]]:
    """(the edge line's box, its inner neighbour's box, the part of the edge the picture covers), for
    the edges where that part is neither whole nor nothing, and a neighbour exists."""
    width, height = size
    left, upper, right, lower = extent
    lines = (
        ((0, 0, 1, height), (1, 0, 2, height), 1 - left, width),
        ((width - 1, 0, width, height), (width - 2, 0, width - 1, height), right - (width - 1), width),
        ((0, 0, width, 1), (0, 1, width, 2), 1 - upper, height),
        ((0, height - 1, width, height), (0, height - 2, width, height - 1), lower - (height - 1), height),
    )
    return [(edge, inner, covered) for edge, inner, covered, across in lines
            if across > 1 and PARTIAL_EDGE_EPSILON < covered < 1 - PARTIAL_EDGE_EPSILON]


def resize(frame: Frame) -> Frame:
    image, size = frame.image, frame.geometry.size
    region = frame.region
    if image.size == size and region == (0, 0, *size):
        return frame
    return replace(frame, image=lanczos(image, size, region))


def lanczos(image: Image.Image, size: tuple[int, int], region: Region) -> Image.Image:
    """LANCZOS of the region to size, colour weighted by alpha once for the whole image: in strips on
    threads once the image is large enough to pay for them."""
    in_one_call = image.width * image.height < PARALLEL_MIN_PIXELS or size[1] < RESAMPLE_STRIPS
    resample = simd_lanczos if in_one_call else simd_lanczos_in_strips
    return alpha_weighted(image, lambda pixels: resample(pixels, size, region))


def alpha_weighted(image: Image.Image, operation: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """`operation` on the image's colour weighted by alpha (as RGBa), so that the colour of
    transparent pixels cannot bleed into the edges, then back to the image's mode, as Pillow's
    own resize does inside; on a mode without alpha, on the image as it is."""
    if image.mode not in WORKING_ALPHA_MODES:
        return operation(image)
    return unpremultiplied(operation(premultiplied(image)), image.mode)


def simd_lanczos(image: Image.Image, size: tuple[int, int], region: Region) -> Image.Image:
    """LANCZOS of the region to size, in one call, on the pixels as they are: L, RGB, or RGBa (colour
    weighted by alpha; the resampler has no two-band mode)."""
    left, upper, right, lower = region
    # A box computed in floats can end an ulp past the image (the last strip's: 100 / 39 * 39
    # is 100.00000000000001), which the SIMD resampler refuses with a RuntimeError.
    right, lower = min(right, image.width), min(lower, image.height)
    output = Image.new(image.mode, size)
    options = ResizeOptions(resize_alg=SIMD_LANCZOS, crop_box=CropBox(left, upper, right - left, lower - upper))
    # A Resizer keeps scratch buffers, so each call (each strip's thread) has its own.
    Resizer().resize_pil(image, output, options)
    return output


def premultiplied(image: Image.Image) -> Image.Image:
    """RGBa, by SIMD: the same bytes as Pillow's convert("RGBa") in a tenth of the time."""
    if image.mode == "RGBA":
        return AlphaMulDiv().multiply_alpha_pil(image)
    # The RGBA copy is ours alone, so it is weighted where it lies, not into a third image (16 MP: 64 MB less).
    widened = image.convert("RGBA")
    AlphaMulDiv().multiply_alpha_pil_inplace(widened)
    return widened


def unpremultiplied(image: Image.Image, mode: str) -> Image.Image:
    restored = AlphaMulDiv().divide_alpha_pil(image)
    return restored if mode == "RGBA" else restored.convert(mode)


def simd_lanczos_in_strips(image: Image.Image, size: tuple[int, int], region: Region) -> Image.Image:
    """simd_lanczos in horizontal strips on several threads.

    The resampler releases the GIL, and each strip's box maps onto its rows of
    the output, so every output pixel gets a single pass's weights, up to float
    rounding: a few pixels differ by a level or two from one resize.
    """
    width, height = size
    left, upper, right, lower = region
    rows_per_output_row = (lower - upper) / height
    bounds = [height * index // RESAMPLE_STRIPS for index in range(RESAMPLE_STRIPS + 1)]

    def strip(index: int) -> Image.Image:
        first, last = bounds[index], bounds[index + 1]
        box = (left, upper + first * rows_per_output_row, right, upper + last * rows_per_output_row)
        return simd_lanczos(image, (width, last - first), box)

    output = Image.new(image.mode, size)
    for index, part in enumerate(worker_pool().map(strip, range(RESAMPLE_STRIPS))):
        output.paste(part, (0, bounds[index]))
    return output


@cache
def worker_pool() -> ThreadPoolExecutor:
    """Threads for work that waits on nothing else: resampling strips, GIF palettes, inflating PNGs.
    So nothing that runs on them may wait on them either, such as reading a png.InflatingReader."""
    return ThreadPoolExecutor(min(RESAMPLE_STRIPS, os.cpu_count() or 1), thread_name_prefix="worker")


def to_output_mode(frame: Frame) -> Frame:
    """Fit the encoder: JPEG has no alpha, so composite onto white (never black), after the
    resize, on fewer pixels; GIF's alpha is all or nothing, and Pillow drops LA's."""
    image, target = frame.image, frame.target
    if image.mode not in WORKING_ALPHA_MODES or target in ("png", "webp", "avif"):
        return frame
    if target == "gif":
        return replace(frame, image=gif_alpha(image.convert("RGBA")))
    colour_mode = image.mode[:-1]
    background = Image.new(colour_mode, image.size, (WHITE,) * len(colour_mode))
    background.paste(image, mask=image.getchannel("A"))
    return replace(frame, image=background)


STEPS = (
    reduce_on_decode, decode_webp, load, to_working_mode, to_srgb_where_the_profile_cannot_go,
    weigh_partial_edges, crop, reduce, resize, orient, to_output_mode,
)


def gif_alpha(image: Image.Image) -> Image.Image:
    """Round alpha to all or nothing at half: Pillow's GIF writer would make every partly
    transparent pixel of a resized edge opaque, a solid fringe around the shape."""
    image.putalpha(image.getchannel("A").point(lambda alpha: 255 if alpha >= GIF_OPAQUE_FROM else 0))
    return image


def cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if icc_profile:
        converted = profile_to_srgb(image, icc_profile)
        if converted.mode == "RGB":
            return converted
    return image.convert("RGB")


GREY_LEVELS = Image.frombytes("L", (256, 1), bytes(range(256)))


def transform_to_srgb(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from a profile to sRGB, None where LittleCMS cannot build one: refused (check_icc_profile)
    before LittleCMS builds it, and built once for each profile and mode, not for each frame of an animation (3.7
    ms of the 5.2 a 320x240 frame took from Display P3, by hand; a 40 MB profile took 0.5 s a frame, 145 s for 300
    frames, and one LittleCMS read whole before it failed 130 s: helpers' measures). Eight small profiles are
    kept, and one large one: a JPEG's may take 16 MB, and a warm container would hold them all."""
    check_icc_profile(icc_profile)
    if len(icc_profile) > MOST_KEPT_PROFILE_BYTES:
        return _last_large_transform(icc_profile, mode)
    return _kept_transform(icc_profile, mode)


def _built_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """Without LittleCMS's cache of the last pixel, which threads sharing the transform would write at once."""
    try:
        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        exact = ImageCms.Flags.NOOPTIMIZE if mode == "L" else ImageCms.Flags.NONE  # grey_to_srgb
        return ImageCms.buildTransform(source_profile, SRGB, mode, "RGB", flags=ImageCms.Flags.NOCACHE | exact)
    except BROKEN_PROFILE_ERRORS:
        return None


def grey_to_srgb(image: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    """Grey through its profile to sRGB, by a table of the 256 levels: LittleCMS's optimised grey transform is
    off near black (by 7 levels for a linear profile's 1, and 56 for gamma 0.5's, a helper's measure), so the
    transform is built unoptimised (_built_transform), which is exact but slow, and run on the levels alone."""
    levels = ImageCms.applyTransform(GREY_LEVELS, transform)
    return Image.merge("RGB", [image.point(list(band.tobytes())) for band in levels.split()])


_kept_transform = lru_cache(maxsize=8)(_built_transform)
_last_large_transform = lru_cache(maxsize=1)(_built_transform)


def profile_to_srgb(image: Image.Image, icc_profile: bytes) -> Image.Image:
    """Convert the colour through the embedded profile to sRGB, alpha untouched (LittleCMS
    zeroes the alpha of LA). A broken profile leaves the pixels as they are."""
    alpha = image.getchannel("A") if image.mode in WORKING_ALPHA_MODES else None
    colour = image.convert(image.mode[:-1]) if alpha is not None else image
    if colour.mode == "L" and icc.data_colour_space(icc_profile) == icc.RGB:  # as browsers apply it (icc.usable)
        colour = colour.convert("RGB")
    transform = transform_to_srgb(icc_profile, colour.mode)
    if transform is None:
        return image
    try:
        convert = grey_to_srgb if colour.mode == "L" else ImageCms.applyTransform
        converted = convert(colour, transform)
    except BROKEN_PROFILE_ERRORS:
        return image
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


# --- encoding ------------------------------------------------------------


def merge_repeated(frames: list[Frame]) -> list[Frame]:
    """Fold a frame identical to the one before into it, adding up the durations (as browsers show them:
    whole_ms).

    Pillow's GIF and APNG writers fold such frames themselves, but then trip over
    the per-frame option lists; a still image is what is left when all are alike.
    """
    if len(frames) < 2:
        return frames
    merged, kept_pixels = frames[:1], frames[0].image.tobytes()  # each frame's pixels are read once
    for frame in frames[1:]:
        previous, pixels = merged[-1], frame.image.tobytes()
        if frame.image.mode == previous.image.mode and pixels == kept_pixels:
            merged[-1] = replace(previous, duration=min(previous.duration + frame.duration, MAX_FRAME_MS))
        else:
            merged.append(frame)
            kept_pixels = pixels
    return merged


def drop_unshown_alpha(frames: list[Frame]) -> None:
    """Drop the frames' alpha where every one of them is opaque: of a source without alpha, that is the alpha
    an APNG's canvas adds (ApngCanvas) for gaps that this animation could leave, and does not; of an animated
    WebP, the alpha its header does not declare. In place, so that each frame's image with alpha is freed as
    the next is made."""
    if not all(frame.image.mode in WORKING_ALPHA_MODES and frame.image.getchannel("A").getextrema()[0] == OPAQUE
               for frame in frames):
        return
    for index, frame in enumerate(frames):
        frames[index] = replace(frame, image=frame.image.convert(frame.image.mode[:-1]))


def embedded_profile(source: Source) -> bytes | None:
    """The source's own ICC profile, where browsers would use it (icc.usable): a JPEG's put together from its
    segments as Chromium puts it (Source.jpeg_icc_profile), which Pillow reads otherwise. Another is dropped,
    and the pixels taken as sRGB's, as browsers show them."""
    image = source.image
    profile = source.jpeg_icc_profile if image.format in JPEG_FORMATS else image.info.get("icc_profile")
    if not isinstance(profile, bytes):  # a TIFF's tag may hold a number, which Pillow passes on
        return None
    space = icc.CMYK if image.mode == "CMYK" else icc.GREY if is_grey(image.mode) else icc.RGB
    return profile if icc.usable(profile, space) else None


def file_gamma_profile(source: Image.Image, original: bytes) -> bytes | None:
    """The profile a PNG's gAMA and cHRM describe (png.file_gamma), where no profile or sRGB chunk says more,
    which Pillow neither reports nor applies: a linear-light picture (gamma 1.0) would come out up to 72 levels
    too dark. None where they say sRGB or nothing, and for primaries no colours can have, where Chromium 156 drops
    the gamma too (by hand)."""
    if source.format != "PNG" or png.says_srgb(original):
        return None
    gamma = png.file_gamma(original)
    return None if gamma is None else icc.power_curve_profile(*gamma, grey=is_grey(source.mode))


def is_lossless_graphic(image: Image.Image, data: bytes) -> bool:
    """A still WebP coded losslessly (VP8L, as libwebp reads its header) in few bits a pixel: a logo,
    a diagram, a screenshot. A photo saved lossless stays a photo: lossless, its renditions would come
    out 5-10 times larger and slower than lossy (1.4 MB in 1.3 s against 144 KB in 0.2 s at 1600 px).
    An animation's frames may each be coded either way, and count as lossy."""
    decoder = webp_decoder() if image.format == "WEBP" else None
    if decoder is None or 8 * len(data) > LOSSLESS_MAX_BITS_PER_PIXEL * image.width * image.height:
        return False
    try:
        return decoder.features(data).format == webp.LOSSLESS
    except webp.WebPError:
        return False  # the decode that follows says what is wrong with it


def encode(frames: list[Frame], quality: int | None, plays: int, lossless: bool = False,
           codes: tuple[int, int] | None = None) -> bytes:
    """The frames in their target format; AVIF stating colour code points `codes` (primaries, transfer)."""
    first = frames[0]
    options = encoder_options(first.target, quality, first.image, lossless)
    if first.icc_profile and first.target in ICC_OUTPUTS:
        options["icc_profile"] = first.icc_profile
    if len(frames) > 1:
        options.update(animation_options(frames, plays))
    images = [without_metadata(apart_from_its_source(frame.image, first.target)) for frame in frames]
    if first.target == "gif":
        images = list(worker_pool().map(gif_palette, images))
    if len(images) > 1:
        options["append_images"] = images[1:]
    output = io.BytesIO()
    images[0].save(output, format=first.target.upper(), **options)
    if first.target == "avif":
        with output.getbuffer() as written:
            if len(images) > 1:
                avif.stop_clock(written)
                avif.set_plays(written, plays)
            if codes is not None:
                avif.set_colour_codes(written, *codes)
    return output.getvalue()


def gif_palette(image: Image.Image) -> Image.Image:
    """An RGB frame quantised to its own 256 colours, exactly as Pillow's GIF writer would
    convert it, but here on the resample threads: median cut releases the GIL and is most
    of a GIF's encode time (20 frames of 320x200: 480 ms on one core, 270 on two)."""
    return image.convert("P", palette=Image.Palette.ADAPTIVE) if image.mode == "RGB" else image


def encoder_options(
    target: str, quality: int | None, image: Image.Image | None = None, lossless: bool = False
) -> dict:
    """Settings measured with `make bench-levers` (bytes against SSIM and time; bench/README.md).

    JPEG: progressive (Huffman tables optimised with it) is 5-6% smaller than baseline.
    WebP: method 3 gives method 4's bytes and SSIM, faster on alpha. A lossless original (a logo,
    a diagram) stays lossless unless the URL names a quality, as a PNG stays a PNG: lossy, its
    soft edges would fringe, and a flat graphic often comes out smaller lossless anyway.
    AVIF: speed 9 encodes 4x faster than 8 for 3% more bytes; quality 62 wins back the SSIM.
    PNG: see png_strategy.
    """
    if target == "jpeg":
        return {"quality": quality or DEFAULT_QUALITY["jpeg"], "progressive": True}
    if target == "webp" and lossless and quality is None:
        return {"lossless": True, "method": 3}
    if target == "webp":
        return {"quality": quality or DEFAULT_QUALITY["webp"], "method": 3}
    if target == "avif":
        return {"quality": quality or DEFAULT_QUALITY["avif"], "speed": 9}
    if target == "png":
        return {"compress_level": 6} | png_strategy(image)
    return {}


def png_strategy(image: Image.Image | None) -> dict:
    """zlib's strategy by content. After PNG's row filters a photo is small noise: run-length
    coding makes it 5-7% smaller than LZ77 at level 6, and 5x faster (800x500: 26 against
    128 ms). Flat graphics are the other way round (21 KB with LZ77, 47 KB with RLE)."""
    if image is None or image.getcolors(FLAT_IMAGE_COLOURS) is not None:
        return {}
    return {"compress_type": zlib.Z_RLE}


def animation_options(frames: list[Frame], plays: int) -> dict:
    target = frames[0].target
    options: dict = {"save_all": True, "duration": written_delays(target, [frame.duration for frame in frames])}
    if target == "gif":
        options["disposal"] = gif_disposal([frame.image for frame in frames])
    if target == "webp":
        # No key frames inserted, as libvips saves: libwebp then encodes each frame as one
        # candidate rectangle instead of also trying a whole key frame every 3-5 frames.
        # A panned 20-frame photo at 320x200: 110 against 149 ms, about the same size, mean SSIM
        # 0.001 lower; browsers play from the first frame and never need to seek.
        options.update(kmin=0, kmax=0)
    if target == "avif":
        # Chromium plays an AVIF sequence through its video path, which ignores the
        # full-range flag and shows full-range frames too bright; still images are fine.
        options["range"] = "limited"
    options.update(loop_option(target, plays))
    return options


class GifDelay(int):
    """A GIF frame's delay in ms, whose sums stop at the largest a GIF holds: Pillow 13's writer adds up the
    delays of frames that its palettes make alike (`previous + current`, GifImagePlugin._write_multiple_frames),
    and raised OverflowError on a sum past 16 bits of centiseconds (a 500 on six frames of 400 s that differed
    only in colours hidden under transparent pixels)."""

    def __add__(self, other: int) -> "GifDelay":
        return GifDelay(min(int(self) + other, MAX_FRAME_MS))

    __radd__ = __add__


def written_delays(target: str, durations: list[int]) -> list[int]:
    """The frames' delays as the target's writer can write them, as close to `durations` as it allows."""
    if target == "gif":
        return [GifDelay(delay) for delay in durations]  # whole centiseconds already (shown_as_gif)
    if target == "png":
        # Pillow's APNG writer takes a delay as a fraction of a second with neither term over 65535, and raised
        # ValueError on 65,537 ms (a reviewer's): a centisecond's precision keeps it within GIF's longest.
        return [nearest_centisecond(delay) if delay > MOST_APNG_EXACT_MS else delay for delay in durations]
    if target == "webp":
        return webp_delays(durations)
    return durations


def webp_delays(durations: list[int]) -> list[int]:
    """libwebp's timestamps are C ints, past which Pillow raised OverflowError: 24 days of frames, 3,277 of GIF's
    longest delay (a reviewer's, which x-max-frames may allow). Frames after that are written as 0 ms, which
    browsers show for 100."""
    delays, written = [], 0
    for duration in durations:
        delays.append(min(duration, MOST_WEBP_MS - written))
        written += delays[-1]
    return delays


class Shown(NamedTuple):
    """A frame that a GIF shows, from `start` (ms), where the source shows it from `source_start`."""

    frame: Frame
    start: int
    source_start: int


def shown_as_gif(frames: list[Frame], plays: int) -> list[Frame]:
    """The frames a GIF shows to keep the animation's pace, each for whole centiseconds (Pillow's writer would
    round down, 15 ms to 10, which browsers show for 100). Each starts where it started in the source, to the
    nearest centisecond, but no sooner than 20 ms after the one before, as browsers show 10 for 100; a frame
    whose source time has come by then takes the place of the one waiting, as a display that samples the source
    would show it. In an endless loop, a last frame that cannot show for 20 ms before the first comes back shares
    what is left with the one before it, and the one the source shows longer there is kept; an animation that
    plays a number of times comes to rest on its last frame, which stays."""
    shown: list[Shown] = []
    source_start = 0
    for frame in frames:
        if shown and source_start <= shown[-1].start:
            shown[-1] = Shown(frame, shown[-1].start, source_start)
        else:
            earliest = shown[-1].start + SHORTEST_GIF_DELAY_MS if shown else 0
            shown.append(Shown(frame, max(nearest_centisecond(source_start), earliest), source_start))
        source_start += frame.duration
    loop_end = nearest_centisecond(source_start)
    while plays == avif.FOREVER and len(shown) > 2 and loop_end - shown[-1].start < SHORTEST_GIF_DELAY_MS:
        last, waiting = shown.pop(), shown[-1]
        # Each by its own source time from the waiting frame's start; the last's runs to the source's end.
        waiting_shows = waiting.source_start + waiting.frame.duration - max(waiting.source_start, waiting.start)
        if source_start - last.source_start > waiting_shows:
            shown[-1] = Shown(last.frame, waiting.start, last.source_start)
    ends = [each.start for each in shown[1:]] + [max(loop_end, shown[-1].start + SHORTEST_GIF_DELAY_MS)]
    return [replace(each.frame, duration=min(end - each.start, MAX_FRAME_MS)) for each, end in zip(shown, ends)]


def nearest_centisecond(milliseconds: int) -> int:
    return (milliseconds + GIF_DELAY_UNIT_MS // 2) // GIF_DELAY_UNIT_MS * GIF_DELAY_UNIT_MS


def gif_disposal(images: list[Image.Image]) -> int:
    """How the GIF writer is to dispose of composited frames, each drawn whole: all 'keep' (each drawn over the
    one before), unless a pixel one frame shows is transparent in the next, which 'keep' cannot draw; then all
    'restore to background'. Pillow's writer encodes that right only for every frame: it crops a frame to what
    changed since the one before, so that only the crop is restored, yet writes the next frame as though the
    whole screen were (a reviewer's GIFs showed pixels left over from two frames before). One value, not a
    list: the writer folds frames that its palettes make alike, and where one is left, a list raised TypeError."""
    def uncovers(before: Image.Image, after: Image.Image) -> bool:
        if after.mode != "RGBA":
            return False
        shown = before.getchannel("A") if before.mode == "RGBA" else Image.new("L", before.size, OPAQUE)
        return ImageChops.subtract(shown, after.getchannel("A")).getbbox() is not None  # alpha: 0 or 255

    uncovered = any(uncovers(before, after) for before, after in zip(images, images[1:]))
    return GIF_RESTORE_BACKGROUND if uncovered else GIF_KEEP


def animation_plays(source: Source, data: bytes) -> int:
    """How many times the source animation plays, as WebP and APNG count (0: for ever). A GIF's
    count is of repeats after the first play, as browsers read it wherever its block is (gif.scan), and
    a GIF without one plays once; an AVIF's is in boxes Pillow does not read."""
    image = source.image
    if image.format == "AVIF":
        return avif.plays(data)
    if source.gif_layout is not None:
        repeats = source.gif_layout.repeats
        if repeats is None:
            return 1
        return repeats + 1 if repeats else avif.FOREVER
    loop = image.info.get("loop")
    return avif.FOREVER if loop is None else loop


def loop_option(target: str, plays: int) -> dict:
    """Pillow's `loop` for `plays`, in the target's own count, up to what its 16 bits hold: a GIF's
    counts repeats, and it plays once without one. AVIF's is set after the encode (edge/avif.py)."""
    if target == "gif":
        if plays == 1:
            return {}
        return {"loop": avif.FOREVER if plays == avif.FOREVER else min(plays - 1, MAX_GIF_REPEATS)}
    if target == "webp":
        return {"loop": min(plays, MAX_WEBP_PLAYS)}
    return {"loop": plays} if target == "png" else {}


def apart_from_its_source(image: Image.Image, target: str) -> Image.Image:
    """A frame that no step changed is the opened source itself, and Pillow's AVIF writer walks every frame of
    the image it is given (to tell whether all are grey): an MPO's preview, or an APNG's frames past those
    rendered, were decoded then, and one broken there failed the render (a 500 a fuzzer found); a TIFF's pages
    were all walked. Counting them would walk them too: any opened file is given as a plain image of the same
    pixels, not a copy of them (a copy of a 16 MP RGBA frame took 61 MB more, a reviewer's measure)."""
    # Pillow's own way to wrap decoded pixels in an image; no public call does it without copying them.
    return image._new(image.im) if target == "avif" and isinstance(image, ImageFile.ImageFile) else image


def without_metadata(image: Image.Image) -> Image.Image:
    """Drop EXIF, XMP and comments: the encoders would otherwise copy them from `info`."""
    image.info = {}
    return image
