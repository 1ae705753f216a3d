"""The steps each frame takes (edge/image/steps.py): the decode, scaled by libjpeg's DCT or by libwebp, and reduce(),
neither shifting the picture, partial edge pixels weighed by what they hold; the working mode and the output's."""

import functools
import io
import sys

import pytest
from PIL import Image, ImageOps

import edge.image
from edge import icc
from edge.errors import UnsupportedMedia
from edge.geometry import plan
from edge.image import render
from edge.image.model import Frame, Placement, webp_decoder
from edge.image.resample import lanczos
from edge.image.steps import (
    crop, decode_scale, in_working_mode, reduce, reduce_on_decode, resize, to_working_mode, weigh_partial_edges,
    with_partial_edges_weighed,
)
from edge.rendition import parse_rendition
from imaging import (
    LIMITS, RED, alpha_weighted, animation, encoded, gradient, half_transparent, largest_difference, max_difference,
    rendered, stored_as,
)


@pytest.mark.parametrize(("source_format", "shrunk"), [
    ("JPEG", (500, 750)),  # decoded at 1/2 (1/4 would leave 375 rows, under twice 188), reduce() halves the width
    ("WEBP", (502, 376)),  # decoded by libwebp at twice the output, each side rounded up
    ("PNG", (500, 500)),  # reduce() by 4 across and 3 down
])
def test_a_large_source_is_shrunk_before_lanczos(monkeypatch, source_format, shrunk):
    """By the decoder where it can, else by reduce(): LANCZOS gets, on each side, at least twice the
    output (what quality asks) and less than four times (what speed asks)."""
    import edge.image

    real_lanczos, seen = edge.image.resample.lanczos, []
    monkeypatch.setattr(edge.image.steps, "lanczos",
                        lambda image, *rest: seen.append(image.size) or real_lanczos(image, *rest))
    result, _ = rendered(encoded(gradient((2000, 1500)), source_format), "250x,png")
    assert result.size == (250, 188) and seen == [shrunk]
    assert all(2 * out <= got < 4 * out for got, out in zip(shrunk, result.size, strict=True))


@pytest.mark.parametrize("box", [(17, 30), (30, 17)], ids=["cut-across", "cut-down"])
def test_the_smallest_decode_scale_is_twice_the_output_over_the_crops_extent_on_the_side_that_needs_most(box):
    """A centre crop of 28 of 50 pixels to 17 (0.607 of it) needs more than the other side's 30 of 50 (0.6)."""
    geometry = plan((50, 50), *box, "cover")
    assert sorted(geometry.crop) == [0, 11, 39, 50]
    assert decode_scale(geometry) == 17 / 14


def test_jpeg_dct_reduction_keeps_the_picture():
    """A large JPEG decoded at reduced scale must match a full decode's resize."""
    picture = gradient((4000, 3000))
    data = encoded(picture, "JPEG", quality=95)
    _, image = rendered(data, "500x,png")
    reference = picture.resize((500, 375), Image.Resampling.LANCZOS)
    for point in [(10, 10), (250, 187), (490, 365), (100, 300)]:
        assert max_difference(image.getpixel(point), reference.getpixel(point)) <= 6


# 800 x 640 to exactly a half, a quarter or an eighth of it, or of a crop of it: twice the output is what
# libjpeg's scale gives, so the decode takes that scale, not the next one up. 801 x 601 at 1/4 decodes 200.25
# x 150.25 pixels' worth (the last one partial), twice 100 x 75.
@pytest.mark.parametrize(("stored", "width", "height", "fit", "decoded"), [
    ((800, 640), 200, None, "contain", (400, 320)),
    ((800, 640), 100, None, "contain", (200, 160)),
    ((800, 640), 50, None, "contain", (100, 80)),
    ((800, 640), 80, 80, "cover", (200, 160)),  # a 640 x 640 crop, decoded at 160 x 160
    ((800, 640), 101, None, "contain", (400, 320)),  # twice 101 is more than a quarter of 800
    ((800, 640), 201, None, "contain", (800, 640)),
    ((801, 601), 100, None, "contain", (201, 151)),
])
def test_a_jpeg_is_decoded_at_the_smallest_scale_that_gives_twice_the_output(stored, width, height, fit, decoded):
    with Image.open(io.BytesIO(encoded(gradient(stored), "JPEG"))) as image:
        frame = Frame(image, plan(stored, width, height, fit), "png", None, 0)
        assert reduce_on_decode(frame).image.size == decoded


