"""The page at `/`: every original in the bucket beside renditions the CDN makes on first request.

Each <img> carries, in data-expect, the size that every URL it may load should
decode to, computed from the original's own size by the product's geometry. The
browser test compares them with what Chromium actually decoded.
"""

import html
import http
import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from urllib.parse import quote

from PIL import Image

from edge import png
from edge.errors import EdgeError
from edge.geometry import plan
from edge.image import Limits
from edge.image.model import stop_data_check
from edge.image.source import open_source, oriented_size

TEMPLATE = Template((Path(__file__).resolve().parent / "gallery.html").read_text(encoding="utf-8"))
MAX_ORIGINALS = 24
RESPONSIVE_WIDTHS = (320, 640, 960)
TILE_WIDTH = 320
COVER_SIDE = 240
NO_LIMITS = Limits(max_pixels=2**63, max_frames=2**31)
# The function's answers for an original it will not render (SPEC.md): missing, too large, or not an image it decodes.
REFUSED_ORIGINALS = frozenset({http.HTTPStatus.NOT_FOUND, http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE})


@dataclass(frozen=True)
class Original:
    key: str
    format: str
    size: tuple[int, int]  # upright, after EXIF orientation
    frames: int  # as many as the first tile's rendition plays
    bytes: int

    @classmethod
    def read(cls, key: str, data: bytes, rendition: bytes | None) -> "Original":
        """The original's format and upright size as render opens it, and the frames `rendition` plays, or, where
        the function gave none, those it would. Its limits, which it has checked already, are not checked again."""
        opened = png.without_chunks_browsers_skip(data)
        source = open_source(opened, NO_LIMITS)
        stop_data_check(source)  # nothing is decoded here
        frames = source.frames
        if rendition is not None:
            with Image.open(io.BytesIO(rendition)) as shown:
                frames = getattr(shown, "n_frames", 1)  # an output of ours, never a TIFF, whose pages it would walk
        return cls(key, source.image.format or "?", oriented_size(source.image, opened), frames, len(data))


@dataclass(frozen=True)
class Variant:
    """One rendition URL: `/<spec>/<key>` with the spec's dims and fit spelled out."""

    width: int | None
    height: int | None
    fit: str = "contain"
    format: str | None = None

    def spec(self) -> str:
        dims = f"{self.width or ''}x{self.height or ''}"
        return ",".join(option for option in (dims, None if self.fit == "contain" else self.fit, self.format) if option)

    def url(self, key: str) -> str:
        return f"/{self.spec()}/{quote(key, safe='/')}"

    def expected_size(self, original: Original) -> tuple[int, int]:
        return plan(original.size, self.width, self.height, self.fit).size


class Gallery:
    """The originals the function renders. The page asks the distribution itself for each one's first tile
    (TILE_WIDTH wide), as a viewer would, and leaves out those the function refuses (REFUSED_ORIGINALS): what
    it serves is then in the cache or stored when the browser asks. An original refused for the configuration's
    sake (400: its sizes not allowed; 500: a malformed header) stays, to show those errors."""

    def __init__(self, s3, bucket: str, notes: dict[str, str]):
        self._s3, self._bucket, self._notes = s3, bucket, notes
        self._originals: dict[tuple[str, str], Original | None] = {}  # by (key, ETag): each is read once
        self._lock = threading.Lock()

    def html(self, config: dict[str, str], rendition: Callable[[str], tuple[int, bytes]]) -> str:
        """config: the origin's custom headers, shown; rendition: the status and body a viewer's GET of a URL
        gets. The configuration is the process's, so each original, by its ETag, is asked for once."""
        originals = [self._original(key, etag, rendition) for key, etag in self._listing()]
        return TEMPLATE.substitute(
            bucket=html.escape(self._bucket),
            config=html.escape(", ".join(f"{name}: {value}" for name, value in config.items())),
            originals="\n".join(self._section(original) for original in originals if original is not None),
        )

    def _listing(self) -> list[tuple[str, str]]:
        """(key, ETag) of the bucket's objects, the samples first in their own order; _original leaves out what
        the function refuses to render (a text file among them)."""
        listing = self._s3.list_objects_v2(Bucket=self._bucket, MaxKeys=1000).get("Contents", [])
        order = {key: index for index, key in enumerate(self._notes)}
        items = [(item["Key"], item["ETag"]) for item in listing]
        items.sort(key=lambda item: (order.get(item[0], len(order)), item[0]))
        return items[:MAX_ORIGINALS]

    def _original(self, key: str, etag: str, rendition: Callable[[str], tuple[int, bytes]]) -> Original | None:
        with self._lock:
            if (key, etag) in self._originals:
                return self._originals[(key, etag)]
        status, first_tile = rendition(Variant(TILE_WIDTH, None).url(key))
        original = None
        if status not in REFUSED_ORIGINALS:
            data = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            try:
                original = Original.read(key, data, first_tile if status == http.HTTPStatus.OK else None)
            except EdgeError:  # where the function refused the configuration first, and would refuse this too
                pass
        with self._lock:
            self._originals[(key, etag)] = original
        return original

    def _section(self, original: Original) -> str:
        key = original.key
        width, height = original.size
        frames = f" · {original.frames} frames" if original.frames > 1 else ""
        note = self._notes.get(key, "")
        tiles = (responsive_tile(original), picture_tile(original), cover_tile(original))
        return f"""
<section class="original">
  <div class="about">
    <h2>{html.escape(key)}</h2>
    <p class="facts">{original.format} · {width}×{height}{frames} · {original.bytes / 1024:.0f} KB</p>
    <p class="note">{html.escape(note)}</p>
  </div>
  {"".join(tiles)}
</section>"""


