"""The command centre's big screen (一屏掌控): live counts, this period's figures, the overdue list.

``dashboard_data`` is the one use case behind ``/dashboard`` and ``/dashboard/data.json``; its
``metrics`` and ``departments`` are exactly what ``compute_metrics`` returns for the same period
and scope, and ``red_black`` is ``red_black_list`` of the current month.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from workflows.cases.models import Case
from workflows.clock import LOCAL_TZ, now
from workflows.errors import Forbidden, InvalidInput
from workflows.evaluation.metrics import (
    OPEN_STATUSES,
    Context,
    Tree,
    compute_many,
    compute_metrics,
    home_unit,
    in_scope,
    inspection_scores,
    local_day,
    make_context,
    month_period,
    rank_red_black,
    red_black_list,
)
from workflows.org.models import LEVELS, OrgUnit
from workflows.reads.sessions import read_sessions
from workflows.reference.models import Category

PERIODS = {"today": "今日", "week": "本周", "month": "本月", "year": "本年"}
OVERDUE_LIST_SIZE = 20
DAYS_SHOWN = 30
TOP_CATEGORIES = 8
RED_BLACK_SIZE = 5


def period_bounds(period: str, at: datetime | None = None) -> tuple[datetime, datetime]:
    """``[start, now-ish)`` of ``today``/``week``/``month``/``year`` in local time (end = next midnight)."""
    if period not in PERIODS:
        raise InvalidInput(f"period {period!r} is not offered; use one of: {', '.join(PERIODS)}", field="period")
    today = (at or now()).astimezone(LOCAL_TZ).date()
    first = {"today": today, "week": today - timedelta(days=today.weekday()), "month": today.replace(day=1),
             "year": today.replace(month=1, day=1)}[period]
    return datetime.combine(first, time(), LOCAL_TZ), datetime.combine(today + timedelta(days=1), time(), LOCAL_TZ)


def dashboard_data(session: Session, *, scope_unit: Any = None, period: str = "month") -> dict[str, Any]:
    """Everything the big screen shows, for the viewer's subtree (``scope_unit``, None = everything).

    Keys: ``generated_at``; ``scope``; ``period`` (``key``, ``label``, ``from``, ``to``); ``live``
    (open cases now: ``by_status``, ``by_level``, ``open_total``, ``open_past_due``,
    ``received_today``, ``closed_today``); ``metrics`` (compute_metrics totals for the period);
    ``departments`` (compute_metrics department groups, best score first); ``overdue`` (the most
    overdue open cases); ``per_day`` (received and closed per local day, last 30 days);
    ``top_categories``; ``red_black`` (this month's red/black list of communities).
    """
    start, end = period_bounds(period)
    ctx = make_context(session, start, end, scope_unit)
    month, month_start, _ = month_period(ctx.as_of)
    if period == "month":  # the red/black list is this month's: share the month's queries
        result, communities = compute_many(session, start=start, end=end, scope_unit=scope_unit,
                                           groupings=[("department", None), ("org_unit", "community")])
        red_black = {"month": month, "period": communities["period"],
                     **rank_red_black(communities["groups"], RED_BLACK_SIZE, inspection_scores(session, month))}
    else:
        result = compute_metrics(session, start=start, end=end, group_by="department", scope_unit=scope_unit)
        red_black = red_black_list(session, month_start.date(), RED_BLACK_SIZE, scope_unit=scope_unit)
    departments = sorted(result["groups"], key=lambda g: (g["score"] is None, -(g["score"] or 0), g["key"]))
    return {
        "generated_at": ctx.as_of.isoformat(),
        "generated_local": ctx.as_of.astimezone(LOCAL_TZ).strftime("%H:%M:%S"),
        "scope": result["scope"],
        "period": {"key": period, "label": PERIODS[period], **result["period"],
                   "first_day": start.astimezone(LOCAL_TZ).date().isoformat(),
                   "last_day": (end - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date().isoformat()},
        "live": live_counts(ctx),
        "metrics": result["totals"],
        "departments": departments,
        "weights": result["weights"],
        "overdue": overdue_list(ctx),
        "per_day": per_day(ctx),
        "top_categories": top_categories(ctx),
        "red_black": red_black,
        "reports": report_states(session, month_start, scope_unit),
    }


def report_states(session: Session, month_start: datetime, scope_unit: Any) -> dict[str, Any]:
    """This month (always live) and last month (published and frozen, with its version, or live)."""
    from workflows.evaluation import reports

    last = month_period((month_start - timedelta(days=1)).date())[0]
    code = scope_unit if isinstance(scope_unit, str) or scope_unit is None else scope_unit.code
    frozen = reports.latest(session, last, code)
    return {"current": {"month": month_period(month_start.date())[0], "published": None},
            "last": {"month": last, "published": reports.stamp(frozen) if frozen else None}}


def live_counts(ctx: Context) -> dict[str, Any]:
    """Open cases right now by status and level, and today's arrivals and closures.

    ``closed_at`` is only ever set when a case closes (and a closed case stays closed), so the
    closure counts filter on that indexed column alone.
    """
    past_due = func.sum(case((Case.due_at <= ctx.as_of, 1), else_=0))
    rows = ctx.session.execute(select(Case.status, Case.level, func.count(), past_due)
                               .where(Case.status.in_(OPEN_STATUSES), in_scope(ctx, home_unit()))
                               .group_by(Case.status, Case.level)).all()
    by_status = dict.fromkeys(OPEN_STATUSES, 0)
    by_level = dict.fromkeys(LEVELS, 0)
    overdue = 0
    for status, level, count, late in rows:
        by_status[status] += count
        overdue += late or 0
        if level in by_level:
            by_level[level] += count
    midnight = datetime.combine(ctx.as_of.astimezone(LOCAL_TZ).date(), time(), LOCAL_TZ)
    received = ctx.session.scalar(select(func.count()).select_from(Case)
                                  .where(Case.created_at >= midnight, in_scope(ctx, home_unit())))
    closed = ctx.session.scalar(select(func.count()).select_from(Case)
                                .where(Case.closed_at >= midnight, in_scope(ctx, home_unit())))
    return {"by_status": by_status, "by_level": by_level, "open_total": sum(by_status.values()),
            "open_past_due": overdue, "received_today": received or 0, "closed_today": closed or 0}


def overdue_list(ctx: Context, limit: int = OVERDUE_LIST_SIZE) -> list[dict[str, Any]]:
    """The open cases longest past their time limit (no reporter details)."""
    rows = ctx.session.execute(
        select(Case.number, Case.title, Case.level, Case.due_at, Category.name, OrgUnit.name)
        .join(Category, Category.id == Case.category_id).join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .where(Case.due_at <= ctx.as_of, Case.status.in_(OPEN_STATUSES), in_scope(ctx, home_unit()))
        .order_by(Case.due_at).limit(limit))
    return [{"number": number, "title": title, "level": level, "due_at": due_at.isoformat(), "category": category,
             "org_unit": unit, "overdue_hours": round((ctx.as_of - due_at).total_seconds() / 3600, 1)}
            for number, title, level, due_at, category, unit in rows]


def per_day(ctx: Context, days: int = DAYS_SHOWN) -> list[dict[str, Any]]:
    """Cases received and closed on each of the last ``days`` local days (today included).

    Counted per UTC hour in SQL (on SQLite the hour is a prefix of the stored text, no date
    parsing per row) and folded into local days here.
    """
    today = ctx.as_of.astimezone(LOCAL_TZ).date()
    first = datetime.combine(today - timedelta(days=days - 1), time(), LOCAL_TZ)
    received = _count_by_local_day(ctx, Case.created_at, first)
    closed = _count_by_local_day(ctx, Case.closed_at, first)
    out = []
    for offset in range(days - 1, -1, -1):
        day = (today - timedelta(days=offset)).isoformat()
        out.append({"day": day, "received": received.get(day, 0), "closed": closed.get(day, 0)})
    return out


def _count_by_local_day(ctx: Context, column, first: datetime) -> dict[str, int]:
    where = (column >= first, in_scope(ctx, home_unit()))
    counts: dict[str, int] = {}
    if ctx.dialect == "sqlite":
        hour = func.substr(column, 1, 13)
        for stamp, count in ctx.session.execute(select(hour, func.count()).where(*where).group_by(hour)):
            at = datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(LOCAL_TZ)
            counts[at.date().isoformat()] = counts.get(at.date().isoformat(), 0) + count
        return counts
    day = local_day(ctx, column)
    return {str(k): v for k, v in ctx.session.execute(select(day, func.count()).where(*where).group_by(day))}


def top_categories(ctx: Context, limit: int = TOP_CATEGORIES) -> list[dict[str, Any]]:
    """The categories with the most cases reported in the period."""
    rows = ctx.session.execute(
        select(Case.category_id, func.count().label("n"))
        .where(and_(Case.created_at >= ctx.start, Case.created_at < ctx.end, in_scope(ctx, home_unit())))
        .group_by(Case.category_id).order_by(func.count().desc()).limit(limit)).all()
    names = dict(ctx.session.execute(select(Category.id, Category.name)
                                     .where(Category.id.in_([r[0] for r in rows]))).all()) if rows else {}
    codes = dict(ctx.session.execute(select(Category.id, Category.code)
                                     .where(Category.id.in_([r[0] for r in rows]))).all()) if rows else {}
    return [{"code": codes.get(cid), "name": names.get(cid), "received": n} for cid, n in rows]


# --- for the web layer: scope checks and one session per call ---------------------------------

def viewer_scope(session: Session, viewer_unit: str | None, unit: str | None) -> str | None:
    """The unit whose subtree a viewer sees: ``unit`` when it lies within the viewer's own area."""
    if not unit:
        return viewer_unit
    tree = Tree.load(session)
    wanted = tree.by_code(unit)
    if viewer_unit and wanted["id"] not in tree.subtree(tree.by_code(viewer_unit)["id"]):
        raise Forbidden(f"org unit {unit!r} lies outside your area ({viewer_unit}); choose a unit within it")
    return wanted["code"]


def scope_choices(session: Session, viewer_unit: str | None) -> list[dict[str, str]]:
    """The units a viewer may narrow the big screen to: their own area down to the communities."""
    tree = Tree.load(session)
    root = [tree.by_code(viewer_unit)["id"]] if viewer_unit else list(tree.children.get(None, []))
    out, stack = [], [(uid, 0) for uid in reversed(root)]
    while stack:
        uid, depth = stack.pop()
        unit = tree.units[uid]
        out.append({"code": unit["code"], "name": unit["name"], "level": unit["level"], "depth": depth})
        if unit["level"] not in ("community", "grid"):
            stack.extend((child, depth + 1) for child in reversed(tree.children.get(uid, [])))
    return out


def load_dashboard(system, *, viewer_unit: str | None, unit: str | None = None,
                   period: str = "month") -> dict[str, Any]:
    """``dashboard_data`` for a viewer whose area is ``viewer_unit`` (None: everything), optionally
    narrowed to ``unit`` within it; adds ``choices`` (units to narrow to) and ``periods``."""
    with read_sessions(system)() as session:
        scope = viewer_scope(session, viewer_unit, unit)
        data = dashboard_data(session, scope_unit=scope, period=period)
        data["choices"] = scope_choices(session, viewer_unit)
        data["periods"] = PERIODS
        return data


def publish_report(system, actor: str, viewer_unit: str | None, unit: str | None, month: str | None,
                   reason: str | None) -> dict:
    """Publish ``month`` (default: last month) for the viewer's area, narrowed to ``unit`` within it."""
    from workflows.evaluation import reports

    with read_sessions(system)() as session:
        scope = viewer_scope(session, viewer_unit, unit)
    if not month:
        first = now().astimezone(LOCAL_TZ).date().replace(day=1)
        month = (first - timedelta(days=1)).strftime("%Y-%m")
    return reports.publish_month(system, actor, month, scope, reason)


def last_month() -> str:
    first = now().astimezone(LOCAL_TZ).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def inspection_rows(system, viewer_unit: str | None, month: str) -> list[dict]:
    """The communities of the viewer's area with their inspection scores of ``month``."""
    from workflows.evaluation.inspections import scores_for

    with read_sessions(system)() as session:
        tree = Tree.load(session)
        scope = tree.subtree(tree.by_code(viewer_unit)["id"]) if viewer_unit else set(tree.units)
        communities = [u for u in tree.units.values() if u["level"] == "community" and u["id"] in scope]
    communities.sort(key=lambda u: u["code"])
    scores = scores_for(system, month, [u["code"] for u in communities])
    return [{"code": u["code"], "name": u["name"], "scores": scores.get(u["code"], {})} for u in communities]


def save_inspections(system, actor: str, month: str, form) -> int:
    """Store every filled ``<community>.<kind>`` field of the inspections form; returns how many."""
    from workflows.evaluation.inspections import set_inspection_score

    saved = 0
    for name, value in form.items():
        if "." not in name or not str(value).strip():
            continue
        community, kind = name.rsplit(".", 1)
        set_inspection_score(system, actor, month, community, kind, value)
        saved += 1
    return saved
