"""The maps' JSON: grid outlines (/map/grids.json, public), open reports near a point
(/map/nearby.json, public-safe fields only) and open/overdue cases per grid (/map/counts.json, for
the command centre's viewers, scoped to their area). The maps themselves are drawn by
web/static/js/maps.js with the vendored Leaflet; no tile server is needed (GRIDLINK_MAP_TILES adds
one)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from workflows.errors import DomainError
from workflows.org import gridmap

from .auth import roles_required
from .dashboard import VIEWERS
from .errors import status_of
from .extensions import limiter, limits_off
from .i18n import error_text
from .system import current_system

bp = Blueprint("maps", __name__, url_prefix="/map")


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    status = status_of(error)
    return jsonify(error={"status": status, "code": error.code, "message": error_text(error),
                          "details": error.details}), status


@bp.get("/grids.json")
@limiter.limit("60 per minute", exempt_when=limits_off)
def grids():
    response = jsonify(gridmap.grid_features(current_system()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/nearby.json")
@limiter.limit("60 per minute", exempt_when=limits_off)
def nearby():
    found = gridmap.nearby_open(current_system(), request.args.get("lat"), request.args.get("lon"))
    response = jsonify(reports=found, radius_m=gridmap.NEARBY_RADIUS_M, days=gridmap.NEARBY_DAYS)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/counts.json")
@roles_required(*VIEWERS)
def counts():
    viewer_unit = None if current_user.role == "admin" else current_user.org_unit
    found = gridmap.grid_counts(current_system(), viewer_unit=viewer_unit,
                                unit=request.args.get("unit") or None)
    response = jsonify(found)
    response.headers["Cache-Control"] = "private, no-store"
    return response
