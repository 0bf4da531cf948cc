"""Core-level reads and writes for the runtime's hot path.

The ORM unit of work costs several times more than the engine step it persists, so the runtime
reads and writes its own rows with Core statements built once at module level, executed on the
session's connection (``session.execute``: same transaction, autoflush, visible to SQLAlchemy's
events and ``echo``), returning plain dataclasses or rows; projection and audit rows go in with
one executemany (``insertmanyvalues`` where the dialect has it). ORM copies other code may hold
in the session are expired after a Core write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound
from .models import EngineEvent, HumanTask, ProcessInstance, ProcessVersion

INSTANCES = ProcessInstance.__table__
TASKS = HumanTask.__table__
VERSIONS = ProcessVersion.__table__
EVENTS = EngineEvent.__table__

SAVED_FIELDS = ("state", "state_token", "serializer_version", "next_due", "status", "error_message",
                "error_element", "updated_at", "visited", "process_version_id")
TASK_FIELDS = tuple(c.key for c in TASKS.columns)
EVENT_FIELDS = ("instance_id", "at", "kind", "element_id", "task_id", "actor", "data")

ALWAYS_SAVED = ("state", "state_token", "updated_at")  # change on every save
_INSERT_INSTANCE = insert(INSTANCES).returning(INSTANCES.c.id)
# the fields to write are the parameters given: SQLAlchemy puts them in the SET clause
_UPDATE_INSTANCE = (update(INSTANCES)
                    .where(INSTANCES.c.id == bindparam("_id"), INSTANCES.c.lock_version == bindparam("_version"))
                    .values(lock_version=bindparam("_version") + 1))
_ROW = [c for c in INSTANCES.columns if c.key != "state"]  # the state is read only when not cached
_LOAD = select(*_ROW).where(INSTANCES.c.id == bindparam("id"))
_LOAD_LOCKED = _LOAD.with_for_update()
_STATE = select(INSTANCES.c.state).where(INSTANCES.c.id == bindparam("id"))
_TASK_COLUMNS = (TASKS.c.claimed_by, TASKS.c.form_schema, TASKS.c.name, TASKS.c.lane)
_OPEN_TASK = (select(*_TASK_COLUMNS, *_ROW).join_from(TASKS, INSTANCES, TASKS.c.instance_id == INSTANCES.c.id)
              .where(TASKS.c.id == bindparam("id")))
_OPEN_TASK_LOCKED = _OPEN_TASK.with_for_update(of=INSTANCES)
_ACTIVE_VERSION = select(VERSIONS.c.id, VERSIONS.c.version).where(
    VERSIONS.c.process_id == bindparam("process_id"), VERSIONS.c.active)
_GIVEN_VERSION = select(VERSIONS.c.id, VERSIONS.c.version).where(
    VERSIONS.c.process_id == bindparam("process_id"), VERSIONS.c.version == bindparam("version"))
_COMPLETION = (select(EVENTS.c.actor, EVENTS.c.at)
               .where(EVENTS.c.task_id == bindparam("id"), EVENTS.c.kind == "task_completed").limit(1))
_DELETE_TASKS = delete(TASKS).where(TASKS.c.id.in_(bindparam("ids", expanding=True)))
_INSERT_TASKS = insert(TASKS)  # executemany: insertmanyvalues where the dialect has it
_INSERT_EVENTS = insert(EVENTS)


@dataclass(slots=True, eq=False)
class InstanceRow:
    """A process instance as the runtime's hot path holds it: plain attributes, no ORM bookkeeping.

    ``loaded`` keeps the saved fields as read, so a save writes only what changed (an unchanged
    status or version leaves its index alone). ``state`` is None until it is read (see ``state_of``).
    """

    id: int | None
    process_version_id: int
    business_key: str | None
    status: str
    serializer_version: str
    state_token: str | None
    visited: list
    lock_version: int
    next_due: datetime | None
    error_message: str | None
    error_element: str | None
    created_at: datetime | None
    updated_at: datetime | None
    state: bytes | None = None
    loaded: dict = field(default_factory=dict)

    @classmethod
    def of(cls, values: dict) -> InstanceRow:
        row = cls(**values)
        row.loaded = {name: values.get(name) for name in SAVED_FIELDS if name not in ALWAYS_SAVED}
        return row

    def changed_fields(self) -> tuple[str, ...]:
        return tuple(name for name in SAVED_FIELDS
                     if name in ALWAYS_SAVED or getattr(self, name) != self.loaded.get(name, _UNSET))


_UNSET = object()


def version_ref(session: Session, process_id: str, version: int | None) -> tuple[int, int]:
    """(id, version number) of the active version of ``process_id``, or of the given version."""
    if version:
        found = session.execute(_GIVEN_VERSION, {"process_id": process_id, "version": version}).first()
    else:
        found = session.execute(_ACTIVE_VERSION, {"process_id": process_id}).first()
    if found is None:
        raise NotFound(f"process {process_id!r} has no version {version}" if version
                       else f"process {process_id!r} has no active version: deploy it first",
                       reason="version_unknown" if version else "no_active_version",
                       params={"process": process_id, "version": version})
    return found.id, found.version


def load_instance(session: Session, instance_id: int, lock: bool) -> InstanceRow | None:
    """An instance without its state (see ``state_of``), locked FOR UPDATE on PostgreSQL when asked."""
    query = _LOAD_LOCKED if lock and _postgres(session) else _LOAD
    found = session.execute(query, {"id": instance_id}).first()
    return None if found is None else InstanceRow.of(dict(found._mapping))


def new_instance(process_version_id: int, business_key: str | None, serializer_version: str) -> InstanceRow:
    return InstanceRow(id=None, process_version_id=process_version_id, business_key=business_key,
                       status="running", serializer_version=serializer_version, state_token=None, visited=[],
                       lock_version=1, next_due=None, error_message=None, error_element=None, created_at=None,
                       updated_at=None)


def open_task(session: Session, task_id: str, lock: bool = True) -> tuple[dict, InstanceRow] | None:
    """An open task (claimed_by, form_schema, name, lane) and its instance, in one query; the
    instance locked FOR UPDATE on PostgreSQL unless ``lock`` is false."""
    query = _OPEN_TASK_LOCKED if lock and _postgres(session) else _OPEN_TASK
    found = session.execute(query, {"id": task_id}).first()
    if found is None:
        return None
    values = dict(found._mapping)
    task = {c.key: values.pop(c.key) for c in _TASK_COLUMNS}
    return task, InstanceRow.of(values)


def state_of(session: Session, instance_id: int) -> bytes:
    return session.execute(_STATE, {"id": instance_id}).scalar_one()


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_instance(session: Session, row: InstanceRow) -> None:
    values = {c: getattr(row, c) for c in SAVED_FIELDS}
    values.update(business_key=row.business_key, lock_version=1, created_at=row.updated_at)
    row.id = session.execute(_INSERT_INSTANCE, values).scalar_one()
    row.lock_version = 1
    row.created_at = row.updated_at
    row.loaded = {name: values[name] for name in SAVED_FIELDS if name not in ALWAYS_SAVED}


def update_instance(session: Session, row: InstanceRow) -> None:
    """Write the fields that changed if nobody else wrote the row since we read it; else a Conflict."""
    params = {name: getattr(row, name) for name in row.changed_fields()}
    params.update(_id=row.id, _version=row.lock_version)
    if session.execute(_UPDATE_INSTANCE, params).rowcount != 1:
        raise Conflict(f"process instance {row.id} was changed by someone else: reload and try again",
                       reason="instance_changed")
    row.lock_version += 1
    row.loaded = {name: getattr(row, name) for name in SAVED_FIELDS if name not in ALWAYS_SAVED}
    _expire(session, ProcessInstance, [row.id])


def completion_of(session: Session, task_id: str):
    return session.execute(_COMPLETION, {"id": task_id}).first()


def delete_tasks(session: Session, task_ids: set[str]) -> None:
    session.execute(_DELETE_TASKS, {"ids": sorted(task_ids)})
    for obj in _cached(session, HumanTask, task_ids):
        session.expunge(obj)


def insert_tasks(session: Session, rows: list[dict]) -> None:
    session.execute(_INSERT_TASKS, rows)


def insert_events(session: Session, rows: list[dict]) -> None:
    session.execute(_INSERT_EVENTS, rows)


def flag_tasks(session: Session, instance_id: int, elements: set[str], at) -> None:
    """Mark open tasks of these elements: overdue once past their due time, else reminded."""
    scope = (TASKS.c.instance_id == instance_id) & TASKS.c.element_id.in_(elements)
    past_due = TASKS.c.due_at.is_not(None) & (TASKS.c.due_at <= at)
    session.execute(update(TASKS).where(scope & past_due).values(overdue_at=func.coalesce(TASKS.c.overdue_at, at)))
    session.execute(update(TASKS).where(scope & ~past_due).values(reminded_at=at))
    _expire(session, HumanTask, [t.id for t in _cached_by_instance(session, instance_id)])


def _cached(session: Session, model, ids) -> list:
    found = []
    for key in ids:
        obj = session.identity_map.get(session.identity_key(model, key))
        if obj is not None:
            found.append(obj)
    return found


def _cached_by_instance(session: Session, instance_id: int) -> list:
    return [o for o in session.identity_map.values() if isinstance(o, HumanTask) and o.instance_id == instance_id]


def _expire(session: Session, model, ids) -> None:
    for obj in _cached(session, model, ids):
        session.expire(obj)
