"""The Lambda@Edge artifact that `sam build` makes (BuildMethod: makefile, mk/build.mk).

The build runs once per session with the tools venv's sam (.venv-tools, made by
`make tools`, which `make test` runs first; a missing sam fails, it never skips), into a
temporary build dir so that it never races with, nor replaces, a `make build` in
.aws-sam/ that someone is about to deploy. It is the same artifact: same template,
same make target.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.artifact import LAMBDA_EDGE_MAX_ZIPPED, LAMBDA_MAX_UNZIPPED, measure_directory

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SAM = REPO / ".venv-tools" / "bin" / "sam"
EXTENSION_SUFFIX = ".cpython-313-x86_64-linux-gnu.so"
ELF_MACHINE_X86_64 = 62
# Pillow's font stack and Tk, which mk/build.mk removes (edge/ never draws text).
PRUNED = ("PIL/_imagingft", "PIL/_imagingtk", "pillow.libs/libfreetype", "pillow.libs/libharfbuzz",
          "pillow.libs/libbrotli", "pillow.libs/libpng16")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    assert SAM.exists(), f"{SAM} is missing: run `make tools` (make test does it first)"
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [str(SAM), "build", "--template-file", str(REPO / "template.yaml"), "--build-dir", str(build_dir)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout}\n{result.stderr}"
    path = build_dir / "EdgeFunction"
    assert path.is_dir()
    return path


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_artifact_holds_edge_pillow_and_the_resizer_only(artifact):
    top = {p.name for p in artifact.iterdir()}
    dist_infos = {name for name in top if name.endswith(".dist-info")}
    assert top - dist_infos == {"edge", "PIL", "pillow.libs", "cykooz_resizer"}
    assert sorted(name.lower().split("-")[0] for name in dist_infos) == ["cykooz_resizer", "pillow"]


def test_edge_package_is_the_source_without_tests_or_caches(artifact):
    source = {p.relative_to(REPO / "edge") for p in (REPO / "edge").rglob("*.py") if "__pycache__" not in p.parts}
    source = {p for p in source if not p.name.startswith("test_") and "tests" not in p.parts}
    built = {p.relative_to(artifact / "edge") for p in (artifact / "edge").rglob("*.py")}
    assert built == source
    for path in built:
        assert (artifact / "edge" / path).read_bytes() == (REPO / "edge" / path).read_bytes()


def test_no_boto3_no_tests_no_caches(artifact):
    names = {part for p in artifact.rglob("*") for part in p.relative_to(artifact).parts}
    # The python3.13 runtime provides boto3; a bundled copy would only add size and drift.
    assert not names & {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath"}
    assert not names & {"tests", "test", "conftest.py", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}
    assert not [p for p in files(artifact) if p.name.startswith("test_") and p.suffix == ".py"]
    stray = [p for p in files(artifact) if p.suffix in (".pyc", ".pyo") and p.parent.name != "__pycache__"]
    assert not stray


@pytest.mark.parametrize(("distribution", "package"), [("pillow", "PIL"), ("cykooz_resizer", "cykooz_resizer")])
def test_binaries_are_cp313_manylinux_x86_64(artifact, distribution, package):
    wheel = next(artifact.glob(f"{distribution}-*.dist-info")) / "WHEEL"
    tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
    assert tags and all(tag.startswith("cp313-cp313-manylinux") and tag.endswith("_x86_64") for tag in tags), tags
    extensions = list((artifact / package).glob("*.so"))
    assert extensions and all(p.name.endswith(EXTENSION_SUFFIX) for p in extensions)


def test_every_shared_library_is_x86_64(artifact):
    shared = [p for p in files(artifact) if p.suffix == ".so" or ".so." in p.name]
    assert shared
    for path in shared:
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", path
        assert header[4] == 2, f"{path} is not 64-bit"
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_X86_64, f"{path} is not x86_64"


def test_unused_pillow_parts_are_pruned(artifact):
    for prefix in PRUNED:
        parent, _, stem = prefix.rpartition("/")
        assert not list((artifact / parent).glob(f"{stem}*")), prefix


def test_every_module_has_an_unchecked_pyc_for_313(artifact):
    """Lambda's code dir is read-only: a missing or stale .pyc means compiling on every cold start."""
    assert sys.version_info[:2] == (3, 13), "the tests run on the runtime's Python"
    sources = [p for p in files(artifact) if p.suffix == ".py"]
    assert len(sources) > 50
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(source)))
        assert pyc.name.endswith(".cpython-313.pyc") and pyc.is_file(), f"no 3.13 .pyc for {source}"
        header = pyc.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, f"{pyc} is not for Python 3.13"
        flags = int.from_bytes(header[4:8], "little")
        assert flags == 0b01, f"{pyc} is not unchecked-hash based (flags {flags:#b})"
        assert header[8:16] == importlib.util.source_hash(source.read_bytes()), f"{pyc} is stale"
    optimized = [p for p in files(artifact) if ".opt-" in p.name]
    assert not optimized, "Lambda runs without -O: optimized .pyc files are dead weight"


