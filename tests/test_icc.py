"""edge/icc.py: profiles made from colour code points, checked through LittleCMS against the
published colorants and conversion matrices, and the curves' own formulas."""

import datetime
import hashlib
import io

import pytest
from PIL import Image, ImageCms

from edge import icc
from imaging import DISPLAY_P3, LINEAR_SRGB_TO_XYZ_D50, icc_profile_cmyk, icc_profile_gray, icc_profile_of_matrices

SRGB = ImageCms.createProfile("sRGB")
STATED = [(primaries, transfer) for primaries in icc.PRIMARIES for transfer in icc.TRANSFERS
          if (primaries, transfer) != (1, 13)]


def opened(profile: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(profile))


def to_srgb(profile: bytes, colours: list, mode: str = "RGB") -> list[tuple[int, int, int]]:
    """Colours (levels, for a grey profile's mode L) converted through `profile` to sRGB."""
    image = Image.new(mode, (len(colours), 1))
    image.putdata(colours)
    converted = ImageCms.profileToProfile(image, opened(profile), SRGB, outputMode="RGB")
    return [converted.getpixel((x, 0)) for x in range(converted.width)]


def srgb_decoded(level: int) -> float:
    value = level / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def srgb_encoded(light: float) -> int:
    light = min(max(light, 0.0), 1.0)
    value = 12.92 * light if light <= 0.0031308 else 1.055 * light ** (1 / 2.4) - 0.055
    return round(255 * value)


def camera_curve_decoded(level: int, alpha: float, linear_from: float, slope: float) -> float:
    """A camera curve, V = alpha L^0.45 - (alpha - 1) (slope L near black), solved for L."""
    value = level / 255
    if value < slope * linear_from:
        return value / slope
    return ((value + alpha - 1) / alpha) ** (1 / 0.45)


# H.273's transfer characteristics by a camera curve that a profile states: SMPTE 240M's (the BT.709 family's
# Chromium 156 reads as no camera curve: edge/image/colour.py).
CAMERA_CURVES = {7: (1.1115, 0.0228, 4.0)}


@pytest.mark.parametrize(("primaries", "transfer"), [(1, 13), (2, 2), (1, 2), (2, 13)])
def test_codes_that_mean_srgb_make_no_profile(primaries, transfer):
    assert icc.profile(primaries, transfer) is None


@pytest.mark.parametrize(
    ("primaries", "transfer"),
    [(10, 17), (9, 9), (0, 13), (3, 13), (12, 3), (12, 0), (12, 11), (255, 255)],
    ids=["XYZ", "log curve", "reserved primaries", "reserved primaries 3", "reserved transfer", "transfer 0",
         "xvYCC", "beyond"],
)
def test_codes_no_matrix_and_curve_can_state_make_no_profile(primaries, transfer):
    assert icc.profile(primaries, transfer) is None


@pytest.mark.parametrize(("primaries", "transfer"), STATED)
def test_every_stated_profile_is_a_v4_rgb_display_profile_littlecms_reads(primaries, transfer):
    profile = opened(icc.profile(primaries, transfer)).profile
    assert profile.version == 4.3
    assert (profile.device_class, profile.xcolor_space, profile.connection_space) == ("mntr", "RGB ", "XYZ ")
    assert profile.media_white_point[0] == pytest.approx((0.9642, 1.0, 0.8249), abs=1 / 65536)


def test_its_description_names_the_primaries_and_the_curve():
    assert opened(icc.profile(12, 13)).profile.profile_description == "Display P3, sRGB curve"
    assert opened(icc.profile(9, 8)).profile.profile_description == "BT.2020, linear"
    assert opened(icc.profile(9, 16)).profile.profile_description == "BT.2020, PQ shown as SDR"


def colorants(profile: bytes) -> list[tuple[float, float, float]]:
    read = opened(profile).profile
    return [colorant[0] for colorant in (read.red_colorant, read.green_colorant, read.blue_colorant)]


def test_display_p3_has_apples_colorants():
    assert colorants(icc.profile(12, 13)) == [
        pytest.approx(colorant, abs=5e-5) for colorant in colorants(DISPLAY_P3)]


def test_bt709_primaries_have_srgbs_colorants():
    """The same primaries and white as sRGB: the colorants differ only by how D65 is rounded (sRGB's
    profiles take its XYZ, H.273 its chromaticity), under a ten-thousandth of a level's worth."""
    assert colorants(icc.profile(1, 8)) == [
        pytest.approx(column, abs=3e-4) for column in zip(*LINEAR_SRGB_TO_XYZ_D50)]


D65 = (0.3127, 0.3290)
# H.273's colour primaries: red, green, blue, white (x, y).
H273_PRIMARIES = {
    1: ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), D65),
    4: ((0.67, 0.33), (0.21, 0.71), (0.14, 0.08), (0.310, 0.316)),
    5: ((0.64, 0.33), (0.29, 0.60), (0.15, 0.06), D65),
    6: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),
    7: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),
    8: ((0.681, 0.319), (0.243, 0.692), (0.145, 0.049), (0.310, 0.316)),
    9: ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65),
    11: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.314, 0.351)),
    12: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), D65),
    22: ((0.630, 0.340), (0.295, 0.605), (0.155, 0.077), D65),
}


