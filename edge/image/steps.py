"""The steps each frame takes, in order (STEPS), each handing the frame on untouched when it has nothing to do:
the decode (scaled by the decoder where it can), the working mode, sRGB where the profile cannot go, the crop,
the box reduce and LANCZOS, all on the pixels as stored; then the output turned upright and put in its mode."""

import math
from collections.abc import Callable
from dataclasses import replace

from PIL import Image, ImageChops

from edge import icc, webp
from edge.errors import UnsupportedMedia
from edge.geometry import Box, Geometry
from edge.image.checks import stored_size
from edge.image.colour import cmyk_to_srgb, profile_to_srgb
from edge.image.model import (
    DECODE_ERRORS, GRAY_MODES, ICC_OUTPUTS, JPEG_FORMATS, OPAQUE, TRANSPARENT, WHITE, WORKING_ALPHA_MODES, Frame,
    Placement, Region, has_alpha, webp_decoder,
)
from edge.image.resample import alpha_weighted, lanczos
from edge.image.source import UPRIGHT

GIF_OPAQUE_FROM = 128  # GIF alpha is all or nothing: this much alpha and up is opaque
# Decode JPEGs in the DCT domain at up to 1/8 scale, still WebPs at any scale (and
# box-reduce other formats), but to no less than twice the output, so that the final
# LANCZOS pass still has enough pixels to filter: the headroom libvips leaves too.
# `make bench-levers` (12-50 MP JPEG to 320-1600 px, SSIM against a float LANCZOS of
# the full decode): at 2 the SSIM is within 0.0012 of a full decode's; 1.5 loses
# another 0.002 where it picks a smaller scale, 1 up to 0.03; 3 loses the reduced
# decode at 800-1600 px. The bench's 4 MP WebP to 320 and 800 px, by hand: at 2 the
# SSIM is that of a full decode or better (0.9118 and 0.9503 against 0.9100 and 0.9502).
DRAFT_GAP = 2
LIBJPEG_REDUCTIONS = (8, 4, 2)
REDUCING_GAP = 2
# An edge pixel covered this close to wholly or not at all is taken as such (a scale's rounding).
PARTIAL_EDGE_EPSILON = 1e-6
# Pillow's raw modes that read 16-bit grey's high bytes, then its low bytes, as 8-bit grey, by the 16-bit mode's
# byte order ("L;16" reads the second byte of two, "L;16B" the first), and how many of its pixels are brought to
# 8 bits at a time (in_strips).
BYTE_RAW_MODES = {"I;16": ("L;16", "L;16B"), "I;16L": ("L;16", "L;16B"), "I;16B": ("L;16B", "L;16")}
STRIP_PIXELS = 1 << 20


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
    if image.format not in JPEG_FORMATS or not image.quantization:
        return frame
    stored = image.size  # draft() sets the decoded one
    box = jpeg_draft(image, decode_scale(frame.geometry))
    if box is None:
        return frame
    # Pillow's box is exact; the decoded width over the stored one is not (the partial
    # pixel), and a region mapped by it drifts by up to half an output pixel.
    return replace(frame, placement=Placement.of(box, stored))


def jpeg_draft(image: Image.Image, scale: float) -> Region | None:
    """Set libjpeg to decode at the smallest of its scales that keeps at least `scale` of the stored size
    (jpeg_draft_request): the stored image's box in the decoded one's pixels, as draft() reports it. None when
    no scale is that small, or when the pixels are read already."""
    request = jpeg_draft_request(image.size, scale)
    drafted = None if request is None else image.draft(image.mode, request)
    return None if drafted is None else drafted[1]


def jpeg_draft_request(stored: tuple[int, int], scale: float) -> tuple[int, int] | None:
    """The size to ask Pillow's JPEG draft() for, so that libjpeg divides the stored size by the largest of 8, 4
    and 2 that keeps at least `scale` of it; None when even 2 would not. Pillow takes the largest of them that
    fits as a whole number of times into the stored size over the size asked for, and W // (W // n) is n: asking
    for the decoded size itself would lose a scale to its rounding (801 // 201 is 3)."""
    reduction = next((factor for factor in LIBJPEG_REDUCTIONS if factor * scale <= 1), None)
    if reduction is None:
        return None
    stored_w, stored_h = stored
    return stored_w // reduction, stored_h // reduction


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


def to_working_mode(frame: Frame) -> Frame:
    """Bring any mode to L, LA, RGB or RGBA: what resampling and every encoder handle."""
    image = in_working_mode(frame.image, frame.icc_profile)
    if image is frame.image:
        return frame
    return replace(frame, image=image, icc_profile=None if frame.image.mode == "CMYK" else frame.icc_profile)


def in_working_mode(image: Image.Image, icc_profile: bytes | None = None) -> Image.Image:
    """`image` in L, LA, RGB or RGBA; CMYK through its profile, to sRGB; RGBA that carries a grey profile in LA,
    which the profile can go with: it is a 16-bit grey PNG's, which Pillow reads as RGBA (colour_profile)."""
    if image.mode == "RGBA" and icc_profile is not None and icc.data_colour_space(icc_profile) == icc.GREY:
        return image.convert("LA")
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
    the profile: GIF carries none, an animated WebP's Chromium 156 does not apply (by hand: a Display P3
    one left the colours 35 levels off), a grey profile would sit on RGB in WebP, which has no grey,
    and in AVIF with alpha, which Pillow writes as RGBA, and an RGB profile on grey pixels, which
    Chromium applies but PNG forbids (libpng, and so Firefox, drops it)."""
    profile = frame.icc_profile
    if not profile:
        return frame
    grey_on_rgb = (frame.target, frame.image.mode) in (("webp", "L"), ("webp", "LA"), ("avif", "LA"))
    rgb_on_grey = frame.image.mode in ("L", "LA") and icc.data_colour_space(profile) == icc.RGB
    animated_webp = frame.target == "webp" and frame.animated
    if frame.target in ICC_OUTPUTS and not grey_on_rgb and not rgb_on_grey and not animated_webp:
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


def run_steps(frame: Frame) -> Frame:
    for step in STEPS:
        frame = step(frame)
    return frame


def gif_alpha(image: Image.Image) -> Image.Image:
    """Round alpha to all or nothing at half: Pillow's GIF writer would make every partly
    transparent pixel of a resized edge opaque, a solid fringe around the shape."""
    image.putalpha(image.getchannel("A").point(lambda alpha: OPAQUE if alpha >= GIF_OPAQUE_FROM else TRANSPARENT))
    return image
