"""Output size and source crop for a rendition: pure integer arithmetic.

Rounding rule (SPEC.md): a computed dimension is rounded half up and is at least 1.
Nothing is ever enlarged: contain stops at the source's size, and for cover and
fill a box larger than the source is first scaled down, keeping its aspect
ratio, until it fits inside the source.
"""

from dataclasses import dataclass

Box = tuple[int, int, int, int]  # left, upper, right, lower, in source pixels
TRANSPOSING = frozenset({5, 6, 7, 8})  # the EXIF orientations that swap width and height


@dataclass(frozen=True)
class Geometry:
    size: tuple[int, int]  # output width, height
    crop: Box  # the region of the source that becomes the output


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
    box = contain_size((width, height), source_w, source_h)  # a box larger than the source shrinks, aspect kept
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


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size of a picture stored at `size` once turned upright by its EXIF orientation."""
    width, height = size
    return (height, width) if orientation in TRANSPOSING else (width, height)


def as_stored(geometry: Geometry, orientation: int, stored_size: tuple[int, int]) -> Geometry:
    """An upright rendition's geometry in the pixels of the picture as stored with this EXIF orientation: what
    to crop there, and the output's size before it is turned upright."""
    if orientation == 1:
        return geometry
    width, height = upright_size(stored_size, orientation)
    return Geometry(upright_size(geometry.size, orientation), STORED_BOX[orientation](*geometry.crop, width, height))


# Where a box (left, upper, right, lower) of the upright width x height picture lies in the picture as stored: each
# flip and transpose undoes itself, and orientations 6 and 8, quarter turns, undo each other.
STORED_BOX = {
    2: lambda left, upper, right, lower, width, height: (width - right, upper, width - left, lower),
    3: lambda left, upper, right, lower, width, height: (width - right, height - lower, width - left, height - upper),
    4: lambda left, upper, right, lower, width, height: (left, height - lower, right, height - upper),
    5: lambda left, upper, right, lower, width, height: (upper, left, lower, right),
    6: lambda left, upper, right, lower, width, height: (upper, width - right, lower, width - left),
    7: lambda left, upper, right, lower, width, height: (height - lower, width - right, height - upper, width - left),
    8: lambda left, upper, right, lower, width, height: (height - lower, left, height - upper, right),
}
