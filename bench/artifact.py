"""The size of the built Lambda artifact, zipped here as a deployment would be.

One measure for `make bench`, for `make build` (`python -m bench.artifact` prints it) and for
tests/test_build.py, which checks it against Lambda@Edge's limits.
"""

import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

BUILD_DIR = Path(".aws-sam/build/EdgeFunction")
MB = 1024 * 1024  # as the bench report and Lambda's quotas count
LAMBDA_EDGE_MAX_ZIPPED = 50 * MB
LAMBDA_MAX_UNZIPPED = 250 * MB


@dataclass(frozen=True)
class Artifact:
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    def summary(self) -> str:
        return (f"EdgeFunction artifact: {self.zipped_bytes / MB:.1f} MB zipped, {self.unzipped_bytes / MB:.1f} MB "
                f"unzipped (Lambda@Edge: {LAMBDA_EDGE_MAX_ZIPPED // MB} MB zipped, "
                f"{LAMBDA_MAX_UNZIPPED // MB} MB unzipped)")


def measure(repo: Path) -> Artifact | None:
    """None when nothing is built yet."""
    build = repo / BUILD_DIR
    return measure_directory(build) if build.is_dir() else None


def measure_directory(build: Path) -> Artifact:
    files = sorted(path for path in build.rglob("*") if path.is_file())
    with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, path.relative_to(build))
        zipped = Path(archive.name).stat().st_size
    return Artifact(zipped, sum(path.stat().st_size for path in files), len(files))


if __name__ == "__main__":
    built = measure(Path.cwd())
    if built is None:
        sys.exit(f"error: nothing built in {BUILD_DIR}; run `make build`")
    print(built.summary())
