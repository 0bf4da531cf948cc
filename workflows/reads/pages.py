"""Read models of the staff web pages: inbox, task page, case page (with its live diagram),
meeting page, grid worker's cases, attachments. Scoped by the same rules as the JSON API
(``workflows.reads.queries``): nobody reads a case, meeting or photo outside their scope.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import OpenTask, TaskQuery, instance_summary, open_task, open_tasks, version_by_id
from workflows.cases.decisions import check_may_act, resolver_id
from workflows.cases.lookups import get_case
from workflows.cases.models import Attachment, Case
from workflows.cases.reporting import OPEN_STATUSES, case_item, case_view, task_item
from workflows.cases.timeline import anchor_unit
from workflows.checks import engine_errors
from workflows.clock import now
from workflows.coordination.meetings import meeting_view
from workflows.coordination.models import FundSpend, Meeting
from workflows.errors import Forbidden, NotFound
from workflows.org.models import LEVELS, Department, OrgUnit
from workflows.org.tree import ancestors, units_under
from workflows.people.lookups import get_user
from workflows.people.models import User
from workflows.reads.evidence import task_evidence
from workflows.reads.queries import case_query, count_of, may_read_case
from workflows.reads.tasks import SORTS, TaskFilters, find_tasks, levels_seen, may_look_below
from workflows.reference.models import Category

# --- reference data for forms ---------------------------------------------------------------

def categories(system) -> list[dict]:
    """Active leaf categories with their group, for pickers."""
    with system.reads() as session:
        rows = session.scalars(select(Category).where(Category.active, Category.parent_id.is_not(None))
                               .order_by(Category.parent_id, Category.code))
        return [{"code": c.code, "name": c.name, "name_en": c.name_en, "group": c.parent.code,
                 "group_name": c.parent.name, "group_name_en": c.parent.name_en} for c in rows]


def departments(system) -> list[dict]:
    with system.reads() as session:
        return [{"code": d.code, "name": d.name} for d in session.scalars(select(Department).order_by(Department.id))]


def grids(system) -> list[dict]:
    """Every grid with its community, for the residents' grid picker."""
    with system.reads() as session:
        rows = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.parent_id).where(OrgUnit.level == "grid")
                               .order_by(OrgUnit.code)).all()
        names = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.level == "community")).all())
        return [{"code": code, "name": name, "community": names.get(parent, "")} for code, name, parent in rows]


def units_below(session: Session, code: str | None) -> list[OrgUnit]:
    """Units under the unit ``code`` (not itself), higher levels first, for "assign down"."""
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code)) if code else None
    if unit is None:
        return []
    return sorted(units_under(session, unit), key=lambda u: (-LEVELS.index(u.level), u.code))


# --- inbox ----------------------------------------------------------------------------------

INBOX_LIMIT = 2000


def inbox(system, actor, filters: dict | None = None) -> dict:
    """The tasks ``actor`` may act on with the case's title and category (the list of
    ``workflows.reads.tasks``): filters ``level`` (one the actor sees), ``category``, ``overdue``,
    ``mine`` (claimed by me), ``q`` (number, title or address), ``below`` (supervisors: the work
    waiting in the units below theirs), ``sort`` (due, newest, level). Also says which levels the
    actor may filter by and whether they may look below; claims carry the claimant's name."""
    filters = filters or {}
    with system.reads() as session:
        user = get_user(session, actor)
        if user.role == "leader":
            raise Forbidden(f"{user.username} is a leader: leaders watch cases on the dashboard and have no inbox")
        wanted = TaskFilters(level=filters.get("level"), category=filters.get("category"),
                             overdue=True if filters.get("overdue") else None, mine=bool(filters.get("mine")),
                             search=filters.get("q") or None, below=bool(filters.get("below")),
                             sort=filters.get("sort") or "due")
        tasks, total = find_tasks(session, user, wanted, limit=INBOX_LIMIT)
        moment = now()
        items = [_inbox_item(task, moment) for task in tasks]
        _add_case_details(session, items)
        _add_claimant_names(session, items)
        _add_unit_names(session, items)
        return {"items": items, "total": total, "levels": levels_seen(user), "sorts": SORTS,
                "may_look_below": may_look_below(user)}


