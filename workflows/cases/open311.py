"""Open311 GeoReport v2 over the domain: categories as services, cases as service requests.

A request posted by an integration becomes a case with source ``platform``; its
``service_request_id`` is the case number. Statuses collapse to the spec's two: ``open``
(reported, open, resolved) and ``closed`` (closed, rejected, merged).

Reads show what a public notice board would (PRODUCT.md, Open311 privacy): category, status,
times, the grid (not the point) and the status notes; never the reporter, staff names or internal
notes, and the description, address and coordinates only for categories marked public. A reader
with the ``api_key`` of a staff account also gets those for the cases that account may read (the
JSON API's scope, ``queries.case_scope``). A POST's answer carries the reporter's query code.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from workflows.cases.models import Case, TimelineEntry
from workflows.cases.reporting import OPEN_STATUSES, report_case
from workflows.clock import now, parse_time
from workflows.coordination.models import Dispatch
from workflows.errors import InvalidInput, NotFound
from workflows.org.models import Department, OrgUnit
from workflows.people.models import User
from workflows.reads.queries import case_scope
from workflows.reads.sessions import read_sessions
from workflows.reference.models import Category

MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
MAX_DESCRIPTION = 4000
MAX_IDS = 200
LEVEL_NAMES = {"grid": "网格", "community": "社区", "workstation": "联动工作站", "subcentre": "街道联动分中心",
               "district": "区联动中心"}
STATUS_NOTES = {
    "reported": "已收到，等待{level}核实立案",
    "open": "已立案，正由{level}处置",
    "resolved": "已处置，等待核查结案",
    "closed": "已结案",
    "rejected": "经核实不予立案",
    "merged": "与其他工单重复，已合并办理",
}


# --- services -------------------------------------------------------------------------------

def _leaf_categories(session: Session):
    return session.scalars(select(Category).where(Category.active, Category.parent_id.is_not(None))
                           .order_by(Category.code))


def _service_category(session: Session, code) -> Category:
    category = session.scalar(select(Category).where(Category.code == code, Category.active,
                                                     Category.parent_id.is_not(None))) \
        if isinstance(code, str) else None
    if category is None:
        raise NotFound(f"service_code {code!r} was not found; GET services.json lists the codes",
                       field="service_code")
    return category


def _time_limit_text(limit: str | None) -> str:
    return limit or "按默认时限"


def service_item(category: Category) -> dict:
    department = category.department.name if category.department else None
    description = f"{category.name}（{category.name_en}）" if category.name_en else category.name
    if department:
        description += f"；责任部门：{department}；处置时限：{_time_limit_text(category.time_limit)}"
    return {"service_code": category.code, "service_name": category.name, "description": description,
            "metadata": True, "type": "realtime",
            "keywords": ", ".join(k for k in (category.name_en, category.parent.name if category.parent else None)
                                  if k),
            "group": category.parent.name if category.parent else None}


def list_services(system) -> list[dict]:
    with read_sessions(system)() as session:
        return [service_item(c) for c in _leaf_categories(session)]  # a dozen rows: lazy loads are fine


def service_definition(system, code: str) -> dict:
    """The attributes a client may send with a request of this service."""
    with read_sessions(system)() as session:
        category = _service_category(session, code)
        department = category.department.name if category.department else "按派遣"
        return {"service_code": category.code, "attributes": [
            {"variable": False, "code": "notice", "datatype": "string", "required": False,
             "datatype_description": None, "order": 1,
             "description": f"责任部门：{department}；处置时限：{_time_limit_text(category.time_limit)}"},
            {"variable": True, "code": "title", "datatype": "string", "required": False,
             "datatype_description": "不超过 200 字", "order": 2,
             "description": "问题标题（不填时取描述的第一行）"},
            {"variable": True, "code": "grid", "datatype": "string", "required": False,
             "datatype_description": "网格编码，例如 hq-c04-g03", "order": 3,
             "description": "所在网格（不填时按 lat/long 定位；只有地址时由区联动中心登记）"},
        ]}


# --- posting a request ----------------------------------------------------------------------

def _number(params: dict, name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} {value!r} is not a number; give degrees in WGS84, e.g. 31.33", field=name) \
            from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidInput(f"{name} {value!r} is not a finite number", field=name)
    return number


def _title(params: dict, attributes: dict, category: Category) -> str:
    title = attributes.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()[:200]
    first_line = (params.get("description") or "").strip().splitlines()
    return (first_line[0][:60] if first_line else category.name) or category.name


def create_request(system, actor: str, params: dict, attributes: dict) -> dict:
    """Report a case from an Open311 POST. ``params`` hold the spec's fields (empty ones removed)."""
    with read_sessions(system)() as session:
        if params.get("service_code") is None:
            raise InvalidInput("service_code was not provided; GET services.json lists the codes",
                               field="service_code")
        category = _service_category(session, params["service_code"])
    lat, lon = _number(params, "lat"), _number(params, "long")
    if (lat is None) != (lon is None):
        raise InvalidInput("lat and long must be sent together", field="lat" if lat is None else "long")
    address = params.get("address_string")
    grid = attributes.get("grid") if isinstance(attributes.get("grid"), str) else None
    if lat is None and not address and not grid:
        hint = " (address_id is not supported here)" if params.get("address_id") else ""
        raise InvalidInput(f"a location is required: send lat and long, or address_string{hint}", field="lat")
    description = params.get("description") or ""
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description has {len(description)} characters; the limit is {MAX_DESCRIPTION}",
                           field="description")
    if params.get("media_url"):
        description = f"{description}\n照片：{params['media_url']}".strip()
    name = " ".join(p for p in (params.get("last_name"), params.get("first_name")) if p) or None
    reporter = {k: v for k, v in (("name", name), ("phone", params.get("phone")), ("email", params.get("email")))
                if v}
    created = report_case(system, title=_title(params, attributes, category), description=description,
                          category=category.code, source="platform", grid=grid, lat=lat, lon=lon,
                          address=(address or None) and address[:300], reporter=reporter or None, actor=actor)
    notice = (f"工单 {created['number']} 已受理，查询码 {created['query_code']}（只显示这一次，请告知报告人）；"
              "凭编号和查询码可在 /track 查询办理进度并评价")
    return {"service_request_id": created["number"], "service_notice": notice, "query_code": created["query_code"]}


