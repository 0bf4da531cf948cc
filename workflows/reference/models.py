"""Reference data tables: case categories and SLA policies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import Base
from workflows.columns import one_of
from workflows.org.models import LEVELS

if TYPE_CHECKING:
    from workflows.org.models import Department

SLA_STAGES = LEVELS + ("dispatch_accept", "dispatch_result", "duty_routine", "duty_tough", "duty_emergency")


CATEGORY_KINDS = ("component", "event")


URGENCIES = ("routine", "tough", "emergency")


DEFAULT_REMINDER_SHARE = 0.75


class Category(Base):
    """A case category, two levels deep (component/event -> concrete kind of problem)."""

    __tablename__ = "categories"
    __table_args__ = (one_of("kind", CATEGORY_KINDS, "kind"),)

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
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Cases of a public category (e.g. a fallen tree on a road) show their description and place to
    anonymous readers (Open311, /track); the others show only category, status, times and grid."""

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.code")
    department: Mapped[Department | None] = relationship()


class SlaPolicy(Base):
    """A time limit for one stage, either the default (no category) or for one category."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        one_of("stage", SLA_STAGES, "stage"),
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
