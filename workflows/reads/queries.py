"""Read models for the JSON API: paged, filtered lists and single records, scoped to the caller.

Who sees what (the same rules as the web pages):
- admins and leaders see everything;
- a coordinator sees the cases held by or reported in any unit of their subtree;
- a grid worker sees the cases of their grid;
- department staff see the cases dispatched to their department, the meetings it was summoned
  to, and the tasks addressed to it;
- everybody sees the cases they reported themselves.
Tasks are listed for the people who may act on them (``workflows.cases.decisions.may_act``); leaders, who
watch and do not act, may read every task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, joinedload

from engine import DeployError, TaskQuery, VersionView, count_versions, deploy, open_task_keys, version_by_id, versions
from workflows.cases.decisions import check_may_act
from workflows.cases.lookups import get_case
from workflows.cases.models import CASE_STATUSES, Case
from workflows.cases.reporting import OPEN_STATUSES, case_item, case_view, task_item
from workflows.checks import engine_errors
from workflows.clock import LOCAL_TZ, now
from workflows.coordination.meetings import meeting_view
from workflows.coordination.models import Dispatch, Meeting, MeetingAction, MeetingSummons
from workflows.errors import Forbidden, InvalidInput, NotFound
from workflows.evaluation import metrics
from workflows.org.lookups import check_level, get_unit
from workflows.org.models import Department, OrgUnit
from workflows.org.tree import subtree_ids
from workflows.people.lookups import get_user
from workflows.people.models import User
from workflows.reads.evidence import task_evidence
from workflows.reads.sessions import read_sessions
from workflows.reads.tasks import TaskFilters, find_tasks
from workflows.reference.models import Category

MAX_PER_PAGE = 200
CASE_LOADS = (joinedload(Case.category), joinedload(Case.org_unit), joinedload(Case.grid),
              joinedload(Case.merged_into))
"""What ``case_item`` reads of every listed case, loaded with it instead of one query per case."""
MAX_PAGE = 10_000_000
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Page:
    """Which slice of a list: ``page`` counts from 1."""

    page: int = 1
    per_page: int = 20

    def __post_init__(self) -> None:
        if not isinstance(self.page, int) or isinstance(self.page, bool) or not 1 <= self.page <= MAX_PAGE:
            raise InvalidInput(f"page {self.page!r} is not allowed; give a whole number from 1 to {MAX_PAGE}",
                               field="page")
        if not isinstance(self.per_page, int) or isinstance(self.per_page, bool) \
                or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page {self.per_page!r} is not allowed; give a whole number from 1 to "
                               f"{MAX_PER_PAGE}", field="per_page")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _paged(session: Session, query, page: Page, render) -> dict:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(page.offset).limit(page.per_page))
    return {"items": [render(row) for row in rows], "page": page.page, "per_page": page.per_page,
            "total": total or 0}


# --- the org tree ---------------------------------------------------------------------------

# --- cases ----------------------------------------------------------------------------------

def case_scope(user: User) -> ColumnElement[bool] | None:
    """The condition on ``Case`` that selects what ``user`` may read; None means everything."""
    if user.role in ("admin", "leader"):
        return None
    own = Case.created_by_id == user.id
    if user.role == "coordinator" and user.org_unit_id is not None:
        units = subtree_ids(user.org_unit_id)
        return or_(own, Case.org_unit_id.in_(units), Case.grid_id.in_(units))
    if user.role == "grid_worker" and user.org_unit_id is not None:
        return or_(own, Case.grid_id == user.org_unit_id, Case.org_unit_id == user.org_unit_id)
    if user.role == "department" and user.department_id is not None:
        return or_(own, Case.id.in_(_department_case_ids(user.department_id)),
                   Case.number.in_(open_task_keys(TaskQuery(departments=[user.department.code]))))
    return own


def _department_case_ids(department_id: int):
    dispatched = select(Dispatch.case_id).where(Dispatch.department_id == department_id)
    summoned = (select(Meeting.case_id).join(MeetingSummons, MeetingSummons.meeting_id == Meeting.id)
                .where(MeetingSummons.department_id == department_id))
    acting = (select(Meeting.case_id).join(MeetingAction, MeetingAction.meeting_id == Meeting.id)
              .where(MeetingAction.department_id == department_id))
    return dispatched.union(summoned, acting)


def may_read_case(session: Session, user: User, case: Case) -> bool:
    scope = case_scope(user)
    if scope is None:
        return True
    return session.scalar(select(Case.id).where(Case.id == case.id, scope)) is not None


def _readable_case(session: Session, user: User, number: str) -> Case:
    case = get_case(session, number)
    if not may_read_case(session, user, case):
        raise Forbidden(f"{user.username} ({user.role}) may not read case {number}: it is outside "
                        f"{_their_scope(user)}")
    return case


def _their_scope(user: User) -> str:
    if user.role == "department" and user.department is not None:
        return f"the work of department {user.department.code}"
    if user.org_unit is not None:
        return f"unit {user.org_unit.code}"
    return "your scope"


def parse_case_filters(session: Session, filters: dict, user: User | None = None) -> list[ColumnElement[bool]]:
    """Conditions for the list filters ``status``, ``open_only`` (any open status), ``level``,
    ``org_unit`` (cases held by or located in it and the units below), ``overdue``, ``q`` (the number,
    or a part of the title or address) and ``grid_only`` (the user's own grid)."""
    conditions = []
    status = filters.get("status")
    if status is not None:
        if status not in CASE_STATUSES:
            raise InvalidInput(f"unknown status {status!r}; use one of: {', '.join(CASE_STATUSES)}",
                               field="status")
        conditions.append(Case.status == status)
    if filters.get("open_only"):
        conditions.append(Case.status.in_(OPEN_STATUSES))
    if filters.get("level") is not None:
        conditions.append(Case.level == check_level(filters["level"]))
    if filters.get("org_unit") is not None:
        unit = get_unit(session, filters["org_unit"])
        units = subtree_ids(unit.id)
        conditions.append(or_(Case.org_unit_id.in_(units), Case.grid_id.in_(units)))
    overdue = filters.get("overdue")
    if overdue is True:
        conditions.append(Case.status.in_(OPEN_STATUSES))
        conditions.append(Case.due_at <= now())
    elif overdue is False:
        conditions.append(or_(Case.due_at.is_(None), Case.due_at > now(), Case.status.not_in(OPEN_STATUSES)))
    if filters.get("q"):
        text = str(filters["q"]).strip()[:100]
        conditions.append(or_(Case.number == text, Case.title.contains(text, autoescape=True),
                              Case.address.contains(text, autoescape=True)))
    if filters.get("grid_only") and user is not None and user.org_unit_id is not None:
        conditions.append(Case.grid_id == user.org_unit_id)
    return conditions


def case_query(session: Session, user: User, filters: dict):
    """The one case list: the cases ``user`` may read that ``filters`` keep, newest first (the API's
    ``GET /cases`` and the staff's case list both page this)."""
    query = select(Case).options(*CASE_LOADS)
    scope = case_scope(user)
    if scope is not None:
        query = query.where(scope)
    return query.where(*parse_case_filters(session, filters, user)).order_by(Case.created_at.desc(), Case.id.desc())


def count_of(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def list_cases(system, actor, filters: dict, page: Page) -> dict:
    """The cases ``actor`` may read, newest first, filtered and paged."""
    with read_sessions(system)() as session:
        return _paged(session, case_query(session, get_user(session, actor), filters), page, case_item)


def get_case_detail(system, actor, number: str) -> dict:
    """One case with its timeline and open tasks (reporter masked for department staff)."""
    with read_sessions(system)() as session:
        user = get_user(session, actor)
        case = _readable_case(session, user, number)
        return case_view(session, user, case.number)


# --- tasks ----------------------------------------------------------------------------------

def list_tasks(system, actor, filters: dict, page: Page) -> dict:
    """Open tasks ``actor`` may act on, due first; filters ``case_number``, ``org_unit``, ``department``,
    ``overdue``, ``claimed_by``, ``level``, ``category``, ``q`` (number, title or address), ``below``
    (coordinators: the units below theirs) and ``sort`` (due, newest, level)."""
    with read_sessions(system)() as session:
        user = get_user(session, actor)
        tasks, total = find_tasks(session, user, task_filters(filters), limit=page.per_page, offset=page.offset)
        return {"items": [task_item(t) for t in tasks], "page": page.page, "per_page": page.per_page,
                "total": total}


def task_filters(filters: dict) -> TaskFilters:
    """The filters of the task list from a request's (already typed) parameters."""
    known = {k: filters[k] for k in ("case_number", "org_unit", "department", "claimed_by", "overdue", "level",
                                     "category", "task_kind") if filters.get(k) is not None}
    if filters.get("q"):
        known["search"] = filters["q"]
    return TaskFilters(**known, mine=bool(filters.get("mine")), below=bool(filters.get("below")),
                       sort=filters.get("sort") or "due")


def get_task_detail(system, actor, task_id: str) -> dict:
    """One open task with its form as a JSON Schema object (None when the task has no form)."""
    with read_sessions(system)() as session:
        user = get_user(session, actor)
        with engine_errors():
            task = system.runtime.task(session, task_id)
        if user.role != "leader":
            check_may_act(user, task)
        with engine_errors():
            version_id = system.runtime.instance_summary(session, task.instance_id).process_version_id
            form = system.runtime.form_schema(session, version_id, task.form_schema)
        item = task_item(task)
        proof = task_evidence(session, get_case(session, task.business_key), item["task_kind"]) \
            if task.business_key else None
        return {**item, "form": json.loads(form) if form else None, "evidence": proof}


# --- meetings -------------------------------------------------------------------------------

def get_meeting_detail(system, actor, meeting_id: int) -> dict:
    """A meeting, if ``actor`` may read its case or was summoned to it."""
    with read_sessions(system)() as session:
        user = get_user(session, actor)
        meeting = session.get(Meeting, meeting_id) if 0 < meeting_id <= MAX_ID else None
        if meeting is None:
            raise NotFound(f"meeting {meeting_id!r} does not exist; meeting ids are listed on the case "
                           "(GET /api/v1/cases/<number>)", field="id")
        summoned = user.department_id is not None and any(
            s.department_id == user.department_id for s in meeting.summons)
        if not summoned and not may_read_case(session, user, meeting.case):
            raise Forbidden(f"{user.username} ({user.role}) may not read meeting {meeting_id}: its case "
                            f"{meeting.case.number} is outside {_their_scope(user)}")
        return meeting_view(session, meeting_id)


# --- reference data -------------------------------------------------------------------------

def unit_item(unit: OrgUnit, parents: dict[int, str]) -> dict:
    return {"code": unit.code, "name": unit.name, "level": unit.level,
            "parent": parents.get(unit.parent_id) if unit.parent_id else None,
            "lat": unit.lat, "lon": unit.lon}


def list_org_units(system, filters: dict, page: Page) -> dict:
    """Org units in tree order of levels (district first), filtered by ``level`` and ``parent``."""
    with read_sessions(system)() as session:
        parents = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
        query = select(OrgUnit)
        if filters.get("level") is not None:
            query = query.where(OrgUnit.level == check_level(filters["level"]))
        if filters.get("parent") is not None:
            query = query.where(OrgUnit.parent_id == get_unit(session, filters["parent"], field="parent").id)
        query = query.order_by(OrgUnit.code)
        return _paged(session, query, page, lambda unit: unit_item(unit, parents))


def list_departments(system, page: Page) -> dict:
    with read_sessions(system)() as session:
        query = select(Department).order_by(Department.code)
        return _paged(session, query, page, lambda d: {"code": d.code, "name": d.name})


def category_item(category: Category) -> dict:
    return {"code": category.code, "name": category.name, "name_en": category.name_en or None,
            "kind": category.kind, "parent": category.parent.code if category.parent else None,
            "department": category.department.code if category.department else None,
            "time_limit": category.time_limit}


def list_categories(system, filters: dict, page: Page) -> dict:
    """Active categories, top-level groups first; ``parent`` narrows to one group's children."""
    with read_sessions(system)() as session:
        query = select(Category).where(Category.active).options(joinedload(Category.parent),
                                                               joinedload(Category.department))
        if filters.get("parent") is not None:
            parent = session.scalar(select(Category).where(Category.code == filters["parent"],
                                                           Category.parent_id.is_(None)))
            if parent is None:
                raise InvalidInput(f"unknown category group {filters['parent']!r}; use component or event",
                                   field="parent")
            query = query.where(Category.parent_id == parent.id)
        query = query.order_by(Category.parent_id.is_not(None), Category.code)
        return _paged(session, query, page, category_item)


# --- process definitions --------------------------------------------------------------------

def version_item(row: VersionView) -> dict:
    return {"id": row.id, "process_id": row.process_id, "version": row.version, "name": row.name,
            "active": bool(row.active), "deployed_by": row.deployed_by, "deployed_at": row.deployed_at,
            "files": sorted(row.files or {})}


def list_process_versions(system, filters: dict, page: Page) -> dict:
    """Deployed versions, newest first; ``process_id`` narrows to one process, ``active`` to the live ones."""
    with read_sessions(system)() as session:
        process_id, active = filters.get("process_id"), filters.get("active")
        rows = versions(session, process_id, active, limit=page.per_page, offset=page.offset)
        return {"items": [version_item(row) for row in rows], "page": page.page, "per_page": page.per_page,
                "total": count_versions(session, process_id, active)}


def deploy_definitions(system, actor, files: dict[str, str]) -> list[dict]:
    """Validate and deploy ``files`` (BPMN, DMN, JSON forms) as new versions; admins only.

    Invalid input raises InvalidInput whose details are ``{file, element_id, line, message}``.
    """
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        if user.role != "admin":
            raise Forbidden(f"{user.username} is a {user.role}: only admins deploy process definitions")
        try:
            infos = deploy(session, files, user.username)
        except DeployError as exc:
            raise InvalidInput(exc.message, code="invalid_definition", details=exc.details) from None
        rows = [version_by_id(session, info.id) for info in infos]
        return [{**version_item(row), "created": info.created} for row, info in zip(rows, infos, strict=True)]


# --- metrics --------------------------------------------------------------------------------

METRICS_DAYS = 30


def get_metrics(system, actor, start: str | None, end: str | None, group_by: str | None,
                unit: str | None = None, unit_level: str | None = None) -> dict:
    """The evaluation figures (``workflows.evaluation.metrics``) for a period, within what ``actor`` may see.

    As on the dashboard: admins and leaders without an org unit see any unit (``unit`` narrows to
    one subtree); leaders, coordinators and grid workers of an org unit see its subtree (or a unit
    inside it); department staff see none.
    ``start``/``end`` default to the last 30 local days, ending today.
    """
    with read_sessions(system)() as session:
        user = get_user(session, actor)
        scope = _metrics_scope(session, user, unit)
        today = now().astimezone(LOCAL_TZ).date()
        end_value = end if end is not None else today
        start_value = start if start is not None else today - timedelta(days=METRICS_DAYS - 1)
        try:
            return metrics.compute_metrics(session, start=start_value, end=end_value, group_by=group_by,
                                           scope_unit=scope, unit_level=unit_level)
        except OverflowError:
            raise InvalidInput(f"the period {start_value} .. {end_value} is out of range; give dates between "
                               "year 1 and 9998", field="to") from None


def _metrics_scope(session: Session, user: User, unit: str | None) -> str | None:
    if user.role == "department":
        raise Forbidden(f"{user.username} is department staff: the evaluation figures are for coordinators, "
                        "leaders and admins")
    wanted = get_unit(session, unit, field="org_unit") if unit is not None else None
    if user.role == "admin" or (user.role == "leader" and user.org_unit is None):
        return wanted.code if wanted else None
    own = user.org_unit
    if own is None:
        raise Forbidden(f"{user.username} has no org unit, so there is no scope to evaluate")
    if wanted is None:
        return own.code
    if session.scalar(select(OrgUnit.id).where(OrgUnit.id == wanted.id, OrgUnit.id.in_(subtree_ids(own.id)))) \
            is None:
        raise Forbidden(f"org unit {wanted.code!r} is outside {own.code}; {user.username} sees figures of "
                        f"{own.code} and the units below it")
    return wanted.code


# --- photos ---------------------------------------------------------------------------------

def upload_photos(system, actor, number: str, files: list[tuple[str, bytes]], purpose: str = "result") -> list[str]:
    """Attach photos to a case the actor may read and work on; returns the references for ``photos``."""
    from workflows.cases.attachments import attach_photos

    if not files:
        raise InvalidInput("no photo sent: send each image as a multipart part named 'file'", field="file")
    with read_sessions(system)() as session:
        user = get_user(session, actor)
        if user.role == "leader":
            raise Forbidden(f"{user.username} is a leader: leaders watch cases and do not add photos")
        _readable_case(session, user, number)
    return attach_photos(system, number, files, purpose, actor=actor)
