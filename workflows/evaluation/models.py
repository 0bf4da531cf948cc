"""Evaluation's tables: score weights, charges and their appeals, published monthly reports and
inspection scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime, utcnow
from workflows.columns import one_of
from workflows.org.models import LEVELS

CHARGE_KINDS = ("overdue", "duty_late", "rework", "inaccurate_dispatch")
"""What a party is charged with: a time limit run out at its level (or its department stage), a late
or absent report to duty, its own result rejected by the verifier, a dispatch returned as not the
receiving department's work (charged to the dispatcher)."""
CHARGE_STATUSES = ("active", "withdrawn")
APPEAL_STATUSES = ("pending", "upheld", "rejected")
INSPECTION_KINDS = ("self_check", "monthly_inspection", "third_party", "spot_check")
"""自查, 月度检查, 第三方测评, 随机抽查."""


class EvaluationWeight(Base):
    """A weight of the composite evaluation score, e.g. ``department.closure`` = 0.3."""

    __tablename__ = "evaluation_weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    weight: Mapped[float] = mapped_column(Float)


class Charge(Base):
    """One charge against the party that caused it, written when it happens.

    The party is the department when ``department_id`` is set, else the org unit ``org_unit_id``;
    ``scope_unit_id`` is the unit in whose area it happened (for scoping). An upheld appeal sets
    ``status`` to ``withdrawn``: a withdrawn charge counts in no figure."""

    __tablename__ = "evaluation_charges"
    __table_args__ = (
        one_of("kind", CHARGE_KINDS, "kind"),
        one_of("status", CHARGE_STATUSES, "status"),
        one_of("level", LEVELS, "level"),
        Index("ix_evaluation_charges_recorded_at", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(20))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    note: Mapped[str | None] = mapped_column(Text)


class Appeal(Base):
    """An appeal (申诉) of a charge by the charged party, decided by the registering centre."""

    __tablename__ = "evaluation_appeals"
    __table_args__ = (one_of("status", APPEAL_STATUSES, "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("evaluation_charges.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class PublishedReport(Base):
    """A published monthly report (通报): its figures and red/black list frozen as they were.

    A re-issue adds a new version with a reason; earlier versions are kept."""

    __tablename__ = "evaluation_reports"
    __table_args__ = (Index("ix_evaluation_reports_month_scope_version", "month", "scope", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    scope: Mapped[str] = mapped_column(String(64))
    """The scope unit's code, or ``*`` for the whole district."""
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class InspectionScore(Base):
    """A community's inspection score (0..100) for a month, entered by the centre."""

    __tablename__ = "evaluation_inspections"
    __table_args__ = (
        one_of("kind", INSPECTION_KINDS, "kind"),
        Index("ix_evaluation_inspections_month_unit_kind", "month", "org_unit_id", "kind", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