def solved(matrix, vector) -> tuple[float, float, float]:
    """x such that matrix x = vector, by Cramer's rule."""
    def determinant(m):
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    with_column = [[[vector[row] if column == replaced else matrix[row][column] for column in range(3)]
                    for row in range(3)] for replaced in range(3)]
    return tuple(determinant(m) / determinant(matrix) for m in with_column)


def chromaticity(colour) -> tuple[float, float]:
    return colour[0] / sum(colour), colour[1] / sum(colour)


@pytest.mark.parametrize("primaries", H273_PRIMARIES)
def test_the_colorants_undone_by_the_adaptation_are_h273s_primaries_and_white(primaries):
    """ICC colorants are the primaries seen under D50; the chad tag's inverse takes them back."""
    profile = opened(icc.profile(primaries, 8)).profile
    adaptation = profile.chromatic_adaptation[0]
    found = [chromaticity(solved(adaptation, colorant)) for colorant in colorants(icc.profile(primaries, 8))]
    found.append(chromaticity(solved(adaptation, profile.media_white_point[0])))
    assert found == [pytest.approx(xy, abs=2e-4) for xy in H273_PRIMARIES[primaries]]


@pytest.mark.parametrize(("primaries", "transfer"), STATED)
def test_white_and_greys_stay_neutral(primaries, transfer):
    """Whatever the source's white (D65, illuminant C, DCI's), the eye adapts to it: its white is sRGB's."""
    greys = [(level,) * 3 for level in (0, 64, 128, 192, 255)]
    converted = to_srgb(icc.profile(primaries, transfer), greys)
    assert converted[0] == (0, 0, 0) and converted[-1] == (255, 255, 255)
    assert all(max(colour) - min(colour) <= 1 for colour in converted)


# The published conversions from linear Display P3 and BT.2020 (ITU-R BT.2087) to linear sRGB (all D65).
TO_SRGB = {
    12: ((1.2249401, -0.2249404, 0.0), (-0.0420569, 1.0420571, 0.0), (-0.0196376, -0.0786361, 1.0982735)),
    9: ((1.6605, -0.5876, -0.0728), (-0.1246, 1.1329, -0.0083), (-0.0182, -0.1006, 1.1187)),
}


@pytest.mark.parametrize("colour", [(200, 120, 80), (30, 160, 90), (90, 60, 220), (255, 0, 0), (128, 128, 128)])
@pytest.mark.parametrize("primaries", TO_SRGB)
def test_wide_gamut_numbers_become_the_srgb_numbers_of_the_same_colour(primaries, colour):
    """By the sRGB curve both ways; out of sRGB's gamut, clipped."""
    light = [srgb_decoded(level) for level in colour]
    expected = tuple(srgb_encoded(sum(weight * value for weight, value in zip(row, light)))
                     for row in TO_SRGB[primaries])
    (converted,) = to_srgb(icc.profile(primaries, 13), [colour])
    assert max(abs(got - want) for got, want in zip(converted, expected)) <= 1, (converted, expected)


@pytest.mark.parametrize("transfer", CAMERA_CURVES)
def test_a_camera_curve_decodes_as_its_inverse(transfer):
    levels = list(range(0, 256, 5))
    converted = to_srgb(icc.profile(1, transfer), [(level,) * 3 for level in levels])
    expected = [srgb_encoded(camera_curve_decoded(level, *CAMERA_CURVES[transfer])) for level in levels]
    assert max(abs(got[0] - want) for got, want in zip(converted, expected)) <= 1
    assert sum(got[0] != level for got, level in zip(converted, levels)) > 30  # not sRGB's own curve


@pytest.mark.parametrize(("transfer", "gamma"), [(4, 2.2), (5, 2.8), (8, 1.0)])
def test_a_pure_power_curve_decodes_as_its_power(transfer, gamma):
    levels = list(range(0, 256, 5))
    converted = to_srgb(icc.profile(1, transfer), [(level,) * 3 for level in levels])
    expected = [srgb_encoded((level / 255) ** gamma) for level in levels]
    assert max(abs(got[0] - want) for got, want in zip(converted, expected)) <= 1


def every_profile() -> list[bytes]:
    """Every profile the codes stated make: RGB and grey, HDR's SDR renderings included."""
    return [icc.profile(*codes) for codes in STATED] + [
        icc.grey_profile(transfer) for transfer in icc.TRANSFERS if transfer != 13]


@pytest.mark.parametrize("profile", every_profile())
def test_the_profile_id_is_the_md5_icc_defines(profile):
    """ICC.1 7.2.18: the MD5 of the whole profile with its flags, rendering intent and ID zeroed."""
    zeroed = bytearray(profile)
    zeroed[44:48] = zeroed[64:68] = bytes(4)
    zeroed[84:100] = bytes(16)
    assert profile[84:100] == hashlib.md5(zeroed).digest()
    assert opened(profile).profile.profile_id == profile[84:100]


