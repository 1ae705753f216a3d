"""The encode (edge/image/output.py): each format's encoder options, the URL's quality, progressive JPEG, PNG's
strategy, a lossless WebP kept lossless, GIF palettes made on threads, an animated AVIF's clock stopped, and a
frame no step changed handed to AVIF's writer apart from its source."""

import io
import random
import struct
import time
import zlib

import pytest
from PIL import Image, ImageCms

from edge import webp
from edge.geometry import plan
from edge.image.model import Frame, webp_decoder
from edge.image.output import (
    DEFAULT_QUALITY, encode, encoder_options, is_lossless_graphic, merge_repeated, webp_key_frames,
)
from bombs import png_chunk
from imaging import (
    FRAME_COLOURS, animation, apng_from_streams, encoded, gradient, largest_difference, max_difference, quadrants,
    rendered,
)


def test_an_animated_avif_is_deterministic_from_one_second_to_the_next():
    """libavif stamps an image sequence with the time it was encoded: that clock is stopped.
    (No other output carries a clock: WebP, GIF and APNG have nowhere to keep one.)"""
    data = animation("GIF")
    first, _ = rendered(data, "32x,avif")
    time.sleep(1.05)
    second, _ = rendered(data, "32x,avif")
    assert first.frames == second.frames == len(FRAME_COLOURS)
    assert first.body == second.body


@pytest.mark.parametrize(("source_options", "spec", "lossless"), [
    ({"lossless": True}, "100x", True), ({"lossless": True}, "100x,webp", True),
    ({"lossless": True}, "100x,q90", False), ({"quality": 90}, "100x", False),
], ids=["lossless", "lossless-named", "lossless-given-a-quality", "lossy"])
def test_a_lossless_webp_stays_lossless_unless_a_quality_is_asked(source_options, spec, lossless):
    source = encoded(gradient((400, 250), "RGBA"), "WEBP", **source_options)
    result, image = rendered(source, spec)
    assert (webp_decoder().features(result.body).format == webp.LOSSLESS) is lossless
    if lossless:  # every pixel as resized, before any encoder
        _, exact = rendered(source, "100x,png")
        assert largest_difference(image, exact) == 0


def test_a_photo_saved_as_lossless_webp_is_resized_lossy():
    """Noise: lossless, its rendition would be many times the lossy one's size, and slower."""
    noise = Image.frombytes("RGB", (400, 250), random.Random(5).randbytes(400 * 250 * 3))
    result, _ = rendered(encoded(noise, "WEBP", lossless=True), "100x")
    assert webp_decoder().features(result.body).format == webp.LOSSY


def lossless_webp_of(picture_size: int) -> bytes:
    """A 64 x 40 lossless WebP whose VP8L chunk is padded with zeros to `picture_size` bytes, which libwebp,
    reading the header alone, does not look at."""
    data = encoded(quadrants((64, 40)), "WEBP", lossless=True)
    assert data[12:16] == b"VP8L"
    payload = data[20:20 + int.from_bytes(data[16:20], "little")]
    payload += bytes(picture_size - len(payload))
    chunk = b"VP8L" + len(payload).to_bytes(4, "little") + payload + bytes(len(payload) & 1)
    return b"RIFF" + (4 + len(chunk)).to_bytes(4, "little") + b"WEBP" + chunk


def test_a_lossless_webp_is_a_graphic_up_to_two_bits_a_pixel():
    """LOSSLESS_MAX_BITS_PER_PIXEL's boundary: 64 x 40 pixels at 2 bits are 640 bytes."""
    with Image.open(io.BytesIO(lossless_webp_of(640))) as image:
        assert is_lossless_graphic(image, lossless_webp_of(640))
        assert is_lossless_graphic(image, lossless_webp_of(641)) is False


