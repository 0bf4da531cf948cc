"""What the domain reads of the engine's tables, as plain dataclasses (no ORM object leaves the engine).

- ``OpenTask``: one open (READY) human task of the projection; ``open_tasks``/``count_open_tasks``
  select them by ``TaskQuery`` (unit, department, business key, claimant, overdue...) with the
  paging and ordering done in SQL; ``open_task_keys`` is the same filter as a sub-select of
  business keys (for "cases with a task of my department").
- ``InstanceSummary``: an instance without its state; ``instance_counts`` per version and status.
- ``VersionView``: a deployed version with its files (not its parsed spec); ``versions`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, defer

from ..errors import NotFound
from .db import utcnow
from .models import HumanTask, ProcessInstance, ProcessVersion

_TASK_FIELDS = ("id", "instance_id", "business_key", "process_id", "element_id", "name", "lane", "properties",
                "form_schema", "org_unit", "department", "role", "context", "claimed_by", "created_at", "due_at",
                "reminded_at", "overdue_at")
TASK_ORDERS = ("due", "newest", "oldest")


@dataclass
class OpenTask:
    """An open human task as the projection holds it: where it waits, who holds it, when it is due."""

    id: str
    instance_id: int
    business_key: str | None
    process_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict
    form_schema: str | None
    org_unit: str | None
    department: str | None
    role: str | None
    context: dict
    claimed_by: str | None
    created_at: datetime
    due_at: datetime | None
    reminded_at: datetime | None
    overdue_at: datetime | None

    def is_overdue(self, moment: datetime | None = None) -> bool:
        moment = moment or utcnow()
        return self.overdue_at is not None or (self.due_at is not None and self.due_at <= moment)


def task_of(row) -> OpenTask:
    """The view of one projection row (an ORM row or a Core row of ``human_tasks``)."""
    mapping = row._mapping if hasattr(row, "_mapping") else None
    values = {name: (mapping[name] if mapping is not None else getattr(row, name)) for name in _TASK_FIELDS}
    values["properties"] = dict(values["properties"] or {})
    values["context"] = dict(values["context"] or {})
    return OpenTask(**values)


@dataclass(frozen=True)
class TaskQuery:
    """Which open tasks: each field that is not None narrows the selection.

    ``org_units``/``departments`` are codes (an empty collection selects nothing); ``business_keys``
    may be a sub-select of keys; ``overdue`` True keeps the late ones, False the others."""

    org_units: Iterable[str] | None = None
    departments: Iterable[str] | None = None
    business_key: str | None = None
    business_keys: Select | Iterable[str] | None = None
    instance_id: int | None = None
    element_id: str | None = None
    claimed_by: str | None = None
    overdue: bool | None = None
    task_kinds: Iterable[str] | None = None
    moment: datetime | None = field(default=None, compare=False)


def _conditions(query: TaskQuery) -> list:
    t = HumanTask.__table__.c
    out: list = []
    if query.org_units is not None:
        codes = list(query.org_units)
        out.append(t.org_unit.in_(codes) if codes else false())
    if query.departments is not None:
        codes = list(query.departments)
        out.append(t.department.in_(codes) if codes else false())
    if query.business_key is not None:
        out.append(t.business_key == query.business_key)
    if query.business_keys is not None:
        keys = query.business_keys if isinstance(query.business_keys, Select) else list(query.business_keys)
        out.append(t.business_key.in_(keys))
    if query.instance_id is not None:
        out.append(t.instance_id == query.instance_id)
    if query.element_id is not None:
        out.append(t.element_id == query.element_id)
    if query.claimed_by is not None:
        out.append(t.claimed_by == query.claimed_by)
    moment = query.moment or utcnow()
    if query.overdue is True:
        out.append(or_(t.overdue_at.is_not(None), t.due_at <= moment))
    elif query.overdue is False:
        out.append(t.overdue_at.is_(None))
        out.append(or_(t.due_at.is_(None), t.due_at > moment))
    return out


def _ordering(order: str) -> list:
    t = HumanTask.__table__.c
    if order == "due":
        return [t.due_at.is_(None), t.due_at, t.created_at, t.id]
    if order == "newest":
        return [t.created_at.desc(), t.id.desc()]
    if order == "oldest":
        return [t.created_at, t.id]
    raise ValueError(f"task order {order!r} is not one of {', '.join(TASK_ORDERS)}")


def open_tasks(session: Session, query: TaskQuery | None = None, order: str = "due", limit: int | None = None,
               offset: int = 0) -> list[OpenTask]:
    """The open tasks ``query`` selects, ordered (``due``: soonest due first, no deadline last;
    ``newest``; ``oldest``) and paged in SQL. Kinds (``properties.task_kind``) are matched after."""
    query = query or TaskQuery()
    statement = select(HumanTask.__table__).where(*_conditions(query)).order_by(*_ordering(order))
    kinds = None if query.task_kinds is None else set(query.task_kinds)
    if kinds is None:
        statement = statement.offset(offset or None).limit(limit)
    tasks = [task_of(row) for row in session.execute(statement)]
    if kinds is not None:
        tasks = [t for t in tasks if (t.properties.get("task_kind") or t.context.get("task_kind")) in kinds]
        tasks = tasks[offset:None if limit is None else offset + limit]
    return tasks


def count_open_tasks(session: Session, query: TaskQuery | None = None) -> int:
    query = query or TaskQuery()
    if query.task_kinds is not None:
        return len(open_tasks(session, query))
    statement = select(func.count()).select_from(HumanTask.__table__).where(*_conditions(query))
    return session.scalar(statement) or 0


def open_task_keys(query: TaskQuery) -> Select:
    """The business keys of the open tasks ``query`` selects, as a sub-select."""
    return select(HumanTask.__table__.c.business_key).where(*_conditions(query))


def open_task(session: Session, task_id: str) -> OpenTask | None:
    row = session.execute(select(HumanTask.__table__).where(HumanTask.__table__.c.id == task_id)).first()
    return task_of(row) if row is not None else None


@dataclass(frozen=True)
class InstanceSummary:
    """An instance without its state: which version, where it stands, what it did so far."""

    id: int
    process_version_id: int
    process_id: str
    version: int
    business_key: str | None
    status: str
    visited: list
    next_due: datetime | None
    error_message: str | None
    error_element: str | None
    created_at: datetime
    updated_at: datetime


def instance_summary(session: Session, instance_id: int) -> InstanceSummary | None:
    i, v = ProcessInstance.__table__.c, ProcessVersion.__table__.c
    row = session.execute(
        select(i.id, i.process_version_id, v.process_id, v.version, i.business_key, i.status, i.visited, i.next_due,
               i.error_message, i.error_element, i.created_at, i.updated_at)
        .join(ProcessVersion.__table__, v.id == i.process_version_id).where(i.id == instance_id)).first()
    if row is None:
        return None
    values = dict(row._mapping)
    values["visited"] = list(values["visited"] or [])
    return InstanceSummary(**values)


def instance_counts(session: Session) -> dict[int, dict[str, int]]:
    """How many instances each version has, per status: ``{version_id: {status: n}}``."""
    i = ProcessInstance.__table__.c
    counts: dict[int, dict[str, int]] = {}
    for version_id, status, n in session.execute(select(i.process_version_id, i.status, func.count())
                                                 .group_by(i.process_version_id, i.status)):
        counts.setdefault(version_id, {})[status] = n
    return counts


@dataclass(frozen=True)
class VersionView:
    """A deployed version: its number, whether it is the active one, its files (BPMN, DMN, forms)."""

    id: int
    process_id: str
    version: int
    name: str | None
    active: bool
    deployed_by: str | None
    deployed_at: datetime
    files: dict


def version_of(row: ProcessVersion) -> VersionView:
    return VersionView(row.id, row.process_id, row.version, row.name, bool(row.active), row.deployed_by,
                       row.deployed_at, dict(row.files or {}))


def _version_query(process_id: str | None, active: bool | None):
    query = select(ProcessVersion).options(defer(ProcessVersion.spec_json))
    if process_id is not None:
        query = query.where(ProcessVersion.process_id == process_id)
    if active is not None:
        query = query.where(ProcessVersion.active.is_(active))
    return query


def versions(session: Session, process_id: str | None = None, active: bool | None = None,
             limit: int | None = None, offset: int = 0) -> list[VersionView]:
    """Deployed versions by process id, newest version first."""
    query = _version_query(process_id, active).order_by(ProcessVersion.process_id, ProcessVersion.version.desc())
    return [version_of(row) for row in session.scalars(query.offset(offset or None).limit(limit))]


def count_versions(session: Session, process_id: str | None = None, active: bool | None = None) -> int:
    query = _version_query(process_id, active).with_only_columns(func.count()).order_by(None)
    return session.scalar(query) or 0


def version_by_id(session: Session, version_id: int) -> VersionView:
    row = session.get(ProcessVersion, version_id)
    if row is None:
        raise NotFound(f"process version {version_id} does not exist")
    return version_of(row)
