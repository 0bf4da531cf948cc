"""Evaluation (考核评价): the standard case-handling figures for a period, a scope and a grouping.

Every figure is a SQL aggregate over indexed columns; rows are never loaded case by case. The
queries group by the case's *home unit* (its grid, or the unit holding it when it has none) and
the org tree (a couple of hundred units) rolls those rows up to any level in Python, so a
subtree, a level of the tree or the whole district all come from the same few queries.

Which rows a period covers:

* case figures, department dispatches, report-to-duty and fund spends: the **cohort** of cases
  reported in ``[start, end)``, in their state *now* (closed means closed by now);
* overdues: the overdue records **written** in ``[start, end)``, charged to the unit (and
  department) that let the limit run out.

The denominator of the rates is 应结案数, cases due for closure = closed + open past due (open,
i.e. reported/open/resolved, with its current time limit ``due_at`` passed), so overdue work
cannot hide behind a 100 % on-time rate of the few cases that did close.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from workflows.cases.models import Case, TimelineEntry
from workflows.clock import LOCAL_TZ, now
from workflows.coordination.models import Dispatch, FundSpend, Meeting, MeetingSummons
from workflows.errors import InvalidInput
from workflows.evaluation.figures import (
    CALLBACK_KIND,
    EXTENSION_KIND,
    REGISTRATION_LIMIT,
    SUSPENDED_KIND,
    ratio,
    standard_figures,
)
from workflows.evaluation.figures import RATE_KEYS as STANDARD_RATE_KEYS
from workflows.evaluation.models import CHARGE_KINDS, Charge, EvaluationWeight, InspectionScore
from workflows.org.models import LEVELS, Department, OrgUnit
from workflows.reference.models import Category

OPEN_STATUSES = ("reported", "open", "resolved")
GROUPINGS = ("org_unit", "level", "department", "category")
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    # communities (and any org unit above a grid): rates only, so more cases never raise the score
    "unit": {"closure": 0.30, "on_time": 0.30, "no_rework": 0.20, "registration": 0.10, "satisfaction": 0.10},
    # departments: their handling of what was dispatched to them and their report to duty
    "department": {"handling": 0.30, "on_time": 0.30, "no_rework": 0.20, "duty": 0.20},
    # grid teams: closure and on-time as communities, plus what they fix on the spot
    "grid": {"closure": 0.30, "on_time": 0.30, "no_rework": 0.20, "self_closed": 0.20},
}
"""The documented default formulas. Each part is a rate in 0..1; the score is 100 x their weighted
mean over the parts that have a value. No formula has a volume part for units: a community with 5
cases all closed on time scores as high as one with 500."""
SUBJECTS = tuple(DEFAULT_WEIGHTS)
COMPONENTS = tuple(dict.fromkeys(c for weights in DEFAULT_WEIGHTS.values() for c in weights))
GRADES = ((90.0, "A"), (75.0, "B"), (60.0, "C"), (40.0, "D"))
STARS = ((90.0, 5), (75.0, 4), (60.0, 3), (40.0, 2))
"""Grid leaders' star rating (星级评定) from their grid's score: 5 stars at 90, ... 1 star below 40."""

RATE_KEYS = (*STANDARD_RATE_KEYS, "handling_rate", "returned_rate")


# --- period ---------------------------------------------------------------------------------

def _as_start(value: Any, field_name: str) -> datetime:
    if isinstance(value, str):
        value = _parse(value, field_name)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"{field_name} {value.isoformat()!r} has no time zone; add one, e.g. +08:00",
                               field=field_name)
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(), LOCAL_TZ)
    raise InvalidInput(f"{field_name} {value!r} is not a date; write e.g. 2026-11-01", field=field_name)


def _parse(text: str, field_name: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field_name} {text!r} is not a date; write e.g. 2026-11-01 or "
                           "2026-11-01T00:00:00+08:00", field=field_name) from None


def resolve_period(start: Any, end: Any) -> tuple[datetime, datetime]:
    """``[start, end)`` as tz-aware datetimes.

    Dates are local days (China Standard Time): a start date begins at its midnight, an end date
    is *inclusive* (the period runs to the next midnight). Datetimes are taken as they are (end
    exclusive). Strings may be either, in ISO 8601.
    """
    begin = _as_start(start, "from")
    if isinstance(end, str):
        end = _parse(end, "to")
    try:
        finish = _as_start(end + timedelta(days=1), "to") if isinstance(end, date) \
            and not isinstance(end, datetime) else _as_start(end, "to")
    except OverflowError:
        raise InvalidInput(f"to {end!r} is out of range; give a date before 9999-12-31", field="to") from None
    if finish <= begin:
        raise InvalidInput(f"the period {begin.isoformat()} .. {finish.isoformat()} is empty; 'to' must come "
                           "after 'from'", field="to")
    return begin, finish


def month_period(month: Any) -> tuple[str, datetime, datetime]:
    """A local calendar month given as ``YYYY-MM`` (or a date in it): (label, start, end)."""
    if isinstance(month, str):
        try:
            first = date.fromisoformat(month.strip() + "-01")
        except ValueError:
            raise InvalidInput(f"month {month!r} is not a month; write e.g. 2026-11", field="month") from None
    elif isinstance(month, date):
        first = month.replace(day=1) if not isinstance(month, datetime) else \
            month.astimezone(LOCAL_TZ).date().replace(day=1)
    else:
        raise InvalidInput(f"month {month!r} is not a month; write e.g. 2026-11", field="month")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.strftime("%Y-%m"), datetime.combine(first, time(), LOCAL_TZ), \
        datetime.combine(following, time(), LOCAL_TZ)


# --- the org tree ---------------------------------------------------------------------------

@dataclass
class Tree:
    """The org units as plain values, for rolling rows up the tree without touching the database."""

    units: dict[int, dict] = field(default_factory=dict)
    children: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Tree:
        tree = cls()
        rows = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent_id)
                               .order_by(OrgUnit.code))
        for uid, code, name, level, parent in rows:
            tree.units[uid] = {"id": uid, "code": code, "name": name, "level": level, "parent": parent}
            tree.children.setdefault(parent, []).append(uid)
        return tree

    def by_code(self, code: str) -> dict:
        for unit in self.units.values():
            if unit["code"] == code:
                return unit
        raise InvalidInput(f"unknown org unit {code!r}; use the code of a grid, community, workstation, "
                           "sub-centre or district centre (see /api/v1/org-units)", field="org_unit")

    def subtree(self, uid: int) -> set[int]:
        found, stack = set(), [uid]
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self.children.get(current, []))
        return found

    def ancestors(self, uid: int) -> list[int]:
        """The unit itself, then its parent, up to the root."""
        chain, current = [], uid
        while current is not None and current in self.units and current not in chain:
            chain.append(current)
            current = self.units[current]["parent"]
        return chain

    def default_groups(self, scope: int | None) -> list[int]:
        """The units one step below the scope; without a scope, the first level of the tree with more
        than one unit (district -> one sub-centre -> six workstations gives the workstations)."""
        if scope is not None:
            return list(self.children.get(scope, [])) or [scope]
        level = list(self.children.get(None, []))
        while len(level) == 1 and self.children.get(level[0]):
            level = list(self.children[level[0]])
        return level

    def groups_at(self, scope: int | None, unit_level: str) -> list[int]:
        allowed = self.subtree(scope) if scope is not None else set(self.units)
        return [uid for uid, unit in self.units.items() if unit["level"] == unit_level and uid in allowed]


@dataclass
class Context:
    session: Session
    tree: Tree
    start: datetime
    end: datetime
    as_of: datetime
    scope: dict | None
    scope_ids: set[int] | None

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name


def make_context(session: Session, start: Any, end: Any, scope_unit: Any = None) -> Context:
    begin, finish = resolve_period(start, end)
    tree = Tree.load(session)
    scope = None
    if scope_unit is not None:
        code = scope_unit if isinstance(scope_unit, str) else getattr(scope_unit, "code", None)
        scope = tree.by_code(code)
    scope_ids = tree.subtree(scope["id"]) if scope else None
    return Context(session, tree, begin, finish, now(), scope, scope_ids)


def home_unit():
    """Where a case belongs in the tree: its grid, or the unit holding it when it has no grid."""
    return func.coalesce(Case.grid_id, Case.org_unit_id)


def in_scope(ctx: Context, column):
    return column.in_(sorted(ctx.scope_ids)) if ctx.scope_ids is not None else literal(True)


def cohort(ctx: Context):
    """The cases reported in the period (and, with a scope, belonging to its subtree)."""
    return and_(Case.created_at >= ctx.start, Case.created_at < ctx.end, in_scope(ctx, home_unit()))


def seconds_between(ctx: Context, earlier, later):
    if ctx.dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def local_day(ctx: Context, column):
    """The local calendar day (China Standard Time) of a timestamp, as SQL."""
    # Constants, not bound parameters: PostgreSQL must see the same expression in SELECT and GROUP BY.
    if ctx.dialect == "sqlite":
        return func.date(column, literal_column("'+8 hours'"))
    return func.date(func.timezone(literal_column("'Asia/Shanghai'"), column))


def late_at_a_level():
    """The case ran late at a level: an active overdue charge of a level stage exists for it."""
    return exists().where(Charge.case_id == Case.id, Charge.kind == "overdue", Charge.stage.in_(LEVELS),
                          Charge.status == "active")


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


# --- collecting raw sums --------------------------------------------------------------------
#
# Ungrouped and org-unit figures come from queries grouped by the home unit (a hundred-odd rows,
# rolled up the tree in Python); a level, category or department grouping runs the collectors
# again grouped by that key alone. Grouping by few keys keeps SQLite's sorter small.

Row = tuple[Any, Any, Counter]
"""(group key or None, home unit id or None, sums)."""

CASE_KEYS = {"level": Case.level, "category": Case.category_id}


def _case_sums(ctx: Context):
    """The case columns every figure needs, as (label, SQL aggregate), for the department grouping
    (the cases dispatched to each department), with the same raw labels as ``collect_cases``."""
    closed = Case.status == "closed"
    registered = Case.registered_at.is_not(None)
    past_due = and_(Case.status.in_(OPEN_STATUSES), Case.due_at <= ctx.as_of)
    late = late_at_a_level()
    limit = REGISTRATION_LIMIT.total_seconds()
    sums = [
        ("received", func.count()),
        ("registered_all", _count(registered)),
        ("registered_on_time", _count(and_(registered,
                                           seconds_between(ctx, Case.created_at, Case.registered_at) <= limit))),
        ("rejected", _count(Case.status == "rejected")),
        ("merged", _count(Case.status == "merged")),
        ("open", _count(Case.status.in_(OPEN_STATUSES))),
        ("all_closed", _count(closed)),
        ("reg_closed", _count(and_(closed, registered))),
        ("reg_closed_late", _count(and_(closed, registered, late))),
        ("open_past_due", _count(past_due)),
        ("reg_past_due", _count(and_(past_due, registered))),
        ("reg_reworked", _count(and_(registered, Case.reworked_count > 0, or_(closed, past_due)))),
        ("self_closed_on_spot", _count(and_(closed, Case.self_closed.is_(True)))),
        ("handling_seconds", func.sum(case((closed, seconds_between(ctx, Case.created_at, Case.closed_at)),
                                           else_=0))),
        ("rated", func.count(Case.rating)),
        ("rating_sum", func.coalesce(func.sum(Case.rating), 0)),
    ]
    sums += [(f"closed_at_{level}", _count(and_(closed, Case.closed_level == level))) for level in LEVELS]
    return sums


def _grouped(key, labels_and_sums, source, where, department=None):
    """SELECT key-or-home [, department], sums ... GROUP BY them.

    Without a key the rows are per home unit; a ``department`` column (dispatches, summons) is
    grouped on too, so the same rows also give the department grouping. ``+ 0`` groups by the
    value: SQLite would otherwise walk the whole department index to save a sort.
    """
    by = [home_unit() if key is None else key]
    if key is None and department is not None:
        by.append(department + 0)
    query = select(*by, *[expr for _, expr in labels_and_sums])
    return source(query).where(*where).group_by(*by)


def _run(ctx: Context, query, key, labels: list[str], department: bool = False) -> list[Row]:
    rows = []
    width = 2 if department and key is None else 1
    for record in ctx.session.execute(query):
        sums = Counter({label: v if isinstance(v, int) else float(v)  # PostgreSQL sums may be Decimal
                        for label, v in zip(labels, record[width:], strict=True) if v})
        if key is not None:
            rows.append((record[0], None, sums))
        else:
            rows.append((record[1] if width == 2 else None, record[0], sums))
    return rows


def collect_cases(ctx: Context, key=None) -> list[Row]:
    """The cohort's case figures. Status, closing level and whether the case was registered are
    grouped on in SQL (a few more groups, far fewer expressions per row); the per-status counts are
    sorted out here. A closed case is late when an overdue record of a level stage exists for it
    (an index probe per closed case). Only registered cases count towards 结案数 and 应结案数."""
    closed = Case.closed_at.is_not(None)
    registered = Case.registered_at.is_not(None)
    by = home_unit() if key is None else key
    limit = REGISTRATION_LIMIT.total_seconds()
    query = (select(by, Case.status, Case.closed_level, registered, func.count(),
                    _count(and_(registered, seconds_between(ctx, Case.created_at, Case.registered_at) <= limit)),
                    _count(Case.due_at <= ctx.as_of),
                    _count(and_(Case.reworked_count > 0, or_(closed, Case.due_at <= ctx.as_of))),
                    _count(Case.self_closed.is_(True)),
                    _count(and_(closed, late_at_a_level())),
                    func.sum(case((closed, seconds_between(ctx, Case.created_at, Case.closed_at)), else_=0)),
                    func.count(Case.rating), func.coalesce(func.sum(Case.rating), 0))
             .where(cohort(ctx)).group_by(by, Case.status, Case.closed_level, registered))
    merged: dict[Any, Counter] = {}
    for group, status, closed_level, was_registered, n, on_time, due, reworked, on_spot, late, seconds, rated, \
            rating in ctx.session.execute(query):
        sums = merged.setdefault(group, Counter())
        sums.update({"received": n, "rated": rated or 0, "rating_sum": rating or 0})
        if was_registered:
            sums.update({"registered_all": n, "registered_on_time": on_time or 0})
        if status in OPEN_STATUSES:
            sums.update({"open": n, "open_past_due": due or 0})
            if was_registered:
                sums.update({"reg_past_due": due or 0, "reg_reworked": reworked or 0})
        elif status == "closed":
            sums.update({"all_closed": n, "self_closed_on_spot": on_spot or 0,
                         "handling_seconds": float(seconds or 0), f"closed_at_{closed_level}": n})
            if was_registered:
                sums.update({"reg_closed": n, "reg_closed_late": late or 0, "reg_reworked": reworked or 0})
        elif status in ("rejected", "merged"):
            sums[status] += n
    return [(group, None, sums) if key is not None else (None, group, sums) for group, sums in merged.items()]


def collect_governance(ctx: Context, key=None) -> list[Row]:
    """Extensions, suspensions and call-backs from the timeline (kinds ``extension_granted``,
    ``suspended``, ``callback``), each case once per kind. Until the governance issue writes those
    entries every count is 0; they count from the day they are written."""
    entry = TimelineEntry
    registered_open = and_(Case.registered_at.is_not(None), Case.status.in_(OPEN_STATUSES))
    by = home_unit() if key is None else key
    query = (select(by, entry.kind,
                    func.count(func.distinct(entry.case_id)),
                    func.count(func.distinct(case((registered_open, entry.case_id)))),
                    func.count(func.distinct(case((and_(registered_open, Case.due_at <= ctx.as_of),
                                                   entry.case_id)))),
                    func.count(func.distinct(case((entry.data["satisfied"].as_boolean().is_(True),
                                                   entry.case_id)))))
             .select_from(entry).join(Case, Case.id == entry.case_id)
             .where(entry.kind.in_((EXTENSION_KIND, SUSPENDED_KIND, CALLBACK_KIND)), cohort(ctx))
             .group_by(by, entry.kind))
    rows = []
    for group, kind, cases, open_cases, open_past_due, happy in ctx.session.execute(query):
        if kind == EXTENSION_KIND:
            sums = Counter({"extended": cases})
        elif kind == SUSPENDED_KIND:
            sums = Counter({"suspended": open_cases, "suspended_past_due": open_past_due})
        else:
            sums = Counter({"callbacks": cases, "satisfied": happy})
        rows.append((group, None, sums) if key is not None else (None, group, sums))
    return rows


def collect_case_departments(ctx: Context) -> list[Row]:
    """The case figures of the cases dispatched to each department, each case once: the row of its
    latest dispatch to that department (an index probe per dispatch, in the WHERE clause)."""
    later = aliased(Dispatch)
    latest = ~exists().where(later.case_id == Dispatch.case_id, later.department_id == Dispatch.department_id,
                             later.id > Dispatch.id)
    sums = _case_sums(ctx)
    query = (select(Dispatch.department_id, *[expr for _, expr in sums]).select_from(Dispatch)
             .join(Case, Case.id == Dispatch.case_id).where(cohort(ctx), latest).group_by(Dispatch.department_id))
    return _run(ctx, query, Dispatch.department_id, [label for label, _ in sums])


def _dispatch_sums(ctx: Context):
    accepted_late = and_(Dispatch.accepted_at.is_(None), Dispatch.accept_due <= ctx.as_of)
    unhandled = and_(Dispatch.returned_at.is_(None), Dispatch.result_at.is_(None))
    past_due = and_(unhandled, or_(Dispatch.result_due <= ctx.as_of, accepted_late))
    handled = Dispatch.result_at.is_not(None)
    return [
        ("dispatched", func.count()),
        ("accepted", _count(Dispatch.accepted_at.is_not(None))),
        ("returned", _count(Dispatch.returned_at.is_not(None))),
        ("handled", _count(handled)),
        ("handled_on_time", _count(and_(handled, Dispatch.result_overdue.is_(False),
                                        Dispatch.accept_overdue.is_(False)))),
        ("dispatch_past_due", _count(past_due)),
    ]


def collect_dispatches(ctx: Context, key=None) -> list[Row]:
    sums = _dispatch_sums(ctx)
    query = _grouped(key, sums, lambda q: q.select_from(Dispatch).join(Case, Case.id == Dispatch.case_id),
                     [cohort(ctx)], department=Dispatch.department_id)
    return _run(ctx, query, key, [label for label, _ in sums], department=True)


def collect_duty(ctx: Context, key=None) -> list[Row]:
    reported = MeetingSummons.reported_at.is_not(None)
    sums = [
        ("duty_summoned", func.count()),
        ("duty_due", _count(or_(reported, MeetingSummons.deadline <= ctx.as_of))),
        ("duty_on_time", _count(and_(reported, MeetingSummons.late.is_(False)))),
    ]
    query = _grouped(key, sums, lambda q: q.select_from(MeetingSummons)
                     .join(Meeting, Meeting.id == MeetingSummons.meeting_id).join(Case, Case.id == Meeting.case_id),
                     [cohort(ctx)], department=MeetingSummons.department_id)
    return _run(ctx, query, key, [label for label, _ in sums], department=True)


def collect_fund(ctx: Context, key=None) -> list[Row]:
    sums = [("fund_spent_cents", func.sum(FundSpend.amount_cents))]
    query = _grouped(key, sums, lambda q: q.select_from(FundSpend).join(Case, Case.id == FundSpend.case_id),
                     [cohort(ctx)])
    return _run(ctx, query, key, ["fund_spent_cents"])


def collect_charges(ctx: Context, key=None) -> list[Row]:
    """Active charges recorded in the period (an upheld appeal withdraws one: it counts nowhere).

    Each row's home is the charged unit, or for a department's charge the unit in whose area it
    happened; its key (ungrouped) is the charged department. Sums: ``overdue_total`` and the
    ``overdue_level``/``overdue_department`` breakdowns (overdue and late-to-duty charges), and
    ``("charged", party, kind)`` with party ``unit`` or ``department``."""
    home = func.coalesce(Charge.org_unit_id, Charge.scope_unit_id)
    by = home if key is None else key
    query = (select(by, Charge.kind, Charge.level, Charge.department_id, func.count())
             .where(Charge.status == "active", Charge.recorded_at >= ctx.start, Charge.recorded_at < ctx.end,
                    in_scope(ctx, home)).group_by(by, Charge.kind, Charge.level, Charge.department_id))
    if key is not None and key is Case.category_id:
        query = query.join(Case, Case.id == Charge.case_id)
    rows = []
    for group, kind, level, department, count in ctx.session.execute(query):
        sums = Counter({("charged", "department" if department else "unit", kind): count})
        if kind in ("overdue", "duty_late"):
            sums["overdue_total"] = count
            if level:
                sums[("overdue_level", level)] = count
            if department:
                sums[("overdue_department", department)] = count
        rows.append((group, None, sums) if key is not None else (department, group, sums))
    return rows


def department_rows(ctx: Context, base: list[Row]) -> list[Row]:
    """The department grouping: the base rows that carry a department (dispatches, summons, charges
    to a department) and the case figures of the cases dispatched to each."""
    return [row for row in base if row[0] is not None] + collect_case_departments(ctx)


def collect(ctx: Context, group_by: str | None = None) -> list[Row]:
    """Every raw sum the figures need: by home unit (ungrouped, org_unit; dispatch, summons and overdue
    rows also carry their department as the key) or by the grouping's key."""
    if group_by in (None, "org_unit"):
        collectors = [(c, None) for c in (collect_cases, collect_governance, collect_dispatches, collect_duty,
                                          collect_fund, collect_charges)]
    elif group_by == "department":
        return department_rows(ctx, collect(ctx))
    else:
        key = CASE_KEYS[group_by]
        overdue_key = Charge.level if group_by == "level" else Case.category_id
        collectors = [(c, key) for c in (collect_cases, collect_governance, collect_dispatches, collect_duty,
                                         collect_fund)] \
            + [(collect_charges, overdue_key)]
    rows: list[Row] = []
    for collector, key in collectors:
        rows += collector(ctx, key)
    return rows


