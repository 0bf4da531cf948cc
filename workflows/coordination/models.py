"""Coordination's tables: dispatches to departments, joint meetings, the small-matters fund."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine import Base, UTCDateTime, utcnow
from workflows.columns import one_of
from workflows.org.models import LEVELS
from workflows.reference.models import URGENCIES

if TYPE_CHECKING:
    from workflows.cases.models import Case
    from workflows.org.models import Department, OrgUnit
    from workflows.people.models import User

MEETING_STATUSES = ("summoned", "resolved", "confirmed")


ACTION_PHASES = ("survey", "preliminary", "concentrated")
SPEND_STATUSES = ("proposed", "approved", "refused")
"""A fund spend: ``proposed`` waits for the station chief; only ``approved`` ones are paid."""


class Dispatch(Base):
    """A case sent out to one department: accept (or return) in time, then report the result."""

    __tablename__ = "dispatches"
    __table_args__ = (
        one_of("level", LEVELS, "level"),
        Index("ix_dispatches_department_dispatched", "department_id", "dispatched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    level: Mapped[str] = mapped_column(String(20))
    """The level that dispatched it."""
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    instructions: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accept_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    result_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accept_overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    result_overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    case: Mapped[Case] = relationship(back_populates="dispatches")
    department: Mapped[Department] = relationship()
    org_unit: Mapped[OrgUnit] = relationship()


class Meeting(Base):
    """A joint meeting convened by blowing the whistle (吹哨): departments report to duty."""

    __tablename__ = "meetings"
    __table_args__ = (
        one_of("level", LEVELS, "level"),
        one_of("urgency", URGENCIES, "urgency"),
        one_of("status", MEETING_STATUSES, "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    convened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    urgency: Mapped[str] = mapped_column(String(20), default="routine")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(300))
    duty_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes: Mapped[str | None] = mapped_column(Text)
    lead_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(20), default="summoned")
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="meetings")
    org_unit: Mapped[OrgUnit] = relationship()
    lead_department: Mapped[Department | None] = relationship()
    summons: Mapped[list[MeetingSummons]] = relationship(
        back_populates="meeting", order_by="MeetingSummons.id", cascade="all, delete-orphan"
    )
    actions: Mapped[list[MeetingAction]] = relationship(
        back_populates="meeting", order_by="MeetingAction.id", cascade="all, delete-orphan"
    )


class MeetingSummons(Base):
    """One department called to a meeting, and whether (and when) it reported to duty."""

    __tablename__ = "meeting_summons"
    __table_args__ = (UniqueConstraint("meeting_id", "department_id", name="uq_meeting_summons_department"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delegate: Mapped[str | None] = mapped_column(String(100))
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    meeting: Mapped[Meeting] = relationship(back_populates="summons")
    department: Mapped[Department] = relationship()


class MeetingAction(Base):
    """One thing a meeting resolved that somebody must do by a date.

    Usually a department's; an org unit (community volunteers) or an outside ``party`` (a school,
    a car-park operator) may hold it instead, followed up by the convening coordinator.
    """

    __tablename__ = "meeting_actions"
    __table_args__ = (
        one_of("phase", ACTION_PHASES, "phase"),
        CheckConstraint(
            "department_id IS NOT NULL OR org_unit_id IS NOT NULL OR party IS NOT NULL", name="has_owner"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    party: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(Text)
    phase: Mapped[str | None] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    meeting: Mapped[Meeting] = relationship(back_populates="actions")
    department: Mapped[Department | None] = relationship()
    org_unit: Mapped[OrgUnit | None] = relationship()


class FundBudget(Base):
    """A workstation's livelihood small-matters fund (民生小事专项经费) for one year."""

    __tablename__ = "fund_budgets"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "year", name="uq_fund_budgets_org_unit_year"),
        CheckConstraint("amount_cents >= 0", name="amount_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    org_unit: Mapped[OrgUnit] = relationship()
    spends: Mapped[list[FundSpend]] = relationship(back_populates="budget", order_by="FundSpend.id")


def budget_spent_cents(session: Session, budget: FundBudget) -> int:
    """The sum spent from ``budget`` so far."""
    total = session.execute(
        select(func.coalesce(func.sum(FundSpend.amount_cents), 0))
        .where(FundSpend.budget_id == budget.id, FundSpend.status == "approved")
    ).scalar_one()
    return int(total)


class FundSpend(Base):
    """Money paid from a budget for one case."""

    __tablename__ = "fund_spends"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_cents"),
        one_of("status", SPEND_STATUSES, "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("fund_budgets.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    spent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When it was proposed (and, below the threshold, paid)."""
    status: Mapped[str] = mapped_column(String(20), default="approved", server_default="approved")
    """``proposed`` waits for the station chief; only ``approved`` spends count against the budget."""
    payee: Mapped[str | None] = mapped_column(String(200))
    receipt_name: Mapped[str | None] = mapped_column(String(255))
    """The receipt photo's file under the upload folder."""
    receipt_type: Mapped[str | None] = mapped_column(String(100))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    budget: Mapped[FundBudget] = relationship(back_populates="spends")
    case: Mapped[Case] = relationship()
    spent_by: Mapped[User | None] = relationship(foreign_keys=[spent_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# --- the fund's controls ---------------------------------------------------------------------


class FundControl(Base):
    """Who approves which spends: above ``threshold_cents`` a spend waits for the station chief.

    One row per workstation, or the global row (``org_unit_id`` NULL) for workstations without
    their own. ``chief_id`` names the station chief (站长); without one, any coordinator of the
    workstation but the proposer approves."""

    __tablename__ = "fund_controls"
    __table_args__ = (
        UniqueConstraint("org_unit_id", name="uq_fund_controls_org_unit"),
        CheckConstraint("threshold_cents >= 0", name="threshold_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    threshold_cents: Mapped[int] = mapped_column(BigInteger)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    org_unit: Mapped[OrgUnit | None] = relationship()
    chief: Mapped[User | None] = relationship()


# --- rectification notices and supervision orders --------------------------------------------

DOCUMENT_KINDS = ("notice", "supervision")
"""``notice`` 整改通知单, ``supervision`` 督办单."""
DOCUMENT_STATES = ("issued", "served", "answered", "complied")
"""In order; a document only moves forward (steps may be skipped)."""
ADDRESSEE_KINDS = ("org_unit", "department", "user", "outside")


class CaseDocument(Base):
    """A rectification notice or supervision order issued on a case, numbered per year and kind."""

    __tablename__ = "case_documents"
    __table_args__ = (
        one_of("kind", DOCUMENT_KINDS, "kind"),
        one_of("state", DOCUMENT_STATES, "state"),
        one_of("addressee_kind", ADDRESSEE_KINDS, "addressee_kind"),
        UniqueConstraint("kind", "year", "serial", name="uq_case_documents_kind_year_serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    addressee_kind: Mapped[str] = mapped_column(String(20))
    addressee_name: Mapped[str] = mapped_column(String(200))
    addressee_contact: Mapped[str | None] = mapped_column(String(200))
    addressee_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    addressee_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    addressee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    requirement: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="issued")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    issuer_unit: Mapped[OrgUnit] = relationship(foreign_keys=[issuer_unit_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    addressee_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[addressee_unit_id])
    addressee_department: Mapped[Department | None] = relationship()
    addressee_user: Mapped[User | None] = relationship(foreign_keys=[addressee_user_id])
    events: Mapped[list[DocumentEvent]] = relationship(
        back_populates="document", order_by="DocumentEvent.id", cascade="all, delete-orphan"
    )


class DocumentEvent(Base):
    """One state change of a document (issued, served, answered, complied): who, when, a note."""

    __tablename__ = "document_events"
    __table_args__ = (one_of("state", DOCUMENT_STATES, "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("case_documents.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)

    document: Mapped[CaseDocument] = relationship(back_populates="events")
