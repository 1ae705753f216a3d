"""The three engines by name. Each lives in its own module and is imported only when
asked for, so a peak-memory probe carries only its own engine's libraries."""

import importlib

ENGINES = ("ours", "baseline", "libvips")


def prepare(engine: str, job):
    """A function from original bytes to output bytes, for this engine and job."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    return importlib.import_module(f"bench.engine_{engine}").prepare(job)
