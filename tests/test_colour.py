"""The colour each frame carries (edge/image/colour.py): an ICC profile kept where browsers use it, or made from an
AVIF's or PNG's code points or a PNG's gamma and primaries; and the conversions to sRGB where it cannot go."""

import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms

import edge.image
from bombs import png_chunk
from edge import avif, icc
from edge.errors import SourceTooLarge
from edge.image import render
from edge.image.colour import profile_to_srgb
from edge.rendition import parse_rendition
from imaging import (
    DISPLAY_P3, LIMITS, LOSSY_EPSILON, SRGB_CHRM, app1, avif_with_item_property, chunks_before_idat, encoded,
    gama_chunk, gradient, half_transparent, icc_profile_cmyk, icc_profile_gray, icc_profile_of_matrices,
    max_difference, png_from_rows, png_with_chunks_after_ihdr, rendered, with_colour_codes,
)


@pytest.mark.parametrize("target", ["jpeg", "png", "webp", "avif"])
def test_an_icc_profile_is_kept_with_its_colours(target):
    source = Image.new("RGB", (64, 64), (200, 100, 50))
    data = encoded(source, "PNG", icc_profile=DISPLAY_P3)
    _, image = rendered(data, f"32x,{target}")
    assert image.info.get("icc_profile") == DISPLAY_P3
    assert max_difference(image.convert("RGB").getpixel((16, 16)), (200, 100, 50)) <= LOSSY_EPSILON[target]


GREY_PROFILE = icc_profile_gray("Grey (test)", gamma=1.8)


@pytest.mark.parametrize("target", ["gif", "webp"])
def test_a_grey_profile_is_converted_where_the_output_cannot_carry_it(target):
    _, image = rendered(encoded(half_transparent("LA"), "PNG", icc_profile=GREY_PROFILE), f"32x,{target}")
    assert "icc_profile" not in image.info
    rgba = image.convert("RGBA")
    assert rgba.getpixel((4, 8))[3] == 255 and rgba.getpixel((28, 8))[3] == 0  # alpha survives the conversion
    grey = rgba.getpixel((4, 8))[0]
    assert grey != 128 and max_difference(rgba.getpixel((4, 8))[:3], (grey,) * 3) <= 2


@pytest.mark.parametrize(("mode", "level"), [("L", 100), ("I;16", 100 * 257)])
def test_grey_with_a_profile_into_webp_becomes_srgb_without_alpha(mode, level):
    """WebP has no grey: the pixels are converted to sRGB, 8- or 16-bit alike, and no alpha appears."""
    source = Image.new(mode, (64, 64), level)
    expected = ImageCms.profileToProfile(
        Image.new("L", (1, 1), 100), ImageCms.ImageCmsProfile(io.BytesIO(GREY_PROFILE)),
        ImageCms.createProfile("sRGB"), outputMode="RGB",
    ).getpixel((0, 0))
    _, image = rendered(encoded(source, "PNG", icc_profile=GREY_PROFILE), "32x,webp")
    assert image.mode == "RGB" and "icc_profile" not in image.info
    assert expected != (100, 100, 100) and max_difference(image.getpixel((16, 16)), expected) <= 2


@pytest.mark.parametrize("mode", ["L", "LA"])  # grey with alpha is grey to the profile too, not an RGB picture
def test_a_grey_profile_is_kept_where_the_output_stays_grey(mode):
    _, image = rendered(encoded(gradient((64, 64), mode), "PNG", icc_profile=GREY_PROFILE), "32x,png")
    assert image.mode == mode and image.info.get("icc_profile") == GREY_PROFILE


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])  # with alpha, the colour is converted apart from it
def test_gif_output_converts_the_profile_to_srgb(mode):
    source = Image.new("RGB", (64, 64), (200, 100, 50))
    expected = ImageCms.profileToProfile(
        source, ImageCms.ImageCmsProfile(io.BytesIO(DISPLAY_P3)), ImageCms.createProfile("sRGB")
    ).getpixel((0, 0))
    _, image = rendered(encoded(source.convert(mode), "PNG", icc_profile=DISPLAY_P3), "32x,gif")
    assert "icc_profile" not in image.info
    assert image.convert("RGB").getpixel((16, 16)) == expected  # one flat colour: the palette holds it exactly
    assert max_difference(expected, (200, 100, 50)) > 10  # the conversion really changed something


# Display P3's (200, 120, 80) in sRGB numbers, by the published P3-to-sRGB matrix (test_icc.py).
P3_COLOUR, P3_COLOUR_IN_SRGB = (200, 120, 80), (213, 115, 70)
AVIF_SOURCE_EPSILON = 2  # a flat colour at quality 90


def avif_coded_as(primaries: int, transfer: int, frames: int = 1, colour=P3_COLOUR, **options) -> bytes:
    """An AVIF of `colour` (P3_COLOUR; a level: grey) whose nclx box says these code points: Pillow writes
    sRGB's, then they are changed."""
    image = Image.new("L" if isinstance(colour, int) else "RGB", (64, 64), colour)
    if frames > 1:
        options.update(save_all=True, append_images=[marked(image, index) for index in range(1, frames)])
    return with_colour_codes(encoded(image, "AVIF", quality=90, **options), primaries, transfer)


def marked(image: Image.Image, index: int) -> Image.Image:
    """The image with a black mark in its right edge, lower for each index: frames that differ."""
    frame = image.copy()
    frame.paste((0, 0, 0), (56, 8 * index, 64, 8 * index + 8))
    return frame


def converted_through_its_profile(image: Image.Image) -> tuple[int, int, int]:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    return ImageCms.profileToProfile(image.convert("RGB"), profile, ImageCms.createProfile("sRGB")).getpixel((16, 16))


