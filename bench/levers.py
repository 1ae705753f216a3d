"""Exploratory: issue 5's levers, measured on our engine's pipeline one knob at a time.

Run with `make bench-levers` (not part of `make bench`). It does not touch edge/:
it reimplements edge.image's decode -> resize -> encode steps for the corpus's
sources (RGB/RGBA, no EXIF orientation, no CMYK), resizing with edge.image.resample.lanczos or
Pillow's resize, with edge.image's save options, so that each knob can be varied alone; the `check` section compares
its bytes with edge.image.render's and warns when they differ (on cases where edge.image's
box reduce() does not fire: today's defaults leave it out, as the `reduce_first` knob
varies it). Then it varies one
setting at a time. Each table gives the median time, the output size and the SSIM
against the float reference of bench/quality.py.

Usage: python -m bench.levers [--repetitions N] [--only SECTION,...] [--cache DIR]
Sections: check, draft, webpdecode, heap, pngdecode, filter, orientation, jpeg, webp, avif, png, projection,
ceiling, sequential, imports, clients, order.
The report goes to bench/results/levers.md, or levers-<sections>.md for --only.
"""

import argparse
import io
import math
import statistics
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

from PIL import ExifTags, Image

import edge.image
import edge.png
from bench import engine_ours
from bench.corpus import CorpusFile, ensure_corpus
from bench.job import Job, frame_options, make_job
from bench.measure import judged_ssim, progress
from bench.passthrough import fresh_interpreter, probe_environment
from bench.quality import Reference, as_seen, score
from bench.report import BASELINE_SPEEDUP_TARGET
from bench.timing import interleaved_times, rotated

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "levers.md"
LANCZOS, BICUBIC, BILINEAR = Image.Resampling.LANCZOS, Image.Resampling.BICUBIC, Image.Resampling.BILINEAR
FILTER_NAMES = {LANCZOS: "LANCZOS", BICUBIC: "BICUBIC", BILINEAR: "BILINEAR"}


@dataclass(frozen=True)
class Pipeline:
    """The knobs of edge.image's decode and resize steps; the defaults are today's edge/image/."""

    draft_gap: float | None = edge.image.steps.DRAFT_GAP  # None: never decode a JPEG at reduced DCT scale
    webp_scale_gap: float | None = edge.image.steps.DRAFT_GAP  # None: Pillow decodes a WebP at full size
    resample: Image.Resampling | None = None  # None: edge.image.resample.lanczos (SIMD); else Pillow's resize with it
    reducing_gap: float | None = None  # Pillow's reduce()-then-resample, inside its resize()
    reduce_first: float | None = None  # explicit Image.reduce() leaving this many times the output, then resample

    def __post_init__(self):
        if self.reducing_gap and self.resample is None:
            raise ValueError("reducing_gap is a knob of Pillow's resize: name its filter")

    def describe(self, source_kind: str) -> str:
        """The knobs that act on a source of this kind (a corpus kind: jpeg-*, webp, png-*, ...)."""
        parts = ["LANCZOS by SIMD" if self.resample is None else f"Pillow's {FILTER_NAMES[self.resample]}"]
        if source_kind.startswith("jpeg"):
            parts.insert(0, "draft off" if self.draft_gap is None else f"draft gap {self.draft_gap:g}")
        if source_kind == "webp":
            webp = "WebP full decode" if self.webp_scale_gap is None else f"WebP decode gap {self.webp_scale_gap:g}"
            parts.insert(0, webp)
        if self.reducing_gap:
            parts.append(f"reducing_gap {self.reducing_gap:g}")
        if self.reduce_first:
            parts.append(f"reduce() to {self.reduce_first:g}x then resize")
        return ", ".join(parts)


TODAY = Pipeline()


# --- the reimplemented pipeline --------------------------------------------------


def decoded(data: bytes, job: Job, pipeline: Pipeline) -> tuple[Image.Image, tuple[float, float]]:
    """Open, optionally DCT- or libwebp-scale, decode and bring to a resizable mode (edge.image's
    first steps); with the decoded pixels per source pixel, across and down."""
    image = Image.open(io.BytesIO(data))
    stored_w, stored_h = image.size
    scale = (1.0, 1.0)
    if image.format == "JPEG" and pipeline.draft_gap is not None:
        scale = apply_draft(image, job, pipeline.draft_gap)
    if image.format == "WEBP" and pipeline.webp_scale_gap is not None:
        image, scale = scaled_webp(data, image, job, pipeline.webp_scale_gap)
    image.load()
    # edge.image.steps.weigh_partial_edges: the draft's partial last pixel weighs what it holds.
    edge.image.steps.with_partial_edges_weighed(image, (0.0, 0.0, stored_w * scale[0], stored_h * scale[1]))
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image, scale


