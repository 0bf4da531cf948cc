"""The administration audit trail: who changed which setting, process or account, when, and how."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import Base, UTCDateTime, utcnow


class AdminAuditEntry(Base):
    """One administrative action. Append-only: never updated or deleted."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    """E.g. ``user.create``, ``process.deploy``, ``process.migrate``."""
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(session: Session, actor: str | None, action: str, target: str | None = None,
           **details: Any) -> AdminAuditEntry:
    """Append an entry in the caller's transaction."""
    entry = AdminAuditEntry(at=utcnow(), actor=actor, action=action, target=target, details=details)
    session.add(entry)
    return entry


def recent(session: Session, limit: int = 100, action_prefix: str | None = None) -> list[AdminAuditEntry]:
    query = select(AdminAuditEntry).order_by(AdminAuditEntry.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AdminAuditEntry.action.startswith(action_prefix))
    return list(session.scalars(query))
