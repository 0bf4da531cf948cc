"""Incidents: instances put aside because a step crashed, ran out of time or memory, or kept failing.

An incident puts its instance in `error` (no timer fires, no task can be completed) and says what
happened: element, message, kind (crash, timeout, memory, script, failed, inflight) and when. An
admin fixes the cause (a new version and a migration, corrected data) and retries it.

In-flight marks: the sweep commits a mark before it runs an instance's step and removes it with the
step's own commit. A mark left by a process that is gone means that step killed its process: the
instance is quarantined (kind ``inflight``) and the step is never run again by itself.

The sweep marks a whole batch in one commit (``claim_many``) and settles its steps a few at a time,
so before each step it writes the instance's id into a small note file of its own (``running``; a
write into the page cache, no commit, it outlives the process). A dead sweeper's note names the one
step that was running when it died: that instance is quarantined, the other marks of the batch are
released (their steps were not stored, they run at the next sweep). A mark whose owner left no
note (another host, a lost file) is quarantined as before.
"""

from __future__ import annotations

import glob
import os
import socket
import tempfile
import threading
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, Text, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import Conflict, NotFound
from .instances.timers import next_due, now
from .specs.specs import load_state
from .storage.db import Base, UTCDateTime, utcnow
from .storage.models import EngineEvent, ProcessInstance

KINDS = ("crash", "timeout", "memory", "script", "failed", "inflight")
QUARANTINABLE = ("running", "waiting")


class Incident(Base):
    __tablename__ = "engine_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    element_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class InFlight(Base):
    """A step the sweep is running (``started_at`` set) or that failed ``failures`` times so far."""

    __tablename__ = "engine_inflight"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"),
                                             primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(200))  # host:pid of the process running it
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)


def me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ----- quarantine ------------------------------------------------------------------------------
def quarantine(session: Session, instance_id: int, kind: str, element: str | None, message: str,
               token: str | None = None) -> Incident | None:
    """Put a running or waiting instance in `error` with an open incident (in the caller's
    transaction). None if it is not running or waiting any more (or moved past ``token``)."""
    row = session.get(ProcessInstance, instance_id, populate_existing=True)
    if row is None or row.status not in QUARANTINABLE or (token is not None and row.state_token != token):
        return None
    row.status = "error"
    row.error_message = message
    row.error_element = element
    row.next_due = None
    row.updated_at = now()
    incident = Incident(instance_id=instance_id, kind=kind, element_id=element, message=message, at=now())
    session.add(incident)
    session.add(EngineEvent(instance_id=instance_id, kind="error", element_id=element, at=now(),
                            data={"message": message, "incident": kind}))
    session.flush()
    return incident


def record(session: Session, instance_id: int, kind: str, element: str | None, message: str) -> Incident:
    """An open incident for an instance the step itself already put in `error` (a script error)."""
    incident = Incident(instance_id=instance_id, kind=kind, element_id=element, message=message, at=now())
    session.add(incident)
    session.flush()
    return incident


def quarantine_after(session: Session, instance_id: int, token: str | None, kind: str, element: str | None,
                     message: str) -> None:
    """Quarantine in a transaction of its own once the caller's transaction has ended (a request
    whose step failed rolls back: the incident must outlive that)."""
    bind = session.get_bind()
    done = []

    def after(sess, transaction) -> None:
        if done or transaction.parent is not None or transaction.nested:
            return
        done.append(True)
        with Session(bind) as other, other.begin():
            quarantine(other, instance_id, kind, element, message, token)

    event.listen(session, "after_transaction_end", after)


# ----- reading and retrying -----------------------------------------------------------------------
def open_incidents(session: Session, limit: int = 500) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.resolved_at.is_(None))
                                .order_by(Incident.at.desc(), Incident.id.desc()).limit(limit)))


