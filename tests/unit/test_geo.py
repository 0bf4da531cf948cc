"""Point-in-polygon, distances and grid lookup on [lon, lat] polygons."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from workflows.errors import InvalidInput
from workflows.org.geo import (
    bounding_box,
    find_grid,
    haversine_m,
    nearest_grid,
    point_in_polygon,
    polygon_centroid,
    validate_polygon,
)


def _square(lon0: float, lat0: float, size: float = 0.01) -> list[list[list[float]]]:
    return [
        [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
    ]


WEST = _square(120.57, 31.32)
EAST = _square(120.58, 31.32)


def test_haversine_of_a_point_to_itself_is_zero():
    assert haversine_m(31.33, 120.59, 31.33, 120.59) == 0


def test_haversine_of_one_degree_of_latitude_is_about_111_km():
    assert haversine_m(31.0, 120.0, 32.0, 120.0) == pytest.approx(111_195, rel=1e-4)


def test_haversine_is_symmetric_and_shrinks_longitude_with_latitude():
    east = haversine_m(31.33, 120.57, 31.33, 120.58)
    assert east == pytest.approx(haversine_m(31.33, 120.58, 31.33, 120.57))
    assert east == pytest.approx(111_195 * 0.01 * math.cos(math.radians(31.33)), rel=1e-3)


def test_point_inside_and_outside_a_square():
    assert point_in_polygon(WEST, 31.325, 120.575)
    assert not point_in_polygon(WEST, 31.325, 120.585)
    assert not point_in_polygon(WEST, 31.335, 120.575)


def test_a_point_on_a_shared_edge_belongs_to_exactly_one_grid():
    on_edge = (31.325, 120.58)
    assert point_in_polygon(WEST, *on_edge) != point_in_polygon(EAST, *on_edge)


def test_a_bare_unclosed_ring_is_accepted():
    ring = [[120.57, 31.32], [120.58, 31.32], [120.58, 31.33], [120.57, 31.33]]
    assert point_in_polygon(ring, 31.325, 120.575)


def test_a_second_ring_is_a_hole():
    outer = _square(120.57, 31.32, 0.03)[0]
    hole = _square(120.58, 31.33, 0.01)[0]
    assert not point_in_polygon([outer, hole], 31.335, 120.585)
    assert point_in_polygon([outer, hole], 31.325, 120.575)


def test_a_concave_polygon_excludes_its_notch():
    l_shape = [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]]
    assert point_in_polygon(l_shape, 1.5, 0.5)
    assert not point_in_polygon(l_shape, 1.5, 1.5)
    assert point_in_polygon(l_shape, 0.5, 1.5)


def test_find_grid_returns_the_containing_grid_from_dicts_or_objects():
    grids = [{"code": "west", "polygon": WEST}, SimpleNamespace(code="east", polygon=EAST)]
    assert find_grid(grids, 31.325, 120.575)["code"] == "west"
    assert find_grid(grids, 31.325, 120.585).code == "east"


def test_find_grid_returns_none_outside_every_grid_and_skips_grids_without_polygon():
    grids = [{"code": "nowhere", "polygon": None}, {"code": "west", "polygon": WEST}]
    assert find_grid(grids, 31.40, 120.575) is None
    assert find_grid([], 31.325, 120.575) is None


def test_nearest_grid_takes_the_closest_centroid_within_the_limit():
    grids = [{"code": "west", "polygon": WEST}, {"code": "east", "polygon": EAST}]
    just_north_of_east = (31.3305, 120.586)
    assert nearest_grid(grids, *just_north_of_east, max_m=1_000)["code"] == "east"
    assert nearest_grid(grids, *just_north_of_east, max_m=100) is None


def test_centroid_and_bounding_box_of_a_rectangle():
    lat, lon = polygon_centroid(WEST)
    assert (lat, lon) == (pytest.approx(31.325), pytest.approx(120.575))
    assert bounding_box(WEST) == (120.57, 31.32, pytest.approx(120.58), pytest.approx(31.33))


def test_validate_polygon_normalises_a_bare_ring_to_rings_of_floats():
    assert validate_polygon([[0, 0], [1, 0], [1, 1]]) == [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]]


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([], "non-empty list"),
        ([[[0, 0], [1, 0]]], "ring 0 must be a list of at least three"),
        ([[[0, 0], [1, 0], [1, "x"]]], "ring 0 point 2 is \\[1, 'x'\\]"),
        ([[[0, 0], [1, 0], [200, 1]]], "lon -180..180"),
    ],
)
def test_validate_polygon_names_the_bad_ring_or_point(polygon, message):
    with pytest.raises(InvalidInput, match=message) as raised:
        validate_polygon(polygon)
    assert raised.value.field == "polygon"