@pytest.mark.parametrize("target", ["jpeg", "png", "webp", "avif"])
def test_an_avif_whose_codes_say_display_p3_carries_their_profile(target):
    result, image = rendered(avif_coded_as(12, 13), f"32x,{target}")
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    assert profile.profile.profile_description == "Display P3, sRGB curve"
    epsilon = LOSSY_EPSILON[target] + AVIF_SOURCE_EPSILON
    if target == "avif":
        assert avif.colour_codes(result.body) == (12, 13)  # beside the profile, the same colours
    assert max_difference(image.convert("RGB").getpixel((16, 16)), P3_COLOUR) <= epsilon
    assert max_difference(converted_through_its_profile(image), P3_COLOUR_IN_SRGB) <= epsilon


@pytest.mark.parametrize("frames", [1, 3])
@pytest.mark.parametrize("codes", [(9, 16), (9, 18), (2, 2)], ids=["PQ", "HLG", "unspecified"])
def test_avif_output_states_the_codes_without_a_profile_for_hdr_or_srgb(codes, frames):
    """HDR stays HDR: a profile, which can state only HDR's SDR rendering, would win over the codes."""
    result, image = rendered(avif_coded_as(*codes, frames=frames, duration=100), "32x,avif")
    assert avif.colour_codes(result.body) == codes and "icc_profile" not in image.info
    assert getattr(image, "n_frames", 1) == frames
    assert max_difference(image.convert("RGB").getpixel((16, 16)), P3_COLOUR) <= LOSSY_EPSILON["avif"]


@pytest.mark.parametrize("frames", [1, 3])
def test_an_avif_whose_codes_say_display_p3_into_gif_becomes_srgb_on_every_frame(frames):
    _, image = rendered(avif_coded_as(12, 13, frames=frames, duration=100), "32x,gif")
    assert "icc_profile" not in image.info and getattr(image, "n_frames", 1) == frames
    image.seek(frames - 1)
    assert max_difference(image.convert("RGB").getpixel((16, 16)), P3_COLOUR_IN_SRGB) <= AVIF_SOURCE_EPSILON + 2


# Linear light at half, in sRGB's numbers.
LINEAR_HALF_IN_SRGB = 188


@pytest.mark.parametrize("target", ["jpeg", "png", "avif"])
def test_a_grey_avif_whose_codes_say_linear_carries_a_grey_profile(target):
    _, image = rendered(avif_coded_as(1, 8, colour=128), f"32x,{target}")
    assert image.mode == "L"
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"])).profile
    assert (profile.xcolor_space, profile.profile_description) == ("GRAY", "Grey, linear")
    assert abs(image.getpixel((16, 16)) - 128) <= LOSSY_EPSILON[target] + AVIF_SOURCE_EPSILON


@pytest.mark.parametrize("target", ["webp", "gif"])
def test_a_grey_avif_whose_codes_say_linear_becomes_srgb_where_its_profile_cannot_go(target):
    _, image = rendered(avif_coded_as(1, 8, colour=128), f"32x,{target}")
    assert "icc_profile" not in image.info
    assert max_difference(image.convert("RGB").getpixel((16, 16)), (LINEAR_HALF_IN_SRGB,) * 3) <= (
        LOSSY_EPSILON[target] + AVIF_SOURCE_EPSILON)


def test_grey_with_alpha_into_avif_becomes_srgb_as_pillow_writes_it_as_rgba():
    """A grey profile would sit on RGBA samples, which decoders ignore or refuse."""
    source = encoded(Image.new("LA", (64, 64), (128, 200)), "PNG", icc_profile=icc.grey_profile(8))
    _, image = rendered(source, "32x,avif")
    assert image.mode == "RGBA" and "icc_profile" not in image.info
    assert max_difference(image.getpixel((16, 16)), (LINEAR_HALF_IN_SRGB,) * 3 + (200,)) <= LOSSY_EPSILON["avif"]


def test_grey_with_alpha_whose_cicp_says_linear_into_avif_states_srgb_codes_for_its_srgb_pixels():
    """Its pixels become sRGB's, as above: the codes that described them before would have them read as linear."""
    source = png_with_chunks_after_ihdr(encoded(Image.new("LA", (64, 64), (128, 200)), "PNG"),
                                        (b"cICP", bytes([1, 8, 0, 1])))
    result, image = rendered(source, "32x,avif")
    assert image.mode == "RGBA" and "icc_profile" not in image.info
    assert max_difference(image.getpixel((16, 16)), (LINEAR_HALF_IN_SRGB,) * 3 + (200,)) <= LOSSY_EPSILON["avif"]
    assert avif.colour_codes(result.body) == (1, 13)


def test_an_animated_display_p3_avif_keeps_its_profile_on_every_frame_of_an_animated_avif():
    _, image = rendered(avif_coded_as(12, 13, frames=3, duration=100), "32x,avif")
    assert getattr(image, "n_frames", 1) == 3
    assert ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"])).profile.profile_description == (
        "Display P3, sRGB curve")


def test_an_animated_display_p3_avif_into_an_animated_webp_is_converted_to_srgb():
    """Chromium 156 applies no profile to an animated WebP (by hand: the colours came out 35 levels off), where it
    applies a still one's: the pixels are converted, on every frame, and no profile is written."""
    _, image = rendered(avif_coded_as(12, 13, frames=3, duration=100), "32x,webp")
    assert getattr(image, "n_frames", 1) == 3 and "icc_profile" not in image.info
    for index in range(3):
        image.seek(index)
        colour = image.convert("RGB").getpixel((4, 4))
        assert max_difference(colour, P3_COLOUR_IN_SRGB) <= LOSSY_EPSILON["webp"] + AVIF_SOURCE_EPSILON


def without_its_last_frame(animation: bytes) -> bytes:
    """An animated WebP without its last ANMF chunk: its header still says animated (as Pillow never writes an
    animation of one frame)."""
    at = animation.rindex(b"ANMF")
    size = int.from_bytes(animation[at + 4:at + 8], "little")
    body = animation[12:at] + animation[at + 8 + size + (size & 1):]
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WEBP" + body


