"""Writing a case's trail: timeline entries, notifications, overdue records; where a case stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.orm import Session

from workflows.cases.lookups import CASE_IDS, NEW_CASES, remember_case
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


INSERT_ENTRIES = insert(TimelineEntry.__table__)
"""Timeline rows as a Core statement on the session (one row, or many with executemany)."""


def add_entry(session: Session, case: Case, kind: str, *, actor: User | None = None, level: str | None = None,
              unit: OrgUnit | UnitRef | None = None, department: Department | None = None, note: str | None = None,
              data: dict | None = None) -> None:
    """Append a timeline entry, written at once with one Core statement on the session (the unit of
    work costs several times more); a timeline the session has already loaded is read again."""
    if case.id is None:
        session.flush()  # a case created in this transaction gets its id
    values = entry_values(kind, actor=actor, level=level, unit=unit, department=department, note=note, data=data)
    session.connection().execute(INSERT_ENTRIES, dict(values, case_id=case.id))
    if "timeline" in case.__dict__:
        session.expire(case, ["timeline"])


def worded(key: str, **params) -> dict:
    """A note written as data: a key and parameters the reader's interface words in its language
    (``web/i18n.py`` ``NOTES``); goes into an entry's ``data`` (``data=worded(...)`` or merged in)."""
    return {"note_key": key, "note_params": {k: v for k, v in params.items() if v is not None}}


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


_USERS, _UNITS, _DEPARTMENTS = User.__table__.c, OrgUnit.__table__.c, Department.__table__.c
_ENTRIES, _CATEGORIES = TimelineEntry.__table__.c, Category.__table__.c
# Core statements run on the session's connection (``session.connection().execute``: SQLAlchemy's
# events and logging see them; ``session.execute`` would flush the session first): a case's
# changes are then written once, when the transaction flushes. What they read (units, staff,
# categories, timeline rows written at once) is never a pending change of the session.
_UNIT_STAFF = (select(_USERS.id).join(OrgUnit.__table__, _USERS.org_unit_id == _UNITS.id)
               .where(_UNITS.code == bindparam("code"), _USERS.active,
                      or_(_USERS.role == "coordinator", _USERS.role == "grid_worker")).order_by(_USERS.id))
_DEPARTMENT_STAFF = (select(_USERS.id).join(Department.__table__, _USERS.department_id == _DEPARTMENTS.id)
                     .where(_DEPARTMENTS.code == bindparam("code"), _USERS.active, _USERS.role == "department")
                     .order_by(_USERS.id))


def user_ids_of(session: Session, org_unit: str | None = None, department: str | None = None) -> list[int]:
    """The ids of ``users_of`` (what a notification needs), without loading the users."""
    ids: list[int] = []
    for statement, code in ((_UNIT_STAFF, org_unit), (_DEPARTMENT_STAFF, department)):
        if code:
            ids += list(session.connection().scalars(statement, {"code": code}))
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
    new = session.info.get(NEW_CASES, {}).get(number)
    if new is not None and new in session:
        return new
    known = session.info.setdefault(CASE_IDS, {})
    case = session.get(Case, known[number]) if number in known else None
    if case is None or case.number != number:  # (a rolled-back case's id may have been reused)
        case = session.scalar(select(Case).where(Case.number == number))
        if case is not None:
            remember_case(session, case)
    return case



# --- where a case stands in the org tree ------------------------------------------------------

@dataclass(frozen=True)
class UnitRef:
    """An org unit as the hot paths need it: read with a Core statement, no ORM object."""

    id: int
    code: str
    level: str
    parent_id: int | None


_UNIT_BY_ID = select(_UNITS.id, _UNITS.code, _UNITS.level, _UNITS.parent_id).where(_UNITS.id == bindparam("id"))
_UNIT_BY_CODE = (select(_UNITS.id, _UNITS.code, _UNITS.level, _UNITS.parent_id)
                 .where(_UNITS.code == bindparam("code")))
_ASSIGNED_DOWN = (select(_ENTRIES.org_unit_id)
                  .where(_ENTRIES.case_id == bindparam("case_id"), _ENTRIES.kind == "assigned_down")
                  .order_by(_ENTRIES.id.desc()).limit(1))


def unit_ref(session: Session, unit_id: int | None = None, *, code: str | None = None) -> UnitRef | None:
    """The unit with this id (or code), or None."""
    if unit_id is None and code is None:
        return None
    known = session.info.setdefault(_UNIT_REFS, {})
    key = ("id", unit_id) if unit_id is not None else ("code", code)
    if key in known:  # a unit's id, code, level and parent never change: read once per session
        return known[key]
    connection = session.connection()
    row = (connection.execute(_UNIT_BY_ID, {"id": unit_id}) if unit_id is not None
           else connection.execute(_UNIT_BY_CODE, {"code": code})).first()
    if row is None:
        return None
    ref = known[("id", row.id)] = known[("code", row.code)] = UnitRef(row.id, row.code, row.level, row.parent_id)
    return ref


_UNIT_REFS = "gridlink.unit_refs"


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
    found = session.connection().scalar(_ASSIGNED_DOWN, {"case_id": case.id}) if case.id is not None else None
    assigned = unit_ref(session, found) if found else None
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


_CATEGORY_CODE = select(_CATEGORIES.code).where(_CATEGORIES.id == bindparam("id"))


def category_code(session: Session, category_id: int) -> str | None:
    return session.connection().scalar(_CATEGORY_CODE, {"id": category_id})