def tag_table(profile: bytes) -> dict[bytes, tuple[int, int]]:
    """Each tag's signature: its offset and size."""
    entries = (profile[at:at + 12] for at in range(132, 132 + 12 * int.from_bytes(profile[128:132]), 12))
    return {entry[:4]: (int.from_bytes(entry[4:8]), int.from_bytes(entry[8:12])) for entry in entries}


@pytest.mark.parametrize("profile", every_profile())
def test_the_stated_size_and_every_tag_lie_within_the_profile_each_4_byte_aligned(profile):
    assert int.from_bytes(profile[:4]) == len(profile) and len(profile) % 4 == 0
    for offset, size in tag_table(profile).values():
        assert offset % 4 == 0 and offset + size <= len(profile)


def test_it_has_the_tags_icc_requires_of_an_rgb_matrix_display_profile_and_its_curve_once():
    """ICC.1:2022 8.2 and 8.3.4 (chad, as its white is not D50's)."""
    table = tag_table(icc.profile(12, 13))
    assert set(table) == {b"desc", b"cprt", b"wtpt", b"chad", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC"}
    assert table[b"rTRC"] == table[b"gTRC"] == table[b"bTRC"]


@pytest.mark.parametrize(("primaries", "transfer", "known"), [
    (1, 13, True), (12, 16, True), (9, 18, True), (22, 8, True), (9, 1, True), (12, 15, True),  # BT709_FAMILY
    (2, 13, False), (1, 2, False),  # unspecified
    (3, 13, False), (1, 3, False), (0, 13, False), (1, 17, False),  # reserved, or not stated here
])
def test_codes_are_known_where_both_say_what_they_mean_here(primaries, transfer, known):
    assert icc.known(primaries, transfer) is known


@pytest.mark.parametrize(("unspecified", "specified"), [((12, 2), (12, 13)), ((2, 8), (1, 8)), ((2, 4), (1, 4))])
def test_an_unspecified_code_is_taken_as_srgbs(unspecified, specified):
    assert icc.profile(*unspecified) == icc.profile(*specified) is not None


@pytest.mark.parametrize("transfer", [13, 2, 17, 0, 255])
def test_a_grey_profile_is_made_for_no_srgb_and_no_unstated_curve(transfer):
    assert icc.grey_profile(transfer) is None


@pytest.mark.parametrize("transfer", [transfer for transfer in icc.TRANSFERS if transfer != 13])
def test_every_grey_profile_is_a_v4_grey_display_profile_with_the_tags_icc_requires(transfer):
    profile = icc.grey_profile(transfer)
    read = opened(profile).profile
    assert (read.version, read.device_class, read.xcolor_space, read.connection_space) == (
        4.3, "mntr", "GRAY", "XYZ ")
    assert set(tag_table(profile)) == {b"desc", b"cprt", b"wtpt", b"kTRC"}  # ICC.1:2022 8.2 and 8.3.3
    assert read.profile_description == f"Grey, {icc.TRANSFERS[transfer][0]}"


def decoded_by_para(tag: bytes, value: float) -> float:
    """ICC's parametric curve, read from its tag: function 0, Y = X^g; function 3, Y = (aX + b)^g from
    X = d, else Y = cX."""
    assert tag[:4] == b"para"
    params = [int.from_bytes(tag[at:at + 4], signed=True) / 65536 for at in range(12, len(tag), 4)]
    if int.from_bytes(tag[8:10]) == 0:
        return value ** params[0]
    g, a, b, c, d = params
    return (a * value + b) ** g if value >= d else c * value


@pytest.mark.parametrize("transfer", [*CAMERA_CURVES, 4, 5, 8])
def test_a_grey_profile_decodes_as_its_curve(transfer):
    """Read from the profile itself: LittleCMS's 8-bit grey transforms are coarse near black (linear 5
    comes out 31 against 38)."""
    profile = icc.grey_profile(transfer)
    offset, size = tag_table(profile)[b"kTRC"]
    tag = profile[offset:offset + size]
    for level in range(256):
        if transfer in CAMERA_CURVES:
            expected = camera_curve_decoded(level, *CAMERA_CURVES[transfer])
        else:
            expected = (level / 255) ** {4: 2.2, 5: 2.8, 8: 1.0}[transfer]
        assert decoded_by_para(tag, level / 255) == pytest.approx(expected, abs=1e-4)
    assert to_srgb(profile, [128], "L") == [(srgb_encoded(decoded_by_para(tag, 128 / 255)),) * 3]


def test_the_srgb_curve_decodes_as_srgbs_own_on_other_primaries():
    """Near black too, where LittleCMS's 8-bit transforms are too coarse to tell its straight part."""
    profile = icc.profile(12, 13)
    offset, size = tag_table(profile)[b"rTRC"]
    assert [decoded_by_para(profile[offset:offset + size], level / 255) for level in range(256)] == [
        pytest.approx(srgb_decoded(level), abs=1e-4) for level in range(256)]


# ITU-R BT.2408's anchors: HDR reference white, 203 nits, is PQ signal 58% and HLG 75% (on a 1000-nit
# display); ST 2084's peak is 10000 nits.
@pytest.mark.parametrize(("nits", "signal"), [(0, 0.0), (100, 0.5081), (203, 0.5807), (1000, 0.7518), (10000, 1.0)])
def test_pq_is_st_2084s_curve(nits, signal):
    assert icc.pq_signal(nits) == pytest.approx(signal, abs=1e-4)
    assert icc.pq_nits(signal) == pytest.approx(nits, rel=5e-4, abs=1e-9)


# Above half, by colour-science 0.4.7's BT.2100 HLG EOTF (1000 nits, grey, where its luminance weighting and
# a curve's channel by channel agree): independent of this code.
@pytest.mark.parametrize(("signal", "nits"), [
    (0.0, 0.0), (0.25, 1000 * (0.25**2 / 3) ** 1.2), (0.45, 1000 * (0.45**2 / 3) ** 1.2), (0.5, 1000 * (1 / 12) ** 1.2),
    (0.6, 84.8470357), (0.75, 203.1521459), (0.9, 522.1101447), (1.0, 1000)])
def test_hlg_is_bt_2100s_curve_on_a_1000_nit_display(signal, nits):
    """Below half, scene light is signal^2 / 3; the system gamma at 1000 nits is 1.2. Reference white, 75%,
    is BT.2408's 203 nits."""
    assert icc.hlg_nits(signal) == pytest.approx(nits, rel=1e-6, abs=1e-9)


KNEE_NITS = 87.8  # BT.2390's knee, 1.5 x 203 nits' PQ signal - 0.5 times 1000 nits', in nits


def test_the_roll_off_keeps_light_below_its_knee_and_brings_1000_nits_to_203():
    for nits in (0.0, 0.1, 1.0, 10.0, 50.0, KNEE_NITS):
        assert icc.rolled_off(nits) == pytest.approx(nits, rel=1e-9, abs=1e-12)
    assert icc.rolled_off(1000.0) == pytest.approx(203.0, rel=1e-9)
    assert icc.rolled_off(4000.0) == icc.rolled_off(1000.0)


# By a separate, literal transcription of BT.2390's EETF (1000 to 203 nits, black at 0), checked against
# colour-science's ST 2084: independent of this code.
@pytest.mark.parametrize(("nits", "rolled"), [
    (100, 99.3611), (150, 135.2356), (203, 159.0419), (300, 182.4905), (500, 198.8560), (750, 202.6984)])
def test_the_roll_off_is_bt_2390s_spline(nits, rolled):
    assert icc.rolled_off(nits) == pytest.approx(rolled, rel=1e-6)


def test_the_roll_off_is_smooth_and_rises_to_its_peak():
    signals = [index / 4000 * icc.pq_signal(icc.HDR_PEAK_NITS) for index in range(4001)]
    rolled = [icc.rolled_off(icc.pq_nits(signal)) for signal in signals]
    assert all(later > earlier for earlier, later in zip(rolled, rolled[1:]))
    steps = [later - earlier for earlier, later in zip(rolled, rolled[1:])]
    assert max(abs(later - earlier) for earlier, later in zip(steps, steps[1:])) < 0.01  # no corner
    above_knee = [(nits, icc.pq_nits(signal)) for nits, signal in zip(rolled, signals) if nits > KNEE_NITS + 1]
    assert all(nits < source for nits, source in above_knee)


def decoded_by_curv(tag: bytes, level: int) -> float:
    """ICC's sampled curve, read from its tag at an 8-bit level (a point, as it has 256)."""
    assert tag[:4] == b"curv" and int.from_bytes(tag[8:12]) == 256
    return int.from_bytes(tag[12 + 2 * level:14 + 2 * level]) / 65535


# The same independent computation, at 8-bit levels, in 16-bit fractions of the SDR white.
SDR_RENDERING_POINTS = {
    16: {38: 317, 100: 9608, 148: 51278, 170: 63604, 191: 65535, 230: 65535, 254: 65535},
    18: {38: 896, 100: 9136, 148: 24635, 170: 38208, 191: 51223, 230: 64492, 254: 65535},
}


@pytest.mark.parametrize("transfer", [16, 18], ids=["PQ", "HLG"])
def test_an_hdr_curve_is_sampled_as_its_sdr_rendering(transfer):
    for profile, signature in ((icc.profile(9, transfer), b"rTRC"), (icc.grey_profile(transfer), b"kTRC")):
        offset, size = tag_table(profile)[signature]
        tag = profile[offset:offset + size]
        assert {level: round(decoded_by_curv(tag, level) * 65535) for level in SDR_RENDERING_POINTS[transfer]} == (
            SDR_RENDERING_POINTS[transfer])
        points = [decoded_by_curv(tag, level) for level in range(256)]
        assert points[0] == 0 and points[255] == 1 and points == sorted(points)


REFERENCE_WHITE_IN_SRGB = 229  # 203 nits rolled off to 159: 0.78 of the SDR white


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_hdr_reference_white_and_peak_in_srgb(mode):
    """Through LittleCMS: PQ's 203 and HLG's 75% meet at the same grey; what reaches the assumed peak is
    white; below the knee light stays as it was, 203 nits being white."""
    pq_white, hlg_white = round(0.5807 * 255), round(0.75 * 255)
    pq_50_nits, pq_peak = round(icc.pq_signal(50) * 255), round(icc.pq_signal(1000) * 255)
    expected = [
        REFERENCE_WHITE_IN_SRGB, srgb_encoded(icc.pq_nits(pq_50_nits / 255) / 203), 255, 255, 0]
    for transfer, levels in ((16, [pq_white, pq_50_nits, pq_peak, 255, 0]), (18, [hlg_white])):
        profile = icc.profile(1, transfer) if mode == "RGB" else icc.grey_profile(transfer)
        colours = levels if mode == "L" else [(level,) * 3 for level in levels]
        assert to_srgb(profile, colours, mode) == [
            pytest.approx((value,) * 3, abs=1) for value in expected[:len(levels)]]


def test_the_header_is_icc_v4_3_display_profiles_with_d50_as_its_illuminant_and_zeros_elsewhere():
    """Byte by byte (ICC.1:2022 7.2): what LittleCMS reads passes over the CMM, platform and creator fields."""
    profile = icc.grey_profile(8)
    d50 = b"".join(round(value * 65536).to_bytes(4) for value in (0.9642, 1.0, 0.8249))
    assert profile[4:84] == (bytes(4) + bytes((4, 0x30, 0, 0)) + b"mntr" + b"GRAY" + b"XYZ " + profile[24:36]
                             + b"acsp" + bytes(28) + d50 + bytes(4))
    assert profile[100:128] == bytes(28)


def test_a_profile_is_dated_when_this_code_was_written_not_when_it_ran():
    """So that a render's bytes, its profile's ID among them, are the same whenever it runs."""
    for profile in (icc.profile(12, 13), icc.grey_profile(8), icc.power_curve_profile(2.2, None, grey=False)):
        assert opened(profile).profile.creation_date == datetime.datetime(2026, 11, 29, 0, 0, 0)


def test_codes_no_profile_states_add_nothing_to_the_cache():
    """A file's made-up codes cannot grow what a warm container keeps."""
    def cached() -> int:
        return sum(function.cache_info().currsize for function in vars(icc).values() if hasattr(function, "cache_info"))

    icc.profile(12, 13), icc.grey_profile(8)
    before = cached()
    for code in range(256):
        if code not in icc.PRIMARIES:
            icc.profile(code, 13)
        if code not in icc.TRANSFERS:
            icc.profile(12, code), icc.grey_profile(code)
    assert before >= 2 and cached() == before
    for brightest in range(1, 65536, 7):  # a clli box's 16 bits: at most 100 peaks for each PQ profile
        icc.profile(9, 16, brightest), icc.grey_profile(16, brightest)
        icc.profile(12, 13, brightest), icc.profile(9, 18, brightest)
    assert cached() - before <= 2 * 100 + 2  # and HLG's and P3's own, without a peak


def test_the_roll_off_from_a_brighter_peak_starts_lower_and_ends_there():
    """From 4000 nits, BT.2390's knee is at 40 nits, and 1000 nits are no longer white."""
    for nits in (1.0, 10.0, 40.0):
        assert icc.rolled_off(nits, 4000.0) == pytest.approx(nits, rel=1e-9)
    assert icc.rolled_off(4000.0, 4000.0) == pytest.approx(203.0, rel=1e-9)
    assert 150 < icc.rolled_off(1000.0, 4000.0) < 200 and icc.rolled_off(60.0, 4000.0) < 60.0


def test_a_peak_no_brighter_than_reference_white_keeps_light_as_it_is_up_to_it():
    assert [icc.rolled_off(nits, 150.0) for nits in (10.0, 100.0, 150.0, 1000.0)] == pytest.approx(
        [10.0, 100.0, 150.0, 150.0], rel=1e-9)


@pytest.mark.parametrize(("brightest", "same_as", "unlike"), [
    (None, 1000, 900), (951, 1000, 900), (3901, 4000, 3900), (10000, 10000, 9900), (1, 100, 1000),
    (10001, 1000, 10000), (65535, 1000, 10000), (0, 1000, 100), (-5, 1000, 100)])
def test_a_pq_profile_rolls_off_from_the_brightest_pixel_in_steps_of_100_nits_up_to_pqs_peak(
        brightest, same_as, unlike):
    """Past PQ's 10000 nits, or at 0 or less, a brightest pixel says nothing true: 1000 nits, as for none."""
    assert icc.profile(9, 16, brightest) == icc.profile(9, 16, same_as) != icc.profile(9, 16, unlike)
    assert icc.grey_profile(16, brightest) == icc.grey_profile(16, same_as) != icc.grey_profile(16, unlike)


def test_only_pq_has_a_peak():
    assert icc.profile(9, 16, 4000) != icc.profile(9, 16) and icc.grey_profile(16, 4000) != icc.grey_profile(16)
    assert icc.profile(9, 18, 4000) == icc.profile(9, 18)  # HLG's peak is its display's
    assert icc.profile(12, 13, 4000) == icc.profile(12, 13) and icc.profile(1, 13, 4000) is None


def test_a_4000_nit_pq_picture_in_srgb():
    """1000 nits fall below white, 4000 reach it; under 40 nits light is kept."""
    levels = [round(icc.pq_signal(nits) * 255) for nits in (1000, 4000, 20)]
    converted = to_srgb(icc.profile(1, 16, 4000), [(level,) * 3 for level in levels])
    expected_dark = srgb_encoded(icc.pq_nits(levels[2] / 255) / 203)
    assert converted[0][0] <= 251 and converted[1] == (255,) * 3
    assert converted[2] == pytest.approx((expected_dark,) * 3, abs=1)


@pytest.mark.parametrize(("elements", "most"), [((1,), 1), ((33,), 33), ((10_000,), 10_000), ((7, 3), 7), ((3, 7), 7)])
def test_the_processing_elements_littlecms_builds_through_are_counted(elements, most):
    assert icc.processing_elements(icc_profile_of_matrices(*elements)) == most


@pytest.mark.parametrize("profile", [DISPLAY_P3, icc.profile(12, 13), icc_profile_of_matrices(5)[:170], b""],
                         ids=["matrix-and-curves", "made-here", "cut-in-its-tag-table", "empty"])
def test_a_profile_without_them_has_none(profile):
    assert icc.processing_elements(profile) == 0


def d2b0_offset(profile: bytes) -> int:
    """Where the D2B0 tag's data starts: it is the fourth tag. Its count of elements is its 13th to 16th bytes."""
    return int.from_bytes(profile[132 + 3 * 12 + 4:132 + 3 * 12 + 8])


@pytest.mark.parametrize(("matrices", "kept", "elements"), [(7, 16, 7), (7, 15, 0), (10_000, 15, 0)])
def test_processing_elements_are_counted_once_their_count_is_whole(matrices, kept, elements):
    """10,000 (0x2710) cut a byte short would still read as 0x27 were a part counted."""
    profile = icc_profile_of_matrices(matrices)
    assert icc.processing_elements(profile[:d2b0_offset(profile) + kept]) == elements


def test_a_count_of_processing_elements_is_read_from_all_four_of_its_bytes():
    profile = icc_profile_of_matrices(1)
    assert icc.processing_elements(with_header_field(profile, d2b0_offset(profile) + 12, (2**24).to_bytes(4))) == 2**24


@pytest.mark.parametrize(("tags_read", "elements"), [(3, 0), (4, 7)])
def test_only_the_tags_littlecms_reads_are_counted(monkeypatch, tags_read, elements):
    """The D2B0 tag is the fourth, after desc, wtpt and cprt: LittleCMS refuses a profile of more tags than it reads."""
    monkeypatch.setattr(icc, "MOST_PROFILE_TAGS", tags_read)
    assert icc.processing_elements(icc_profile_of_matrices(7)) == elements


# --- a pure power curve on a file's primaries (a PNG's gAMA and cHRM) ----------

@pytest.mark.parametrize("gamma", [1.0, 1.8, 2.2])
def test_a_power_curve_profile_decodes_by_its_power_on_srgbs_primaries(gamma):
    levels = list(range(0, 256, 5))
    converted = to_srgb(icc.power_curve_profile(gamma, None, grey=False), [(level,) * 3 for level in levels])
    expected = [srgb_encoded((level / 255) ** gamma) for level in levels]
    assert max(abs(got[0] - want) for got, want in zip(converted, expected)) <= 1


def test_a_power_curve_profile_on_srgbs_primaries_keeps_a_colour_where_the_curve_is_srgbs_nearly():
    """Gamma 2.2 on sRGB's primaries and white: only the curve differs from sRGB's, most in the darks."""
    profile = icc.power_curve_profile(2.2, ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290)), grey=False)
    assert to_srgb(profile, [(255, 0, 0), (200, 100, 50)]) == [(255, 0, 0), (201, 100, 46)]  # Chromium 156's too


