"""The heap policy: what it asks of glibc, in what order, and that a warm render then reuses memory."""

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from edge import heap
from imaging import encoded

ROOT = Path(__file__).resolve().parent.parent

# Spelled out, not taken from edge/heap.py, which they check: glibc's malloc.h numbers (M_MMAP_THRESHOLD -3,
# M_TRIM_THRESHOLD -1, M_ARENA_MAX -8), 32 MB, 512 MB and two arenas.
ALL_SET = [(-3, 33_554_432), (-1, 536_870_912), (-8, 2)]


class FakeLibc:
    def __init__(self, refuses: int | None = None):
        self.calls: list[tuple[int, int]] = []
        self.refuses = refuses

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append((parameter, value))
        return 0 if parameter == self.refuses else 1


def test_sets_the_mmap_threshold_first_then_the_trim_threshold_and_two_arenas():
    libc = FakeLibc()
    assert heap.keep_freed_memory(libc) is True
    assert libc.calls == ALL_SET


def test_a_refused_mmap_threshold_leaves_glibc_adaptive():
    # A trim threshold alone would end the adaptive mmap threshold at its 128 KB start.
    libc = FakeLibc(refuses=heap.M_MMAP_THRESHOLD)
    assert heap.keep_freed_memory(libc) is False
    assert libc.calls == ALL_SET[:1]


@pytest.mark.parametrize("refuses", [heap.M_TRIM_THRESHOLD, heap.M_ARENA_MAX])
def test_any_refusal_is_reported(refuses):
    assert heap.keep_freed_memory(FakeLibc(refuses=refuses)) is False


def test_a_c_library_without_mallopt_is_left_alone():
    assert heap.keep_freed_memory(object()) is False


GLIBC_ONLY = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the policy is glibc's")


@GLIBC_ONLY
def test_this_glibc_takes_every_setting():
    assert heap.keep_freed_memory() is True


@GLIBC_ONLY
def test_a_warm_render_reuses_the_memory_the_one_before_freed(tmp_path):
    """bench/warm.py, the bench's own probe: a fresh interpreter, as a new container, renders one
    photo once untimed, then eight times counting page faults (with three, a fresh clone's run once saw each
    fault a few hundred pages in: [417, 418, 359], where most runs see one 417 and the rest none; under load,
    a helper saw a render fault that much about one time in four, so five left it about 1 run in 1,000)."""
    original = tmp_path / "photo.jpg"
    original.write_bytes(encoded(Image.linear_gradient("L").resize((3000, 2000)).convert("RGB"), "JPEG", quality=90))
    decoded_pages = 3000 * 2000 * 4 // 4096  # RGBX, as Pillow holds RGB
    result = subprocess.run([sys.executable, "-m", "bench.warm", "policy", str(original), "1600x", "8"],
                            capture_output=True, text=True, check=True, cwd=ROOT)
    page_faults = json.loads(result.stdout)["page_faults"]
    # Without the policy this glibc faults the whole decoded image in again, and more, on every render
    # (8,700 pages). With it, the fewest are none; a thread's first strip in its arena can cost a few hundred.
    assert min(page_faults) < decoded_pages // 20, page_faults
    assert max(page_faults) < decoded_pages // 4, page_faults
