"""Use cases around a case as a whole: report it, find duplicates, rate it, read it.

Each verb is one transaction over the case rows, the engine state, the task projection and the
timeline. Task decisions (register, handle, verify, department work, meetings) live in
``workflows.cases.decisions``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from engine import OpenTask, PendingStart, TaskQuery, open_tasks
from workflows.cases import query_codes
from workflows.cases.attachments import check_photo, check_photo_count, photo_limit, store_photo
from workflows.cases.lookups import get_case
from workflows.cases.models import CASE_SOURCES, CASE_STATUSES, Case, next_case_number
from workflows.cases.timeline import INSERT_ENTRIES, UnitRef, add_entry, entry_values, remember_case, unit_ref, worded
from workflows.checks import check_step, engine_errors, invalid, require_text
from workflows.clock import local_today, now
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.messaging.manage import check_email
from workflows.messaging.reporter import reporter_received
from workflows.org import geo
from workflows.org.gridindex import grid_index
from workflows.org.lookups import get_unit
from workflows.org.models import OrgUnit
from workflows.people.actor import Actor
from workflows.people.lookups import get_user
from workflows.people.models import User
from workflows.reference.lookups import get_category
from workflows.reference.models import Category
from workflows.reference.sla import sla_data

PROCESS_ID = "case_handling"
OPEN_STATUSES = ("reported", "open", "resolved")
DUPLICATE_RADIUS_M = 100
DUPLICATE_DAYS = 7
DUPLICATE_LIMIT = 20  # a reviewer compares a handful; a list of hundreds helps nobody


# --- reporting --------------------------------------------------------------------------------

def report_case(system, *, title: str, description: str = "", category: str, source: str, grid: str | None = None,
                lat: float | None = None, lon: float | None = None, address: str | None = None,
                reporter: dict | None = None, self_closed: dict | None = None, actor=None,
                photos: list[tuple[str, bytes]] | None = None) -> dict:
    """Report a new case and start its process. Returns number, status, level, org_unit, due_at and
    the reporter's ``query_code`` (shown once: only its hash is stored).

    Everything that only reads (the reporter, the place, the category, the SLA, possible duplicates)
    is looked up first, outside the write transaction, so writers queue behind each other only for
    the writes. The case, its timeline, photos and process start in one transaction."""
    with system.reads() as reads:
        plan = _plan_report(reads, title=title, description=description, category=category, source=source,
                            grid=grid, lat=lat, lon=lon, address=address, reporter=reporter,
                            self_closed=self_closed, actor=actor, photos=photos or [],
                            max_photos=photo_limit(system))
    query_code = query_codes.new_code()
    number = _new_number(system)  # the process is started with it (its business key) before the write
    with system.reads() as reads:
        started = _prepare_start(system, reads, plan, number)
    with system.sessions() as session, session.begin():
        case = _new_case(plan, number=number, source=source, lat=lat, lon=lon, address=address,
                         query_code_hash=query_codes.hash_code(query_code))
        session.add(case)
        remember_case(session, case)
        with session.no_autoflush:  # the process places the case first: it is inserted complete, once
            _save_start(system, session, case, started)
        session.flush()
        session.execute(INSERT_ENTRIES, _first_entries(plan, case, source, self_closed))
        reporter_received(session, case, plan.reporter.get("email"), query_code=query_code)
        for filename, content in photos or []:
            store_photo(session, system.upload_dir, case, filename, content,
                        "self_close" if self_closed else "report", plan.user)
        unit = plan.unit.code if case.org_unit_id == plan.unit.id else unit_ref(session, case.org_unit_id).code
        return {"number": case.number, "status": case.status, "level": case.level, "org_unit": unit,
                "due_at": case.due_at, "duplicates": plan.duplicates, "query_code": query_code}


def _new_case(plan: _Report, **values) -> Case:
    """The reported case, not yet placed by its process (``Case.wait_at`` / ``open_at`` do that)."""
    return Case(**values, title=plan.title, description=plan.description, category_id=plan.category.id,
                grid_id=plan.grid.id if plan.grid else None, reporter_name=plan.reporter.get("name"),
                reporter_phone=plan.reporter.get("phone"), status="reported", level=plan.level,
                org_unit_id=plan.unit.id, self_closed=plan.entry == "verify", reworked_count=0,
                created_by_id=plan.user.id if plan.user else None, created_at=plan.at)


def _first_entries(plan: _Report, case: Case, source: str, self_closed) -> list[dict]:
    """"reported" (and "resolved" for a report closed on the spot), at the moment of the report."""
    entries = [entry_values("reported", actor=plan.user, level=plan.level, unit=plan.unit,
                            data={"source": source, **worded("source", source=source)}, at=plan.at)]
    if plan.entry == "verify":
        entries.append(entry_values("resolved", actor=plan.user, level="grid", unit=plan.grid,
                                    note=self_closed["result"], data={"self_closed": True}, at=plan.at))
    return [dict(entry, case_id=case.id) for entry in entries]


@dataclass
class _Report:
    """What a report resolves to before anything is written: plain rows, read with Core statements."""

    user: Row | None  # id, username, display_name, role, org_unit_id, org_unit_level
    title: str
    description: str
    reporter: dict
    grid: UnitRef | None
    unit: UnitRef
    category: Row  # id, code, time_limit
    entry: str
    level: str
    sla: dict
    duplicates: list[str]
    at: datetime


def _plan_report(session: Session, *, title, description, category, source, grid, lat, lon, address, reporter,
                 self_closed, actor, photos, max_photos: int) -> _Report:
    user = _reporting_user(session, actor)
    title = require_text(title, "title", "a short title of the problem")
    if source not in CASE_SOURCES:
        raise invalid(f"unknown source {source!r}; use one of: {', '.join(CASE_SOURCES)}", field="source")
    reporter = _reporter(reporter)
    grid_unit = _locate(session, grid, lat, lon, address)
    unit = grid_unit or _district(session)
    cat = _category(session, category)
    entry, level = _entry(user, grid_unit, source, self_closed)
    for filename, content in photos:
        check_photo(filename, content)  # every photo is checked before any file is written
    check_photo_count(len(photos), 0, max_photos)
    at = now()
    probe = Case(category_id=cat.id, grid_id=grid_unit.id if grid_unit else None, lat=lat, lon=lon, created_at=at)
    return _Report(at=at, user=user, title=title[:200], description=description or "", reporter=reporter,
                   grid=grid_unit, unit=unit, category=cat, entry=entry, level=level, sla=sla_data(session, cat),
                   duplicates=possible_duplicates(session, probe))


def _reporter(reporter) -> dict:
    if reporter is None:
        return {}
    if not isinstance(reporter, dict) or set(reporter) - {"name", "phone", "email"}:
        raise invalid("reporter must be an object with optional name, phone and email", field="reporter")
    if reporter.get("email") is not None:
        reporter = dict(reporter, email=check_email(reporter["email"], "reporter_email"))
    return reporter


def _locate(session: Session, grid, lat, lon, address) -> UnitRef | None:
    """The grid a report belongs to: the given code, or the grid whose polygon holds the point."""
    if grid is not None:
        unit = unit_ref(session, code=grid) if isinstance(grid, str) else None
        if unit is None:
            get_unit(session, grid, field="grid")  # says what is wrong
        if unit.level != "grid":
            raise invalid(f"org unit {grid!r} is a {unit.level}, not a grid; give a grid code", field="grid")
        return unit
    if lat is not None or lon is not None:
        return _grid_at(session, lat, lon)
    if not address or not str(address).strip():
        raise invalid("where is it? give a grid code, lat and lon, or an address", field="grid",
                      reason="no_location")
    return None


def _grid_at(session: Session, lat, lon) -> UnitRef:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon))
    if not numbers or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise invalid(f"lat/lon ({lat!r}, {lon!r}) is not a point; give both in degrees", field="lat")
    found = grid_index(session).find(lat, lon)
    if found is None:
        raise invalid(f"the point lat={lat}, lon={lon} lies outside every grid; check the position "
                           "or give an address", field="lat", reason="point_outside_grids")
    return UnitRef(found.id, found.code, found.level, found.parent_id)


def _district(session: Session) -> UnitRef:
    found = session.execute(_DISTRICT).first()
    if found is None:
        raise invalid("there is no district centre in the org tree; run `gridlink init`")
    return UnitRef(found.id, found.code, found.level, found.parent_id)


_UNIT_COLUMNS = (OrgUnit.id, OrgUnit.code, OrgUnit.level, OrgUnit.parent_id)
_DISTRICT = (select(*_UNIT_COLUMNS).where(OrgUnit.level == "district").order_by(OrgUnit.id).limit(1))
_USER_COLUMNS = (User.id, User.username, User.display_name, User.role, User.org_unit_id, User.active,
                 OrgUnit.level.label("org_unit_level"))
_USER_BY_NAME = (select(*_USER_COLUMNS).outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
                         .where(User.username == bindparam("username")))
_USER_BY_ID = (select(*_USER_COLUMNS).outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
                       .where(User.id == bindparam("id")))
_CATEGORY = (select(Category.id, Category.code, Category.time_limit, Category.parent_id)
                     .where(Category.code == bindparam("code"), Category.active))


def _reporting_user(session: Session, actor) -> Row | None:
    """Who reports (an Actor, username, user id or User; None for the public), as ``get_user`` finds them."""
    if actor is None:
        return None
    if isinstance(actor, User | Actor | int):
        found = session.execute(_USER_BY_ID, {"id": actor if isinstance(actor, int) else actor.id}).first()
    else:
        found = session.execute(_USER_BY_NAME, {"username": actor}).first() if isinstance(actor, str) else None
    if found is None or not found.active:
        get_user(session, actor)  # raises its NotFound
    return found


def _category(session: Session, code) -> Row:
    found = session.execute(_CATEGORY, {"code": code}).first() if isinstance(code, str) else None
    if found is None or found.parent_id is None:
        get_category(session, code)  # raises, listing the categories a report may use
    return found


def _entry(user: Row | None, grid: UnitRef | None, source: str, self_closed) -> tuple[str, str]:
    """Where the process starts: (entry, level)."""
    if self_closed is not None:
        if not isinstance(self_closed, dict):
            raise invalid("self_closed must be an object with the result", field="self_closed")
        require_text(self_closed.get("result"), "self_closed.result", "what was done on the spot")
        if user is None or user.role != "grid_worker" or grid is None or user.org_unit_id != grid.id:
            raise Forbidden("only a grid worker of the case's grid may self-close a report on the spot")
        return "verify", "grid"
    if user is not None and user.role == "coordinator" and user.org_unit_level == "district":
        return "register", "district"
    if grid is None:
        return "register", "district"
    if user is not None and user.role == "grid_worker" and source == "patrol" and user.org_unit_id == grid.id:
        return "handle", "grid"
    return "register", "grid"


def _new_number(system) -> str:
    """The next case number, in a transaction of its own: the write lock is held for one statement,
    not for the process start. A report that fails after this (its process cannot start, or the
    database fails) leaves a gap in the day's numbers; bad input is refused before it."""
    with system.sessions() as session, session.begin():
        return next_case_number(session, local_today())


