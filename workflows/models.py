"""The case-coordination domain's tables: org tree, people, reference data, cases and their trail.

Every timestamp is a ``UTCDateTime`` (tz-aware in, tz-aware out). Enumerations that the rest of
the code relies on are spelled once here as tuples and enforced by CHECK constraints.
The engine's own tables live in ``engine.models``; a case only remembers its process instance
id (``Case.instance_id``), without a foreign key across the layers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    false,
    func,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine import Base, UTCDateTime, utcnow
from engine.prepared import Prepared, dialect_of
from workflows.errors import InvalidInput

# --- enumerations ---------------------------------------------------------------------------

LEVELS = ("grid", "community", "workstation", "subcentre", "district")
"""The escalation chain, lowest first."""

SLA_STAGES = LEVELS + ("dispatch_accept", "dispatch_result", "duty_routine", "duty_tough", "duty_emergency")
OVERDUE_STAGES = LEVELS + ("dispatch_accept", "dispatch_result", "duty", "action")
ROLES = ("admin", "coordinator", "grid_worker", "department", "leader")
CASE_STATUSES = ("reported", "open", "resolved", "closed", "rejected", "merged")
CASE_SOURCES = ("patrol", "hotline", "platform", "forum", "inspection", "snapshot", "sensor", "walk_in")
CATEGORY_KINDS = ("component", "event")
URGENCIES = ("routine", "tough", "emergency")
MEETING_STATUSES = ("summoned", "resolved", "confirmed")
ACTION_PHASES = ("survey", "preliminary", "concentrated")
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
NOTIFICATION_KINDS = ("new_task", "reminder", "overdue", "returned_dispatch", "meeting", "rework", "closed")
"""Known notification kinds (not enforced)."""

CASE_NUMBER_PREFIX = "GL"
DEFAULT_REMINDER_SHARE = 0.75


def _one_of(column: str, values: Iterable[str], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


def level_above(level: str) -> str | None:
    """The next level up the chain, or None at the district centre."""
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


# --- org tree, departments, people ----------------------------------------------------------

department_units = Table(
    "department_units",
    Base.metadata,
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("org_unit_id", ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True),
)


class OrgUnit(Base):
    """A node of the org tree: grid, community, workstation, street sub-centre or district centre."""

    __tablename__ = "org_units"
    __table_args__ = (_one_of("level", LEVELS, "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    polygon: Mapped[list | None] = mapped_column(JSON)
    """Rings of [lon, lat] points (the first one outer), or None."""
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent", order_by="OrgUnit.code")
    departments: Mapped[list[Department]] = relationship(secondary=department_units, back_populates="units")


def unit_at_level(session: Session, unit: OrgUnit, level: str) -> OrgUnit | None:
    """The unit itself or its ancestor at ``level``; None when the chain has no such level above it."""
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}; use one of: {', '.join(LEVELS)}", field="level")
    current: OrgUnit | None = unit
    seen: set[int] = set()
    while current is not None and current.id not in seen:
        if current.level == level:
            return current
        seen.add(current.id)
        current = session.get(OrgUnit, current.parent_id) if current.parent_id is not None else None
    return None


class Department(Base):
    """A functional department (police, fire, urban management, ...) that cases are dispatched to."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    units: Mapped[list[OrgUnit]] = relationship(secondary=department_units, back_populates="departments")


