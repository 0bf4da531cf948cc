"""Writing a case's trail: timeline entries, notifications, overdue records; where a case stands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.orm import Session

from engine.prepared import Prepared
from workflows.common import is_within, now
from workflows.models import (
    Case,
    Department,
    Notification,
    OrgUnit,
    OverdueRecord,
    TimelineEntry,
    User,
    unit_at_level,
)

PUBLIC_KINDS = {"reported", "registered", "rejected", "merged", "escalated", "assigned_down", "dispatched",
                "whistle", "resolved", "closed", "rated"}
"""Kinds shown on the public /track page (without staff names)."""


def add_entry(session: Session, case: Case, kind: str, *, actor: User | None = None, level: str | None = None,
              unit: OrgUnit | None = None, department: Department | None = None, note: str | None = None,
              data: dict | None = None) -> TimelineEntry:
    entry = TimelineEntry(case=case, **entry_values(kind, actor=actor, level=level, unit=unit, department=department,
                                                   note=note, data=data))
    session.add(entry)
    return entry


def entry_values(kind: str, *, actor: User | None = None, level: str | None = None, unit: OrgUnit | None = None,
                 department: Department | None = None, note: str | None = None, data: dict | None = None,
                 at: datetime | None = None) -> dict:
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


def notify(session: Session, users: list[User | int], kind: str, case: Case | None, message: str) -> None:
    """One notification per distinct recipient (a User or a user id), written in one statement."""
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


def record_overdue(session: Session, case: Case, stage: str, *, level: str | None = None,
                   unit: OrgUnit | None = None, department: Department | None = None, due_at=None) -> None:
    session.add(OverdueRecord(case_id=case.id, stage=stage, level=level, org_unit_id=unit.id if unit else None,
                              department_id=department.id if department else None, due_at=due_at,
                              recorded_at=now()))


def case_by_number(session: Session, number: str | None) -> Case | None:
    """The case with this number; the engine hooks ask on every step, so a session remembers the
    cases it has found (a number never changes) and serves them from its identity map."""
    if not number:
        return None
    known = session.info.setdefault(_CASE_IDS, {})
    case = session.get(Case, known[number]) if number in known else None
    if case is None or case.number != number:  # (a rolled-back case's id may have been reused)
        case = session.scalar(select(Case).where(Case.number == number))
        if case is not None:
            remember_case(session, case)
    return case


def remember_case(session: Session, case: Case) -> None:
    """Let ``case_by_number`` find a case of this session (one just created and flushed) without a query."""
    session.info.setdefault(_CASE_IDS, {})[case.number] = case.id


_CASE_IDS = "gridlink.case_ids_by_number"


def anchor_unit(session: Session, case: Case) -> OrgUnit:
    """The unit a case's levels are counted from: its grid, or the unit it was assigned down to."""
    assigned_id = session.scalar(select(TimelineEntry.org_unit_id)
                                 .where(TimelineEntry.case_id == case.id, TimelineEntry.kind == "assigned_down")
                                 .order_by(TimelineEntry.id.desc()).limit(1))
    assigned = session.get(OrgUnit, assigned_id) if assigned_id else None
    if assigned is not None and (case.grid is None or not is_within(case.grid, assigned)):
        return assigned
    return case.grid or assigned or case.org_unit


def unit_for_level(session: Session, case: Case, level: str) -> OrgUnit:
    """The case's unit at ``level``: walk up the org tree from its anchor."""
    anchor = anchor_unit(session, case)
    return unit_at_level(session, anchor, level) or anchor