@pytest.mark.parametrize("frames", [2, 1])
@pytest.mark.parametrize("target", ["png", "webp"])
def test_an_animated_webps_profile_is_not_applied_as_chromium_applies_none(target, frames):
    """Chromium 156 shows an animated WebP's numbers as sRGB's, whatever its profile says, also where it has one
    frame (by hand), and applies a still one's."""
    pictures = [marked(Image.new("RGB", (64, 64), P3_COLOUR), index) for index in range(2)]
    source = encoded(pictures[0], "WEBP", save_all=True, append_images=pictures[1:], duration=100, lossless=True,
                     icc_profile=icc.profile(12, 13))
    if frames == 1:
        source = without_its_last_frame(source)
    _, image = rendered(source, f"64x,{target}")
    assert getattr(image, "n_frames", 1) == frames and "icc_profile" not in image.info
    epsilon = LOSSY_EPSILON[target]  # an animation becomes lossy WebP
    assert max_difference(image.convert("RGB").getpixel((4, 4)), P3_COLOUR) <= epsilon


@pytest.mark.parametrize("transfer", [1, 6, 14, 15])
@pytest.mark.parametrize(("primaries", "shown"), [(1, P3_COLOUR), (12, P3_COLOUR_IN_SRGB)], ids=["bt709", "p3"])
def test_an_avifs_bt709_family_transfer_is_shown_as_the_srgb_curve_as_chromium_shows_it(transfer, primaries, shown):
    """Chromium 156 shows the AVIFs of codes 1, 6 and 14 as those of 13, to the level (by hand), not through BT.709's
    camera curve's inverse: BT.709 primaries come out as the numbers stored, P3's converted as for sRGB's curve."""
    _, image = rendered(avif_coded_as(primaries, transfer), "32x,png")
    profiled = "icc_profile" in image.info
    assert profiled is (primaries != 1)
    colour = converted_through_its_profile(image) if profiled else image.convert("RGB").getpixel((16, 16))
    assert max_difference(colour, shown) <= AVIF_SOURCE_EPSILON + 1


@pytest.mark.parametrize(("mode", "stored", "codes", "shown"), [
    ("RGB", (200, 120, 80), (1, 1), (197, 113, 70)),
    ("RGB", (136, 210, 23), (9, 1), (0, 216, 0)),
    ("RGB", (200, 120, 80), (12, 6), (210, 107, 59)),
    ("RGB", (136, 210, 23), (1, 14), (129, 208, 10)),
    ("L", 128, (1, 15), (121, 121, 121)),
], ids=["bt709", "bt2020", "p3-bt601", "bt709-bt2020-curve", "grey"])
def test_a_pngs_bt709_family_transfer_is_a_power_of_2_4_as_chromium_reads_it(mode, stored, codes, shown):
    """Chromium 156's levels for these cICP chunks (by hand, 2026-12-02). Read through BT.709's camera curve's
    inverse, as before, BT.2020's green (136, 210, 23) came out (83, 222, 0), not (0, 216, 0)."""
    source = png_with_chunks_after_ihdr(encoded(Image.new(mode, (32, 32), stored), "PNG"),
                                        (b"cICP", bytes([*codes, 0, 1])))
    _, image = rendered(source, "32x,png")
    assert image.mode == mode
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    in_srgb = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert max_difference(in_srgb.getpixel((16, 16)), shown) <= 1


@pytest.mark.parametrize(("codes", "why"), [((1, 13), "sRGB"), ((2, 2), "unspecified"), ((9, 9), "a log curve")])
def test_an_avif_whose_codes_make_no_profile_comes_out_without_one(codes, why):
    _, image = rendered(avif_coded_as(*codes), "32x,jpeg")
    assert "icc_profile" not in image.info, why
    assert max_difference(image.getpixel((16, 16)), P3_COLOUR) <= LOSSY_EPSILON["jpeg"] + AVIF_SOURCE_EPSILON


# HDR's reference white, 203 nits (PQ signal 58%, HLG 75%), in SDR: rolled off to 0.78 of white (test_icc.py).
HDR_REFERENCE_WHITE = {16: round(0.5807 * 255), 18: round(0.75 * 255)}
HDR_REFERENCE_WHITE_IN_SRGB = 229


@pytest.mark.parametrize("target", ["jpeg", "png", "webp"])
@pytest.mark.parametrize("transfer", [16, 18], ids=["PQ", "HLG"])
def test_an_hdr_avif_into_an_sdr_format_carries_its_sdr_rendering(transfer, target):
    colour = HDR_REFERENCE_WHITE[transfer]
    _, image = rendered(avif_coded_as(9, transfer, colour=(colour,) * 3), f"32x,{target}")
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    assert profile.profile.profile_description == f"BT.2020, {'PQ' if transfer == 16 else 'HLG'} shown as SDR"
    epsilon = LOSSY_EPSILON[target] + AVIF_SOURCE_EPSILON
    assert max_difference(image.getpixel((16, 16)), (colour,) * 3) <= epsilon  # the numbers as they came
    assert max_difference(converted_through_its_profile(image), (HDR_REFERENCE_WHITE_IN_SRGB,) * 3) <= epsilon


