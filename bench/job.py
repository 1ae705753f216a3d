"""One benchmark case made concrete: what every engine must produce from the same bytes.

A Job is computed once, outside any timing, from the source's header and SPEC.md's
geometry, and is plain JSON so that a fresh subprocess (the peak-memory probe) can
receive it without importing anything it would not import on its own.
"""

import io
import json
from dataclasses import asdict, dataclass

@dataclass(frozen=True)
class Job:
    spec: str  # the URL's spec segment, e.g. "600x600,cover,webp"
    width: int | None  # as requested
    height: int | None
    fit: str
    size: tuple[int, int]  # output size per SPEC.md's geometry
    crop: tuple[int, int, int, int]  # source region that becomes the output
    target: str  # output format
    options: dict  # our Pillow save options for that format (the baseline uses the same)
    animated: bool  # every frame is rendered

    @property
    def geometry(self):
        from edge.geometry import Geometry

        return Geometry(self.size, self.crop)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Job":
        raw = json.loads(text)
        return cls(**{**raw, "size": tuple(raw["size"]), "crop": tuple(raw["crop"])})


def make_job(data: bytes, spec: str) -> Job:
    from PIL import Image

    from edge.geometry import plan
    from edge.image.model import ANIMATED_OUTPUTS, default_format, is_animated
    from edge.image.source import oriented_size

    rendition = rendition_for(spec)
    with Image.open(io.BytesIO(data)) as source:
        geometry = plan(oriented_size(source, data), rendition.width, rendition.height, rendition.fit)
        target = rendition.format or default_format(source)
        animated = is_animated(source) and target in ANIMATED_OUTPUTS
    return Job(
        spec=spec, width=rendition.width, height=rendition.height, fit=rendition.fit,
        size=geometry.size, crop=geometry.crop, target=target, options=encoder_options(target), animated=animated,
    )


def rendition_for(spec: str):
    """Our parser's reading of a spec, for a made-up original key."""
    from edge.rendition import parse_rendition

    return parse_rendition(f"/{spec}/bench/original")


def encoder_options(target: str, image=None) -> dict:
    """Our engine's own save options, read from edge.image so that the comparison follows its changes."""
    from edge.image.output import encoder_options as ours

    return ours(target, None, image)


def frame_options(job: Job, image) -> dict:
    """The save options for one rendered frame: the Job's, except that PNG's zlib strategy is
    chosen from the pixels, which no Job can carry. Other targets import nothing more."""
    return encoder_options(job.target, image) if job.target == "png" else dict(job.options)
