"""People's tables: users with their role and place, API tokens, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import Base, UTCDateTime, utcnow
from workflows.columns import one_of

if TYPE_CHECKING:
    from workflows.org.models import Department, OrgUnit

ROLES = ("admin", "coordinator", "grid_worker", "department", "leader")


NOTIFICATION_KINDS = ("new_task", "reminder", "overdue", "returned_dispatch", "meeting", "rework", "closed")
"""Known notification kinds (not enforced)."""


class User(Base):
    """A login. Passwords are hashed by the services (werkzeug.security), never stored here in clear."""

    __tablename__ = "users"
    __table_args__ = (
        one_of("role", ROLES, "role"),
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
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Moves on when the user signs out or gets a new password; older web sessions then end."""

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
