"""The rest of administration: org tree, departments, users, categories, SLA policies, fund budgets,
and the audit trail. Forms post back here; a refused change is shown with its reason."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflows.admin import settings as adm
from workflows.coordination import fund as fund_controls
from workflows.errors import DomainError
from workflows.org.models import LEVELS
from workflows.people.models import ROLES
from workflows.reference.models import CATEGORY_KINDS, SLA_STAGES

from .. import durations
from ..i18n import error_text
from . import bp
from .common import actor, system


def _apply(endpoint: str, change: Callable[[], object], done: str):
    """Run one use case; flash its result or the reason it was refused; back to ``endpoint``."""
    try:
        result = change()
    except DomainError as error:
        flash(error_text(error), "error")
        return redirect(url_for(endpoint))
    flash(done.format(**result) if isinstance(result, dict) else done, "success")
    return redirect(url_for(endpoint))


def _form(name: str) -> str | None:
    value = request.form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


@bp.get("/org")
def org():
    return render_template("admin/org.html", tree=adm.org_tree(system()), levels=LEVELS)


@bp.post("/org")
def save_unit():
    return _apply("admin.org", lambda: adm.save_unit(system(), actor(), _form("code"), _form("name"),
                                                     _form("level"), _form("parent")),
                  _("Org unit {code} saved."))


@bp.get("/departments")
def departments():
    return render_template("admin/departments.html", departments=adm.list_departments(system()))


@bp.post("/departments")
def save_department():
    return _apply("admin.departments", lambda: adm.save_department(system(), actor(), _form("code"), _form("name")),
                  _("Department {code} saved."))


@bp.get("/users")
def users():
    return render_template("admin/users.html", roles=ROLES,
                           users=adm.list_users(system(), request.args.get("role") or None,
                                                request.args.get("q") or None),
                           departments=adm.list_departments(system()), created=None)


@bp.post("/users")
def create_user():
    try:
        result = adm.create_user(system(), actor(), _form("username"), _form("role"), _form("org"),
                                 _form("department"), _form("display_name"), request.form.get("password") or None)
    except DomainError as error:
        flash(error_text(error), "error")
        return redirect(url_for("admin.users"))
    flash(_("User %(name)s created.", name=result["username"]), "success")
    return render_template("admin/users.html", roles=ROLES, users=adm.list_users(system()),
                           departments=adm.list_departments(system()), created=result)


@bp.post("/users/<username>/active")
def set_active(username: str):
    active = request.form.get("active") == "1"
    return _apply("admin.users", lambda: adm.set_active(system(), actor(), username, active),
                  _("User {username} is now active.") if active else _("User {username} is now deactivated."))


@bp.post("/users/<username>/password")
def reset_password(username: str):
    try:
        result = adm.reset_password(system(), actor(), username, request.form.get("password") or None)
    except DomainError as error:
        flash(error_text(error), "error")
        return redirect(url_for("admin.users"))
    return render_template("admin/users.html", roles=ROLES, users=adm.list_users(system()),
                           departments=adm.list_departments(system()), created=result)


@bp.post("/users/<username>/role")
def set_role(username: str):
    return _apply("admin.users", lambda: adm.set_role(system(), actor(), username, _form("role"), _form("org"),
                                                      _form("department")),
                  _("User {username} now has the role {role}."))


def _flag(name: str) -> bool | None:
    """A yes/no select: "1" or "0"; absent keeps the stored value."""
    value = request.form.get(name)
    return None if value is None else value == "1"


@bp.get("/categories")
def categories():
    return render_template("admin/categories.html", categories=adm.list_categories(system()),
                           departments=adm.list_departments(system()), kinds=CATEGORY_KINDS)


@bp.post("/categories")
def save_category():
    return _apply("admin.categories",
                  lambda: adm.save_category(system(), actor(), _form("code"), _form("name"), _form("parent"),
                                            _form("department"), _form("time_limit"),
                                            request.form.get("active", "1") == "1", _form("name_en"),
                                            _flag("public")),
                  _("Category {code} saved."))


@bp.get("/sla")
def sla():
    return render_template("admin/sla.html", policies=adm.list_sla(system()), stages=SLA_STAGES,
                           categories=[c for c in adm.list_categories(system()) if c["parent"]],
                           units=durations.UNIT_LABELS, stage_name=durations.stage_name,
                           human_duration=durations.human_duration)


def _sla_limit() -> str | None:
    """The limit from the picker (a number and a unit), or typed as ISO-8601 in ``limit`` (scripts)."""
    if request.form.get("amount") is not None:
        return durations.iso_duration(request.form.get("amount"), request.form.get("unit"))
    return _form("limit")


def _set_sla() -> dict:
    result = adm.set_sla(system(), actor(), _form("stage"), _sla_limit(), _form("category"),
                         request.form.get("reminder_share"))
    return {**result, "stage": durations.stage_name(result["stage"]),
            "limit": durations.human_duration(result["limit"])}


@bp.post("/sla")
def set_sla():
    return _apply("admin.sla", _set_sla, _("Time limit of {stage} set to {limit}; new cases use it."))


@bp.get("/fund")
def fund():
    year = request.args.get("year", type=int)
    return render_template("admin/fund.html", budgets=adm.list_budgets(system(), year),
                           controls=fund_controls.list_controls(system()),
                           default_threshold=fund_controls.DEFAULT_THRESHOLD_CENTS)


@bp.post("/fund/controls")
def set_fund_control():
    """The approval threshold (and station chief) of a workstation, or the global threshold."""
    return _apply("admin.fund", lambda: fund_controls.set_control(system(), actor(), _form("workstation"),
                                                                  _form("threshold"), _form("chief")),
                  _("Approval threshold saved."))


@bp.post("/fund")
def set_budget():
    return _apply("admin.fund", lambda: adm.set_budget(system(), actor(), _form("workstation"), _form("year"),
                                                       _form("amount")),
                  _("Fund of {workstation} for {year} saved."))


@bp.get("/audit")
def audit():
    return render_template("admin/audit.html", entries=adm.audit_log(system()))
