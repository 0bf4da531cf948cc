"""Which grid holds a point, through shapely's STRtree, built once per grid set.

``GridIndex(grids)`` indexes anything with a ``polygon`` (an ``OrgUnit`` row, a demo-data dict):
rings of ``[lon, lat]`` points in GeoJSON order. It answers as ``workflows.geo`` does, only without
testing every polygon: a point inside an odd number of a grid's rings is inside (each grid's shape
is the symmetric difference of its rings, so a second ring is a hole), grids are tried in the order
given, and a point on a boundary is decided by geo's half-open ring rule, so a point on the line
between two grids belongs to exactly one of them. ``nearest`` is the centroid fallback of
``geo.nearest_grid``.

``grid_index(session)`` keeps one index per process for the database's grids. Any commit that
writes an ``OrgUnit`` through the ORM in this process drops it at once; changes made by other
processes are noticed by comparing which grids there are (count, highest id, sum of ids) every 5 s
and the total length of their polygons every 30 s.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import shapely
from sqlalchemy import Text, cast, event, func, select
from sqlalchemy.orm import Session

from workflows.org import geo
from workflows.org.models import OrgUnit

T = TypeVar("T")
METRES_PER_DEGREE = math.pi * geo.EARTH_RADIUS_M / 180


def shape_of(polygon: geo.Polygon | geo.Ring) -> shapely.Geometry:
    """The area inside an odd number of the polygon's rings, as one shapely geometry."""
    parts = [shapely.Polygon(ring) for ring in geo.rings_of(polygon) if len(ring) >= 3]
    parts = [shapely.make_valid(part) if not part.is_valid else part for part in parts]
    if not parts:
        return shapely.Polygon()
    if len(parts) == 1:
        return parts[0]
    return functools.reduce(shapely.symmetric_difference, parts)


class GridIndex(Generic[T]):
    """The grids with a polygon, in the order given, behind two STRtrees (shapes and centroids)."""

    def __init__(self, grids: Iterable[T]) -> None:
        self.grids: list[T] = []
        self._polygons: list[Any] = []
        shapes, centroids = [], []
        for grid in grids:
            polygon = grid.get("polygon") if isinstance(grid, Mapping) else getattr(grid, "polygon", None)
            if not polygon:
                continue
            self.grids.append(grid)
            self._polygons.append(polygon)
            shapes.append(shape_of(polygon))
            lat, lon = geo.polygon_centroid(polygon)
            centroids.append(shapely.Point(lon, lat))
        shapely.prepare(shapes)
        self._shapes = shapes
        self._centroids = centroids
        self._tree = shapely.STRtree(shapes)
        self._centroid_tree = shapely.STRtree(centroids)

    def __len__(self) -> int:
        return len(self.grids)

    def find(self, lat: float, lon: float) -> T | None:
        """The first grid whose polygon holds the point, or None."""
        point = shapely.Point(lon, lat)
        for index in sorted(self._tree.query(point, predicate="intersects").tolist()):
            if self._shapes[index].contains(point):
                return self.grids[index]
            if geo.point_in_polygon(self._polygons[index], lat, lon):  # on a boundary: the half-open rule
                return self.grids[index]
        return None

    def nearest(self, lat: float, lon: float, max_m: float) -> T | None:
        """The grid whose centroid is closest to the point, if within ``max_m`` metres; else None."""
        dlat = max_m / METRES_PER_DEGREE
        dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
        box = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        best: T | None = None
        best_m = max_m
        for index in sorted(self._centroid_tree.query(box).tolist()):
            centroid = self._centroids[index]
            distance = geo.haversine_m(lat, lon, centroid.y, centroid.x)
            if distance <= best_m:
                best, best_m = self.grids[index], distance
        return best


_GRID_ROWS = select(OrgUnit.id, OrgUnit.code, OrgUnit.level, OrgUnit.parent_id, OrgUnit.name,
                    OrgUnit.polygon).where(OrgUnit.level == "grid").order_by(OrgUnit.code)
# which grids there are (count, highest id, sum of ids): ~1.4 ms for 1,623 grids on SQLite, as it
# walks the org units, so read at most every SET_CHECK_S seconds
_GRID_SET = select(func.count(), func.max(OrgUnit.id), func.sum(OrgUnit.id)).where(OrgUnit.level == "grid")
# the shapes (the total length of the polygons): ~3 ms, read at most every SHAPES_CHECK_S seconds
_SHAPES = select(func.sum(func.length(cast(OrgUnit.polygon, Text)))).where(OrgUnit.level == "grid")
SET_CHECK_S = 5.0
SHAPES_CHECK_S = 30.0


@dataclass
class _Cached:
    grid_set: tuple
    shapes: Any
    set_checked: float
    shapes_checked: float
    index: GridIndex


_lock = threading.Lock()
_cached: dict[str, _Cached] = {}  # engine URL -> the index of its grids


def grid_index(session: Session) -> GridIndex:
    """The index of the database's grids (rows with id, code, level, parent_id, name, polygon).

    Rebuilt at once when this process commits a change to an org unit; a change made by another
    process is seen within 5 s (grids added or removed) or 30 s (a polygon redrawn)."""
    key = str(session.get_bind().url)
    with _lock:
        found = _cached.get(key)
    at = time.monotonic()
    if found is not None and at - found.set_checked < SET_CHECK_S and at - found.shapes_checked < SHAPES_CHECK_S:
        return found.index
    grid_set = tuple(session.execute(_GRID_SET).one())
    if found is not None and found.grid_set == grid_set:
        found.set_checked = at
        if at - found.shapes_checked < SHAPES_CHECK_S:
            return found.index
        shapes = session.scalar(_SHAPES)
        if shapes == found.shapes:
            found.shapes_checked = at
            return found.index
    shapes = session.scalar(_SHAPES)
    index = GridIndex(session.execute(_GRID_ROWS).all())
    with _lock:
        _cached[key] = _Cached(grid_set, shapes, at, at, index)
    return index


def forget_grids() -> None:
    """Drop every cached index (the next lookup rebuilds it)."""
    with _lock:
        _cached.clear()


@event.listens_for(Session, "after_flush")
def _note_unit_changes(session: Session, _context) -> None:
    if any(isinstance(obj, OrgUnit) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["gridlink_units_changed"] = True


@event.listens_for(Session, "after_commit")
def _drop_on_unit_commit(session: Session) -> None:
    if session.info.pop("gridlink_units_changed", False):
        forget_grids()


@event.listens_for(Session, "after_rollback")
def _keep_on_rollback(session: Session) -> None:
    session.info.pop("gridlink_units_changed", None)

