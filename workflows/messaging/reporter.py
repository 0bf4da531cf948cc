"""What the reporter of a case hears: the number (and query code) on receipt, then the outcome."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import Case, TimelineEntry

from . import outbox
from .texts import CaseFacts

OUTCOME_ENTRIES = {"closed": "closed", "rejected": "rejected"}


def query_code_of(case: Case) -> str | None:
    """THE HOOK FOR THE QUERY CODE: the code a reporter uses with the number on the public track
    page. It is read from ``Case.query_code`` once the case carries one (added on another branch);
    until then there is none and the messages give the number alone."""
    code = getattr(case, "query_code", None)
    return code if isinstance(code, str) and code else None


def reporter_received(session: Session, case: Case, email: str | None) -> None:
    """In the report's transaction: keep the reporter's e-mail, queue the receipt."""
    if case.id is None:
        session.flush()
    outbox.remember_reporter_email(session, case.id, email)
    outbox.queue_for_reporter(session, case, "case_reported", email=email)


def reporter_outcome(session: Session, case: Case, outcome: str) -> None:
    """In the closing (or rejecting) transaction: queue the outcome for the reporter."""
    if outcome in OUTCOME_ENTRIES:
        outbox.queue_for_reporter(session, case, f"case_{outcome}")


def case_facts(session: Session, case_id: int) -> CaseFacts | None:
    case = session.get(Case, case_id)
    if case is None:
        return None
    kind = OUTCOME_ENTRIES.get(case.status)
    outcome = None
    if kind is not None:
        outcome = session.scalar(select(TimelineEntry.note).where(TimelineEntry.case_id == case_id,
                                                                  TimelineEntry.kind == kind)
                                 .order_by(TimelineEntry.id.desc()).limit(1))
    return CaseFacts(number=case.number, title=case.title, status=case.status, query_code=query_code_of(case),
                     outcome=outcome)