def srcset(original: Original, candidates: dict[Variant, str]) -> str:
    return ", ".join(f"{variant.url(original.key)} {descriptor}" for variant, descriptor in candidates.items())


def img_tag(
    original: Original,
    fallback: Variant,
    candidates: dict[Variant, str],
    sizes: str | None = None,
    picture_sources: tuple[Variant, ...] = (),
) -> str:
    """An <img> and, in data-expect, the decoded size of every URL that it or its <picture> may load."""
    may_load = (fallback, *candidates, *picture_sources)
    expected = {variant.url(original.key): variant.expected_size(original) for variant in may_load}
    width, height = fallback.expected_size(original)
    attributes = {
        "src": fallback.url(original.key),
        "srcset": srcset(original, candidates),
        "sizes": sizes,
        "width": str(width),
        "height": str(height),
        "alt": original.key,
        "data-expect": json.dumps(expected, separators=(",", ":")),
    }
    return "<img " + " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items() if value) + ">"


def figure(content: str, caption: str, width: int) -> str:
    caption = f'<figcaption><code>{html.escape(caption)}</code><span class="measured"></span></figcaption>'
    return f'<figure style="width: {width}px">{content}{caption}</figure>'


def responsive_tile(original: Original) -> str:
    candidates = {Variant(width, None): f"{width}w" for width in RESPONSIVE_WIDTHS}
    tag = img_tag(original, Variant(TILE_WIDTH, None), candidates, sizes=f"{TILE_WIDTH}px")
    return figure(tag, "srcset: " + ", ".join(variant.spec() for variant in candidates), TILE_WIDTH)


def picture_tile(original: Original) -> str:
    """AVIF, then WebP, then the original's own format: the browser takes the first type it decodes."""
    sources, source_variants = [], []
    for image_format in ("avif", "webp"):
        densities = {Variant(TILE_WIDTH * scale, None, format=image_format): f"{scale}x" for scale in (1, 2)}
        sources.append(f'<source type="image/{image_format}" srcset="{html.escape(srcset(original, densities))}">')
        source_variants += densities
    fallback = Variant(TILE_WIDTH, None)
    tag = img_tag(original, fallback, {}, picture_sources=tuple(source_variants))
    picture = f"<picture>{''.join(sources)}{tag}</picture>"
    return figure(picture, f"<picture>: avif, webp, {fallback.spec()}", TILE_WIDTH)


def cover_tile(original: Original) -> str:
    crop = Variant(COVER_SIDE, COVER_SIDE, "cover")
    tag = img_tag(original, crop, {crop: "1x", Variant(2 * COVER_SIDE, 2 * COVER_SIDE, "cover"): "2x"})
    return figure(tag, "cover crop: " + crop.spec(), COVER_SIDE)