def retry(session: Session, runtime, incident_id: int, actor: str | None = None):
    """Resolve an open incident and put its instance back to work.

    A script error (the state holds failed tasks) is run again from the failed tasks. A crash,
    timeout, memory or in-flight incident stored nothing of its step: the instance goes back to
    waiting (or running, with its open tasks) as before the step, and a due timer fires again at
    the next sweep. Returns the instance."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    if incident.resolved_at is not None:
        raise Conflict(f"incident {incident_id} was already resolved by {incident.resolved_by or 'someone'} "
                       f"at {incident.resolved_at.isoformat()}")
    row = session.get(ProcessInstance, incident.instance_id, populate_existing=True)
    incident.resolved_at = now()
    incident.resolved_by = actor
    session.execute(delete(InFlight).where(InFlight.instance_id == row.id))
    session.flush()
    if row.status == "error" and incident.kind == "script":
        runtime.retry(session, row.id, actor=actor)
    elif row.status == "error":
        _resume(session, runtime, row, actor)
    session.flush()
    return row


def _resume(session: Session, runtime, row: ProcessInstance, actor: str | None) -> None:
    from .instances.runtime import ready_human_tasks

    spec, subs = runtime._specs(session, row.process_version_id)
    workflow = load_state(row.state, spec, subs)  # reading a state runs no script
    row.status = "running" if ready_human_tasks(workflow) else "waiting"
    row.next_due = next_due(workflow)
    row.error_message = None
    row.error_element = None
    row.updated_at = now()
    session.add(EngineEvent(instance_id=row.id, kind="retried", element_id=None, actor=actor, at=now(),
                            data={"resumed": True}))
    session.flush()


# ----- in-flight marks ------------------------------------------------------------------------------
def claim_many(sessions, instance_ids: list[int], stale_after: timedelta) -> tuple[list[int], list[int]]:
    """Commit the in-flight marks of a batch in one transaction: (claimed, quarantined) ids.

    As ``claim`` for each id; another sweeper inserting one of the marks at the same time makes
    this batch fall back to ``claim`` one by one."""
    claimed, quarantined = [], []
    with sessions() as session, session.begin():
        marks = {m.instance_id: m for m in session.scalars(
            select(InFlight).where(InFlight.instance_id.in_(instance_ids)).with_for_update())}
        fresh = [i for i in instance_ids if i not in marks]
        try:
            with session.begin_nested():
                if fresh:
                    session.execute(insert(InFlight), [{"instance_id": i, "owner": me(), "started_at": now(),
                                                        "failures": 0} for i in fresh])
        except IntegrityError:
            fresh = None
        if fresh is not None:
            claimed.extend(fresh)
            for instance_id, mark in marks.items():
                taken = _take(session, instance_id, mark, stale_after)
                (claimed if taken == "taken" else quarantined if taken == "quarantined" else []).append(instance_id)
    if fresh is None:
        claimed = [i for i in instance_ids if claim(sessions, i, stale_after)]
    return claimed, quarantined


def _take(session: Session, instance_id: int, mark: InFlight, stale_after: timedelta) -> str:
    """"taken" (this process runs the step), "held" (another sweeper does) or "quarantined"."""
    if mark.started_at is not None:
        if mark.owner == me() and instance_id in _UNRELEASED:  # ours, left by a sweep that could not release it
            _UNRELEASED.discard(instance_id)
        elif not _gone(mark, stale_after):
            return "held"
        elif _guilty(mark, instance_id):
            quarantine(session, instance_id, "inflight", None,
                       f"the process running this instance's step ({mark.owner}) died during the step; "
                       "it is not run again until an admin retries it")
            session.delete(mark)
            return "quarantined"
    mark.owner, mark.started_at = me(), now()
    return "taken"


def claim(sessions, instance_id: int, stale_after: timedelta) -> bool:
    """Commit an in-flight mark for this instance's step; False if another sweeper holds it.

    A mark whose owner is gone (a dead process on this host, or older than ``stale_after``) means
    that step killed its process: the instance is quarantined and False is returned."""
    with sessions() as session, session.begin():
        mark = session.get(InFlight, instance_id, with_for_update=True)
        if mark is None:
            try:
                with session.begin_nested():  # another sweeper inserting the same mark wins
                    session.add(InFlight(instance_id=instance_id, owner=me(), started_at=now(), failures=0))
            except IntegrityError:
                return False
            return True
        return _take(session, instance_id, mark, stale_after) == "taken"


def _gone(mark: InFlight, stale_after: timedelta) -> bool:
    host, _, pid = (mark.owner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    return mark.started_at < now() - stale_after


def _guilty(mark: InFlight, instance_id: int) -> bool:
    """Whether the gone owner of ``mark`` may have died running this instance's step: its note names
    this instance, or it left no note to tell."""
    running = _read_note(mark.owner or "")
    return running is None or instance_id in running


# ----- the sweeper's note: the step it is running now -------------------------------------------------
_UNRELEASED: set[int] = set()  # marks of this process a sweep could not release (writers' queue busy)


def _note_prefix(owner: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in owner)
    return os.path.join(tempfile.gettempdir(), f"gridlink-step-{safe}-")


def _read_note(owner: str) -> set[int] | None:
    """The instances a dead owner on this host was running when it died (empty: none); None when it
    cannot tell (another host, a process still alive, no note left)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
        return None  # alive (or another process by now): its note is not about this mark
    except ProcessLookupError:
        pass
    except PermissionError:
        return None
    names = glob.glob(glob.escape(_note_prefix(owner)) + "*")
    if not names:
        return None
    running = set()
    for name in names:
        try:
            with open(name, "rb") as note:
                running.add(int(note.read(20).split(b"\0")[0] or b"0"))
        except (OSError, ValueError):
            return None
    return running


