"""The C heap's policy, set once per process: a warm container reuses the memory its
last request freed, instead of getting fresh pages from the kernel for every image.

glibc hands a large freed block back to the kernel, and raises the size it does that
for only once it has freed such a block, then trims the heap again when much is free
at its top. Until a container happens to have freed blocks as large as the next
request's, every decoded image is new pages, each zeroed and faulted in: 8 MP decoded
is 32 MB, some 10,000 page faults, up to a fifth of a render (measured by the heap section
of bench/levers.py). Fixed thresholds make every request, from the first, reuse what the
one before freed.
"""

import ctypes

# mallopt's parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MB = 1024 * 1024

# Pillow allocates an image in blocks of up to 16 MB, which then come from the heap. 32 MB is
# also the ceiling of glibc's own adaptive threshold, and no 64-bit glibc refuses it.
MMAP_THRESHOLD = 32 * MB
# Freed memory the heap keeps: more than the largest render's working set (a 50 MP JPEG to
# 1600 px peaks near 230 MB), and a small part of the function's 2048 MB.
KEEP_FREED = 512 * MB
# Two arenas for all the threads. glibc's default, one per thread up to 8 per core, leaves
# each resample thread a heap of its own that no longer shrinks: the peak grew by 9-17 MB
# (12 MP to 1600 px), against 4-10 MB with two. With one, the threads that quantise GIF
# frames wait on each other's malloc: a 20-frame GIF to GIF took 20% longer.
ARENAS = 2


def keep_freed_memory(libc: ctypes.CDLL | None = None) -> bool:
    """Set the policy; False where the C library has no mallopt (macOS) or refuses a setting
    (a 32-bit glibc refuses the mmap threshold, the first one set, and then nothing is changed)."""
    mallopt = getattr(libc or ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    # The mmap threshold first: setting either threshold ends glibc's adaptive one, so a trim
    # threshold alone would leave every block over 128 KB mapped afresh, which is worse.
    if not mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED)) and bool(mallopt(M_ARENA_MAX, ARENAS))
