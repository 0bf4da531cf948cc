"""The engine's tables: process versions, instances, the human-task projection, the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, UTCDateTime, utcnow

INSTANCE_STATUSES = ("running", "waiting", "completed", "error", "suspended")


class ProcessVersion(Base):
    """One deployed version of one process id; the parsed spec is stored once, here."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    files: Mapped[dict] = mapped_column(JSON)  # file name -> text (BPMN, DMN, JSON form schemas)
    spec_json: Mapped[str] = mapped_column(Text)  # serialized top spec and the subprocess specs it calls
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(Base):
    """A running (or finished) instance; its state is stored without the spec."""

    __tablename__ = "process_instances"
    # The sweep asks for ``status IN (running, waiting) AND next_due <= now``: (status, next_due)
    # answers it with one index range per status, empty when nothing is due, so an idle sweep
    # costs the same with 200 or 20,000 instances waiting (a status-only index made the planner
    # read every waiting instance and sort them). It also serves lookups by status alone.
    __table_args__ = (Index("ix_process_instances_next_due", "next_due"),
                      Index("ix_process_instances_status_next_due", "status", "next_due"))

    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))
    state: Mapped[bytes] = mapped_column(LargeBinary)  # gzip JSON, compact format (engine/snapshot.py)
    serializer_version: Mapped[str] = mapped_column(String(20))
    state_token: Mapped[str | None] = mapped_column(String(32))  # changes on every save
    visited: Mapped[list] = mapped_column(JSON, default=list)  # element ids completed so far, in order
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    next_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_element: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """Projection: one row per READY user or manual task. Inboxes read only this table."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_org_unit_due", "org_unit", "due_at"),
        Index("ix_human_tasks_department_due", "department", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine task id (uuid)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), index=True
    )
    business_key: Mapped[str | None] = mapped_column(String(200))
    process_id: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    properties: Mapped[dict] = mapped_column(JSON, default=dict)
    form_schema: Mapped[str | None] = mapped_column(String(300))
    org_unit: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(50))
    context: Mapped[dict] = mapped_column(JSON, default=dict)  # what the domain wants to show
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EngineEvent(Base):
    """Append-only audit: one row per engine event (completion, timer, message, error, retry...)."""

    __tablename__ = "engine_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


from .. import incidents  # noqa: E402,F401  (registers the incident and in-flight tables with the others)
