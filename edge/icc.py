"""An ICC profile made from colour code points (ITU-T H.273), for a source that gives its colour so.

An AVIF or a PNG may say what its numbers mean by code points (an AVIF's `nclx` colour box, a PNG's
cICP chunk): Display P3 is primaries 12 with transfer 13. Pillow neither reports nor applies them, so
P3 numbers would pass as sRGB ones and look desaturated. The profile this module makes is what the rest
of the engine already handles: kept in JPEG, PNG and WebP output, the pixels converted through it for
GIF. (AVIF output states the codes themselves, edge/avif.py.)

It is an ICC v4 matrix/TRC display profile, as Apple's Display P3 is: the primaries adapted to the
profile connection space's D50 white by Bradford, and each transfer curve a parametric one. Codes
that mean sRGB, or that no such profile can state (log curves), make none.

HDR's curves, PQ and HLG, reach far above any white a display profile has. What a profile can state
is an SDR rendering, as a sampled curve: light brought down to a display whose white is HDR's
reference white (203 nits, ITU-R BT.2408), rolled off into it from HDR's peak by BT.2390's EETF:
a PQ picture's brightest pixel when it says (edge/avif.py), else 1000 nits, which leaves reference
white itself at 0.78 of the display's. Without it, an HDR AVIF's numbers pass as sRGB ones and look
washed out: PQ's 1 nit, level 38, shows as sRGB's 38, where its SDR rendering is 15.

A PNG may say what its numbers mean by a gAMA and a cHRM chunk instead: a pure power curve on its own
primaries, which makes a profile the same way (power_curve_profile).

An original's own profile is read here too: whether browsers would use it at all (usable), and what
would make LittleCMS slow: it builds a transform through every processing element of a
multiProcessElements tag, every segment of their curves (processing_elements).
"""

import hashlib
import math
import struct
from collections.abc import Callable
from functools import cache

Chromaticity = tuple[float, float]  # CIE 1931 x, y
Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