def apply_draft(image: Image.Image, job: Job, gap: float) -> tuple[float, float]:
    """edge.image.steps.reduce_on_decode with its DRAFT_GAP as a parameter."""
    stored_w, stored_h = image.size
    box = edge.image.steps.jpeg_draft(image, edge.image.steps.decode_scale(job.geometry, gap))
    return (1.0, 1.0) if box is None else (box[2] / stored_w, box[3] / stored_h)


def scaled_webp(data: bytes, image: Image.Image, job: Job, gap: float) -> tuple[Image.Image, tuple[float, float]]:
    """edge.image.steps.decode_webp with its gap as a parameter (the corpus has no lossy alpha)."""
    decoder = edge.image.model.webp_decoder()
    if decoder is None or edge.image.model.is_animated(image):
        return image, (1.0, 1.0)
    scale = min(1.0, edge.image.steps.decode_scale(job.geometry, gap))
    stored_w, stored_h = image.size
    size = (math.ceil(stored_w * scale), math.ceil(stored_h * scale))
    scaled = edge.image.steps.decoded_image(decoder.decode(data, size, image.mode == "RGBA"))
    return scaled, (size[0] / stored_w, size[1] / stored_h)


def resized(decoding: tuple[Image.Image, tuple[float, float]], job: Job, pipeline: Pipeline) -> Image.Image:
    """edge.image's crop and resize steps: the crop box is mapped onto a DCT-reduced image,
    whole pixels are cut away first, and the fraction left goes to the resample."""
    image, box = cropped(*decoding, job.crop)
    if pipeline.reduce_first:
        image, box = reduced(image, box, job.size, pipeline.reduce_first)
    if pipeline.resample is None:
        return edge.image.resample.lanczos(image, job.size, box)
    return image.resize(job.size, pipeline.resample, box=box, reducing_gap=pipeline.reducing_gap)


def cropped(image: Image.Image, scale: tuple[float, float], crop):
    region = (crop[0] * scale[0], crop[1] * scale[1], crop[2] * scale[0], crop[3] * scale[1])
    outer = (math.floor(region[0]), math.floor(region[1]), math.ceil(region[2]), math.ceil(region[3]))
    if outer == (0, 0, image.width, image.height):
        return image, region
    shifted = (region[0] - outer[0], region[1] - outer[1], region[2] - outer[0], region[3] - outer[1])
    return image.crop(outer), shifted


def reduced(image: Image.Image, box, size, gap: float):
    """Image.reduce by the largest whole factor that leaves `gap` times the output in the box."""
    factor = int(min((box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1]) / gap)
    if factor < 2:
        return image, box
    whole = (int(box[0]), int(box[1]), min(image.width, int(box[2]) + 1), min(image.height, int(box[3]) + 1))
    small = edge.image.steps.with_partial_edges_weighed(  # as edge.image.steps.reduce weighs its last blocks
        image.reduce(factor, box=whole), (0.0, 0.0, (whole[2] - whole[0]) / factor, (whole[3] - whole[1]) / factor))
    moved = ((box[0] - whole[0]) / factor, (box[1] - whole[1]) / factor,
             (box[2] - whole[0]) / factor, (box[3] - whole[1]) / factor)
    return small, moved


def encoded(image: Image.Image, target: str, options: dict) -> bytes:
    if target == "jpeg" and image.mode in ("RGBA", "LA"):
        image = flattened(image)
    image.info = {}
    output = io.BytesIO()
    image.save(output, format=target.upper(), **options)
    return output.getvalue()


def flattened(image: Image.Image) -> Image.Image:
    background = Image.new(image.mode[:-1], image.size, (255,) * (len(image.mode) - 1))
    background.paste(image, mask=image.getchannel("A"))
    return background


def render(data: bytes, job: Job, pipeline: Pipeline) -> bytes:
    frame = resized(decoded(data, job, pipeline), job, pipeline)
    return encoded(frame, job.target, frame_options(job, frame))


# --- measuring -------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    variant: str
    times_ms: list[float]
    out_bytes: int
    ssim: float | None

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.times_ms) if self.times_ms else None


def compare(workload: str, variants: dict[str, callable], repetitions: int, judge) -> list[Row]:
    """Every variant once untimed, then `repetitions` rounds in rotating order; judge(name, bytes) -> SSIM."""
    outputs = {name: run() for name, run in variants.items()}
    times = interleaved_times(variants, repetitions)
    return [Row(workload, name, times[name], len(outputs[name]), judge(name, outputs[name])) for name in variants]


class Corpus:
    """Corpus files by name, with their bytes and references loaded once."""

    def __init__(self, files: list[CorpusFile]):
        self.files = {f.name: f for f in files}
        self._data: dict[str, bytes] = {}
        self._references: dict[str, Reference] = {}

    def data(self, name: str) -> bytes:
        if name not in self._data:
            self._data[name] = Path(self.files[name].path).read_bytes()
        return self._data[name]

    def reference(self, name: str) -> Reference:
        if name not in self._references:
            self._references = {name: Reference(self.data(name))}  # one at a time: 50 MP planes are large
        return self._references[name]


# --- the sections ----------------------------------------------------------------