def test_a_grey_power_curve_profile_is_grey():
    profile = icc.power_curve_profile(1.0, None, grey=True)
    assert ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.xcolor_space == "GRAY"


# A gAMA of 2.2 says what H.273's transfer 4 does: on the same primaries, the same colorants.
@pytest.mark.parametrize(("primaries", "described", "codes"), [
    (None, "sRGB primaries, gamma 2.2", (1, 4)),
    (H273_PRIMARIES[12], "primaries of the file, gamma 2.2", (12, 4)),
], ids=["none-stated", "display-p3"])
def test_a_power_curve_profile_has_its_primaries_colorants_and_says_whose(primaries, described, codes):
    profile = icc.power_curve_profile(2.2, primaries, grey=False)
    assert opened(profile).profile.profile_description == described
    assert colorants(profile) == colorants(icc.profile(*codes))


def test_a_gamma_past_what_icc_numbers_hold_is_stated_as_the_most_they_hold():
    """s15Fixed16Number's most, 32767.99998: a power past it darkens every level but white to black alike."""
    profile = icc.power_curve_profile(40_000.0, None, grey=True)
    offset, size = tag_table(profile)[b"kTRC"]
    assert profile[offset:offset + size] == b"para" + bytes(4) + bytes(4) + (2**31 - 1).to_bytes(4)  # function 0


