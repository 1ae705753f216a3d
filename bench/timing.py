"""Timing, shared by the bench and its probes; light, so that a probe imports nothing else."""

import gc
import time
from collections.abc import Callable


def interleaved_times(runs: dict[str, Callable[[], object]], repetitions: int) -> dict[str, list[float]]:
    """`repetitions` rounds of every run. They take turns, and the turn order rotates every
    round: a burst of noise from a neighbour then lands on all of them rather than on one."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(repetitions):
        for name in rotated(list(runs), round_index):
            times[name].append(timed_ms(runs[name]))
    return times


def rotated(items: list, shift: int) -> list:
    shift %= len(items)
    return items[shift:] + items[:shift]


def timed_ms(run) -> float:
    gc.collect()
    gc.disable()  # a collection triggered by the previous engine's garbage must not land on this one
    try:
        started = time.perf_counter()
        run()
        return (time.perf_counter() - started) * 1000
    finally:
        gc.enable()
