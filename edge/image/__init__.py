"""The image engine: the only package that imports Pillow, and the SIMD resizer that works on its images.

`render` opens the original, checks it against the limits from its header alone
(before a pixel is decoded), then runs each frame through a fixed list of small
steps. Every step returns early when it has nothing to do.

Colour: an RGB or grayscale source's ICC profile (Display P3, Adobe RGB, ...) is
kept, untouched, in JPEG, PNG, WebP and AVIF output, so browsers show the same
colours, where browsers would use it at all (icc.usable). An AVIF or PNG that
gives its colour by code points gets the profile they make (HDR's: its SDR
rendering), and AVIF output states the codes too, so that HDR stays HDR there; a
PNG that gives it by gAMA and cHRM, the profile they make. GIF cannot carry a
profile, nor WebP a grey one (WebP has no grey, nor AVIF with alpha as Pillow
writes it), nor grey pixels an RGB one, so those pixels are converted to sRGB
(to_srgb_where_the_profile_cannot_go), and CMYK is always converted to sRGB
(with its profile when it has one).
Metadata: EXIF (its orientation applied where browsers apply it, by turning only
the output, after the resize: the steps before work on the pixels as stored), XMP
and comments never reach the output.

Its modules, each importing only those listed before it:
- model: the values they pass to each other (Limits, Source, Frame, Rendered), the format tables, and the worker
  threads with the data checks that run on them;
- checks: what is refused before a pixel is decoded, and the ceilings on what a hostile file makes Pillow walk;
- source: the original opened as browsers read it, and the size and orientation they show;
- colour: the profile each frame carries, and the conversions to sRGB (refusing a profile LittleCMS would
  take minutes to build on);
- resample: LANCZOS by SIMD, the resizer's only importer;
- steps: the steps each frame takes, in order;
- frames: an animation's frames, drawn, timed and played as browsers show them; every frame through the steps;
- output: the encode.
`render`, here, wires them together. Tests and tools reach inside; the miss path uses only `__all__`.
"""

from dataclasses import replace

from PIL import Image

# Only the decoders we accept are registered: Image.open then never tries the
# other few dozen plugins (less to import, and less attack surface).
from PIL import (  # noqa: F401 - imported for their registration side effect
    AvifImagePlugin,
    BmpImagePlugin,
    GifImagePlugin,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from edge import heap, png
from edge.geometry import as_stored, plan, upright_size
from edge.image.checks import check_animation_pixels, check_encodable, check_pixels_in_head
from edge.image.colour import colour_codes, colour_profile
from edge.image.frames import animation_plays, frame_canvas, rendered_frames, source_frames
from edge.image.model import (
    ANIMATED_OUTPUTS, CONTENT_TYPES, Limits, Rendered, await_data_check, default_format, has_alpha, is_animated,
    start_data_check, stop_data_check,
)
from edge.image.output import drop_unshown_alpha, encode, is_lossless_graphic, merge_repeated, shown_as_gif
from edge.image.source import exif_orientation, open_source, shown_size
from edge.rendition import Rendition

# We enforce our own pixel limit from configuration, before decoding; Pillow's
# global guard would otherwise fire at a fixed size we do not control.
Image.MAX_IMAGE_PIXELS = None
# Decoded images are large and short-lived: keep their memory for the next request (edge/heap.py).
heap.keep_freed_memory()

__all__ = ["Limits", "Rendered", "check_pixels_in_head", "render"]


def render(data: bytes, rendition: Rendition, limits: Limits) -> Rendered:
    """The original's bytes rendered as `rendition` asks, or the EdgeError that refuses them."""
    data = png.without_chunks_browsers_skip(data)
    source = open_source(data, limits)
    try:
        image = source.image
        target = rendition.format or default_format(image)
        frame_count = source.frames if is_animated(image) and target in ANIMATED_OUTPUTS else 1
        check_animation_pixels(source.first_frame + frame_count, source.canvas, limits)  # all Pillow decodes
        if source.apng:  # beside the decode, the images Pillow will decode
            images = source.first_frame + frame_count
            source = replace(source, data_check=start_data_check(png.check_frame_streams, data, images))
        orientation = exif_orientation(image, data)  # read once: every frame is turned the same way
        shown = shown_size(image, data)
        geometry = plan(upright_size(shown, orientation), rendition.width, rendition.height, rendition.fit)
        check_encodable(geometry.size, target)
        plays = animation_plays(source, data)  # read before seeking: only the first frame carries it
        lossless = target == "webp" and frame_count == 1 and is_lossless_graphic(image, data)
        codes = colour_codes(image, data)
        profile = colour_profile(source, codes, target, data)
        frames = merge_repeated(rendered_frames(
            source_frames(image, source.first_frame, frame_count, target, as_stored(geometry, orientation, shown),
                          orientation, data, profile, frame_canvas(source, frame_count, data), shown),
            frame_count))
        if not has_alpha(image) or source.hidden_alpha:
            drop_unshown_alpha(frames)
        await_data_check(source)
    except BaseException:
        stop_data_check(source)
        raise
    if target == "gif" and len(frames) > 1:
        frames = shown_as_gif(frames, plays)
    # AVIF output states the codes too, where its numbers are still the ones they describe: not where a profile
    # made from them had to go, the pixels converted to sRGB (to_srgb_where_the_profile_cannot_go).
    stated = None if profile is not None and frames[0].icc_profile is None else codes
    body = encode(frames, rendition.quality, plays, lossless, stated)
    return Rendered(body, target, CONTENT_TYPES[target], geometry.size, len(frames))
