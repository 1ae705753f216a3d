"""An animation's frames (edge/image/frames.py): drawn, timed and played as browsers show them, and written so to
each animated format."""

import io
import random
import struct
import zlib
from concurrent.futures import Future

import pytest
from PIL import Image, ImageDraw

import bombs
from bombs import png_chunk
from edge import avif, png, webp
from edge.errors import SourceTooLarge
from edge.geometry import plan
from edge.image import Limits, render
from edge.image.frames import FRAMES_AHEAD, MAX_FRAME_MS, frame_canvas, leaves_gaps, rendered_frames, source_frames
from edge.image.model import Frame
from edge.image.output import encode, gif_disposal, loop_option, written_delays
from edge.image.source import open_source
from edge.image.steps import gif_alpha
from edge.rendition import parse_rendition
from imaging import (
    BLUE, DURATIONS, FRAME_COLOURS, GREEN, LIMITS, LOSSY_EPSILON, RED, YELLOW, animation, apng_from_streams, encoded,
    gif_by_hand, gradient, max_difference, png_stream, quadrants, rendered,
)


def frames_of(image: Image.Image) -> list[tuple]:
    found = []
    for index in range(image.n_frames):
        image.seek(index)
        colour = image.convert("RGB").getpixel((16, 12))  # loads the frame, and with it its duration
        found.append((image.size, image.info.get("duration"), colour))
    return found


ONCE, THRICE, FOREVER = 1, 3, 0  # plays, as WebP and APNG count them


def gif_loop(plays: int) -> dict[str, int]:
    """A GIF's loop option for `plays`, as browsers read it: repeats after the first play, and none to play once."""
    return {} if plays == ONCE else {"loop": {THRICE: 2, FOREVER: 0}[plays]}


def avif_loop_boxes(data: bytes) -> tuple[int, int, int, int]:
    """(the edit list's flags, its segment's duration, the track's, the movie's duration), read at the offsets
    of the version-1 boxes libavif writes (ISO/IEC 14496-12: elst, tkhd, mvhd)."""
    elst, tkhd, mvhd = (data.index(kind) + 4 for kind in (b"elst", b"tkhd", b"mvhd"))
    return (int.from_bytes(data[elst + 1:elst + 4]), int.from_bytes(data[elst + 8:elst + 16]),
            int.from_bytes(data[tkhd + 28:tkhd + 36]), int.from_bytes(data[mvhd + 24:mvhd + 32]))


def avif_animation(plays: int) -> bytes:
    """An animated AVIF that plays `plays` times: libavif writes one that plays forever; once, its edit list
    does not repeat; more, the track lasts that many times the list."""
    data = bytearray(animation("AVIF"))
    if plays == ONCE:
        data[data.index(b"elst") + 7] = 0
    elif plays != FOREVER:
        avif.set_plays(memoryview(data), plays)
        assert avif_loop_boxes(data)[2] == plays * sum(DURATIONS)
    return bytes(data)


def plays_in(image: Image.Image, data: bytes) -> int:
    """How many times an output plays, from its own format's count."""
    if image.format == "AVIF":
        flags, segment, track, movie = avif_loop_boxes(data)
        assert flags == 1 and track == movie
        return FOREVER if track == 2**64 - 1 else track // segment
    loop = image.info.get("loop")
    if image.format == "GIF":
        return ONCE if loop is None else loop + 1 if loop else FOREVER
    return loop


@pytest.mark.parametrize(("source_format", "target"), [("GIF", "gif"), ("GIF", "webp"), ("WEBP", "webp"),
                                                       ("WEBP", "gif"), ("PNG", "png"), ("GIF", "avif"),
                                                       ("PNG", "avif"), ("PNG", "gif"), ("WEBP", "avif")])
def test_animation_is_kept_with_every_frame_resized(source_format, target):
    data = animation(source_format, loop=0)
    result, image = rendered(data, f"32x,{target}")
    assert result.frames == 5
    assert getattr(image, "is_animated", False)
    assert plays_in(image, result.body) == FOREVER
    for (size, duration, colour), expected_duration, expected_colour in zip(
        frames_of(image), DURATIONS, FRAME_COLOURS, strict=True
    ):
        assert size == (32, 24) and duration == expected_duration
        assert max_difference(colour, expected_colour) <= 16  # two lossy steps: the source and the output


def blue_then_green(frames: int) -> list[Image.Image]:
    """`frames` 8x8 RGBA frames, each blue on its left half alone (and green on its right from the second on),
    over transparency."""
    first = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    first.paste(BLUE + (255,), (0, 0, 4, 8))
    later = first.copy()
    later.paste(GREEN + (255,), (4, 0, 8, 8))
    return [first] + [later] * (frames - 1)


def apng_with_fallback(frames: int = 2) -> bytes:
    """An RGBA APNG whose IDAT image, red all over, is a fallback outside its animation of blue_then_green()."""
    return encoded(Image.new("RGBA", (8, 8), RED + (255,)), "PNG", save_all=True, append_images=blue_then_green(frames),
                   default_image=True, blend=1, duration=DURATIONS[:frames])  # of the animation's frames


@pytest.mark.parametrize("target", ["png", "gif", "avif"])
def test_an_apngs_fallback_image_is_not_a_frame_and_its_animation_starts_on_transparency(target):
    """Browsers never show it; Pillow counts it as frame 0, and starts the next frame on it."""
    result, image = rendered(apng_with_fallback(), f"8x,{target}")
    assert result.frames == image.n_frames == 2
    found = []
    for index in range(2):
        image.seek(index)
        frame = image.convert("RGBA")
        found.append((frame.getpixel((1, 1)), frame.getpixel((6, 1))[3], image.info.get("duration")))
    tolerance = 0 if target != "avif" else 16  # AVIF is lossy
    (_, right_first, _), (_, right_second, _) = found
    assert right_first <= tolerance and right_second == 255  # transparent where no frame has drawn yet
    assert all(max_difference(left[:3], BLUE) <= tolerance for left, _, _ in found)
    assert [duration for _, _, duration in found] == DURATIONS[:2]


def test_a_still_image_of_an_apng_with_a_fallback_is_its_animations_first_frame():
    result, image = rendered(apng_with_fallback(), "8x,jpeg")
    assert max_difference(image.getpixel((1, 1)), BLUE) <= 16
    assert min(image.getpixel((6, 1))) >= 250  # transparency on white


@pytest.mark.parametrize("target", ["png", "gif", "webp"])
def test_the_first_frame_after_a_fallback_is_drawn_as_a_first_frame(target):
    """Not blended over anything (a half-transparent pixel keeps its alpha), and its 'restore to previous'
    restores the empty canvas, as for any first frame: Pillow drew it as a later frame, over the fallback."""
    first = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    first.paste(BLUE + (128,), (0, 0, 4, 8))
    second = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    second.paste(GREEN + (255,), (4, 0, 8, 8))
    data = encoded(Image.new("RGBA", (8, 8), RED + (255,)), "PNG", save_all=True, append_images=[first, second],
                   default_image=True, blend=1, disposal=[2, 0], duration=DURATIONS[:2])
    _, image = rendered(data, f"8x,{target}")
    image.seek(0)
    alpha = image.convert("RGBA").getpixel((1, 1))[3]
    assert alpha == 128 if target != "gif" else alpha == 255  # GIF has no partial alpha: 128 and up is opaque
    image.seek(1)
    assert image.convert("RGBA").getpixel((1, 1))[3] == 0  # restored to the empty canvas
    assert max_difference(image.convert("RGBA").getpixel((6, 1)), GREEN + (255,)) <= 1  # WebP's colour conversion


