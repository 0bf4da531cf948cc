"""The one task list: the open tasks a user may act on, filtered, searched and sorted. The API's
``GET /api/v1/tasks`` and the inbox page both build their list here.

Scope (who sees which tasks): admins and leaders every task; department staff the tasks addressed
to their department; coordinators and grid workers the tasks waiting in their unit, and with
``below`` (coordinators) the tasks waiting in the units below theirs; anybody else none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import OpenTask, TaskQuery, count_open_tasks, open_tasks
from workflows.cases.models import Case
from workflows.errors import InvalidInput
from workflows.org.lookups import get_department, get_unit
from workflows.org.models import LEVELS, OrgUnit
from workflows.org.tree import codes_under
from workflows.people.models import User
from workflows.reference.models import Category

SORTS = ("due", "newest", "level")
MAX_SEARCH = 100


@dataclass(frozen=True)
class TaskFilters:
    """What narrows the list. Codes are checked against the org tree and the reference data."""

    case_number: str | None = None
    org_unit: str | None = None
    department: str | None = None
    claimed_by: str | None = None
    mine: bool = False
    overdue: bool | None = None
    level: str | None = None
    category: str | None = None
    search: str | None = None
    below: bool = False
    task_kind: str | None = None
    sort: str = "due"


def levels_seen(user: User) -> tuple[str, ...]:
    """The levels whose work ``user`` can see: their unit's level and the ones below it (every
    level for admins, leaders and department staff, whose work comes from anywhere)."""
    if user.role in ("coordinator", "grid_worker") and user.org_unit is not None \
            and user.org_unit.level in LEVELS:
        return LEVELS[:LEVELS.index(user.org_unit.level) + 1]
    return LEVELS


def may_look_below(user: User) -> bool:
    """Supervisors (coordinators above the grid) may see the work waiting in the units below them."""
    return user.role == "coordinator" and user.org_unit is not None and user.org_unit.level != "grid"


def _scope(session: Session, user: User, below: bool) -> dict:
    if user.role in ("admin", "leader"):
        return {}
    if user.role == "department":
        return {"departments": [user.department.code] if user.department else []}
    if user.role in ("coordinator", "grid_worker"):
        unit: OrgUnit | None = user.org_unit
        if unit is None:
            return {"org_units": []}
        if below:
            if not may_look_below(user):
                raise InvalidInput(f"below: {user.username} ({user.role}) has no units below to look into; "
                                   "leave 'below' out", field="below")
            return {"org_units": codes_under(session, unit, include_self=False)}
        return {"org_units": [unit.code]}
    return {"org_units": []}


def _case_conditions(session: Session, user: User, filters: TaskFilters) -> list:
    out = []
    if filters.level is not None:
        if filters.level not in levels_seen(user):
            raise InvalidInput(f"level {filters.level!r} is not one you see; pick one of: "
                               f"{', '.join(levels_seen(user))}", field="level")
        out.append(Case.level == filters.level)
    if filters.category is not None:
        out.append(Case.category_id.in_(select(Category.id).where(Category.code == filters.category)))
    if filters.search:
        text = filters.search.strip()[:MAX_SEARCH]
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        out.append(or_(Case.number.ilike(pattern, escape="\\"), Case.title.ilike(pattern, escape="\\"),
                       Case.address.ilike(pattern, escape="\\")))
    return out


def task_query(session: Session, user: User, filters: TaskFilters) -> TaskQuery:
    """The engine's selection of the tasks ``filters`` keep, inside what ``user`` may see."""
    if filters.sort not in SORTS:
        raise InvalidInput(f"sort {filters.sort!r} is not known; use one of: {', '.join(SORTS)}", field="sort")
    scope = _scope(session, user, filters.below)
    if filters.org_unit is not None:
        code = get_unit(session, filters.org_unit).code
        scope["org_units"] = [c for c in scope.get("org_units", [code]) if c == code]
    if filters.department is not None:
        code = get_department(session, filters.department).code
        scope["departments"] = [c for c in scope.get("departments", [code]) if c == code]
    conditions = _case_conditions(session, user, filters)
    return TaskQuery(org_units=scope.get("org_units"), departments=scope.get("departments"),
                     business_key=filters.case_number,
                     business_keys=select(Case.number).where(*conditions) if conditions else None,
                     claimed_by=user.username if filters.mine else filters.claimed_by,
                     overdue=filters.overdue,
                     task_kinds=[filters.task_kind] if filters.task_kind is not None else None)


def find_tasks(session: Session, user: User, filters: TaskFilters, limit: int | None = None,
               offset: int = 0) -> tuple[list[OpenTask], int]:
    """One page of the tasks ``filters`` keep and how many there are in all."""
    query = task_query(session, user, filters)
    total = count_open_tasks(session, query)
    if filters.sort == "level":
        tasks = open_tasks(session, query, order="due")
        tasks.sort(key=_level_rank, reverse=True)
        return tasks[offset:None if limit is None else offset + limit], total
    return open_tasks(session, query, order=filters.sort, limit=limit, offset=offset), total


def _level_rank(task: OpenTask) -> int:
    level = task.context.get("level")
    return LEVELS.index(level) if level in LEVELS else -1