def _prepare_start(system, reads: Session, plan: _Report, number: str) -> PendingStart:
    """The case's process run to its first task in memory, before the write transaction."""
    data = {"case_number": number, "category": plan.category.code, "entry": plan.entry, "level": plan.level,
            "sla": plan.sla}
    with engine_errors():
        return system.runtime.prepare_start(reads, PROCESS_ID, data, business_key=number,
                                            actor=plan.user.username if plan.user else None)


def _save_start(system, session: Session, case: Case, started: PendingStart) -> None:
    with engine_errors():
        result = system.runtime.save_start(session, started)
    check_step(result)
    case.attach_process(result.instance_id)


def _summary(session: Session, case: Case) -> dict:
    return {"number": case.number, "status": case.status, "level": case.level, "org_unit": case.org_unit.code,
            "due_at": case.due_at, "duplicates": possible_duplicates(session, case)}


def possible_duplicates(session: Session, case: Case) -> list[str]:
    """Numbers of open cases of the same category from the last 7 days, in the same grid or within
    100 m, newest first (at most DUPLICATE_LIMIT).

    SQL narrows to the same grid or a box around the point and reads only the columns the distance
    check needs; the exact distance is checked here."""
    by_grid, by_point = case.grid_id is not None, case.lat is not None and case.lon is not None
    if not (by_grid or by_point):
        return []
    params = {"category_id": case.category_id, "case_id": case.id if case.id is not None else -1,
              "since": (case.created_at or now()) - timedelta(days=DUPLICATE_DAYS), "grid_id": case.grid_id}
    if by_point:
        dlat = DUPLICATE_RADIUS_M * 1.1 / 111_320
        dlon = dlat / max(math.cos(math.radians(case.lat)), 0.01)
        params.update(lat_min=case.lat - dlat, lat_max=case.lat + dlat, lon_min=case.lon - dlon,
                      lon_max=case.lon + dlon)
    found = []
    for other in session.execute(_NEARBY[(by_grid, by_point)], params):
        same_grid = by_grid and other.grid_id == case.grid_id
        near = by_point and None not in (other.lat, other.lon) and \
            geo.haversine_m(case.lat, case.lon, other.lat, other.lon) <= DUPLICATE_RADIUS_M
        if same_grid or near:
            found.append(other.number)
            if len(found) == DUPLICATE_LIMIT:
                break
    return found