@pytest.mark.parametrize("target", ["jpeg", "png", "webp"])
def test_a_grey_hdr_avif_gets_its_grey_sdr_rendering_or_becomes_it_in_webp(target):
    _, image = rendered(avif_coded_as(9, 16, colour=HDR_REFERENCE_WHITE[16]), f"32x,{target}")
    epsilon = LOSSY_EPSILON[target] + AVIF_SOURCE_EPSILON
    if target == "webp":  # WebP has no grey, so the grey profile cannot go with it
        assert "icc_profile" not in image.info
        assert max_difference(image.getpixel((16, 16)), (HDR_REFERENCE_WHITE_IN_SRGB,) * 3) <= epsilon
        return
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    assert image.mode == "L" and profile.profile.profile_description == "Grey, PQ shown as SDR"
    in_srgb = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert max_difference(in_srgb.getpixel((16, 16)), (HDR_REFERENCE_WHITE_IN_SRGB,) * 3) <= epsilon


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_pq_avif_that_says_how_bright_its_brightest_pixel_is_is_rolled_off_from_there(mode):
    """Pillow writes no clli box: one is added to its primary item's properties, which libavif reads."""
    colour = HDR_REFERENCE_WHITE[16] if mode == "L" else (HDR_REFERENCE_WHITE[16],) * 3
    source = avif_with_item_property(avif_coded_as(9, 16, colour=colour), struct.pack(">I4sHH", 12, b"clli", 4000, 400))
    _, image = rendered(source, "32x,png")
    assert image.info["icc_profile"] == (icc.profile(9, 16, 4000) if mode == "RGB" else icc.grey_profile(16, 4000))
    assert max_difference(image.getpixel((16, 16)), colour) <= AVIF_SOURCE_EPSILON


def png_coded_as(primaries: int, transfer: int, colour=P3_COLOUR, *chunks: tuple[bytes, bytes], **options) -> bytes:
    """A PNG of `colour` (a level: 16-bit grey, at 257 times it) whose cICP chunk says these code points."""
    image = Image.new("I;16", (64, 64), colour * 257) if isinstance(colour, int) else Image.new("RGB", (64, 64), colour)
    return png_with_chunks_after_ihdr(
        encoded(image, "PNG", **options), (b"cICP", bytes([primaries, transfer, 0, 1])), *chunks)


@pytest.mark.parametrize("target", ["jpeg", "png", "webp", "avif"])
def test_a_png_whose_cicp_says_display_p3_carries_its_profile(target):
    result, image = rendered(png_coded_as(12, 13), f"32x,{target}")
    assert ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"])).profile.profile_description == (
        "Display P3, sRGB curve")
    assert max_difference(converted_through_its_profile(image), P3_COLOUR_IN_SRGB) <= LOSSY_EPSILON[target] + 1
    if target == "avif":
        assert avif.colour_codes(result.body) == (12, 13)


@pytest.mark.parametrize(("codes", "embedded", "kept"), [
    ((12, 13), icc.profile(9, 8), "Display P3, sRGB curve"), ((1, 13), DISPLAY_P3, None)])
def test_a_pngs_cicp_wins_over_its_icc_profile(codes, embedded, kept):
    """PNG, third edition: cICP before iCCP; sRGB's codes leave no profile at all."""
    _, image = rendered(png_coded_as(*codes, icc_profile=embedded), "32x,jpeg")
    profile = image.info.get("icc_profile")
    assert (profile and ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.profile_description) == kept


@pytest.mark.parametrize("codes", [(0, 13), (12, 0), (2, 2), (255, 255), (1, 9)],
                         ids=["reserved-primaries", "reserved-transfer", "unspecified", "beyond", "log-curve"])
@pytest.mark.parametrize("target", ["jpeg", "avif"])
def test_a_pngs_cicp_that_says_nothing_known_leaves_its_icc_profile_in_charge(codes, target):
    result, image = rendered(png_coded_as(*codes, icc_profile=DISPLAY_P3), f"32x,{target}")
    assert image.info["icc_profile"] == DISPLAY_P3
    if target == "avif":
        assert avif.colour_codes(result.body) == (2, 2)  # libavif's own beside a profile, not the PNG's


@pytest.mark.parametrize(("source_mode", "clli", "brightest"), [
    ("RGB", (), None), ("I;16", (), None), ("RGB", ((b"cLLI", (4000 * 10_000).to_bytes(4) + bytes(4)),), 4000)])
def test_an_hdr_png_into_jpeg_carries_its_sdr_rendering_from_its_brightest_pixel(source_mode, clli, brightest):
    """16-bit grey opens as I;16: a grey picture all the same."""
    colour = HDR_REFERENCE_WHITE[16] if source_mode == "I;16" else (HDR_REFERENCE_WHITE[16],) * 3
    _, image = rendered(png_coded_as(9, 16, colour, *clli), "32x,jpeg")
    grey = source_mode == "I;16"
    assert image.info["icc_profile"] == (icc.grey_profile(16) if grey else icc.profile(9, 16, brightest))
    assert image.mode == ("L" if grey else "RGB")


def test_an_hdr_png_into_avif_stays_hdr():
    result, image = rendered(png_coded_as(9, 16, (HDR_REFERENCE_WHITE[16],) * 3), "32x,avif")
    assert avif.colour_codes(result.body) == (9, 16) and "icc_profile" not in image.info


@pytest.mark.parametrize(("frames", "mode"), [(1, "RGB"), (3, "RGB"), (1, "L")])
def test_an_hdr_avif_into_gif_becomes_its_sdr_rendering_on_every_frame(frames, mode):
    colour = HDR_REFERENCE_WHITE[16] if mode == "L" else (HDR_REFERENCE_WHITE[16],) * 3
    _, image = rendered(avif_coded_as(9, 16, frames=frames, colour=colour, duration=100), "32x,gif")
    assert "icc_profile" not in image.info and getattr(image, "n_frames", 1) == frames
    image.seek(frames - 1)
    assert max_difference(image.convert("RGB").getpixel((16, 16)), (HDR_REFERENCE_WHITE_IN_SRGB,) * 3) <= (
        AVIF_SOURCE_EPSILON + 2)


@pytest.mark.parametrize("transfer", [14, 16], ids=["SDR", "PQ"])
@pytest.mark.parametrize("target", ["jpeg", "avif"])
def test_an_avif_icc_profile_wins_over_its_codes(target, transfer):
    result, image = rendered(avif_coded_as(9, transfer, icc_profile=DISPLAY_P3), f"32x,{target}")
    assert image.info["icc_profile"] == DISPLAY_P3
    if target == "avif":
        assert avif.colour_codes(result.body) == (2, 2)  # what libavif states beside a profile


