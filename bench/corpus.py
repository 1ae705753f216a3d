"""The benchmark corpus: real photographs from Debian's mate-backgrounds, re-encoded at bench time.

Nothing here is committed: the package is fetched with apt, unpacked into the cache
directory, and every corpus file is derived from it with Pillow. A manifest records
the recipe version, so a changed recipe rebuilds the cache and an unchanged one is
reused as is.

There is deliberately no synthetic fallback: noise or gradients decode, resize and
compress nothing like photographs, and a benchmark on them would mislead.
"""

import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageOps

PACKAGE = "mate-backgrounds"
RECIPE_VERSION = 2  # bump whenever the recipe below changes, so caches are rebuilt
BACKGROUNDS = Path("usr/share/backgrounds/mate")

# The package's photographs stop at 4.9 MP. Its one larger picture, 5640x3172 (17.9 MP),
# is a detailed painting; it feeds the 8-50 MP JPEGs, whose 24 and 50 MP versions are
# therefore upscaled (their note says so). Upscaling a bokeh photograph instead gave
# 0.08 bytes/pixel, far below a camera's 0.3-0.5, and entropy decoding, which no DCT
# scaling avoids, costs in proportion to those bytes.
LADYBIRD = "nature/LadyBird.jpg"  # 2560x1600 photograph
ELEPHANTS = "abstract/Elephants_5640x3172.jpg"  # 5640x3172 painting, the only large source
TWO_WINGS = "nature/TwoWings.jpg"  # 2560x1600 photograph
GARDEN = "nature/Garden.jpg"  # 2560x1600 photograph
YELLOW_FLOWER = "nature/YellowFlower.jpg"  # 2560x1600 photograph
RAIN_DROPS = "nature/RainDrops.jpg"  # 1920x1200 photograph

JPEG_LADDER = ((2, LADYBIRD), (8, ELEPHANTS), (12, ELEPHANTS), (24, ELEPHANTS), (50, ELEPHANTS))
# What a camera or phone writes: quality 90, 4:2:0 chroma; baseline files keep the standard Huffman tables.
CAMERA_JPEG = {"quality": 90, "subsampling": 2}
GIF_FRAMES = 20
GIF_FRAME_SIZE = (960, 600)
GIF_FRAME_MS = 80


class CorpusError(RuntimeError):
    """The corpus cannot be built; the message says what to do."""


@dataclass(frozen=True)
class CorpusFile:
    name: str  # stable id used in case labels, e.g. "jpeg-12mp-base"
    path: str
    kind: str  # jpeg-baseline, jpeg-progressive, png-rgb, png-rgba, webp, gif-animated
    size: tuple[int, int]
    bytes: int
    note: str  # where it comes from and how it was made

    @property
    def megapixels(self) -> float:
        return self.size[0] * self.size[1] / 1e6


def ensure_corpus(cache_dir: Path) -> list[CorpusFile]:
    """The corpus from the cache, built first if it is missing or from an older recipe."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest = cache_dir / "manifest.json"
    cached = read_manifest(manifest)
    if cached is not None:
        return cached
    backgrounds = fetch_backgrounds(cache_dir / PACKAGE)
    files = build_corpus(backgrounds, cache_dir)
    manifest.write_text(json.dumps({"recipe": RECIPE_VERSION, "files": [asdict(f) for f in files]}, indent=1))
    return files


def read_manifest(manifest: Path) -> list[CorpusFile] | None:
    if not manifest.exists():
        return None
    content = json.loads(manifest.read_text())
    if content.get("recipe") != RECIPE_VERSION:
        return None
    files = [CorpusFile(**{**entry, "size": tuple(entry["size"])}) for entry in content["files"]]
    return files if all(Path(f.path).exists() for f in files) else None


# --- fetching the photographs ------------------------------------------------


def fetch_backgrounds(unpack_dir: Path) -> Path:
    """Unpack Debian's mate-backgrounds once into unpack_dir; return its backgrounds folder."""
    backgrounds = unpack_dir / BACKGROUNDS
    if (backgrounds / ELEPHANTS).exists():
        return backgrounds
    with tempfile.TemporaryDirectory(prefix="bench-deb-") as temp:
        deb = download_package(Path(temp))
        shutil.rmtree(unpack_dir, ignore_errors=True)
        run_or_fail(["dpkg", "-x", str(deb), str(unpack_dir)], f"cannot unpack {deb.name}")
    if not (backgrounds / ELEPHANTS).exists():
        raise CorpusError(f"{PACKAGE} no longer contains {ELEPHANTS}: update bench/corpus.py's recipe")
    return backgrounds