def _nearby(by_grid: bool, by_point: bool) -> Select:
    """Open cases of a category since a moment, other than one, in a grid and/or a lat/lon box."""
    same_grid = Case.grid_id == bindparam("grid_id")
    in_box = Case.lat.between(bindparam("lat_min"), bindparam("lat_max")) \
        & Case.lon.between(bindparam("lon_min"), bindparam("lon_max"))
    place = or_(same_grid, in_box) if by_grid and by_point else same_grid if by_grid else in_box
    return (select(Case.number, Case.grid_id, Case.lat, Case.lon)
            .where(Case.category_id == bindparam("category_id"), Case.id != bindparam("case_id"),
                   Case.status.in_(OPEN_STATUSES), Case.created_at >= bindparam("since"), place)
            .order_by(Case.created_at.desc(), Case.id.desc()))


_NEARBY = {(grid, point): _nearby(grid, point) for grid in (True, False) for point in (True, False) if grid or point}


# --- rating -----------------------------------------------------------------------------------

def rate_case(system, number: str, rating: int, comment: str | None = None, *, query_code: str | None) -> dict:
    """The reporter's satisfaction (1..5), once the case is closed; needs the reporter's query code
    (a wrong code is answered like an unknown number)."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise invalid(f"rating {rating!r} is not allowed; give a whole number from 1 to 5", field="rating")
    with system.sessions() as session, session.begin():
        case = _case_by_code(session, number, query_code)
        if case.status != "closed":
            raise Conflict(f"case {number} is {case.status}; it can be rated once it is closed", field="rating")
        if case.rating is not None:
            raise Conflict(f"case {number} was already rated {case.rating}; a case is rated once", field="rating",
                           reason="already_rated", params={"rating": case.rating})
        case.rating, case.rating_comment = rating, comment
        add_entry(session, case, "rated", level=case.closed_level, note=comment, data={"rating": rating})
        return {"number": case.number, "rating": rating}


# --- reading ----------------------------------------------------------------------------------

def mask_phone(phone: str | None) -> str | None:
    """138****1234: the first three and last four digits."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


