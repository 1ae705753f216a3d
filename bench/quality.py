"""SSIM of an engine's output against a high-quality reference of the same region.

The reference is the tutorial's own recipe done without shortcuts: the full decode,
in 32-bit float per channel, resized with LANCZOS (so no rounding to 8 bits
between passes, no DCT-domain scaling, no reduce()). Transparent images are
compared as seen: premultiplied resize, then composited over mid-grey, which is
how the alpha of an output becomes visible. Animations are compared on frame 1.
"""

import io

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

from edge.image.model import has_alpha

GREY = 128.0  # the backdrop transparent pixels are judged on


class Reference:
    """The decoded source of one corpus file, kept as float planes for every case on it."""

    def __init__(self, data: bytes):
        self.planes = float_planes(data)
        self._cache: dict[tuple, np.ndarray] = {}

    def image(self, size: tuple[int, int], crop: tuple[int, int, int, int], backdrop: float = GREY) -> np.ndarray:
        """The reference of this region at this size, transparent pixels over `backdrop` (255: JPEG's white)."""
        key = (size, crop, backdrop)
        if key not in self._cache:
            self._cache[key] = resized_reference(self.planes, size, crop, backdrop)
        return self._cache[key]

    def ssim(self, output: bytes, crop: tuple[int, int, int, int]) -> float:
        """SSIM of output against the reference at the output's own size (an engine that
        rounds a dimension the other way is still compared, on the same source region)."""
        seen = as_seen(output)
        return score(self.image((seen.shape[1], seen.shape[0]), crop), seen)

    def aligned_ssim(self, output: bytes, crop: tuple[int, int, int, int], source_size: tuple[int, int]) -> float:
        """The best SSIM over crops shifted by up to one output pixel along the cropped axis.

        libvips crops after shrinking, at whole output pixels, so its window sits up to
        half an output pixel away from SPEC.md's; on a detailed picture that shift alone
        costs SSIM 0.15 and says nothing about quality.
        """
        seen = as_seen(output)
        size = (seen.shape[1], seen.shape[0])
        left, upper, right, lower = crop
        horizontal = right - left < source_size[0]
        step = (right - left) / size[0] if horizontal else (lower - upper) / size[1]
        best = 0.0
        for quarter in range(-4, 5):
            shift = quarter * step / 4
            if horizontal:
                moved = (left + shift, upper, right + shift, lower)
            else:
                moved = (left, upper + shift, right, lower + shift)
            best = max(best, score(self.image(size, moved), seen))
        return best


def score(reference: np.ndarray, seen: np.ndarray) -> float:
    return float(structural_similarity(reference, seen, channel_axis=2, data_range=255.0))


def float_planes(data: bytes) -> list[Image.Image]:
    """R, G, B (premultiplied when there is alpha) and A, as mode-F images."""
    with Image.open(io.BytesIO(data)) as source:
        alpha = has_alpha(source)
        pixels = np.asarray(source.convert("RGBA" if alpha else "RGB"), dtype=np.float32)
    if not alpha:
        return [Image.fromarray(np.ascontiguousarray(pixels[..., c])) for c in range(3)]
    coverage = pixels[..., 3] / 255.0
    colour = [np.ascontiguousarray(pixels[..., c] * coverage) for c in range(3)]
    planes = colour + [np.ascontiguousarray(pixels[..., 3])]
    return [Image.fromarray(plane) for plane in planes]


def resized_reference(planes: list[Image.Image], size, crop, backdrop: float = GREY) -> np.ndarray:
    channels = [np.asarray(plane.resize(size, Image.Resampling.LANCZOS, box=crop), dtype=np.float64)
                for plane in planes]
    if len(channels) == 4:
        coverage = np.clip(channels[3] / 255.0, 0.0, 1.0)
        channels = [channel + (1.0 - coverage) * backdrop for channel in channels[:3]]
    return np.clip(np.stack(channels, axis=2), 0.0, 255.0)


def as_seen(output: bytes) -> np.ndarray:
    """An engine's output as float RGB, transparent pixels over the same grey."""
    with Image.open(io.BytesIO(output)) as image:
        image.seek(0)
        alpha = image.mode in ("RGBA", "LA", "PA", "P") and (image.mode != "P" or "transparency" in image.info)
        pixels = np.asarray(image.convert("RGBA" if alpha else "RGB"), dtype=np.float64)
    if pixels.shape[2] == 3:
        return pixels
    coverage = pixels[..., 3:4] / 255.0
    return pixels[..., :3] * coverage + (1.0 - coverage) * GREY