# As libpng refuses them, and Chromium 156 with it (a helper's measure), or as Chromium shows them wrong
# (tests/test_colour.py), for a grey picture too.
@pytest.mark.parametrize("primaries", [
    ((0.64, 0.33), (0.64, 0.33), (0.15, 0.06), (0.3127, 0.3290)),  # red and green alike
    ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.0)),  # a white of y 0
    ((1.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290)),  # an x over 1
    ((-0.01, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290)),  # an x under 0
    ((0.64, 0.33), (0.30, 0.60), (0.47, 0.46501), (0.3127, 0.3290)),  # nearly on one line: colorants past ICC's numbers
    ((0.81852, 0.36223), (0.31579, 0.48122), (0.057, 0.9751), (0.58614, 0.4088)),  # a white of a cone's near-zero
], ids=["two-alike", "white-of-y-0", "x-over-1", "x-under-0", "nearly-on-one-line", "adaptation-past-icc"])
@pytest.mark.parametrize("grey", [False, True])
def test_primaries_libpng_refuses_make_no_profile(primaries, grey):
    assert icc.power_curve_profile(2.2, primaries, grey=grey) is None


# Chromium 156 takes them as they are (tests/test_colour.py holds what it shows).
@pytest.mark.parametrize("primaries", [
    ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.90, 0.05)),  # a white outside them
    ((0.64, 0.33), (0.30, 0.60), (0.15, 0.0), (0.3127, 0.3290)),  # a blue of y 0
], ids=["white-outside", "blue-of-y-0"])
def test_primaries_only_odd_make_a_profile_littlecms_reads(primaries):
    profile = icc.power_curve_profile(2.2, primaries, grey=False)
    assert to_srgb(profile, [(255, 255, 255)]) == [(255, 255, 255)]


