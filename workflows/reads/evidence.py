"""The evidence a decision is made on, put where the decision is made.

- ``task_evidence``: on a verification task, the handler's latest result (what was done, by whom,
  for which unit, when) and the photos attached as results; on a task that redoes work after a
  rework, the latest rework comment, so it sits at the top of the task instead of at the bottom of
  the timeline.
- ``public_evidence``: for /track, the unit handling the case and the photos safe to show anyone:
  only those the handlers attached as results (``purpose == "result"``). The reporter's own photos
  are never shown there, whatever the category: they may show faces, number plates or the inside of
  a home, and the resident already has them (docs/WEB.md, /track, states this rule too).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.models import Attachment, Case, TimelineEntry

VERIFY_KINDS = ("verify",)
"""Task kinds that decide on a handler's result."""

REDO_KINDS = ("handle", "dept_result", "register")
"""Task kinds that may be a redo after a rework."""


def _latest(session: Session, case: Case, kind: str) -> TimelineEntry | None:
    return session.scalar(select(TimelineEntry).where(TimelineEntry.case_id == case.id, TimelineEntry.kind == kind)
                          .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc()).limit(1))


def result_photos(session: Session, case: Case) -> list[dict]:
    rows = session.scalars(select(Attachment).where(Attachment.case_id == case.id, Attachment.purpose == "result")
                           .order_by(Attachment.created_at, Attachment.id))
    return [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "created_at": a.created_at}
            for a in rows]


def _entry(entry: TimelineEntry) -> dict:
    return {"at": entry.at, "by": entry.actor_name, "text": entry.note or "",
            "org_unit": entry.org_unit.code if entry.org_unit else None,
            "org_unit_name": entry.org_unit.name if entry.org_unit else None,
            "department": entry.department.code if entry.department else None,
            "department_name": entry.department.name if entry.department else None}


def task_evidence(session: Session, case: Case, task_kind: str | None) -> dict:
    """``{"result": ..., "photos": [...], "rework": ...}`` for a task of ``task_kind`` on ``case``;
    the keys that do not apply are None (or an empty list)."""
    evidence: dict = {"result": None, "photos": [], "rework": None}
    if task_kind in VERIFY_KINDS:
        resolved = _latest(session, case, "resolved")
        evidence["result"] = _entry(resolved) if resolved is not None else None
        evidence["photos"] = result_photos(session, case)
    if task_kind in REDO_KINDS and case.reworked_count:
        rework = _latest(session, case, "rework")
        resolved = _latest(session, case, "resolved")
        if rework is not None and (resolved is None or (rework.at, rework.id) > (resolved.at, resolved.id)):
            evidence["rework"] = _entry(rework)
    return evidence


def handling_unit(case: Case) -> dict:
    """The unit (or, while dispatched, the departments) working on the case, by name only."""
    departments = [d.department.name for d in case.dispatches if d.returned_at is None and d.result is None]
    return {"org_unit": case.org_unit.name if case.org_unit else None, "departments": departments}


def public_evidence(session: Session, case: Case) -> dict:
    """What /track may show beyond the status: the handling unit and the result photos."""
    return {"handling": handling_unit(case), "photos": result_photos(session, case)}


def track_evidence(system, number: str, query_code: str | None) -> dict:
    """``public_evidence`` of the case with this number and query code (the NotFound of /track when
    the code does not match)."""
    from workflows.cases.lookups import get_case
    from workflows.cases.reporting import public_case_view

    public_case_view(system, number, query_code)  # checks the code, same answer as /track
    with system.sessions() as session:
        return public_evidence(session, get_case(session, number))


def public_photo(system, number: str, query_code: str | None, attachment_id: int) -> dict:
    """A result photo of the case, for whoever holds its number and query code; the reporter's own
    photos and anything else are a NotFound."""
    from workflows.cases.lookups import get_case
    from workflows.cases.reporting import public_case_view
    from workflows.errors import NotFound

    public_case_view(system, number, query_code)
    with system.sessions() as session:
        case = get_case(session, number)
        row = session.get(Attachment, attachment_id) if 0 < attachment_id < 2**31 else None
        if row is None or row.case_id != case.id or row.purpose != "result":
            raise NotFound(f"case {number} has no public photo {attachment_id}", field="id")
        return {"path": system.upload_dir / row.stored_name, "content_type": row.content_type,
                "filename": row.filename}
