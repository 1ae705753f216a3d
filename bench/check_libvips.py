"""Fails loudly unless pyvips runs on the libvips that pyvips-binary bundles, with every codec the benchmark uses.

pyvips silently drops to its slower ABI mode when it cannot use its compiled
binding, and a libvips without one of the savers would fail only mid-benchmark.
"""

import sys
from importlib.metadata import version as installed_version

import pyvips

# pyvips-binary's version is the version of the libvips it bundles (requirements/bench.txt pins it).
EXPECTED_VERSION = tuple(int(part) for part in installed_version("pyvips-binary").split(".")[:3])
SAVERS = (".jpg", ".png", ".webp", ".gif", ".avif")


def main() -> int:
    version = tuple(pyvips.version(index) for index in range(3))
    problems = []
    if not pyvips.API_mode:
        problems.append("pyvips is in ABI mode: its compiled binding did not load")
    if version != EXPECTED_VERSION:
        problems.append(f"libvips is {version}, expected the bundled {EXPECTED_VERSION}")
    sample = pyvips.Image.black(16, 16, bands=3) + 128
    for suffix in SAVERS:
        try:
            encoded = sample.write_to_buffer(suffix)
            pyvips.Image.thumbnail_buffer(encoded, 8)
        except pyvips.Error as error:
            problems.append(f"cannot write and read {suffix}: {error}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"libvips {'.'.join(map(str, version))} OK (API mode; {', '.join(SAVERS)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