# A JPEG source brings its own loss; a TIFF's CMYK, uncompressed, converts exactly.
CMYK_SOURCE_EPSILON = {"JPEG": 3, "TIFF": 0}


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [((255, 0, 0, 0), (0, 255, 255)), ((0, 255, 0, 0), (255, 0, 255)), ((0, 0, 0, 0), (255, 255, 255)),
     ((0, 0, 0, 255), (0, 0, 0))],
)
@pytest.mark.parametrize("source_format", ["JPEG", "TIFF"])
def test_cmyk_becomes_correct_rgb(cmyk, rgb, source_format):
    data = encoded(Image.new("CMYK", (32, 32), cmyk), source_format)
    if source_format == "JPEG":
        assert Image.open(io.BytesIO(data)).info.get("adobe")  # Adobe's inverted CMYK
    _, image = rendered(data, "16x,png")
    assert image.mode == "RGB"
    assert max_difference(image.getpixel((8, 8)), rgb) <= CMYK_SOURCE_EPSILON[source_format]


# Cyan ink prints magenta and magenta prints cyan: a conversion that ignores the profile shows at once.
CYAN_AND_MAGENTA_SWAPPED = icc_profile_cmyk(
    "Cyan and magenta swapped (test)", lambda c, m, y, k: ((1 - m) * (1 - k), (1 - c) * (1 - k), (1 - y) * (1 - k)))


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [((255, 0, 0, 0), (255, 0, 255)), ((0, 255, 0, 0), (0, 255, 255)), ((0, 0, 255, 0), (255, 255, 0)),
     ((0, 0, 0, 0), (255, 255, 255)), ((0, 0, 0, 255), (0, 0, 0))],
)
@pytest.mark.parametrize("source_format", ["JPEG", "TIFF"])
def test_cmyk_with_a_profile_becomes_rgb_through_it(cmyk, rgb, source_format):
    data = encoded(Image.new("CMYK", (32, 32), cmyk), source_format, icc_profile=CYAN_AND_MAGENTA_SWAPPED)
    _, image = rendered(data, "16x,jpeg")
    assert image.mode == "RGB" and "icc_profile" not in image.info  # a CMYK profile cannot describe RGB
    assert max_difference(image.getpixel((8, 8)), rgb) <= LOSSY_EPSILON["jpeg"]


# Whole as browsers read it, its table said to be of another type, which LittleCMS cannot build a transform on.
UNBUILDABLE_CMYK_PROFILE = CYAN_AND_MAGENTA_SWAPPED.replace(b"mft2", b"mAB ")


@pytest.mark.parametrize("profile", [b"not a profile", UNBUILDABLE_CMYK_PROFILE], ids=["unread", "unbuildable"])
@pytest.mark.parametrize("source_format", ["JPEG", "TIFF"])
def test_cmyk_with_a_broken_profile_becomes_rgb_without_it(source_format, profile):
    assert icc.usable(profile, icc.CMYK) is (profile is UNBUILDABLE_CMYK_PROFILE)  # which browsers would apply
    data = encoded(Image.new("CMYK", (32, 32), (255, 0, 0, 0)), source_format, icc_profile=profile)
    _, image = rendered(data, "16x,png")
    assert image.mode == "RGB" and "icc_profile" not in image.info
    assert max_difference(image.getpixel((8, 8)), (0, 255, 255)) <= CMYK_SOURCE_EPSILON[source_format]


@pytest.mark.parametrize("profile", [
    b"not a profile",
    # Browsers read it (icc.usable); LittleCMS does not open a profile of a device class it does not know.
    DISPLAY_P3[:12] + b"zzzz" + DISPLAY_P3[16:],
    DISPLAY_P3[:12] + b"link" + DISPLAY_P3[16:],  # opened, but LittleCMS builds no transform on a device link
], ids=["unusable", "unopened", "unbuilt"])
def test_a_broken_profile_leaves_the_colours_as_they_are_where_it_cannot_go(profile):
    _, image = rendered(encoded(Image.new("RGB", (32, 32), (200, 100, 50)), "PNG", icc_profile=profile), "16x,gif")
    assert "icc_profile" not in image.info
    assert image.convert("RGB").getpixel((8, 8)) == (200, 100, 50)


def test_a_transform_that_fails_on_the_pixels_leaves_the_colours_as_they_are(monkeypatch):
    """As a profile LittleCMS cannot build on does; no profile at hand makes a built transform fail."""
    def fails(*_):
        raise ImageCms.PyCMSError("cannot apply")

    monkeypatch.setattr(ImageCms, "applyTransform", fails)
    _, image = rendered(encoded(Image.new("RGB", (32, 32), (200, 100, 50)), "PNG", icc_profile=DISPLAY_P3), "16x,gif")
    assert "icc_profile" not in image.info
    assert image.convert("RGB").getpixel((8, 8)) == (200, 100, 50)


def test_a_profile_littlecms_could_take_minutes_to_build_on_is_too_large_where_colours_are_converted():
    """A profile with processing elements: into GIF its colours are converted, refused; into PNG it is only
    carried, kept."""
    source = encoded(gradient((16, 16)), "PNG")
    at = source.index(b"IDAT") - 4
    data = source[:at] + png_chunk(b"iCCP", b"matrices\0\0" + zlib.compress(icc_profile_of_matrices(2))) + source[at:]
    with pytest.raises(SourceTooLarge, match="ICC profile with processing elements"):
        rendered(data, "8x,gif")
    assert rendered(data, "8x,png")[1].info["icc_profile"] == icc_profile_of_matrices(2)


GAMMA_COLOURS = [(200, 100, 50), (30, 160, 220), (128, 128, 128), (250, 240, 10)]
WIDE_CHRM = struct.pack(">8I", 31270, 32900, 70800, 29200, 17000, 79700, 13100, 4600)  # white, red, green, blue


