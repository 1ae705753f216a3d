"""LANCZOS by SIMD (edge/image/resample.py): against Pillow's own, in strips against one call (the last strip
ending on the image's last row), the same bytes on every instruction set, and no working mode left to Pillow's
scalar resize."""

import cykooz_resizer
import pytest
from PIL import Image

from edge.image import resample
from edge.image.model import RESAMPLE_STRIPS
from edge.image.resample import alpha_weighted as engine_alpha_weighted
from edge.image.resample import lanczos, premultiplied, simd_lanczos, simd_lanczos_in_strips, unpremultiplied
from imaging import alpha_weighted, encoded, gradient, largest_difference, rendered

RESAMPLED_REGIONS = pytest.mark.parametrize(("size", "region"), [
    ((300, 201), (0, 0, 1000, 700)), ((333, 97), (10.5, 20.25, 990.0, 600.75)), ((40, 7), (0, 0, 1000, 700)),
    ((999, 601), (0.5, 0, 1000, 699.5)),
], ids=["down", "fractional-region", "thin", "slight"])


def weighted(resampler, source: Image.Image, size: tuple[int, int], region) -> Image.Image:
    """One of the engine's SIMD resamplers, on colour weighted by alpha, as resample.lanczos runs it."""
    return engine_alpha_weighted(source, lambda pixels: resampler(pixels, size, region))


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@RESAMPLED_REGIONS
def test_resampling_in_strips_matches_one_resize(mode, size, region):
    """Each strip's box is rounded apart, so a few pixels may be a level or two off."""
    source = gradient((1000, 700), "RGBA" if "A" in mode else "RGB").convert(mode)
    expected = weighted(simd_lanczos, source, size, region)
    strips = weighted(simd_lanczos_in_strips, source, size, region)
    assert (strips.size, strips.mode) == (size, mode)
    assert largest_difference(strips, expected) <= 2
    assert weighted(simd_lanczos_in_strips, source, size, region).tobytes() == strips.tobytes()


def test_a_strip_whose_float_bottom_passes_the_image_still_renders():
    """39 output rows' worth of 100 / 39 source rows is 100.00000000000001: the last strip must end at row 100."""
    _, image = rendered(encoded(gradient((3000, 100)), "PNG"), "1600x39,fill,png")
    assert image.size == (1600, 39)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@RESAMPLED_REGIONS
def test_resampled_is_pillows_lanczos_within_a_level_or_two(mode, size, region):
    """Compared premultiplied: the colour of a nearly transparent pixel is a ratio of two tiny
    numbers. The divide by alpha (SIMD) rounds apart from Pillow's by one level more."""
    source = gradient((1000, 700), "RGBA" if "A" in mode else "RGB").convert(mode)
    ours = weighted(simd_lanczos, source, size, region)
    pillows = source.resize(size, Image.Resampling.LANCZOS, box=region)
    assert (ours.size, ours.mode) == (size, mode)
    assert largest_difference(alpha_weighted(ours), alpha_weighted(pillows)) <= (3 if "A" in mode else 2)


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_premultiplying_by_simd_is_pillows_and_undoing_it_within_a_level(mode):
    """LA goes as RGBA, whose three equal colour bands come back to one exactly."""
    source = gradient((300, 200), "RGBA").convert(mode)
    untouched = source.tobytes()
    weighted = premultiplied(source)
    assert weighted.mode == "RGBa" and weighted.tobytes() == source.convert("RGBA").convert("RGBa").tobytes()
    assert (source.mode, source.tobytes()) == (mode, untouched)
    restored = unpremultiplied(weighted, mode)
    assert restored.mode == mode and largest_difference(restored, weighted.convert("RGBA").convert(mode)) <= 1


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_the_simd_resampler_writes_the_same_bytes_with_every_instruction_set(monkeypatch, mode):
    """Outputs are deterministic: a miss served at another edge, on another CPU, stores the same object."""
    noise = [Image.effect_noise((700, 500), 60) for _ in range(4)]
    source = Image.merge("RGBA", noise).convert(mode) if mode != "L" else noise[0]
    outputs = set()
    for extension in (cykooz_resizer.CpuExtensions.none, cykooz_resizer.CpuExtensions.sse4_1,
                      cykooz_resizer.CpuExtensions.avx2):
        for name in ("Resizer", "AlphaMulDiv"):
            class Pinned(getattr(cykooz_resizer, name)):
                def __init__(self):
                    super().__init__()
                    self.cpu_extensions = extension

            monkeypatch.setattr(resample, name, Pinned)
        assert resample.Resizer().cpu_extensions == resample.AlphaMulDiv().cpu_extensions == extension
        outputs.add(weighted(resample.simd_lanczos, source, (333, 97), (10.5, 20.25, 690.0, 480.75)).tobytes())
    assert len(outputs) == 1


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_no_working_mode_is_resampled_by_pillows_scalar_lanczos(monkeypatch, mode):
    def scalar(*_, **__):
        raise AssertionError("Pillow's own resize ran")

    source = gradient((64, 48), "RGBA" if "A" in mode else "RGB").convert(mode)
    monkeypatch.setattr(Image.Image, "resize", scalar)
    assert lanczos(source, (17, 13), (0, 0, 64, 48)).mode == mode


# Strips pay from 512 x 512 pixels on, given an output of a row a strip at least.
@pytest.mark.parametrize(("source", "height", "in_strips"), [
    ((512, 512), RESAMPLE_STRIPS, True), ((511, 512), RESAMPLE_STRIPS, False), ((2048, 128), RESAMPLE_STRIPS, True),
    ((512, 512), RESAMPLE_STRIPS - 1, False),
], ids=["at-the-pixels", "a-column-fewer", "wide", "a-row-short-of-a-strip-each"])
def test_an_image_of_512_by_512_pixels_or_more_is_resampled_in_strips(monkeypatch, source, height, in_strips):
    calls = []

    def recorded(*args):
        calls.append(args)
        return simd_lanczos(*args)

    monkeypatch.setattr(resample, "simd_lanczos_in_strips", recorded)
    assert lanczos(Image.new("RGB", source), (64, height), (0, 0, *source)).size == (64, height)
    assert len(calls) == in_strips
