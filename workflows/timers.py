"""The timer sweep the scheduler and ``gridlink timers tick`` run."""

from __future__ import annotations

from engine import SweepReport, sweep


def tick(system) -> SweepReport:
    """Fire every due timer now (reminders, escalations, overdues); the hooks record what they mean."""
    return sweep(system.runtime, system.sessions)
