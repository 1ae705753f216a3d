"""The encode: frames that show alike merged, delays and plays written as each format can hold them, the
encoder's options for each format, and no metadata of the source's but its colour."""

import io
import zlib
from dataclasses import replace
from typing import NamedTuple

from PIL import Image, ImageChops, ImageFile

from edge import avif, webp
from edge.image.frames import BROWSERS_SLOW_DOWN_MS, GIF_KEEP, GIF_RESTORE_BACKGROUND, MAX_FRAME_MS
from edge.image.model import (
    ICC_OUTPUTS, OPAQUE, TRANSPARENT, WORKING_ALPHA_MODES, Frame, webp_decoder, worker_pool,
)

DEFAULT_QUALITY = {"jpeg": 82, "webp": 80, "avif": 62}
MAX_GIF_REPEATS = MAX_WEBP_PLAYS = 65_535  # both counts take 16 bits
GIF_DELAY_UNIT_MS = 10
SHORTEST_GIF_DELAY_MS = BROWSERS_SLOW_DOWN_MS + GIF_DELAY_UNIT_MS
MOST_APNG_EXACT_MS = 65_535  # a delay of n/1000 s, reduced, whose terms are both 16 bits
MOST_WEBP_MS = 2**31 - 1  # an animation's whole time
# Lossless, the bench's photos take 3.4-3.8 bits a pixel, a logo or a screenshot 0.02-0.06 (by hand).
LOSSLESS_MAX_BITS_PER_PIXEL = 2
FLAT_IMAGE_COLOURS = 4096  # at most this many colours: a graphic rather than a photo (png_strategy)
MAX_GIF_COLOURS = 256
TRANSPARENT_ENTRY = 0  # a GIF frame's palette entry for its transparent pixels (with_transparent_entry)
HIDDEN_FRAME_ENTRY = bytes((255, 255, 255, 0))  # that entry, RGBA, in a frame hidden whole after the first


def merge_repeated(frames: list[Frame]) -> list[Frame]:
    """Fold a frame identical to the one before into it, adding up the durations (as browsers show them:
    whole_ms).

    Pillow's GIF and APNG writers fold such frames themselves, but then trip over
    the per-frame option lists; a still image is what is left when all are alike.
    """
    if len(frames) < 2:
        return frames
    merged, kept_pixels = frames[:1], frames[0].image.tobytes()  # each frame's pixels are read once
    for frame in frames[1:]:
        previous, pixels = merged[-1], frame.image.tobytes()
        if frame.image.mode == previous.image.mode and pixels == kept_pixels:
            merged[-1] = replace(previous, duration=min(previous.duration + frame.duration, MAX_FRAME_MS))
        else:
            merged.append(frame)
            kept_pixels = pixels
    return merged


def drop_unshown_alpha(frames: list[Frame]) -> None:
    """Drop the frames' alpha where every one of them is opaque: of a source without alpha, that is the alpha
    an APNG's canvas adds (ApngCanvas) for gaps that this animation could leave, and does not; of an animated
    WebP, the alpha its header does not declare. In place, so that each frame's image with alpha is freed as
    the next is made."""
    if not all(frame.image.mode in WORKING_ALPHA_MODES and frame.image.getchannel("A").getextrema()[0] == OPAQUE
               for frame in frames):
        return
    for index, frame in enumerate(frames):
        frames[index] = replace(frame, image=frame.image.convert(frame.image.mode[:-1]))


def is_lossless_graphic(image: Image.Image, data: bytes) -> bool:
    """A still WebP coded losslessly (VP8L, as libwebp reads its header) in few bits a pixel: a logo,
    a diagram, a screenshot. A photo saved lossless stays a photo: lossless, its renditions would come
    out 5-10 times larger and slower than lossy (1.4 MB in 1.3 s against 144 KB in 0.2 s at 1600 px).
    The bits are the picture's alone: a small logo's ICC profile (3 KB for sRGB's) does not make it a photo.
    An animation's frames may each be coded either way, and count as lossy."""
    decoder = webp_decoder() if image.format == "WEBP" else None
    picture = None if decoder is None else webp.picture_size(data)
    if picture is None or 8 * picture > LOSSLESS_MAX_BITS_PER_PIXEL * image.width * image.height:
        return False
    try:
        return decoder.features(data).format == webp.LOSSLESS
    except webp.WebPError:
        return False  # the decode that follows says what is wrong with it