def check_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """The reimplementation must write what edge.image.render writes today, byte for byte."""
    rows = []
    for name, spec in (("jpeg-12mp-base", "320x"), ("jpeg-12mp-base", "600x600,cover"), ("png-rgba", "800x,webp"),
                       ("jpeg-50mp-base", "1600x"), ("webp", "320x"), ("webp", "400x400,cover"), ("png-rgb", "800x")):
        data = corpus.data(name)
        job = make_job(data, spec)
        ours = engine_ours.prepare(job)(data)
        mine = render(data, job, TODAY)
        rows.append(Row(f"{name} {spec}", "identical to edge.image.render" if ours == mine else "DIFFERENT",
                        [], len(mine), None))
    if any(row.variant == "DIFFERENT" for row in rows):
        progress("warning: edge.image has changed; these levers measure a pipeline that is no longer ours")
    return "Reimplementation check", rows


DECODE_WORKLOADS = (
    ("jpeg-12mp-base", "320x"), ("jpeg-12mp-base", "800x"), ("jpeg-12mp-base", "1600x"),
    ("jpeg-12mp-base", "600x600,cover"), ("jpeg-12mp-prog", "800x"),
    ("jpeg-50mp-base", "320x"), ("jpeg-50mp-base", "1600x"),
)
DRAFT_VARIANTS = (
    Pipeline(draft_gap=None), Pipeline(draft_gap=1), Pipeline(draft_gap=1.5), TODAY, Pipeline(draft_gap=3),
)
WEBP_WORKLOADS = (("webp", "320x"), ("webp", "800x"), ("webp", "400x400,cover"), ("webp", "800x,avif"))
WEBP_DECODE_VARIANTS = (
    Pipeline(webp_scale_gap=None), Pipeline(webp_scale_gap=None, reduce_first=2.0),
    Pipeline(webp_scale_gap=1.5), TODAY, Pipeline(webp_scale_gap=3),
)
FILTER_VARIANTS = (
    TODAY, Pipeline(resample=LANCZOS), Pipeline(resample=BICUBIC), Pipeline(resample=BILINEAR),
    Pipeline(resample=LANCZOS, reducing_gap=1.0), Pipeline(resample=LANCZOS, reducing_gap=2.0),
    Pipeline(resample=LANCZOS, reducing_gap=3.0), Pipeline(reduce_first=2.0), Pipeline(reduce_first=4.0),
    Pipeline(draft_gap=1, resample=BICUBIC), Pipeline(draft_gap=1, resample=LANCZOS, reducing_gap=2.0),
)
NON_JPEG_WORKLOADS = (("png-rgb", "320x"), ("png-rgb", "800x"), ("png-rgba", "800x,webp"), ("webp", "320x"))


def pipeline_rows(corpus: Corpus, workloads, variants, repetitions: int) -> list[Row]:
    rows = []
    for name, spec in workloads:
        data, reference = corpus.data(name), corpus.reference(name)
        job = make_job(data, spec)
        kind = corpus.files[name].kind
        runs = {pipeline.describe(kind): (lambda p=pipeline: render(data, job, p)) for pipeline in variants}
        if len(runs) < len(variants):
            raise ValueError(f"two variants have the same label on {name}: a knob that does not act on it varies")
        rows += compare(f"{name} {spec}", runs, repetitions, lambda _, output: reference.ssim(output, job.crop))
        progress(f"levers: {name} {spec}")
    return rows


def draft_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    return "JPEG DCT-domain scaling (Image.draft), LANCZOS after it", pipeline_rows(
        corpus, DECODE_WORKLOADS, DRAFT_VARIANTS, repetitions)


HEAP_WORKLOADS = (
    ("jpeg-2mp-base", "1600x"), ("jpeg-8mp-base", "1600x"), ("jpeg-12mp-base", "1600x"),
    ("jpeg-12mp-prog", "800x"), ("jpeg-50mp-base", "320x"), ("png-rgb", "800x"), ("webp", "1600x"),
    ("gif-anim", "320x"),
)
HEAP_LABELS = {"adaptive": "glibc's adaptive heap", "policy": "edge.heap's policy"}
WARM_RENDERS = 3


def heap_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """edge.image itself, warm, with and without edge/heap.py: the policy is the whole
    process's, so each variant runs in fresh interpreters (bench/warm.py), taking turns."""
    env = probe_environment(REPO / ".cache")
    rows = []
    for name, spec in HEAP_WORKLOADS:
        runs: dict[str, list[dict]] = {mode: [] for mode in HEAP_LABELS}
        for round_index in range(repetitions):
            for mode in rotated(list(HEAP_LABELS), round_index):
                runs[mode].append(fresh_interpreter(
                    ["-m", "bench.warm", mode, corpus.files[name].path, spec, str(WARM_RENDERS)],
                    REPO, env, "warm-container probe"))
        for mode, label in HEAP_LABELS.items():
            faults = statistics.median(fault for run in runs[mode] for fault in run["page_faults"])
            times = [time for run in runs[mode] for time in run["times_ms"]]
            rows.append(Row(f"{name} {spec}", f"{label}: {faults:,.0f} page faults a render", times,
                            runs[mode][0]["out_bytes"], None))
        progress(f"levers: heap {name} {spec}")
    return "C heap policy (edge/heap.py), warm renders in fresh interpreters", rows