# --- figures --------------------------------------------------------------------------------

def figures(sums: Counter, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    """The evaluation figures from raw sums (``names`` maps department ids to codes): the standard
    figures of ``workflows.evaluation.figures.STANDARD`` plus the supporting detail."""
    s = {k: v for k, v in sums.items()}
    n = {k: int(v) for k, v in s.items() if isinstance(k, str) and k not in ("handling_seconds",)}
    get = n.get
    due_for_handling = get("handled", 0) + get("dispatch_past_due", 0)
    all_closed = get("all_closed", 0)
    out: dict[str, Any] = standard_figures(s)
    out.update({
        "received": get("received", 0), "rejected": get("rejected", 0), "merged": get("merged", 0),
        "open": get("open", 0), "open_past_due": get("open_past_due", 0),
        "closed_by_level": {level: get(f"closed_at_{level}", 0) for level in LEVELS},
        "closed_share_by_level": {level: ratio(get(f"closed_at_{level}", 0), all_closed) for level in LEVELS},
        "overdue_total": get("overdue_total", 0),
        "overdue_by_level": {level: int(s.get(("overdue_level", level), 0)) for level in LEVELS},
        "overdue_by_department": {
            code: int(s.get(("overdue_department", did), 0)) for did, code in names["departments"].items()
            if s.get(("overdue_department", did))},
        "accepted": get("accepted", 0), "returned": get("returned", 0),
        "handled": get("handled", 0), "due_for_handling": due_for_handling,
        "handling_rate": ratio(get("handled", 0), due_for_handling),
        "returned_rate": ratio(get("returned", 0), get("dispatched", 0)),
        "duty_summoned": get("duty_summoned", 0), "duty_due": get("duty_due", 0),
        "duty_on_time": get("duty_on_time", 0),
        "avg_handling_hours": round(s.get("handling_seconds", 0) / all_closed / 3600, 2) if all_closed else None,
        "rated": get("rated", 0),
        "avg_rating": round(s.get("rating_sum", 0) / get("rated", 0), 2) if get("rated", 0) else None,
        "fund_spent_cents": get("fund_spent_cents", 0),
        "charges_to_units": {kind: int(s.get(("charged", "unit", kind), 0)) for kind in CHARGE_KINDS},
        "charges_to_departments": {kind: int(s.get(("charged", "department", kind), 0)) for kind in CHARGE_KINDS},
    })
    return out


# --- weights, score and grade ---------------------------------------------------------------

def get_weights(session: Session, subject: str = "department") -> dict[str, float]:
    """The score weights of ``subject`` (``unit``, ``department`` or ``grid``), defaults filled in.

    Stored as rows ``<subject>.<component>`` in ``evaluation_weights``."""
    if subject not in SUBJECTS:
        raise InvalidInput(f"unknown subject {subject!r}; use one of: {', '.join(SUBJECTS)}", field="subject")
    stored = dict(session.execute(select(EvaluationWeight.key, EvaluationWeight.weight)).all())
    return {component: float(stored.get(f"{subject}.{component}", default))
            for component, default in DEFAULT_WEIGHTS[subject].items()}


def set_weights(system, subject: str, weights: dict[str, Any]) -> dict[str, float]:
    """Store new weights for ``subject``; each between 0 and 1 (or 0 and 100 as percentages), not all 0."""
    if subject not in SUBJECTS:
        raise InvalidInput(f"unknown subject {subject!r}; use one of: {', '.join(SUBJECTS)}", field="subject")
    allowed = DEFAULT_WEIGHTS[subject]
    clean = {}
    for component, value in weights.items():
        if component not in allowed:
            raise InvalidInput(f"unknown weight {component!r} for {subject}; use one of: {', '.join(allowed)}",
                               field=component)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"weight {component} = {value!r} is not a number; give e.g. 0.3 or 30",
                               field=component) from None
        if not 0 <= number <= 100 or number != number:
            raise InvalidInput(f"weight {component} = {value!r} is out of range; give 0..1 or 0..100 %",
                               field=component)
        clean[component] = number
    if clean and max(clean.values()) > 1:
        clean = {k: v / 100 for k, v in clean.items()}
    if clean and sum(clean.values()) <= 0:
        raise InvalidInput("every weight is 0; give at least one component a weight", field="weights")
    with system.sessions() as session, session.begin():
        for component, number in clean.items():
            key = f"{subject}.{component}"
            row = session.scalar(select(EvaluationWeight).where(EvaluationWeight.key == key))
            if row is None:
                session.add(EvaluationWeight(key=key, weight=number))
            else:
                row.weight = number
        session.flush()
        return get_weights(session, subject)


