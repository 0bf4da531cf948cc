"""Exports: the cases list (with filters) and the monthly evaluation report, as Excel and CSV.

Excel files are built with openpyxl (bold, filled, frozen header rows, Chinese column names,
percentages formatted as such but stored as the same 0..1 numbers the dashboard shows); CSV is
UTF-8 with a byte-order mark so Excel opens the Chinese text correctly. Reporters' names and
phone numbers are never exported.

Titles come from anonymous reports and names from admins, so no text may become a formula (OWASP,
CSV injection): a text a spreadsheet would read as one (``formula_like``: starting with = + - @,
a tab, CR or LF, or their full-width forms, also after blanks) is written as an explicit string
cell in Excel and with a leading single quote in CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from workflows.cases.models import CASE_STATUSES, Case
from workflows.clock import LOCAL_TZ, now
from workflows.errors import Forbidden, InvalidInput
from workflows.evaluation import reports
from workflows.evaluation.figures import STANDARD, label
from workflows.evaluation.metrics import (
    OPEN_STATUSES,
    Tree,
    compute_many,
    home_unit,
    inspection_scores,
    month_period,
    rank_red_black,
    resolve_period,
)
from workflows.evaluation.models import PublishedReport
from workflows.org.models import LEVELS, OrgUnit
from workflows.reads.sessions import read_sessions
from workflows.reference.models import Category

MAX_EXPORT_ROWS = 100_000
LEVEL_NAMES = {"grid": "网格", "community": "社区", "workstation": "联动工作站", "subcentre": "街道联动分中心",
               "district": "区联动中心"}
STATUS_NAMES = {"reported": "待受理", "open": "办理中", "resolved": "待核查", "closed": "已结案",
                "rejected": "不予受理", "merged": "已合并"}
SOURCE_NAMES = {"patrol": "网格巡查", "hotline": "12345热线", "platform": "数字城管平台", "forum": "网络论坛",
                "inspection": "领导巡查", "snapshot": "随手拍", "sensor": "物联感知", "walk_in": "来访"}
CASE_COLUMNS = (("number", "工单编号", 18), ("title", "标题", 36), ("category", "类别", 18), ("source", "来源", 12),
                ("status", "状态", 10), ("level", "当前层级", 14), ("org_unit", "当前承办单位", 22),
                ("grid", "所属网格", 22), ("created_at", "上报时间", 18), ("due_at", "办理时限", 18),
                ("closed_at", "结案时间", 18), ("closed_level", "结案层级", 14), ("self_closed", "网格自办结", 10),
                ("reworked_count", "返工次数", 10), ("rating", "满意度", 8), ("overdue", "超期未结", 10))
CASE_FILTERS = ("status", "level", "org_unit", "category", "overdue", "from", "to", "q")

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TITLE_FONT = Font(bold=True, size=14)
PERCENT = "0.00%"

# (key, Chinese name, is a rate): the standard figures come from the registry (one definition each).
STANDARD_COLUMNS = tuple((f.key, f.name, f.rate) for f in STANDARD)
SUMMARY_FIGURES = (
    *STANDARD_COLUMNS, ("rejected", "不予受理数", False), ("open_past_due", "超期未结数", False),
    ("overdue_total", "超期次数", False), ("handling_rate", "部门办结率", True), ("returned_rate", "派遣退回率", True),
    ("avg_handling_hours", "平均办理时长（小时）", False), ("avg_rating", "平均满意度（1-5分）", False),
    ("fund_spent_cents", "民生小事经费支出（分）", False), ("score", "综合得分", False), ("grade", "等级", False),
)
UNIT_COLUMNS = (
    ("rank", "排名", False), ("key", "编码", False), ("name", "社区", False), *STANDARD_COLUMNS,
    ("open_past_due", "超期未结数", False), ("overdue_total", "超期次数", False),
    ("avg_rating", "平均满意度（1-5分）", False), ("score", "综合得分", False), ("grade", "等级", False),
)
DEPARTMENT_COLUMNS = (
    ("key", "编码", False), ("name", "部门", False), ("dispatched", label("dispatched"), False),
    ("dispatched_accurately", label("dispatched_accurately"), False), ("accepted", "签收数", False),
    ("returned", "退回数", False), ("handled", "办结数", False), ("handled_on_time", label("handled_on_time"), False),
    ("due_for_handling", "应办结数", False), ("handling_rate", "办结率", True),
    ("handling_on_time_rate", label("handling_on_time_rate"), True),
    ("dispatch_accuracy_rate", label("dispatch_accuracy_rate"), True),
    ("duty_on_time_rate", label("duty_on_time_rate"), True), ("overdue_total", "超期次数", False),
    ("score", "综合得分", False), ("grade", "等级", False),
)
LEVEL_COLUMNS = (
    ("name", "层级", False), ("closed", "在本级结案数", False), ("closed_share", "结案占比", True),
    ("overdue", "本级超期次数", False),
)


# --- text that a spreadsheet must not read as a formula -------------------------------------

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def formula_like(value: Any) -> bool:
    """Whether a spreadsheet could take this text for a formula (or, for a tab or CR, split it so)."""
    return isinstance(value, str) and (value.startswith(FORMULA_TRIGGERS)
                                       or value.lstrip().startswith(FORMULA_TRIGGERS))


def csv_safe(value: Any) -> Any:
    """A CSV field that no spreadsheet evaluates: formula-like text behind a single quote."""
    return "'" + value if formula_like(value) else value


def _csv_row(values) -> list:
    return [csv_safe(value) for value in values]


def _as_text(cell) -> None:
    """Keep a formula-like text a string: openpyxl would otherwise store it as a formula."""
    if formula_like(cell.value):
        cell.data_type = "s"


def _text_cells(sheet, values: list) -> list:
    """A write-only row in which formula-like texts are explicit string cells."""
    row = []
    for value in values:
        if formula_like(value):
            value = WriteOnlyCell(sheet, value=value)
            value.data_type = "s"
        row.append(value)
    return row


# --- the cases list -------------------------------------------------------------------------

def _check_filters(filters: dict) -> dict:
    unknown = set(filters) - set(CASE_FILTERS)
    if unknown:
        raise InvalidInput(f"unknown filter {sorted(unknown)[0]!r}; use: {', '.join(CASE_FILTERS)}",
                           field=sorted(unknown)[0])
    clean = {k: v for k, v in filters.items() if v not in (None, "")}
    if clean.get("status") == "all":
        del clean["status"]
    if clean.get("status") and clean["status"] not in CASE_STATUSES:
        raise InvalidInput(f"unknown status {clean['status']!r}; use one of: {', '.join(CASE_STATUSES)}",
                           field="status")
    if clean.get("level") and clean["level"] not in LEVELS:
        raise InvalidInput(f"unknown level {clean['level']!r}; use one of: {', '.join(LEVELS)}", field="level")
    if "overdue" in clean:
        flag = str(clean["overdue"]).lower()
        if flag not in ("1", "true", "yes", "0", "false", "no"):
            raise InvalidInput(f"overdue {clean['overdue']!r} is not a yes/no value; use true or false",
                               field="overdue")
        clean["overdue"] = flag in ("1", "true", "yes")
    return clean


def _units_allowed(session: Session, filters: dict, scope_unit: str | None) -> list[int] | None:
    """The home units a viewer with ``scope_unit`` may export, narrowed by the ``org_unit`` filter."""
    if not filters.get("org_unit") and not scope_unit:
        return None
    tree = Tree.load(session)
    allowed = tree.subtree(tree.by_code(scope_unit)["id"]) if scope_unit else set(tree.units)
    if filters.get("org_unit"):
        wanted = tree.by_code(filters["org_unit"])
        if wanted["id"] not in allowed:
            raise Forbidden(f"org unit {filters['org_unit']!r} lies outside your area ({scope_unit}); "
                            "choose a unit within it")
        allowed &= tree.subtree(wanted["id"])
    return sorted(allowed)


def _case_query(session: Session, filters: dict, scope_unit: str | None):
    filters = _check_filters(filters)
    conditions = []
    if filters.get("status"):
        conditions.append(Case.status == filters["status"])
    if filters.get("level"):
        conditions.append(Case.level == filters["level"])
    if filters.get("category"):
        category = session.scalar(select(Category.id).where(Category.code == filters["category"]))
        if category is None:
            raise InvalidInput(f"unknown category {filters['category']!r}; see /api/v1/categories", field="category")
        conditions.append(Case.category_id == category)
    if filters.get("overdue") is True:
        conditions += [Case.status.in_(OPEN_STATUSES), Case.due_at <= now()]
    if filters.get("from") or filters.get("to"):
        start, end = resolve_period(filters.get("from") or "2000-01-01", filters.get("to") or "2999-12-31")
        conditions += [Case.created_at >= start, Case.created_at < end]
    if filters.get("q"):
        text = "%" + str(filters["q"]).strip()[:100].replace("%", r"\%").replace("_", r"\_") + "%"
        conditions.append(or_(Case.title.like(text, escape="\\"), Case.number.like(text, escape="\\")))
    units = _units_allowed(session, filters, scope_unit)
    if units is not None:
        conditions.append(home_unit().in_(units))
    return and_(true(), *conditions)


def _local(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def case_rows(session: Session, filters: dict | None = None, scope_unit: str | None = None) -> Iterator[list]:
    """The cases matching ``filters`` (``status`` or ``all``, ``level``, ``org_unit`` and its subtree,
    ``category``, ``overdue``, ``from``/``to`` report dates, ``q`` in the title or number) within the
    viewer's ``scope_unit``, newest first, as rows in ``CASE_COLUMNS`` order with Chinese labels.
    Refuses more than ``MAX_EXPORT_ROWS``."""
    where = _case_query(session, filters or {}, scope_unit)
    total = session.scalar(select(func.count()).select_from(Case).where(where))
    if total > MAX_EXPORT_ROWS:
        raise InvalidInput(f"{total} cases match; an export holds at most {MAX_EXPORT_ROWS}: narrow the filters "
                           "(a shorter period, one unit or one status)", field="filters")
    current, grid = aliased(OrgUnit), aliased(OrgUnit)
    query = (select(Case.number, Case.title, Category.name, Case.source, Case.status, Case.level, current.name,
                    grid.name, Case.created_at, Case.due_at, Case.closed_at, Case.closed_level, Case.self_closed,
                    Case.reworked_count, Case.rating)
             .join(Category, Category.id == Case.category_id).join(current, current.id == Case.org_unit_id)
             .outerjoin(grid, grid.id == Case.grid_id).where(where).order_by(Case.created_at.desc(), Case.id.desc()))
    moment = now()
    for (number, title, category, source, status, level, unit, grid_name, created, due, closed, closed_level,
         self_closed, reworked, rating) in session.execute(query):
        overdue = status in OPEN_STATUSES and due is not None and due <= moment
        yield [number, title, category, SOURCE_NAMES.get(source, source), STATUS_NAMES.get(status, status),
               LEVEL_NAMES.get(level, level), unit, grid_name or "", _local(created), _local(due), _local(closed),
               LEVEL_NAMES.get(closed_level, closed_level or ""), "是" if self_closed else "否", reworked,
               rating if rating is not None else "", "是" if overdue else "否"]


def cases_csv(session: Session, filters: dict | None = None, scope_unit: str | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for _, name, _ in CASE_COLUMNS])
    writer.writerows(_csv_row(row) for row in case_rows(session, filters, scope_unit))
    return out.getvalue().encode("utf-8-sig")


def _header_cells(sheet, names: list[str]) -> list[WriteOnlyCell]:
    cells = []
    for name in names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cells.append(cell)
    return cells


def cases_xlsx(session: Session, filters: dict | None = None, scope_unit: str | None = None) -> bytes:
    """The filtered cases list as an .xlsx workbook (one sheet 工单列表, frozen bold header)."""
    rows = case_rows(session, filters, scope_unit)
    first = next(rows, None)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单列表")
    sheet.freeze_panes = "A2"
    for index, (_, _, width) in enumerate(CASE_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append(_header_cells(sheet, [name for _, name, _ in CASE_COLUMNS]))
    if first is not None:
        sheet.append(_text_cells(sheet, first))
        for row in rows:
            sheet.append(_text_cells(sheet, row))
    return _save(book)


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the monthly evaluation report ----------------------------------------------------------

def monthly_report_data(session: Session, month: Any, scope_unit: str | None = None) -> dict[str, Any]:
    """The monthly report: the latest published version's frozen snapshot when the month was published
    (``published``: version, time, reason, and the earlier ``versions``), else the live figures
    (``published`` None)."""
    label = month_period(month)[0]
    frozen = reports.latest(session, label, scope_unit)
    if frozen is None:
        return {**live_report_data(session, label, scope_unit), "published": None}
    earlier = [reports.stamp(row) for row in session.scalars(
        select(PublishedReport).where(PublishedReport.month == label, PublishedReport.scope == frozen.scope,
                                      PublishedReport.version < frozen.version).order_by(PublishedReport.version))]
    return {**frozen.snapshot, "published": {**reports.stamp(frozen), "earlier": earlier}}


def live_report_data(session: Session, month: Any, scope_unit: str | None = None) -> dict[str, Any]:
    """The figures of the monthly report as they are now: totals, communities (ranked), departments,
    closures and overdues by level, red/black list.

    Every number is what ``compute_metrics`` gives for the month (a ``YYYY-MM`` local month).
    """
    label, start, end = month_period(month)
    communities, departments = compute_many(session, start=start, end=end, scope_unit=scope_unit,
                                            groupings=[("org_unit", "community"), ("department", None)])
    figures = communities["totals"]
    levels = [{"key": level, "name": LEVEL_NAMES[level], "closed": figures["closed_by_level"][level],
               "closed_share": figures["closed_share_by_level"][level], "overdue": figures["overdue_by_level"][level]}
              for level in LEVELS]
    ranked = rank_red_black(communities["groups"], 5, inspection_scores(session, label))
    ranks = {row["key"]: row["rank"] for row in ranked["ranked"]}
    community_rows = sorted(({**g, "rank": ranks.get(g["key"])} for g in communities["groups"]),
                            key=lambda g: (g["rank"] is None, g["rank"] or 0, g["key"]))
    return {"month": label, "period": communities["period"], "scope": communities["scope"], "totals": figures,
            "communities": community_rows, "departments": departments["groups"], "levels": levels,
            "red": ranked["red"], "black": ranked["black"], "weights": communities["weights"]}


def _state(data: dict) -> str:
    """The report's state: published and frozen (which version, when, why), or live."""
    published = data.get("published")
    if not published:
        return "状态：实时数据（未发布，数字仍会变化）"
    at = _local(datetime.fromisoformat(published["published_at"]))
    line = f"状态：已发布并冻结（第{published['version']}版，{at} 发布）"
    if published.get("reason"):
        line += f"；重新发布原因：{published['reason']}"
    if published.get("earlier"):
        line += "；此前版本：" + "、".join(f"第{v['version']}版（{_local(datetime.fromisoformat(v['published_at']))}）"
                                   for v in published["earlier"])
    return line


