"""The image engine: the only module that imports Pillow.

`render` opens the original, checks it against the limits from its header alone
(before a pixel is decoded), then runs each frame through a fixed list of small
steps. Every step returns early when it has nothing to do.

Colour: an embedded ICC profile of an RGB or grayscale source is kept in JPEG,
PNG, WebP and AVIF output (GIF cannot carry one). CMYK is converted to sRGB.
Metadata: EXIF (orientation applied first), XMP and comments never reach the output.
"""

import io
from dataclasses import dataclass, field, replace

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

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

from edge.errors import SourceTooLarge, UnsupportedMedia
from edge.geometry import Geometry, plan
from edge.rendition import Rendition

# We enforce our own pixel limit from configuration, before decoding; Pillow's
# global guard would otherwise fire at a fixed size we do not control.
Image.MAX_IMAGE_PIXELS = None

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
DEFAULT_QUALITY = {"jpeg": 82, "webp": 80, "avif": 60}
ANIMATED_SOURCES = frozenset({"GIF", "WEBP", "PNG", "AVIF"})
ANIMATED_OUTPUTS = frozenset({"gif", "webp", "png", "avif"})
DEFAULT_FRAME_MS = 100
ALPHA_OUTPUTS = frozenset({"png", "webp", "avif", "gif"})
ICC_OUTPUTS = frozenset({"jpeg", "png", "webp", "avif"})
WHITE = (255, 255, 255)
SRGB_PROFILE = ImageCms.createProfile("sRGB")
RESAMPLE = Image.Resampling.LANCZOS
# Decode JPEGs in the DCT domain at up to 1/8 scale, but no smaller than twice
# the output, so the final LANCZOS pass still has enough pixels to filter.
DRAFT_GAP = 2


@dataclass(frozen=True)
class Limits:
    max_pixels: int
    max_frames: int


@dataclass(frozen=True)
class Rendered:
    body: bytes
    format: str
    content_type: str
    size: tuple[int, int]
    frames: int


@dataclass
class Frame:
    """One picture on its way through the steps, with what the encoder must know."""

    image: Image.Image
    geometry: Geometry
    target: str  # output format
    source_size: tuple[int, int]  # oriented, before any DCT reduction
    icc_profile: bytes | None = None
    info: dict = field(default_factory=dict)  # per-frame animation info (duration, disposal)


def render(data: bytes, rendition: Rendition, limits: Limits) -> Rendered:
    source = open_source(data, limits)
    target = rendition.format or default_format(source)
    geometry = plan(oriented_size(source), rendition.width, rendition.height, rendition.fit)
    loop = source.info.get("loop")  # read before seeking: only the first frame carries it
    frames = [run_steps(frame) for frame in source_frames(source, target, geometry)]
    body = encode(frames, target, rendition.quality, loop)
    return Rendered(body, target, CONTENT_TYPES[target], geometry.size, len(frames))


def open_source(data: bytes, limits: Limits) -> Image.Image:
    """Open the original from its header and check the limits; nothing is decoded yet."""
    try:
        image = Image.open(io.BytesIO(data), formats=DECODERS)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnsupportedMedia(f"cannot identify image: {error}") from None
    width, height = image.size
    if width * height > limits.max_pixels:
        raise SourceTooLarge(f"{width}x{height} is over {limits.max_pixels} pixels")
    frames = getattr(image, "n_frames", 1)
    if frames > limits.max_frames:
        raise SourceTooLarge(f"{frames} frames is over {limits.max_frames}")
    return image


def default_format(source: Image.Image) -> str:
    """SPEC.md: web formats keep their format; any other becomes PNG with alpha, else JPEG."""
    kept = SOURCE_FORMATS.get(source.format or "")
    if kept is not None:
        return kept
    return "png" if has_alpha(source) else "jpeg"


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def oriented_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    return (height, width) if exif_orientation(image) in (5, 6, 7, 8) else (width, height)


def exif_orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        return 1  # a broken EXIF block must not stop an otherwise good image


def is_animated(source: Image.Image) -> bool:
    # MPO's extra frames are depth maps and previews, not an animation.
    return source.format in ANIMATED_SOURCES and getattr(source, "is_animated", False)


def source_frames(source: Image.Image, target: str, geometry: Geometry):
    """Each frame to render: all of them for an animated output, else the first."""
    count = source.n_frames if is_animated(source) and target in ANIMATED_OUTPUTS else 1
    for index in range(count):
        source.seek(index)
        info = {"duration": source.info.get("duration", DEFAULT_FRAME_MS)}
        if hasattr(source, "disposal_method"):
            info["disposal"] = source.disposal_method
        yield Frame(
            # Later frames overwrite the decoder's buffer, so an animation's frames are copied.
            image=source if count == 1 else source.copy(),
            geometry=geometry,
            target=target,
            source_size=oriented_size(source),
            icc_profile=source.info.get("icc_profile"),
            info=info,
        )


