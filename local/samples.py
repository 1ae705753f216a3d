"""Sample originals, drawn in code: no photo, no licence question, nothing fetched.

Each still scene is drawn at twice its size and scaled down, which anti-aliases every
edge. Every random choice comes from a seeded generator, so a sample's bytes
are the same on every run (and so are the derivatives made from them).

The set covers what the product must get right: large JPEG scenes, a JPEG
stored sideways with EXIF orientation 6, a PNG with soft transparency, and an
animated GIF. It also holds the originals that the shipped events/*.json name, and the one
of the README's social-card example.
"""

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PIL import ExifTags, Image, ImageDraw, ImageFilter, ImageOps

SUPERSAMPLE = 2
ROTATED_90_CW = 6  # "rotate 90° clockwise to display"


@dataclass(frozen=True)
class Sample:
    key: str
    note: str  # shown in the gallery under the original
    make: Callable[[], bytes]


# --- drawing helpers ---------------------------------------------------------


def vertical_gradient(size: tuple[int, int], top: str, bottom: str, middle: str | None = None) -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return ImageOps.colorize(ramp, top, bottom, middle)


def ridge(width: int, base: int, roughness: float, rng: random.Random, points: int = 65) -> list[tuple[int, int]]:
    """A mountain ridge by midpoint displacement: the outline of one layer of hills."""
    heights = [0.0] * points
    step, spread = points - 1, roughness
    while step > 1:
        for start in range(0, points - 1, step):
            middle = start + step // 2
            heights[middle] = (heights[start] + heights[start + step]) / 2 + rng.uniform(-spread, spread)
        step //= 2
        spread /= 1.9
    return [(round(i * width / (points - 1)), round(base - h)) for i, h in enumerate(heights)]


# Pillow's radial gradient reaches 255 at its corners, not at its edges: the inscribed circle has this value.
RADIAL_EDGE = 181


def glow(size: tuple[int, int], centre: tuple[int, int], radius: int, colour: str) -> Image.Image:
    """A soft disc of light as an RGBA layer: opaque at the centre, fading to nothing at radius."""
    falloff = Image.radial_gradient("L").point(lambda d: round(255 * max(0.0, 1 - d / RADIAL_EDGE) ** 2))
    falloff = falloff.resize((2 * radius, 2 * radius), Image.Resampling.BILINEAR)
    layer = Image.new("RGBA", size, colour)
    alpha = Image.new("L", size, 0)
    alpha.paste(falloff, (centre[0] - radius, centre[1] - radius))
    layer.putalpha(alpha)
    return layer


def disc(centre: tuple[float, float], radius: float) -> list[float]:
    """The bounding box of a circle, as ImageDraw.ellipse takes it."""
    return [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius]


def finish(canvas: Image.Image, size: tuple[int, int]) -> Image.Image:
    return canvas.resize(size, Image.Resampling.LANCZOS)


def jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=85, optimize=True, progressive=True, **options)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# --- scenes ------------------------------------------------------------------


def alpine_lake(size: tuple[int, int] = (1600, 1067)) -> Image.Image:
    """Dawn over layered mountains, mirrored in a still lake."""
    rng = random.Random(7)
    width, height = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    horizon = int(height * 0.62)
    sky = vertical_gradient((width, horizon), "#1d3b6e", "#ffc98b", "#c98bb0").convert("RGBA")
    sky.alpha_composite(glow((width, horizon), (int(width * 0.68), int(horizon * 0.78)), int(height * 0.3), "#fff1c9"))
    draw = ImageDraw.Draw(sky)
    layers = (("#7d7fa8", 0.55, 0.30), ("#5b5f8c", 0.70, 0.22), ("#3d4470", 0.85, 0.16), ("#232b4d", 1.0, 0.10))
    for colour, base, roughness in layers:
        outline = ridge(width, int(horizon * base), height * roughness, rng)
        draw.polygon([(0, horizon), *outline, (width, horizon)], fill=colour)
    scene = Image.new("RGB", (width, height))
    scene.paste(sky.convert("RGB"), (0, 0))
    reflection = sky.convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM).crop((0, 0, width, height - horizon))
    deep_water = Image.new("RGB", reflection.size, "#1b2f52")
    water = Image.blend(reflection.filter(ImageFilter.GaussianBlur(6)), deep_water, 0.35)
    ripples = ImageDraw.Draw(water)
    for _ in range(140):
        y = int(rng.random() ** 1.6 * water.height)
        x = rng.randrange(width)
        ripples.line([(x, y), (x + rng.randrange(40, 260), y)], fill="#b9c6e0", width=2)
    scene.paste(water, (0, horizon))
    return finish(scene, size)