def encode(frames: list[Frame], quality: int | None, plays: int, lossless: bool = False,
           codes: tuple[int, int] | None = None) -> bytes:
    """The frames in their target format; AVIF stating colour code points `codes` (primaries, transfer)."""
    first = frames[0]
    options = encoder_options(first.target, quality, first.image, lossless)
    if first.icc_profile and first.target in ICC_OUTPUTS:
        options["icc_profile"] = first.icc_profile
    if len(frames) > 1:
        options.update(animation_options(frames, plays))
    images = [without_metadata(apart_from_its_source(frame.image, first.target)) for frame in frames]
    if first.target == "gif":
        images = list(worker_pool().map(gif_palette, images, [True] + [False] * (len(images) - 1)))
    if len(images) > 1:
        options["append_images"] = images[1:]
    output = io.BytesIO()
    images[0].save(output, format=first.target.upper(), **options)
    if first.target == "avif":
        with output.getbuffer() as written:
            if len(images) > 1:
                avif.stop_clock(written)
                avif.set_plays(written, plays)
            if codes is not None:
                avif.set_colour_codes(written, *codes)
    return output.getvalue()


def gif_palette(image: Image.Image, first: bool) -> Image.Image:
    """A colour frame quantised to its own 256 colours by median cut, as Pillow's GIF writer converts RGB, but here
    on the resample threads: median cut releases the GIL and is most of a GIF's encode time (20 frames of 320x200:
    480 ms on one core, 270 on two). With transparent pixels, its shown colours take 255 of the entries
    (with_transparent_entry). Grey frames the writer takes as they are."""
    if image.mode == "RGBA":
        if image.getchannel("A").getextrema()[0] == TRANSPARENT:
            return with_transparent_entry(image, first)
        image = image.convert("RGB")  # opaque, among frames that are not
    return image.convert("P", palette=Image.Palette.ADAPTIVE) if image.mode == "RGB" else image


def with_transparent_entry(image: Image.Image, first: bool) -> Image.Image:
    """An RGBA frame, its alpha all or nothing (gif_alpha), as the writer's own paletted RGBA: palette entry
    TRANSPARENT_ENTRY transparent, and its shown pixels' colours quantised by median cut to the 255 others. The
    writer quantises RGBA by octree instead, which kept 98 of a transparent GIF frame's own 238 colours (levels
    up to 16 off) and 16 of 64 greys. Entry 0 stays 0 when the writer drops unused entries, where the writer
    reads the first frame's as the background that its disposal restores; hidden pixels take a shown pixel's
    colour, so that no entry is spent on them.

    A frame hidden whole, after the first, gets its transparent entry in another colour (HIDDEN_FRAME_ENTRY): the
    writer, restoring to background, crops each later frame to where it differs from the first frame's transparent
    entry, and wrote one that differs nowhere as a second GIF header, where Chromium 156 stops (a helper's finding:
    the frames after it were lost). Differing everywhere, it is written whole."""
    alpha = image.getchannel("A")
    shown_box = alpha.getbbox()
    if shown_box is None:
        paletted, entries = Image.new("P", image.size, TRANSPARENT_ENTRY), bytes(4) if first else HIDDEN_FRAME_ENTRY
    else:
        hidden, colour = ImageChops.invert(alpha), image.convert("RGB")
        left, top, right, _ = shown_box
        row = alpha.crop((left, top, right, top + 1)).tobytes()
        colour.paste(colour.getpixel((left + len(row) - len(row.lstrip(b"\0")), top)), mask=hidden)
        quantised = colour.convert("P", palette=Image.Palette.ADAPTIVE, colors=MAX_GIF_COLOURS - 1)
        paletted, shown_colours = quantised.point(lambda index: index + 1), quantised.getpalette()
        paletted.paste(TRANSPARENT_ENTRY, mask=hidden)
        entries = bytes(4) + b"".join(bytes(shown_colours[start:start + 3]) + bytes([OPAQUE])
                                      for start in range(0, len(shown_colours), 3))
    paletted.putpalette(entries, "RGBA")
    paletted.info["transparency"] = TRANSPARENT_ENTRY
    return paletted


def encoder_options(
    target: str, quality: int | None, image: Image.Image | None = None, lossless: bool = False
) -> dict:
    """Settings measured with `make bench-levers` (bytes against SSIM and time; bench/README.md).

    JPEG: progressive (Huffman tables optimised with it) is 5-6% smaller than baseline.
    WebP: method 3 gives method 4's bytes and SSIM, faster on alpha. A lossless original (a logo,
    a diagram) stays lossless unless the URL names a quality, as a PNG stays a PNG: lossy, its
    soft edges would fringe, and a flat graphic often comes out smaller lossless anyway.
    AVIF: speed 9 encodes 4x faster than 8 for 3% more bytes; quality 62 wins back the SSIM.
    PNG: see png_strategy.
    """
    if target == "jpeg":
        return {"quality": quality or DEFAULT_QUALITY["jpeg"], "progressive": True}
    if target == "webp" and lossless and quality is None:
        return {"lossless": True, "method": 3}
    if target == "webp":
        return {"quality": quality or DEFAULT_QUALITY["webp"], "method": 3}
    if target == "avif":
        return {"quality": quality or DEFAULT_QUALITY["avif"], "speed": 9}
    if target == "png":
        return {"compress_level": 6} | png_strategy(image)
    return {}