def test_a_jpeg_already_decoded_is_not_reduced_again():
    """libjpeg's scaled decode is set up before the pixels are read: once they are, Pillow's draft() offers none,
    and the frame goes on at full size with no placement to map."""
    with Image.open(io.BytesIO(encoded(gradient((400, 300)), "JPEG"))) as image:
        image.load()
        frame = Frame(image, plan((400, 300), 50, None, "contain"), "png", None, 0)
        assert reduce_on_decode(frame) is frame


def test_a_region_a_fraction_of_a_pixel_inside_a_frame_of_the_output_size_is_still_resampled():
    """A crop whose whole pixels are the output's size, as a reduced decode's mapping can leave it: the region
    within them is stretched over the output, not the frame handed on as it is."""
    image = Image.frombytes("L", (4, 1), bytes([0, 80, 160, 240]))
    region = (0.25, 0.0, 3.75, 1.0)
    frame = Frame(image, plan((4, 1), 4, None, "contain"), "png", None, 0, region=region)
    resized = resize(frame).image
    assert resized.tobytes() == lanczos(image, (4, 1), region).tobytes() != image.tobytes()


def centroid(image: Image.Image) -> tuple[float, float]:
    """Where the light of a grey image sits, in pixel units."""
    grey = image.convert("L")
    width = grey.width
    weights = grey.tobytes()
    total = sum(weights)
    x = sum((index % width + 0.5) * weight for index, weight in enumerate(weights)) / total
    y = sum((index // width + 0.5) * weight for index, weight in enumerate(weights)) / total
    return x, y


# A source one pixel over whole 8x8 blocks: the DCT-reduced decode then ends in a
# partial pixel, which the region must not stretch over, in every orientation.
ODD_SOURCE = (2049, 1025)


def glow(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """Black, with a smooth bright spot filling `box`: JPEG keeps it without ringing, wherever it sits."""
    picture = Image.new("L", size)
    spot = ImageOps.invert(Image.radial_gradient("L")).resize((box[2] - box[0], box[3] - box[1]))
    picture.paste(spot, box[:2])
    return picture


@functools.cache
def glowing_upright() -> Image.Image:
    return glow(ODD_SOURCE, (1440, 864, 1536, 960))  # inside every crop


@functools.cache
def full_decode_of_the_glow(spec: str) -> tuple[tuple[int, int], tuple[float, float]]:
    """Size and spot of the rendition from a lossless original, once per spec for all eight orientations."""
    _, full = rendered(encoded(glowing_upright(), "PNG"), spec)
    return full.size, centroid(full)


GLOW_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}


@functools.cache
def glowing_original(orientation: int, source_format: str) -> bytes:
    """The glow as a camera stores it, once for every spec."""
    stored, exif = stored_as(glowing_upright(), orientation)
    return encoded(stored, source_format, exif=exif, **GLOW_OPTIONS[source_format])


# A JPEG is decoded at 1/2, 1/4, 1/8, 1/4 and 1/8 scale (a draft of at least twice the
# output); a WebP at exactly twice the output, each axis rounded up to whole pixels.
# 100x100 cover crops the sides of the upright source, 220x100 its top and bottom.
@pytest.mark.parametrize("spec", ["500x,png", "200x,png", "120x,png", "100x100,cover,png", "220x100,cover,png",
                                  "127x40,fill,png"])
@pytest.mark.parametrize(("source_format", "orientation"),
                         [*(("JPEG", orientation) for orientation in range(1, 9)), ("WEBP", 1)])
def test_a_reduced_decode_is_not_shifted(spec, orientation, source_format):
    """A spot near the far corner lands where a full decode puts it, to a twentieth of a pixel."""
    _, reduced = rendered(glowing_original(orientation, source_format), spec)
    full_size, full_centroid = full_decode_of_the_glow(spec)
    assert reduced.size == full_size
    for reduced_axis, full_axis in zip(centroid(reduced), full_centroid, strict=True):
        assert reduced_axis == pytest.approx(full_axis, abs=0.05)


def test_a_region_a_fraction_of_a_pixel_in_is_divided_by_the_reduce_factor_on_each_side():
    """reduce() averages 4 x 4 blocks here: the region, left and top edges too, is mapped into the reduced pixels."""
    frame = Frame(gradient((80, 40)), plan((80, 40), 8, None, "contain"), "png", None, 0,
                  region=(0.5, 0.25, 80.0, 40.0))
    reduced = reduce(frame)
    assert reduced.image.size == (20, 10)
    assert reduced.region == (0.125, 0.0625, 20.0, 10.0)


def test_grey_with_alpha_under_an_rgb_profile_goes_through_it_to_srgb_as_grey_does():
    """PNG forbids an RGB profile on grey pixels (libpng, and so Firefox, drops it): LA, as L, goes to sRGB."""
    linear_srgb = icc.power_curve_profile(1.0, None, grey=False)
    _, image = rendered(encoded(Image.new("LA", (8, 8), (128, 200)), "PNG", icc_profile=linear_srgb), "8x,png")
    assert "icc_profile" not in image.info
    assert image.getcolors() == [(64, (188, 188, 188, 200))]  # 128 through linear light, as L's in test_colour.py


def test_a_placement_scales_each_axis_by_its_box_over_the_stored_size():
    """Each axis by its own ratio, the box's extent over the stored one's, wherever in the frame the box starts."""
    assert Placement.of((2, 1, 42, 11), (80, 40)).scale == (0.5, 0.25)


def test_a_source_decoded_into_whole_pixels_has_no_edge_to_weigh():
    """As libwebp scales a lossless WebP: its colour is not taken through premultiplied alpha and back, which
    rounds a nearly transparent pixel's ((200, 100, 50) under an alpha of 3 would come back as (170, 85, 0))."""
    image = Image.new("RGBA", (40, 20), (200, 100, 50, 3))
    frame = Frame(image, plan((80, 40), 10, None, "contain"), "png", None, 0,
                  placement=Placement.of((0, 0, 40, 20), (80, 40)))
    assert weigh_partial_edges(frame).image.getcolors() == [(800, (200, 100, 50, 3))]


def framed(size: tuple[int, int]) -> Image.Image:
    """Grey, with a black line along every edge: an edge weighed wrongly shows in the output's average."""
    image = Image.new("L", size, 200)
    image.paste(0, (0, 0, size[0], 1))
    image.paste(0, (0, size[1] - 1, size[0], size[1]))
    image.paste(0, (0, 0, 1, size[1]))
    image.paste(0, (size[0] - 1, 0, size[0], size[1]))
    return image


# 801 x 601: reduce() by 4 (PNG), and libjpeg's draft at 1/8, leave a last block across and down that holds
# one pixel row of the eight or four, on the stored right and bottom edges, which orientations 3, 6 and 8 turn to
# the left or top of the output.
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("source_format", ["PNG", "JPEG"])
def test_a_partial_last_block_weighs_what_it_holds(source_format, orientation):
    upright = framed((801, 601))
    mean = sum(value * count for value, count in enumerate(upright.histogram())) / (801 * 601)
    stored, exif = stored_as(upright, orientation)
    data = encoded(stored, source_format, exif=exif, **({"quality": 95} if source_format == "JPEG" else {}))
    _, one_pixel = rendered(data, "1x,png")
    assert abs(one_pixel.getpixel((0, 0)) - mean) <= 3  # 149-191 when the line weighed a whole block
    # Pillow's LANCZOS of the whole image in floating point gives 182 on every edge at 100 px, 194 at 33; 159-171
    # on the partial block's before at 100, and 172 at 33 with libjpeg's partial pixel unweighed. The rest:
    # reduce() blocks and the partial pixel's content at its pixel's centre.
    for width, floating_point_edge in ((100, 182), (33, 194)):
        _, small = rendered(data, f"{width}x,png")
        right, bottom = small.width - 1, small.height - 1
        middles = ((right // 2, 0), (right // 2, bottom), (0, bottom // 2), (right, bottom // 2))
        edges = [small.getpixel(middle) for middle in middles]
        assert all(abs(edge - floating_point_edge) <= 9 for edge in edges), (width, edges)


@pytest.mark.parametrize(("extent", "expected"), [
    ((0, 0, 3, 1), [10, 20, 200]), ((0, 0, 2.25, 1), [10, 20, 65]), ((0.5, 0, 3, 1), [15, 20, 200]),
    ((0, 0, 2 + 1e-9, 1), [10, 20, 200]),  # a rounding's worth of a pixel: none
    ((0, 0, 3, 0.5), [10, 20, 200]),  # a line one pixel high has no neighbour above or below: left as it is
])
def test_a_partial_edge_pixel_is_blended_with_its_neighbour_by_what_it_covers(extent, expected):
    line = Image.frombytes("L", (3, 1), bytes([10, 20, 200]))
    assert list(with_partial_edges_weighed(line, extent).get_flattened_data()) == expected


@pytest.mark.parametrize(("extent", "expected"), [((0, 0, 1.25, 1), [10, 58]), ((0.75, 0, 2, 1), [152, 200])])
def test_a_partial_edge_of_a_line_of_two_pixels_is_blended_with_the_other(extent, expected):
    line = Image.frombytes("L", (2, 1), bytes([10, 200]))
    assert list(with_partial_edges_weighed(line, extent).get_flattened_data()) == expected


@pytest.mark.parametrize(("extent", "expected"), [
    ((0, 0.5, 1, 3), [15, 20, 200]), ((0, 0, 1, 2.25), [10, 20, 65]),
    ((0.5, 0, 1, 3), [10, 20, 200]),  # a column one pixel wide has no neighbour left or right: left as it is
])
def test_a_partial_top_or_bottom_pixel_is_blended_with_its_neighbour_by_what_it_covers(extent, expected):
    column = Image.frombytes("L", (1, 3), bytes([10, 20, 200]))
    assert list(with_partial_edges_weighed(column, extent).get_flattened_data()) == expected


def libwebp_decodes(monkeypatch) -> list[tuple[int, int]]:
    """The sizes libwebp's scaled decode is called for, from now on."""
    decoder, sizes = webp_decoder(), []
    decode = decoder.decode

    def recorded(data, size, alpha):
        sizes.append(size)
        return decode(data, size, alpha)

    monkeypatch.setattr(decoder, "decode", recorded)
    return sizes


def without_libwebp(monkeypatch) -> None:
    """Every WebP decoded by Pillow, as where no libwebp loads: in each of the engine's modules that asks for it."""
    for name, module in list(sys.modules.items()):
        if name.startswith("edge.image.") and hasattr(module, "webp_decoder"):
            monkeypatch.setattr(module, "webp_decoder", lambda: None)


PHOTO_WEBP = (1600, 1200)


@functools.cache
def photo_webp(mode: str = "RGB", lossless: bool = False) -> bytes:
    return encoded(gradient(PHOTO_WEBP, mode), "WEBP", **({"lossless": True} if lossless else {"quality": 90}))


@pytest.mark.parametrize(("source", "spec", "decoded_at"), [
    (lambda: photo_webp(), "200x,png", (400, 300)),
    (lambda: photo_webp(), "300x300,cover,jpeg", (800, 600)),
    (lambda: photo_webp("RGBA", lossless=True), "333x,png", (667, 500)),
    # libwebp scales lossy colour unweighted by alpha (tests/test_webp.py): decoded at full size.
    (lambda: photo_webp("RGBA"), "200x,png", PHOTO_WEBP),
    (lambda: photo_webp(), "800x,png", PHOTO_WEBP),  # no smaller than twice
    (lambda: photo_webp(), "1000x,png", PHOTO_WEBP),  # under twice the output: at full size, never scaled up
    (lambda: photo_webp(), "1600x,png", PHOTO_WEBP),  # nothing to scale
    (lambda: animation("WEBP", lossless=True), "16x,jpeg", None),  # WebPDecode reads still pictures only
    (lambda: animation("WEBP", lossless=True), "16x,webp", None),
], ids=["lossy", "lossy-cover", "lossless-alpha", "lossy-alpha", "half", "more-than-half", "identity",
        "animated-first-frame", "animated"])
def test_a_still_webp_is_decoded_by_libwebp_at_twice_the_output_scale(monkeypatch, source, spec, decoded_at):
    sizes = libwebp_decodes(monkeypatch)
    rendered(source(), spec)
    assert sizes == ([decoded_at] if decoded_at else [])


def test_a_scaled_webp_decode_leaves_no_dark_line_at_the_edge():
    """Decoded to 23 px wide, the 42 px source maps back to 23.000000000000004: still the image's edge."""
    _, image = rendered(encoded(Image.new("RGB", (42, 60), "white"), "WEBP", lossless=True), "11x,png")
    assert image.size == (11, 16) and image.getextrema() == ((255, 255),) * 3


@pytest.mark.parametrize(("mode", "lossless", "spec"), [
    ("RGB", False, "200x,png"), ("RGB", False, "300x300,cover,png"), ("RGBA", True, "333x,png"),
    ("RGB", True, "127x40,fill,png"), ("RGBA", False, "200x,png"), ("RGB", False, "1600x,png"),
])
def test_a_scaled_webp_decode_matches_pillows_full_decode(monkeypatch, mode, lossless, spec):
    """Two steps (libwebp's area average to twice the size, then LANCZOS) against Pillow's
    full decode, box-reduced, then LANCZOS: at most 3 levels apart on a smooth picture
    (alpha: premultiplied and rounded to 8 bits at each step)."""
    data = photo_webp(mode, lossless)
    _, scaled = rendered(data, spec)
    without_libwebp(monkeypatch)
    _, full = rendered(data, spec)
    assert (scaled.size, scaled.mode) == (full.size, full.mode)
    assert largest_difference(alpha_weighted(scaled), alpha_weighted(full)) <= 3


@pytest.mark.parametrize("libwebp", [True, False], ids=["libwebp", "pillow"])
def test_a_webp_bitstream_cut_short_is_415_on_either_path(monkeypatch, libwebp):
    """The RIFF and chunk sizes agree with the bytes, so the header reads; the VP8 data then ends early."""
    if not libwebp:
        without_libwebp(monkeypatch)
    data = bytearray(photo_webp())
    assert data[12:16] == b"VP8 "
    kept = 2000
    data[16:20] = kept.to_bytes(4, "little")
    data[4:8] = (4 + 8 + kept).to_bytes(4, "little")
    with pytest.raises(UnsupportedMedia):
        render(bytes(data[: 20 + kept]), parse_rendition("/200x/key"), LIMITS)


@pytest.mark.parametrize("libwebp", [True, False], ids=["libwebp", "pillow"])
def test_a_webp_whose_alpha_header_is_corrupt_is_415_on_either_path(monkeypatch, libwebp):
    """An ALPH chunk saying "uncompressed" over a compressed payload: libwebp calls that running out of memory."""
    if not libwebp:
        without_libwebp(monkeypatch)
    data = bytearray(encoded(gradient((64, 64), "RGBA"), "WEBP", quality=80))
    data[data.index(b"ALPH") + 8] = 0  # the chunk's header byte: no compression, no filter
    with pytest.raises(UnsupportedMedia):
        render(bytes(data), parse_rendition("/32x/key"), LIMITS)


def test_sixteen_bit_grayscale_is_scaled_to_eight_bits():
    source = Image.new("I;16", (4, 1))
    for x, value in enumerate([0, 257 * 64, 257 * 128, 65535]):
        source.putpixel((x, 0), value)
    data = encoded(source, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    _, image = rendered(data, "4x,png")
    assert image.mode == "L"
    assert [image.getpixel((x, 0)) for x in range(4)] == [0, 64, 128, 255]


def test_sixteen_bit_grayscale_keeps_its_high_byte():
    """As Chromium 156 shows it (libpng's strip), and as Pillow reads 16-bit RGB: a helper's measure."""
    source = Image.new("I;16", (4, 1), 25956)  # 100.996 x 257: 101 rounded, 101.39 x 256
    source.putpixel((1, 0), 25855)  # 100.996 x 256: 100
    _, image = rendered(encoded(source, "PNG"), "4x,png")
    assert list(image.get_flattened_data()) == [101, 100, 101, 101]


def test_sixteen_bit_grayscale_keeps_its_transparent_value():
    """The key is a 16-bit value: a neighbour that rounds to the same 8 bits stays opaque."""
    key = 257 * 128
    source = Image.new("I;16", (4, 1))
    for x, value in enumerate([0, key + 1, key, 65535]):
        source.putpixel((x, 0), value)
    data = encoded(source, "PNG", transparency=key)
    assert Image.open(io.BytesIO(data)).info["transparency"] == key
    _, image = rendered(data, "4x,png")
    assert image.mode == "LA"
    assert [image.getpixel((x, 0)) for x in range(4)] == [(0, 255), (128, 255), (128, 0), (255, 255)]


@pytest.mark.parametrize(("mode", "key", "other", "with_alpha"), [
    ("RGB", (255, 0, 0), (0, 0, 255), "RGBA"), ("L", 7, 200, "LA"),
])
def test_an_eight_bit_colour_key_becomes_alpha(mode, key, other, with_alpha):
    """Pillow keeps a tRNS key on RGB or grey in `info`, which no encoder is handed: the keyed pixels showed."""
    source = Image.new(mode, (2, 1), key)
    source.putpixel((1, 0), other)
    _, image = rendered(encoded(source, "PNG", transparency=key), "2x,png")
    assert image.mode == with_alpha
    assert [image.getpixel((x, 0))[-1] for x in range(2)] == [0, 255]


@pytest.mark.parametrize("mode", ["I;16", "I;16L", "I;16B"])  # I;16L: Pillow's other name for I;16
@pytest.mark.parametrize("key", [None, 257 * 128])
def test_sixteen_bit_grey_comes_to_eight_bits_strip_by_strip_in_either_byte_order(monkeypatch, mode, key):
    """Strips of two rows, the last of one: each pixel its high byte, and only the key itself transparent, not a
    value that shares one of its bytes."""
    from edge.image.steps import in_working_mode

    monkeypatch.setattr(edge.image.steps, "STRIP_PIXELS", 7)
    values = [(x * 9_001 + y * 7_919) % 65536 for y in range(7) for x in range(3)]
    values[10] = values[11] = 257 * 128  # the key, where a key is set
    values[12], values[13] = 257 * 128 + 1, 128  # the key's high byte alone, its low byte alone
    byte_order = "big" if mode == "I;16B" else "little"
    source = Image.frombytes(mode, (3, 7), b"".join(value.to_bytes(2, byte_order) for value in values))
    if key is not None:
        source.info["transparency"] = key
    working = in_working_mode(source)
    grey = [value >> 8 for value in values]
    if key is None:
        assert working.mode == "L" and list(working.get_flattened_data()) == grey
    else:
        assert working.mode == "LA"
        assert list(working.get_flattened_data()) == [(g, 0 if v == key else 255) for g, v in zip(grey, values)]


def test_sixteen_bit_grey_wider_than_a_strip_comes_a_row_at_a_time(monkeypatch):
    """A row of more pixels than a strip holds (over 1 MP across) is a strip of its own, not a strip of none."""
    monkeypatch.setattr(edge.image.steps, "STRIP_PIXELS", 2)
    values = [257 * 10, 257 * 20, 257 * 30, 257 * 40, 257 * 50, 257 * 60]
    source = Image.frombytes("I;16", (3, 2), b"".join(value.to_bytes(2, "little") for value in values))
    assert list(in_working_mode(source).get_flattened_data()) == [10, 20, 30, 40, 50, 60]


# Each step hands on what it has nothing to do for: no copy of the pixels.
@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_a_whole_picture_in_a_working_mode_is_handed_on_as_it_is(mode):
    image = Image.new(mode, (4, 4))
    frame = Frame(image, plan((4, 4), 4, None, "contain"), "png", None, 0)
    assert in_working_mode(image) is image and to_working_mode(frame) is frame and crop(frame).image is image


# Alpha only where the source has some: drop_unshown_alpha would take an opaque one off again, at the very end.
@pytest.mark.parametrize(("mode", "transparency", "working"), [
    ("1", None, "L"), ("P", None, "RGB"), ("P", 0, "RGBA"), ("L", 0, "LA"), ("RGB", (0, 0, 0), "RGBA"),
])
def test_a_mode_gets_alpha_only_with_transparency(mode, transparency, working):
    image = Image.new(mode, (4, 4))
    if transparency is not None:
        image.info["transparency"] = transparency
    assert in_working_mode(image).mode == working


@pytest.mark.parametrize(
    ("source", "expected_mode"),
    [
        (Image.new("1", (16, 16), 1), "L"),
        (Image.new("RGB", (16, 16), (10, 20, 30)).convert("P", palette=Image.Palette.ADAPTIVE), "RGB"),
    ],
    ids=["1-bit", "P"],
)
def test_other_modes_become_well_formed_eight_bit_output(source, expected_mode):
    _, image = rendered(encoded(source, "PNG"), "8x,png")
    assert image.mode == expected_mode
    image.load()


def test_gif_alpha_is_all_or_nothing_at_half():
    """From alpha 128 on, opaque."""
    source = Image.new("RGBA", (64, 32), (255, 0, 0, 200))
    source.paste((255, 0, 0, 128), (16, 0, 32, 32))
    source.paste((0, 0, 255, 127), (32, 0, 48, 32))
    source.paste((0, 0, 255, 50), (48, 0, 64, 32))
    _, image = rendered(encoded(source, "PNG"), "64x,gif")
    rgba = image.convert("RGBA")
    assert rgba.getpixel((8, 8)) == rgba.getpixel((24, 8)) == (255, 0, 0, 255)
    assert rgba.getpixel((40, 8))[3] == rgba.getpixel((56, 8))[3] == 0
    assert set(rgba.getchannel("A").tobytes()) == {0, 255}


def test_gif_alpha_is_rounded_after_the_resize():
    """A soft edge, scaled down, keeps the outline of its resized alpha: rounded before the resize,
    the half-transparent ring would widen the shape by a solid fringe."""
    alpha = ImageOps.invert(Image.radial_gradient("L")).resize((200, 200))
    source = Image.new("RGBA", (200, 200), RED + (0,))
    source.putalpha(alpha)
    _, image = rendered(encoded(source, "PNG"), "37x,gif")
    opaque = image.convert("RGBA").getchannel("A").tobytes().count(255)
    expected = sum(value >= 128 for value in alpha.resize((37, 37), Image.Resampling.LANCZOS).tobytes())
    assert abs(opaque - expected) <= 8, (opaque, expected)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_jpeg_output_is_flattened_onto_white(mode):
    _, image = rendered(encoded(half_transparent(mode), "PNG"), "32x,jpeg")
    assert max_difference(image.convert("RGB").getpixel((28, 8)), (255, 255, 255)) <= 4
    left = image.convert("RGB").getpixel((4, 8))
    assert max_difference(left, (255, 0, 0) if mode != "LA" else (128, 128, 128)) <= 6
