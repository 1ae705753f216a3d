"""The values the engine's modules pass to each other: the limits, the opened source, a frame on its way
through the steps, the rendered result; the format and mode tables they read; and what they share in
the process: the worker threads, the checks of the original's data that run on them beside the decode (started,
awaited, stopped), and the libwebp Pillow vendors."""

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import PIL
from PIL import Image

from edge import gif, png, tiff, webp
from edge.errors import UnsupportedMedia
from edge.geometry import Geometry

DECODERS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "TIFF", "BMP")
# Pillow format name -> our default output format (None: decided by alpha). MPO is
# what many phones write, a JPEG with extra pictures appended; the JPEG decoder opens it.
SOURCE_FORMATS = {
    "JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "AVIF": "avif",
    "TIFF": None, "BMP": None,
}
CONTENT_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif", "gif": "image/gif",
}
ANIMATED_SOURCES = frozenset({"GIF", "WEBP", "PNG", "AVIF"})  # not MPO: its extra frames are previews
JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # as Pillow names what its JPEG decoder opens
ANIMATED_OUTPUTS = frozenset({"gif", "webp", "png", "avif"})
ICC_OUTPUTS = frozenset({"jpeg", "png", "webp", "avif"})
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
GRAY_MODES = frozenset({"1", "L", "LA", "La"})
# What a decoder raises on a corrupt or truncated body (libavif: RuntimeError; a GIF without a frame: EOFError).
# ZeroDivisionError: Pillow's AVIF plugin divides by a track's timescale, which a file may give as 0.
# Pillow also fails in Python on values of a type it does not expect (a TypeError): a TIFF's XMP tag of signed
# bytes made getexif() search a tuple (a reviewer's file), until the XMP was dropped before the load.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, ZeroDivisionError, TypeError)
WHITE = OPAQUE = 255
TRANSPARENT = 0  # alpha
# Resampling runs in this many strips, on up to as many threads as there are cores.
# The count is fixed, not taken from the machine, so that the output bytes are the
# same everywhere.
RESAMPLE_STRIPS = 4
# The working modes (to_working_mode) with alpha. Their colour is resampled weighted by it (alpha_weighted, as
# RGBa: the resampler has no two-band mode, and LA's three equal colour bands come back exactly).
WORKING_ALPHA_MODES = frozenset({"RGBA", "LA"})
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
    canvas: tuple[int, int]  # for a GIF, what the limits weigh of its frames (gif.Layout.size)
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
    animated: bool = False  # one of an animation's frames
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


def is_animated(image: Image.Image) -> bool:
    return image.format in ANIMATED_SOURCES and getattr(image, "is_animated", False)


@cache
def webp_decoder() -> webp.Decoder | None:
    # The libwebp that Pillow's wheel vendors: beside the package on Linux, inside it on macOS.
    pillow = Path(PIL.__file__).parent
    return webp.load([*pillow.parent.glob("pillow.libs/libwebp-*.so*"), *pillow.glob(".dylibs/libwebp.*dylib")])


@cache
def worker_pool() -> ThreadPoolExecutor:
    """Threads for work that waits on nothing else: resampling strips, GIF palettes, inflating PNGs.
    So nothing that runs on them may wait on them either, such as reading a png.InflatingReader."""
    return ThreadPoolExecutor(min(RESAMPLE_STRIPS, os.cpu_count() or 1), thread_name_prefix="worker")
