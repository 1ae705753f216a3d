"""`make bench`: build the corpus, measure every case, print the report and save it.

Usage: python -m bench.run [--repetitions N] [--only TEXT] [--no-memory] [--cache DIR]
Exit status: 0 when every engine ran every case, 1 if one failed, 2 without a corpus.
The targets of issue 5 are reported (PASS/FAIL) but do not set the exit status:
a benchmark on a noisy machine is evidence, not a gate.
"""

import argparse
import itertools
import os
import re
import sys
import time
from pathlib import Path

from bench import artifact, passthrough, report
from bench.cpu_share import CpuShareError, confine
from bench.cases import cases_for
from bench.corpus import CorpusError, ensure_corpus
from bench.engines import ENGINES
from bench.measure import measure_case, measure_peaks, progress
from bench.passthrough import probe_environment
from bench.quality import Reference

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5, help="timed runs per engine and case (median)")
    parser.add_argument("--only", default="", help="run only the cases whose label contains this text")
    parser.add_argument("--no-memory", action="store_true", help="skip the fresh-process peak RSS probes")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "bench-corpus", help="corpus cache directory")
    parser.add_argument("--vips-threads", type=int, default=0,
                        help="libvips worker threads (default: libvips' own, one per core); --cpu-share, "
                             "not this, is what Lambda does")
    parser.add_argument("--cpu-share", type=float, default=0,
                        help="run on this many CPUs' worth of time over all the cores, as Lambda does: 1.16 is "
                             "the template's 2048 MB (needs root and the cgroup cpu controller)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    os.chdir(REPO)  # the probes and events are found relative to the checkout
    if arguments.vips_threads:
        # Read by libvips when it starts, here and in every peak-memory probe.
        os.environ["VIPS_CONCURRENCY"] = str(arguments.vips_threads)
    try:
        files = ensure_corpus(arguments.cache)
        cpu_share = confine(arguments.cpu_share) if arguments.cpu_share else None
    except (CorpusError, CpuShareError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    cases = [case for case in cases_for(files) if arguments.only in case.label]
    if not cases:
        print(f"error: no case's label contains {arguments.only!r}", file=sys.stderr)
        return 2
    environment = report.machine_description(arguments.repetitions)
    if cpu_share is not None:
        environment["CPU share"] = cpu_share
    probe_env = probe_environment(arguments.cache.parent)
    started = time.monotonic()
    results = time_cases(cases, arguments.repetitions)
    timed = time.monotonic()
    if not arguments.no_memory:
        measure_memory(results, probe_env)
    environment["load average at end"] = report.load_average()
    pass_through = passthrough.measure(REPO, probe_env)
    built = artifact.measure(REPO)
    environment["run time"] = (f"{time.monotonic() - started:.0f} s ({timed - started:.0f} s timing and SSIM, "
                               f"{time.monotonic() - timed:.0f} s memory probes and pass-through)")
    text = report.render(environment, files, results, pass_through, built)
    print(text)
    saved = RESULTS_DIR / report_name(arguments.cpu_share if cpu_share else 0, arguments.only)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(text)
    print(f"(saved to {saved.relative_to(REPO)})", file=sys.stderr)
    return 1 if any(result.errors for result in results) else 0


def report_name(cpu_share: float, only: str) -> str:
    """latest.md for a whole run on the whole machine. A run on a CPU share, or on a subset of
    the cases, keeps a report of its own, so that it never overwrites the whole run's."""
    name = "latest"
    if cpu_share:
        name += f"-cpu-share-{cpu_share:g}"
    if only:
        name += "-only-" + (re.sub(r"[^A-Za-z0-9.]+", "-", only).strip("-") or "cases")
    return name + ".md"


def time_cases(cases, repetitions: int):
    """Timing and SSIM, file by file, so that each original is decoded for its reference once."""
    results = []
    for corpus_file, file_cases in itertools.groupby(cases, key=lambda case: case.file):
        data = Path(corpus_file.path).read_bytes()
        reference = Reference(data)
        for case in file_cases:
            result = measure_case(case, data, reference, repetitions)
            results.append(result)
            progress(f"timed {case.label}: " + ", ".join(
                f"{engine} {result.median_ms(engine) or float('nan'):.1f} ms" for engine in ENGINES))
        del reference  # the float planes of a 50 MP original weigh about 600 MB
    return results


def measure_memory(results, env: dict) -> None:
    for turn, result in enumerate(results):
        measure_peaks(result, REPO, env, turn)
        progress(f"peak RSS {result.case.label}: " + ", ".join(
            f"{engine} {mb:.0f} MB" for engine, mb in result.peak_mb.items()))


if __name__ == "__main__":
    sys.exit(main())