def _add_unit_names(session: Session, items: list[dict]) -> None:
    codes = {i["org_unit"] for i in items if i["org_unit"]}
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(codes))).all()) \
        if codes else {}
    for item in items:
        item["org_unit_name"] = names.get(item["org_unit"]) or item["org_unit"]


def _add_claimant_names(session: Session, items: list[dict]) -> None:
    usernames = {i["claimed_by"] for i in items if i["claimed_by"]}
    if not usernames:
        return
    names = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(usernames))).all())
    for item in items:
        if item["claimed_by"]:
            item["claimed_by_name"] = names.get(item["claimed_by"]) or item["claimed_by"]


def _inbox_item(task: OpenTask, moment) -> dict:
    item = task_item(task)
    context = task.context or {}
    item["category"] = context.get("category")
    item["overdue"] = task.overdue_at is not None or (task.due_at is not None and task.due_at <= moment)
    item["reminded"] = task.reminded_at is not None and not item["overdue"]
    item["task_kind"] = (task.properties or {}).get("task_kind") or context.get("task_kind")
    return item


def _add_case_details(session: Session, items: list[dict]) -> None:
    numbers = {i["case_number"] for i in items if i["case_number"]}
    if not numbers:
        return
    rows = session.execute(select(Case.number, Case.title, Case.status, Category.code, Category.name,
                                  Category.name_en).join(Category, Case.category_id == Category.id)
                           .where(Case.number.in_(numbers))).all()
    found = {r[0]: r for r in rows}
    for item in items:
        row = found.get(item["case_number"])
        if row:
            item["title"] = row[1]
            item["case_status"] = row[2]
            item["category_info"] = {"code": row[3], "name": row[4], "name_en": row[5]}


# --- one task -------------------------------------------------------------------------------

def task_page(system, actor, task_id: str) -> dict:
    """A task the actor may act on, its form (JSON Schema as a dict), the case (masked for
    departments) and the choices its form offers (departments, units below, ...)."""
    with system.reads() as session:
        user = get_user(session, actor)
        with engine_errors():
            task = system.runtime.task(session, task_id)
        check_may_act(user, task)
        with engine_errors():
            version_id = system.runtime.instance_summary(session, task.instance_id).process_version_id
            form = system.runtime.form_schema(session, version_id, task.form_schema)
        item = _inbox_item(task, now())
        case = None
        if task.business_key:
            case = _enrich(session, get_case(session, task.business_key), case_view(session, user, task.business_key))
        resolved_by_me = item["task_kind"] == "verify" and case is not None and \
            resolver_id(session, get_case(session, task.business_key)) == user.id
        meeting = _open_meeting(session, case["number"]) if case else None
        proof = task_evidence(session, get_case(session, task.business_key), item["task_kind"]) if case else None
        return {"task": item, "form": json.loads(form) if form else None, "case": case, "evidence": proof,
                "options": _form_options(session, task, case), "resolved_by_me": resolved_by_me,
                "meeting": _meeting_summary(meeting) if meeting is not None else None}


def _form_options(session: Session, task: OpenTask, case: dict | None) -> dict:
    all_departments = [(d.code, d.name) for d in session.scalars(select(Department).order_by(Department.id))]
    options = {"departments": all_departments, "lead_department": all_departments,
               "department": all_departments}
    options["org_unit"] = [(u.code, f"{u.name}（{u.code}）") for u in units_below(session, task.org_unit)]
    meeting = _open_meeting(session, case["number"]) if case else None
    if meeting is not None:
        summoned = [(s.department.code, s.department.name) for s in meeting.summons]
        options["lead_department"] = summoned or all_departments
    return options


def _meeting_summary(meeting: Meeting) -> dict:
    return {"id": meeting.id, "topic": meeting.topic, "place": meeting.place, "scheduled_at": meeting.scheduled_at,
            "urgency": meeting.urgency, "duty_deadline": meeting.duty_deadline, "status": meeting.status}


def _open_meeting(session: Session, number: str) -> Meeting | None:
    return session.scalar(select(Meeting).join(Case, Meeting.case_id == Case.id)
                          .where(Case.number == number, Meeting.status != "confirmed")
                          .order_by(Meeting.id.desc()).limit(1))


# --- one case -------------------------------------------------------------------------------

def _readable(session: Session, user: User, number: str) -> Case:
    case = get_case(session, number)
    if not may_read_case(session, user, case):
        raise Forbidden(f"{user.username} ({user.role}) may not open case {number}: it is outside your area "
                        "or department")
    return case