PNG_RENDERS = (("png-rgb", "320x"), ("png-rgb", "800x"), ("png-rgba", "800x,webp"))
PNG_PIECES = (64 * 1024, edge.png.PIECE, 1024 * 1024, 4096 * 1024)


@contextmanager
def png_inflating(piece: int | None):
    """edge/png.py's worker inflating `piece` bytes an IDAT chunk ahead of Pillow, or (None) Pillow alone."""
    saved = edge.png.PIECE, edge.png.inflating_reader
    if piece is None:
        edge.png.inflating_reader = lambda data, executor: None
    else:
        edge.png.PIECE = piece
    try:
        yield
    finally:
        edge.png.PIECE, edge.png.inflating_reader = saved


def png_label(piece: int | None) -> str:
    if piece is None:
        return "Pillow inflating and unfiltering on one core"
    return f"worker inflating {piece // 1024} KB pieces ahead" + (" (edge)" if piece == edge.png.PIECE else "")


def png_decode_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """edge.image's own open and decode of a still PNG, then whole renders, with and without
    edge/png.py. The pixels are the same either way: KB is the decoded size, or the output's."""
    rows = []
    for name in ("png-rgb", "png-rgba"):
        data = corpus.data(name)

        def decode(piece):
            with png_inflating(piece):
                image = edge.image.source.open_source(data, engine_ours.LIMITS).image
                image.load()
                return image.tobytes()

        runs = {png_label(piece): lambda piece=piece: decode(piece) for piece in (None, *PNG_PIECES)}
        rows += compare(f"{name} decode", runs, repetitions, lambda name, output: None)
        progress(f"levers: png decode {name}")
    for name, spec in PNG_RENDERS:
        data, reference = corpus.data(name), corpus.reference(name)
        job = make_job(data, spec)

        def rendered(piece, run=engine_ours.prepare(job)):
            with png_inflating(piece):
                return run(data)

        runs = {png_label(piece): lambda piece=piece: rendered(piece) for piece in (None, edge.png.PIECE)}
        rows += compare(f"{name} {spec}", runs, repetitions, lambda _, output: reference.ssim(output, job.crop))
        progress(f"levers: png render {name} {spec}")
    return "PNG inflated on a worker while Pillow unfilters (edge/png.py)", rows


def webp_decode_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    return "WebP decoded at reduced scale by libwebp (edge/webp.py), LANCZOS after it", pipeline_rows(
        corpus, WEBP_WORKLOADS, WEBP_DECODE_VARIANTS, repetitions)


def filter_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    jpeg = pipeline_rows(corpus, DECODE_WORKLOADS, FILTER_VARIANTS, repetitions)
    at_todays_draft = [pipeline for pipeline in FILTER_VARIANTS if pipeline.draft_gap == TODAY.draft_gap]
    others = pipeline_rows(corpus, NON_JPEG_WORKLOADS, at_todays_draft, repetitions)
    return "Resampler (SIMD or Pillow's), filter, reduce() and reducing_gap", jpeg + others


ORIENTATION_WORKLOADS = (
    ("jpeg-12mp-base", "1600x"), ("jpeg-12mp-base", "800x"), ("jpeg-12mp-base", "600x600,cover"),
    ("jpeg-24mp-base", "1600x"), ("png-rgb", "800x"),
)
STORED_ORIENTATIONS = {"stored upright": 1, "stored sideways, EXIF orientation 6": 6}  # 6: a phone held upright


def stored_turned(data: bytes, orientation: int) -> bytes:
    """The picture as a camera stores it with this EXIF orientation, 1 or 6. Upright too is encoded anew, so that
    the two differ by the turn alone."""
    with Image.open(io.BytesIO(data)) as image:
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = orientation
        pixels = image.transpose(Image.Transpose.ROTATE_90) if orientation == 6 else image
        buffer = io.BytesIO()
        quality = {"quality": 90} if image.format == "JPEG" else {}
        pixels.save(buffer, format=image.format, exif=exif.tobytes(), **quality)
    return buffer.getvalue()


def orientation_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """edge.image.render on one picture stored upright and stored sideways: its steps work on the stored pixels and
    turn only the output, so that a sideways original should cost what an upright one does."""
    rows = []
    for name, spec in ORIENTATION_WORKLOADS:
        originals = {label: stored_turned(corpus.data(name), orientation)
                     for label, orientation in STORED_ORIENTATIONS.items()}
        job = make_job(originals["stored upright"], spec)
        runs = {label: (lambda data=data, convert=engine_ours.prepare(job): convert(data))
                for label, data in originals.items()}
        reference = corpus.reference(name)
        rows += compare(f"{name} {spec}", runs, repetitions, lambda _, output: reference.ssim(output, job.crop))
        progress(f"levers: orientation {name} {spec}")
    return "EXIF orientation: the same picture stored upright and sideways, through edge.image.render", rows


