"""A case's tables: the case with its number, its timeline, photos and overdue records.

Every timestamp is a ``UTCDateTime`` (tz-aware in, tz-aware out). Enumerations that the rest of
the code relies on are spelled once as tuples and enforced by CHECK constraints. The engine's own
tables live in ``engine.storage.models``; a case only remembers its process instance id
(``Case.instance_id``), without a foreign key across the layers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    false,
    insert,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine import Base, UTCDateTime, utcnow
from workflows.cases.case import CaseTransitions
from workflows.columns import one_of
from workflows.org.models import LEVELS

if TYPE_CHECKING:
    from workflows.coordination.models import Dispatch, Meeting
    from workflows.org.models import Department, OrgUnit
    from workflows.people.models import User
    from workflows.reference.models import Category

OVERDUE_STAGES = LEVELS + ("dispatch_accept", "dispatch_result", "duty", "action")


CASE_STATUSES = ("reported", "open", "resolved", "closed", "rejected", "merged")


CASE_SOURCES = ("patrol", "hotline", "platform", "forum", "inspection", "snapshot", "sensor", "walk_in")


ATTACHMENT_PURPOSES = ("report", "result", "self_close")


TIMELINE_KINDS = (
    "reported",
    "registered",
    "rejected",
    "merged",
    "escalated",
    "reminded",
    "overdue",
    "assigned_down",
    "dispatched",
    "accepted",
    "returned",
    "result_reported",
    "whistle",
    "reported_to_duty",
    "resolution",
    "action_done",
    "meeting_confirmed",
    "resolved",
    "rework",
    "closed",
    "rated",
    "fund_spent",
    "migrated",
)
"""Known timeline kinds; not a CHECK constraint because more may be added."""


CASE_NUMBER_PREFIX = "GL"


class CaseCounter(Base):
    """Last number handed out per scope (a day, ``20261121``), for readable case numbers."""

    __tablename__ = "case_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def format_case_number(scope: str, value: int) -> str:
    """``GL20261121-0001``: prefix, the day, a sequence of at least four digits."""
    return f"{CASE_NUMBER_PREFIX}{scope}-{value:04d}"


def _counter_upsert(dialect: str):
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    else:
        from sqlalchemy.dialects.postgresql import insert as upsert
    table = CaseCounter.__table__
    return (upsert(table).values(scope=bindparam("scope"), value=1)
            .on_conflict_do_update(index_elements=[table.c.scope], set_={"value": table.c.value + 1})
            .returning(table.c.value))


_COUNTER_UPSERTS = {dialect: _counter_upsert(dialect) for dialect in ("sqlite", "postgresql")}


def allocate_counter(session: Session, scope: str) -> int:
    """Atomically increment and return the counter of ``scope`` (creating it at 1): one upsert with
    RETURNING on SQLite and PostgreSQL (the row stays locked until the transaction ends)."""
    upsert = _COUNTER_UPSERTS.get(session.get_bind().dialect.name)
    if upsert is not None:
        return session.execute(upsert, {"scope": scope}).scalar_one()
    bumped = session.execute(
        update(CaseCounter)
        .where(CaseCounter.scope == scope)
        .values(value=CaseCounter.value + 1)
        .returning(CaseCounter.value)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if bumped is not None:
        return bumped
    session.execute(insert(CaseCounter).values(scope=scope, value=1))
    return 1


def next_case_number(session: Session, day: date) -> str:
    """The next readable number for a case created on ``day`` (the caller picks the time zone)."""
    scope = day.strftime("%Y%m%d")
    return format_case_number(scope, allocate_counter(session, scope))


class Case(CaseTransitions, Base):
    """A work order (工单): one problem, from report to evaluation."""

    __tablename__ = "cases"
    __table_args__ = (
        one_of("status", CASE_STATUSES, "status"),
        one_of("source", CASE_SOURCES, "source"),
        one_of("level", LEVELS, "level"),
        one_of("closed_level", LEVELS, "closed_level"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating"),
        CheckConstraint("reworked_count >= 0", name="reworked_count"),
        Index("ix_cases_status_org_unit", "status", "org_unit_id"),
        Index("ix_cases_category_status_created", "category_id", "status", "created_at"),
        Index("ix_cases_grid_created", "grid_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    source: Mapped[str] = mapped_column(String(20))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="reported")
    level: Mapped[str] = mapped_column(String(20))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    """The unit currently holding the case."""
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_level: Mapped[str | None] = mapped_column(String(20))
    self_closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reworked_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The engine's process instance id (no foreign key: the engine owns its tables)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    query_code_hash: Mapped[str | None] = mapped_column(String(128))
    """The reporter's query code, hashed (``workflows.cases.query_codes``); with the number it opens /track."""

    category: Mapped[Category] = relationship()
    grid: Mapped[OrgUnit | None] = relationship(foreign_keys=[grid_id])
    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id])
    merged_into: Mapped[Case | None] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship()
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="case", order_by=lambda: (TimelineEntry.at, TimelineEntry.id)
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="case", order_by="Attachment.id")
    dispatches: Mapped[list[Dispatch]] = relationship(back_populates="case", order_by="Dispatch.id")
    meetings: Mapped[list[Meeting]] = relationship(back_populates="case", order_by="Meeting.id")


class TimelineEntry(Base):
    """One line of a case's history. Append-only: never updated or deleted."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        one_of("level", LEVELS, "level"),
        Index("ix_timeline_entries_case_at", "case_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str | None] = mapped_column(String(20))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Shown on the public ``/track`` page."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="timeline")
    org_unit: Mapped[OrgUnit | None] = relationship()
    department: Mapped[Department | None] = relationship()


class Attachment(Base):
    """A photo or document stored under the upload folder as ``stored_name``."""

    __tablename__ = "attachments"
    __table_args__ = (
        one_of("purpose", ATTACHMENT_PURPOSES, "purpose"),
        CheckConstraint("size >= 0", name="size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """None for residents' uploads."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purpose: Mapped[str] = mapped_column(String(20), default="report")

    case: Mapped[Case] = relationship(back_populates="attachments")


class OverdueRecord(Base):
    """A time limit that ran out, charged to a level's unit and, for department stages, a department."""

    __tablename__ = "overdue_records"
    __table_args__ = (
        one_of("stage", OVERDUE_STAGES, "stage"),
        one_of("level", LEVELS, "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(20))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