D65: Chromaticity = (0.3127, 0.3290)
ILLUMINANT_C: Chromaticity = (0.310, 0.316)
DCI_WHITE: Chromaticity = (0.314, 0.351)
# H.273's colour primaries: name, then red, green, blue and white.
PRIMARIES: dict[int, tuple[str, Chromaticity, Chromaticity, Chromaticity, Chromaticity]] = {
    1: ("BT.709", (0.640, 0.330), (0.300, 0.600), (0.150, 0.060), D65),
    4: ("BT.470 System M", (0.67, 0.33), (0.21, 0.71), (0.14, 0.08), ILLUMINANT_C),
    5: ("BT.470 System B, G", (0.64, 0.33), (0.29, 0.60), (0.15, 0.06), D65),
    6: ("SMPTE 170M", (0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),
    7: ("SMPTE 240M", (0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),
    8: ("Generic film", (0.681, 0.319), (0.243, 0.692), (0.145, 0.049), ILLUMINANT_C),
    9: ("BT.2020", (0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65),
    11: ("DCI-P3", (0.680, 0.320), (0.265, 0.690), (0.150, 0.060), DCI_WHITE),
    12: ("Display P3", (0.680, 0.320), (0.265, 0.690), (0.150, 0.060), D65),
    22: ("EBU Tech 3213-E", (0.630, 0.340), (0.295, 0.605), (0.155, 0.077), D65),
}
UNSPECIFIED = 2  # either code: browsers take it as sRGB's
SRGB_PRIMARIES, SRGB_TRANSFER = 1, 13
PQ, HLG = 16, 18
HDR_TRANSFERS = frozenset({PQ, HLG})
BT709_FAMILY = frozenset({1, 6, 14, 15})  # BT.709's, BT.601's and BT.2020's camera curves

# An SDR rendering of HDR: the display's white is HDR's reference white, 203 nits (BT.2408), and light
# from a knee up to HDR's peak rolls off below it. The peak is a PQ picture's brightest pixel when it
# says (in steps, so that few profiles are ever made), else 1000 nits: HLG's nominal peak, and a common
# PQ mastering one; brighter PQ light clips.
REFERENCE_WHITE_NITS = 203.0
HDR_PEAK_NITS = 1000.0
PQ_PEAK_NITS = 10000.0
PEAK_STEP_NITS = 100
# Pillow opens an AVIF as 8-bit samples: each decodes exactly at a point of the curve.
SAMPLED_CURVE_POINTS = 256


def _inverse_oetf(gamma: float, alpha: float, linear_from: float, slope: float) -> tuple[float, ...]:
    """A camera curve V = alpha * L^(1/gamma) - (alpha - 1), V = slope * L near black, turned round
    to decode V into light: ICC's parametric curve 3, Y = (aX + b)^g from X = d, else Y = cX."""
    return gamma, 1 / alpha, (alpha - 1) / alpha, 1 / slope, slope * linear_from


PQ_M1, PQ_M2, PQ_C1, PQ_C2, PQ_C3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32


def pq_nits(signal: float) -> float:
    """SMPTE ST 2084's EOTF: the light, in nits, a PQ signal in 0..1 stands for."""
    power = signal ** (1 / PQ_M2)
    return PQ_PEAK_NITS * (max(power - PQ_C1, 0.0) / (PQ_C2 - PQ_C3 * power)) ** (1 / PQ_M1)


def pq_signal(nits: float) -> float:
    """The PQ signal of a light in nits (ST 2084's inverse EOTF)."""
    power = (nits / PQ_PEAK_NITS) ** PQ_M1
    return ((PQ_C1 + PQ_C2 * power) / (1 + PQ_C3 * power)) ** PQ_M2


def hlg_nits(signal: float) -> float:
    """BT.2100's HLG signal shown on its nominal display: scene light (the inverse OETF) raised by the
    system gamma, 1.2 at a 1000-nit peak, channel by channel, as a curve must (BT.2100 weighs it by
    luminance). HLG's reference white, signal 0.75, comes out at 203 nits."""
    a, b, c = 0.17883277, 1 - 4 * 0.17883277, 0.5 - 0.17883277 * math.log(4 * 0.17883277)
    scene = signal * signal / 3 if signal <= 0.5 else (math.exp((signal - c) / a) + b) / 12
    return HDR_PEAK_NITS * scene ** 1.2


def rolled_off(nits: float, peak: float = HDR_PEAK_NITS) -> float:
    """BT.2390's EETF from an HDR peak down to REFERENCE_WHITE_NITS, black kept at 0: the identity up to
    a knee (88 nits from a 1000-nit peak), then a Hermite spline, in PQ signal, that reaches the new peak
    at the old one; only the identity from a peak no brighter than the new one. Light beyond the peak
    clips there."""
    source_peak = pq_signal(peak)
    new_peak = pq_signal(REFERENCE_WHITE_NITS) / source_peak
    knee = 1.5 * new_peak - 0.5
    signal = min(pq_signal(nits) / source_peak, 1.0)
    if signal > knee:
        t = (signal - knee) / (1 - knee)
        signal = ((2 * t**3 - 3 * t**2 + 1) * knee + (t**3 - 2 * t**2 + t) * (1 - knee)
                  + (-2 * t**3 + 3 * t**2) * new_peak)
    return pq_nits(signal * source_peak)


# H.273's transfer characteristics: name, then ICC parametric curve 0 (g) or 3 (g, a, b, c, d), or, for
# HDR, a function from signal to nits, whose SDR rendering is sampled.
# Not the BT.709 family (BT709_FAMILY), which Chromium 156 reads by no one curve: an AVIF's as sRGB's, a PNG's as
# a power of 2.4 (edge/image/colour.py), neither through its camera curve's inverse.
Curve = tuple[float, ...] | Callable[[float], float]
TRANSFERS: dict[int, tuple[str, Curve]] = {
    4: ("gamma 2.2", (2.2,)),
    5: ("gamma 2.8", (2.8,)),
    7: ("SMPTE 240M curve", _inverse_oetf(1 / 0.45, 1.1115, 0.0228, 4.0)),
    8: ("linear", (1.0,)),
    13: ("sRGB curve", (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)),
    PQ: ("PQ shown as SDR", pq_nits),
    HLG: ("HLG shown as SDR", hlg_nits),
}

PCS_WHITE = (0.9642, 1.0, 0.8249)  # D50, as ICC states it
MOST_FIXED = (2**31 - 1) / 65536  # ICC's s15Fixed16Number
BRADFORD: Matrix = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))
HEADER_BYTES = 128
MOST_VERSION = 4  # of a profile skcms reads: ICC v5 (iccMAX) it does not
RGB, GREY, CMYK = b"RGB ", b"GRAY", b"CMYK"  # data colour spaces, in a profile's header
CURVE_TYPES = frozenset({b"curv", b"para"})
TABLE_TYPES = frozenset({b"mft1", b"mft2", b"mAB "})
MOST_PROFILE_TAGS = 100  # LittleCMS's MAX_TABLE_TAG
# Fixed, so that a render's bytes never depend on when it ran.
CREATED = (2026, 11, 29, 0, 0, 0)
COPYRIGHT = "No copyright, use freely"


def profile(primaries: int, transfer: int, brightest_nits: int | None = None) -> bytes | None:
    """The RGB profile that code points `primaries` and `transfer` describe; None when they mean
    sRGB or this module cannot state them. A PQ picture's SDR rendering rolls off from its brightest
    pixel, when it says how bright that is."""
    primaries = SRGB_PRIMARIES if primaries == UNSPECIFIED else primaries
    transfer = SRGB_TRANSFER if transfer == UNSPECIFIED else transfer
    if (primaries, transfer) == (SRGB_PRIMARIES, SRGB_TRANSFER):
        return None
    if primaries not in PRIMARIES or transfer not in TRANSFERS:
        return None
    return _rgb(primaries, transfer, _peak(transfer, brightest_nits))


def processing_elements(profile: bytes) -> int:
    """The most processing elements in any multiProcessElements (mpet) tag of an ICC profile, which
    LittleCMS prefers to every other (D2Bx, B2Dx) and builds a transform through element by element: a
    500-byte profile repeating one matrix 10,000 times took it 5.9 s, 40,000 times 33 s (a helper's
    measure). 0 without one. Only the first MOST_PROFILE_TAGS tags are read: LittleCMS refuses more."""
    most = 0
    for _, offset, _ in _tag_table(profile):
        if profile[offset:offset + 4] == b"mpet" and offset + 16 <= len(profile):
            most = max(most, int.from_bytes(profile[offset + 12:offset + 16]))  # after its channels
    return most


def _tag_table(profile: bytes) -> list[tuple[bytes, int, int]]:
    """Each tag's signature, offset and length, for the first MOST_PROFILE_TAGS entries of the table that
    the bytes hold whole."""
    count = min(int.from_bytes(profile[HEADER_BYTES:HEADER_BYTES + 4]), MOST_PROFILE_TAGS)
    table = profile[HEADER_BYTES + 4:HEADER_BYTES + 4 + 12 * count]
    return list(struct.iter_unpack(">4sII", table[:len(table) - len(table) % 12]))


def usable(profile: bytes, colour_space: bytes) -> bool:
    """Whether browsers use an embedded profile on pixels of `colour_space` (RGB, GREY or CMYK), as skcms reads
    it in Chromium 156 (helpers' measures): one they can read (readable) of the pixels' colour space, or RGB on
    grey pixels. Another they ignore, its pixels shown as sRGB's, and AVIF output carrying one they cannot
    decode."""
    space = data_colour_space(profile)
    return readable(profile) and (space == colour_space or space == RGB and colour_space == GREY)


def readable(profile: bytes) -> bool:
    """Whether skcms reads a profile, in Chromium 156 (helpers' measures), whatever pixels it comes with: of
    version 4 or less, its tag table and tags whole within its size, and that within the bytes; from XYZ or from
    Lab with a table; and with what it takes to reach the connection space: an A2B0 table, or RGB's three
    colorants and curves, or grey's curve. Only the first MOST_PROFILE_TAGS tags are read, as LittleCMS reads
    them: a real profile holds a few dozen at most, and walking millions took 0.3 s (a helper's measure)."""
    if profile[36:40] != b"acsp" or profile[8] > MOST_VERSION:  # a version past acsp: 40 bytes at least
        return False
    size = int.from_bytes(profile[:4])
    count = int.from_bytes(profile[HEADER_BYTES:HEADER_BYTES + 4])
    if count > MOST_PROFILE_TAGS or not HEADER_BYTES + 4 + 12 * count <= size <= len(profile):
        return False
    types: dict[bytes, bytes] = {}  # each tag's type, the first four bytes of its data
    for signature, offset, length in _tag_table(profile):
        if offset + length > size:
            return False
        types.setdefault(signature, profile[offset:offset + min(length, 4)])
    space, connection = data_colour_space(profile), profile[20:24]
    if types.get(b"A2B0") in TABLE_TYPES:
        return connection in (b"XYZ ", b"Lab ")
    if connection != b"XYZ ":
        return False
    if space == RGB:
        return (all(types.get(name) in CURVE_TYPES for name in (b"rTRC", b"gTRC", b"bTRC"))
                and all(types.get(name) == b"XYZ " for name in (b"rXYZ", b"gXYZ", b"bXYZ")))
    return space == GREY and types.get(b"kTRC") in CURVE_TYPES


def data_colour_space(profile: bytes) -> bytes:
    """What a profile's numbers are: RGB, GREY, CMYK or another, as its header says."""
    return profile[16:20]


def known(primaries: int, transfer: int) -> bool:
    """Whether both codes say what they mean here (sRGB's included; unspecified and reserved ones do not). The
    BT.709 family's transfers do, though profile() states none of them: edge/image/colour.py reads them first."""
    return primaries in PRIMARIES and (transfer in TRANSFERS or transfer in BT709_FAMILY)


def grey_profile(transfer: int, brightest_nits: int | None = None) -> bytes | None:
    """The grey profile transfer characteristics `transfer` describe (a grey picture's primaries say
    nothing); None when they are sRGB's, unspecified (taken as sRGB's) or not stated here."""
    if transfer == SRGB_TRANSFER or transfer not in TRANSFERS:
        return None
    return _grey(transfer, _peak(transfer, brightest_nits))


def _peak(transfer: int, brightest_nits: int | None) -> float | None:
    """The peak an HDR curve's SDR rendering rolls off from (None for SDR's curves): a PQ picture's
    brightest pixel, rounded up to PEAK_STEP_NITS. One brighter than PQ can be says nothing true, and
    would darken the whole rendering: HDR_PEAK_NITS then, as when it says nothing."""
    if transfer not in HDR_TRANSFERS:
        return None
    if transfer == HLG or brightest_nits is None or not 0 < brightest_nits <= PQ_PEAK_NITS:
        return HDR_PEAK_NITS
    return float(math.ceil(brightest_nits / PEAK_STEP_NITS) * PEAK_STEP_NITS)


def power_curve_profile(gamma: float, primaries: tuple[Chromaticity, ...] | None, grey: bool) -> bytes | None:
    """The profile of numbers that decode to light by a pure power `gamma`, on `primaries` (red, green, blue
    and white, as CIE xy) or else sRGB's: a grey one for a grey picture, whose primaries say nothing more. None
    for primaries Chromium 156 refuses, dropping the gamma too (helpers' measures): a chromaticity outside 0 to
    1, or three primaries on one line. None too for those it shows wrong, colours being left as they are: a
    white of y 0 (all black there) or three primaries nearly on one line (made-up colours). A white outside
    them, a chromaticity of exactly 0 or 1, or x and y adding up to more than 1, it takes as they are, and so
    does this (by hand, 2026-12-02)."""
    if primaries is not None and not _possible(primaries):
        return None
    curve = _para((min(gamma, MOST_FIXED),))  # past it, every level but white is black all the same
    name = f"gamma {gamma:.5g}"
    if grey:
        return _display_profile(GREY, f"Grey, {name}", [(b"kTRC", curve)])
    red, green, blue, white = primaries or PRIMARIES[SRGB_PRIMARIES][1:]
    return _matrix_profile("sRGB primaries" if primaries is None else "primaries of the file", red, green, blue,
                           white, name, curve)


def _possible(primaries: tuple[Chromaticity, ...]) -> bool:
    """Whether a profile can state them: three primaries nearly on one line (as libpng's fixed point finds),
    or a white near where one of Bradford's cones responds to nothing, make colorants or an adaptation past
    what ICC's numbers hold."""
    red, green, blue, white = primaries
    if not all(0 <= value <= 1 for value in (*red, *green, *blue, *white)) or white[1] == 0:
        return False
    try:
        adaptation, colorants = _adapted(red, green, blue, white)
    except ZeroDivisionError:  # primaries on one line, or a white of no response in one of Bradford's cones
        return False
    return all(abs(value) < MOST_FIXED for matrix in (adaptation, colorants) for row in matrix for value in row)


# Cached only for the codes stated, and at most 100 peaks: a file's made-up ones add nothing.
@cache
def _grey(transfer: int, peak: float | None) -> bytes:
    transfer_name, curve = TRANSFERS[transfer]
    return _display_profile(GREY, f"Grey, {transfer_name}", [(b"kTRC", _trc(curve, peak))])


@cache
def _rgb(primaries: int, transfer: int, peak: float | None) -> bytes:
    primaries_name, red, green, blue, white = PRIMARIES[primaries]
    transfer_name, curve = TRANSFERS[transfer]
    return _matrix_profile(primaries_name, red, green, blue, white, transfer_name, _trc(curve, peak))


def _matrix_profile(primaries_name: str, red: Chromaticity, green: Chromaticity, blue: Chromaticity,
                    white: Chromaticity, transfer_name: str, trc: bytes) -> bytes:
    adaptation, colorants = _adapted(red, green, blue, white)
    return _display_profile(RGB, f"{primaries_name}, {transfer_name}", [
        (b"chad", _sf32(adaptation)),
        *((name, _xyz(column)) for name, column in zip((b"rXYZ", b"gXYZ", b"bXYZ"), zip(*colorants))),
        (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc),
    ])


def _adapted(red: Chromaticity, green: Chromaticity, blue: Chromaticity, white: Chromaticity) -> tuple[Matrix, Matrix]:
    """A matrix profile's numbers: Bradford's adaptation from `white` to D50 (its chad tag), and linear RGB to
    XYZ adapted by it, whose columns are its colorants (rXYZ, gXYZ, bXYZ)."""
    adaptation = chromatic_adaptation(xyz(white))
    return adaptation, product(adaptation, rgb_to_xyz(red, green, blue, white))


def xyz(chromaticity: Chromaticity) -> tuple[float, float, float]:
    """The colour of a chromaticity at luminance 1."""
    x, y = chromaticity
    return x / y, 1.0, (1 - x - y) / y


def rgb_to_xyz(red: Chromaticity, green: Chromaticity, blue: Chromaticity, white: Chromaticity) -> Matrix:
    """Linear RGB to XYZ: each primary's colour, scaled so that full red, green and blue make white. The
    primaries are taken as x, y and z, whatever their luminance (as skcms does): one of y 0 is a colour too."""
    columns = _unscaled(red, green, blue)
    scales = apply(inverse(columns), xyz(white))
    return tuple(tuple(value * scale for value, scale in zip(row, scales)) for row in columns)


def _unscaled(red: Chromaticity, green: Chromaticity, blue: Chromaticity) -> Matrix:
    return tuple(zip(*((x, y, 1 - x - y) for x, y in (red, green, blue))))


def chromatic_adaptation(source_white: tuple[float, float, float]) -> Matrix:
    """Bradford's adaptation from `source_white` to the profile connection space's D50."""
    source_cone, target_cone = apply(BRADFORD, source_white), apply(BRADFORD, PCS_WHITE)
    gains = tuple(target / source for target, source in zip(target_cone, source_cone))
    scaled = tuple(tuple(value * gain for value in row) for row, gain in zip(BRADFORD, gains))
    return product(inverse(BRADFORD), scaled)


def apply(matrix: Matrix, vector: tuple[float, float, float]) -> tuple[float, float, float]:
    return tuple(sum(value * component for value, component in zip(row, vector)) for row in matrix)


def product(left: Matrix, right: Matrix) -> Matrix:
    return tuple(tuple(sum(a * b for a, b in zip(row, column)) for column in zip(*right)) for row in left)


def inverse(matrix: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = matrix
    cofactors = ((e * i - f * h, c * h - b * i, b * f - c * e),
                 (f * g - d * i, a * i - c * g, c * d - a * f),
                 (d * h - e * g, b * g - a * h, a * e - b * d))
    determinant = a * cofactors[0][0] + b * cofactors[1][0] + c * cofactors[2][0]
    return tuple(tuple(value / determinant for value in row) for row in cofactors)


def _fixed(values) -> bytes:
    """s15Fixed16Number, ICC's fixed-point number."""
    return b"".join(struct.pack(">i", round(value * 65536)) for value in values)


def _xyz(values: tuple[float, float, float]) -> bytes:
    return b"XYZ " + bytes(4) + _fixed(values)


def _sf32(matrix: Matrix) -> bytes:
    return b"sf32" + bytes(4) + _fixed(value for row in matrix for value in row)


def _trc(curve: Curve, peak: float | None) -> bytes:
    if peak is None:
        return _para(curve)
    return _sampled(lambda signal: rolled_off(curve(signal), peak) / REFERENCE_WHITE_NITS)


def _sampled(light_of: Callable[[float], float]) -> bytes:
    """A curv tag: light_of at evenly spaced signals, as 16-bit fractions of white."""
    last = SAMPLED_CURVE_POINTS - 1
    points = (round(65535 * min(light_of(index / last), 1.0)) for index in range(SAMPLED_CURVE_POINTS))
    return b"curv" + bytes(4) + struct.pack(f">I{SAMPLED_CURVE_POINTS}H", SAMPLED_CURVE_POINTS, *points)


def _para(curve: tuple[float, ...]) -> bytes:
    function = {1: 0, 5: 3}[len(curve)]
    return b"para" + bytes(4) + struct.pack(">HH", function, 0) + _fixed(curve)


def _mluc(text: str) -> bytes:
    """One English record, in UTF-16BE after the 28 bytes of the type's header and its record."""
    encoded = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded


def _display_profile(colour_space: bytes, description: str, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A display profile: header, tag table and tags (after the description, copyright and white point
    every profile has), each 4-byte aligned; a tag that repeats another's bytes points at them."""
    tags = [(b"desc", _mluc(description)), (b"cprt", _mluc(COPYRIGHT)), (b"wtpt", _xyz(PCS_WHITE)), *tags]
    table, data, offsets = [], bytearray(), {}
    data_start = HEADER_BYTES + 4 + 12 * len(tags)
    for signature, tag in tags:
        if tag not in offsets:
            offsets[tag] = data_start + len(data)
            data += tag + bytes(-len(tag) % 4)
        table.append(struct.pack(">4sII", signature, offsets[tag], len(tag)))
    body = struct.pack(">I", len(tags)) + b"".join(table) + data
    size = HEADER_BYTES + len(body)
    header = bytearray(struct.pack(
        ">I4sI4s4s4s6H4sI", size, bytes(4), 0x04300000, b"mntr", colour_space, b"XYZ ", *CREATED, b"acsp", 0))
    header += bytes(68 - len(header))  # flags, device manufacturer, model and attributes, rendering intent
    header += _fixed(PCS_WHITE) + bytes(4)  # the illuminant, then the creator
    header += bytes(HEADER_BYTES - len(header))  # the profile ID, then reserved
    # The ID is the MD5 of the profile with its flags, rendering intent and ID zeroed, as they are here.
    header[84:100] = hashlib.md5(bytes(header) + body).digest()
    return bytes(header) + body