def encoder_rows(corpus: Corpus, workloads, option_sets: dict[str, dict], repetitions: int) -> list[Row]:
    """Encode-only timings: the frame is resized once, then every option set encodes it."""
    rows = []
    for name, spec in workloads:
        data, reference = corpus.data(name), corpus.reference(name)
        job = make_job(data, spec)
        frame = resized(decoded(data, job, TODAY), job, TODAY)
        runs = {label: (lambda o=options: encoded(frame, job.target, o)) for label, options in option_sets.items()}
        rows += compare(f"{name} {spec}", runs, repetitions, lambda _, output: reference.ssim(output, job.crop))
        progress(f"levers: {name} {spec}")
    return rows


def jpeg_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    options = {}
    for progressive in (True, False):
        for optimize in (True, False):
            options[f"progressive={progressive}, optimize={optimize}, 4:2:0"] = {
                "quality": 82, "progressive": progressive, "optimize": optimize, "subsampling": 2}
    options["progressive=True, optimize=True, 4:4:4"] = {"quality": 82, "progressive": True, "optimize": True,
                                                         "subsampling": 0}
    options["progressive=False, optimize=True, 4:4:4"] = {"quality": 82, "progressive": False, "optimize": True,
                                                          "subsampling": 0}
    workloads = (("jpeg-12mp-base", "800x"), ("jpeg-12mp-base", "1600x"), ("jpeg-2mp-base", "800x"))
    return "JPEG encoder, q82, encode only", encoder_rows(corpus, workloads, options, repetitions)


def webp_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    options = {f"method {method}": {"quality": 80, "method": method} for method in range(7)}
    options["method 2, quality 82"] = {"quality": 82, "method": 2}
    workloads = (("jpeg-12mp-base", "800x,webp"), ("png-rgba", "800x,webp"))
    return "WebP method, q80, encode only", encoder_rows(corpus, workloads, options, repetitions)


def avif_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    options = {}
    for speed in range(6, 11):
        for threads in (1, 2):
            options[f"speed {speed}, max_threads {threads}"] = {"quality": 60, "speed": speed, "max_threads": threads}
    # Can a faster speed buy back speed 8's quality with a higher quality setting, and at what size?
    for quality in (64, 68):
        options[f"speed 9, max_threads 2, quality {quality}"] = {"quality": quality, "speed": 9, "max_threads": 2}
    workloads = (("jpeg-12mp-base", "800x,avif"), ("png-rgba", "800x,avif"))
    return "AVIF speed and max_threads, q60, encode only", encoder_rows(corpus, workloads, options, repetitions)


def png_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    options = {f"compress_level {level}": {"compress_level": level} for level in (1, 2, 3, 4, 5, 6, 9)}
    options["compress_level 6, optimize"] = {"compress_level": 6, "optimize": True}
    workloads = (("png-rgb", "800x"), ("png-rgba", "800x"))
    return "PNG compress_level, encode only", encoder_rows(corpus, workloads, options, repetitions)


# --- ceiling: what the 4x target leaves to the resize ------------------------------

BASELINE, OURS = "tutorial baseline (full decode, LANCZOS, encode)", "ours (edge.image.render)"
FULL_SIZE = Pipeline(draft_gap=None)
FULL_DECODE, OUR_DECODE = "full decode alone", "ours' decode alone (DCT-scaled where it pays)"
ENCODE = "encode alone (the baseline's frame)"


def ceiling_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """On every `make bench` case of a baseline JPEG >= 8 MP: the two engines, and the steps no
    resampler can speed up, timed in the same rounds. KB is the output's size, or the decoded pixels'."""
    from bench import engine_baseline
    from bench.cases import cases_for, is_big_baseline_jpeg

    rows = []
    for case in cases_for([f for f in corpus.files.values() if is_big_baseline_jpeg(f)]):
        data, reference = corpus.data(case.file.name), corpus.reference(case.file.name)
        job = make_job(data, case.spec)
        frame = engine_baseline.resize(Image.open(io.BytesIO(data)), job)
        runs = {
            BASELINE: lambda run=engine_baseline.prepare(job): run(data),
            OURS: lambda run=engine_ours.prepare(job): run(data),
            FULL_DECODE: lambda: decoded(data, job, FULL_SIZE)[0],
            OUR_DECODE: lambda: decoded(data, job, TODAY)[0],
            ENCODE: lambda: encoded(frame, job.target, frame_options(job, frame)),
        }
        outputs = {name: run() for name, run in runs.items()}
        times = interleaved_times(runs, repetitions)
        for name, output in outputs.items():
            if isinstance(output, bytes):
                rows.append(Row(case.label, name, times[name], len(output), reference.ssim(output, job.crop)))
            else:
                rows.append(Row(case.label, name, times[name], held_bytes(output), None))
        progress(f"levers: ceiling {case.label}")
    return "Ceiling: the 4x target on baseline JPEGs >= 8 MP, against the steps a resampler cannot speed up", rows