class Note:
    """This sweeping thread's note: ``running(id)`` before a step, ``running(0)`` after the batch."""

    def __init__(self) -> None:
        self.path = f"{_note_prefix(me())}{threading.get_ident()}"
        self.fd: int | None = None  # opened at the first step (an idle sweep writes nothing)

    def running(self, instance_id: int) -> None:
        if self.fd is None:
            if not instance_id:
                return
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.pwrite(self.fd, str(instance_id).encode().ljust(20, b"\0"), 0)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            os.unlink(self.path)
            self.fd = None


def release(session: Session, instance_ids: list[int]) -> None:
    """Give back marks whose steps were not run (their failure counts stay)."""
    if instance_ids:
        session.execute(delete(InFlight).where(InFlight.instance_id.in_(instance_ids), InFlight.failures == 0))
        session.execute(update(InFlight).where(InFlight.instance_id.in_(instance_ids))
                        .values(started_at=None, owner=None))


def refresh(session: Session, instance_ids: list[int]) -> None:
    """Date this process's marks now (a long batch: the marks of the steps still to run stay fresh)."""
    session.execute(update(InFlight).where(InFlight.instance_id.in_(instance_ids), InFlight.owner == me())
                    .values(started_at=now()))


def release_later(instance_ids) -> None:
    _UNRELEASED.update(instance_ids)


def release_left(sessions) -> None:
    """Release the marks an earlier sweep of this process could not (Busy propagates: next tick)."""
    if _UNRELEASED:
        left = sorted(_UNRELEASED)
        with sessions() as session, session.begin():
            release(session, left)
        _UNRELEASED.difference_update(left)


def done(session: Session, instance_id: int) -> None:
    """Remove the mark with the step's own commit."""
    session.execute(delete(InFlight).where(InFlight.instance_id == instance_id))


def failed(sessions, instance_id: int, message: str, limit: int) -> bool:
    """Count a failed attempt (the step's transaction rolled back); quarantine at ``limit``. True if it was."""
    with sessions() as session, session.begin():
        return failed_in(session, instance_id, message, limit)


def failed_in(session: Session, instance_id: int, message: str, limit: int) -> bool:
    """``failed`` in the caller's transaction (the sweep's batch, the step's savepoint rolled back)."""
    mark = session.get(InFlight, instance_id, populate_existing=True)
    if mark is None:
        mark = InFlight(instance_id=instance_id, failures=0)
        session.add(mark)
    mark.failures = (mark.failures or 0) + 1
    mark.started_at = None
    mark.owner = None
    if mark.failures < limit:
        return False
    quarantine(session, instance_id, "failed", None, f"the step failed {mark.failures} times: {message}")
    session.delete(mark)
    return True


def stale_marks(session: Session) -> list[int]:
    return list(session.scalars(select(InFlight.instance_id).where(InFlight.started_at.is_not(None))))