SMOKE = r"""
import io, sys
artifact = sys.argv[1]
sys.path.insert(0, artifact)

try:
    import boto3  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("boto3 is importable: the smoke test is not isolated from site-packages")

import PIL
assert PIL.__file__.startswith(artifact), PIL.__file__
from PIL import Image, ImageChops, ImageCms, features

for module in ("PIL._imaging", "PIL._imagingcms", "PIL._imagingmath", "PIL._imagingmorph", "PIL._webp", "PIL._avif"):
    __import__(module)
for codec in ("jpg", "zlib", "libtiff"):
    assert features.check_codec(codec), codec
for module in ("webp", "avif", "littlecms2"):
    assert features.check_module(module), module

import edge.handler
import edge.image  # registers the decoders, builds the sRGB profile
import cykooz_resizer
assert cykooz_resizer.__file__.startswith(artifact), cykooz_resizer.__file__
from edge.rendition import parse_rendition
decoder = edge.image.model.webp_decoder()
assert decoder is not None and decoder.path.startswith(artifact), "libwebp's scaled decode is not the artifact's"

passthrough = {"status": "200", "statusDescription": "OK", "headers": {}}
event = {"Records": [{"cf": {"request": {"uri": "/640x/photos/cat.jpg", "method": "GET"}, "response": passthrough}}]}
assert edge.handler.handler(event, None) is passthrough

# The resizer reads Pillow's image memory through Pillow's C struct: a layout it misread would give
# wrong pixels, not an error, so its output is held to Pillow's own LANCZOS.
linear, radial = Image.linear_gradient("L"), Image.radial_gradient("L")
colourful = Image.merge("RGBA", (linear, radial, linear.transpose(Image.Transpose.ROTATE_90),
                                 linear.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
for mode in ("L", "LA", "RGB", "RGBA"):
    source = colourful.convert(mode)
    ours = edge.image.resample.lanczos(source, (40, 31), (0.5, 0.25, 256.0, 200.0))  # one call, at this size
    pillows = source.resize((40, 31), Image.Resampling.LANCZOS, box=(0.5, 0.25, 256.0, 200.0))
    seen = {"RGBA": "RGBa", "LA": "La"}.get(mode, mode)
    bands = ImageChops.difference(ours.convert(seen), pillows.convert(seen)).split()
    assert max(band.getextrema()[1] for band in bands) <= 3, mode

picture = Image.linear_gradient("L").resize((64, 48)).convert("RGBA")
for name, mode in (("JPEG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGBA"), ("AVIF", "RGBA"), ("GIF", "P"),
                   ("TIFF", "RGB"), ("BMP", "RGB")):
    buffer = io.BytesIO()
    picture.convert(mode).save(buffer, name)
    reopened = Image.open(io.BytesIO(buffer.getvalue()))
    reopened.load()
    assert reopened.format == name and reopened.size == (64, 48), name
    rendered = edge.image.render(buffer.getvalue(), parse_rendition("/32x/k"), edge.image.Limits(50_000_000, 300))
    assert rendered.size == (32, 24), name
print("ok")
"""


def test_artifact_runs_on_its_own_without_recompiling(artifact):
    """Python 3.13 with only the artifact (and the stdlib) on its path: Pillow loads and codes every format,
    and the SIMD resampler resizes them."""
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in files(artifact)}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SMOKE, str(artifact)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in files(artifact)}
    assert after == before, "importing wrote files: the shipped .pyc files were not used"


def test_files_are_readable_by_the_lambda_user(artifact):
    for path in [artifact, *artifact.rglob("*")]:
        mode = path.stat().st_mode
        assert mode & 0o004, f"{path} is not world-readable"
        if path.is_dir():
            assert mode & 0o001, f"{path} is not world-searchable"


def test_zipped_size_is_within_lambda_edge_limits(artifact, capsys):
    size = measure_directory(artifact)
    with capsys.disabled():
        print("\n" + size.summary())
    assert size.zipped_bytes < LAMBDA_EDGE_MAX_ZIPPED
    assert size.unzipped_bytes < LAMBDA_MAX_UNZIPPED
