"""Finding an active case category by code, naming the accepted codes when it is unknown."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflows.checks import invalid
from workflows.reference.models import Category

_ACTIVE_CATEGORY = select(Category).where(Category.code == bindparam("code"), Category.active)


def get_category(session: Session, code: str, field: str = "category") -> Category:
    category = session.scalar(_ACTIVE_CATEGORY, {"code": code}) if isinstance(code, str) else None
    if category is None or category.parent_id is None:
        known = ", ".join(session.scalars(select(Category.code).where(Category.parent_id.is_not(None),
                                                                       Category.active)
                                          .order_by(Category.code)))
        raise invalid(f"unknown category {code!r}; use one of: {known}", field=field)
    return category
