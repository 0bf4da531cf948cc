"""The timer sweep the scheduler and ``gridlink timers tick`` run."""

from __future__ import annotations

import logging

from engine import SweepReport, sweep
from workflows.errors import DomainError
from workflows.messaging.worker import deliver_due

log = logging.getLogger("gridlink.notifications")
SWEEP_DELIVERY_BUDGET = 20.0
"""Seconds a sweep spends sending at most (then the timers' next sweep is not held up)."""


def tick(system) -> SweepReport:
    """Fire every due timer now (reminders, escalations, overdues); the hooks record what they mean.
    Then send the due e-mails, SMS and webhook events (what this sweep and the requests queued)."""
    report = sweep(system.runtime, system.sessions)
    try:
        deliveries = deliver_due(system, budget_seconds=SWEEP_DELIVERY_BUDGET)
    except DomainError as exc:  # a delivery setting that cannot be used: the timers still run
        log.error("notifications not sent: %s", exc.message)
    else:
        if deliveries.errors:
            log.warning("notifications: %s sent, %s to retry, %s dead-lettered: %s", deliveries.sent,
                        deliveries.retried, deliveries.dead, "; ".join(deliveries.errors[:5]))
    return report
