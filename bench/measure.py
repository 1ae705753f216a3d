"""Timing, output checks and peak memory for one case, all three engines on the same bytes."""

import io
import statistics
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from PIL import Image

from bench.cases import Case
from bench.engines import ENGINES, prepare
from bench.job import Job, make_job
from bench.passthrough import fresh_interpreter
from bench.quality import Reference
from bench.timing import interleaved_times, rotated


@dataclass
class CaseResult:
    case: Case
    job: Job
    times_ms: dict[str, list[float]] = field(default_factory=dict)
    out_bytes: dict[str, int] = field(default_factory=dict)
    out_size: dict[str, tuple[int, int]] = field(default_factory=dict)
    ssim: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)
    floor_mb: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def median_ms(self, engine: str) -> float | None:
        times = self.times_ms.get(engine)
        return statistics.median(times) if times else None

    def ratio(self, engine: str, other: str) -> float | None:
        mine, theirs = self.median_ms(engine), self.median_ms(other)
        return mine / theirs if mine and theirs else None


def measure_case(case: Case, data: bytes, reference: Reference, repetitions: int) -> CaseResult:
    job = make_job(data, case.spec)
    result = CaseResult(case, job)
    runners = {engine: prepare(engine, job) for engine in ENGINES}
    outputs = warm_up(runners, data, result)
    result.times_ms = interleaved_times({engine: partial(runners[engine], data) for engine in outputs}, repetitions)
    for engine, output in outputs.items():
        result.out_bytes[engine] = len(output)
        result.out_size[engine] = output_size(output)
        result.ssim[engine] = judged_ssim(engine, output, job, reference, case.file.size)
    return result


def judged_ssim(engine: str, output: bytes, job: Job, reference: Reference, source_size) -> float:
    """libvips places a cover crop by its own rounding: judge it where it actually cropped."""
    if engine == "libvips" and job.fit == "cover":
        return reference.aligned_ssim(output, job.crop, source_size)
    return reference.ssim(output, job.crop)


def warm_up(runners: dict, data: bytes, result: CaseResult) -> dict[str, bytes]:
    """One untimed run each (first-call costs such as plugin imports); its output is what we judge."""
    outputs = {}
    for engine, run in runners.items():
        try:
            outputs[engine] = run(data)
        except Exception as error:  # noqa: BLE001 - one broken engine must not hide the others' numbers
            result.errors[engine] = f"{type(error).__name__}: {error}"
    return outputs


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def output_size(output: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(output)) as image:
        return image.size


# --- peak memory, one fresh process per engine -------------------------------


def measure_peaks(result: CaseResult, repo: Path, env: dict, turn: int) -> None:
    for engine in rotated(list(ENGINES), turn):
        if engine in result.errors:
            continue
        probe = peak_probe(engine, result.case.file.path, result.job, repo, env)
        result.peak_mb[engine] = probe["peak_kb"] / 1024
        result.floor_mb[engine] = probe["floor_kb"] / 1024


def peak_probe(engine: str, original: str, job: Job, repo: Path, env: dict) -> dict:
    arguments = ["-m", "bench.peak", engine, original, job.to_json()]
    return fresh_interpreter(arguments, repo, env, f"peak probe {engine} {job.spec}")


