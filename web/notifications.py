"""In-app notifications (/notifications): newest first, unread highlighted, mark read."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflows.people import notifications

from .auth import login_required
from .i18n import current_language, label
from .security import redirect_target
from .system import current_system

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    items = notifications.list_notifications(current_system(), current_user.id, unread_only=unread_only,
                                             limit=100)
    return render_template("notifications/index.html", items=items, unread_only=unread_only)


@bp.app_template_filter("notification_text")
def notification_text(item: dict) -> str:
    """The stored message (written in Chinese); in English, the kind and the case it is about."""
    if current_language() == "zh":
        return item["message"]
    link = item.get("link") or ""
    number = link.rsplit("/", 1)[-1] if link.startswith("/cases/") else ""
    kind = label("notification", item["kind"])
    return _("%(kind)s: case %(number)s", kind=kind, number=number) if number else kind


@bp.post("/read")
@login_required
def read_all():
    notifications.mark_read(current_system(), current_user.id)
    return redirect(url_for("notifications.index"))


@bp.post("/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    """Mark one notification read and follow its link (only links inside this site)."""
    target = redirect_target(request.form.get("link"), "link") or url_for("notifications.index")
    notifications.mark_read(current_system(), current_user.id, [notification_id])
    return redirect(target)
