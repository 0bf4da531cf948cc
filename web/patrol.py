"""Grid workers on patrol (/patrol): report what they find, or self-close a small matter on the
spot with a photo, in one form; and the open cases of their grid."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflows.cases import reporting
from workflows.errors import InvalidInput
from workflows.org import gridmap
from workflows.reads import pages

from .auth import roles_required
from .i18n import error_text
from .system import current_system

bp = Blueprint("patrol", __name__, url_prefix="/patrol")


def _page(values: dict, errors: dict, status: int = 200):
    system = current_system()
    grid_cases = pages.case_list(system, current_user.actor, {"status": "open", "grid_only": True}, per_page=50)
    return render_template("patrol/index.html", values=values, errors=errors,
                           categories=pages.categories(system), grid_cases=grid_cases), status


@bp.get("")
@roles_required("grid_worker")
def index():
    return _page({}, {})


@bp.post("")
@roles_required("grid_worker")
def submit():
    form = request.form
    values = {key: (form.get(key) or "").strip()
              for key in ("category", "title", "description", "address", "result", "lat", "lon")}
    values["self_close"] = form.get("self_close") == "1"
    photos = [(f.filename, f.read()) for f in request.files.getlist("photos") if f and f.filename][:10]
    errors = {}
    if not values["category"]:
        errors["category"] = _("Choose what kind of problem it is.")
    if not values["title"]:
        errors["title"] = _("Give a short title.")
    if values["self_close"]:
        if not values["result"]:
            errors["result"] = _("Say what you did on the spot.")
        if not photos:
            errors["photos"] = _("A self-closed matter needs a photo of the result.")
    point = _point(values)
    if point is None and (values["lat"] or values["lon"]):
        errors["lat"] = _("The position %(lat)s, %(lon)s is not a point; tap the map again or clear it.",
                          lat=values["lat"][:20], lon=values["lon"][:20])
        values["lat"] = values["lon"] = ""
    if errors:
        return _page(values, errors, 422)
    try:
        result = reporting.report_case(
            current_system(), title=values["title"], description=values["description"],
            category=values["category"], source="patrol", grid=current_user.org_unit,
            address=values["address"] or None, actor=current_user.id, photos=photos, **(point or {}),
            self_closed={"result": values["result"]} if values["self_close"] else None)
    except InvalidInput as error:
        field = {"self_closed.result": "result"}.get(error.field or "", error.field or "")
        errors[field] = error_text(error)
        return _page(values, errors, 422)
    if values["self_close"]:
        flash(_("Case %(number)s is self-closed and waits for verification by the community.",
                number=result["number"]), "success")
    else:
        flash(_("Case %(number)s is reported; handle it from your inbox or escalate it.", number=result["number"]),
              "success")
    return redirect(url_for("cases.detail", number=result["number"]))


def _point(values: dict) -> dict | None:
    """lat/lon as the map or the phone gave them: both numbers in degrees, else None."""
    try:
        point = gridmap.point_of(values["lat"], values["lon"])
    except InvalidInput:
        return None
    return {"lat": point[0], "lon": point[1]}