@pytest.mark.parametrize(("mode", "opaque", "half", "over_opaque"), [
    ("RGBA", (255, 0, 0, 255), (0, 255, 0, 128), (127, 128, 0, 255)),
    ("LA", (200, 255), (100, 128), (150, 255)),
])
def test_a_partly_transparent_apng_frame_blends_over_the_canvas_as_browsers_blend_it(mode, opaque, half, over_opaque):
    """Chromium shows the second frame so: Pillow pasted it through its own alpha, (0, 128, 0, 64) on the right."""
    first = Image.new(mode, (8, 8), (0,) * len(mode))
    first.paste(opaque, (0, 0, 4, 8))
    data = encoded(first, "PNG", save_all=True, append_images=[Image.new(mode, (8, 8), half)], blend=1, disposal=0,
                   duration=DURATIONS[:2])
    _, image = rendered(data, "8x,png")
    image.seek(1)
    second = image.convert(mode)
    assert (second.getpixel((1, 1)), second.getpixel((6, 1))) == (over_opaque, half)


APNG_DISPOSE_BACKGROUND, APNG_DISPOSE_PREVIOUS = 1, 2
PALETTE, PALETTE_ALPHA = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0]), bytes([0, 128, 255, 64])
APNG_COLOUR_TYPES = {"RGBA": 6, "LA": 4, "P": 3, "RGB": 2, "L": 0}


def apng_by_hand(mode: str, canvas: tuple[int, int], fallback: Image.Image | None, frames: list,
                 interlaced: bool = False) -> bytes:
    """An 8-bit APNG of one of APNG_COLOUR_TYPES (a palette's PALETTE, its alpha PALETTE_ALPHA) of frames
    (image, (left, top), dispose op, blend op), after `fallback`, if any."""
    palette = png_chunk(b"PLTE", PALETTE) + png_chunk(b"tRNS", PALETTE_ALPHA) if mode == "P" else b""
    return apng_from_streams((*canvas, 8, APNG_COLOUR_TYPES[mode]),
                             [(png_stream(image, interlaced), image.size, *rest) for image, *rest in frames], palette,
                             None if fallback is None else png_stream(fallback, interlaced), interlaced)


def as_browsers_show(canvas: tuple[int, int], frames: list) -> list[Image.Image]:
    """The APNG specification's output buffer after each frame, which is what browsers show."""
    buffer, shown = Image.new("RGBA", canvas, (0, 0, 0, 0)), []
    for index, (image, (left, top), dispose, blend) in enumerate(frames):
        before, box = buffer.copy(), (left, top, left + image.width, top + image.height)
        if image.mode == "P":
            image = image.copy()
            image.putpalette(PALETTE)
            image.info["transparency"] = PALETTE_ALPHA
        if blend:
            buffer.alpha_composite(image.convert("RGBA"), (left, top))
        else:
            buffer.paste(image.convert("RGBA"), box)
        shown.append(buffer.copy())
        if dispose == APNG_DISPOSE_BACKGROUND or (dispose == APNG_DISPOSE_PREVIOUS and index == 0):
            buffer.paste((0, 0, 0, 0), box)
        elif dispose == APNG_DISPOSE_PREVIOUS:
            buffer.paste(before.crop(box), box)
    return shown


def drawn_frames(data: bytes, count: int | None = None) -> list[Frame]:
    """The source's first `count` frames (all by default) as its canvas (frame_canvas) draws them, before any
    step."""
    source = open_source(data, LIMITS)
    count = count or source.frames
    return list(source_frames(source.image, source.first_frame, count, "png", None, 1, data, None,
                              frame_canvas(source, count, data), source.image.size))