PUBLIC_NOTE_KINDS = {"reported", "rejected", "merged", "resolved", "rated"}
"""Public entries whose note a resident may read; other notes are staff-internal (reasons, instructions)."""


def timeline_item(entry, public: bool = False) -> dict:
    shown = not public or entry.kind in PUBLIC_NOTE_KINDS
    data = entry.data or {}
    item = {"at": entry.at, "kind": entry.kind, "level": entry.level, "note": entry.note if shown else None,
            "note_key": data.get("note_key") if shown else None,
            "note_params": data.get("note_params") or {} if shown else {}}
    if not public:
        item.update(actor=entry.actor_name, org_unit=entry.org_unit.code if entry.org_unit else None,
                    department=entry.department.code if entry.department else None, data=entry.data)
    return item


def task_item(task: OpenTask) -> dict:
    context = task.context or {}
    overdue = task.overdue_at is not None or (task.due_at is not None and task.due_at <= now())
    return {"id": task.id, "name": task.name, "title": context.get("title"), "task_kind": context.get("task_kind"),
            "case_number": task.business_key, "level": context.get("level"), "org_unit": task.org_unit,
            "department": task.department, "claimed_by": task.claimed_by, "due_at": task.due_at,
            "overdue": overdue, "created_at": task.created_at, "action": context.get("action")}


