"""The zipped size of the built Lambda artifact, zipped here as a deployment would be."""

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

BUILD_DIR = Path(".aws-sam/build/EdgeFunction")


@dataclass(frozen=True)
class Artifact:
    zipped_bytes: int
    unzipped_bytes: int
    files: int


def measure(repo: Path) -> Artifact | None:
    """None when nothing is built yet."""
    build = repo / BUILD_DIR
    if not build.is_dir():
        return None
    files = sorted(path for path in build.rglob("*") if path.is_file())
    with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, path.relative_to(build))
        zipped = Path(archive.name).stat().st_size
    return Artifact(zipped, sum(path.stat().st_size for path in files), len(files))
