"""Outgoing notifications for admins: the outbox's pending and dead-lettered deliveries (with the
error, and a retry), and the webhooks other systems registered."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflows.errors import DomainError
from workflows.messaging import manage
from workflows.messaging.texts import EVENT_KINDS

from ..i18n import error_text
from . import bp
from .common import actor, system


@bp.get("/deliveries")
def deliveries():
    status = request.args.get("status") if request.args.get("status") in manage.LISTED_STATUSES else "dead"
    listing = manage.deliveries(system(), actor(), status)
    return render_template("admin/deliveries.html", status=status, items=listing["items"], counts=listing["counts"])


@bp.post("/deliveries/retry")
def retry_deliveries():
    ids = request.form.getlist("id")
    try:
        chosen = [int(i) for i in ids] if ids else None
        count = manage.retry(system(), actor(), chosen)
    except ValueError:
        flash(_("Choose deliveries from the list."), "error")
    except DomainError as error:
        flash(error_text(error), "error")
    else:
        flash(_("%(count)d delivery(ies) queued again.", count=count), "success")
    return redirect(url_for("admin.deliveries"))


@bp.get("/webhooks")
def webhooks():
    return render_template("admin/webhooks.html", hooks=manage.webhooks(system(), actor()), kinds=EVENT_KINDS)


@bp.post("/webhooks")
def add_webhook():
    try:
        hook = manage.add_webhook(system(), actor(), request.form.get("url"), request.form.getlist("kinds"))
    except DomainError as error:
        flash(error_text(error), "error")
    else:
        flash(_("Webhook %(url)s added; sign-check its events with the secret shown below.", url=hook["url"]),
              "success")
    return redirect(url_for("admin.webhooks"))


@bp.post("/webhooks/<int:webhook_id>/remove")
def remove_webhook(webhook_id: int):
    try:
        manage.remove_webhook(system(), actor(), webhook_id)
    except DomainError as error:
        flash(error_text(error), "error")
    else:
        flash(_("Webhook switched off."), "success")
    return redirect(url_for("admin.webhooks"))