def case_item(case: Case) -> dict:
    return {"number": case.number, "title": case.title, "description": case.description,
            "category": case.category.code, "source": case.source, "status": case.status, "level": case.level,
            "org_unit": case.org_unit.code, "grid": case.grid.code if case.grid else None, "lat": case.lat,
            "lon": case.lon, "address": case.address, "due_at": case.due_at, "created_at": case.created_at,
            "closed_at": case.closed_at, "closed_level": case.closed_level, "rating": case.rating,
            "self_closed": case.self_closed, "reworked_count": case.reworked_count,
            "merged_into": case.merged_into.number if case.merged_into else None}


_CASES, _UNITS = Case.__table__, OrgUnit.__table__
_GRIDS, _MERGED = _UNITS.alias("grid_unit"), _CASES.alias("merged_case")
_CASE_SUMMARY = (
    select(*(_CASES.c[k] for k in ("number", "title", "description", "source", "status", "level", "lat", "lon",
                                   "address", "due_at", "created_at", "closed_at", "closed_level", "rating",
                                   "self_closed", "reworked_count")),
           Category.__table__.c.code.label("category"), _UNITS.c.code.label("org_unit"),
           _GRIDS.c.code.label("grid"), _MERGED.c.number.label("merged_into"))
    .join(Category.__table__, Category.__table__.c.id == _CASES.c.category_id)
    .join(_UNITS, _UNITS.c.id == _CASES.c.org_unit_id)
    .outerjoin(_GRIDS, _GRIDS.c.id == _CASES.c.grid_id)
    .outerjoin(_MERGED, _MERGED.c.id == _CASES.c.merged_into_id)
    .where(_CASES.c.number == bindparam("number")))
_ITEM_KEYS = ("number", "title", "description", "category", "source", "status", "level", "org_unit", "grid", "lat",
              "lon", "address", "due_at", "created_at", "closed_at", "closed_level", "rating", "self_closed",
              "reworked_count", "merged_into")


def case_with_tasks(session: Session, number: str) -> dict:
    """``case_item`` of a case and its open tasks as ``task_item``s, read with two Core statements
    (what a task completion answers; loading the objects costs several times more). Changes the
    session holds are flushed first: Core statements do not autoflush."""
    if session.new or session.dirty:
        session.flush()
    row = session.execute(_CASE_SUMMARY, {"number": number}).first()
    if row is None:
        get_case(session, number)  # says that it does not exist
    tasks = [task_item(task) for task in open_tasks(session, TaskQuery(business_key=number), order="oldest")]
    return {**{key: getattr(row, key) for key in _ITEM_KEYS}, "open_tasks": tasks}


def case_tasks(session: Session, case: Case) -> list[OpenTask]:
    """The open tasks of ``case``, oldest first."""
    return open_tasks(session, TaskQuery(business_key=case.number), order="oldest")


