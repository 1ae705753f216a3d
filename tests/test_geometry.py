import dataclasses

import pytest
from PIL import Image

from edge.geometry import Geometry, as_stored, centre_crop, contain_size, plan, round_half_up, upright_size
from edge.image.source import UPRIGHT


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 2, 3), (7, 2, 4), (4, 2, 2), (1, 3, 1), (2, 3, 1), (0, 5, 1), (1, 1000, 1), (1499, 1000, 1), (1500, 1000, 2)],
)
def test_round_half_up_is_at_least_one(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("source", "width", "height", "expected"),
    [
        ((4000, 3000), 640, None, (640, 480)),
        ((4000, 3000), None, 480, (640, 480)),
        ((4000, 3000), 640, 640, (640, 480)),
        ((3000, 4000), 640, 640, (480, 640)),
        ((4000, 3000), 1000, 300, (400, 300)),
        ((1000, 333), 500, None, (500, 167)),  # 166.5 rounds up
        ((1001, 1), 100, None, (100, 1)),  # 0.0999 rounds to 0, then at least 1
        ((1, 1000), None, 10, (1, 10)),
        ((1, 1000), 1, None, (1, 1000)),  # W of 1 on a 1-wide source: unchanged
        ((20000, 10), 640, None, (640, 1)),  # extreme panorama: 0.32 -> at least 1
        ((100, 50), 640, None, (100, 50)),  # never enlarged, whichever side binds
        ((100, 50), 640, 640, (100, 50)),
        ((100, 50), 100, None, (100, 50)),
        ((100, 50), None, 480, (100, 50)),
        ((50, 100), 640, 640, (50, 100)),
        ((50, 100), None, 100, (50, 100)),
        ((4000, 3000), 1, 1, (1, 1)),
    ],
)
def test_contain(source, width, height, expected):
    assert contain_size(source, width, height) == expected
    assert plan(source, width, height, "contain") == Geometry(expected, (0, 0, *source))


@pytest.mark.parametrize(
    ("source", "box", "size", "crop"),
    [
        ((4000, 3000), (300, 300), (300, 300), (500, 0, 3500, 3000)),
        ((3000, 4000), (300, 300), (300, 300), (0, 500, 3000, 3500)),
        ((4000, 3000), (1200, 630), (1200, 630), (0, 450, 4000, 2550)),
        ((4000, 3000), (400, 300), (400, 300), (0, 0, 4000, 3000)),  # same aspect: no crop
        ((101, 100), (100, 100), (100, 100), (0, 0, 100, 100)),  # odd margin: the extra column on the right
        # Box larger than the source: scaled down to fit inside it, then cropped at source resolution.
        ((100, 50), (300, 300), (50, 50), (25, 0, 75, 50)),
        ((100, 50), (600, 100), (100, 17), (0, 16, 100, 33)),
        ((1, 1000), (10, 10), (1, 1), (0, 499, 1, 500)),
        ((1000, 1), (1, 10), (1, 1), (499, 0, 500, 1)),
    ],
)
def test_cover(source, box, size, crop):
    assert plan(source, *box, "cover") == Geometry(size, crop)


@pytest.mark.parametrize(
    ("source", "box", "size"),
    [
        ((4000, 3000), (200, 200), (200, 200)),
        ((4000, 3000), (10, 900), (10, 900)),
        ((100, 50), (300, 300), (50, 50)),  # never enlarged: the box keeps its aspect inside the source
        ((100, 50), (200, 50), (100, 25)),
        ((100, 50), (100, 50), (100, 50)),
    ],
)
def test_fill_uses_the_whole_source(source, box, size):
    assert plan(source, *box, "fill") == Geometry(size, (0, 0, *source))


def test_centre_crop_keeps_the_box_aspect_ratio():
    left, upper, right, lower = centre_crop((4000, 3000), (16, 9))
    assert (right - left, lower - upper) == (4000, 2250)
    assert upper == 375


@pytest.mark.parametrize("fit", ["cover", "fill"])
@pytest.mark.parametrize("box", [(50, None), (None, 50)])
def test_cover_and_fill_need_both_dimensions(fit, box):
    with pytest.raises(ValueError, match="needs both"):
        plan((100, 100), *box, fit)


def test_an_unknown_fit_is_refused():
    with pytest.raises(ValueError, match="unknown fit"):
        plan((100, 100), 50, 50, "stretch")


@pytest.mark.parametrize(("orientation", "size"), [
    (1, (7, 5)), (2, (7, 5)), (3, (7, 5)), (4, (7, 5)), (5, (5, 7)), (6, (5, 7)), (7, (5, 7)), (8, (5, 7)),
])
def test_orientations_five_to_eight_swap_width_and_height(orientation, size):
    assert upright_size((7, 5), orientation) == size


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("crop", [(1, 0, 4, 2), (0, 0, 5, 5), (2, 1, 5, 5), (0, 3, 1, 4)])
def test_as_stored_crops_from_the_stored_pixels_what_the_upright_crop_shows(orientation, crop):
    stored = Image.new("L", (7, 5))
    stored.frombytes(bytes(range(35)))  # every pixel its own value: any box elsewhere shows other values
    turned_upright = stored.transpose(UPRIGHT[orientation]) if orientation != 1 else stored
    upright = Geometry((3, 2), crop)
    in_stored = as_stored(upright, orientation, stored.size)
    assert in_stored.size == upright_size((3, 2), orientation)
    cut = stored.crop(in_stored.crop)
    assert (cut.transpose(UPRIGHT[orientation]) if orientation != 1 else cut).tobytes() == turned_upright.crop(
        crop).tobytes()


def test_a_plan_is_frozen():
    """Every frame of an animation is cut and sized by the one plan."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan((100, 50), 50, 50, "cover").size = (1, 1)
