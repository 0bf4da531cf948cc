"""The timer sweep: wake only the instances whose next timer is due, in batches, exactly once.

Each instance's ``next_due`` is computed on every save, so a sweep reads an index range, never
the waiting population. On PostgreSQL the batch is claimed with FOR UPDATE SKIP LOCKED, so two
sweepers split the work; on SQLite the sweep transaction starts with BEGIN IMMEDIATE, so sweepers
take turns and the second sees the first one's new ``next_due`` values. One failing instance is
put in `error` in its own savepoint and never blocks the rest of the batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .instances.runtime import Runtime
from .instances.timers import now
from .storage.models import EngineEvent, ProcessInstance

log = logging.getLogger(__name__)
SWEEPABLE = ("running", "waiting")


@dataclass
class SweepReport:
    instances: int = 0
    timers_fired: int = 0
    failed: list[int] = field(default_factory=list)


def sweep(runtime: Runtime, sessions: sessionmaker, batch_size: int = 200, max_batches: int = 1000) -> SweepReport:
    """Fire every due timer now. Returns how many instances were woken and timers fired."""
    report = SweepReport()
    seen: set[int] = set()
    for _ in range(max_batches):
        with sessions() as session, session.begin():
            ids = _claim_batch(session, batch_size, seen)
            for instance_id in ids:
                _fire_one(runtime, session, instance_id, report)
        seen.update(ids)
        if len(ids) < batch_size:
            break
    return report


def _claim_batch(session: Session, batch_size: int, seen: set[int]) -> list[int]:
    query = (select(ProcessInstance.id)
             .where(ProcessInstance.next_due <= now(), ProcessInstance.status.in_(SWEEPABLE))
             .order_by(ProcessInstance.next_due).limit(batch_size))
    if seen and len(seen) < 50_000:
        query = query.where(ProcessInstance.id.not_in(seen))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _fire_one(runtime: Runtime, session: Session, instance_id: int, report: SweepReport) -> None:
    try:
        with session.begin_nested():
            result = runtime.fire_timers(session, instance_id)
        report.instances += 1
        report.timers_fired += len(result.of_kind("timer_fired"))
    except Exception as exc:  # noqa: BLE001 - one broken instance must not stop the sweep
        log.exception("timer sweep: instance %s failed", instance_id)
        report.failed.append(instance_id)
        with session.begin_nested():
            _mark_failed(session, instance_id, exc)


def _mark_failed(session: Session, instance_id: int, exc: Exception) -> None:
    row = session.get(ProcessInstance, instance_id, populate_existing=True)
    if row is None:
        return
    row.status = "error"
    row.error_message = f"timer sweep failed: {exc.__class__.__name__}: {exc}"
    row.next_due = None
    session.add(EngineEvent(instance_id=instance_id, kind="error", data={"message": row.error_message}))
    session.flush()