def test_a_lossless_logos_profile_does_not_count_against_its_bits_a_pixel():
    """The file is 680 bytes, over the 640 its 64 x 40 pixels may take at 2 bits; its picture is 45 of them, the
    rest LittleCMS's sRGB profile and the chunks around it."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = encoded(quadrants((64, 40)), "WEBP", lossless=True, icc_profile=profile)
    assert len(source) > 64 * 40 * 2 // 8
    result, image = rendered(source, "32x")
    assert webp_decoder().features(result.body).format == webp.LOSSLESS
    assert image.getpixel((0, 0)) == quadrants((64, 40)).getpixel((0, 0))


def test_a_webp_whose_header_libwebp_cannot_read_is_not_a_lossless_graphic():
    """Neither an error nor lossless: the decode that follows says what is wrong with the file."""
    data = encoded(quadrants((64, 40)), "WEBP", lossless=True)
    with Image.open(io.BytesIO(data)) as image:
        assert is_lossless_graphic(image, data)
        assert is_lossless_graphic(image, data[:24]) is False  # cut short in its VP8L header


def test_a_lossless_webp_animation_is_encoded_lossy_as_before():
    """Each frame of an animation may be coded either way: libwebp reads no one format for it."""
    frames = [gradient((64, 40), "RGBA").rotate(angle) for angle in (0, 90)]
    source = io.BytesIO()
    frames[0].save(source, "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=50)
    result, _ = rendered(source.getvalue(), "32x")
    assert result.frames == 2 and b"VP8L" not in result.body


def test_an_unchanged_partly_transparent_pixel_keeps_its_alpha_in_an_animated_webp():
    """libwebp blended a lossy frame's unchanged half-transparent pixels over the frame before, so over
    themselves: alpha 78 showed 132 (a helper's finding, in Chromium 156 as in Pillow). Such an animation's frames
    are each written whole (webp_key_frames)."""
    first = Image.new("RGBA", (20, 20), (229, 125, 235, 255))
    first.paste((229, 124, 235, 78), (12, 3, 16, 12))
    second = Image.new("RGBA", (20, 20), (151, 116, 215, 255))
    second.paste((229, 124, 235, 78), (12, 4, 16, 12))  # all but the block's top row is repainted
    source = io.BytesIO()
    first.save(source, "PNG", save_all=True, append_images=[second], duration=100)
    for spec in ("20x,webp", "20x,webp,q100"):
        result, image = rendered(source.getvalue(), spec)
        image.seek(1)
        assert result.frames == 2 and image.convert("RGBA").getpixel((13, 6))[3] == 78


@pytest.mark.parametrize(("alphas", "key_frames"), [
    ((None, None), False), ((255, 0), False), ((78, 255), False), ((255, 78), True), ((0, 1), True),
], ids=["opaque", "all-or-nothing", "partly-in-the-first-alone", "partly-later", "one-level"])
def test_only_animations_partly_transparent_after_the_first_frame_are_all_key_frames(alphas, key_frames):
    """The others keep libwebp's sub-frames, many times smaller for an animation that changes little."""
    def frame(alpha):
        image = Image.new("RGB" if alpha is None else "RGBA", (16, 16), (10, 20, 30))
        if alpha is not None:
            image.putpixel((3, 3), (10, 20, 30, alpha))
        return Frame(image, plan((16, 16), 16, None, "contain"), "webp", None, 0)
    assert webp_key_frames([frame(alpha) for alpha in alphas]) is key_frames


@pytest.mark.parametrize(("target", "quality", "lossless", "options"), [
    ("jpeg", None, False, {"quality": 82, "progressive": True}),
    ("jpeg", 30, False, {"quality": 30, "progressive": True}),
    ("webp", None, False, {"quality": 80, "method": 3}),
    ("webp", 55, False, {"quality": 55, "method": 3}),
    ("webp", None, True, {"lossless": True, "method": 3}),  # a lossless original stays lossless...
    ("webp", 70, True, {"quality": 70, "method": 3}),  # ...unless the URL names a quality
    ("avif", None, False, {"quality": 62, "speed": 9}),
    ("avif", 40, False, {"quality": 40, "speed": 9}),
    ("avif", None, True, {"quality": 62, "speed": 9}),  # lossless is for WebP output alone
    ("png", None, False, {"compress_level": 6}),  # no image to judge the content of: zlib's default strategy
    ("gif", 50, False, {}),
])
def test_encoder_options_per_format(target, quality, lossless, options):
    """The defaults README documents, and a URL's quality taken as given."""
    assert encoder_options(target, quality, None, lossless) == options


def test_webp_is_encoded_lossy_unless_told_it_is_a_lossless_graphic():
    """encode's and encoder_options' default: lossless is for what is_lossless_graphic picked out."""
    frame = Frame(gradient((64, 40)), plan((64, 40), 64, None, "contain"), "webp", None, 0)
    assert webp_decoder().features(encode([frame], None, 0)).format == webp.LOSSY
    assert encoder_options("webp", None) == {"quality": DEFAULT_QUALITY["webp"], "method": 3}


@pytest.mark.parametrize("target", ["jpeg", "webp", "avif"])
def test_the_quality_in_the_url_reaches_the_encoder(target):
    data = encoded(gradient((400, 300)), "PNG")
    default, _ = rendered(data, f"200x,{target}")
    qualities = (20, DEFAULT_QUALITY[target], 95)
    named = {quality: rendered(data, f"200x,{target},q{quality}")[0].body for quality in qualities}
    assert default.body == named[DEFAULT_QUALITY[target]]
    assert len(named[20]) < len(default.body) < len(named[95])


def test_jpeg_output_is_progressive():
    _, image = rendered(encoded(gradient((400, 300)), "PNG"), "200x,jpeg")
    assert image.info.get("progressive") == 1


def of_colours(count: int) -> Image.Image:
    """300 x 14 pixels of `count` colours."""
    image = Image.new("RGB", (300, 14))
    image.putdata([(index % count % 256, index % count // 256, 0) for index in range(300 * 14)])
    return image


@pytest.mark.parametrize(("source", "strategy"), [
    (gradient((300, 200)), {"compress_type": zlib.Z_RLE}),  # a photo: run-length coding
    (quadrants((300, 200)), {}),  # a flat graphic: zlib's default LZ77
    (of_colours(4096), {}), (of_colours(4097), {"compress_type": zlib.Z_RLE}),  # at most 4096 colours: a graphic
], ids=["photo", "graphic", "4096-colours", "4097-colours"])
def test_png_strategy_follows_the_content_and_stays_lossless(source, strategy):
    assert encoder_options("png", None, source) == {"compress_level": 6} | strategy
    _, image = rendered(encoded(source, "PNG"), "300x,png")
    assert image.convert("RGB").tobytes() == source.tobytes()


@pytest.mark.parametrize("count", [1, 5])
def test_gif_palettes_made_on_threads_are_exactly_pillows_own(count):
    """The engine quantises GIF frames itself, in parallel: the bytes must be what Pillow's writer makes."""
    images = [gradient((120, 90)).rotate(15 * index) for index in range(count)]
    geometry = plan((120, 90), 120, None, "contain")
    frames = [Frame(image.copy(), geometry, "gif", None, 80) for image in images]
    animation = {"save_all": True, "append_images": images[1:], "duration": [80] * count, "disposal": [1] * count,
                 "loop": 0}
    assert encode(frames, None, 0) == encoded(images[0], "GIF", **(animation if count > 1 else {}))


def shown_frames(gif: bytes, width: int) -> list[bytes]:
    """Each frame of a GIF as browsers show it, premultiplied RGBA (a hidden pixel's colour aside): as our lossless
    rendition composites it (edge/image/frames.py, as Chromium 156 does), where Pillow's reader restores a frame to
    the background colour, opaque, not to transparency as browsers do."""
    result, image = rendered(gif, f"{width}x,png")
    frames = []
    for index in range(result.frames):
        image.seek(index)
        frames.append(image.convert("RGBA").convert("RGBa").tobytes())
    return frames


def transparent_gif_frames(colours: list[tuple[int, int, int]], count: int) -> list[Image.Image]:
    """`count` frames of 255 + 30 x 8, each row showing every one of `colours`, black among them, in its first 255
    pixels; its last 30, shown in every other frame and hidden (all or nothing, as gif_alpha leaves it) in the first
    and each after a frame that showed them, so that the writer restores to background. The last frame's top and
    bottom rows are black, the colour of the transparent entry."""
    frames = []
    for index in range(count):
        frame = Image.new("RGBA", (255 + 30, 8))
        shown = [colours[(x + y + index) % len(colours)] + (255,) for y in range(8) for x in range(255)]
        extra = [colours[x] + (255 * (index % 2),) for x in range(30)]
        frame.putdata([pixel for y in range(8) for pixel in shown[255 * y:255 * (y + 1)] + extra])
        if index == count - 1:
            for row in (0, 7):
                frame.paste((0, 0, 0, 255), (0, row, 255, row + 1))
        frames.append(frame)
    return frames


GREYS_64 = [(level, level, level) for level in range(0, 256, 4)]
RANDOM_255 = [(0, 0, 0)] + [tuple(colour.to_bytes(3)) for colour in random.Random(5).sample(range(1, 1 << 24), 254)]


@pytest.mark.parametrize("colours", [GREYS_64, RANDOM_255], ids=["64-greys", "255-colours"])
@pytest.mark.parametrize("count", [1, 3])
def test_a_gif_frame_with_transparent_pixels_keeps_its_255_colours_exactly(colours, count):
    """Pillow's writer quantised RGBA by octree: 16 of the 64 greys were left, and levels came out up to 16 off."""
    images = transparent_gif_frames(colours, count)
    geometry = plan(images[0].size, images[0].width, None, "contain")
    data = encode([Frame(image.copy(), geometry, "gif", None, 100) for image in images], None, 0)
    assert shown_frames(data, images[0].width) == [image.convert("RGBa").tobytes() for image in images]


def test_a_gif_frame_of_more_colours_than_its_255_entries_keeps_its_alpha_and_its_colours_near():
    """Its shown colours are quantised into the 255 entries beside the transparent one, none into that one."""
    image = gradient((120, 40), "RGBA")
    image.putalpha(Image.linear_gradient("L").resize((120, 40)).point(lambda level: 255 if level > 90 else 0))
    assert len(image.getcolors(120 * 40)) > 1000
    geometry = plan(image.size, image.width, None, "contain")
    [shown] = shown_frames(encode([Frame(image.copy(), geometry, "gif", None, 100)], None, 0), image.width)
    written = Image.frombytes("RGBa", image.size, shown).convert("RGBA")
    assert written.getchannel("A").tobytes() == image.getchannel("A").tobytes()
    hidden_apart = Image.composite(written, image, image.getchannel("A"))  # hidden pixels: the source's own
    assert largest_difference(hidden_apart.convert("RGB"), image.convert("RGB")) <= 16  # median cut: 13


@pytest.mark.parametrize("halves", [
    ["left", None, "right"], [None, "left", None, "right"], ["left", "right", None], [None, "left"],
    ["left", "whole", None],
], ids=["hidden-between", "hidden-first-and-between", "hidden-last", "hidden-first", "opaque-between"])
def test_a_gif_frame_hidden_whole_is_written_as_a_frame_not_as_a_second_header(halves):
    """After the first, Pillow's writer, restoring to background, wrote it as a second GIF header, where Chromium
    156 stops (a helper's finding: only the frames before it were shown). Pillow reads on: headers are counted."""
    images = []
    for half in halves:
        image = Image.new("RGBA", (8, 6))
        if half is not None:
            image.paste((200, 10, 10, 255), {"left": (0, 0, 4, 6), "right": (4, 0, 8, 6), "whole": (0, 0, 8, 6)}[half])
        images.append(image)
    geometry = plan((8, 6), 8, None, "contain")
    data = encode([Frame(image.copy(), geometry, "gif", None, 100) for image in images], None, 0)
    assert data.count(b"GIF89a") == 1
    assert shown_frames(data, 8) == [image.convert("RGBa").tobytes() for image in images]


@pytest.mark.parametrize(("frames", "merged"), [
    ([("L", 5, 30), ("L", 5, 50)], [("L", 80)]),  # the fewest frames an animation has: then a still
    ([("L", 5, 30), ("P", 5, 50)], [("L", 30), ("P", 50)]),  # the same bytes, but palette indices, not levels
], ids=["two-alike", "same-bytes-other-mode"])
def test_a_frame_alike_the_one_before_is_folded_into_it_with_its_duration_added(frames, merged):
    geometry = plan((4, 4), 4, None, "contain")
    folded = merge_repeated([Frame(Image.new(mode, (4, 4), value), geometry, "gif", None, duration)
                             for mode, value, duration in frames])
    assert [(frame.image.mode, frame.duration) for frame in folded] == merged


def test_an_mpo_whose_preview_is_missing_renders_at_its_own_size_as_avif():
    """Pillow's AVIF writer walks every frame of the image it is given, here the opened source itself: it sought
    the preview, which the file's end cuts off, and failed (a 500 a fuzzer found)."""
    buffer = io.BytesIO()
    Image.new("L", (32, 24), 200).save(buffer, "MPO", save_all=True, append_images=[Image.new("L", (32, 24), 50)])
    first_picture = buffer.getvalue()[:buffer.getvalue().index(b"\xff\xd9") + 2]
    _, image = rendered(first_picture, "32x,avif")  # grey: no step makes a new image of it
    assert image.size == (32, 24) and max_difference(image.convert("L").getpixel((5, 5)), 200) <= 3


def test_an_apng_of_fewer_frames_than_it_declares_renders_at_its_own_size_as_avif():
    """Its one frame present is rendered, and no step changes it: Pillow's AVIF writer sought the second frame
    acTL declares, which is not there, and failed (a 500 a fuzzer found)."""
    stream = zlib.compress(b"".join(b"\0" + bytes([row * 16] * 16) for row in range(12)))
    data = apng_from_streams((16, 12, 8, 0), [(stream, (16, 12), (0, 0), 0, 0)])
    actl = data.index(b"acTL") - 4
    declaring_two = data[:actl] + png_chunk(b"acTL", struct.pack(">II", 2, 0)) + data[actl + 20:]
    result, image = rendered(declaring_two, "16x,avif")
    assert (image.size, result.frames) == ((16, 12), 1)
