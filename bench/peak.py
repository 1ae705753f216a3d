"""Peak-memory probe: run one engine once in this fresh interpreter and print its peak RSS.

Usage (by bench.run): python -m bench.peak ENGINE ORIGINAL_PATH JOB_JSON
Prints JSON: peak_kb (VmHWM, the process's high-water mark, everything included),
floor_kb (VmRSS once the engine is imported and the original read).
A fresh process per measurement: Python and the allocators keep freed memory, so a
peak inside a long-lived process would mostly measure the cases before it.
"""

import json
import sys
from pathlib import Path

from bench.engines import prepare
from bench.job import Job


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(engine: str, original: str, job_json: str) -> None:
    run = prepare(engine, Job.from_json(job_json))
    data = Path(original).read_bytes()
    floor_kb = status_kb("VmRSS")
    run(data)
    print(json.dumps({"peak_kb": status_kb("VmHWM"), "floor_kb": floor_kb}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