# Both engines save what they save today, or sequential JPEG with optimised Huffman tables
# (libvips' and sharp's default), so that the encode each pays changes alike.
SEQUENTIAL_JPEG = {"jpeg": {"progressive": False, "optimize": True}}
PROGRESSIVE, SEQUENTIAL = "progressive", "sequential"


def sequential_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """On every `make bench` case of a baseline JPEG >= 8 MP: both engines as today (progressive
    JPEG), and both saving sequential JPEG instead, timed in the same rounds."""
    from bench import engine_baseline
    from bench.cases import cases_for, is_big_baseline_jpeg

    rows = []
    for case in cases_for([f for f in corpus.files.values() if is_big_baseline_jpeg(f)]):
        data, reference = corpus.data(case.file.name), corpus.reference(case.file.name)
        job = make_job(data, case.spec)
        with encoder_settings(SEQUENTIAL_JPEG):
            sequential_job = make_job(data, case.spec)  # the baseline saves with the job's options
        ours_sequential = engine_ours.prepare(sequential_job)

        def ours_saving_sequential(run=ours_sequential):
            with encoder_settings(SEQUENTIAL_JPEG):
                return run(data)

        runs = {
            f"{BASELINE}, {PROGRESSIVE}": lambda run=engine_baseline.prepare(job): run(data),
            f"{OURS}, {PROGRESSIVE}": lambda run=engine_ours.prepare(job): run(data),
            f"{BASELINE}, {SEQUENTIAL}": lambda run=engine_baseline.prepare(sequential_job): run(data),
            f"{OURS}, {SEQUENTIAL}": ours_saving_sequential,
        }
        rows += compare(case.label, runs, repetitions, lambda _, output: reference.ssim(output, job.crop))
        progress(f"levers: sequential {case.label}")
    return "Sequential JPEG: the 4x target when both engines save baseline JPEG instead of progressive", rows


def sequential_summary(rows: list[Row]) -> list[str]:
    """Per case, ours' speed-up over the baseline in each mode, and what sequential costs in bytes."""
    by_case: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_case.setdefault(row.workload, {})[row.variant] = row
    lines = ["| case | ours x, progressive | ours x, sequential | KB, progressive | KB, sequential |",
             "|---|---:|---:|---:|---:|"]
    speedups: dict[str, list[float]] = {PROGRESSIVE: [], SEQUENTIAL: []}
    for case, variants in by_case.items():
        for mode, found in speedups.items():
            found.append(variants[f"{BASELINE}, {mode}"].median_ms / variants[f"{OURS}, {mode}"].median_ms)
        lines.append(f"| {case} | {speedups[PROGRESSIVE][-1]:.1f} | {speedups[SEQUENTIAL][-1]:.1f} "
                     f"| {variants[f'{OURS}, {PROGRESSIVE}'].out_bytes / 1024:.1f} "
                     f"| {variants[f'{OURS}, {SEQUENTIAL}'].out_bytes / 1024:.1f} |")
    total = {mode: sum(variants[f"{OURS}, {mode}"].out_bytes for variants in by_case.values())
             for mode in (PROGRESSIVE, SEQUENTIAL)}
    lines.append("")
    for mode, found in speedups.items():
        reaching = sum(speedup >= BASELINE_SPEEDUP_TARGET for speedup in found)
        lines.append(f"- {mode}: ours {min(found):.1f}x to {max(found):.1f}x the baseline, median "
                     f"{statistics.median(found):.1f}x, {BASELINE_SPEEDUP_TARGET:g}x or more "
                     f"on {reaching} of {len(found)}")
    lines.append(f"- sequential output bytes: {total[SEQUENTIAL] / total[PROGRESSIVE] - 1:+.1%} over all these cases")
    return lines + [""]


def medians_by_case(rows: list[Row]) -> dict[str, dict[str, float]]:
    by_case: dict[str, dict[str, float]] = {}
    for row in rows:
        by_case.setdefault(row.workload, {})[row.variant] = row.median_ms
    return by_case


def held_bytes(image: Image.Image) -> int:
    """The bytes Pillow holds for a decoded image (it stores RGB in four a pixel)."""
    return image.width * image.height * (4 if len(image.getbands()) > 1 else 1)