def download_package(directory: Path) -> Path:
    """`apt-get download` into directory; an empty or stale package list gets one `apt-get update`."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise CorpusError(no_package_message("apt-get and dpkg are not available on this machine"))
    download = ["apt-get", "download", "-q", PACKAGE]
    first = subprocess.run(download, cwd=directory, capture_output=True, text=True)
    if first.returncode != 0:
        if os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True)
        second = subprocess.run(download, cwd=directory, capture_output=True, text=True)
        if second.returncode != 0:
            raise CorpusError(no_package_message(second.stderr.strip() or first.stderr.strip()))
    debs = sorted(directory.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        raise CorpusError(no_package_message("apt-get download left no .deb file"))
    return debs[0]


def no_package_message(reason: str) -> str:
    return (
        f"cannot fetch Debian's {PACKAGE} package ({reason}).\n"
        "The benchmark needs its real photographs and has no synthetic fallback.\n"
        f"Fix the apt sources (as root: `apt-get update`, then `apt-get download {PACKAGE}` must work) and rerun."
    )


def run_or_fail(command: list[str], message: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise CorpusError(f"{message}: {result.stderr.strip()}")


# --- deriving the corpus -----------------------------------------------------


def build_corpus(backgrounds: Path, out: Path) -> list[CorpusFile]:
    files = []
    for megapixels, source in JPEG_LADDER:
        files += jpeg_pair(backgrounds / source, megapixels, out)
    files.append(png_rgb(backgrounds / TWO_WINGS, out))
    files.append(png_rgba(backgrounds / GARDEN, out))
    files.append(webp(backgrounds / YELLOW_FLOWER, out))
    files.append(animated_gif(backgrounds / RAIN_DROPS, out))
    return files


def jpeg_pair(source: Path, megapixels: int, out: Path) -> list[CorpusFile]:
    """The same picture at about `megapixels`, as a baseline and as a progressive JPEG."""
    photo = open_rgb(source)
    size = size_for_megapixels(photo.size, megapixels)
    note = scaling_note(source, photo.size, size)
    photo = photo.resize(size, Image.Resampling.LANCZOS)
    baseline = save(photo, out / f"jpeg-{megapixels}mp-base.jpg", "JPEG", "jpeg-baseline", note,
                    progressive=False, optimize=False, **CAMERA_JPEG)
    progressive = save(photo, out / f"jpeg-{megapixels}mp-prog.jpg", "JPEG", "jpeg-progressive", note,
                       progressive=True, optimize=True, **CAMERA_JPEG)
    return [baseline, progressive]


def png_rgb(source: Path, out: Path) -> CorpusFile:
    photo = open_rgb(source)
    return save(photo, out / "png-rgb.png", "PNG", "png-rgb", f"{source.name} as PNG", compress_level=6)


def png_rgba(source: Path, out: Path) -> CorpusFile:
    """A photograph with a diagonal alpha gradient: one corner opaque, the opposite one transparent."""
    photo = open_rgb(source)
    vertical = Image.linear_gradient("L").resize(photo.size)
    horizontal = Image.linear_gradient("L").rotate(90).resize(photo.size)
    photo.putalpha(ImageOps.invert(Image.blend(vertical, horizontal, 0.5)))
    note = f"{source.name} + alpha gradient"
    return save(photo, out / "png-rgba.png", "PNG", "png-rgba", note, compress_level=6)


def webp(source: Path, out: Path) -> CorpusFile:
    photo = open_rgb(source)
    return save(photo, out / "webp.webp", "WEBP", "webp", f"{source.name} as WebP q90", quality=90, method=4)


def animated_gif(source: Path, out: Path) -> CorpusFile:
    """GIF_FRAMES crops panning diagonally across a photograph, each with its own palette."""
    photo = open_rgb(source)
    frames = [pan_frame(photo, index).convert("P", palette=Image.Palette.ADAPTIVE) for index in range(GIF_FRAMES)]
    note = f"{GIF_FRAMES} frames {GIF_FRAME_SIZE[0]}x{GIF_FRAME_SIZE[1]} panned across {source.name}"
    return save(frames[0], out / "gif-anim.gif", "GIF", "gif-animated", note,
                save_all=True, append_images=frames[1:], duration=GIF_FRAME_MS, loop=0)


def pan_frame(photo: Image.Image, index: int) -> Image.Image:
    travel_x, travel_y = photo.width - GIF_FRAME_SIZE[0], photo.height - GIF_FRAME_SIZE[1]
    left, top = travel_x * index // (GIF_FRAMES - 1), travel_y * index // (GIF_FRAMES - 1)
    return photo.crop((left, top, left + GIF_FRAME_SIZE[0], top + GIF_FRAME_SIZE[1]))


def open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")  # also drops EXIF and ICC: the corpus carries no metadata


def size_for_megapixels(source: tuple[int, int], megapixels: int) -> tuple[int, int]:
    """The source's aspect ratio at no more than `megapixels` (50 MP stays within the default limit)."""
    width, height = source
    scale = math.sqrt(megapixels * 1_000_000 / (width * height))
    return math.floor(width * scale), math.floor(height * scale)


def scaling_note(source: Path, source_size: tuple[int, int], size: tuple[int, int]) -> str:
    factor = size[0] / source_size[0]
    direction = "UPSCALED" if factor > 1 else "downscaled"
    return f"{source.name} {source_size[0]}x{source_size[1]} {direction} x{factor:.2f}"


def save(image: Image.Image, path: Path, image_format: str, kind: str, note: str, **options) -> CorpusFile:
    image.save(path, format=image_format, **options)
    name = path.stem
    return CorpusFile(name=name, path=str(path), kind=kind, size=image.size, bytes=path.stat().st_size, note=note)
