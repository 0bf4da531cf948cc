"""The one walk of the org tree: units under a unit, whether a unit lies within another, the unit at
a level above. Every read that needs the tree asks here (case and task scopes, "assign down",
the place filter, who may spend)."""

from __future__ import annotations

import itertools

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from workflows.org.models import OrgUnit

_CTE_NAMES = itertools.count()


def subtree_ids(unit_id: int) -> Select:
    """A selectable of the ids of ``unit_id`` and every unit below it (recursive CTE)."""
    tree = select(OrgUnit.id).where(OrgUnit.id == unit_id).cte(f"subtree_{next(_CTE_NAMES)}", recursive=True)
    tree = tree.union_all(select(OrgUnit.id).where(OrgUnit.parent_id == tree.c.id))
    return select(tree.c.id)


def units_under(session: Session, unit: OrgUnit, include_self: bool = False) -> list[OrgUnit]:
    """The units below ``unit`` (and ``unit`` itself when asked), in one query."""
    query = select(OrgUnit).where(OrgUnit.id.in_(subtree_ids(unit.id)))
    if not include_self:
        query = query.where(OrgUnit.id != unit.id)
    return list(session.scalars(query.order_by(OrgUnit.code)))


def codes_under(session: Session, unit: OrgUnit, include_self: bool = True) -> list[str]:
    """The codes of ``unit`` and every unit below it."""
    query = select(OrgUnit.code).where(OrgUnit.id.in_(subtree_ids(unit.id)))
    if not include_self:
        query = query.where(OrgUnit.id != unit.id)
    return list(session.scalars(query))


def ancestors(unit: OrgUnit | None) -> list[OrgUnit]:
    """``unit`` and the units above it, nearest first (a cycle in the data ends the walk)."""
    chain: list[OrgUnit] = []
    seen: set[int] = set()
    current = unit
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = current.parent
    return chain


def is_within(unit: OrgUnit, ancestor: OrgUnit) -> bool:
    """True when ``unit`` is ``ancestor`` or lies below it."""
    return any(u.id == ancestor.id for u in ancestors(unit))


def unit_at_level(unit: OrgUnit | None, level: str) -> OrgUnit | None:
    """The unit of ``level`` that ``unit`` is or lies under (None when there is none)."""
    return next((u for u in ancestors(unit) if u.level == level), None)
