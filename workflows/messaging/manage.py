"""Use cases behind the pages: a user's contact settings, the admins' outbox view and webhooks."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from workflows.admin import audit
from workflows.checks import invalid
from workflows.clock import now
from workflows.errors import Forbidden, NotFound
from workflows.people.lookups import get_user

from .models import ContactSettings, Delivery, Webhook
from .outbox import DEFAULT_KINDS, EMAIL, PHONE, chosen_kinds
from .texts import EVENT_KINDS, USER_KINDS

LISTED_STATUSES = ("pending", "dead")


# --- a user's own settings --------------------------------------------------------------------

def preferences(system, actor) -> dict:
    """The user's e-mail, phone and the kinds they get on each channel (the defaults when unset)."""
    with system.reads() as session:
        user = get_user(session, actor)
        contact = session.get(ContactSettings, user.id) or ContactSettings(user_id=user.id)
        return {"email": contact.email or "", "phone": contact.phone or "", "kinds": USER_KINDS,
                "email_kinds": list(chosen_kinds(contact, "email")), "sms_kinds": list(chosen_kinds(contact, "sms"))}


def save_preferences(system, actor, *, email: str = "", phone: str = "", email_kinds: list[str] | None = None,
                     sms_kinds: list[str] | None = None) -> None:
    """Save the user's addresses and chosen kinds (None: the defaults, ``DEFAULT_KINDS``)."""
    email, phone = check_email(email), check_phone(phone)
    if email_kinds is not None:
        email_kinds = _kinds(email_kinds, "email_kinds")
    if sms_kinds is not None:
        sms_kinds = _kinds(sms_kinds, "sms_kinds")
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        contact = session.get(ContactSettings, user.id)
        if contact is None:
            contact = ContactSettings(user_id=user.id)
            session.add(contact)
        contact.email, contact.phone = email, phone
        contact.email_kinds, contact.sms_kinds = email_kinds, sms_kinds
        contact.updated_at = now()


def check_email(value: str | None, field: str = "email") -> str | None:
    if value is not None and not isinstance(value, str):
        raise invalid(f"e-mail address {value!r} is not text: write it as name@example.org", field=field,
                      reason="bad_email", value=value)
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL.match(value):
        raise invalid(f"e-mail address {value!r} is not usable: write it as name@example.org", field=field,
                      reason="bad_email", value=value)
    return value


def check_phone(value: str | None, field: str = "phone") -> str | None:
    if value is not None and not isinstance(value, str):
        raise invalid(f"phone number {value!r} is not text: give 5 to 20 digits", field=field, reason="bad_phone",
                      value=value)
    value = (value or "").strip()
    if not value:
        return None
    if not PHONE.match(value):
        raise invalid(f"phone number {value!r} is not usable: give 5 to 20 digits, e.g. 13800001234",
                      field=field, reason="bad_phone", value=value)
    return value


def _kinds(values, field: str, allowed: tuple[str, ...] = USER_KINDS) -> list[str]:
    if not isinstance(values, list | tuple):
        raise invalid(f"{field} {values!r} is not a list of kinds; use any of: {', '.join(allowed)}", field=field)
    unknown = [v for v in values if not isinstance(v, str) or v not in allowed]
    if unknown:
        raise invalid(f"unknown notification kind {unknown[0]!r}; use any of: {', '.join(allowed)}",
                      field=field)
    return [k for k in allowed if k in values]


# --- the admins' view of the outbox -----------------------------------------------------------

def _admin(session, actor):
    user = get_user(session, actor)
    if user.role != "admin":
        raise Forbidden("only admins see and retry deliveries and webhooks")
    return user


def deliveries(system, actor, status: str = "dead", limit: int = 200) -> dict:
    """Pending or dead-lettered deliveries, newest first, with the last error; counts per status."""
    if status not in LISTED_STATUSES:
        raise invalid(f"status {status!r}: use one of {', '.join(LISTED_STATUSES)}", field="status")
    with system.reads() as session:
        _admin(session, actor)
        rows = session.scalars(select(Delivery).where(Delivery.status == status)
                               .order_by(Delivery.id.desc()).limit(limit))
        items = [{"id": d.id, "channel": d.channel, "kind": d.kind, "recipient": d.recipient,
                  "attempts": d.attempts, "next_attempt_at": d.next_attempt_at, "last_error": d.last_error,
                  "created_at": d.created_at, "case_id": d.case_id} for d in rows]
        counts = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        return {"items": items, "counts": {s: counts.get(s, 0) for s in ("pending", "sent", "dead")}}


def retry(system, actor, delivery_ids: list[int] | None = None) -> int:
    """Put dead-lettered deliveries (the given ones, or all) back in the queue with a fresh set of
    attempts, due now; returns how many."""
    with system.sessions() as session, session.begin():
        user = _admin(session, actor)
        query = update(Delivery).where(Delivery.status == "dead")
        if delivery_ids is not None:
            query = query.where(Delivery.id.in_(delivery_ids))
        count = session.execute(query.values(status="pending", attempts=0, next_attempt_at=now())).rowcount
        if delivery_ids is not None and count == 0:
            ids = ", ".join(map(str, delivery_ids))
            raise NotFound(f"no dead-lettered delivery {ids}: it was sent or retried already; reload the list",
                           reason="delivery_not_dead", params={"ids": ids})
        audit.record(session, user.username, "delivery.retry", None, ids=delivery_ids or "all", count=count)
        return count


# --- webhooks ---------------------------------------------------------------------------------

def webhooks(system, actor) -> list[dict]:
    with system.reads() as session:
        _admin(session, actor)
        return [{"id": w.id, "url": w.url, "secret": w.secret, "kinds": w.kinds, "active": w.active,
                 "created_at": w.created_at, "created_by": w.created_by}
                for w in session.scalars(select(Webhook).order_by(Webhook.id))]


def add_webhook(system, actor, url: str, kinds: list[str]) -> dict:
    """Register a URL for signed events of ``kinds`` (none: every kind); returns it with its secret."""
    url = check_url(url)
    kinds = _kinds(kinds, "kinds", EVENT_KINDS)
    with system.sessions() as session, session.begin():
        user = _admin(session, actor)
        hook = Webhook(url=url, secret=secrets.token_hex(32), kinds=kinds, active=True, created_by=user.username,
                       created_at=now())
        session.add(hook)
        session.flush()
        audit.record(session, user.username, "webhook.add", url, kinds=kinds)
        return {"id": hook.id, "url": hook.url, "secret": hook.secret, "kinds": kinds}


def remove_webhook(system, actor, webhook_id: int) -> None:
    """Switch a webhook off (its pending events are dead-lettered when their turn comes)."""
    with system.sessions() as session, session.begin():
        user = _admin(session, actor)
        hook = session.get(Webhook, webhook_id)
        if hook is None or not hook.active:
            raise NotFound(f"no active webhook {webhook_id}; reload the list", reason="webhook_gone",
                           params={"id": webhook_id})
        hook.active = False
        audit.record(session, user.username, "webhook.remove", hook.url)


def check_url(value: str | None) -> str:
    value = value.strip() if isinstance(value, str) else ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 500:
        raise invalid(f"webhook URL {value!r} is not usable: give an http:// or https:// address of at most "
                      "500 characters", field="url", reason="bad_url", value=value)
    return value


__all__ = ["DEFAULT_KINDS", "USER_KINDS", "preferences", "save_preferences", "deliveries", "retry", "webhooks",
           "add_webhook", "remove_webhook"]