def png_of(colours: list[tuple[int, ...]], *chunks: tuple[bytes, bytes], mode: str = "RGB") -> bytes:
    """A row of these colours as a PNG, with these chunks (type, payload) before its IDAT."""
    row = Image.new(mode, (len(colours), 1))
    row.putdata(colours)
    return chunks_before_idat(encoded(row, "PNG"), *chunks)


def as_shown(image: Image.Image) -> list[tuple[int, int, int]]:
    """The colours a browser shows: through the image's profile, if any, to sRGB."""
    profile = image.info.get("icc_profile")
    if profile:  # unoptimised: LittleCMS's optimised grey transform is off near black
        image = ImageCms.applyTransform(image, ImageCms.buildTransform(
            ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"), image.mode, "RGB",
            flags=ImageCms.Flags.NOOPTIMIZE))
    return [image.convert("RGB").getpixel((x, 0)) for x in range(image.width)]


GAMMA_1_SHOWN = [(229, 168, 122), (96, 208, 239), (188, 188, 188), (253, 248, 56)]


# Each as Chromium 156 shows it (by hand: an <img> drawn on a canvas). Pillow applies neither chunk.
@pytest.mark.parametrize(("chunks", "shown"), [
    ([gama_chunk(100_000)], GAMMA_1_SHOWN),  # linear light
    ([(b"cHRM", WIDE_CHRM), gama_chunk(45_455)], [(243, 75, 21), (0, 169, 228), (129, 129, 129), (255, 240, 0)]),
    ([(b"cHRM", SRGB_CHRM), gama_chunk(45_455)],
     [(201, 100, 46), (24, 161, 221), (129, 129, 129), (250, 240, 3)]),  # sRGB's primaries, a pure 2.2 curve
    ([(b"cHRM", struct.pack(">8I", 34570, 35850, 64000, 33000, 30000, 60000, 15000, 6000)), gama_chunk(45_455)],
     [(209, 101, 53), (0, 161, 219), (129, 129, 129), (252, 241, 53)]),  # a D50 white
    ([gama_chunk(45_455)], GAMMA_COLOURS),  # sRGB's, near enough
    ([(b"cHRM", WIDE_CHRM)], GAMMA_COLOURS),  # no gamma: nothing
    ([(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 64000, 33000, 15000, 6000)), gama_chunk(100_000)],
     GAMMA_COLOURS),  # red and green alike: nothing at all
    ([gama_chunk(100_000), (b"sRGB", b"\0")], GAMMA_COLOURS),
    ([gama_chunk(100_000), (b"sRGB", b"\4")], GAMMA_1_SHOWN),  # an intent no sRGB chunk has: skipped
    ([gama_chunk(0), gama_chunk(100_000)], GAMMA_1_SHOWN),  # the first valid gAMA
    ([gama_chunk(1)], [(0, 0, 0)] * 4),  # a power past what ICC can state: black all the same
    ([(b"cHRM", struct.pack(">8I", 90000, 5000, 64000, 33000, 30000, 60000, 15000, 6000)), gama_chunk(100_000)],
     [(255, 121, 180), (0, 242, 191), (188, 188, 188), (255, 249, 0)]),  # a white outside the primaries
    ([(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 0)), gama_chunk(45_455)],
     [(195, 104, 46), (68, 152, 221), (129, 129, 129), (242, 253, 3)]),  # a blue of y 0
    ([(b"cHRM", struct.pack(">8I", 31270, 32900, 120000, 33000, 30000, 60000, 15000, 6000)), gama_chunk(100_000)],
     GAMMA_COLOURS),  # an x over 1: nothing at all
    ([(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 0, 100000, 15000, 6000)), gama_chunk(100_000)],
     [(255, 168, 116), (0, 208, 242), (188, 188, 188), (255, 248, 0)]),  # a y of exactly 1 (and an x of 0)
    ([(b"cHRM", struct.pack(">8I", 0, 100000, 64000, 33000, 30000, 60000, 15000, 6000)), gama_chunk(100_000)],
     [(0, 189, 10), (255, 183, 255), (188, 188, 188), (240, 255, 0)]),  # a white of y 1
    ([(b"cHRM", struct.pack(">8I", 31270, 32900, 70000, 31000, 30000, 60000, 15000, 6000)), gama_chunk(100_000)],
     [(229, 164, 119), (96, 212, 241), (188, 188, 188), (253, 248, 40)]),  # a red whose x and y add up past 1
], ids=["gamma-1", "wide-primaries", "srgb-primaries", "d50-white", "near-srgb", "primaries-alone",
        "impossible-primaries", "srgb-chunk", "invalid-srgb-chunk", "invalid-gama-first", "gamma-past-icc",
        "white-outside", "blue-of-y-0", "x-over-1", "y-of-1", "white-of-y-1", "x-and-y-past-1"])
@pytest.mark.parametrize("target", ["png", "gif"])
def test_a_pngs_gamma_and_primaries_are_shown_as_chromium_shows_them(chunks, shown, target):
    _, image = rendered(png_of(GAMMA_COLOURS, *chunks), f"4x,{target}")
    assert as_shown(image) == shown


def test_a_jpeg_whose_bytes_read_as_a_gama_chunk_where_a_pngs_would_begin_gets_no_gamma_profile():
    """png.file_gamma reads chunks from byte 8 on, whatever the file: here an APP1 segment's linear-light gAMA."""
    payload = b"\0\0" + png_chunk(*gama_chunk(100_000))  # the segment's payload starts at byte 6
    jpeg = encoded(Image.new("RGB", (8, 8), GAMMA_COLOURS[0]), "JPEG")
    data = jpeg[:2] + app1(payload) + jpeg[2:]
    assert data[8:16] == struct.pack(">I", 4) + b"gAMA"
    _, image = rendered(data, "8x,png")
    assert "icc_profile" not in image.info