def ceiling_summary(rows: list[Row]) -> list[str]:
    """Per case, the speed-up over the baseline that ours reaches, and the most it could reach with a
    free resize: at the baseline's SSIM (full decode), and with ours' own reduced decode."""
    by_case = medians_by_case(rows)
    ceilings = {case: {decode: ms[BASELINE] / (ms[decode] + ms[ENCODE]) for decode in (FULL_DECODE, OUR_DECODE)}
                for case, ms in by_case.items()}
    lines = ["| case | ours x | ceiling x, full decode | ceiling x, ours' decode |", "|---|---:|---:|---:|"]
    for case, ms in by_case.items():
        lines.append(f"| {case} | {ms[BASELINE] / ms[OURS]:.1f} | {ceilings[case][FULL_DECODE]:.1f} "
                     f"| {ceilings[case][OUR_DECODE]:.1f} |")

    def reaching(decode: str) -> str:
        count = sum(ceiling[decode] >= BASELINE_SPEEDUP_TARGET for ceiling in ceilings.values())
        return f"{count} of {len(ceilings)}"

    return lines + ["", f"- Cases whose ceiling reaches {BASELINE_SPEEDUP_TARGET:g}x: {reaching(FULL_DECODE)} at the "
                    f"baseline's decode, {reaching(OUR_DECODE)} at ours'.", ""]


# --- projection: the recommended settings on the benchmark's own cases ------------

# What this script's tables recommend (see the report): encoder effort.
RECOMMENDED_ENCODER = {"jpeg": {"progressive": True, "optimize": False}, "webp": {"method": 3},
                       "avif": {"speed": 9}, "png": {"compress_level": 4}, "gif": {}}


def recommended_settings():
    return encoder_settings(RECOMMENDED_ENCODER)


@contextmanager
def encoder_settings(overrides: dict[str, dict]):
    """edge.image with these save options over its own, by target, patched in memory for the duration of one call."""
    original_options = edge.image.output.encoder_options

    def encoder_options(target, quality, image=None, lossless=False):
        return {**original_options(target, quality, image, lossless), **overrides.get(target, {})}

    edge.image.output.encoder_options = encoder_options
    try:
        yield
    finally:
        edge.image.output.encoder_options = original_options


def projection_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """ours and libvips as today, and both with the recommended encoder efforts (libvips gets the
    same efforts translated, as in `make bench`), on every case of `make bench`."""
    from bench import engine_libvips
    from bench.cases import cases_for

    rows = []
    for case in cases_for(list(corpus.files.values())):
        data, reference = corpus.data(case.file.name), corpus.reference(case.file.name)
        job = make_job(data, case.spec)
        with recommended_settings():
            recommended_job = make_job(data, case.spec)  # our options as patched, for libvips to match
        ours_today, ours_tuned = engine_ours.prepare(job), engine_ours.prepare(job)

        def ours_recommended(run=ours_tuned):
            with recommended_settings():
                return run(data)

        runs = {
            "ours today": lambda run=ours_today: run(data),
            "ours recommended": ours_recommended,
            "libvips matching today": lambda run=engine_libvips.prepare(job): run(data),
            "libvips matching recommended": lambda run=engine_libvips.prepare(recommended_job): run(data),
        }
        engine_of = {name: "libvips" if name.startswith("libvips") else "ours" for name in runs}
        rows += compare(case.label, runs, repetitions,
                        lambda name, output: judged_ssim(engine_of[name], output, job, reference, case.file.size))
        progress(f"projection: {case.label}")
    return "Projection: the recommended settings on every case of `make bench`", rows


def projection_summary(rows: list[Row]) -> list[str]:
    by_case = medians_by_case(rows)
    lines = []
    pairs = (("ours today", "libvips matching today"), ("ours recommended", "libvips matching recommended"))
    for ours, libvips in pairs:
        ratios = [times[ours] / times[libvips] for times in by_case.values()]
        geomean = statistics.geometric_mean(ratios)
        lines.append(f"- {ours} / {libvips}: geometric mean {geomean:.2f}, "
                     f"max {max(ratios):.2f} over {len(ratios)} cases")
    return lines + [""]


# --- what a miss pays around its pixels: imports, clients, the order of steps ------

EAGER_IMPORTS = ("edge.image", "edge.storage")  # Pillow and the engine, boto3 and the S3 module
IMPORT_PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps({"ms": (time.perf_counter() - started) * 1000}))
"""


def imports_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """A cold start's imports, in fresh interpreters taking turns: edge.handler as it is, which leaves Pillow and
    boto3 to the container's first miss, so that one serving only pass-throughs never pays them, against a
    handler importing them up front, as every cold start then would."""
    variants = {"lazy: edge.handler": ["edge.handler"], "eager: edge.handler, edge.image, edge.storage":
                ["edge.handler", *EAGER_IMPORTS]}
    environment = probe_environment(REPO / ".cache")
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_index in range(-1, repetitions):  # round -1 writes the bytecode cache, untimed
        for name in rotated(list(variants), round_index):
            probe = fresh_interpreter(["-c", IMPORT_PROBE, *variants[name]], REPO, environment, name)
            if round_index >= 0:
                times[name].append(probe["ms"])
    return "Imports on a cold start (fresh interpreters)", [Row("import", name, times[name], 0, None)
                                                            for name in variants]


def clients_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """A miss's S3 client: the one edge.storage keeps per container, against one built for each miss. Building
    only: a new client's first calls also open new TLS connections, which this offline machine cannot time."""
    from edge import storage

    def built_for_each_miss():
        storage.forget_clients()
        return storage.s3_client("us-east-1")

    runs = {"kept per container (edge.storage)": lambda: storage.s3_client("us-east-1"),
            "built for each miss": built_for_each_miss}
    for run in runs.values():  # boto3's first client in a process also reads its service models: not timed
        run()
    times = interleaved_times(runs, repetitions)
    return "An S3 client for each miss", [Row("S3 client", name, times[name], 0, None) for name in runs]