def premultiplied(image: Image.Image) -> bytes:
    """The pixels as they look: the colour of a transparent pixel does not show."""
    rgba = image.tobytes()
    return bytes(value * rgba[at | 3] // 255 if at % 4 < 3 else value for at, value in enumerate(rgba))


def random_pixel(rng: random.Random, mode: str) -> int | tuple[int, ...]:
    """An index into PALETTE, or samples of 0, 64, 128 or 255."""
    if mode == "P":
        return rng.randint(0, 3)
    samples = tuple(rng.choice([0, 64, 128, 255]) for _ in mode)
    return samples if len(samples) > 1 else samples[0]


@pytest.mark.parametrize("seed", range(4))
def test_random_apngs_come_out_as_browsers_show_them(seed):
    """Frames at any place, every dispose and blend op, partial alpha, opaque frames that leave the canvas
    uncovered, with or without a fallback image. Before these fixes Pillow's compositing differed on 225 of 300
    such RGBA and LA files and on 53 of 300 palette ones with alpha all or nothing; before the canvas was kept in
    RGBA (ApngCanvas), on 175 of 300 palettes with partial alpha, and on 207 of 300 RGB and 226 of 300 grey
    files, their gaps shown black."""
    rng = random.Random(seed)
    for _ in range(15):
        mode, canvas = rng.choice(list(APNG_COLOUR_TYPES)), (rng.randint(2, 9), rng.randint(2, 9))
        frames = []
        for index in range(rng.randint(2, 4)):
            size = canvas if index == 0 else (rng.randint(1, canvas[0]), rng.randint(1, canvas[1]))
            image = Image.new(mode, size)
            image.putdata([random_pixel(rng, mode) for _ in range(size[0] * size[1])])
            place = (rng.randint(0, canvas[0] - size[0]), rng.randint(0, canvas[1] - size[1]))
            frames.append((image, place, rng.randint(0, 2), rng.randint(0, 1)))
        fallback = Image.new(mode, canvas, 2 if mode == "P" else (255,) * len(mode)) if rng.random() < 0.3 else None
        found = [frame.image.convert("RGBA") for frame in drawn_frames(apng_by_hand(mode, canvas, fallback, frames))]
        expected = as_browsers_show(canvas, frames)
        assert [premultiplied(image) for image in found] == [premultiplied(image) for image in expected]


RED_8, GREEN_4 = Image.new("RGB", (8, 8), RED), Image.new("RGB", (4, 4), GREEN)


@pytest.mark.parametrize(("mode", "fallback", "frames", "shown"), [
    ("RGB", None, [(RED_8, (0, 0), APNG_DISPOSE_BACKGROUND, 0), (GREEN_4, (0, 0), 0, 0)],
     [(RED + (255,), RED + (255,)), (GREEN + (255,), (0, 0, 0, 0))]),
    ("RGB", RED_8, [(GREEN_4, (0, 0), 0, 0), (GREEN_4, (4, 4), 0, 1)],
     [(GREEN + (255,), (0, 0, 0, 0)), (GREEN + (255,), GREEN + (255,))]),
    ("L", None, [(Image.new("L", (8, 8), 200), (0, 0), APNG_DISPOSE_BACKGROUND, 0),
                 (Image.new("L", (4, 8), 50), (0, 0), 0, 0)],
     [((200, 200, 200, 255),) * 2, ((50, 50, 50, 255), (0, 0, 0, 0))]),
    ("P", None, [(Image.new("P", (8, 8), 2), (0, 0), 0, 0), (Image.new("P", (8, 8), 1), (0, 0), 0, 1)],
     [((0, 0, 255, 255),) * 2, ((0, 128, 127, 255),) * 2]),  # green at half alpha over blue
    ("P", None, [(Image.new("P", (8, 8), 1), (0, 0), 0, 0), (Image.new("P", (8, 8), 3), (0, 0), 0, 1)],
     [((0, 255, 0, 128),) * 2, ((102, 255, 0, 160),) * 2]),  # yellow at quarter alpha over green at half
], ids=["rgb-disposed-to-background", "rgb-first-frame-after-a-fallback", "grey-disposed-to-background",
        "palette-half-alpha-over-opaque", "palette-quarter-alpha-over-half"])
def test_an_apngs_gaps_and_blends_show_as_chromium_shows_them(mode, fallback, frames, shown):
    """Chromium 156's pixels, at (1, 1) and (6, 6) of each frame. Pillow showed the gaps of an RGB or grey APNG
    black, the fallback around a first frame after it, and a palette's partial alpha all or nothing."""
    _, image = rendered(apng_by_hand(mode, (8, 8), fallback, frames), "8x,png")
    found = []
    for index in range(image.n_frames):
        image.seek(index)
        rgba = image.convert("RGBA")
        found.append((rgba.getpixel((1, 1)), rgba.getpixel((6, 6))))
    assert found == shown


@pytest.mark.parametrize("dispose", [0, APNG_DISPOSE_BACKGROUND], ids=["pillows-canvas", "cleared-then-covered"])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_an_opaque_apng_that_leaves_no_gap_comes_out_without_alpha(mode, dispose):
    """Drawn on Pillow's canvas, or on one with alpha (ApngCanvas) where the first frame is cleared, then covered
    by the next: no alpha channel comes out."""
    first, second = (gradient((8, 8)).rotate(angle).convert(mode) for angle in (0, 90))
    result, image = rendered(apng_by_hand(mode, (8, 8), None, [(first, (0, 0), dispose, 0), (second, (0, 0), 0, 1)]),
                             "8x,png")
    assert result.frames == 2 and image.mode == ("L" if mode == "L" else "RGB")


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_an_opaque_apng_that_leaves_no_gap_is_drawn_in_its_own_mode(mode):
    """On Pillow's canvas (PillowCanvas), not on one with alpha (ApngCanvas): the frames would come out the
    same, but a grey canvas would take twice the memory, an RGB one a third more."""
    first, second = (gradient((8, 8)).rotate(angle).convert(mode) for angle in (0, 90))
    frames = drawn_frames(apng_by_hand(mode, (8, 8), None, [(first, (0, 0), 0, 0), (second, (0, 0), 0, 1)]))
    assert [frame.image.mode for frame in frames] == [mode, mode]


def test_an_apngs_first_frame_alone_is_pillows_own_palette_image():
    """For a still, its IDAT image, which Pillow draws as browsers do: not on an RGBA canvas (ApngCanvas), at four
    times a palette's memory."""
    frames = [(Image.new("P", (8, 8), index), (0, 0), 0, 0) for index in (1, 2)]
    (first,) = drawn_frames(apng_by_hand("P", (8, 8), None, frames), count=1)
    assert (first.image.mode, first.image.getpixel((1, 1))) == ("P", 1)


@pytest.mark.parametrize(("controls", "gaps"), [
    (((8, 8, 0, 0, 0), (4, 4, 2, 2, 0)), False),
    (((8, 8, 0, 0, 0), (4, 4, 2, 2, APNG_DISPOSE_BACKGROUND)), False),  # the last frame's disposal never shows
    (((8, 8, 0, 0, APNG_DISPOSE_BACKGROUND), (8, 8, 0, 0, 0)), True),
    (((8, 8, 0, 0, APNG_DISPOSE_PREVIOUS), (8, 8, 0, 0, 0)), True),  # the empty canvas, restored
    (((8, 8, 0, 0, 0), (4, 4, 0, 0, APNG_DISPOSE_PREVIOUS), (8, 8, 0, 0, 0)), False),  # drawn pixels, restored
    (((8, 8, 0, 0, 0), (4, 4, 0, 0, APNG_DISPOSE_BACKGROUND), (8, 8, 0, 0, 0)), True),
    (((4, 8, 0, 0, 0),), True),  # a first frame after a fallback, smaller than the canvas
    (((8, 8, 0, 0, APNG_DISPOSE_BACKGROUND),), False),
    (((8, 8, 0, 0, APNG_DISPOSE_PREVIOUS),), False),  # a first frame put back, but as the last: never shown
    (((8, 8, 0, 0, 0), None), True),  # a frame control cut short
])
def test_opaque_frames_leave_gaps_where_the_canvas_is_cleared_or_never_drawn(controls, gaps):
    assert leaves_gaps(controls, (8, 8)) == gaps


@pytest.mark.parametrize("gaps", [True, False], ids=["with-gaps", "without-gaps"])
@pytest.mark.parametrize("mode", list(APNG_COLOUR_TYPES))
def test_an_interlaced_apng_renders_as_the_same_frames_not_interlaced(mode, gaps):
    """Pillow failed on an interlaced APNG's second frame (a 415); Chromium shows it. Frames of odd sizes, which
    leave some of Adam7's passes empty, after a fallback; or frames that leave no gap, which Pillow's own canvas
    would draw, opaque."""
    def frame(size: tuple[int, int], angle: int) -> Image.Image:
        turned = gradient(size).rotate(angle)
        return turned.convert(mode) if mode != "P" else turned.quantize(4)

    if gaps:
        frames = [(frame((9, 7), 0), (0, 0), 0, 0), (frame((5, 3), 90), (2, 3), APNG_DISPOSE_BACKGROUND, 1),
                  (frame((1, 6), 45), (8, 0), APNG_DISPOSE_PREVIOUS, 1)]
        fallback = frame((9, 7), 180)
    else:
        frames, fallback = [(frame((9, 7), angle), (0, 0), 0, 0) for angle in (0, 90, 180)], None
    plain, interlaced = (render(apng_by_hand(mode, (9, 7), fallback, frames, interlaced), parse_rendition(
        "/9x,png/key"), LIMITS) for interlaced in (False, True))
    assert interlaced.frames == plain.frames == 3 and interlaced.body == plain.body


def test_a_sixteen_bit_grey_apng_frame_over_an_opaque_canvas_is_drawn_as_it_is():
    """Pillow made a mask of it, which 16-bit grey cannot give: a 415."""
    rows = b"".join(b"\0" + struct.pack(">H", 40_000) * 4 for _ in range(4))
    first = png_chunk(b"IDAT", zlib.compress(b"".join(b"\0" + struct.pack(">H", 20_000) * 4 for _ in range(4))))
    data = (bombs.PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 16, 0, 0, 0, 0))
            + png_chunk(b"acTL", struct.pack(">II", 2, 0))
            + png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 4, 4, 0, 0, 1, 10, 0, 0)) + first
            + png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 1, 4, 4, 0, 0, 1, 10, 0, 1))
            + png_chunk(b"fdAT", struct.pack(">I", 2) + zlib.compress(rows)) + png_chunk(b"IEND", b""))
    result, image = rendered(data, "4x,png")
    image.seek(1)
    assert result.frames == 2 and image.convert("L").getpixel((1, 1)) == round(40_000 / 257)  # to 8 bits


def test_a_sixteen_bit_grey_apng_with_a_gap_is_drawn_and_comes_out_grey():
    """On a canvas of grey and alpha (LA), as an 8-bit one is: not RGBA, which would come out in colour."""
    def stream(value: int, size: tuple[int, int]) -> bytes:
        return zlib.compress(b"".join(b"\0" + struct.pack(">H", value) * size[0] for _ in range(size[1])))

    data = apng_from_streams((4, 4, 16, 0), [(stream(20_000, (4, 4)), (4, 4), (0, 0), APNG_DISPOSE_BACKGROUND, 0),
                                             (stream(40_000, (2, 2)), (2, 2), (0, 0), 0, 0)])
    result, image = rendered(data, "4x,png")
    image.seek(1)
    assert (result.frames, image.mode, image.getpixel((1, 1)), image.getpixel((3, 3))) == (2, "LA", (156, 255), (0, 0))


