"""Case pages: the list of cases in my area (/cases), one case with its live diagram
(/cases/<number>), its photos (served only to those who may read the case), and spending from
the small-matters fund on it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflows.cases import reporting as cases_uc
from workflows.coordination import fund
from workflows.errors import DomainError, InvalidInput
from workflows.reads import pages

from .auth import login_required, roles_required
from .coordination import case_context
from .i18n import error_text
from .public import PHONE
from .system import current_system

bp = Blueprint("cases", __name__, url_prefix="/cases")
STATUS_FILTERS = ("open", "reported", "resolved", "closed", "rejected", "merged")


@bp.get("")
@login_required
def index():
    status = request.args.get("status", "open")
    status = status if status in STATUS_FILTERS or status == "all" else "open"
    query = (request.args.get("q") or "").strip()[:100]
    page = _page_number()
    place = (request.args.get("org_unit") or "").strip()[:100]
    data = pages.case_list(current_system(), current_user.actor,
                           {"status": None if status == "all" else status, "q": query, "org_unit": place}, page=page)
    return render_template("cases/index.html", data=data, status=status, q=query, statuses=STATUS_FILTERS)


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        return 1


INTAKE_SOURCES = ("hotline", "walk_in", "platform", "forum", "inspection", "sensor", "snapshot")
INTAKE_FIELDS = ("category", "title", "description", "source", "grid", "address", "name", "phone")


@bp.route("/new", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def new():
    """A coordinator records a case taken by phone (12345), at the counter or from another channel."""
    system = current_system()
    values = {key: (request.form.get(key) or "").strip() for key in INTAKE_FIELDS}
    errors: dict = {}
    if request.method == "POST":
        errors = _check_intake(values)
        photo = request.files.get("photo")
        photos = [(photo.filename, photo.read())] if photo and photo.filename else []
        if not errors:
            try:
                result = cases_uc.report_case(
                    system, title=values["title"], description=values["description"], category=values["category"],
                    source=values["source"], grid=values["grid"] or None, address=values["address"] or None,
                    reporter={k: v for k, v in (("name", values["name"]), ("phone", values["phone"])) if v} or None,
                    actor=current_user.actor, photos=photos)
            except InvalidInput as error:
                errors[{"lat": "grid", "photos": "photo"}.get(error.field or "", error.field or "")] = error_text(error)
            else:
                flash(_("Case %(number)s is recorded and waits for registration.", number=result["number"]),
                      "success")
                return redirect(url_for("cases.detail", number=result["number"]))
    else:
        values["source"] = "hotline"
    return render_template("cases/new.html", values=values, errors=errors, sources=INTAKE_SOURCES,
                           categories=pages.categories(system), grids=pages.grids(system)), \
        (422 if errors else 200)


def _check_intake(values: dict) -> dict:
    errors = {}
    if not values["category"]:
        errors["category"] = _("Choose what kind of problem it is.")
    if not values["title"]:
        errors["title"] = _("Give a short title.")
    if values["source"] not in INTAKE_SOURCES:
        errors["source"] = _("Choose where the report came from.")
    if not values["grid"] and not values["address"]:
        errors["grid"] = _("Say where it is: choose your grid or write the address.")
    if values["phone"] and not PHONE.match(values["phone"]):
        errors["phone"] = _("%(phone)s is not a phone number; write digits only, e.g. 13812345678.",
                            phone=values["phone"])
    for key, limit in (("title", 200), ("address", 300), ("name", 100), ("description", 4000)):
        if len(values[key]) > limit:
            errors[key] = _("Too long: keep it under %(n)d characters.", n=limit)
    return errors


@bp.get("/<number>")
@login_required
def detail(number: str):
    view = pages.case_page(current_system(), current_user.actor, number)
    return render_template("cases/detail.html", case=view, fund_error=None, fund_values={}, **case_context(number))


@bp.get("/<number>/attachments/<int:attachment_id>")
@login_required
def attachment(number: str, attachment_id: int):
    found = pages.attachment_file(current_system(), current_user.actor, number, attachment_id)
    if not found["path"].exists():
        abort(404, description=_("The photo file is missing on the server."))
    response = send_file(found["path"], mimetype=found["content_type"], download_name=found["filename"],
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<number>/fund")
@roles_required("coordinator", "admin")
def spend(number: str):
    system = current_system()
    amount_text = (request.form.get("amount") or "").strip()
    purpose = (request.form.get("purpose") or "").strip()
    payee = (request.form.get("payee") or "").strip()
    photo = request.files.get("receipt")
    receipt = (photo.filename, photo.read()) if photo and photo.filename else None
    error = None
    cents = _cents(amount_text)
    if cents is None:
        error = _("Amount %(value)s is not a sum of money; write yuan like 1200 or 86.50.", value=amount_text or "—")
    else:
        try:
            result = fund.spend_fund(system, current_user.actor, number, cents, purpose, payee, receipt)
        except DomainError as exc:
            if exc.code == "forbidden":
                raise
            error = error_text(exc)
        else:
            flash(_("Paid ¥%(amount)s from the small-matters fund; balance ¥%(balance)s.",
                    amount=f"{cents / 100:.2f}", balance=f"{result['balance_cents'] / 100:.2f}")
                  if result["status"] == "approved" else
                  _("¥%(amount)s proposed: above the threshold, it waits for the station chief.",
                    amount=f"{cents / 100:.2f}"), "success")
            return redirect(url_for("cases.detail", number=number) + "#fund")
    view = pages.case_page(system, current_user.actor, number)
    return render_template("cases/detail.html", case=view, fund_error=error,
                           fund_values={"amount": amount_text, "purpose": purpose, "payee": payee},
                           **case_context(number)), 422


def _cents(text: str) -> int | None:
    try:
        amount = Decimal(text.replace(",", "").replace("¥", ""))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount <= 0 or amount > Decimal("100000000"):
        return None
    cents = amount * 100
    return int(cents) if cents == cents.to_integral_value() else None