def case_view(session: Session, user: User | None, number: str) -> dict:
    """One case for a staff member: details, timeline, open tasks; the reporter in full only for the
    staff who register and verify cases (see ``sees_reporter``), masked for everyone else."""
    case = get_case(session, number)
    view = case_item(case)
    full = sees_reporter(user)
    view["reporter"] = {"name": case.reporter_name if full else _mask_name(case.reporter_name),
                        "phone": case.reporter_phone if full else mask_phone(case.reporter_phone)}
    view["timeline"] = [timeline_item(e) for e in case.timeline]
    view["open_tasks"] = [task_item(t) for t in case_tasks(session, case)]
    view["attachments"] = [{"id": a.id, "ref": a.stored_name, "filename": a.filename, "purpose": a.purpose,
                            "content_type": a.content_type} for a in case.attachments]
    view["dispatches"] = [{"department": d.department.code, "level": d.level, "accepted_at": d.accepted_at,
                           "returned_at": d.returned_at, "return_reason": d.return_reason, "result": d.result,
                           "accept_overdue": d.accept_overdue, "result_overdue": d.result_overdue}
                          for d in case.dispatches]
    view["meetings"] = [m.id for m in case.meetings]
    view["duplicates"] = possible_duplicates(session, case)
    return view


REPORTER_ROLES = ("admin", "coordinator", "grid_worker")
"""Who registers and verifies cases (and so may call the reporter back); scoping already limits
coordinators and grid workers to the cases of their own area. Departments and leaders see masks."""


def sees_reporter(user: User | None) -> bool:
    return user is not None and user.role in REPORTER_ROLES


def _mask_name(name: str | None) -> str | None:
    return name[0] + "*" * (len(name) - 1) if name else name


def public_case_view(system, number: str, query_code: str | None) -> dict:
    """What a resident sees on /track with the number and the query code: status, grid and the
    public timeline; no staff names, no reporter, and the title and address only when the category
    is public. A wrong code gets the NotFound of an unknown number."""
    with system.reads() as session:
        case = _case_by_code(session, number, query_code)
        public = bool(case.category.public)
        return {"number": case.number, "title": case.title if public else None, "category": case.category.code,
                "status": case.status, "level": case.level, "created_at": case.created_at,
                "closed_at": case.closed_at, "rating": case.rating,
                "grid": case.grid.name if case.grid else None, "address": case.address if public else None,
                "timeline": [timeline_item(e, public=True) for e in case.timeline if e.public]}


def _case_by_code(session: Session, number: str, query_code: str | None) -> Case:
    """The case with this number if ``query_code`` is its code; otherwise the same NotFound as for a
    number that does not exist (after the same hashing work, so timing tells nothing either)."""
    case = session.scalar(select(Case).where(Case.number == number)) if isinstance(number, str) else None
    if not query_codes.matches(case.query_code_hash if case is not None else None, query_code) or case is None:
        raise NotFound(f"there is no case {number!r} with this query code; check the number and the code on "
                       "the receipt", field="number", reason="case_or_code_unknown", params={"number": number})
    return case


def set_query_code(system, number: str, query_code: str) -> None:
    """Give a case a known query code (the demo's printed codes); replaces the code it had."""
    with system.sessions() as session, session.begin():
        get_case(session, number).query_code_hash = query_codes.hash_code(query_code)


def list_cases(session: Session, filters: dict | None = None, page: int = 1, per_page: int = 20) -> dict:
    """Cases newest first, filtered by status, level, org_unit (the unit and below it), overdue."""
    filters = filters or {}
    query = select(Case)
    if filters.get("status"):
        if filters["status"] not in CASE_STATUSES:
            raise invalid(f"unknown status {filters['status']!r}; use one of: {', '.join(CASE_STATUSES)}",
                               field="status")
        query = query.where(Case.status == filters["status"])
    if filters.get("level"):
        query = query.where(Case.level == filters["level"])
    if filters.get("org_unit"):
        query = query.where(Case.org_unit_id == get_unit(session, filters["org_unit"]).id)
    if filters.get("overdue"):
        query = query.where(or_(Case.due_at <= now()), Case.status.in_(OPEN_STATUSES))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Case.created_at.desc(), Case.id.desc())
                           .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return {"items": [case_item(c) for c in rows], "page": page, "per_page": per_page, "total": total}
