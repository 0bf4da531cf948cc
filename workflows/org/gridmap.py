"""What the maps show: grid outlines as GeoJSON, open reports near a point (public-safe), and open and
overdue cases per grid for the command centre's map ("一张图").

Outlines and grid names are public (residents pick a point on them). Nearby reports carry only the
category, the status, the age in days and a rough place (the grid's name and the point rounded to
about 100 m): never the description, the reporter or the address. Counts per grid are for staff and
are scoped to a unit's subtree by the caller.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.cases.models import Case
from workflows.cases.reporting import OPEN_STATUSES
from workflows.checks import invalid
from workflows.clock import now
from workflows.evaluation.dashboard import viewer_scope
from workflows.org.geo import EARTH_RADIUS_M, haversine_m, point_in_polygon, polygon_centroid
from workflows.org.models import OrgUnit
from workflows.org.tree import subtree_ids
from workflows.reads.sessions import read_sessions
from workflows.reference.models import Category

NEARBY_RADIUS_M = 300
NEARBY_DAYS = 30
NEARBY_LIMIT = 20
ROUGH_DECIMALS = 3  # 0.001 degree: about 100 m


def grid_features(system) -> dict[str, Any]:
    """Every grid with a polygon as a GeoJSON FeatureCollection: code, name and community name."""
    with read_sessions(system)() as session:
        communities = dict(session.execute(select(OrgUnit.id, OrgUnit.name)
                                           .where(OrgUnit.level == "community")).all())
        rows = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.parent_id, OrgUnit.polygon, OrgUnit.lat,
                                      OrgUnit.lon)
                               .where(OrgUnit.level == "grid", OrgUnit.polygon.is_not(None))
                               .order_by(OrgUnit.code)).all()
    features = [{"type": "Feature", "id": code,
                 "properties": {"code": code, "name": name, "community": communities.get(parent, ""),
                                "label": _label_point(polygon, lat, lon)},
                 "geometry": {"type": "Polygon", "coordinates": polygon}}
                for code, name, parent, polygon, lat, lon in rows if polygon]
    return {"type": "FeatureCollection", "features": features}


def _label_point(polygon, lat, lon) -> list[float]:
    """``[lat, lon]`` where a grid's count is written: its own point when it lies inside, else the
    centroid of its outer ring."""
    if lat is not None and lon is not None and point_in_polygon(polygon, lat, lon):
        return [lat, lon]
    return list(polygon_centroid(polygon))


def point_of(lat: Any, lon: Any) -> tuple[float, float]:
    """``(lat, lon)`` as floats from text or numbers; InvalidInput naming the value otherwise."""
    try:
        point = float(lat), float(lon)
    except (TypeError, ValueError):
        point = None
    if point is None or not all(math.isfinite(v) for v in point) \
            or not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        raise invalid(f"lat/lon ({lat!r}, {lon!r}) is not a point; give both in degrees "
                      "(lat -90..90, lon -180..180)", field="lat")
    return point


def nearby_open(system, lat: Any, lon: Any, radius_m: float = NEARBY_RADIUS_M) -> list[dict[str, Any]]:
    """Open reports of the last 30 days within ``radius_m`` of the point, nearest first (public-safe)."""
    lat, lon = point_of(lat, lon)
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    at = now()
    with read_sessions(system)() as session:
        rows = session.execute(
            select(Case.lat, Case.lon, Case.status, Case.created_at, Category.code, Category.name,
                   Category.name_en, OrgUnit.name)
            .join(Category, Category.id == Case.category_id)
            .outerjoin(OrgUnit, OrgUnit.id == Case.grid_id)
            .where(Case.status.in_(OPEN_STATUSES), Case.created_at >= at - timedelta(days=NEARBY_DAYS),
                   Case.lat.between(lat - dlat, lat + dlat), Case.lon.between(lon - dlon, lon + dlon))
            .order_by(Case.created_at.desc()).limit(500)).all()
    found = []
    for case_lat, case_lon, status, created_at, code, name, name_en, grid_name in rows:
        distance = haversine_m(lat, lon, case_lat, case_lon)
        if distance > radius_m:
            continue
        found.append({"category": code, "category_name": name, "category_name_en": name_en, "status": status,
                      "age_days": max(0, (at - created_at).days), "grid_name": grid_name or "",
                      "lat": round(case_lat, ROUGH_DECIMALS), "lon": round(case_lon, ROUGH_DECIMALS),
                      "_distance": distance})
    found.sort(key=lambda item: item["_distance"])
    for item in found:
        del item["_distance"]
    return found[:NEARBY_LIMIT]


def grid_counts(system, *, viewer_unit: str | None, unit: str | None = None) -> dict[str, Any]:
    """Open and overdue cases per grid in the viewer's area (narrowed to ``unit`` within it).

    Cases count in the grid where they are (their ``grid_id``), whichever level handles them now.
    Returns ``scope`` (the unit code or None for everything), ``max_open`` and ``grids``: a list of
    ``{code, name, open, overdue}`` for every grid in scope (zeros included)."""
    with read_sessions(system)() as session:
        scope = viewer_scope(session, viewer_unit, unit)
        grid_ids = _grids_in(session, scope)
        at = now()
        rows = session.execute(
            select(Case.grid_id, func.count(), func.count(Case.due_at).filter(Case.due_at <= at))
            .where(Case.status.in_(OPEN_STATUSES), Case.grid_id.in_(grid_ids))
            .group_by(Case.grid_id)).all()
        counts = {grid_id: (opened, late) for grid_id, opened, late in rows}
        grids = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name)
                                .where(OrgUnit.id.in_(grid_ids), OrgUnit.level == "grid")
                                .order_by(OrgUnit.code)).all()
    items = [{"code": code, "name": name, "open": counts.get(gid, (0, 0))[0], "overdue": counts.get(gid, (0, 0))[1]}
             for gid, code, name in grids]
    return {"scope": scope, "max_open": max((item["open"] for item in items), default=0), "grids": items}


def _grids_in(session: Session, scope: str | None):
    if scope is None:
        return select(OrgUnit.id).where(OrgUnit.level == "grid")
    unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == scope))
    if unit_id is None:
        raise invalid(f"there is no org unit {scope!r}; choose one from the list", field="unit")
    return select(OrgUnit.id).where(OrgUnit.id.in_(subtree_ids(unit_id)), OrgUnit.level == "grid")
