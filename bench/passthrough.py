"""The cold and warm cost of the pass-through path (hits and 404s that are not ours).

Each number comes from fresh interpreters running a small probe, so that nothing
the benchmark itself imported (Pillow, libvips, numpy) can hide or add a cost.
Bytecode goes to a cache outside edge/ (PYTHONPYCACHEPREFIX), compiled by a
discarded first run: Lambda ships compiled .pyc files, so compiling is not part
of a cold start (PLATFORM.md).
"""

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HIT_EVENT = "events/hit-200-passthrough.json"
NOT_OURS_EVENT = "events/not-ours-404-passthrough.json"
HEAVY_MODULES = ("PIL", "boto3", "botocore")

IMPORT_PROBE = """
import json, sys, time
started = time.perf_counter()
import edge.handler
import_ms = (time.perf_counter() - started) * 1000
from pathlib import Path
for name in sys.argv[1:]:
    edge.handler.handler(json.loads(Path(name).read_text()))
loaded = sorted({m.split(".")[0] for m in sys.modules} & %r)
print(json.dumps({"import_ms": import_ms, "heavy": loaded}))
""" % (set(HEAVY_MODULES),)

WARM_PROBE = """
import json, statistics, sys, timeit
from pathlib import Path
from edge.handler import handler
event = json.loads(Path(sys.argv[1]).read_text())
timer = timeit.Timer("handler(event)", globals={"handler": handler, "event": event})
number, _ = timer.autorange()
runs = timer.repeat(repeat=9, number=number)
print(json.dumps({"us": statistics.median(runs) / number * 1e6}))
"""


@dataclass(frozen=True)
class PassThrough:
    import_ms: float  # median over fresh interpreters
    import_ms_all: list[float]
    heavy_modules: list[str]  # any of HEAVY_MODULES imported after the import and both events
    hit_us: float
    not_ours_us: float


def probe_environment(cache_dir: Path) -> dict:
    """The environment of a fresh probe interpreter: its bytecode cached beside the corpus, and written there even
    where the shell says not to (PYTHONDONTWRITEBYTECODE): Lambda runs compiled bytecode, and a probe that compiled
    every module it imports would time the compiler."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {**environment, "PYTHONPYCACHEPREFIX": str(cache_dir / "pycache")}


def measure(repo: Path, env: dict, interpreters: int = 15) -> PassThrough:
    """Fresh interpreters in `env` (probe_environment's)."""
    events = [HIT_EVENT, NOT_OURS_EVENT]
    probe(repo, env, IMPORT_PROBE, events)  # compiles the bytecode; not counted
    cold = [probe(repo, env, IMPORT_PROBE, events) for _ in range(interpreters)]
    heavy = sorted({name for run in cold for name in run["heavy"]})
    return PassThrough(
        import_ms=statistics.median(run["import_ms"] for run in cold),
        import_ms_all=sorted(round(run["import_ms"], 2) for run in cold),
        heavy_modules=heavy,
        hit_us=probe(repo, env, WARM_PROBE, [HIT_EVENT])["us"],
        not_ours_us=probe(repo, env, WARM_PROBE, [NOT_OURS_EVENT])["us"],
    )


def probe(repo: Path, env: dict, code: str, arguments: list[str]) -> dict:
    return fresh_interpreter(["-c", code, *arguments], repo, env, "pass-through probe")


def fresh_interpreter(arguments: list[str], repo: Path, env: dict, what: str) -> dict:
    """Run this Python afresh with these arguments; the JSON it prints."""
    result = subprocess.run([sys.executable, *arguments], cwd=repo, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout)


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print(measure(root, root / ".cache"))
