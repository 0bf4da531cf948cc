"""The residents' side, no sign-in: report a problem (/report) and follow it by its number
(/track), rating the outcome once it is closed. Rate limited per address against floods."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflows.cases import reporting
from workflows.errors import DomainError, InvalidInput, NotFound
from workflows.reads import pages

from .extensions import limiter, limits_off
from .i18n import error_text
from .system import current_system

bp = Blueprint("public", __name__)
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
NUMBER = re.compile(r"^[A-Za-z]{2}\d{8}-\d{4,6}$")
MAX_DESCRIPTION = 2000


@bp.get("/report")
@limiter.limit("60 per minute", exempt_when=limits_off)
def report():
    return _report_page({}, {})


def _report_page(values: dict, errors: dict, status: int = 200):
    system = current_system()
    return render_template("public/report.html", values=values, errors=errors,
                           categories=pages.categories(system), grids=pages.grids(system)), status


@bp.post("/report")
@limiter.limit("5 per minute; 40 per hour", exempt_when=limits_off)
def submit_report():
    form = request.form
    values = {key: (form.get(key) or "").strip() for key in
              ("category", "description", "grid", "address", "name", "phone", "website", "lat", "lon")}
    point = _point(values)
    errors = _check_report(values)
    photo = request.files.get("photo")
    photos = [(photo.filename, photo.read())] if photo and photo.filename else []
    if values["website"]:  # the honeypot field people never see
        errors[""] = _("The report could not be accepted.")
    if errors:
        return _report_page(values, errors, 422)
    try:
        result = reporting.report_case(
            current_system(), title=_title(values["description"]), description=values["description"],
            category=values["category"], source="snapshot", grid=values["grid"] or None,
            address=values["address"] or None, **({} if values["grid"] or point is None else point),
            reporter={k: v for k, v in (("name", values["name"]), ("phone", values["phone"])) if v} or None,
            photos=photos)
    except InvalidInput as error:
        errors[_field_of(error)] = error_text(error)
        return _report_page(values, errors, 422)
    return redirect(url_for("public.track", number=result["number"], new=1))


def _point(values: dict) -> dict | None:
    """lat/lon from the phone's position, when both are numbers."""
    try:
        lat, lon = float(values["lat"]), float(values["lon"])
    except ValueError:
        return None
    return {"lat": lat, "lon": lon} if lat == lat and lon == lon else None


def _check_report(values: dict) -> dict:
    errors = {}
    if not values["category"]:
        errors["category"] = _("Choose what kind of problem it is.")
    if len(values["description"]) < 4:
        errors["description"] = _("Describe the problem in a few words (at least 4 characters).")
    elif len(values["description"]) > MAX_DESCRIPTION:
        errors["description"] = _("The description is too long; keep it under %(n)d characters.", n=MAX_DESCRIPTION)
    if not values["grid"] and not values["address"] and not (values["lat"] and values["lon"]):
        errors["grid"] = _("Say where it is: choose your grid or write the address.")
    if len(values["address"]) > 300:
        errors["address"] = _("The address is too long; keep it under 300 characters.")
    if values["phone"] and not PHONE.match(values["phone"]):
        errors["phone"] = _("%(phone)s is not a phone number; write digits only, e.g. 13812345678.",
                            phone=values["phone"])
    if len(values["name"]) > 100:
        errors["name"] = _("The name is too long.")
    return errors


def _field_of(error: DomainError) -> str:
    field = error.field or ""
    return {"lat": "grid", "photos": "photo", "title": "description"}.get(field, field)


def _title(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    return first[:40] + ("…" if len(first) > 40 else "")


@bp.get("/track")
@limiter.limit("30 per minute", exempt_when=limits_off)
def track():
    number = (request.args.get("number") or "").strip().upper()
    if not number:
        return render_template("public/track.html", number="", case=None, error=None)
    if not NUMBER.match(number):
        error = _("%(number)s is not a case number; it looks like GL20261121-0001.", number=number[:40])
        return render_template("public/track.html", number=number[:40], case=None, error=error), 422
    try:
        view = reporting.public_case_view(current_system(), number)
    except NotFound:
        error = _("There is no case %(number)s. Check the number on your receipt.", number=number)
        return render_template("public/track.html", number=number, case=None, error=error), 404
    return render_template("public/track.html", number=number, case=view, error=None,
                           new=request.args.get("new") == "1", categories=_category_names())


def _category_names() -> dict:
    return {c["code"]: c for c in pages.categories(current_system())}


@bp.post("/track/<number>/rate")
@limiter.limit("10 per minute", exempt_when=limits_off)
def rate(number: str):
    system = current_system()
    view = reporting.public_case_view(system, number)
    text = request.form.get("rating") or ""
    comment = (request.form.get("comment") or "").strip()[:1000] or None
    error = None
    if not text.isdigit() or not 1 <= int(text) <= 5:
        error = _("Choose from 1 to 5 stars.")
    elif view["rating"] is not None:
        error = _("This case has already been rated. Thank you!")
    else:
        try:
            reporting.rate_case(system, view["number"], int(text), comment)
        except DomainError as exc:
            error = _("The case can be rated once it is closed.") if view["status"] != "closed" else error_text(exc)
    if error:
        return render_template("public/track.html", number=number, case=view, error=None, rate_error=error,
                               comment=comment, categories=_category_names()), 422
    flash(_("Thank you for rating the handling of your report."), "success")
    return redirect(url_for("public.track", number=view["number"]))
