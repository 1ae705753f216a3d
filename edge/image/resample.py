"""LANCZOS by fast_image_resize's SIMD convolution (cykooz.resizer, imported nowhere else): colour weighted by
alpha, large images in strips on the worker threads."""

from collections.abc import Callable

from PIL import Image
from cykooz_resizer import AlphaMulDiv, CropBox, FilterType, ResizeAlg, ResizeOptions, Resizer

from edge.image.model import RESAMPLE_STRIPS, WORKING_ALPHA_MODES, Region, worker_pool

# LANCZOS, by fast_image_resize's SIMD convolution: several times faster than Pillow's (by hand,
# 12 MP to 1600 px on one core: 15-24 against 137 ms), and the same bytes on every CPU it
# detects. On photographs it is within a level or two of Pillow's LANCZOS; on hard edges
# (text, noise) up to tens of levels apart, where the two run their passes in another
# order and so clip the ringing of their 8-bit middle pass in other places.
SIMD_LANCZOS = ResizeAlg.convolution(FilterType.lanczos3)
PARALLEL_MIN_PIXELS = 512 * 512  # below it, one call on one thread is quicker than strips


def lanczos(image: Image.Image, size: tuple[int, int], region: Region) -> Image.Image:
    """LANCZOS of the region to size, colour weighted by alpha once for the whole image: in strips on
    threads once the image is large enough to pay for them."""
    in_one_call = image.width * image.height < PARALLEL_MIN_PIXELS or size[1] < RESAMPLE_STRIPS
    resample = simd_lanczos if in_one_call else simd_lanczos_in_strips
    return alpha_weighted(image, lambda pixels: resample(pixels, size, region))


def alpha_weighted(image: Image.Image, operation: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """`operation` on the image's colour weighted by alpha (as RGBa), so that the colour of
    transparent pixels cannot bleed into the edges, then back to the image's mode, as Pillow's
    own resize does inside; on a mode without alpha, on the image as it is."""
    if image.mode not in WORKING_ALPHA_MODES:
        return operation(image)
    return unpremultiplied(operation(premultiplied(image)), image.mode)


def simd_lanczos(image: Image.Image, size: tuple[int, int], region: Region) -> Image.Image:
    """LANCZOS of the region to size, in one call, on the pixels as they are: L, RGB, or RGBa (colour
    weighted by alpha; the resampler has no two-band mode)."""
    left, upper, right, lower = region
    # A box computed in floats can end an ulp past the image (the last strip's: 100 / 39 * 39
    # is 100.00000000000001), which the SIMD resampler refuses with a RuntimeError.
    right, lower = min(right, image.width), min(lower, image.height)
    output = Image.new(image.mode, size)
    options = ResizeOptions(resize_alg=SIMD_LANCZOS, crop_box=CropBox(left, upper, right - left, lower - upper))
    # A Resizer keeps scratch buffers, so each call (each strip's thread) has its own.
    Resizer().resize_pil(image, output, options)
    return output


def premultiplied(image: Image.Image) -> Image.Image:
    """RGBa, by SIMD: the same bytes as Pillow's convert("RGBa") in a tenth of the time."""
    if image.mode == "RGBA":
        return AlphaMulDiv().multiply_alpha_pil(image)
    # The RGBA copy is ours alone, so it is weighted where it lies, not into a third image (16 MP: 64 MB less).
    widened = image.convert("RGBA")
    AlphaMulDiv().multiply_alpha_pil_inplace(widened)
    return widened


def unpremultiplied(image: Image.Image, mode: str) -> Image.Image:
    restored = AlphaMulDiv().divide_alpha_pil(image)
    return restored if mode == "RGBA" else restored.convert(mode)


def simd_lanczos_in_strips(image: Image.Image, size: tuple[int, int], region: Region) -> Image.Image:
    """simd_lanczos in horizontal strips on several threads.

    The resampler releases the GIL, and each strip's box maps onto its rows of
    the output, so every output pixel gets a single pass's weights, up to float
    rounding: a few pixels differ by a level or two from one resize.
    """
    width, height = size
    left, upper, right, lower = region
    rows_per_output_row = (lower - upper) / height
    bounds = [height * index // RESAMPLE_STRIPS for index in range(RESAMPLE_STRIPS + 1)]

    def strip(index: int) -> Image.Image:
        first, last = bounds[index], bounds[index + 1]
        box = (left, upper + first * rows_per_output_row, right, upper + last * rows_per_output_row)
        return simd_lanczos(image, (width, last - first), box)

    output = Image.new(image.mode, size)
    for index, part in enumerate(worker_pool().map(strip, range(RESAMPLE_STRIPS))):
        output.paste(part, (0, bounds[index]))
    return output
