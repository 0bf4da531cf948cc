"""What the reporter of a case hears: the number (and query code) on receipt, then the outcome."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.models import Case, TimelineEntry

from . import outbox
from .texts import CaseFacts

OUTCOME_ENTRIES = {"closed": "closed", "rejected": "rejected"}


def reporter_received(session: Session, case: Case, email: str | None, query_code: str | None = None) -> None:
    """In the report's transaction: keep the reporter's e-mail, queue the receipt (number, and the
    query code when the case has one).

    THE QUERY CODE HOOK: ``report_case`` passes the plain query code here when it makes one (only
    its hash is kept on the case, so the receipt is the one place it travels). It goes into the
    receipt's SMS and e-mail rows only (never to webhooks) and is wiped from a row once it is sent."""
    if case.id is None:
        session.flush()
    outbox.remember_reporter_email(session, case.id, email)
    outbox.queue_for_reporter(session, case, "case_reported", email=email,
                              private={"query_code": query_code} if query_code else None)


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
    return CaseFacts(number=case.number, title=case.title, status=case.status, outcome=outcome)