def test_a_fallback_image_counts_against_the_pixel_limit_as_pillow_decodes_it():
    with pytest.raises(SourceTooLarge, match="3 frames of 8x8"):
        rendered(apng_with_fallback(2), "8x,png", Limits(max_pixels=2 * 8 * 8, max_frames=300))


@pytest.mark.parametrize("where", ["none", "after-iend", "without-data"])
def test_an_apng_with_no_frame_is_its_fallback_image_as_viewers_without_apng_show_it(where):
    """Chromium 156 shows an empty canvas; Pillow reads on past IEND, and failed on a frame control without data."""
    data = apng_with_fallback(1)
    frame_start, frame_data, iend = data.index(b"fcTL") - 4, data.index(b"fdAT") - 4, data.index(b"IEND") - 4
    no_frame = {"none": data[:frame_start] + data[iend:],
                "after-iend": data[:frame_start] + data[iend:] + data[frame_start:iend],
                "without-data": data[:frame_data] + data[iend:]}[where]
    for target in ("png", "jpeg"):
        result, image = rendered(no_frame, f"8x,{target}")
        assert result.frames == 1 and max_difference(image.convert("RGB").getpixel((1, 1)), RED) <= 2


def declaring_frames(data: bytes, count: int) -> bytes:
    """The APNG with its acTL (CRC made right again) declaring `count` frames."""
    at = data.index(b"acTL") - 4
    return data[:at] + png_chunk(b"acTL", struct.pack(">I", count) + data[at + 12:at + 16]) + data[at + 20:]


@pytest.mark.parametrize("fallback", [False, True], ids=["frames-only", "after-a-fallback"])
@pytest.mark.parametrize(("declared", "played"), [(1, 1), (2, 2), (3, 2), (100_000, 2)])
def test_an_apng_plays_the_frames_it_holds_up_to_as_many_as_it_declares(fallback, declared, played):
    """As Chromium plays them: Pillow took acTL's count, and failed on the first frame missing (a 415)."""
    first, *later = blue_then_green(2)
    data = apng_with_fallback(2) if fallback else encoded(first, "PNG", save_all=True, append_images=later, blend=1,
                                                         duration=DURATIONS[:2])
    result, image = rendered(declaring_frames(data, declared), "8x,png")
    assert result.frames == getattr(image, "n_frames", 1) == played
    rights = []
    for index in range(played):
        image.seek(index)
        rights.append(image.convert("RGBA").getpixel((6, 1)))
    assert rights == [(0, 0, 0, 0), GREEN + (255,)][:played]


@pytest.mark.parametrize("fallback", [False, True], ids=["frames-only", "after-a-fallback"])
@pytest.mark.parametrize(("declared", "max_frames"), [(1, 1), (2, 2), (2, 1), (3, 2), (5, 2)])  # 5, 2: 3 counted, not 5
def test_an_apng_of_more_frames_than_the_walk_counts_renders_as_if_all_were_counted(fallback, declared, max_frames):
    """5 frames present, of which the walk counts max_frames + 1: those it needs for as many as acTL declares, or
    enough to refuse them."""
    frames = [Image.new("RGBA", (8, 8), colour + (255,)) for colour in (RED, GREEN, BLUE, YELLOW, RED)]
    first = Image.new("RGBA", (8, 8), (0, 0, 0, 0)) if fallback else frames.pop(0)
    apng = encoded(first, "PNG", save_all=True, append_images=frames, default_image=fallback, duration=100)
    data = declaring_frames(apng, declared)
    assert len(png.frame_controls(data, 300)) == 5 and len(png.frame_controls(data, max_frames)) == max_frames + 1
    limits = Limits(max_pixels=50_000_000, max_frames=max_frames)
    if declared > max_frames:
        with pytest.raises(SourceTooLarge, match=f"{max_frames + 1} frames counted, over {max_frames}"):
            render(data, parse_rendition("/8x,png/key"), limits)
    else:
        assert rendered(data, "8x,png", limits)[0] == rendered(data, "8x,png")[0]


def test_an_apngs_fallback_image_does_not_count_against_the_frame_limit():
    result, _ = rendered(apng_with_fallback(3), "8x,png", Limits(max_pixels=50_000_000, max_frames=3))
    assert result.frames == 2  # the second and third frames are the same, and merged


def avif_full_range_flag(data: bytes) -> bool:
    """The full_range_flag of the AVIF's nclx colour box (ISO/IEC 23091-2)."""
    at = data.index(b"colrnclx") + len(b"colrnclx") + 6  # after primaries, transfer, matrix
    return bool(data[at] & 0x80)


def test_animated_avif_is_limited_range_so_that_browsers_show_the_right_colours():
    animated, _ = rendered(animation("GIF", loop=0), "32x,avif")
    still, _ = rendered(encoded(gradient((64, 48)), "PNG"), "32x,avif")
    assert animated.frames == 5 and not avif_full_range_flag(animated.body)
    assert avif_full_range_flag(still.body)


@pytest.mark.parametrize("target", ["png", "gif", "avif", "webp"])
def test_an_animated_webp_whose_header_hides_its_alpha_keeps_it(target):
    """libwebp's encoder (Pillow's, here) leaves the alpha flag unset, and Pillow then reads the frames as RGB:
    black where Chromium shows transparency. An opaque one comes out without alpha all the same."""
    frames = [Image.new("RGBA", (8, 8), (0, 0, 0, 0)) for _ in range(2)]
    frames[0].paste(RED + (255,), (0, 0, 4, 4))
    frames[1].paste(BLUE + (255,), (4, 4, 8, 8))
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert webp.hides_animation_alpha(data)
    result, _ = rendered(data, f"8x,{target}")
    ours = webp.with_alpha_declared(result.body) if webp.hides_animation_alpha(result.body) else result.body
    image, seen = Image.open(io.BytesIO(ours)), []  # read as Chromium reads it: our WebP hides its alpha too
    for index in range(result.frames):
        image.seek(index)
        rgba = image.convert("RGBA")
        seen.append((rgba.getpixel((1, 1)), rgba.getpixel((6, 6))))
    tolerance = LOSSY_EPSILON[target]
    assert result.frames == 2
    assert max_difference(seen[0][0], RED + (255,)) <= tolerance and seen[0][1][3] <= tolerance
    assert seen[1][0][3] <= tolerance and max_difference(seen[1][1], BLUE + (255,)) <= tolerance


def test_an_opaque_animated_webp_without_its_alpha_flag_comes_out_without_alpha():
    frames = [gradient((8, 8)).rotate(angle) for angle in (0, 90)]
    data = bytearray(encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True))
    data[webp.VP8X_FLAGS_AT] &= ~webp.VP8X_ALPHA  # libwebp's encoder sets it here, for its blended sub-frames
    result, image = rendered(bytes(data), "8x,png")
    assert webp.hides_animation_alpha(bytes(data)) and result.frames == 2 and image.mode == "RGB"