def all_weights(system) -> dict[str, dict[str, float]]:
    """The weights of every subject (``unit``, ``department``, ``grid``), for the admin page."""
    with system.reads() as session:
        return {subject: get_weights(session, subject) for subject in SUBJECTS}


def grade(score: float | None) -> str | None:
    """A >= 90, B >= 75, C >= 60, D >= 40, else E; None without a score."""
    if score is None:
        return None
    return next((letter for bound, letter in GRADES if score >= bound), "E")


def stars(score_value: float | None) -> int | None:
    """A grid leader's star rating (1-5) from the grid's score; None without a score."""
    if score_value is None:
        return None
    return next((n for bound, n in STARS if score_value >= bound), 1)


def components(row: dict, subject: str) -> dict[str, float | None]:
    """The 0..1 parts of ``subject``'s score for one row of figures (None: no value this period)."""
    if subject == "department":
        reworks = row["charges_to_departments"]["rework"]
        rework = ratio(min(reworks, row["dispatched"]), row["dispatched"])
        return {"handling": row["handling_rate"], "on_time": row["handling_on_time_rate"],
                "no_rework": None if rework is None else 1 - rework, "duty": row["duty_on_time_rate"]}
    parts = {"closure": row["closure_rate"], "on_time": row["on_time_closure_rate"],
             "no_rework": None if row["rework_rate"] is None else 1 - row["rework_rate"],
             "registration": row["registration_on_time_rate"], "satisfaction": row["satisfaction_rate"],
             "self_closed": row["self_closed_rate"]}
    return {k: parts[k] for k in DEFAULT_WEIGHTS[subject]}


