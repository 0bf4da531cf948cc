"""The monthly statement of the small-matters fund (民生小事经费月度台账), as Excel and CSV.

Per workstation in the viewer's area: the year's budget, what was paid in the month and in the year
up to its end, the balance at the end of the month and what waits for approval; then every spend
proposed in the month with its case, payee, purpose, amount, status, proposer and decider. Written
like the other exports (``workflows.evaluation.exports``): no text becomes a formula.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from workflows.cases.models import Case
from workflows.clock import LOCAL_TZ, now
from workflows.coordination.models import FundBudget, FundSpend
from workflows.evaluation.exports import _csv_row, _format, _header_cells, _save, _text_cells
from workflows.evaluation.metrics import month_period
from workflows.org.models import OrgUnit
from workflows.reads.queries import subtree_ids
from workflows.reads.sessions import read_sessions

SUMMARY_COLUMNS = ("工作站代码", "工作站", "年度预算(元)", "本月支出(元)", "年内累计支出(元)", "月末余额(元)",
                   "待审批(元)")
SPEND_COLUMNS = ("工作站代码", "申请时间", "工单号", "工单标题", "收款方", "用途", "金额(元)", "状态", "申请人",
                 "审批人", "审批时间", "审批意见", "回单")
STATUS_NAMES = {"proposed": "待审批", "approved": "已支付", "refused": "未批准"}


def _yuan(cents: int) -> float:
    return round(cents / 100, 2)


def _local(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _workstations(session: Session, scope_unit: str | None) -> list[OrgUnit]:
    query = select(OrgUnit).where(OrgUnit.level == "workstation").order_by(OrgUnit.code)
    if scope_unit:
        scope = session.scalar(select(OrgUnit).where(OrgUnit.code == scope_unit))
        ancestors = _ancestor_ids(scope) if scope is not None else set()
        query = query.where(or_(OrgUnit.id.in_(subtree_ids(scope.id)), OrgUnit.id.in_(ancestors)))
    return list(session.scalars(query))


def _ancestor_ids(unit: OrgUnit) -> set[int]:
    """A community's coordinators read their workstation's statement (only their own cases' spends)."""
    ids, current = set(), unit
    while current is not None and current.id not in ids:
        ids.add(current.id)
        current = current.parent
    return ids


def _paid(session: Session, budget_id: int, start: datetime | None, end: datetime) -> int:
    query = select(func.coalesce(func.sum(FundSpend.amount_cents), 0)).where(
        FundSpend.budget_id == budget_id, FundSpend.status == "approved", FundSpend.spent_at < end)
    if start is not None:
        query = query.where(FundSpend.spent_at >= start)
    return int(session.scalar(query) or 0)


def statement_data(session: Session, month: Any, scope_unit: str | None = None) -> dict:
    label, start, end = month_period(month)
    summary, spends = [], []
    for unit in _workstations(session, scope_unit):
        budget = session.scalar(select(FundBudget).where(FundBudget.org_unit_id == unit.id,
                                                         FundBudget.year == start.year))
        if budget is None:
            continue
        year_paid = _paid(session, budget.id, None, end)
        pending = int(session.scalar(select(func.coalesce(func.sum(FundSpend.amount_cents), 0)).where(
            FundSpend.budget_id == budget.id, FundSpend.status == "proposed")) or 0)
        summary.append([unit.code, unit.name, _yuan(budget.amount_cents), _yuan(_paid(session, budget.id, start, end)),
                        _yuan(year_paid), _yuan(budget.amount_cents - year_paid), _yuan(pending)])
        spends += [_spend_row(unit, spend) for spend in _month_spends(session, budget.id, start, end, scope_unit)]
    return {"month": label, "summary": summary, "spends": spends}


def _month_spends(session: Session, budget_id: int, start: datetime, end: datetime, scope_unit: str | None):
    query = (select(FundSpend).join(Case, FundSpend.case_id == Case.id)
             .where(FundSpend.budget_id == budget_id, FundSpend.spent_at >= start, FundSpend.spent_at < end)
             .order_by(FundSpend.spent_at, FundSpend.id))
    scope = session.scalar(select(OrgUnit).where(OrgUnit.code == scope_unit)) if scope_unit else None
    if scope is not None and scope.level not in ("workstation", "subcentre", "district"):
        units = subtree_ids(scope.id)
        query = query.where(or_(Case.grid_id.in_(units), Case.org_unit_id.in_(units)))
    return session.scalars(query)


def _spend_row(unit: OrgUnit, spend: FundSpend) -> list:
    return [unit.code, _local(spend.spent_at), spend.case.number, spend.case.title, spend.payee or "", spend.purpose,
            _yuan(spend.amount_cents), STATUS_NAMES[spend.status],
            spend.spent_by.display_name if spend.spent_by else "",
            spend.decided_by.display_name if spend.decided_by else "", _local(spend.decided_at),
            spend.decision_note or "", "有" if spend.receipt_name else "无"]


def fund_statement_csv(session: Session, month: Any, scope_unit: str | None = None) -> bytes:
    data = statement_data(session, month, scope_unit)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"民生小事经费月度台账 {data['month']}"])
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerows(_csv_row(row) for row in data["summary"])
    writer.writerow([])
    writer.writerow(SPEND_COLUMNS)
    writer.writerows(_csv_row(row) for row in data["spends"])
    return out.getvalue().encode("utf-8-sig")


def fund_statement_xlsx(session: Session, month: Any, scope_unit: str | None = None) -> bytes:
    data = statement_data(session, month, scope_unit)
    book = Workbook(write_only=True)
    for title, columns, rows in (("经费汇总", SUMMARY_COLUMNS, data["summary"]),
                                 ("支出明细", SPEND_COLUMNS, data["spends"])):
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        sheet.append(_header_cells(sheet, list(columns)))
        for row in rows:
            sheet.append(_text_cells(sheet, row))
    return _save(book)


def export_fund_statement(system, fmt: str, month: str | None, viewer_unit: str | None,
                          unit: str | None = None) -> tuple[bytes, str]:
    """The fund statement of ``month`` (default this month) in ``fmt``: (content, file name)."""
    from workflows.evaluation.dashboard import viewer_scope

    _format(fmt)
    month = month_period(month or now().astimezone(LOCAL_TZ).strftime("%Y-%m"))[0]
    with read_sessions(system)() as session:
        scope = viewer_scope(session, viewer_unit, unit)
        content = (fund_statement_xlsx if fmt == "xlsx" else fund_statement_csv)(session, month, scope)
    return content, f"fund-statement-{month}{'-' + scope if scope else ''}.{fmt}"
