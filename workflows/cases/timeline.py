"""Writing a case's trail: timeline entries, notifications, overdue records; where a case stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.prepared import Prepared
from workflows.cases.lookups import CASE_IDS, remember_case
from workflows.cases.models import Case, OverdueRecord, TimelineEntry
from workflows.clock import now
from workflows.errors import InvalidInput
from workflows.evaluation.charges import charge_overdue
from workflows.messaging.outbox import queue_for_users
from workflows.org.models import LEVELS, Department, OrgUnit
from workflows.people.models import Notification, User
from workflows.reference.models import Category

PUBLIC_KINDS = {"reported", "registered", "rejected", "merged", "escalated", "assigned_down", "dispatched",
                "whistle", "resolved", "closed", "rated"}
"""Kinds shown on the public /track page (without staff names)."""


_INSERT_ENTRY = Prepared(insert(TimelineEntry.__table__).values(
    {c: bindparam(c) for c in ("case_id", "kind", "at", "actor_id", "actor_name", "level", "org_unit_id",
                               "department_id", "note", "public", "data")}))


def add_entry(session: Session, case: Case, kind: str, *, actor: User | None = None, level: str | None = None,
              unit: OrgUnit | UnitRef | None = None, department: Department | None = None, note: str | None = None,
              data: dict | None = None) -> None:
    """Append a timeline entry, written at once with one prepared statement (the unit of work
    costs several times more); a timeline the session has already loaded is read again."""
    if case.id is None:
        session.flush()  # a case created in this transaction gets its id
    _INSERT_ENTRY.run(session, dict(entry_values(kind, actor=actor, level=level, unit=unit, department=department,
                                                 note=note, data=data), case_id=case.id))
    if "timeline" in case.__dict__:
        session.expire(case, ["timeline"])


def entry_values(kind: str, *, actor: User | None = None, level: str | None = None,
                 unit: OrgUnit | UnitRef | None = None, department: Department | None = None, note: str | None = None,
                 data: dict | None = None, at: datetime | None = None) -> dict:
    """The columns of a timeline entry but its case."""
    return dict(kind=kind, at=at or now(), actor_id=actor.id if actor else None,
                actor_name=actor.display_name if actor else None, level=level, org_unit_id=unit.id if unit else None,
                department_id=department.id if department else None, note=note, public=kind in PUBLIC_KINDS,
                data=data or {})


def users_of(session: Session, org_unit: str | None = None, department: str | None = None) -> list[User]:
    """The active users who work for an org unit (coordinators, grid workers) or a department."""
    users: list[User] = []
    if org_unit:
        users += session.scalars(select(User).join(OrgUnit, User.org_unit_id == OrgUnit.id)
                                 .where(OrgUnit.code == org_unit, User.active,
                                        User.role.in_(("coordinator", "grid_worker")))
                                 .order_by(User.id))
    if department:
        users += session.scalars(select(User).join(Department, User.department_id == Department.id)
                                 .where(Department.code == department, User.active, User.role == "department")
                                 .order_by(User.id))
    return users


_UNIT_STAFF = Prepared(select(User.id).join(OrgUnit, User.org_unit_id == OrgUnit.id)
                      .where(OrgUnit.code == bindparam("code"), User.active,
                             or_(User.role == "coordinator", User.role == "grid_worker")).order_by(User.id))
_DEPARTMENT_STAFF = Prepared(select(User.id).join(Department, User.department_id == Department.id)
                             .where(Department.code == bindparam("code"), User.active, User.role == "department")
                             .order_by(User.id))


def user_ids_of(session: Session, org_unit: str | None = None, department: str | None = None) -> list[int]:
    """The ids of ``users_of`` (what a notification needs), without loading the users."""
    ids: list[int] = []
    for statement, code in ((_UNIT_STAFF, org_unit), (_DEPARTMENT_STAFF, department)):
        if code:
            ids += [row["id"] for row in statement.run(session, {"code": code}).all()]
    return ids


def notify(session: Session, users: list[User | int], kind: str, case: Case | None, message: str,
           data: dict | None = None) -> None:
    """One notification per distinct recipient (a User or a user id), written in one statement, and
    the e-mails, SMS and webhook events they chose in the outbox (``data``: what those texts need)."""
    recipients = dict.fromkeys(u if isinstance(u, int) else u.id for u in users if u is not None)
    if not recipients:
        return
    if case is not None and case.id is None:
        session.flush()  # a case created in this transaction gets its id
    link, at = (f"/cases/{case.number}" if case else None), now()
    # on the connection: a notification needs no pending change of the session flushed first
    session.connection().execute(insert(Notification.__table__), [
        {"user_id": user_id, "kind": kind, "case_id": case.id if case else None, "message": message, "link": link,
         "created_at": at} for user_id in recipients])
    queue_for_users(session, list(recipients), kind, case.id if case else None, message, data)


def record_overdue(session: Session, case: Case, stage: str, *, level: str | None = None,
                   unit: OrgUnit | None = None, department: Department | None = None, due_at=None) -> None:
    session.add(OverdueRecord(case_id=case.id, stage=stage, level=level, org_unit_id=unit.id if unit else None,
                              department_id=department.id if department else None, due_at=due_at,
                              recorded_at=now()))
    charge_overdue(session, case, stage, level=level, unit=unit, department=department)


def case_by_number(session: Session, number: str | None) -> Case | None:
    """The case with this number; the engine hooks ask on every step, so a session remembers the
    cases it has found (a number never changes) and serves them from its identity map."""
    if not number:
        return None
    known = session.info.setdefault(CASE_IDS, {})
    case = session.get(Case, known[number]) if number in known else None
    if case is None or case.number != number:  # (a rolled-back case's id may have been reused)
        case = session.scalar(select(Case).where(Case.number == number))
        if case is not None:
            remember_case(session, case)
    return case



_RELATIONS = {"org_unit_id": "org_unit", "grid_id": "grid", "merged_into_id": "merged_into",
              "category_id": "category", "created_by_id": "created_by"}


def set_case(session: Session, case: Case, **values) -> None:
    """Change columns of a persistent case with one prepared UPDATE, and the case object with them
    (as loaded, not as a pending change: the unit of work would write them a second time)."""
    columns = tuple(sorted(values))
    statement = _CASE_UPDATES.get(columns)
    if statement is None:
        statement = _CASE_UPDATES.setdefault(columns, Prepared(
            update(Case.__table__).where(Case.__table__.c.id == bindparam("case_id"))
            .values({c: bindparam(c) for c in columns})))
    statement.run(session, dict(values, case_id=case.id))
    for column, value in values.items():
        set_committed_value(case, column, value)
        relation = _RELATIONS.get(column)
        if relation is not None and relation in case.__dict__:
            session.expire(case, [relation])


_CASE_UPDATES: dict[tuple[str, ...], Prepared] = {}


# --- where a case stands in the org tree ------------------------------------------------------

@dataclass(frozen=True)
class UnitRef:
    """An org unit as the hot paths need it: read with a prepared statement, no ORM object."""

    id: int
    code: str
    level: str
    parent_id: int | None


_UNIT_BY_ID = Prepared(select(OrgUnit.id, OrgUnit.code, OrgUnit.level, OrgUnit.parent_id)
                       .where(OrgUnit.id == bindparam("id")))
_UNIT_BY_CODE = Prepared(select(OrgUnit.id, OrgUnit.code, OrgUnit.level, OrgUnit.parent_id)
                         .where(OrgUnit.code == bindparam("code")))
_ASSIGNED_DOWN = Prepared(select(TimelineEntry.org_unit_id)
                          .where(TimelineEntry.case_id == bindparam("case_id"), TimelineEntry.kind == "assigned_down")
                          .order_by(TimelineEntry.id.desc()).limit(1))


def unit_ref(session: Session, unit_id: int | None = None, *, code: str | None = None) -> UnitRef | None:
    """The unit with this id (or code), or None."""
    if unit_id is None and code is None:
        return None
    row = (_UNIT_BY_ID.run(session, {"id": unit_id}) if unit_id is not None
           else _UNIT_BY_CODE.run(session, {"code": code})).first()
    return UnitRef(row["id"], row["code"], row["level"], row["parent_id"]) if row else None


def _ref_within(session: Session, unit: UnitRef, ancestor: UnitRef) -> bool:
    current: UnitRef | None = unit
    seen: set[int] = set()
    while current is not None and current.id not in seen:
        if current.id == ancestor.id:
            return True
        seen.add(current.id)
        current = unit_ref(session, current.parent_id)
    return False


def anchor_ref(session: Session, case: Case) -> UnitRef:
    """The unit a case's levels are counted from: its grid, or the unit it was assigned down to."""
    found = _ASSIGNED_DOWN.run(session, {"case_id": case.id}).first() if case.id is not None else None
    assigned = unit_ref(session, found["org_unit_id"]) if found else None
    grid = unit_ref(session, case.grid_id)
    if assigned is not None and (grid is None or not _ref_within(session, grid, assigned)):
        return assigned
    return grid or assigned or unit_ref(session, case.org_unit_id)


def unit_ref_for_level(session: Session, case: Case, level: str) -> UnitRef:
    """The case's unit at ``level``: walk up the org tree from its anchor (the anchor itself when
    no unit above it has that level)."""
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}; use one of: {', '.join(LEVELS)}", field="level")
    anchor = current = anchor_ref(session, case)
    seen: set[int] = set()
    while current is not None and current.id not in seen:
        if current.level == level:
            return current
        seen.add(current.id)
        current = unit_ref(session, current.parent_id)
    return anchor


def anchor_unit(session: Session, case: Case) -> OrgUnit:
    return session.get(OrgUnit, anchor_ref(session, case).id)


def unit_for_level(session: Session, case: Case, level: str) -> OrgUnit:
    """The case's unit at ``level`` as an ORM object (see ``unit_ref_for_level``)."""
    return session.get(OrgUnit, unit_ref_for_level(session, case, level).id)


_CATEGORY_CODE = Prepared(select(Category.code).where(Category.id == bindparam("id")))


def category_code(session: Session, category_id: int) -> str | None:
    row = _CATEGORY_CODE.run(session, {"id": category_id}).first()
    return row["code"] if row else None