def score(parts: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """100 x the weighted mean of the parts that have a value; None until something was due."""
    anchor = parts.get("closure", parts.get("handling"))
    if anchor is None:
        return None
    used = {k: w for k, w in weights.items() if w > 0 and parts.get(k) is not None}
    total = sum(used.values())
    if not total:
        return None
    return round(100 * sum(parts[k] * w for k, w in used.items()) / total, 1)


def _score_rows(rows: list[dict], subject: str, weights: dict[str, dict[str, float]]) -> None:
    for row in rows:
        own = "grid" if subject == "unit" and row.get("level") == "grid" else subject
        row["score"] = score(components(row, own), weights[own])
        row["grade"] = grade(row["score"])
        if own == "grid":
            row["stars"] = stars(row["score"])


# --- rolling up -----------------------------------------------------------------------------

def _names(session: Session) -> dict[str, dict[int, str]]:
    departments = dict(session.execute(select(Department.id, Department.code)).all())
    return {"departments": departments}


def _labels(session: Session, group_by: str, ids: Iterable[Any]) -> dict[Any, tuple[str, str]]:
    ids = [i for i in ids if i is not None]
    if group_by == "department":
        rows = session.execute(select(Department.id, Department.code, Department.name).where(Department.id.in_(ids)))
        return {i: (code, name) for i, code, name in rows}
    if group_by == "category":
        rows = session.execute(select(Category.id, Category.code, Category.name).where(Category.id.in_(ids)))
        return {i: (code, name) for i, code, name in rows}
    from workflows.cases.hooks import LEVEL_NAMES

    return {level: (level, LEVEL_NAMES.get(level, level)) for level in ids}


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _org_groups(ctx: Context, rows: list[Row], unit_level: str | None) -> list[dict]:
    scope_id = ctx.scope["id"] if ctx.scope else None
    group_ids = ctx.tree.groups_at(scope_id, unit_level) if unit_level else ctx.tree.default_groups(scope_id)
    owner: dict[int, int] = {}
    for gid in group_ids:
        for uid in ctx.tree.subtree(gid):
            owner[uid] = gid
    sums = {gid: Counter() for gid in group_ids}
    for _, home, values in rows:
        gid = owner.get(home)
        if gid is not None:
            sums[gid].update(values)
    names = _names(ctx.session)
    out = []
    for gid in group_ids:
        unit = ctx.tree.units[gid]
        out.append({"key": unit["code"], "name": unit["name"], "level": unit["level"],
                    **figures(sums[gid], names)})
    return out


def _keyed_groups(ctx: Context, group_by: str, rows: list[Row]) -> list[dict]:
    sums: dict[Any, Counter] = {}
    for key, _, values in rows:
        if key is not None:
            sums.setdefault(key, Counter()).update(values)
    if group_by == "level":
        for level in LEVELS:
            sums.setdefault(level, Counter())
        order = list(LEVELS)
    else:
        order = sorted(sums, key=lambda k: (-sums[k].get("received", 0) - sums[k].get("dispatched", 0), str(k)))
    labels = _labels(ctx.session, group_by, order)
    names = _names(ctx.session)
    return [{"key": labels.get(k, (str(k), str(k)))[0], "name": labels.get(k, (str(k), str(k)))[1],
             **figures(sums[k], names)} for k in order]


def compute_metrics(session: Session, *, start: Any, end: Any, group_by: str | None = None,
                    scope_unit: Any = None, unit_level: str | None = None) -> dict[str, Any]:
    """The evaluation figures for the cases of a period, optionally grouped.

    Arguments: ``start``/``end`` are dates (local days, ``end`` inclusive) or tz-aware datetimes
    (``end`` exclusive) or ISO strings; ``group_by`` is None, ``org_unit`` (the units one step below
    the scope, or the units at ``unit_level`` within it, each with its whole subtree), ``level``,
    ``department`` or ``category``; ``scope_unit`` (a code or OrgUnit) limits everything to that
    unit's subtree. Bad values raise ``InvalidInput`` naming the value.

    Returns a dict:

    * ``period``: ``from``, ``to`` (ISO 8601, ``to`` exclusive), ``as_of`` (now: "past due" is
      judged against it); ``scope``: ``{code, name, level}`` or None; ``group_by``.
    * ``totals``: the figures below for the whole scope, plus ``score`` and ``grade``.
    * ``groups``: one dict per group with ``key`` (unit/department/category code or level),
      ``name`` (``level`` too for units), the same figures, ``score``, ``grade``; ``[]`` ungrouped.
    * ``weights``: ``{"unit": {...}, "department": {...}}`` used for the scores.

    Figures (counts are ints, rates floats in 0..1 rounded to 4 places, or None when the
    denominator is 0):

    * ``received`` cases reported in the period; ``registered``; ``rejected``; ``merged``;
      ``open`` (reported/open/resolved now); ``closed``; ``closed_on_time`` (closed with no level
      letting its limit run out); ``open_past_due``; ``due_for_closure`` = closed + open_past_due;
      ``reworked`` (sent back by verification at least once, among the due cases).
    * ``closure_rate`` = closed / due_for_closure; ``on_time_rate`` = closed_on_time /
      due_for_closure; ``rework_rate`` = reworked / due_for_closure.
    * ``self_closed`` (closed at grid level), ``self_closed_share`` = self_closed / closed,
      ``self_closed_on_spot`` (reported already fixed by the grid worker); ``closed_by_level`` and
      ``closed_share_by_level``: ``{level: n}`` / ``{level: share of closed}``.
    * ``overdue_total``, ``overdue_by_level`` ``{level: n}``, ``overdue_by_department``
      ``{code: n}``: overdue records written in the period, charged to units in the scope.
    * ``dispatched``, ``accepted``, ``returned``, ``handled`` (result reported), ``handled_on_time``,
      ``due_for_handling`` = handled + unhandled dispatches past their accept/result limit,
      ``handling_rate`` = handled / due_for_handling, ``on_time_handling_rate`` = handled_on_time /
      due_for_handling, ``returned_rate`` = returned / dispatched.
    * ``duty_summoned``, ``duty_due`` (reported or past the deadline), ``duty_on_time``,
      ``duty_on_time_rate`` = duty_on_time / duty_due (report to duty, 吹哨报到).
    * ``avg_handling_hours`` (report to closure, closed cases), ``rated``, ``avg_rating`` (1..5),
      ``fund_spent_cents`` (small-matters fund spent on these cases).
    * ``score`` (0..100, weighted: volume relative to the largest group, closure, on-time,
      1 - rework, optionally satisfaction; departments use their handling rates) and ``grade``
      (A >= 90, B >= 75, C >= 60, D >= 40, else E; None while nothing is due).
    """
    return compute_many(session, start=start, end=end, scope_unit=scope_unit,
                        groupings=[(group_by, unit_level)])[0]


def compute_many(session: Session, *, start: Any, end: Any, scope_unit: Any = None,
                 groupings: list[tuple[str | None, str | None]]) -> list[dict[str, Any]]:
    """``compute_metrics`` for several ``(group_by, unit_level)`` pairs of one period and scope,
    sharing the ungrouped queries (a report with several tables runs them once)."""
    for group_by, unit_level in groupings:
        if group_by not in (None, *GROUPINGS):
            raise InvalidInput(f"group_by {group_by!r} is not supported; use one of: {', '.join(GROUPINGS)}",
                               field="group_by")
        if unit_level is not None and unit_level not in LEVELS:
            raise InvalidInput(f"unknown level {unit_level!r}; use one of: {', '.join(LEVELS)}",
                               field="unit_level")
    ctx = make_context(session, start, end, scope_unit)
    base = collect(ctx)
    total = Counter()
    for _, _, values in base:
        total.update(values)
    totals = figures(total, _names(session))
    weights = {subject: get_weights(session, subject) for subject in SUBJECTS}
    _score_rows([totals], "unit", weights)
    results = []
    for group_by, unit_level in groupings:
        groups: list[dict] = []
        if group_by == "org_unit":
            groups = _org_groups(ctx, base, unit_level)
        elif group_by == "department":
            groups = _keyed_groups(ctx, group_by, department_rows(ctx, base))
        elif group_by is not None:
            groups = _keyed_groups(ctx, group_by, collect(ctx, group_by))
        subject = "department" if group_by == "department" else "unit"
        _score_rows(groups, subject, weights)
        results.append({
            "period": {"from": ctx.start.isoformat(), "to": ctx.end.isoformat(), "as_of": ctx.as_of.isoformat()},
            "scope": {k: ctx.scope[k] for k in ("code", "name", "level")} if ctx.scope else None,
            "group_by": group_by,
            "totals": _public(totals),
            "groups": [_public(g) for g in groups],
            "weights": weights,
        })
    return results


RED_AT, BLACK_BELOW = 90.0, 60.0
"""A community is on the red list from a final score of 90, on the black list below 60."""
MIN_CASES = 3
"""A community is listed only with at least this many cases due for closure in the month."""
INSPECTION_WEIGHT = 0.3
"""The share of the inspection scores (自查, 月度检查, 第三方测评, 随机抽查; their mean) in the final score."""


def inspection_scores(session: Session, month: str) -> dict[str, float]:
    """The mean inspection score (0..100) of each community with scores entered for ``month``, by code."""
    rows = session.execute(select(OrgUnit.code, func.avg(InspectionScore.score))
                           .join(OrgUnit, OrgUnit.id == InspectionScore.org_unit_id)
                           .where(InspectionScore.month == month).group_by(OrgUnit.code))
    return {code: round(float(mean), 1) for code, mean in rows}


def final_score(row: dict, inspection: float | None) -> float | None:
    if row["score"] is None:
        return None
    if inspection is None:
        return row["score"]
    return round((1 - INSPECTION_WEIGHT) * row["score"] + INSPECTION_WEIGHT * inspection, 1)


def _boundary(rows: list[dict], n: int) -> list[dict]:
    """The first ``n`` rows, plus any tied with the n-th on the final score."""
    if len(rows) <= n:
        return rows
    cut = rows[n - 1]["final_score"]
    return [r for i, r in enumerate(rows) if i < n or r["final_score"] == cut]


def rank_red_black(groups: list[dict], n: int, inspections: dict[str, float] | None = None) -> dict[str, list[dict]]:
    """Rank communities by final score (case score blended with inspection scores); equal scores share a
    rank. Red: final >= RED_AT and grade A, best first; black: final < BLACK_BELOW and never grade A, worst
    first; each list at most ``n`` long plus ties at its end; a community with fewer than MIN_CASES cases
    due for closure is ranked but never listed."""
    inspections = inspections or {}
    ranked = []
    for group in groups:
        row = dict(group, inspection=inspections.get(group["key"]))
        row["final_score"] = final_score(row, row["inspection"])
        row["final_grade"] = grade(row["final_score"])
        if row["final_score"] is not None:
            ranked.append(row)
    ranked.sort(key=lambda g: (-g["final_score"], g["key"]))
    for position, row in enumerate(ranked, 1):
        tied = position > 1 and ranked[position - 2]["final_score"] == row["final_score"]
        row["rank"] = ranked[position - 2]["rank"] if tied else position
        row["listed"] = row["due_for_closure"] >= MIN_CASES
    red = [r for r in ranked if r["listed"] and r["final_score"] >= RED_AT and r["final_grade"] == "A"]
    black = [r for r in reversed(ranked) if r["listed"] and r["final_score"] < BLACK_BELOW
             and "A" not in (r["grade"], r["final_grade"])]
    return {"ranked": ranked, "red": _boundary(red, n), "black": _boundary(black, n)}


# --- red/black list -------------------------------------------------------------------------

def red_black_list(session: Session, month: Any, n: int = 3, *, scope_unit: Any = None) -> dict[str, Any]:
    """The monthly red/black list (红黑榜) of communities (see ``rank_red_black``), with the inspection
    scores entered for the month. Returns ``month``, ``period``, ``ranked`` (every community with a score,
    with ``rank``), ``red`` and ``black`` (worst first), each row with the figures of ``compute_metrics``."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise InvalidInput(f"n {n!r} must be a whole number of at least 1", field="n")
    label, start, end = month_period(month)
    result = compute_metrics(session, start=start, end=end, group_by="org_unit", scope_unit=scope_unit,
                             unit_level="community")
    return {"month": label, "period": result["period"],
            **rank_red_black(result["groups"], n, inspection_scores(session, label))}
