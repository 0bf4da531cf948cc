"""Finding org units and departments by code; levels; whether a unit lies within another.

A lookup raises a domain error whose message names the code that was not found and says what
would be accepted.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflows.checks import invalid
from workflows.org.models import LEVELS, Department, OrgUnit
from workflows.org.tree import is_within  # noqa: F401  (the one tree walk; kept importable here)

# built once: a statement made per call costs its construction and cache key every time
_UNIT_BY_CODE = select(OrgUnit).where(OrgUnit.code == bindparam("code"))


def get_unit(session: Session, code: str, field: str = "org_unit") -> OrgUnit:
    unit = session.scalar(_UNIT_BY_CODE, {"code": code}) if isinstance(code, str) else None
    if unit is None:
        raise invalid(f"unknown org unit {code!r}; use the code of a grid, community, workstation, "
                           "sub-centre or district centre (see /api/v1/org-units)", field=field)
    return unit


def get_department(session: Session, code: str, field: str = "department") -> Department:
    department = session.scalar(select(Department).where(Department.code == code)) \
        if isinstance(code, str) else None
    if department is None:
        known = ", ".join(session.scalars(select(Department.code).order_by(Department.code)))
        raise invalid(f"unknown department {code!r}; use one of: {known}", field=field)
    return department


def check_level(level: str, field: str = "level") -> str:
    if level not in LEVELS:
        raise invalid(f"unknown level {level!r}; use one of: {', '.join(LEVELS)}", field=field)
    return level
