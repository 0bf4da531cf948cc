"""The delivery worker: send what the outbox holds, retry with exponential backoff, dead-letter.

Each due row is first claimed with a conditional UPDATE (its next attempt moved past the send
lease), so two workers (the scheduler's sweep and a ``gridlink notifications deliver``) never
send one row twice; it is then sent outside any transaction, and the outcome written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from workflows.clock import now

from . import channels, reporter
from . import settings as delivery_settings
from .models import Delivery, Webhook
from .texts import CaseFacts, word

LEASE = timedelta(minutes=5)
"""How long a claimed row stays out of other workers' hands while it is being sent."""
MAX_BACKOFF = timedelta(hours=6)
BATCH = 200


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(settings: delivery_settings.DeliverySettings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: base, 2 x base, 4 x base, ... at most six hours."""
    return min(timedelta(seconds=settings.backoff_seconds * 2 ** (attempts - 1)), MAX_BACKOFF)


def deliver_due(system, limit: int = BATCH, budget_seconds: float | None = None) -> DeliveryReport:
    """Send every due outbox row (at most ``limit``, and no new one after ``budget_seconds``, so a
    slow receiver does not hold up the timer sweep: the rest wait for the next run)."""
    config = delivery_settings.load()
    report = DeliveryReport()
    with system.sessions() as session:
        due = session.execute(select(Delivery.id, Delivery.attempts)
                              .where(Delivery.status == "pending", Delivery.next_attempt_at <= now())
                              .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)).all()
    started = time.monotonic()
    for delivery_id, attempts in due:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        if _claim(system, delivery_id, attempts):
            _deliver_one(system, config, delivery_id, report)
    return report


def _claim(system, delivery_id: int, attempts: int) -> bool:
    with system.sessions() as session, session.begin():
        claimed = session.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.status == "pending", Delivery.attempts == attempts,
            Delivery.next_attempt_at <= now()).values(next_attempt_at=now() + LEASE))
        return claimed.rowcount == 1


def _deliver_one(system, config, delivery_id: int, report: DeliveryReport) -> None:
    with system.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        send = _sender(session, config, delivery)
        attempts = delivery.attempts
    error, final = None, False
    try:
        send()
    except channels.DeliveryFailed as exc:
        error, final = str(exc)[:2000], exc.final
    _record(system, config, delivery_id, attempts + 1, error, report, final)


def _record(system, config, delivery_id: int, attempts: int, error: str | None, report: DeliveryReport,
            final: bool = False) -> None:
    at = now()
    if error is None:
        values = {"status": "sent", "sent_at": at, "last_error": None}
        report.sent += 1
        _wipe_private(system, delivery_id)
    elif final or attempts >= config.max_attempts:
        values = {"status": "dead", "last_error": error}
        report.dead += 1
        report.errors.append(f"#{delivery_id}: {error}")
    else:
        values = {"next_attempt_at": at + backoff(config, attempts), "last_error": error}
        report.retried += 1
        report.errors.append(f"#{delivery_id}: {error}")
    with system.sessions() as session, session.begin():
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(attempts=attempts, **values))


def _wipe_private(system, delivery_id: int) -> None:
    """A sent row keeps no secret: the query code travelled once, to the reporter."""
    with system.sessions() as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        if delivery is not None and PRIVATE_KEYS & set(delivery.data or {}):
            delivery.data = {k: v for k, v in delivery.data.items() if k not in PRIVATE_KEYS}


PRIVATE_KEYS = {"query_code"}


def _sender(session, config, delivery: Delivery):
    """A function that sends this row as it reads now (the text worded from the case's current state)."""
    facts = case_facts(session, delivery.case_id)
    text = word(delivery.kind, facts, delivery.data or {}, delivery.message)
    if delivery.channel == "email":
        return lambda: channels.send_email(config, delivery.recipient, text.subject, text.body)
    if delivery.channel == "sms":
        return lambda: channels.send_sms(config, delivery.recipient, text.body)
    hook = session.get(Webhook, delivery.webhook_id) if delivery.webhook_id else None
    if hook is None or not hook.active:
        return _refuse("the webhook was removed or switched off")
    event = webhook_event(delivery, facts, text.body)
    url, secret, delivery_id = hook.url, hook.secret, delivery.id
    return lambda: channels.send_webhook(config, url, secret, event, delivery_id)


def _refuse(reason: str):
    def fail() -> None:
        raise channels.DeliveryFailed(reason, final=True)
    return fail


def webhook_event(delivery: Delivery, facts: CaseFacts | None, text: str) -> dict:
    """The JSON body of a webhook event (see docs/WEBHOOKS.md)."""
    case = None
    if facts is not None:
        case = {"number": facts.number, "title": facts.title, "status": facts.status}
    return {"id": delivery.id, "kind": delivery.kind, "created_at": delivery.created_at.isoformat(), "case": case,
            "data": delivery.data or {}, "text": text}


def case_facts(session, case_id: int | None) -> CaseFacts | None:
    return reporter.case_facts(session, case_id) if case_id is not None else None
