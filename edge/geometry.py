"""Output size and source crop for a rendition: pure integer arithmetic.

Rounding rule (SPEC.md): a computed dimension is rounded half up and is at least 1.
Nothing is ever enlarged: contain stops at the source's size, and for cover and
fill a box larger than the source is first scaled down, keeping its aspect
ratio, until it fits inside the source.
"""

from dataclasses import dataclass

Box = tuple[int, int, int, int]  # left, upper, right, lower, in source pixels


@dataclass(frozen=True)
class Geometry:
    size: tuple[int, int]  # output width, height
    crop: Box  # the region of the source that becomes the output

    @property
    def is_identity(self) -> bool:
        return self.crop == (0, 0, *self.size)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, at least 1."""
    return max(1, (2 * numerator + denominator) // (2 * denominator))


def plan(source_size: tuple[int, int], width: int | None, height: int | None, fit: str) -> Geometry:
    source_w, source_h = source_size
    whole = (0, 0, source_w, source_h)
    if fit == "contain":
        return Geometry(contain_size(source_size, width, height), whole)
    if width is None or height is None:
        raise ValueError(f"{fit} needs both width and height")
    larger_than_source = width > source_w or height > source_h
    box = contain_size((width, height), source_w, source_h) if larger_than_source else (width, height)
    if fit == "fill":
        return Geometry(box, whole)
    if fit == "cover":
        return Geometry(box, centre_crop(source_size, box))
    raise ValueError(f"unknown fit {fit!r}")


def contain_size(source_size: tuple[int, int], width: int | None, height: int | None) -> tuple[int, int]:
    """The largest size with the source's aspect ratio inside width x height, never enlarged."""
    source_w, source_h = source_size
    width_binds = height is None or (width is not None and width * source_h <= height * source_w)
    if width_binds:
        assert width is not None
        if width >= source_w:
            return source_size
        return width, round_half_up(source_h * width, source_w)
    assert height is not None
    if height >= source_h:
        return source_size
    return round_half_up(source_w * height, source_h), height


def centre_crop(source_size: tuple[int, int], box: tuple[int, int]) -> Box:
    """The centred region of the source with the box's aspect ratio, as large as possible."""
    source_w, source_h = source_size
    box_w, box_h = box
    if source_w * box_h > source_h * box_w:  # source is wider than the box: trim the sides
        crop_w = min(source_w, round_half_up(source_h * box_w, box_h))
        left = (source_w - crop_w) // 2
        return left, 0, left + crop_w, source_h
    crop_h = min(source_h, round_half_up(source_w * box_h, box_w))
    top = (source_h - crop_h) // 2
    return 0, top, source_w, top + crop_h