def png_strategy(image: Image.Image | None) -> dict:
    """zlib's strategy by content. After PNG's row filters a photo is small noise: run-length
    coding makes it 5-7% smaller than LZ77 at level 6, and 5x faster (800x500: 26 against
    128 ms). Flat graphics are the other way round (21 KB with LZ77, 47 KB with RLE)."""
    if image is None or image.getcolors(FLAT_IMAGE_COLOURS) is not None:
        return {}
    return {"compress_type": zlib.Z_RLE}


def animation_options(frames: list[Frame], plays: int) -> dict:
    target = frames[0].target
    options: dict = {"save_all": True, "duration": written_delays(target, [frame.duration for frame in frames])}
    if target == "gif":
        options["disposal"] = gif_disposal([frame.image for frame in frames])
    if target == "webp":
        # No key frames inserted, as libvips saves: libwebp then encodes each frame as one
        # candidate rectangle instead of also trying a whole key frame every 3-5 frames.
        # A panned 20-frame photo at 320x200: 110 against 149 ms, about the same size, mean SSIM
        # 0.001 lower; browsers play from the first frame and never need to seek.
        # Every frame a key frame where one after the first is partly transparent (webp_key_frames).
        options.update(kmin=0, kmax=1 if webp_key_frames(frames) else 0)
    if target == "avif":
        # Chromium plays an AVIF sequence through its video path, which ignores the
        # full-range flag and shows full-range frames too bright; still images are fine.
        options["range"] = "limited"
    options.update(loop_option(target, plays))
    return options


def webp_key_frames(frames: list[Frame]) -> bool:
    """Whether every frame is to be a key frame, drawn whole without blending: where a frame after the first is
    partly transparent. libwebp's lossy frames are blended over the one before, and it makes transparent only
    those unchanged pixels that fill a whole opaque 8x8 block (anim_encode.c, FlattenSimilarBlocks), so an
    unchanged pixel of alpha 78 was drawn over itself, and Chromium 156 showed it at 132 (a helper's finding: 9 of
    1,700 random animations). A sprite of 20 frames takes 17% more bytes so; opaque frames, or frames whose alpha
    is all or nothing, cannot show it, and keep their sub-frames (a progress bar's 20 frames: 3.7 KB, whole 13.7)."""
    def partly_transparent(image: Image.Image) -> bool:
        return image.mode in WORKING_ALPHA_MODES and any(image.getchannel("A").histogram()[1:OPAQUE])

    return any(partly_transparent(frame.image) for frame in frames[1:])


class GifDelay(int):
    """A GIF frame's delay in ms, whose sums stop at the largest a GIF holds: Pillow 13's writer adds up the
    delays of frames that its palettes make alike (`previous + current`, GifImagePlugin._write_multiple_frames),
    and raised OverflowError on a sum past 16 bits of centiseconds (a 500 on six frames of 400 s that differed
    only in colours hidden under transparent pixels)."""

    def __add__(self, other: int) -> "GifDelay":
        return GifDelay(min(int(self) + other, MAX_FRAME_MS))

    __radd__ = __add__


def written_delays(target: str, durations: list[int]) -> list[int]:
    """The frames' delays as the target's writer can write them, as close to `durations` as it allows."""
    if target == "gif":
        return [GifDelay(delay) for delay in durations]  # whole centiseconds already (shown_as_gif)
    if target == "png":
        # Pillow's APNG writer takes a delay as a fraction of a second with neither term over 65535, and raised
        # ValueError on 65,537 ms (a reviewer's): a centisecond's precision keeps it within GIF's longest.
        return [nearest_centisecond(delay) if delay > MOST_APNG_EXACT_MS else delay for delay in durations]
    if target == "webp":
        return webp_delays(durations)
    return durations


def webp_delays(durations: list[int]) -> list[int]:
    """libwebp's timestamps are C ints, past which Pillow raised OverflowError: 24 days of frames, 3,277 of GIF's
    longest delay (a reviewer's, which x-max-frames may allow). Frames after that are written as 0 ms, which
    browsers show for 100."""
    delays, written = [], 0
    for duration in durations:
        delays.append(min(duration, MOST_WEBP_MS - written))
        written += delays[-1]
    return delays


class Shown(NamedTuple):
    """A frame that a GIF shows, from `start` (ms), where the source shows it from `source_start`."""

    frame: Frame
    start: int
    source_start: int