def _title(scope: dict | None) -> str:
    return (scope["name"] if scope else "全辖区") + " 月度考核报告"


def _cell_value(row: dict, key: str) -> Any:
    value = row.get(key)
    return "" if value is None else value


def _table(sheet, top: int, columns: tuple, rows: list[dict]) -> int:
    """Write a header and rows from row ``top``; returns the next free row."""
    for col, (_, name, _) in enumerate(columns, 1):
        cell = sheet.cell(row=top, column=col, value=name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for offset, row in enumerate(rows, 1):
        for col, (key, _, rate) in enumerate(columns, 1):
            cell = sheet.cell(row=top + offset, column=col, value=_cell_value(row, key))
            _as_text(cell)
            if rate:
                cell.number_format = PERCENT
    for col, (_, name, _) in enumerate(columns, 1):
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = max(sheet.column_dimensions[letter].width or 0, len(name) * 2 + 4)
    return top + len(rows) + 2


def monthly_report_xlsx(session: Session, month: Any, scope_unit: str | None = None) -> bytes:
    """The monthly report as a workbook: 总体指标, 社区考核, 部门考核, 层级分布, 红黑榜."""
    data = monthly_report_data(session, month, scope_unit)
    book = Workbook()
    summary = book.active
    summary.title = "总体指标"
    summary["A1"] = f"{_title(data['scope'])}（{data['month']}）"
    summary["A1"].font = TITLE_FONT
    _as_text(summary["A1"])
    as_of = _local(datetime.fromisoformat(data["period"]["as_of"]))
    summary["A2"] = (f"统计口径：{data['month']} 上报的工单，状态截至 {as_of}；"
                     "应结案数 = 立案工单中已结案与超期未结之和（挂账除外）")
    summary["A3"] = _state(data)
    _table(summary, 4, (("name", "指标", False), ("value", "数值", False)),
           [{"name": name, "value": data["totals"].get(key)} for key, name, _ in SUMMARY_FIGURES])
    for offset, (_key, _, rate) in enumerate(SUMMARY_FIGURES, 5):
        if rate:
            summary.cell(row=offset, column=2).number_format = PERCENT
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 16
    summary.freeze_panes = "A5"
    for title, columns, rows in (("社区考核", UNIT_COLUMNS, data["communities"]),
                                 ("部门考核", DEPARTMENT_COLUMNS, data["departments"]),
                                 ("层级分布", LEVEL_COLUMNS, data["levels"])):
        sheet = book.create_sheet(title)
        _table(sheet, 1, columns, rows)
        sheet.freeze_panes = "A2"
    sheet = book.create_sheet("红黑榜")
    sheet["A1"], sheet["A1"].font = "红榜（前五）", TITLE_FONT
    next_row = _table(sheet, 2, UNIT_COLUMNS, data["red"])
    sheet.cell(row=next_row, column=1, value="黑榜（后五）").font = TITLE_FONT
    _table(sheet, next_row + 1, UNIT_COLUMNS, data["black"])
    return _save(book)


def _csv_value(value: Any, rate: bool) -> Any:
    if value is None:
        return ""
    return f"{value * 100:.2f}%" if rate and isinstance(value, int | float) else value


def monthly_report_csv(session: Session, month: Any, scope_unit: str | None = None) -> bytes:
    """The monthly report as one CSV with sections (总体指标, 社区考核, 部门考核, 层级分布, 红榜, 黑榜)."""
    data = monthly_report_data(session, month, scope_unit)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_csv_row([f"{_title(data['scope'])}（{data['month']}）"]))
    writer.writerow(_csv_row([_state(data)]))
    writer.writerow(["总体指标"])
    writer.writerow(["指标", "数值"])
    for key, name, rate in SUMMARY_FIGURES:
        writer.writerow(_csv_row([name, _csv_value(data["totals"].get(key), rate)]))
    for title, columns, rows in (("社区考核", UNIT_COLUMNS, data["communities"]),
                                 ("部门考核", DEPARTMENT_COLUMNS, data["departments"]),
                                 ("层级分布", LEVEL_COLUMNS, data["levels"]), ("红榜", UNIT_COLUMNS, data["red"]),
                                 ("黑榜", UNIT_COLUMNS, data["black"])):
        writer.writerow([])
        writer.writerow([title])
        writer.writerow([name for _, name, _ in columns])
        for row in rows:
            writer.writerow(_csv_row(_csv_value(row.get(key), rate) for key, _, rate in columns))
    return out.getvalue().encode("utf-8-sig")


