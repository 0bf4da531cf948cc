"""Finding a case by number, and remembering it in the session for ``case_by_number``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.models import Case
from workflows.errors import NotFound


def get_case(session: Session, number: str) -> Case:
    case = session.scalar(select(Case).where(Case.number == number)) if isinstance(number, str) else None
    if case is None:
        raise NotFound(f"case {number!r} does not exist; check the number (e.g. GL20261121-0001)",
                       field="number", reason="case_unknown", params={"number": number})
    remember_case(session, case)
    return case


def remember_case(session: Session, case: Case) -> None:
    """Let ``cases.timeline.case_by_number`` find a case of this session without a query (a new
    case not yet inserted is remembered as the object itself)."""
    if case.id is None:
        session.info.setdefault(NEW_CASES, {})[case.number] = case
    else:
        session.info.setdefault(CASE_IDS, {})[case.number] = case.id


CASE_IDS = "gridlink.case_ids_by_number"
NEW_CASES = "gridlink.new_cases_by_number"