def shown_as_gif(frames: list[Frame], plays: int) -> list[Frame]:
    """The frames a GIF shows to keep the animation's pace, each for whole centiseconds (Pillow's writer would
    round down, 15 ms to 10, which browsers show for 100). Each starts where it started in the source, to the
    nearest centisecond, but no sooner than 20 ms after the one before, as browsers show 10 for 100; a frame
    whose source time has come by then takes the place of the one waiting, as a display that samples the source
    would show it. In an endless loop, a last frame that cannot show for 20 ms before the first comes back shares
    what is left with the one before it, and the one the source shows longer there is kept; an animation that
    plays a number of times comes to rest on its last frame, which stays."""
    shown: list[Shown] = []
    source_start = 0
    for frame in frames:
        if shown and source_start <= shown[-1].start:
            shown[-1] = Shown(frame, shown[-1].start, source_start)
        else:
            earliest = shown[-1].start + SHORTEST_GIF_DELAY_MS if shown else 0
            shown.append(Shown(frame, max(nearest_centisecond(source_start), earliest), source_start))
        source_start += frame.duration
    loop_end = nearest_centisecond(source_start)
    while plays == avif.FOREVER and len(shown) > 2 and loop_end - shown[-1].start < SHORTEST_GIF_DELAY_MS:
        last, waiting = shown.pop(), shown[-1]
        # Each by its own source time from the waiting frame's start; the last's runs to the source's end.
        waiting_shows = waiting.source_start + waiting.frame.duration - max(waiting.source_start, waiting.start)
        if source_start - last.source_start > waiting_shows:
            shown[-1] = Shown(last.frame, waiting.start, last.source_start)
    ends = [each.start for each in shown[1:]] + [max(loop_end, shown[-1].start + SHORTEST_GIF_DELAY_MS)]
    return [replace(each.frame, duration=min(end - each.start, MAX_FRAME_MS)) for each, end in zip(shown, ends)]


def nearest_centisecond(milliseconds: int) -> int:
    return (milliseconds + GIF_DELAY_UNIT_MS // 2) // GIF_DELAY_UNIT_MS * GIF_DELAY_UNIT_MS


def gif_disposal(images: list[Image.Image]) -> int:
    """How the GIF writer is to dispose of composited frames, each drawn whole: all 'keep' (each drawn over the
    one before), unless a pixel one frame shows is transparent in the next, which 'keep' cannot draw; then all
    'restore to background'. Pillow's writer encodes that right only for every frame: it crops a frame to what
    changed since the one before, so that only the crop is restored, yet writes the next frame as though the
    whole screen were (a reviewer's GIFs showed pixels left over from two frames before). One value, not a
    list: the writer folds frames that its palettes make alike, and where one is left, a list raised TypeError."""
    def uncovers(before: Image.Image, after: Image.Image) -> bool:
        if after.mode != "RGBA":
            return False
        shown = before.getchannel("A") if before.mode == "RGBA" else Image.new("L", before.size, OPAQUE)
        return ImageChops.subtract(shown, after.getchannel("A")).getbbox() is not None  # alpha: 0 or 255

    uncovered = any(uncovers(before, after) for before, after in zip(images, images[1:]))
    return GIF_RESTORE_BACKGROUND if uncovered else GIF_KEEP


def loop_option(target: str, plays: int) -> dict:
    """Pillow's `loop` for `plays`, in the target's own count, up to what its 16 bits hold: a GIF's
    counts repeats, and it plays once without one. AVIF's is set after the encode (edge/avif.py)."""
    if target == "gif":
        if plays == 1:
            return {}
        return {"loop": avif.FOREVER if plays == avif.FOREVER else min(plays - 1, MAX_GIF_REPEATS)}
    if target == "webp":
        return {"loop": min(plays, MAX_WEBP_PLAYS)}
    return {"loop": plays} if target == "png" else {}


def apart_from_its_source(image: Image.Image, target: str) -> Image.Image:
    """A frame that no step changed is the opened source itself, and Pillow's AVIF writer walks every frame of
    the image it is given (to tell whether all are grey): an MPO's preview, or an APNG's frames past those
    rendered, were decoded then, and one broken there failed the render (a 500 a fuzzer found); a TIFF's pages
    were all walked. Counting them would walk them too: any opened file is given as a plain image of the same
    pixels, not a copy of them (a copy of a 16 MP RGBA frame took 61 MB more, a reviewer's measure)."""
    # Pillow's own way to wrap decoded pixels in an image; no public call does it without copying them.
    return image._new(image.im) if target == "avif" and isinstance(image, ImageFile.ImageFile) else image


def without_metadata(image: Image.Image) -> Image.Image:
    """Drop EXIF, XMP and comments: the encoders would otherwise copy them from `info`."""
    image.info = {}
    return image