def case_page(system, actor, number: str) -> dict:
    """Everything the case page shows: details, timeline, attachments, open tasks with holders,
    dispatches, meetings, the fund spent, the diagram state, and what the viewer may do."""
    with system.reads() as session:
        user = get_user(session, actor)
        case = _readable(session, user, number)
        view = _enrich(session, case, case_view(session, user, case.number))
        view["meetings"] = [{"id": m.id, "topic": m.topic, "status": m.status, "urgency": m.urgency,
                             "scheduled_at": m.scheduled_at} for m in case.meetings]
        spends = session.scalars(select(FundSpend).where(FundSpend.case_id == case.id).order_by(FundSpend.id))
        view["fund"] = [{"amount_cents": s.amount_cents, "purpose": s.purpose, "spent_at": s.spent_at}
                        for s in spends]
        view["fund_total_cents"] = sum(s["amount_cents"] for s in view["fund"])
        view["diagram"] = diagram_state(session, case)
        view["may_act"] = [t["id"] for t in view["open_tasks"] if _may_act_quietly(user, t)]
        view["may_spend"] = _may_spend(session, user, case)
        return view


def _enrich(session: Session, case: Case, view: dict) -> dict:
    """Names beside the codes of a case view: category, units, departments of dispatches and tasks."""
    view["category_info"] = {"code": case.category.code, "name": case.category.name,
                             "name_en": case.category.name_en}
    view["org_unit_name"] = case.org_unit.name
    view["grid_name"] = case.grid.name if case.grid else None
    view["dispatches"] = [{**d, "department_name": _dept_name(session, d["department"]),
                           "instructions": row.instructions}
                          for d, row in zip(view["dispatches"], case.dispatches, strict=False)]
    codes = {t["org_unit"] for t in view["open_tasks"] if t["org_unit"]}
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(codes))).all()) \
        if codes else {}
    for task in view["open_tasks"]:
        task["org_unit_name"] = names.get(task["org_unit"])
    return view


def _dept_name(session: Session, code: str | None) -> str | None:
    return session.scalar(select(Department.name).where(Department.code == code)) if code else None


def _may_act_quietly(user: User, task: dict) -> bool:
    if user.role == "admin":
        return True
    if user.role == "department":
        return user.department is not None and task["department"] == user.department.code
    if user.role in ("coordinator", "grid_worker"):
        return user.org_unit is not None and task["org_unit"] == user.org_unit.code and not (
            task["department"] and not task["org_unit"])
    return False


def _may_spend(session: Session, user: User, case: Case) -> bool:
    if user.role == "admin":
        return case.status in OPEN_STATUSES
    if user.role != "coordinator" or user.org_unit is None or case.status not in OPEN_STATUSES:
        return False
    unit = user.org_unit
    chain = {u.id for u in ancestors(anchor_unit(session, case))}
    return unit.level in ("workstation", "community") and unit.id in chain


def diagram_state(session: Session, case: Case) -> dict | None:
    """The BPMN files of the case's process version, the elements completed so far, and the
    current tasks with their deadlines, for the bpmn-js viewer."""
    if case.instance_id is None:
        return None
    instance = instance_summary(session, case.instance_id)
    if instance is None:
        return None
    version = version_by_id(session, instance.process_version_id)
    files = {name: text for name, text in (version.files or {}).items() if name.endswith(".bpmn")}
    main = next((n for n, t in files.items() if f'id="{version.process_id}"' in t), None)
    ordered = ([main] if main else []) + sorted(n for n in files if n != main)
    current = open_tasks(session, TaskQuery(instance_id=instance.id), order="oldest")
    moment = now()
    return {"process_id": version.process_id, "version": version.version,
            "files": [{"name": n, "xml": files[n]} for n in ordered],
            "visited": list(dict.fromkeys(instance.visited or [])),
            "current": [{"element_id": t.element_id, "name": t.name, "due_at": t.due_at.isoformat() if t.due_at
                         else None, "overdue": bool(t.overdue_at or (t.due_at and t.due_at <= moment)),
                         "holder": t.department or t.org_unit} for t in current],
            "status": instance.status}