def test_a_palette_pngs_gamma_after_its_palette_is_shown_as_chromium_shows_it():
    """Chromium 156 reads a gAMA before the pixels, after PLTE too (helpers' measures)."""
    palette = Image.new("P", (4, 1))
    palette.putpalette([channel for colour in GAMMA_COLOURS for channel in colour])
    palette.putdata([0, 1, 2, 3])
    _, image = rendered(chunks_before_idat(encoded(palette, "PNG"), gama_chunk(100_000)), "4x,png")
    assert as_shown(image) == GAMMA_1_SHOWN


# No profile can state them (icc.power_curve_profile): nearly on one line, they were a 500. Chromium 156 shows
# colours its float arithmetic makes up for those (a helper's measure), and every pixel black for a white of y 0
# (by hand: (0, 0, 0) four times, with a gamma of 1 or 1/2.2).
@pytest.mark.parametrize("chrm", [
    struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 47000, 46501),
    struct.pack(">8I", 31270, 0, 64000, 33000, 30000, 60000, 15000, 6000),
], ids=["nearly-on-one-line", "white-of-y-0"])
def test_primaries_chromium_shows_wrong_leave_the_colours_as_they_are(chrm):
    _, image = rendered(png_of(GAMMA_COLOURS, (b"cHRM", chrm), gama_chunk(100_000)), "4x,png")
    assert as_shown(image) == GAMMA_COLOURS


# LittleCMS's optimised grey transform would show 1 and 2 as 6 and 12 here (edge.image.colour.grey_to_srgb).
@pytest.mark.parametrize(("levels", "chunks", "shown"), [
    ([1, 2, 8, 32, 64, 128, 192, 240], [gama_chunk(100_000)], [13, 22, 50, 99, 137, 188, 225, 248]),
    ([1, 2, 8, 32, 64, 128, 192, 240], [gama_chunk(200_000)], [71, 84, 117, 161, 188, 219, 240, 252]),
    ([1, 2, 8, 32], [(b"cHRM", struct.pack(">8I", 31270, 32900, 120000, 33000, 30000, 60000, 15000, 6000)),
                     gama_chunk(100_000)], [1, 2, 8, 32]),  # an x over 1: nothing at all, grey or not
], ids=["gamma-1", "gamma-half", "x-over-1"])
@pytest.mark.parametrize("target", ["png", "gif"])
def test_a_grey_pngs_gamma_is_shown_as_chromium_shows_it(levels, chunks, shown, target):
    _, image = rendered(png_of(levels, *chunks, mode="L"), f"{len(levels)}x,{target}")
    assert [red for red, _, _ in as_shown(image)] == shown


def test_grey_with_alpha_goes_to_srgb_by_the_same_exact_table_as_grey_and_keeps_its_alpha():
    """Its colour apart from its alpha: through LittleCMS's optimised grey transform, near black would be off."""
    levels = Image.frombytes("L", (256, 1), bytes(range(256)))
    alpha = levels.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    converted = profile_to_srgb(Image.merge("LA", (levels, alpha)), icc.grey_profile(8))  # linear
    assert converted.mode == "RGBA" and converted.getchannel("A").tobytes() == alpha.tobytes()
    assert converted.convert("RGB").tobytes() == profile_to_srgb(levels, icc.grey_profile(8)).tobytes()


def test_a_sixteen_bit_grey_pngs_gamma_is_shown_as_chromium_shows_it():
    """Its high byte through the curve: a level off would show as 13 here."""
    _, image = rendered(png_of([257, 25855, 25956, 60000], gama_chunk(100_000), mode="I;16"), "4x,gif")
    assert [red for red, _, _ in as_shown(image)] == [13, 168, 169, 246]


# Each as Chromium 156 shows it, at 8 and 16 bits alike (by hand).
@pytest.mark.parametrize(("chunk", "shown"), [
    (png_chunk(b"iCCP", b"g\0\0" + zlib.compress(icc.grey_profile(4))), [35, 100, 161, 221]),  # a power of 2.2
    (png_chunk(b"gAMA", struct.pack(">I", 100_000)), [110, 168, 208, 239]),  # linear light
    (png_chunk(b"cICP", bytes([1, 8, 0, 1])), [110, 168, 208, 239]),
], ids=["grey-profile", "gamma-1", "cicp-linear"])
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("target", ["png", "gif"])
def test_a_grey_with_alpha_pngs_colour_is_shown_at_16_bits_as_at_8(chunk, shown, depth, target):
    """Pillow reads 16-bit grey with alpha as RGBA, under which a grey profile was taken for one on RGB, and
    dropped. PNG output keeps grey with alpha, and a grey profile on it."""
    levels = [40, 100, 160, 220]
    pixels = b"".join(struct.pack(">HH", level * 257, 65535) if depth == 16 else bytes([level, 255])
                      for level in levels)
    _, image = rendered(png_from_rows((4, 1), depth, 4, b"\0" + pixels, chunk), f"4x,{target}")
    profile = image.info.get("icc_profile")
    assert image.mode == ("LA" if target == "png" else "P")
    assert (profile is not None and icc.data_colour_space(profile)) == (icc.GREY if target == "png" else False)
    assert [red for red, _, _ in as_shown(image.convert("L"))] == shown


