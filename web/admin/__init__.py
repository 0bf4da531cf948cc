"""Administration under /admin (admins only): process versions and the modeller, case migration,
org tree, departments, users, categories, SLA policies, fund budgets and the audit trail."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for

from ..auth import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@roles_required("admin")
def admins_only():
    """Every page and endpoint of this blueprint: signed-in admins only (others get 401/403)."""
    return None


@bp.get("/")
def index():
    return redirect(url_for("admin.processes"))


from . import deliveries, modeller, processes, settings  # noqa: E402,F401  (registers the views on bp)