def attachment_file(system, actor, number: str, attachment_id: int) -> dict:
    """The stored photo if the actor may read the case it belongs to."""
    with system.reads() as session:
        user = get_user(session, actor)
        case = _readable(session, user, number)
        row = session.get(Attachment, attachment_id) if _storable_id(attachment_id) else None
        if row is None or row.case_id != case.id:
            raise NotFound(f"case {number} has no attachment {attachment_id}")
        return {"path": system.upload_dir / row.stored_name, "content_type": row.content_type,
                "filename": row.filename}


# --- lists ----------------------------------------------------------------------------------

def case_list(system, actor, filters: dict, page: int = 1, per_page: int = 30) -> dict:
    """Cases the actor may read, newest first (``workflows.reads.queries.case_query``), filtered by
    ``status`` (``open``: any open status), ``q`` (number, title or address), ``org_unit``, ``grid_only``."""
    with system.reads() as session:
        user = get_user(session, actor)
        place = _place_filter(session, filters.get("org_unit"))
        status = filters.get("status")
        query = case_query(session, user, {"status": None if status == "open" else status,
                                           "open_only": status == "open", "q": filters.get("q"),
                                           "grid_only": filters.get("grid_only"),
                                           "org_unit": place.code if place is not None else None})
        total = count_of(session, query)
        rows = session.scalars(query.offset((page - 1) * per_page).limit(per_page))
        items = []
        for case in rows:
            item = case_item(case)
            item["category_info"] = {"code": case.category.code, "name": case.category.name,
                                     "name_en": case.category.name_en}
            item["org_unit_name"] = case.org_unit.name
            item["overdue"] = case.due_at is not None and case.due_at <= now() and case.status in OPEN_STATUSES
            items.append(item)
        return {"items": items, "total": total, "page": page, "per_page": per_page,
                "org_unit": {"code": place.code, "name": place.name} if place is not None else None}


def _place_filter(session: Session, code) -> OrgUnit | None:
    """The unit ``?org_unit=`` names (cases located in its grids), None when not given."""
    if not code:
        return None
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == str(code)[:100]))
    if unit is None:
        raise NotFound(f"there is no org unit {str(code)[:100]!r}; pick a grid on the map or clear the filter")
    return unit


# --- meetings -------------------------------------------------------------------------------

def meeting_page(system, actor, meeting_id: int) -> dict:
    """A meeting for someone who may read its case or was summoned to it, with the tasks of the
    meeting the viewer may act on."""
    with system.reads() as session:
        user = get_user(session, actor)
        meeting = session.get(Meeting, meeting_id) if _storable_id(meeting_id) else None
        if meeting is None:
            raise NotFound(f"meeting {meeting_id} does not exist; open it from its case page",
                           reason="meeting_unknown", params={"id": meeting_id})
        summoned = user.department_id is not None and any(
            s.department_id == user.department_id for s in meeting.summons)
        if not summoned and not may_read_case(session, user, meeting.case):
            raise Forbidden(f"{user.username} ({user.role}) may not open meeting {meeting_id}: its case "
                            f"{meeting.case.number} is outside your area or department")
        view = meeting_view(session, meeting_id)
        names = dict(session.execute(select(Department.code, Department.name)).all())
        view["department_names"] = names
        view["case_title"] = meeting.case.title
        view["org_unit_name"] = meeting.org_unit.name
        moment = now()
        for summons in view["summoned"]:
            summons["waiting_late"] = summons["reported_at"] is None and summons["deadline"] is not None \
                and summons["deadline"] <= moment
        tasks = open_tasks(session, TaskQuery(business_key=meeting.case.number), order="oldest")
        meeting_kinds = ("report_to_duty", "resolution", "carry_out_action", "confirm_outcome")
        view["tasks"] = [{**_inbox_item(t, moment), "mine": _may_act_quietly(user, task_item(t))}
                         for t in tasks if (t.properties or {}).get("task_kind") in meeting_kinds]
        for action in view["actions"]:
            action["task"] = next((t for t in view["tasks"] if t["task_kind"] == "carry_out_action"
                                   and (t.get("action_id") or _action_id(session, t)) == action["id"]), None)
        return view


def _action_id(session: Session, task: dict):
    row = open_task(session, task["id"])
    return row.context.get("action_id") if row else None


def _storable_id(value) -> bool:
    """Ids outside a 64-bit integer cannot exist (and would make the database driver raise)."""
    return isinstance(value, int) and 0 < value < 2**63