def webp_frame_rectangles(data: bytes) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) of every ANMF chunk of an animated WebP, read from its RIFF."""
    rectangles, position = [], 12  # past "RIFF", the size and "WEBP"
    while position < len(data):
        kind, size = data[position:position + 4], int.from_bytes(data[position + 4:position + 8], "little")
        if kind == b"ANMF":
            fields = [int.from_bytes(data[position + 8 + offset:position + 11 + offset], "little")
                      for offset in (0, 3, 6, 9)]
            rectangles.append((fields[0] * 2, fields[1] * 2, fields[2] + 1, fields[3] + 1))
        position += 8 + size + size % 2
    return rectangles


def test_animated_webp_frames_after_the_first_carry_only_what_changed():
    """No key frame is inserted: libwebp would otherwise encode a whole frame every 3-5 frames."""
    frames = []
    for index in range(12):
        frame = Image.new("RGB", (160, 120), (128, 128, 128))
        frame.paste((255, 255, 255), (8 * index, 40, 8 * index + 16, 56))
        frames.append(frame)
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    result, _ = rendered(data, "160x,webp")
    rectangles = webp_frame_rectangles(result.body)
    assert len(rectangles) == 12
    assert rectangles[0] == (0, 0, 160, 120)
    assert all(width * height < 160 * 120 // 4 for _, _, width, height in rectangles[1:])


@pytest.mark.parametrize("target", ["gif", "png", "webp"])
def test_frames_alike_once_cropped_become_one_with_their_durations_added(target):
    """Every source frame differs, in a strip at its left edge that the cover crop cuts away
    (the encoders fold frames that are alike in the source themselves)."""
    colours = [RED, RED, GREEN, GREEN, GREEN, RED, BLUE, BLUE]
    frames = [Image.new("RGB", (40, 30), colour) for colour in colours]
    for index, frame in enumerate(frames):
        frame.paste((index * 30, 128, 128), (0, 0, 2, 30))
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True,
                   duration=[100, 200, 300, 400, 500, 600, 700, 800])
    assert Image.open(io.BytesIO(data)).n_frames == 8
    result, image = rendered(data, f"20x20,cover,{target}")
    found = frames_of(image)
    assert result.frames == len(found) == 4
    assert [duration for _, duration, _ in found] == [300, 1200, 600, 1500]
    for (_, _, colour), expected in zip(found, [RED, GREEN, RED, BLUE], strict=True):
        assert max_difference(colour, expected) <= LOSSY_EPSILON[target]


@pytest.mark.parametrize("target", ["png", "webp", "avif"])
def test_an_apng_s_delays_are_cut_to_the_millisecond_as_chromium_reads_them(target):
    """Chromium 156 reports delays of 53/5000, 249/2500 and 51/2500 s as 10, 99 and 20 ms (by hand), and shows
    the first for 100; rounded to 11, it was shown for 11. Whole ones stay whole: Pillow reads 1001/1000 s as
    1000.9999999999999 ms, which Chromium reads as 1001 (a reviewer's check)."""
    frames = [Image.new("RGB", (40, 30), colour) for colour in (RED, GREEN, BLUE, YELLOW, RED)]
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:],
                   duration=[10.6, 99.6, 20.4, 1001, 2010])
    _, image = rendered(data, f"40x,{target}")
    assert [round(duration, 6) for _, duration, _ in frames_of(image)] == [100, 99, 20, 1001, 2010]  # Pillow's float


@pytest.mark.parametrize("target", ["gif", "png", "webp"])
def test_frames_alike_become_one_shown_as_long_as_browsers_showed_them(target):
    """Browsers show a frame of 10 ms or less for 100 ms, and it is written so: two such frames of red showed for
    200 ms, not 10, and the green one for 100. (Frames alike in the source would be folded by its encoder: they
    differ in a strip that the crop cuts away.)"""
    colours = [RED, RED, GREEN, BLUE, BLUE, BLUE]
    frames = [Image.new("RGB", (40, 30), colour) for colour in colours]
    for index, frame in enumerate(frames):
        frame.paste((index * 30, 128, 128), (0, 0, 2, 30))
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True,
                   duration=[0, 10, 10, 20, 10, 30])
    _, image = rendered(data, f"20x20,cover,{target}")
    assert [duration for _, duration, _ in frames_of(image)] == [200, 100, 150]


@pytest.mark.parametrize(("durations", "plays", "shown"), [
    ([15, 19, 14, 11], ONCE, [(0, 20), (1, 20), (2, 20), (3, 20)]),  # the shortest that browsers do not slow down
    ([15, 19, 14, 11], FOREVER, [(0, 20), (1, 20), (3, 20)]),  # the last 20 ms before the first is back: 3 the longer
    ([15, 19, 44, 12], FOREVER, [(0, 20), (1, 20), (2, 50)]),  # ...and 2, shown 38 ms from its start against 12, kept
    ([15, 19, 14, 11], THRICE, [(0, 20), (1, 20), (2, 20), (3, 20)]),  # it comes to rest on the last
    ([11, 11, 32], FOREVER, [(0, 20), (2, 30)]),  # the last shows longer than the one before in what is left
    ([11, 20, 11], FOREVER, [(0, 20), (1, 20)]),  # ...as long (11 ms each): the one before stays
    ([44, 11, 13], FOREVER, [(0, 40), (2, 30)]),  # 1 is placed 4 ms before it shows, and shows 11 ms against 13
    ([16, 12, 13, 13], FOREVER, [(0, 20), (3, 30)]),  # 3 takes 2's place, then 1's, which shows 8 ms of it
    ([15, 25, 25, 25, 25], FOREVER, [(0, 20), (1, 20), (2, 30), (3, 20), (4, 30)]),  # each starts where it did
    ([42, 41, 42, 42, 41, 42], FOREVER, [(0, 40), (1, 40), (2, 50), (3, 40), (4, 40), (5, 40)]),  # 24 fps
    ([12, 28, 12, 28], FOREVER, [(0, 20), (1, 20), (2, 20), (3, 20)]),  # late by 8 ms, then on time
    ([17, 17, 16, 17, 17, 16], FOREVER, [(0, 20), (1, 20), (2, 20), (3, 20), (5, 20)]),  # 60 fps at 50
    ([17, 17, 16, 17, 17, 16, 100], ONCE, [(0, 20), (1, 20), (2, 20), (3, 20), (4, 20), (6, 100)]),
    ([11, 11, 11, 2000], FOREVER, [(0, 20), (1, 20), (3, 1990)]),  # a frame after a fast run starts on time
    ([15, 25], FOREVER, [(0, 20), (1, 20)]),  # the fewest frames an animation has
    ([15, 11], FOREVER, [(0, 20), (1, 20)]),  # both stay, though the last has no 20 ms before the first is back
])
def test_gif_output_shows_the_frames_that_keep_the_animation_s_pace_for_whole_centiseconds(durations, plays, shown):
    """Pillow's writer rounded delays down: 15 ms was written as 10, which browsers show for 100."""
    colours = [(index * 40, 255 - index * 40, 128) for index in range(len(durations))]
    frames = [Image.new("RGB", (40, 30), colour) for colour in colours]
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=durations,
                   loop=plays)
    result, image = rendered(data, "40x,gif")
    assert [(colours.index(colour), duration) for _, duration, colour in frames_of(image)] == shown
    assert result.frames == len(shown)


def test_apng_output_delays_over_65_535_ms_are_written_to_the_centisecond():
    """Pillow's writer takes n/1000 s with neither term over 65535, and raised ValueError on 65537/1000. From
    65,536 on, which it could write (8192/125), every delay is to the centisecond: one rule, not one a fraction."""
    frames = [Image.new("RGB", (40, 30), colour) for colour in (RED, GREEN, BLUE, YELLOW)]
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True,
                   duration=[65_537, 65_536, 65_535, 100])
    _, image = rendered(data, "40x,png")
    assert [duration for _, duration, _ in frames_of(image)] == [65_540, 65_540, 65_535, 100]


