"""Writing the outbox in the caller's transaction: one row per channel per recipient.

Nothing is sent here: the worker (``worker.deliver_due``) sends later, so a slow mail server or
SMS gateway never holds a use case's transaction, and a rolled-back use case sends nothing.
A channel that is not configured (no SMTP, no SMS gateway) is not queued.
"""

from __future__ import annotations

import re

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from workflows.clock import now

from . import settings as delivery_settings
from .models import ContactSettings, Delivery, ReporterContact, Webhook
from .texts import USER_KINDS

DEFAULT_KINDS = {"email": USER_KINDS, "sms": ("reminder", "overdue")}
"""What a user gets when they have given an address but chosen nothing: every kind by e-mail,
reminders and overdues by SMS."""

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")


_CONTACT_COLUMNS = (ContactSettings.user_id, ContactSettings.email, ContactSettings.phone, ContactSettings.email_kinds,
                    ContactSettings.sms_kinds)


def chosen_kinds(contact, channel: str) -> tuple[str, ...]:
    """The kinds a user gets on ``channel`` (a ContactSettings or a row of its columns)."""
    chosen = contact.email_kinds if channel == "email" else contact.sms_kinds
    return tuple(chosen) if chosen is not None else DEFAULT_KINDS[channel]


def queue_for_users(session: Session, user_ids: list[int], kind: str, case_id: int | None, message: str,
                    data: dict | None = None) -> None:
    """The e-mails and SMS the users chose for ``kind``, and the event for matching webhooks."""
    rows = []
    channels = delivery_settings.enabled_channels()
    if channels and user_ids:
        # on the connection (Core): no pending change of the session needs flushing first
        contacts = session.connection().execute(select(*_CONTACT_COLUMNS).where(ContactSettings.user_id.in_(user_ids)))
        for contact in contacts:
            for channel in channels:
                address = contact.email if channel == "email" else contact.phone
                if address and kind in chosen_kinds(contact, channel):
                    rows.append(_row(channel, kind, address, case_id, message, data, user_id=contact.user_id))
    _write(session, rows + _webhook_rows(session, kind, case_id, message, data))


def queue_for_reporter(session: Session, case, kind: str, data: dict | None = None, email: str | None = None,
                       private: dict | None = None) -> None:
    """Tell the reporter on the channel they gave: SMS to their phone, e-mail to their address
    (``email``, or the one kept with the case). ``private`` data (the query code) goes to the
    reporter's own rows only, not to webhooks."""
    own = {**(data or {}), **(private or {})}
    rows = []
    channels = delivery_settings.enabled_channels()
    phone = (case.reporter_phone or "").strip()
    if "sms" in channels and PHONE.match(phone):
        rows.append(_row("sms", kind, phone, case.id, "", own))
    if email is None and "email" in channels:
        email = session.connection().execute(select(ReporterContact.email)
                                             .where(ReporterContact.case_id == case.id)).scalar()
    if email and "email" in channels:
        rows.append(_row("email", kind, email, case.id, "", own))
    _write(session, rows + _webhook_rows(session, kind, case.id, "", data))


def remember_reporter_email(session: Session, case_id: int, email: str | None) -> None:
    if email:
        session.add(ReporterContact(case_id=case_id, email=email))


def _webhook_rows(session: Session, kind: str, case_id: int | None, message: str, data: dict | None) -> list[dict]:
    hooks = session.connection().execute(select(Webhook.id, Webhook.url, Webhook.kinds).where(Webhook.active)).all()
    return [_row("webhook", kind, url, case_id, message, data, webhook_id=hook_id)
            for hook_id, url, kinds in hooks if not kinds or kind in kinds]


def _row(channel: str, kind: str, recipient: str, case_id: int | None, message: str, data: dict | None,
         user_id: int | None = None, webhook_id: int | None = None) -> dict:
    at = now()
    return {"channel": channel, "kind": kind, "recipient": recipient, "user_id": user_id, "case_id": case_id,
            "webhook_id": webhook_id, "message": message, "data": data or {}, "status": "pending", "attempts": 0,
            "next_attempt_at": at, "last_error": None, "created_at": at, "sent_at": None}


def _write(session: Session, rows: list[dict]) -> None:
    if rows:
        session.connection().execute(insert(Delivery.__table__), rows)