# --- for the web layer ----------------------------------------------------------------------

EXPORT_FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "csv": "text/csv; charset=utf-8"}


def _format(fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"format {fmt!r} is not offered; use xlsx or csv", field="format",
                           reason="format_unknown", params={"format": fmt})
    return fmt


def export_cases(system, fmt: str, filters: dict, viewer_unit: str | None) -> tuple[bytes, str]:
    """The cases list in ``fmt`` (xlsx/csv) for a viewer whose area is ``viewer_unit``: (content, file name)."""
    _format(fmt)
    with read_sessions(system)() as session:
        content = (cases_xlsx if fmt == "xlsx" else cases_csv)(session, filters, viewer_unit)
    stamp = now().astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M")
    return content, f"cases-{stamp}.{fmt}"


def export_monthly_report(system, fmt: str, month: str | None, viewer_unit: str | None,
                          unit: str | None = None) -> tuple[bytes, str]:
    """The monthly evaluation report of ``month`` (default: this month) in ``fmt``: (content, file name)."""
    from workflows.evaluation.dashboard import viewer_scope

    _format(fmt)
    month = month or now().astimezone(LOCAL_TZ).strftime("%Y-%m")
    label = month_period(month)[0]
    with read_sessions(system)() as session:
        scope = viewer_scope(session, viewer_unit, unit)
        content = (monthly_report_xlsx if fmt == "xlsx" else monthly_report_csv)(session, label, scope)
    return content, f"monthly-report-{label}{'-' + scope if scope else ''}.{fmt}"