def test_a_webp_animation_stops_adding_time_where_libwebp_s_timestamps_end():
    """3,278 frames: 3,277 of GIF's longest delay took libwebp's timestamps past a C int (OverflowError)."""
    colours = [RED, GREEN]
    frames = [Frame(Image.new("RGB", (2, 2), colours[index % 2]), plan((2, 2), 2, None, "contain"), "webp", None,
                    MAX_FRAME_MS if index < 3_277 else 100) for index in range(3_278)]
    with Image.open(io.BytesIO(encode(frames, None, 0, lossless=True))) as image:
        last_durations = []
        for index in (3_276, 3_277):
            image.seek(index)
            image.load()  # WebP reports a frame's duration once it is loaded
            last_durations.append(image.info["duration"])
    assert last_durations == [2**31 - 1 - 3_276 * MAX_FRAME_MS, 0]


@pytest.mark.parametrize("target", ["gif", "png", "avif"])
def test_other_formats_delays_go_on_past_where_libwebp_s_timestamps_end(target):
    """GIF's and APNG's frames each hold their own delay, and libavif counts an AVIF's time in 64 bits: the 3,278th
    of GIF's longest delay is written whole, where WebP's would be 0."""
    assert written_delays(target, [MAX_FRAME_MS] * 3_278) == [MAX_FRAME_MS] * 3_278


def faint_dot_frames() -> list[Image.Image]:
    """An opaque square, and a faint white dot (alpha 60) that moves along the top: a GIF cannot show the dot."""
    frames = []
    for index in range(6):
        frame = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        draw = ImageDraw.Draw(frame)
        draw.rectangle((16, 16, 47, 47), fill=(200, 30, 30, 255))
        draw.ellipse((index * 8, 2, index * 8 + 8, 10), fill=(255, 255, 255, 60))
        frames.append(frame)
    return frames


@pytest.mark.parametrize("delay", [100, 10])
def test_frames_alike_but_for_the_colour_of_transparent_pixels_become_one(delay):
    """To GIF the dot's alpha rounds to 0, and its colour stays under it: the frames look alike (a 500 before,
    as the GIF writer folded them itself, below). Frames of 10 ms or less are folded here, as browsers show
    them; the writer folds the others, adding their delays as browsers do."""
    frames = faint_dot_frames()
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=delay)
    _, image = rendered(data, "64x,gif")
    assert getattr(image, "n_frames", 1) == 1


@pytest.mark.parametrize("target", ["webp", "png", "gif"])
def test_frames_alike_to_look_at_show_as_long_as_in_browsers_whoever_folds_them(target):
    """An APNG at its own size keeps the colours its transparent pixels hide, which no resample clears, so its
    frames differ in bytes where they look alike, and an encoder may fold them: libwebp folded two such frames of
    10 ms into one of 20 (a reviewer's case; browsers showed 200). What shows, frame by frame, is as long."""
    def square_over(hidden: tuple[int, int, int], colour: tuple[int, int, int]) -> Image.Image:
        frame = Image.new("RGBA", (64, 64), hidden + (0,))
        frame.paste(colour + (255,), (16, 16, 48, 48))
        return frame

    frames = [square_over(RED, GREEN), square_over(BLUE, GREEN), square_over(BLUE, RED)]
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=[10, 10, 100])
    _, image = rendered(data, f"64x,{target}")
    shown: list[list] = []  # each look (its premultiplied pixels) and how long it shows
    for index in range(image.n_frames):
        image.seek(index)
        looks = image.convert("RGBA").convert("RGBa").tobytes()
        if shown and shown[-1][0] == looks:
            shown[-1][1] += image.info["duration"]
        else:
            shown.append([looks, image.info["duration"]])
    assert [duration for _, duration in shown] == [200, 100]


def test_frames_the_gif_writer_folds_itself_are_encoded():
    """Pillow's writer folds frames that its palettes make alike, and a list of disposals given for them raised
    TypeError where one frame was left."""
    frames = [Frame(gif_alpha(image), plan((64, 64), 64, None, "contain"), "gif", None, 100)
              for image in faint_dot_frames()]
    with Image.open(io.BytesIO(encode(frames, None, 0))) as image:
        assert (getattr(image, "n_frames", 1), image.info["duration"]) == (1, 600)


def test_frames_the_gif_writer_folds_keep_no_more_than_a_gif_delay_holds():
    """Frames alike once GIF's alpha hides the dot, of 400 s each: the writer's sum, 2400 s, raised OverflowError
    past 16 bits of centiseconds."""
    frames = faint_dot_frames()
    data = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=400_000)
    _, image = rendered(data, "64x,gif")
    assert (getattr(image, "n_frames", 1), image.info["duration"]) == (1, 655_350)


@pytest.mark.parametrize(("alphas", "disposal"), [
    ([None, None, None], 1),  # opaque frames
    ([0, 255, 255], 1),  # shown where they were not: drawn over
    ([255, 0, 255], 2),  # hidden where the frame before showed
    ([None, 0], 2),
    ([0, 0], 1),  # transparent where the frame before was too: nothing it showed is hidden
], ids=["opaque", "showing-more", "hiding", "opaque-then-hiding", "hidden-in-both"])
def test_composited_gif_frames_are_all_kept_unless_one_hides_what_the_one_before_showed(alphas, disposal):
    """Then all are 'restore to background': Pillow's writer restores only the part of a frame that changed."""
    images = [Image.new("RGB", (2, 1), RED) if alpha is None else Image.new("RGBA", (2, 1), RED + (alpha,))
              for alpha in alphas]
    assert gif_disposal(images) == disposal


def test_a_gif_frame_after_one_restored_to_background_shows_no_pixel_of_the_frame_before_that():
    """A reviewer's GIF: red all over (kept), then green at the left (restored to background), then blue at the
    left: Chromium shows blue and two transparent pixels, and so does our PNG; our GIF showed blue, red, red,
    Pillow's writer having restored only the changed pixel."""
    frames = [((3, 1), (0, 0), [0, 0, 0], 1, None), ((3, 1), (0, 0), [1, 0, 0], 2, None),
              ((1, 1), (0, 0), [2], 1, None)]
    data = gif_by_hand((3, 1), [RED, GREEN, BLUE, YELLOW], frames)
    ours, _ = rendered(data, "3x,gif")
    assert frames_as_letters(data, 3) == frames_as_letters(ours.body, 3) == ["RRR", "GRR", "B.."]  # as Chromium


@pytest.mark.parametrize("target", ["gif", "webp", "png", "avif"])
@pytest.mark.parametrize("source_format", ["GIF", "WEBP", "PNG", "AVIF"])
@pytest.mark.parametrize("plays", [ONCE, THRICE, FOREVER], ids=["once", "thrice", "forever"])
def test_an_animation_plays_as_many_times_in_every_format(source_format, target, plays):
    """Each format counts its own way: a GIF its repeats after the first play (none: it plays once, 0: for
    ever), WebP and APNG their plays (0: for ever), an AVIF in its movie boxes, which Pillow does not read."""
    if source_format == "GIF":
        data = animation("GIF", **gif_loop(plays))
    elif source_format == "AVIF":
        data = avif_animation(plays)
    else:
        data = animation(source_format, loop=plays)
    result, image = rendered(data, f"32x,{target}")
    assert image.n_frames == len(FRAME_COLOURS)
    assert plays_in(image, result.body) == plays


