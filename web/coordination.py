"""Pages of coordination documents and fund controls: issuing a rectification notice or supervision
order from the case page, the document page (/documents/<id>) with its state changes and PDF,
the station chief's decision on a fund spend, the receipt photo, and the monthly fund statement."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workflows.coordination import documents, fund
from workflows.errors import DomainError
from workflows.evaluation.fund_statement import export_fund_statement
from workflows.reads import pages

from .auth import login_required, roles_required
from .i18n import ERROR_REASONS, LABELS, error_text
from .system import current_system

bp = Blueprint("coordination", __name__)

# This area's labels and error wordings, kept here so the shared tables in i18n.py stay as they are.
LABELS["kind"].update({
    "notice_issued": _l("Rectification notice issued"), "supervised": _l("Supervision order issued"),
    "document_served": _l("Document served"), "document_answered": _l("Document answered"),
    "document_complied": _l("Rectification done"), "fund_proposed": _l("Fund spend proposed"),
    "fund_refused": _l("Fund spend refused")})
LABELS["document_kind"] = {"notice": _l("Rectification notice"), "supervision": _l("Supervision order")}
LABELS["document_state"] = {"issued": _l("Issued"), "served": _l("Served"), "answered": _l("Answered"),
                            "complied": _l("Complied")}
LABELS["addressee_kind"] = {"outside": _l("Outside party"), "org_unit": _l("Org unit"),
                            "department": _l("Department"), "user": _l("User")}
LABELS["spend_status"] = {"proposed": _l("Waiting for the station chief"), "approved": _l("Paid"),
                          "refused": _l("Refused")}
LABELS["notification"].update({"document": _l("Document"), "fund_approval": _l("Fund approval"),
                               "fund_decided": _l("Fund decision")})
ERROR_REASONS.update({
    "deadline_passed": _l("The deadline has passed: give a time in the future."),
    "deadline_too_far": _l("The deadline is more than a year away: give a date within a year."),
    "document_out_of_scope": _l("Case %(number)s is held by a unit outside yours: only its unit or a unit above "
                                "it issues documents."),
    "supervision_not_above": _l("A supervision order comes from the level above the unit it supervises."),
    "document_state_backwards": _l("Document %(number)s is already %(state)s: it can only move on."),
    "fund_not_chief": _l("Only the station chief of %(workstation)s approves spends above the threshold."),
    "fund_own_spend": _l("You proposed this spend: the station chief decides on it."),
    "fund_already_decided": _l("Spend %(id)s was already decided (%(status)s)."),
})


def case_context(number: str) -> dict:
    """The documents and fund spends the case page shows (web/cases.py passes them on)."""
    return {"coordination": documents.case_coordination(current_system(), current_user.id, number),
            "document_error": None, "document_values": {}}


def _case_page(number: str, **errors) -> tuple[str, int]:
    view = pages.case_page(current_system(), current_user.id, number)
    context = case_context(number)
    context.update(errors)
    return render_template("cases/detail.html", case=view, fund_error=None, fund_values={}, **context), 422


# --- documents ----------------------------------------------------------------------------------

DOCUMENT_FIELDS = ("kind", "addressee_kind", "addressee", "contact", "requirement", "deadline")


@bp.post("/cases/<number>/documents")
@roles_required("coordinator", "admin")
def issue(number: str):
    values = {key: (request.form.get(key) or "").strip() for key in DOCUMENT_FIELDS}
    addressee = {"kind": values["addressee_kind"], "contact": values["contact"] or None}
    addressee["name" if values["addressee_kind"] == "outside" else
              "username" if values["addressee_kind"] == "user" else "code"] = values["addressee"]
    deadline = f"{values['deadline']}:00+08:00" if len(values["deadline"]) == 16 else values["deadline"]
    try:
        issued = documents.issue_document(current_system(), current_user.id, number, values["kind"], addressee,
                                          values["requirement"], deadline or None)
    except DomainError as exc:
        if exc.code == "forbidden" and exc.reason != "supervision_not_above":
            raise
        return _case_page(number, document_error=error_text(exc), document_values=values)
    flash(_("%(number)s issued to %(addressee)s.", number=issued["number"], addressee=issued["addressee"]["name"]),
          "success")
    return redirect(url_for("coordination.document", document_id=issued["id"]))


@bp.get("/documents/<int:document_id>")
@login_required
def document(document_id: int):
    view = documents.document_view(current_system(), current_user.id, document_id)
    return render_template("documents/detail.html", d=view, error=None)


@bp.post("/documents/<int:document_id>/state")
@login_required
def record(document_id: int):
    state = request.form.get("state", "")
    try:
        documents.record_state(current_system(), current_user.id, document_id, state,
                               (request.form.get("note") or "").strip() or None)
    except DomainError as exc:
        if exc.code == "forbidden":
            raise
        view = documents.document_view(current_system(), current_user.id, document_id)
        return render_template("documents/detail.html", d=view, error=error_text(exc)), 422
    return redirect(url_for("coordination.document", document_id=document_id))


@bp.get("/documents/<int:document_id>.pdf")
@login_required
def pdf(document_id: int):
    content, filename = documents.document_pdf(current_system(), current_user.id, document_id)
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the fund -----------------------------------------------------------------------------------

@bp.post("/fund-spends/<int:spend_id>/decision")
@roles_required("coordinator")
def decide(spend_id: int):
    number = request.form.get("case", "")
    try:
        result = fund.decide_spend(current_system(), current_user.id, spend_id, request.form.get("decision", ""),
                                   (request.form.get("note") or "").strip() or None)
    except DomainError as exc:
        if exc.code == "forbidden" or not number:
            raise
        return _case_page(number, spend_error=error_text(exc))
    flash(_("Spend %(id)s: %(status)s.", id=spend_id, status=str(LABELS["spend_status"][result["status"]])),
          "success")
    return redirect(url_for("cases.detail", number=result["case_number"]) + "#fund")


@bp.get("/fund-spends/<int:spend_id>/receipt")
@login_required
def receipt(spend_id: int):
    found = fund.receipt_file(current_system(), current_user.id, spend_id)
    if not found["path"].exists():
        abort(404, description=_("The receipt file is missing on the server."))
    response = send_file(found["path"], mimetype=found["content_type"], max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/exports/fund-statement.<fmt>")
@roles_required("leader", "coordinator", "admin")
def fund_statement(fmt: str):
    viewer = None if current_user.role == "admin" else current_user.org_unit
    content, filename = export_fund_statement(current_system(), fmt, request.args.get("month"), viewer,
                                              request.args.get("unit") or None)
    response = Response(content, mimetype="text/csv" if fmt == "csv" else
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if fmt == "csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