# --- what browsers use of an embedded profile ---------------------------------------

def with_header_field(profile: bytes, at: int, value: bytes) -> bytes:
    return profile[:at] + value + profile[at + len(value):]


def renamed_tags(profile: bytes, old: bytes, new: bytes) -> bytes:
    """The profile with a tag's signature changed in its tag table."""
    count = int.from_bytes(profile[128:132])
    table = profile[132:132 + 12 * count].replace(old, new)
    return profile[:132] + table + profile[132 + 12 * count:]


def retyped_tags(profile: bytes, old: bytes, new: bytes) -> bytes:
    """The profile with every tag of one type given another, after the tag table."""
    count = int.from_bytes(profile[128:132])
    return profile[:132 + 12 * count] + profile[132 + 12 * count:].replace(old, new)


CMYK_TABLE = icc_profile_cmyk("cmyk", lambda *inks: (0.5, 0.5, 0.5))  # an A2B0 of type mft2


def ending_at_its_tag_table(profile: bytes, stated_short: int = 0) -> bytes:
    """The profile's header and two tags, A2B0 first, their type read from the header's CMM field: nothing
    follows the tag table, as nothing need, a tag being held only to end within the profile's stated size."""
    size = 128 + 4 + 2 * 12 - stated_short
    header = with_header_field(with_header_field(profile[:128], 0, size.to_bytes(4)), 4, b"mft2")
    entry = (4).to_bytes(4) + (4).to_bytes(4)
    return header + (2).to_bytes(4) + b"A2B0" + entry + b"cprt" + entry


