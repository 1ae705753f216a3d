"""Engine 3, libvips: thumbnail_buffer (shrink-on-load, then reduce) and write_to_buffer.

Save settings are translated from ours (bench.job.encoder_options) so that both
engines aim at the same output:
  JPEG  quality -> Q, progressive -> interlace, optimize -> optimize_coding
        (both 4:2:0 below quality 90: libvips "auto" and libjpeg's default)
  WebP  quality -> Q, method -> effort (the same libwebp knob, 0-6)
  AVIF  quality -> Q, speed -> effort = 9 - speed (heifsave passes aom "speed" = 9 - effort;
        both use libaom, 4:2:0 below Q 90, 8 bits)
  PNG   compress_level -> compression, and filter=ALL: Pillow picks a row filter
        adaptively; libvips' default (none) makes files ~1.8x larger. libvips has no
        setting for zlib's strategy, so our run-length coding of photos has no match
  GIF   dither 0 (Pillow's ADAPTIVE palette does not dither) and effort 1, the fastest
        libimagequant setting, which is still at least Pillow's median cut in quality
The quality scales of Pillow/libavif and libheif differ for AVIF; bytes and SSIM in
the table show how close the results are.
"""

import pyvips

from bench.job import Job

# libvips caches operations by their arguments: a repeated thumbnail of the same
# buffer would then cost nothing. Every repetition must do the whole work.
pyvips.cache_set_max(0)

UNBOUNDED = 10_000_000  # libvips' VIPS_MAX_COORD: no constraint on that side
PNG_FILTER_ALL = 0xF8
SUFFIXES = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "avif": ".avif", "gif": ".gif"}


def prepare(job: Job):
    width, thumbnail_options = thumbnail_arguments(job)
    suffix, save_options = SUFFIXES[job.target], save_arguments(job.target, job.options)

    def run(data: bytes) -> bytes:
        return pyvips.Image.thumbnail_buffer(data, width, **thumbnail_options).write_to_buffer(suffix, **save_options)

    return run


def thumbnail_arguments(job: Job) -> tuple[int, dict]:
    options = {"height": job.height or UNBOUNDED, "size": "down"}
    if job.fit == "cover":
        options["crop"] = "centre"
    elif job.fit == "fill":
        options["size"] = "force"
    if job.animated:
        options["option_string"] = "n=-1"  # every frame, not just the first
    return job.width or UNBOUNDED, options


def save_arguments(target: str, ours: dict) -> dict:
    if target == "jpeg":
        return {"Q": ours["quality"], "interlace": bool(ours.get("progressive")),
                "optimize_coding": bool(ours.get("optimize"))}
    if target == "webp":
        return {"Q": ours["quality"], "effort": ours["method"]}
    if target == "avif":
        return {"Q": ours["quality"], "effort": min(9, max(0, 9 - ours["speed"])), "compression": "av1", "bitdepth": 8}
    if target == "png":
        return {"compression": ours["compress_level"], "filter": PNG_FILTER_ALL}
    if target == "gif":
        return {"dither": 0.0, "effort": 1}
    raise ValueError(f"no libvips settings for {target}")