class User(Base):
    """A login. Passwords are hashed by the services (werkzeug.security), never stored here in clear."""

    __tablename__ = "users"
    __table_args__ = (
        _one_of("role", ROLES, "role"),
        CheckConstraint(
            "role <> 'department' OR department_id IS NOT NULL", name="department_role_needs_department"
        ),
        CheckConstraint(
            "role NOT IN ('coordinator', 'grid_worker') OR org_unit_id IS NOT NULL",
            name="unit_role_needs_org_unit",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    locale: Mapped[str] = mapped_column(String(10), default="zh", server_default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit | None] = relationship()
    department: Mapped[Department | None] = relationship()

    # The four members Flask-Login expects, so the web layer can use the model as is.
    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """A bearer token; only its sha256 hex digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


# --- reference data -------------------------------------------------------------------------


class Category(Base):
    """A case category, two levels deep (component/event -> concrete kind of problem)."""

    __tablename__ = "categories"
    __table_args__ = (_one_of("kind", CATEGORY_KINDS, "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    time_limit: Mapped[str | None] = mapped_column(String(32))
    """ISO-8601 duration, e.g. ``P5D``; None for the two top-level groups."""
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.code")
    department: Mapped[Department | None] = relationship()


class SlaPolicy(Base):
    """A time limit for one stage, either the default (no category) or for one category."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        _one_of("stage", SLA_STAGES, "stage"),
        CheckConstraint(
            "reminder_share IS NULL OR (reminder_share > 0 AND reminder_share < 1)", name="reminder_share"
        ),
        UniqueConstraint("stage", "category_id", name="uq_sla_policies_stage_category"),
        # NULLs are distinct in a unique constraint: one default row per stage needs its own index.
        Index(
            "uq_sla_policies_stage_default",
            "stage",
            unique=True,
            sqlite_where=text("category_id IS NULL"),
            postgresql_where=text("category_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(32))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    limit: Mapped[str] = mapped_column(String(32))
    """ISO-8601 duration, e.g. ``PT24H``."""
    reminder_share: Mapped[float | None] = mapped_column(Float)
    """Share of the limit after which a reminder fires; None for stages without a reminder."""

    category: Mapped[Category | None] = relationship()

    def __init__(self, **values: Any) -> None:
        # A constructor default, not a column default: an explicit None must stay None.
        values.setdefault("reminder_share", DEFAULT_REMINDER_SHARE)
        super().__init__(**values)


class EvaluationWeight(Base):
    """A weight of the composite evaluation score, e.g. ``department.closure`` = 0.3."""

    __tablename__ = "evaluation_weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    weight: Mapped[float] = mapped_column(Float)


# --- cases ----------------------------------------------------------------------------------


class CaseCounter(Base):
    """Last number handed out per scope (a day, ``20261121``), for readable case numbers."""

    __tablename__ = "case_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


def format_case_number(scope: str, value: int) -> str:
    """``GL20261121-0001``: prefix, the day, a sequence of at least four digits."""
    return f"{CASE_NUMBER_PREFIX}{scope}-{value:04d}"


def _counter_upsert(dialect: str) -> Prepared:
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    else:
        from sqlalchemy.dialects.postgresql import insert as upsert
    table = CaseCounter.__table__
    return Prepared(upsert(table).values(scope=bindparam("scope"), value=1)
                    .on_conflict_do_update(index_elements=[table.c.scope], set_={"value": table.c.value + 1})
                    .returning(table.c.value))


_COUNTER_UPSERTS: dict[str, Prepared] = {}


def allocate_counter(session: Session, scope: str) -> int:
    """Atomically increment and return the counter of ``scope`` (creating it at 1)."""
    dialect = dialect_of(session).name
    if dialect in ("sqlite", "postgresql"):
        upsert = _COUNTER_UPSERTS.get(dialect) or _COUNTER_UPSERTS.setdefault(dialect, _counter_upsert(dialect))
        return upsert.run(session, {"scope": scope}).first()["value"]
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


class Case(Base):
    """A work order (工单): one problem, from report to evaluation."""

    __tablename__ = "cases"
    __table_args__ = (
        _one_of("status", CASE_STATUSES, "status"),
        _one_of("source", CASE_SOURCES, "source"),
        _one_of("level", LEVELS, "level"),
        _one_of("closed_level", LEVELS, "closed_level"),
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
        _one_of("level", LEVELS, "level"),
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
        _one_of("purpose", ATTACHMENT_PURPOSES, "purpose"),
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


# --- departments and meetings ---------------------------------------------------------------


class Dispatch(Base):
    """A case sent out to one department: accept (or return) in time, then report the result."""

    __tablename__ = "dispatches"
    __table_args__ = (
        _one_of("level", LEVELS, "level"),
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
        _one_of("level", LEVELS, "level"),
        _one_of("urgency", URGENCIES, "urgency"),
        _one_of("status", MEETING_STATUSES, "status"),
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
        _one_of("phase", ACTION_PHASES, "phase"),
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


# --- evaluation, money, notifications -------------------------------------------------------


class OverdueRecord(Base):
    """A time limit that ran out, charged to a level's unit and, for department stages, a department."""

    __tablename__ = "overdue_records"
    __table_args__ = (
        _one_of("stage", OVERDUE_STAGES, "stage"),
        _one_of("level", LEVELS, "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(20))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


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


class Notification(Base):
    """A message in one user's notification list."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