# --- reading requests -----------------------------------------------------------------------

def _split(value: str | None, name: str) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        return None
    if len(items) > MAX_IDS:
        raise InvalidInput(f"{name} lists {len(items)} values; send at most {MAX_IDS}", field=name)
    return items


def _w3_time(value: str | None, field: str) -> datetime | None:
    """A w3 date-time with its zone; a '+' sent unencoded in a query arrives as a space and is put back."""
    if value is None:
        return None
    if re.search(r" \d\d:?\d\d$", value):
        value = value[:-6] + "+" + value[-5:] if value[-3] == ":" else value[:-5] + "+" + value[-4:]
    return parse_time(value, field)


def _period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    begin = _w3_time(start, "start_date")
    finish = _w3_time(end, "end_date")
    if begin is None and finish is None:
        finish = now()
    if begin is None:
        begin = finish - MAX_SPAN
    if finish is None:
        finish = begin + MAX_SPAN
    if finish < begin:
        raise InvalidInput(f"end_date {end!r} is before start_date {start!r}", field="end_date")
    if finish - begin > MAX_SPAN:
        raise InvalidInput(f"start_date {start!r} .. end_date {end!r} spans more than 90 days; ask for at most "
                           "90 days at a time", field="end_date")
    return begin, finish


def list_requests(system, filters: dict, reader_id: int | None = None) -> list[dict]:
    """Requests newest first: ``service_request_id`` (comma list) overrides ``service_code`` (comma list),
    ``start_date``/``end_date`` (at most 90 days; default the last 90) and ``status`` (open, closed).
    ``reader_id``: the staff user of the api_key, who also sees the private fields of their cases."""
    ids = _split(filters.get("service_request_id"), "service_request_id")
    query = select(Case)
    if ids:
        query = query.where(Case.number.in_(ids))
    else:
        codes = _split(filters.get("service_code"), "service_code")
        statuses = _split(filters.get("status"), "status")
        for status in statuses or ():
            if status not in ("open", "closed"):
                raise InvalidInput(f"status {status!r} is not allowed; use open, closed or both (open,closed)",
                                   field="status")
        begin, finish = _period(filters.get("start_date"), filters.get("end_date"))
        query = query.where(Case.created_at >= begin, Case.created_at <= finish)
        if codes:
            query = query.join(Category, Case.category_id == Category.id).where(Category.code.in_(codes))
        if statuses and set(statuses) != {"open", "closed"}:
            open_only = statuses[0] == "open"
            query = query.where(Case.status.in_(OPEN_STATUSES) if open_only else Case.status.not_in(OPEN_STATUSES))
    with read_sessions(system)() as session:
        query = query.options(joinedload(Case.category))
        cases = list(session.scalars(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)))
        return _request_items(session, cases, _readable(session, reader_id, cases))