def composited_first(steps: tuple) -> tuple:
    """The steps with the composite onto white (to_output_mode) moved before the crop and the resize."""
    rest = tuple(step for step in steps if step is not edge.image.steps.to_output_mode)
    at = rest.index(edge.image.steps.to_working_mode) + 1
    return rest[:at] + (edge.image.steps.to_output_mode,) + rest[at:]


ORDER_WORKLOADS = (("png-rgba", "800x,jpeg"), ("png-rgba", "320x,jpeg"))


def order_section(corpus: Corpus, repetitions: int) -> tuple[str, list[Row]]:
    """A transparent original to JPEG through edge.image.render: composited onto white after the resize, on the
    output's pixels (today), against before it, on the decoded pixels. The reference is composited onto white."""
    rows = []
    for name, spec in ORDER_WORKLOADS:
        data, reference = corpus.data(name), corpus.reference(name)
        job = make_job(data, spec)
        convert = engine_ours.prepare(job)

        def first(run=convert):
            # run_steps reads STEPS at each call
            with patch.object(edge.image.steps, "STEPS", composited_first(edge.image.steps.STEPS)):
                return run(data)

        runs = {"composite after the resize (today)": lambda run=convert: run(data), "composite first": first}
        # Transparent pixels over white, as to_output_mode composites them.
        over_white = reference.image(job.size, job.crop, backdrop=edge.image.model.WHITE)
        rows += compare(f"{name} {spec}", runs, repetitions, lambda _, output: score(over_white, as_seen(output)))
        progress(f"levers: order {name} {spec}")
    return "The order of the composite and the resize", rows


SECTIONS = {
    "check": check_section, "draft": draft_section, "webpdecode": webp_decode_section, "heap": heap_section,
    "pngdecode": png_decode_section, "filter": filter_section, "orientation": orientation_section,
    "jpeg": jpeg_section, "webp": webp_section, "avif": avif_section, "png": png_section,
    "projection": projection_section, "ceiling": ceiling_section, "sequential": sequential_section,
    "imports": imports_section, "clients": clients_section, "order": order_section,
}
SUMMARIES = {"projection": projection_summary, "ceiling": ceiling_summary, "sequential": sequential_summary}


# --- report ----------------------------------------------------------------------


def table(title: str, rows: list[Row]) -> list[str]:
    lines = [f"## {title}", "", "| workload | variant | median ms | min ms | vs first | KB | SSIM |",
             "|---|---|---:|---:|---:|---:|---:|"]
    first_of: dict[str, float] = {}
    for row in rows:
        first = first_of.setdefault(row.workload, row.median_ms)
        relative = f"{row.median_ms / first:.2f}" if first and row.median_ms else "-"
        median = "-" if row.median_ms is None else f"{row.median_ms:.1f}"
        fastest = f"{min(row.times_ms):.1f}" if row.times_ms else "-"
        ssim = "-" if row.ssim is None else f"{row.ssim:.4f}"
        lines.append(f"| {row.workload} | {row.variant} | {median} | {fastest} | {relative} | "
                     f"{row.out_bytes / 1024:.1f} | {ssim} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "bench-corpus")
    arguments = parser.parse_args(argv)
    asked = set(arguments.only.split(",")) - {""}
    if unknown := asked - SECTIONS.keys():
        parser.error(f"no section {', '.join(sorted(unknown))}; the sections: {', '.join(SECTIONS)}")
    chosen = [name for name in SECTIONS if not asked or name in asked]
    corpus = Corpus(ensure_corpus(arguments.cache))
    lines = ["# Levers of issue 5, measured on our pipeline", "",
             f"Median (and fastest) of {arguments.repetitions} runs, variants interleaved; 'vs first' is relative "
             "to the first row of each workload; SSIM against the float LANCZOS reference (bench/quality.py).", ""]
    for name in chosen:
        title, rows = SECTIONS[name](corpus, arguments.repetitions)
        section = table(title, rows) + (SUMMARIES[name](rows) if name in SUMMARIES else [])
        lines += section
        print("\n".join(section), flush=True)
    # A partial run keeps its own file, so that it never overwrites the full report.
    results = RESULTS.with_stem(f"levers-{'-'.join(chosen)}") if arguments.only else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("\n".join(lines) + "\n")
    progress(f"(saved to {results.relative_to(REPO)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
