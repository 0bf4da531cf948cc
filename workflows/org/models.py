"""The org tree's tables: units by level (grid up to the district centre) and departments."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine import Base
from workflows.columns import one_of
from workflows.errors import InvalidInput

LEVELS = ("grid", "community", "workstation", "subcentre", "district")
"""The escalation chain, lowest first."""


def level_above(level: str) -> str | None:
    """The next level up the chain, or None at the district centre."""
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


department_units = Table(
    "department_units",
    Base.metadata,
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("org_unit_id", ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True),
)


class OrgUnit(Base):
    """A node of the org tree: grid, community, workstation, street sub-centre or district centre."""

    __tablename__ = "org_units"
    __table_args__ = (one_of("level", LEVELS, "level"),)

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