# Each as Chromium 156 shows it (a helper's measure): a profile browsers ignore is dropped, the pixels shown as
# sRGB's; in AVIF output, Chromium could not decode it at all.
@pytest.mark.parametrize(("source", "profile"), [
    (Image.new("RGB", (8, 8), (200, 100, 50)), icc_profile_gray("grey on RGB")),
    (Image.new("RGB", (8, 8), (200, 100, 50)), DISPLAY_P3[:300]),
    (Image.new("L", (8, 8), 100), DISPLAY_P3),  # applied to grey, as to RGB
    (Image.new("RGB", (8, 8), (200, 100, 50)), DISPLAY_P3[:20] + b"RGB " + DISPLAY_P3[24:]),  # connection space RGB
], ids=["grey-on-rgb", "cut-short", "rgb-on-grey", "rgb-connection-space"])
@pytest.mark.parametrize("source_format", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("target", ["jpeg", "png", "webp", "avif"])
def test_an_embedded_profile_is_kept_only_where_browsers_use_it(source, profile, source_format, target):
    data = encoded(source, source_format, icc_profile=profile, quality=95)
    _, image = rendered(data, f"8x,{target}")
    # An RGB profile on grey pixels, which PNG forbids and Firefox drops, has them go through it to sRGB.
    kept = profile == DISPLAY_P3 and Image.open(io.BytesIO(data)).mode != "L"
    assert image.info.get("icc_profile") == (profile if kept else None)


def test_a_grey_picture_under_an_rgb_profile_goes_through_it_to_srgb():
    """As browsers show it (icc.usable): LittleCMS takes no grey pixels through an RGB profile, and left them
    as they were."""
    linear_srgb = icc.power_curve_profile(1.0, None, grey=False)
    _, image = rendered(encoded(Image.new("L", (8, 8), 128), "JPEG", icc_profile=linear_srgb, quality=95), "8x,gif")
    assert abs(image.convert("RGB").getpixel((4, 4))[0] - 188) <= 1  # Chromium 156 shows 188 (a helper's measure)


def test_a_pngs_profile_wins_over_its_gamma():
    profile = (b"iCCP", b"p3\0\0" + zlib.compress(DISPLAY_P3))
    _, image = rendered(png_of(GAMMA_COLOURS, gama_chunk(100_000), profile), "4x,png")
    assert image.info["icc_profile"] == DISPLAY_P3


@pytest.mark.parametrize("target", ["gif", "png"])
def test_a_profile_after_the_pixels_is_not_read(target):
    """As Chromium 156 reads a PNG (by hand: a Display P3 profile there left (200, 100, 50) as it was, and
    turned it to (216, 93, 24) before them): the colours stay as they are, and no profile is carried. Pillow
    reads it as it decodes the pixels; one that LittleCMS could take minutes on must not be built either."""
    source = encoded(Image.new("RGB", (16, 16), (200, 100, 50)), "PNG")
    at = len(source) - 12  # before IEND
    data = source[:at] + png_chunk(b"iCCP", b"matrices\0\0" + zlib.compress(icc_profile_of_matrices(2))) + source[at:]
    _, image = rendered(data, f"8x,{target}")
    assert "icc_profile" not in image.info
    assert image.convert("RGB").getcolors() == [(64, (200, 100, 50))]


@pytest.mark.parametrize(("kept_bytes", "builds_kept", "builds_large"), [
    (1024 * 1024, (1, 2), (0, 0)), (100, (0, 0), (1, 2))], ids=["kept", "too-large-to-keep-but-the-last"])
def test_an_animations_frames_are_converted_through_one_transform(monkeypatch, kept_bytes, builds_kept, builds_large):
    """Built once, whether the profile is small enough to be kept among eight, or is kept alone as the last large
    one, to the same pixels."""
    monkeypatch.setattr(edge.image.colour, "MOST_KEPT_PROFILE_BYTES", kept_bytes)
    frames = [gradient((16, 16)).rotate(angle) for angle in (0, 90, 180)]
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], icc_profile=DISPLAY_P3)
    edge.image.colour._kept_transform.cache_clear()
    edge.image.colour._last_large_transform.cache_clear()
    result, image = rendered(data, "8x,gif")
    kept, large = edge.image.colour._kept_transform.cache_info(), edge.image.colour._last_large_transform.cache_info()
    assert (result.frames, (kept.misses, kept.hits), (large.misses, large.hits)) == (3, builds_kept, builds_large)
    monkeypatch.setattr(edge.image.colour, "MOST_KEPT_PROFILE_BYTES", 1024 * 1024)
    assert render(data, parse_rendition("/8x,gif/key"), LIMITS).body == result.body


def profile_padded_to(profile: bytes, size: int) -> bytes:
    """The profile with zeros after its tags up to `size` bytes, which its header states."""
    return size.to_bytes(4) + profile[4:] + bytes(size - len(profile))


def test_eight_transforms_are_kept_of_profiles_up_to_a_mib_and_one_of_a_larger():
    """(transforms kept of profiles up to a MiB, of larger ones) after eight, the first of exactly a MiB; a ninth;
    one of a MiB and a byte; another larger."""
    colour = edge.image.colour
    colour._kept_transform.cache_clear()
    colour._last_large_transform.cache_clear()
    small = [icc.power_curve_profile(1.0 + index / 10, None, grey=False) for index in range(9)]
    kept = []
    for profiles in ([profile_padded_to(small[0], 1024 * 1024), *small[1:8]], [small[8]],
                     [profile_padded_to(small[0], 1024 * 1024 + 1)], [profile_padded_to(small[1], 1024 * 1024 + 2)]):
        assert all(colour.transform_to_srgb(profile, "RGB") is not None for profile in profiles)
        kept.append((colour._kept_transform.cache_info().currsize, colour._last_large_transform.cache_info().currsize))
    assert kept == [(8, 0), (8, 0), (8, 1), (8, 1)]


def test_a_profile_littlecms_cannot_build_on_is_tried_once_for_an_animation():
    """Its frames keep their pixels. A reviewer's 37.5 MB profile, which LittleCMS read whole before it failed,
    took 130 s on 300 frames when each tried it."""
    frames = [gradient((16, 16)).rotate(angle) for angle in (0, 90, 180)]
    broken = DISPLAY_P3[:12] + b"link" + DISPLAY_P3[16:]  # a device link: browsers read it, LittleCMS builds none
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], icc_profile=broken)
    edge.image.colour._kept_transform.cache_clear()
    result, image = rendered(data, "8x,gif")
    info = edge.image.colour._kept_transform.cache_info()
    assert (result.frames, info.misses, info.hits, edge.image.colour._kept_transform(broken, "RGB")) == (3, 1, 2, None)
