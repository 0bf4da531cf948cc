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

MEETING_STATUSES = ("summoned", "resolved", "confirmed")


ACTION_PHASES = ("survey", "preliminary", "concentrated")


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
        select(func.coalesce(func.sum(FundSpend.amount_cents), 0)).where(FundSpend.budget_id == budget.id)
    ).scalar_one()
    return int(total)


class FundSpend(Base):
    """Money paid from a budget for one case."""

    __tablename__ = "fund_spends"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_cents"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("fund_budgets.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    spent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    budget: Mapped[FundBudget] = relationship(back_populates="spends")
    case: Mapped[Case] = relationship()