@pytest.mark.parametrize("plays", [ONCE, THRICE], ids=["once", "thrice"])
def test_an_avif_of_two_frames_plays_as_many_times_as_its_source(plays):
    """The fewest frames an animation has: its plays are written into the movie boxes after the encode, as for
    more frames (libavif's own count is for ever)."""
    result, image = rendered(animation("GIF", frame_count=2, **gif_loop(plays)), "32x,avif")
    assert (image.n_frames, plays_in(image, result.body)) == (2, plays)


@pytest.mark.parametrize("target", ["gif", "webp", "png"])
def test_a_gif_whose_loop_block_follows_its_first_frame_loops_as_in_browsers(target):
    """Pillow reads a loop block only before the first frame: the output played once where Chromium loops."""
    data = animation("GIF", loop=0)
    block_at = data.index(b"\x21\xff\x0bNETSCAPE2.0")
    block, data = data[block_at:block_at + 19], data[:block_at] + data[block_at + 19:]
    second_frame = data.index(b"\x21\xf9", data.index(b"\x21\xf9") + 1)
    moved = data[:second_frame] + block + data[second_frame:]
    assert "loop" not in Image.open(io.BytesIO(moved)).info
    result, image = rendered(moved, f"32x,{target}")
    assert plays_in(image, result.body) == FOREVER


@pytest.mark.parametrize(("plays", "gif", "webp", "png"), [
    (65_535, 65_534, 65_535, 65_535), (65_536, 65_535, 65_535, 65_536), (2**31 - 1, 65_535, 65_535, 2**31 - 1),
])
def test_counts_past_a_format_s_16_bits_are_its_largest(plays, gif, webp, png):
    assert [loop_option(target, plays) for target in ("gif", "webp", "png", "avif")] == [
        {"loop": gif}, {"loop": webp}, {"loop": png}, {}]


def gif_disposing(disposal: int) -> bytes:
    """A 16x16 GIF: red all over, then green, blue and yellow squares in its middle on transparency, each frame
    disposed of with `disposal` (written into every graphic control, 4-7 being reserved)."""
    frames = [Image.new("RGBA", (16, 16), (255, 0, 0, 255))]
    for colour in (GREEN, BLUE, YELLOW):
        frame = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
        frame.paste(colour + (255,), (4, 4, 12, 12))
        frames.append(frame)
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, disposal=3, loop=0)
    return data.replace(b"\x21\xf9\x04\x0c", b"\x21\xf9\x04" + bytes([disposal << 2])).replace(
        b"\x21\xf9\x04\x0d", b"\x21\xf9\x04" + bytes([disposal << 2 | 1]))


@pytest.mark.parametrize(("disposal", "around_the_squares"), [
    (1, RED + (255,)), (3, (0, 0, 0, 0)), (4, (0, 0, 0, 0)), (5, RED + (255,)), (7, RED + (255,)),
], ids=["keep", "restore-to-previous", "reserved-4", "reserved-5", "reserved-7"])
def test_gif_frames_are_disposed_of_as_browsers_dispose_of_them(disposal, around_the_squares):
    """Chromium restores what was under a frame for 3 and 4 (under the first, the empty screen), and keeps it
    for 5-7; Pillow kept the first frame for 3, and restored for 5-7. Composited so, the frames go out to a GIF
    as 'restore to background' where a frame hides what the one before showed, else as 'keep' (5-7 written
    through left stale pixels in Chromium: a reviewer's sweep, 112 of 1,589 GIF outputs)."""
    data = gif_disposing(disposal)
    frames = drawn_frames(data)
    assert [frame.image.convert("RGBA").getpixel((1, 1)) for frame in frames] == [RED + (255,)] + [
        around_the_squares] * 3
    assert [frame.image.convert("RGBA").getpixel((8, 8)) for frame in frames] == [
        colour + (255,) for colour in (RED, GREEN, BLUE, YELLOW)]
    _, image = rendered(data, "16x")
    for index in range(image.n_frames):
        image.seek(index)
        assert image.disposal_method == (2 if disposal in (3, 4) else 1)  # what shows is hidden again, or not


def test_an_animation_asked_for_jpeg_gets_its_first_frame():
    result, image = rendered(animation("GIF", loop=0), "32x,jpeg")
    assert result.frames == 1 and image.format == "JPEG"
    assert max_difference(image.getpixel((16, 12)), RED) <= 6


def frames_as_letters(data: bytes, width: int) -> list[str]:
    """Each frame of our lossless rendition of `data`, a letter a pixel: R, B, G, Y for those colours, '.' for
    transparency."""
    result, image = rendered(data, f"{width}x,png")
    letters = {RED + (255,): "R", BLUE + (255,): "B", GREEN + (255,): "G", YELLOW + (255,): "Y"}
    frames = []
    for index in range(result.frames):
        image.seek(index)
        rgba = image.convert("RGBA").tobytes()
        pixels = [tuple(rgba[at:at + 4]) for at in range(0, len(rgba), 4)]
        frames.append("".join("." if pixel[3] == 0 else letters[pixel] for pixel in pixels))
    return frames


@pytest.mark.parametrize(("frames", "shown"), [
    ([((1, 1), (0, 0), [1], 1, None), ((1, 1), (0, 0), [0], 1, None)], ["B.", "R."]),
    ([((2, 1), (0, 0), [1, 1], 2, None), ((1, 1), (0, 0), [0], 1, None)], ["BB", "R."]),
    ([((2, 1), (0, 0), [0, 0], 2, 3), ((1, 1), (0, 0), [1], 0, None), ((1, 1), (1, 0), [1], 1, None)],
     ["RR", "B.", "BB"]),
    ([((2, 1), (0, 0), [0, 0], 3, None), ((1, 1), (0, 0), [1], 1, None)], ["RR", "B."]),
    ([((2, 1), (0, 0), [0, 0], 1, None), ((1, 1), (0, 0), [1], 5, None), ((1, 1), (1, 0), [1], 1, None)],
     ["RR", "BR", "BB"]),
    ([((2, 1), (0, 0), [2, 0], 1, 2), ((2, 1), (1, 0), [1, 1], 1, None)], [".R", ".B"]),
    ([((2, 1), (0, 0), [1, 3], 1, 3), ((1, 1), (1, 0), [2], 1, None)], ["B.", "BG"]),
    ([((2, 1), (0, 0), [0, 0], 1, None), ((2, 1), (0, 0), [1, 1], 3, None), ((1, 1), (1, 0), [3], 1, None)],
     ["RR", "BB", "RY"]),
    ([((1, 1), (1, 0), [1], 1, None)], [".B"]),
    ([((2, 1), (0, 0), [0, 1], 1, None), ((0, 0), (0, 0), [2, 2], 1, None), ((1, 1), (1, 0), [3], 1, None)],
     ["RB", "RY"]),
    ([((0, 1), (0, 0), [], 1, None), ((1, 1), (1, 0), [1], 1, None)], ["..", ".B"]),
    ([((1, 0), (0, 0), [], 1, None), ((1, 1), (1, 0), [1], 1, None)], ["..", ".B"]),
    ([((2, 1), (0, 0), [0, 1], 1, None), ((0, 1), (1, 0), [2], 2, None), ((1, 1), (0, 0), [3], 1, None)],
     ["RB", "YB"]),
    ([((2, 1), (0, 0), [0, 1], 1, None), ((0, 0), (60000, 60000), [], 1, None), ((1, 1), (1, 0), [3], 1, None)],
     ["RB", "RY"]),
    ([((2, 1), (0, 0), [0, 1], 1, None), ((1, 1), (60000, 60000), [2], 1, None), ((1, 1), (1, 0), [3], 1, None)],
     ["RB", "RY"]),  # shows as the first, with which it is merged
], ids=["smaller-first-frame", "restore-to-background-without-transparency", "unspecified-after-restore",
        "restore-to-previous-on-the-first-frame", "reserved-5-keeps", "later-frame-past-the-screen",
        "transparency-on-the-empty-screen", "whole-frame-restored-to-previous", "still-smaller-than-its-screen",
        "empty-later-frame", "empty-first-frame", "first-frame-of-no-height", "empty-frame-cleared",
        "empty-frame-far-off-the-screen", "frame-far-off-the-screen"])