def padded_after_its_tag_table(profile: bytes, padding: bytes) -> bytes:
    """The profile with `padding` between its tag table and the tags' data, each offset and its size moved on."""
    count = int.from_bytes(profile[128:132])
    end = 132 + 12 * count
    table = b"".join(entry[:4] + (int.from_bytes(entry[4:8]) + len(padding)).to_bytes(4) + entry[8:]
                     for entry in (profile[at:at + 12] for at in range(132, end, 12)))
    header = with_header_field(profile[:128], 0, (len(profile) + len(padding)).to_bytes(4))
    return header + profile[128:132] + table + padding + profile[end:]


# Read as a 13th entry, this padding would hold a tag past the profile's end.
GREY_OF_12_TAGS_PADDED = padded_after_its_tag_table(
    icc_profile_gray("grey", private_tags=8), b"pad " + bytes(4) + (2**31).to_bytes(4))


# As skcms reads them in Chromium 156 (a helper's measure): each ignored but the first.
@pytest.mark.parametrize(("profile", "space", "usable"), [
    (DISPLAY_P3, icc.RGB, True),
    (DISPLAY_P3, icc.GREY, True),  # an RGB profile on grey pixels is applied to them
    (DISPLAY_P3, icc.CMYK, False),
    (icc_profile_gray("grey"), icc.RGB, False),
    (DISPLAY_P3[:200], icc.RGB, False),  # cut short
    (b"garbage" * 40, icc.RGB, False),
    (with_header_field(DISPLAY_P3, 36, b"xxxx"), icc.RGB, False),  # no acsp
    (with_header_field(DISPLAY_P3, 8, b"\x05"), icc.RGB, False),  # version 5
    (with_header_field(DISPLAY_P3, 0, (len(DISPLAY_P3) + 1).to_bytes(4)), icc.RGB, False),  # larger than its bytes
    (with_header_field(DISPLAY_P3, 132 + 4, (len(DISPLAY_P3)).to_bytes(4)), icc.RGB, False),  # a tag past the end
    (renamed_tags(DISPLAY_P3, b"rTRC", b"xTRC"), icc.RGB, False),  # no red curve
    (renamed_tags(DISPLAY_P3, b"gXYZ", b"xXYZ"), icc.RGB, False),  # no green colorant
    (with_header_field(DISPLAY_P3, 20, b"RGB "), icc.RGB, False),  # a connection space of RGB
    (with_header_field(DISPLAY_P3, 20, b"Lab "), icc.RGB, False),  # Lab, but no table to reach it
    (retyped_tags(DISPLAY_P3, b"curv", b"text"), icc.RGB, False),  # curves of text
    (renamed_tags(icc_profile_gray("grey"), b"kTRC", b"xTRC"), icc.GREY, False),
    (CMYK_TABLE, icc.CMYK, True),  # a table
    (with_header_field(CMYK_TABLE, 20, b"Lab "), icc.CMYK, True),
    (retyped_tags(CMYK_TABLE, b"mft2", b"mft1"), icc.CMYK, True),  # ICC's other two table types
    (retyped_tags(CMYK_TABLE, b"mft2", b"mAB "), icc.CMYK, True),
    (with_header_field(icc_profile_gray("grey"), 16, b"CMYK"), icc.CMYK, False),  # a grey curve is no way from CMYK
    (ending_at_its_tag_table(CMYK_TABLE), icc.CMYK, True),
    (ending_at_its_tag_table(CMYK_TABLE, stated_short=1), icc.CMYK, False),  # its size cuts into its tag table
    (CMYK_TABLE, icc.GREY, False),  # only an RGB profile is applied to grey pixels
    (with_header_field(DISPLAY_P3, 128, (101).to_bytes(4)), icc.RGB, False),  # more tags than LittleCMS reads
    (icc_profile_gray("grey", private_tags=96), icc.GREY, True),  # desc, wtpt, cprt and kTRC first
    (icc_profile_gray("grey", private_tags=97), icc.GREY, False),
    (GREY_OF_12_TAGS_PADDED, icc.GREY, True),  # only the entries its count states are read
], ids=["rgb", "rgb-on-grey", "rgb-on-cmyk", "grey-on-rgb", "cut-short", "garbage", "no-acsp", "version-5",
        "size-past-the-bytes", "tag-past-the-end", "no-red-curve", "no-green-colorant", "rgb-connection",
        "lab-without-a-table", "text-curves", "grey-without-its-curve", "cmyk-table", "cmyk-table-to-lab",
        "cmyk-8-bit-table", "cmyk-a-to-b-table", "cmyk-with-a-grey-curve", "ending-at-its-tag-table",
        "size-short-of-its-tag-table", "cmyk-on-grey",
        "101-tags", "100-tags-whole", "101-tags-whole", "padded-after-its-tag-table"])
def test_an_embedded_profile_is_used_where_browsers_use_it(profile, space, usable):
    assert icc.usable(profile, space) is usable


def test_every_profile_made_here_is_usable():
    power_curves = [icc.power_curve_profile(gamma, primaries, grey) for gamma in (0.5, 1.0, 2.2, 40_000.0)
                    for primaries in (None, ((0.68, 0.32), (0.265, 0.69), (0.15, 0.06), (0.3457, 0.3585)))
                    for grey in (False, True)]
    for profile in every_profile() + power_curves:
        assert icc.usable(profile, icc.data_colour_space(profile))


def test_a_profile_of_other_pixels_is_readable_yet_not_usable_on_these():
    """What skcms reads apart from the pixels it comes with: beside a PNG's gAMA, one it reads but cannot use
    stops Chromium 156 from applying the gAMA (edge/image/colour.py)."""
    grey = icc.grey_profile(8)
    assert icc.readable(grey) and icc.usable(grey, icc.GREY) and not icc.usable(grey, icc.RGB)
    version_5 = grey[:8] + bytes([5]) + grey[9:]
    assert not icc.readable(version_5) and not icc.readable(grey[:100])