def run_steps(frame: Frame) -> Frame:
    for step in STEPS:
        frame = step(frame)
    return frame


# --- the steps, in order -------------------------------------------------


def reduce_on_decode(frame: Frame) -> Frame:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the output is that much smaller."""
    image = frame.image
    if image.format not in ("JPEG", "MPO") or frame.geometry.is_identity:
        return frame
    left, upper, right, lower = frame.geometry.crop
    out_w, out_h = frame.geometry.size
    scale = max(out_w / (right - left), out_h / (lower - upper))
    if scale * DRAFT_GAP >= 1:
        return frame
    stored_w, stored_h = image.size
    requested = (max(1, int(stored_w * scale * DRAFT_GAP) + 1), max(1, int(stored_h * scale * DRAFT_GAP) + 1))
    image.draft(image.mode if image.mode in ("L", "RGB", "CMYK") else None, requested)
    return frame


def load(frame: Frame) -> Frame:
    """Decode the pixels; Pillow raises on a truncated or corrupt body."""
    try:
        frame.image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UnsupportedMedia(f"cannot decode image: {error}") from None
    return frame


def orient(frame: Frame) -> Frame:
    """Apply the EXIF orientation, so that the output is upright without the tag."""
    if exif_orientation(frame.image) == 1:
        return frame
    return replace(frame, image=ImageOps.exif_transpose(frame.image))


def to_working_mode(frame: Frame) -> Frame:
    """Bring any mode to one of L, LA, RGB, RGBA, which resampling and every encoder handle."""
    image = frame.image
    mode = image.mode
    if mode in ("L", "RGB", "LA", "RGBA") and "transparency" not in image.info:
        return frame
    if mode == "CMYK":
        return replace(frame, image=cmyk_to_srgb(image, frame.icc_profile), icc_profile=None)
    if mode.startswith("I;16") or mode in ("I", "F"):
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
        return replace(frame, image=image)
    if mode == "1":
        return replace(frame, image=image.convert("L"))
    if has_alpha(image):
        return replace(frame, image=image.convert("LA" if mode in ("L", "La") else "RGBA"))
    return replace(frame, image=image.convert("RGB"))


def resize(frame: Frame) -> Frame:
    """Crop and scale in one pass; the crop box is mapped onto a DCT-reduced image."""
    image, geometry = frame.image, frame.geometry
    if geometry.is_identity and image.size == geometry.size:
        return frame
    scale_x = image.width / frame.source_size[0]
    scale_y = image.height / frame.source_size[1]
    left, upper, right, lower = geometry.crop
    box = (left * scale_x, upper * scale_y, right * scale_x, lower * scale_y)
    return replace(frame, image=image.resize(geometry.size, RESAMPLE, box=box))


def to_output_mode(frame: Frame) -> Frame:
    """JPEG has no alpha: flatten onto white, never black."""
    image = frame.image
    if frame.target in ALPHA_OUTPUTS or image.mode not in ("LA", "RGBA"):
        return frame
    background = Image.new(image.mode[:-1], image.size, WHITE[: len(image.mode) - 1])
    background.paste(image, mask=image.getchannel("A"))
    return replace(frame, image=background)


STEPS = (reduce_on_decode, load, orient, to_working_mode, resize, to_output_mode)


def cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if icc_profile:
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            return ImageCms.profileToProfile(image, source_profile, SRGB_PROFILE, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: fall back to the naive conversion rather than fail
    return image.convert("RGB")


# --- encoding ------------------------------------------------------------


def encode(frames: list[Frame], target: str, quality: int | None, loop: int | None) -> bytes:
    first = frames[0]
    options = encoder_options(target, quality)
    if first.icc_profile and target in ICC_OUTPUTS:
        options["icc_profile"] = first.icc_profile
    images = [strip_metadata(frame.image) for frame in frames]
    if len(images) > 1:
        options.update(save_all=True, append_images=images[1:], duration=[frame.info["duration"] for frame in frames])
        # A GIF without a loop count plays once; WebP and APNG spell that loop=1.
        options["loop"] = loop if loop is not None else (None if target == "gif" else 1)
        if options["loop"] is None:
            del options["loop"]
        if target == "gif":
            options["disposal"] = [frame.info.get("disposal", 0) for frame in frames]
    output = io.BytesIO()
    images[0].save(output, format=target.upper(), **options)
    return output.getvalue()


def encoder_options(target: str, quality: int | None) -> dict:
    if target == "jpeg":
        return {"quality": quality or DEFAULT_QUALITY["jpeg"], "progressive": True, "optimize": True}
    if target == "webp":
        return {"quality": quality or DEFAULT_QUALITY["webp"], "method": 4}
    if target == "avif":
        return {"quality": quality or DEFAULT_QUALITY["avif"], "speed": 8}
    if target == "png":
        return {"compress_level": 6}
    return {}


def strip_metadata(image: Image.Image) -> Image.Image:
    """Drop EXIF, XMP and comments: encoders otherwise copy them from `info`."""
    image.info = {}
    return image