def test_gif_frames_are_composited_as_chromium_composites_them(frames, shown):
    """Chromium 156's frames (a reviewer's reproductions, on a 2x1 screen, palette R, B, G, Y, background G).
    Pillow showed the first six otherwise: R behind the smaller first frame; the background colour (G) where
    browsers clear; the previous disposal taken for an unspecified one; the first frame kept by 'restore to
    previous'; 5 read as 'restore to previous'; the screen grown for the later frame. A whole frame restored
    to previous puts back the one before it, which a smaller frame then shows around it; a still smaller than its
    screen shows on it, as a first frame does. The last five: a frame of no width or height draws nothing,
    whatever data follows it (Chromium shows the screen as it was, for the frame's delay; frames alike in a row
    are one here). The four of them checked by hand were each a 415, the last then a 413 (the screen grown to where
    the empty frame lay); the one of no height follows the same rule."""
    data = gif_by_hand((2, 1), [RED, BLUE, GREEN, YELLOW], frames)
    data = data[:11] + bytes([2]) + data[12:]  # the background colour: G
    assert frames_as_letters(data, 2) == shown


def test_a_still_gif_that_fills_its_screen_is_drawn_as_its_own_palette_image():
    """What browsers show, as Pillow decodes it: not drawn again on an RGB screen (GifCanvas), at three times the
    memory."""
    (frame,) = drawn_frames(encoded(quadrants(), "GIF"))
    assert (frame.image.mode, frame.image.convert("RGB").tobytes()) == ("P", quadrants().tobytes())


@pytest.mark.parametrize(("frames", "mode"), [
    ([((2, 1), (0, 0), [0, 1], 1, None), ((2, 1), (0, 0), [1, 0], 1, None)], "RGB"),
    ([((2, 1), (0, 0), [0, 1], 1, None), ((1, 1), (0, 0), [1], 2, None), ((2, 1), (0, 0), [1, 0], 1, None)], "RGBA"),
    ([((2, 1), (0, 0), [0, 1], 1, 1), ((2, 1), (0, 0), [1, 0], 1, None)], "RGBA"),
], ids=["opaque-without-gaps", "one-cleared", "transparent-first-frame"])
def test_a_gifs_screen_has_alpha_only_where_a_gap_can_show(frames, mode):
    """Alpha that nothing shows through would only cost the steps its weighting, to be dropped at the end."""
    drawn = drawn_frames(gif_by_hand((2, 1), [RED, BLUE, GREEN, YELLOW], frames))
    assert {frame.image.mode for frame in drawn} == {mode}


def gif_image_block(image: Image.Image) -> bytes:
    """`image` as one GIF image block (descriptor, local colour table, data), to splice into another GIF."""
    data = encoded(image, "GIF")
    flags = data[10]
    table = data[13:13 + (3 << ((flags & 7) + 1))]
    position = 13 + len(table)
    while data[position] == 0x21:  # extensions: skip each one's sub-blocks
        position += 2
        while data[position]:
            position += data[position] + 1
        position += 1
    descriptor = bytearray(data[position:position + 10])
    descriptor[9] = (descriptor[9] & 0x40) | 0x80 | (flags & 7)  # interlacing kept; the global table made local
    return bytes(descriptor) + table + data[position + 10:-1]


def test_gif_frames_larger_than_the_screen_are_cut_to_it():
    """The output is planned on the logical screen; a later frame reaching past it (which Pillow
    grows the canvas for) is cut to the screen, not squeezed into it, as browsers clip it."""
    later = Image.new("RGB", (40, 20), BLUE)
    later.paste(GREEN, (0, 0, 10, 10))
    screen = b"GIF89a" + (10).to_bytes(2, "little") * 2 + bytes(3)
    data = screen + gif_image_block(Image.new("RGB", (10, 10), RED)) + gif_image_block(later) + b";"
    _, image = rendered(data, "10x,gif")
    assert (image.size, image.n_frames) == ((10, 10), 2)
    colours = []
    for index in range(2):
        image.seek(index)
        colours.append(image.convert("RGB").getcolors())
    assert colours == [[(100, RED)], [(100, GREEN)]]


class OnDemand:
    """An executor that runs a task only once its result is asked for, so that how far the decode has run ahead of
    the steps shows, whatever the threads' timing."""

    @staticmethod
    def submit(task, *args) -> Future:
        class Deferred(Future):
            def result(self, timeout=None):
                if not self.done():
                    self.set_result(task(*args))
                return super().result(timeout)

        return Deferred()


def test_an_animations_frames_are_decoded_no_more_than_frames_ahead_of_their_steps(monkeypatch):
    """So that only a few decoded frames are held at once (2000 x 2000 RGBA is 16 MB a frame), yet the steps of
    one overlap the decode of the next."""
    decoded, ahead = [], []

    def decode():
        for index in range(6):
            decoded.append(index)
            yield index

    def steps(index: int) -> int:
        ahead.append(len(decoded) - 1 - index)  # decoded after it, waiting for the steps
        return index

    monkeypatch.setattr("edge.image.frames.run_steps", steps)
    monkeypatch.setattr("edge.image.frames.frame_pool", OnDemand)
    assert rendered_frames(decode(), 6) == list(range(6))
    assert max(ahead) == FRAMES_AHEAD


def test_frames_over_the_cap_are_413():
    with pytest.raises(SourceTooLarge):
        rendered(animation("GIF", loop=0), "32x", Limits(max_pixels=50_000_000, max_frames=4))
    assert rendered(animation("GIF", loop=0), "32x", Limits(max_pixels=50_000_000, max_frames=5))[0].frames == 5


@pytest.mark.parametrize("spec", ["640x", "640x,jpeg"])
def test_a_gif_whose_later_frame_grows_the_canvas_over_the_limit_is_413(spec):
    """Also when only its first frame would be rendered: the limits weigh every frame the walk counts."""
    with pytest.raises(SourceTooLarge, match="20000x20000"):
        rendered(bombs.gif_growing((10, 10), (20_000, 20_000)), spec)


@pytest.mark.parametrize("source_format", ["JPEG", "PNG", "TIFF"])
def test_a_still_is_one_frame_under_any_frame_cap(source_format):
    result, _ = rendered(encoded(gradient((64, 48)), source_format), "32x", Limits(max_pixels=50_000_000, max_frames=1))
    assert result.frames == 1


@pytest.mark.parametrize("source_format", ["JPEG", "PNG", "TIFF", "BMP", "GIF", "WEBP"])
def test_a_still_is_counted_as_one_frame(source_format):
    """As the source counts it for the steps and the local gallery: one, whatever its format."""
    assert open_source(encoded(gradient((64, 48)), source_format), LIMITS).frames == 1