def get_request(system, number: str, reader_id: int | None = None) -> list[dict]:
    with read_sessions(system)() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        if case is None:
            raise NotFound(f"service request {number!r} was not found; check the number (e.g. GL20261121-0001)",
                           field="service_request_id")
        return _request_items(session, [case], _readable(session, reader_id, [case]))


def _readable(session: Session, reader_id: int | None, cases: list[Case]) -> set[int]:
    """The ids among ``cases`` whose private fields the reader may see (none for the public)."""
    user = session.get(User, reader_id) if reader_id is not None else None
    if user is None or not user.active or not cases:
        return set()
    ids = [c.id for c in cases]
    scope = case_scope(user)
    query = select(Case.id).where(Case.id.in_(ids))
    return set(session.scalars(query if scope is None else query.where(scope)))


def _request_items(session: Session, cases: list[Case], readable: set[int]) -> list[dict]:
    ids = [c.id for c in cases]
    if not ids:
        return []
    updated = dict(session.execute(select(TimelineEntry.case_id, func.max(TimelineEntry.at))
                                   .where(TimelineEntry.case_id.in_(ids)).group_by(TimelineEntry.case_id)).all())
    agencies = dict(session.execute(
        select(Dispatch.case_id, Department.name).join(Department, Dispatch.department_id == Department.id)
        .where(Dispatch.case_id.in_(ids), Dispatch.returned_at.is_(None), Dispatch.result_at.is_(None))
        .order_by(Dispatch.id)).all())
    units = dict(session.execute(select(OrgUnit.id, OrgUnit.name)).all())
    return [_request_item(c, updated.get(c.id), agencies.get(c.id) or units.get(c.org_unit_id), units,
                          c.id in readable or bool(c.category.public)) for c in cases]


def _request_item(case: Case, updated_at, agency: str | None, units: dict[int, str], private: bool) -> dict:
    """One request; ``private`` adds the description, the address and the point (else: the grid only)."""
    is_open = case.status in OPEN_STATUSES
    grid = units.get(case.grid_id) if case.grid_id else None
    return {
        "service_request_id": case.number,
        "status": "open" if is_open else "closed",
        "status_notes": STATUS_NOTES[case.status].format(level=LEVEL_NAMES.get(case.level, case.level)),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": (case.description or None) if private else None,
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": case.created_at,
        "updated_datetime": case.closed_at if case.closed_at and not is_open else (updated_at or case.created_at),
        "expected_datetime": case.due_at if is_open else None,
        "address": (case.address or grid) if private else grid,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat if private else None,
        "long": case.lon if private else None,
        "media_url": None,
    }
