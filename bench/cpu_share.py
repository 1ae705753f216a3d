"""`--cpu-share`: run the benchmark on the CPU time Lambda gives the function, not the whole machine.

Lambda hands out CPU time in proportion to memory: one vCPU-second per second at 1769 MB, so
1.16 at the template's 2048 MB, while the function still sees two cores (up to 3008 MB, as
rwnx/lambda-cpuinfo measured). A CPU quota in a control group is the same arrangement: both cores visible,
together no more than the share. This process and every probe it starts run inside it.

Needs root and the cgroup `cpu` controller (v1's cpu.cfs_quota_us or v2's cpu.max).
"""

import atexit
import os
from pathlib import Path

PERIOD_US = 100_000
V1_CPU = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")


class CpuShareError(Exception):
    pass


def confine(share: float) -> str:
    """Move this process into a new control group limited to `share` CPUs, removed again at exit;
    returns what the report says of it."""
    if share <= 0:
        raise CpuShareError("the CPU share must be positive")
    quota = round(share * PERIOD_US)
    if (V1_CPU / "cpu.cfs_quota_us").exists():
        parent, limits, kind = V1_CPU, {"cpu.cfs_period_us": str(PERIOD_US), "cpu.cfs_quota_us": str(quota)}, "v1"
    elif "cpu" in _read(V2_ROOT / "cgroup.subtree_control").split():
        parent, limits, kind = V2_ROOT, {"cpu.max": f"{quota} {PERIOD_US}"}, "v2"
    else:
        raise CpuShareError("no cgroup cpu controller here (cgroup v1 cpu, or v2 with cpu in subtree_control)")
    group = parent / f"bench-cpu-share-{os.getpid()}"
    try:
        group.mkdir()
        for name, value in limits.items():
            (group / name).write_text(value)
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as error:
        _remove(group)
        raise CpuShareError(f"cannot set up {group} ({error.strerror}; it needs root)") from None
    atexit.register(_remove, group)
    return f"{share:g} CPU of {os.cpu_count()} cores (cgroup {kind} quota {quota}/{PERIOD_US} µs)"


def _remove(group: Path) -> None:
    if not group.exists():
        return
    try:
        (group.parent / "cgroup.procs").write_text(str(os.getpid()))  # a group with a member cannot be removed
        group.rmdir()
    except OSError:
        pass  # left behind, empty once the run ends: harmless, and named by its pid


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
