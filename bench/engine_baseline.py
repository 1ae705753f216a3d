"""Engine 2, the tutorial baseline: open, decode everything, resize with LANCZOS, save.

No DCT-domain scaling, no reduce(), no care for what is cropped away: the pipeline
this project descends from. Its output size, crop and save options are ours, so
that only the pipeline differs. Two departures from the letter of the tutorial,
both in its favour: palette frames are converted to RGB(A) first (Pillow would
otherwise silently resize them with NEAREST), and an animation keeps every frame.
"""

import io

from PIL import Image, ImageSequence

from bench.job import Job, frame_options


def prepare(job: Job):
    return lambda data: render(data, job)


def render(data: bytes, job: Job) -> bytes:
    source = Image.open(io.BytesIO(data))
    pictures = ImageSequence.Iterator(source) if job.animated else [source]
    frames = [resize(picture, job) for picture in pictures]
    return save(frames, job, source.info)


def resize(picture: Image.Image, job: Job) -> Image.Image:
    if picture.mode not in ("RGB", "RGBA", "L", "LA"):
        picture = picture.convert("RGBA" if has_alpha(picture) else "RGB")
    frame = picture.resize(job.size, Image.Resampling.LANCZOS, box=job.crop)
    if job.target == "jpeg" and frame.mode in ("RGBA", "LA"):
        frame = frame.convert(frame.mode[:-1])
    return frame


def has_alpha(picture: Image.Image) -> bool:
    return picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info


def save(frames: list[Image.Image], job: Job, source_info: dict) -> bytes:
    options = frame_options(job, frames[0])
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], duration=source_info.get("duration", 100),
                       loop=source_info.get("loop", 0))
    output = io.BytesIO()
    frames[0].save(output, format=job.target.upper(), **options)
    return output.getvalue()
