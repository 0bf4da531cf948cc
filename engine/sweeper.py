"""The timer sweep: wake only the instances whose next timer is due, in batches, exactly once.

Each instance's ``next_due`` is computed on every save, so a sweep reads an index range, never
the waiting population. Every instance's step is claimed with an in-flight mark committed before
it runs (engine/incidents.py): the mark is the claim, so two sweepers never fire one instance
twice, and a mark left by a process that died means that step killed it: the instance is
quarantined, never run again by itself. A batch's marks are committed in one statement; its steps
then run one by one, each in a savepoint of a batch transaction that is committed (results and
removed marks together) once it has held the write lock for ``LOCK_BUDGET`` seconds or the batch
is done, so other writers wait far less than their bounded wait. Before each step the sweeper
notes the instance in its note file (engine/incidents.py): if the process dies, only that one is
quarantined. The step runs in a pool child (engine/isolation.py); one that crashes, times out or
runs out of memory is quarantined at once, one that fails otherwise is tried again at the next
sweeps and quarantined after ``failure_limit`` failures. The sweep always goes on with the others.
A writers' queue that stays busy past its bounded wait (``Busy``) ends the sweep early: what was
committed stays, the rest is swept at the next tick (``SweepReport.busy``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import incidents
from .errors import Busy
from .instances.runtime import Runtime
from .instances.timers import now
from .isolation import StepFailed
from .storage.models import ProcessInstance

log = logging.getLogger(__name__)
SWEEPABLE = ("running", "waiting")
FAILURE_LIMIT = 3
LOCK_BUDGET = 0.25  # seconds a batch transaction goes on starting steps (SQLite: holding the write lock)


@dataclass
class SweepReport:
    instances: int = 0
    timers_fired: int = 0
    failed: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    busy: bool = False  # the writers' queue stayed busy: the sweep stopped early, the next tick goes on


def sweep(runtime: Runtime, sessions: sessionmaker, batch_size: int = 200, max_batches: int = 1000,
          failure_limit: int = FAILURE_LIMIT) -> SweepReport:
    """Fire every due timer now. Returns how many instances were woken and timers fired."""
    report = SweepReport()
    stale_after = timedelta(seconds=2 * runtime.pool.limits.timeout + 30)
    note = incidents.Note()
    try:
        incidents.release_left(sessions)
        _reap(sessions, stale_after, report)
        seen: set[int] = set()
        for _ in range(max_batches):
            with sessions() as session:
                ids = _due_batch(session, batch_size, seen)
            claimed, quarantined = incidents.claim_many(sessions, ids, stale_after) if ids else ([], [])
            report.quarantined.extend(quarantined)
            _run_batch(runtime, sessions, claimed, report, failure_limit, note)
            seen.update(ids)
            if len(ids) < batch_size:
                break
    except Busy as exc:
        log.info("timer sweep: the database stayed busy (%s); the rest is swept at the next tick", exc)
        report.busy = True
    finally:
        note.close()
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
        with sessions() as session, session.begin():  # released meanwhile, or not what killed its owner
            incidents.done(session, instance_id)


def _due_batch(session: Session, batch_size: int, seen: set[int]) -> list[int]:
    query = (select(ProcessInstance.id)
             .where(ProcessInstance.next_due <= now(), ProcessInstance.status.in_(SWEEPABLE))
             .order_by(ProcessInstance.next_due).limit(batch_size))
    if seen and len(seen) < 50_000:
        query = query.where(ProcessInstance.id.not_in(seen))
    return list(session.scalars(query))


def _run_batch(runtime: Runtime, sessions: sessionmaker, claimed: list[int], report: SweepReport,
               failure_limit: int, note: incidents.Note) -> None:
    """Run the claimed steps in transactions of at most ``LOCK_BUDGET`` s each (plus one step)."""
    left = list(claimed)
    try:
        while left:
            pending = SweepReport()
            with sessions() as session, session.begin():
                incidents.refresh(session, left)  # the marks waiting their turn stay fresh
                began = time.monotonic()
                settled = 0
                while settled < len(left) and (settled == 0 or time.monotonic() - began < LOCK_BUDGET):
                    note.running(left[settled])
                    _fire_one(runtime, session, left[settled], pending, failure_limit)
                    session.flush()
                    session.expunge_all()  # a batch's objects would make every lookup of the next steps slower
                    settled += 1
            note.running(0)
            left = left[settled:]
            _add(report, pending)
    finally:
        if left:  # not run (Busy, a broken connection): give the marks back now or at the next sweep
            incidents.release_later(left)
            note.running(0)
            try:
                incidents.release_left(sessions)
            except Exception:  # noqa: BLE001 - the next sweep releases them
                log.warning("timer sweep: %s in-flight marks released at the next sweep", len(left))


def _add(report: SweepReport, part: SweepReport) -> None:
    report.instances += part.instances
    report.timers_fired += part.timers_fired
    report.failed.extend(part.failed)
    report.quarantined.extend(part.quarantined)


def _fire_one(runtime: Runtime, session: Session, instance_id: int, report: SweepReport,
              failure_limit: int) -> None:
    """One step in a savepoint of the batch transaction, its mark removed with it."""
    try:
        with session.begin_nested():
            row = session.get(ProcessInstance, instance_id, populate_existing=True)
            if row.status in SWEEPABLE and row.next_due is not None and row.next_due <= now():
                result = runtime.fire_timers(session, instance_id)
                fired = len(result.of_kind("timer_fired"))
                if result.error:
                    element = next((e.element_id for e in result.of_kind("error")), None)
                    incidents.record(session, instance_id, "script", element, result.error)
            else:
                fired = None
            incidents.done(session, instance_id)
    except StepFailed as exc:
        log.error("timer sweep: instance %s quarantined: %s", instance_id, exc)
        report.failed.append(instance_id)
        report.quarantined.append(instance_id)
        incidents.quarantine(session, instance_id, exc.kind, exc.element, f"timer sweep failed: {exc.detail}")
        incidents.done(session, instance_id)
        return
    except Busy:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken instance must not stop the sweep
        log.exception("timer sweep: instance %s failed", instance_id)
        report.failed.append(instance_id)
        if incidents.failed_in(session, instance_id, f"timer sweep failed: {exc.__class__.__name__}: {exc}",
                               failure_limit):
            report.quarantined.append(instance_id)
        return
    if fired is not None:
        report.instances += 1
        report.timers_fired += fired
