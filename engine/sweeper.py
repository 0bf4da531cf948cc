"""The timer sweep: wake only the instances whose next timer is due, in batches, exactly once.

Each instance's ``next_due`` is computed on every save, so a sweep reads an index range, never
the waiting population. Every instance's step is claimed with an in-flight mark committed before
it runs (engine/incidents.py): the mark is the claim, so two sweepers never fire one instance
twice, and a mark left by a process that died means that step killed it: the instance is
quarantined, never run again by itself. The step runs in a pool child (engine/isolation.py); one
that crashes, times out or runs out of memory is quarantined at once, one that fails otherwise is
tried again at the next sweeps and quarantined after ``failure_limit`` failures. The sweep always
goes on with the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import incidents
from .instances.runtime import Runtime
from .instances.timers import now
from .isolation import StepFailed
from .storage.models import ProcessInstance

log = logging.getLogger(__name__)
SWEEPABLE = ("running", "waiting")
FAILURE_LIMIT = 3


@dataclass
class SweepReport:
    instances: int = 0
    timers_fired: int = 0
    failed: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)


def sweep(runtime: Runtime, sessions: sessionmaker, batch_size: int = 200, max_batches: int = 1000,
          failure_limit: int = FAILURE_LIMIT) -> SweepReport:
    """Fire every due timer now. Returns how many instances were woken and timers fired."""
    report = SweepReport()
    stale_after = timedelta(seconds=2 * runtime.pool.limits.timeout + 30)
    _reap(sessions, stale_after, report)
    seen: set[int] = set()
    for _ in range(max_batches):
        with sessions() as session:
            ids = _due_batch(session, batch_size, seen)
        for instance_id in ids:
            if incidents.claim(sessions, instance_id, stale_after):
                _fire_one(runtime, sessions, instance_id, report, failure_limit)
        seen.update(ids)
        if len(ids) < batch_size:
            break
    return report


def _reap(sessions: sessionmaker, stale_after: timedelta, report: SweepReport) -> None:
    """Quarantine the instances whose step was in flight in a process that is gone."""
    with sessions() as session:
        marked = incidents.stale_marks(session)
    for instance_id in marked:
        if not incidents.claim(sessions, instance_id, stale_after):
            with sessions() as session:
                if session.get(ProcessInstance, instance_id).status == "error":
                    report.quarantined.append(instance_id)
            continue
        with sessions() as session, session.begin():  # it was released meanwhile: not ours to run here
            incidents.done(session, instance_id)


def _due_batch(session: Session, batch_size: int, seen: set[int]) -> list[int]:
    query = (select(ProcessInstance.id)
             .where(ProcessInstance.next_due <= now(), ProcessInstance.status.in_(SWEEPABLE))
             .order_by(ProcessInstance.next_due).limit(batch_size))
    if seen and len(seen) < 50_000:
        query = query.where(ProcessInstance.id.not_in(seen))
    return list(session.scalars(query))


def _fire_one(runtime: Runtime, sessions: sessionmaker, instance_id: int, report: SweepReport,
              failure_limit: int) -> None:
    try:
        with sessions() as session, session.begin():
            row = session.get(ProcessInstance, instance_id, populate_existing=True)
            if row.status in SWEEPABLE and row.next_due is not None and row.next_due <= now():
                result = runtime.fire_timers(session, instance_id)
                report.instances += 1
                report.timers_fired += len(result.of_kind("timer_fired"))
                if result.error:
                    element = next((e.element_id for e in result.of_kind("error")), None)
                    incidents.record(session, instance_id, "script", element, result.error)
            incidents.done(session, instance_id)
    except StepFailed as exc:
        log.error("timer sweep: instance %s quarantined: %s", instance_id, exc)
        report.failed.append(instance_id)
        report.quarantined.append(instance_id)
        with sessions() as session, session.begin():
            incidents.quarantine(session, instance_id, exc.kind, exc.element, f"timer sweep failed: {exc.detail}")
            incidents.done(session, instance_id)
    except Exception as exc:  # noqa: BLE001 - one broken instance must not stop the sweep
        log.exception("timer sweep: instance %s failed", instance_id)
        report.failed.append(instance_id)
        if incidents.failed(sessions, instance_id, f"timer sweep failed: {exc.__class__.__name__}: {exc}",
                            failure_limit):
            report.quarantined.append(instance_id)
