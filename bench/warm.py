"""Warm-container probe: render one case several times in this fresh interpreter, as a
warm Lambda container serves one miss after another, and print each render's time and
page faults. `adaptive` leaves glibc's heap as it starts; `policy` is edge/heap.py's.

Usage (by bench.levers' heap section and tests/test_heap.py):
    python -m bench.warm {adaptive|policy} ORIGINAL SPEC RENDERS
Prints JSON: times_ms and page_faults, one each per render after an untimed first one,
and out_bytes.
"""

import json
import resource
import sys
from pathlib import Path

import edge.heap

HEAP_MODES = ("adaptive", "policy")


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main(mode: str, original: str, spec: str, renders: str) -> None:
    if mode not in HEAP_MODES:
        raise SystemExit(f"heap mode must be one of {HEAP_MODES}, not {mode!r}")
    if mode == "adaptive":
        edge.heap.keep_freed_memory = lambda: False  # before edge.image is imported, which would set it
    from bench.engine_ours import prepare
    from bench.job import make_job
    from bench.timing import timed_ms

    data = Path(original).read_bytes()
    run = prepare(make_job(data, spec))
    output = run(data)  # the container's first request: cold either way
    times_ms, page_faults = [], []
    for _ in range(int(renders)):
        faults = minor_faults()
        times_ms.append(timed_ms(lambda: run(data)))
        page_faults.append(minor_faults() - faults)
    print(json.dumps({"times_ms": times_ms, "page_faults": page_faults, "out_bytes": len(output)}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
