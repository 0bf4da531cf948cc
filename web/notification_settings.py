"""A user's notification settings (/notifications/settings): e-mail address and phone, and which
kinds of notification reach them on each channel. In-app notifications are always kept."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflows.errors import InvalidInput
from workflows.messaging import manage

from .auth import login_required
from .i18n import error_text
from .system import current_system

bp = Blueprint("notification_settings", __name__, url_prefix="/notifications/settings")


@bp.get("")
@login_required
def edit():
    return _page(manage.preferences(current_system(), current_user.id), {})


def _page(values: dict, errors: dict, status: int = 200):
    return render_template("notifications/settings.html", values=values, errors=errors,
                           kinds=values.get("kinds") or manage.USER_KINDS), status


@bp.post("")
@login_required
def save():
    form = request.form
    values = {"email": (form.get("email") or "").strip(), "phone": (form.get("phone") or "").strip(),
              "email_kinds": form.getlist("email_kinds"), "sms_kinds": form.getlist("sms_kinds")}
    try:
        manage.save_preferences(current_system(), current_user.id, **values)
    except InvalidInput as error:
        return _page(dict(values, kinds=manage.USER_KINDS), {error.field or "": error_text(error)}, 422)
    flash(_("Notification settings saved."), "success")
    return redirect(url_for("notification_settings.edit"))
