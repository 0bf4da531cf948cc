"""The residents' side, no sign-in: report a problem (/report) and follow it by its number and
query code (/track), rating the outcome once it is closed. Rate limited per address against floods.

The query code is shown once, on the receipt after the report. A browser that showed it, or into
which the code was typed, keeps number and code in its session, so the case page can be reloaded
and rated without typing the code again."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _

from workflows.cases import reporting
from workflows.errors import DomainError, InvalidInput, NotFound
from workflows.reads import evidence, pages

from .extensions import limiter, limits_off
from .i18n import error_text
from .system import current_system

bp = Blueprint("public", __name__)
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
NUMBER = re.compile(r"^[A-Za-z]{2}\d{8}-\d{4,6}$")
MAX_DESCRIPTION = 2000
KEPT_CODES = 5
"""Cases whose code one browser session remembers."""


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
              ("category", "description", "grid", "address", "name", "phone", "email", "website", "lat", "lon")}
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
            address=values["address"] or None, **(point or {}),
            reporter={k: v for k, v in (("name", values["name"]), ("phone", values["phone"]),
                                        ("email", values["email"])) if v} or None,
            photos=photos)
    except InvalidInput as error:
        errors[_field_of(error)] = error_text(error)
        if error.field == "lat":  # a refused point is not sent again: the grid or address typed next must count
            values["lat"] = values["lon"] = ""
        return _report_page(values, errors, 422)
    _keep_code(result["number"], result["query_code"])
    session["new_case"] = {"number": result["number"], "query_code": result["query_code"]}
    return redirect(url_for("public.track", number=result["number"], new=1))


def _keep_code(number: str, code: str) -> None:
    codes = dict(session.get("track_codes") or {})
    codes.pop(number, None)
    codes[number] = code
    session["track_codes"] = dict(list(codes.items())[-KEPT_CODES:])


def _kept_code(number: str) -> str | None:
    return (session.get("track_codes") or {}).get(number)


def _forget_code(number: str) -> None:
    codes = dict(session.get("track_codes") or {})
    if codes.pop(number, None) is not None:
        session["track_codes"] = codes


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
    return {"lat": "grid", "photos": "photo", "title": "description", "reporter_email": "email"}.get(field, field)


def _title(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    return first[:40] + ("…" if len(first) > 40 else "")


@bp.get("/track")
@limiter.limit("30 per minute", exempt_when=limits_off)
def track():
    number = (request.args.get("number") or "").strip().upper()
    if not number:
        return _track_page()
    if not NUMBER.match(number):
        return _track_page(number[:40], error=_bad_number(number)), 422
    code = _kept_code(number)
    if code is None:
        return _track_page(number)  # the form asks for the code
    try:
        view = reporting.public_case_view(current_system(), number, code)
    except NotFound:
        _forget_code(number)
        return _track_page(number)
    receipt = session.get("new_case") if request.args.get("new") == "1" else None
    if receipt and receipt.get("number") == number:
        session.pop("new_case")  # the code is shown once
    else:
        receipt = None
    return _track_page(number, view, receipt=receipt, evidence=evidence.track_evidence(current_system(), number, code))


@bp.get("/track/<number>/photos/<int:attachment_id>")
@limiter.limit("120 per minute", exempt_when=limits_off)
def track_photo(number: str, attachment_id: int):
    """A result photo of a tracked case, for the browser that looked the case up with its code."""
    number = number.strip().upper()[:40]
    found = evidence.public_photo(current_system(), number, _kept_code(number), attachment_id)
    if not found["path"].exists():
        abort(404, description=_("The photo file is missing on the server."))
    response = send_file(found["path"], mimetype=found["content_type"], max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/track")
@limiter.limit("30 per minute", exempt_when=limits_off)
def track_lookup():
    number = (request.form.get("number") or "").strip().upper()
    code = (request.form.get("code") or "").strip()
    if not NUMBER.match(number):
        return _track_page(number[:40], error=_bad_number(number)), 422
    try:
        reporting.public_case_view(current_system(), number, code)
    except NotFound:
        return _track_page(number, error=_unknown(number)), 404
    _keep_code(number, code)
    return redirect(url_for("public.track", number=number))


def _bad_number(number: str) -> str:
    return _("%(number)s is not a case number; it looks like GL20261121-0001.", number=number[:40])


def _unknown(number: str) -> str:
    return _("There is no case %(number)s with this query code. Check the number and the code on your receipt.",
             number=number)


def _track_page(number: str = "", view: dict | None = None, **extra):
    extra.setdefault("error", None)
    extra.setdefault("evidence", None)
    return render_template("public/track.html", number=number, case=view,
                           categories=_category_names() if view else None, **extra)


def _category_names() -> dict:
    return {c["code"]: c for c in pages.categories(current_system())}


@bp.post("/track/<number>/rate")
@limiter.limit("10 per minute", exempt_when=limits_off)
def rate(number: str):
    system = current_system()
    number = number.strip().upper()[:40]
    code = (request.form.get("code") or "").strip() or _kept_code(number)
    try:
        view = reporting.public_case_view(system, number, code)
    except NotFound:
        return _track_page(number, error=_unknown(number)), 404
    text = request.form.get("rating") or ""
    comment = (request.form.get("comment") or "").strip()[:1000] or None
    error = None
    if not text.isdigit() or not 1 <= int(text) <= 5:
        error = _("Choose from 1 to 5 stars.")
    elif view["rating"] is not None:
        error = _("This case has already been rated. Thank you!")
    else:
        try:
            reporting.rate_case(system, view["number"], int(text), comment, query_code=code)
        except DomainError as exc:
            error = _("The case can be rated once it is closed.") if view["status"] != "closed" else error_text(exc)
    if error:
        return _track_page(number, view, rate_error=error, comment=comment), 422
    _keep_code(number, code)
    flash(_("Thank you for rating the handling of your report."), "success")
    return redirect(url_for("public.track", number=view["number"]))
