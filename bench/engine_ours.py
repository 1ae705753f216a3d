"""Engine 1, ours: edge.image.render exactly as the miss path calls it, with the default limits."""

from edge.config import DEFAULT_MAX_FRAMES, DEFAULT_MAX_SOURCE_PIXELS
from edge.image import Limits, render

from bench.job import Job, rendition_for

LIMITS = Limits(DEFAULT_MAX_SOURCE_PIXELS, DEFAULT_MAX_FRAMES)


def prepare(job: Job):
    """A one-argument function from original bytes to output bytes; parsing stays outside the timing."""
    rendition = rendition_for(job.spec)
    return lambda data: render(data, rendition, LIMITS).body