def cat(size: tuple[int, int] = (1200, 1500)) -> Image.Image:
    """A ginger cat, sitting, in flat shapes on a warm wall."""
    width, height = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    unit = width / 100  # every shape is placed in percent of the width
    scene = vertical_gradient((width, height), "#f6d7b0", "#e9a46f").convert("RGBA")
    draw = ImageDraw.Draw(scene)
    floor = int(height * 0.8)
    draw.rectangle([0, floor, width, height], fill="#8a5a3c")

    def box(x0, y0, x1, y1):
        return [x0 * unit, y0 * unit, x1 * unit, y1 * unit]

    scene.alpha_composite(glow((width, height), (width // 2, floor), int(40 * unit), "#5a3a26"))
    draw.arc(box(52, 86, 98, 132), 190, 330, fill="#d9792f", width=int(6 * unit))  # tail
    draw.ellipse(box(22, 62, 78, 122), fill="#e0883a")  # body
    draw.ellipse(box(34, 80, 66, 121), fill="#f7e6cf")  # chest
    for ear in ((26, 42, 34, 14, 48, 34), (74, 42, 66, 14, 52, 34)):
        draw.polygon([(ear[i] * unit, ear[i + 1] * unit) for i in (0, 2, 4)], fill="#e0883a")
    for ear in ((30, 38, 34, 20, 44, 32), (70, 38, 66, 20, 56, 32)):
        draw.polygon([(ear[i] * unit, ear[i + 1] * unit) for i in (0, 2, 4)], fill="#f3a7a1")
    draw.ellipse(box(24, 24, 76, 70), fill="#e0883a")  # head
    for stripe in range(3):
        draw.arc(box(38 + stripe * 4, 22, 62 - stripe * 4, 40), 200, 340, fill="#b85f22", width=int(1.6 * unit))
    for eye_x in (39, 61):
        draw.ellipse(box(eye_x - 6, 40, eye_x + 6, 50), fill="#9bcf53")
        draw.ellipse(box(eye_x - 1.4, 40.5, eye_x + 1.4, 49.5), fill="#1c1c1c")
        draw.ellipse(box(eye_x + 1.5, 42, eye_x + 3.5, 44), fill="white")
    draw.polygon([(47 * unit, 54 * unit), (53 * unit, 54 * unit), (50 * unit, 57.5 * unit)], fill="#d9566b")
    for side in (-1, 1):
        for lift in (-2, 0, 2):
            start = (50 + side * 6, 58)
            draw.line([(start[0] * unit, start[1] * unit), ((50 + side * 30) * unit, (56 + lift * 1.5) * unit)],
                      fill="#fff8ee", width=int(0.4 * unit))
    return finish(scene.convert("RGB"), size)


def night_city(size: tuple[int, int] = (1600, 900)) -> Image.Image:
    """A skyline at dusk: three depths of towers and lit windows under a rising moon."""
    rng = random.Random(2026)
    width, height = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    scene = vertical_gradient((width, height), "#0b1030", "#6d4a8f", "#27306a").convert("RGBA")
    draw = ImageDraw.Draw(scene)
    for _ in range(220):
        x, y = rng.randrange(width), rng.randrange(int(height * 0.55))
        draw.ellipse([x, y, x + 3, y + 3], fill="#f4f1ff")
    moon = (int(width * 0.2), int(height * 0.22))
    scene.alpha_composite(glow((width, height), moon, int(height * 0.18), "#e8e4ff"))
    draw.ellipse(disc(moon, 60), fill="#fbf8ea")
    for depth, (colour, window, tallest) in enumerate((("#2c2c5c", "#6c6aa8", 0.55), ("#1d1d40", "#c9a968", 0.7),
                                                        ("#101024", "#ffd37a", 0.85))):
        x = -rng.randrange(80)
        while x < width:
            tower_w = rng.randrange(120, 260) - depth * 20
            top = int(height * (1 - rng.uniform(0.25, tallest)))
            draw.rectangle([x, top, x + tower_w, height], fill=colour)
            for wy in range(top + 24, height - 20, 34):
                for wx in range(x + 16, x + tower_w - 24, 30):
                    if rng.random() < 0.35:
                        draw.rectangle([wx, wy, wx + 12, wy + 16], fill=window)
            x += tower_w + rng.randrange(4, 40)
    return finish(scene.convert("RGB"), size)


def lighthouse(size: tuple[int, int] = (900, 1350)) -> Image.Image:
    """A tall lighthouse at sunset: its shape makes a wrong orientation obvious at a glance."""
    rng = random.Random(6)
    width, height = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    sea_level = int(height * 0.7)
    scene = vertical_gradient((width, height), "#2a4d7a", "#ff9a5a", "#f2b8a0").convert("RGBA")
    scene.alpha_composite(glow((width, height), (int(width * 0.25), sea_level), int(width * 0.5), "#ffe0a0"))
    draw = ImageDraw.Draw(scene)
    draw.rectangle([0, sea_level, width, height], fill="#1f3f66")
    for _ in range(90):
        y = sea_level + int(rng.random() ** 1.5 * (height - sea_level))
        x = rng.randrange(width)
        draw.line([(x, y), (x + rng.randrange(30, 160), y)], fill="#f7b98a", width=3)
    rocks = ridge(width, int(height * 0.82), height * 0.05, rng)
    draw.polygon([(0, height), *rocks, (width, height)], fill="#3a3340")
    centre, base, top = width * 0.62, int(height * 0.79), int(height * 0.2)
    half_base, half_top = width * 0.09, width * 0.055
    bands = 6
    for band in range(bands):
        y0 = base - (base - top) * band / bands
        y1 = base - (base - top) * (band + 1) / bands
        w0 = half_base - (half_base - half_top) * band / bands
        w1 = half_base - (half_base - half_top) * (band + 1) / bands
        colour = "#d83a3a" if band % 2 else "#f5f1e8"
        draw.polygon([(centre - w0, y0), (centre + w0, y0), (centre + w1, y1), (centre - w1, y1)], fill=colour)
    eaves, peak = top - width * 0.06, top - width * 0.11
    scene.alpha_composite(glow((width, height), (int(centre), int(top - width * 0.05)), int(width * 0.25), "#fff6c0"))
    draw = ImageDraw.Draw(scene)
    draw.rectangle([centre - half_top * 0.8, eaves, centre + half_top * 0.8, top], fill="#fff3b0")  # the lamp
    draw.polygon([(centre - half_top * 1.1, eaves), (centre + half_top * 1.1, eaves), (centre, peak)], fill="#3b3b46")
    return finish(scene.convert("RGB"), size)


def rosette(size: tuple[int, int] = (800, 800)) -> Image.Image:
    """A flower badge on a transparent ground, with a soft half-transparent shadow."""
    width, height = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    centre = (width // 2, height // 2)
    petals = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(petals)
    colours = ("#ff6f91", "#ff9671", "#ffc75f", "#f9f871", "#8fd18b", "#4fbfc9", "#6f8cff", "#b57bff")
    radius, petal_r = width * 0.27, width * 0.16
    for index, colour in enumerate(colours):
        angle = 2 * math.pi * index / len(colours)
        x, y = centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle)
        draw.ellipse(disc((x, y), petal_r), fill=colour + "e6")
    draw.ellipse(disc(centre, width * 0.17), fill="#fffaf0")
    draw.ellipse(disc(centre, width * 0.1), fill="#ff8c42")
    shadow = Image.new("RGBA", (width, height), (40, 20, 60, 0))
    shadow.putalpha(petals.getchannel("A").point(lambda a: a * 90 // 255).filter(ImageFilter.GaussianBlur(24)))
    badge = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    badge.alpha_composite(shadow, (24, 32))
    badge.alpha_composite(petals)
    return finish(badge, size)


BALL_COLOURS = ("#ff5a5f", "#ffffff", "#2ec4b6", "#ffffff", "#ffc15e", "#ffffff")


def bouncing_ball_frames(size: tuple[int, int] = (480, 320), count: int = 24) -> list[Image.Image]:
    """One bounce of a beach ball, squashed at the floor, with its shadow."""
    width, height = size
    backdrop = vertical_gradient(size, "#bfe3ff", "#fef6e4")
    floor = int(height * 0.82)
    ImageDraw.Draw(backdrop).rectangle([0, floor, width, height], fill="#f2c57c")
    frames = []
    for index in range(count):
        phase = index / count
        lift = abs(math.sin(math.pi * phase))  # 0 at the floor, 1 at the top
        squash = 1 + 0.25 * max(0.0, 0.2 - lift) / 0.2
        radius = height * 0.12
        rx, ry = radius * squash, radius / squash
        x = width * (0.15 + 0.7 * phase)
        y = floor - ry - lift * height * 0.55
        frame = backdrop.copy()
        draw = ImageDraw.Draw(frame)
        shadow_w = radius * (1.2 - 0.5 * lift)
        draw.ellipse([x - shadow_w, floor - 6, x + shadow_w, floor + 6], fill="#c9975a")
        ball = [x - rx, y - ry, x + rx, y + ry]
        for segment, colour in enumerate(BALL_COLOURS):  # the segments turn as the ball rolls
            start = index * 15 + segment * 360 / len(BALL_COLOURS)
            draw.pieslice(ball, start, start + 360 / len(BALL_COLOURS), fill=colour)
        draw.ellipse([x - rx * 0.55, y - ry * 0.7, x - rx * 0.15, y - ry * 0.35], fill="#fffdf5")
        frames.append(frame.convert("P", palette=Image.Palette.ADAPTIVE, colors=128))
    return frames


# --- encodings ---------------------------------------------------------------


def sideways_jpeg(image: Image.Image) -> bytes:
    """Stored rotated 90° anticlockwise with orientation 6, as a phone held upright writes it."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = ROTATED_90_CW
    return jpeg(image.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes())


def animated_gif(frames: list[Image.Image], frame_ms: int = 50) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return buffer.getvalue()


SAMPLES = (
    Sample("samples/alpine-lake.jpg", "JPEG landscape, 1600×1067", lambda: jpeg(alpine_lake())),
    Sample("samples/lighthouse-exif6.jpg", "JPEG stored sideways with EXIF orientation 6: served upright",
           lambda: sideways_jpeg(lighthouse())),
    Sample("samples/rosette.png", "PNG with soft transparency: the checkerboard shows through",
           lambda: png(rosette())),
    Sample("samples/bouncing-ball.gif", "Animated GIF, 24 frames: stays animated in GIF, WebP and AVIF",
           lambda: animated_gif(bouncing_ball_frames())),
    # The originals that events/*.json name, so that every shipped event works against the seeded buckets.
    Sample("photos/cat.jpg", "JPEG portrait, 1200×1500 (the original of the shipped events)", lambda: jpeg(cat())),
    Sample("news/2026/front page été+1.jpg", "A key with a space, accents and a plus sign",
           lambda: jpeg(night_city())),
    # The original of the README's and SPEC.md's social-card example,
    # /1200x630,cover,jpeg,q70/news/2026/front%20page.png.
    Sample("news/2026/front page.png", "The same scene as a PNG, 1600×900: the README's social card is its "
           "1200x630,cover,jpeg,q70", lambda: png(night_city())),
)


SAMPLES_BY_KEY = {sample.key: sample for sample in SAMPLES}


@cache
def sample_original(key: str) -> bytes | None:
    """One sample's encoded bytes, drawn once per process; None for a key that is no sample's."""
    sample = SAMPLES_BY_KEY.get(key)
    return None if sample is None else sample.make()


def sample_originals() -> dict[str, bytes]:
    """Every sample's key and encoded bytes (all of them take a second or two to draw)."""
    return {sample.key: sample_original(sample.key) for sample in SAMPLES}
