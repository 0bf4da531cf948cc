"""Plain geometry for grids: which polygon holds a point, how far apart two points are.

Polygons follow GeoJSON's order: a list of rings, each a list of ``[lon, lat]`` points (the ring
may or may not repeat its first point at the end). A point is inside when it lies inside an odd
number of rings, so a second ring is a hole. Functions take ``lat, lon`` in that order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from workflows.errors import InvalidInput

EARTH_RADIUS_M = 6_371_008.8

Ring = Sequence[Sequence[float]]
Polygon = Sequence[Ring]
T = TypeVar("T")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def rings_of(polygon: Polygon | Ring) -> list[Ring]:
    """The rings of ``polygon``; a bare ring (a list of points) counts as a one-ring polygon."""
    if not polygon:
        return []
    first = polygon[0]
    if first and isinstance(first[0], int | float):
        return [polygon]  # a single ring of [lon, lat] points
    return list(polygon)


def point_in_ring(ring: Ring, lat: float, lon: float) -> bool:
    """Ray casting: True when the point lies inside the ring.

    Edges are half-open, so a point on the line between two adjacent grids belongs to exactly
    one of them.
    """
    inside = False
    count = len(ring)
    for index in range(count):
        x1, y1 = ring[index][0], ring[index][1]
        x2, y2 = ring[(index + 1) % count][0], ring[(index + 1) % count][1]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def point_in_polygon(polygon: Polygon | Ring, lat: float, lon: float) -> bool:
    """True when the point lies inside an odd number of the polygon's rings."""
    inside = False
    for ring in rings_of(polygon):
        if point_in_ring(ring, lat, lon):
            inside = not inside
    return inside


def bounding_box(polygon: Polygon | Ring) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` of all the polygon's points."""
    points = [point for ring in rings_of(polygon) for point in ring]
    if not points:
        raise InvalidInput("empty polygon has no bounding box; give at least one ring of [lon, lat] points")
    lons = [point[0] for point in points]
    lats = [point[1] for point in points]
    return min(lons), min(lats), max(lons), max(lats)


def ring_area(ring: Ring) -> float:
    """Signed area in square degrees (shoelace): positive when counter-clockwise."""
    total = 0.0
    count = len(ring)
    for index in range(count):
        x1, y1 = ring[index][0], ring[index][1]
        x2, y2 = ring[(index + 1) % count][0], ring[(index + 1) % count][1]
        total += x1 * y2 - x2 * y1
    return total / 2


def polygon_centroid(polygon: Polygon | Ring) -> tuple[float, float]:
    """``(lat, lon)`` of the area-weighted centroid of the outer ring (first ring)."""
    rings = rings_of(polygon)
    if not rings or len(rings[0]) < 3:
        raise InvalidInput("polygon needs a ring of at least three [lon, lat] points to have a centroid")
    ring = rings[0]
    area = ring_area(ring)
    if area == 0:
        lons = [point[0] for point in ring]
        lats = [point[1] for point in ring]
        return sum(lats) / len(lats), sum(lons) / len(lons)
    cx = cy = 0.0
    count = len(ring)
    for index in range(count):
        x1, y1 = ring[index][0], ring[index][1]
        x2, y2 = ring[(index + 1) % count][0], ring[(index + 1) % count][1]
        cross = x1 * y2 - x2 * y1
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    return cy / (6 * area), cx / (6 * area)


def validate_polygon(polygon: Any, field: str = "polygon") -> list[list[list[float]]]:
    """Check a polygon given as data and return it as rings of [lon, lat] floats.

    Raises InvalidInput naming the bad ring or point.
    """
    if not isinstance(polygon, list) or not polygon:
        raise InvalidInput(f"{field} must be a non-empty list of rings of [lon, lat] points", field=field)
    result = []
    for ring_index, ring in enumerate(rings_of(polygon)):
        if not isinstance(ring, list) or len(ring) < 3:
            raise InvalidInput(
                f"{field} ring {ring_index} must be a list of at least three [lon, lat] points", field=field
            )
        points = []
        for point_index, point in enumerate(ring):
            if (
                not isinstance(point, list | tuple)
                or len(point) != 2
                or not all(isinstance(value, int | float) and not isinstance(value, bool) for value in point)
                or not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90)
            ):
                raise InvalidInput(
                    f"{field} ring {ring_index} point {point_index} is {point!r}; "
                    "give [lon, lat] in degrees (lon -180..180, lat -90..90)",
                    field=field,
                )
            points.append([float(point[0]), float(point[1])])
        result.append(points)
    return result


def _polygon_of(item: Any) -> Any:
    if isinstance(item, Mapping):
        return item.get("polygon")
    return getattr(item, "polygon", None)


def find_grid(grids: Iterable[T], lat: float, lon: float) -> T | None:
    """The first of ``grids`` whose polygon contains the point, or None.

    A grid is anything with a ``polygon`` attribute or key (an ``OrgUnit``, a demo-data dict);
    grids without a polygon are skipped.
    """
    for grid in grids:
        polygon = _polygon_of(grid)
        if not polygon:
            continue
        min_lon, min_lat, max_lon, max_lat = bounding_box(polygon)
        if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
            continue
        if point_in_polygon(polygon, lat, lon):
            return grid
    return None


def nearest_grid(grids: Iterable[T], lat: float, lon: float, max_m: float) -> T | None:
    """The grid whose centroid is closest to the point, if within ``max_m`` metres; else None.

    A fallback for points just outside every polygon (GPS drift on the edge of the map).
    """
    best: T | None = None
    best_m = max_m
    for grid in grids:
        polygon = _polygon_of(grid)
        if not polygon:
            continue
        grid_lat, grid_lon = polygon_centroid(polygon)
        distance = haversine_m(lat, lon, grid_lat, grid_lon)
        if distance <= best_m:
            best, best_m = grid, distance
    return best
