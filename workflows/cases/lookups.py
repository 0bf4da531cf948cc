"""Finding a case by number, and remembering it in the session for ``case_by_number``."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.prepared import Prepared, adopt, flushed
from workflows.cases.models import Case
from workflows.errors import NotFound

_CASE_ROW = Prepared(select(Case.__table__).where(Case.__table__.c.number == bindparam("number")))


def get_case(session: Session, number: str) -> Case:
    found = _CASE_ROW.run(flushed(session), {"number": number}).first() if isinstance(number, str) else None
    if found is None:
        raise NotFound(f"case {number!r} does not exist; check the number (e.g. GL20261121-0001)",
                       field="number", reason="case_unknown", params={"number": number})
    case = adopt(session, Case, found)
    remember_case(session, case)
    return case


def remember_case(session: Session, case: Case) -> None:
    """Let ``cases.timeline.case_by_number`` find a case of this session without a query."""
    session.info.setdefault(CASE_IDS, {})[case.number] = case.id


CASE_IDS = "gridlink.case_ids_by_number"
