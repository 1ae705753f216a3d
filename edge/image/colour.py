"""The colour each frame carries to the output: the ICC profile embedded, or made from an AVIF's or PNG's code
points or a PNG's gAMA and cHRM; and the conversions to sRGB where the output cannot carry it (CMYK always)."""

import io
from functools import lru_cache

from PIL import Image, ImageCms

from edge import avif, icc, png, webp
from edge.errors import SourceTooLarge
from edge.image.model import JPEG_FORMATS, WORKING_ALPHA_MODES, Source, is_grey

# The formats that may give their colour by code points, and the module that reads them.
CODE_POINT_READERS = {"AVIF": avif, "PNG": png}
MOST_KEPT_PROFILE_BYTES = 1024 * 1024  # a display or camera profile takes a few KB, a printer's up to a few MB
# A profile LittleCMS cannot read (OSError) or use (ImageCms wraps the rest, ValueError included, in PyCMSError).
BROKEN_PROFILE_ERRORS = (ImageCms.PyCMSError, OSError)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
PNG_BT709_GAMMA = 2.4


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
    (file_gamma_profile): a grey one for a grey picture, which a 16-bit grey PNG with alpha is, though Pillow reads
    it as RGBA (in_working_mode makes it LA again). None for HDR into AVIF, which states HDR's codes: a
    decoder would show the profile's SDR rendering instead."""
    image = source.image
    grey = is_grey(image.mode) or image.format == "PNG" and png.grey_read_as_colour(original)
    if codes is None:
        return embedded_profile(source, original, grey) or file_gamma_profile(image, original, grey)
    primaries, transfer = codes
    if target == "avif" and transfer in icc.HDR_TRANSFERS:
        return None
    if transfer in icc.BT709_FAMILY:
        return bt709_family_profile(image.format, primaries, grey)
    brightest = CODE_POINT_READERS[image.format].brightest_nits(original)
    if grey:
        return icc.grey_profile(transfer, brightest)
    return icc.profile(primaries, transfer, brightest)


def bt709_family_profile(source_format: str, primaries: int, grey: bool) -> bytes | None:
    """The profile of the BT.709 family's transfers as Chromium 156 reads them, to the level (by hand), through no
    camera curve's inverse: an AVIF's as the sRGB curve ((200, 120, 80) through BT.709's inverse came out (206,
    133, 95)), a PNG's as a pure power of 2.4 (BT.2020's green through that inverse 83 levels off)."""
    if source_format == "AVIF":
        return None if grey else icc.profile(primaries, icc.SRGB_TRANSFER)
    return icc.power_curve_profile(PNG_BT709_GAMMA, icc.PRIMARIES[primaries][1:], grey=grey)


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


def check_icc_profile(profile: bytes) -> None:
    """Refuse a profile LittleCMS could take seconds or minutes to build a transform through (edge/icc.py):
    one with processing elements, whose number, and whose curves' segments, multiply its work. Photographs'
    profiles have none; a profile only carried into the output is not refused."""
    if icc.processing_elements(profile):
        raise SourceTooLarge("ICC profile with processing elements, which LittleCMS may take minutes to build on")


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


def embedded_profile(source: Source, original: bytes, grey: bool) -> bytes | None:
    """The source's own ICC profile, where browsers would use it (icc.usable): a JPEG's put together from its
    segments as Chromium puts it (Source.jpeg_icc_profile), which Pillow reads otherwise. Another is dropped,
    and the pixels taken as sRGB's, as browsers show them; so is an animated WebP's, even of one frame, which
    Chromium 156 does not apply (by hand), where it applies a still one's."""
    image = source.image
    if image.format == "WEBP" and webp.declares_animation(original):
        return None
    profile = source.jpeg_icc_profile if image.format in JPEG_FORMATS else image.info.get("icc_profile")
    if not isinstance(profile, bytes):  # a TIFF's tag may hold a number, which Pillow passes on
        return None
    space = icc.CMYK if image.mode == "CMYK" else icc.GREY if grey else icc.RGB
    return profile if icc.usable(profile, space) else None


def file_gamma_profile(source: Image.Image, original: bytes, grey: bool) -> bytes | None:
    """The profile a PNG's gAMA and cHRM describe (png.file_gamma), where no profile or sRGB chunk says more,
    which Pillow neither reports nor applies: a linear-light picture (gamma 1.0) would come out up to 72 levels
    too dark. None where they say sRGB or nothing, and for primaries Chromium 156 refuses, dropping the gamma too,
    or shows wrong (icc.power_curve_profile). None too beside a profile skcms reads, though of other pixels:
    Chromium 156 then applies neither (by hand: a grey one on RGB), where it falls back on the gAMA beside one
    it cannot read (of version 5, cut short)."""
    if source.format != "PNG" or png.says_srgb(original):
        return None
    profile = source.info.get("icc_profile")
    if isinstance(profile, bytes) and icc.readable(profile):
        return None
    gamma = png.file_gamma(original)
    return None if gamma is None else icc.power_curve_profile(*gamma, grey=grey)
