"""The livelihood small-matters fund (民生小事专项经费) a workstation holds for small fixes.

Coordinators of the case's workstation, or of a community under it, propose spends for an open
case they may read (a community's coordinator pays only for the cases of their own community),
naming the payee and the purpose, with a receipt photo. A spend up to the approval threshold (an
admin setting per workstation, else the global one, else ``DEFAULT_THRESHOLD_CENTS``) is paid at
once; above it, it waits for the station chief (the workstation's named chief, else any of its
coordinators but the proposer), who approves or refuses it. Pending spends hold their money, and
the balance never goes below zero: every payment is checked under the budget's row lock and again
by the statement that records it.
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from workflows.admin import audit
from workflows.cases.attachments import check_photo
from workflows.cases.lookups import get_case
from workflows.cases.models import Case
from workflows.cases.timeline import add_entry, notify, unit_for_level, user_ids_of
from workflows.checks import invalid, require_text
from workflows.clock import local_today, now
from workflows.coordination.models import FundBudget, FundControl, FundSpend, budget_spent_cents
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.org.lookups import get_unit
from workflows.org.models import OrgUnit
from workflows.people.lookups import find_user, get_user
from workflows.people.models import User
from workflows.reads.queries import may_read_case


def budget_of(session: Session, workstation: OrgUnit, year: int | None = None, lock: bool = False) -> FundBudget:
    """The workstation's budget for ``year``; ``lock`` holds its row so concurrent spends queue."""
    year = year or local_today().year
    query = select(FundBudget).where(FundBudget.org_unit_id == workstation.id, FundBudget.year == year)
    budget = session.scalar(query.with_for_update() if lock else query)
    if budget is None:
        raise NotFound(f"workstation {workstation.code} has no small-matters fund for {year}; an admin must set one")
    return budget


def balance_cents(session: Session, budget: FundBudget) -> int:
    return budget.amount_cents - budget_spent_cents(session, budget)


def _check_spender(user: User, workstation: OrgUnit) -> None:
    if user.role == "admin":
        return
    unit = user.org_unit
    allowed = user.role == "coordinator" and unit is not None and (
        unit.id == workstation.id or (unit.level == "community" and unit.parent_id == workstation.id))
    if not allowed:
        raise Forbidden(f"{user.username} may not spend the fund of {workstation.code}: only coordinators of that "
                        "workstation or of its communities may")


FINISHED_STATUSES = ("closed", "rejected", "merged")


def _check_case(session: Session, user: User, case: Case) -> None:
    """The fund pays for work on an open case the spender may read."""
    if not may_read_case(session, user, case):
        unit = user.org_unit.code if user.org_unit else user.role
        raise Forbidden(f"{user.username} may not spend the fund on case {case.number}: it is outside {unit}; "
                        "only coordinators who may read the case may pay for it", reason="fund_out_of_scope",
                        params={"number": case.number})
    if case.status in FINISHED_STATUSES:
        raise Conflict(f"case {case.number} is {case.status}; the fund pays for work on open cases only",
                       field="amount_cents", reason="fund_case_finished", params={"number": case.number})


DEFAULT_THRESHOLD_CENTS = 500_000
"""Spends above 5,000 yuan wait for the station chief unless an admin sets another threshold."""


def spend_fund(system, actor, case_number: str, amount_cents: int, purpose: str, payee: str | None = None,
               receipt: tuple[str, bytes] | None = None) -> dict:
    """Propose a spend of ``amount_cents`` from the case's workstation fund to ``payee``; paid at
    once up to the threshold, else ``proposed`` for the station chief. Returns the spend and balance."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise invalid(f"amount {amount_cents!r} is not allowed; give a positive whole number of cents",
                      field="amount_cents")
    written: Path | None = None
    try:
        with system.sessions() as session, session.begin():
            user = get_user(session, actor)
            case = get_case(session, case_number)
            workstation = workstation_of(session, case)
            _check_spender(user, workstation)
            _check_case(session, user, case)
            purpose = require_text(purpose, "purpose", "what the money pays for")[:2000]
            payee = require_text(payee, "payee", "who is paid, e.g. 某某水电维修部")[:200]
            budget = budget_of(session, workstation, lock=True)
            _check_available(session, budget, workstation, amount_cents)
            needs_approval = amount_cents > fund_control(session, workstation)["threshold_cents"]
            spend = FundSpend(budget=budget, case=case, amount_cents=amount_cents, purpose=purpose, payee=payee,
                              spent_by_id=user.id, spent_at=now(), status="proposed")
            if receipt is not None:
                written = _store_receipt(system, case, spend, receipt)
            session.add(spend)
            session.flush()
            if needs_approval:
                _propose(session, case, spend, user, workstation)
            else:
                _pay(session, spend, user, workstation)
            return spend_item(spend, balance_cents(session, budget))
    except BaseException:
        if written is not None:
            written.unlink(missing_ok=True)
        raise


def _check_available(session: Session, budget: FundBudget, workstation: OrgUnit, amount_cents: int) -> None:
    """Paid and pending spends together stay within the budget."""
    available = balance_cents(session, budget) - pending_cents(session, budget)
    if amount_cents > available:
        raise Conflict(f"the fund of {workstation.code} has {available} cents available (paid and pending spends "
                       f"deducted); {amount_cents} cents cannot be spent", field="amount_cents",
                       reason="fund_overdrawn",
                       params={"balance": f"{available / 100:.2f}", "amount": f"{amount_cents / 100:.2f}"})


def pending_cents(session: Session, budget: FundBudget) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(FundSpend.amount_cents), 0))
                              .where(FundSpend.budget_id == budget.id, FundSpend.status == "proposed")) or 0)


def _store_receipt(system, case: Case, spend: FundSpend, receipt: tuple[str, bytes]) -> Path:
    filename, content = receipt
    content_type, extension = check_photo(filename or "receipt", content)
    spend.receipt_name = f"{case.number}-receipt-{secrets.token_hex(8)}{extension}"
    spend.receipt_type = content_type
    path = Path(system.upload_dir) / spend.receipt_name
    path.write_bytes(bytes(content))
    return path


def _pay(session: Session, spend: FundSpend, actor: User, workstation: OrgUnit) -> None:
    """Record the payment; the UPDATE itself refuses to take the balance below zero."""
    paid = session.execute(_PAY, {"spend_id": spend.id, "budget": spend.budget_id, "amount": spend.amount_cents})
    if paid.rowcount != 1:
        raise Conflict(f"the fund of {workstation.code} cannot pay {spend.amount_cents} cents: the balance is too low",
                       reason="fund_overdrawn", field="amount_cents",
                       params={"balance": "—", "amount": f"{spend.amount_cents / 100:.2f}"})
    session.refresh(spend)
    add_entry(session, spend.case, "fund_spent", actor=actor, level="workstation", unit=workstation,
              note=f"{spend.payee}: {spend.purpose}", data={"amount_cents": spend.amount_cents, "spend_id": spend.id,
                                                              "payee": spend.payee})


_BUDGET = FundBudget.__table__
_SPENDS = FundSpend.__table__
_PAID_BEFORE = (select(func.coalesce(func.sum(_SPENDS.c.amount_cents), 0))
                .where(_SPENDS.c.budget_id == bindparam("budget"), _SPENDS.c.status == "approved",
                       _SPENDS.c.id != bindparam("spend_id")).scalar_subquery())
_PAY = (update(_SPENDS).where(_SPENDS.c.id == bindparam("spend_id"),
                              select(_BUDGET.c.amount_cents).where(_BUDGET.c.id == bindparam("budget"))
                              .scalar_subquery() - _PAID_BEFORE >= bindparam("amount"))
        .values(status="approved"))
"""Marks a spend paid only while the budget less what else was paid still covers it."""


def _propose(session: Session, case: Case, spend: FundSpend, actor: User, workstation: OrgUnit) -> None:
    add_entry(session, case, "fund_proposed", actor=actor, level="workstation", unit=workstation,
              note=f"{spend.payee}: {spend.purpose}", data={"amount_cents": spend.amount_cents, "spend_id": spend.id,
                                                              "payee": spend.payee})
    notify(session, approver_ids(session, workstation, exclude=actor.id), "fund_approval", case,
           f"工单 {case.number} 申请民生小事经费 ¥{spend.amount_cents / 100:.2f}"
           f"（{spend.payee}：{spend.purpose}），待站长审批")


def approver_ids(session: Session, workstation: OrgUnit, exclude: int | None = None) -> list[int]:
    chief = fund_control(session, workstation)["chief_id"]
    ids = [chief] if chief else user_ids_of(session, org_unit=workstation.code)
    return [i for i in ids if i != exclude]


def decide_spend(system, actor, spend_id: int, decision: str, note: str | None = None) -> dict:
    """The station chief approves (pays) or refuses a proposed spend; exactly one decision wins."""
    if decision not in ("approve", "refuse"):
        raise invalid(f"decision {decision!r} is not allowed; use approve or refuse", field="decision")
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise invalid("note must be text of at most 2000 characters", field="note")
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        spend = _spend(session, spend_id)
        budget = budget_of(session, spend.budget.org_unit, spend.budget.year, lock=True)
        session.refresh(spend)
        workstation = budget.org_unit
        _check_approver(session, user, spend, workstation)
        if spend.status != "proposed":
            raise Conflict(f"spend {spend.id} is already {spend.status}; only a proposed spend can be decided",
                           reason="fund_already_decided", params={"id": spend.id, "status": spend.status})
        if spend.case.status in FINISHED_STATUSES and decision == "approve":
            raise Conflict(f"case {spend.case.number} is {spend.case.status}; the fund pays for work on open cases "
                           "only", reason="fund_case_finished", params={"number": spend.case.number})
        spend.decided_by_id, spend.decided_at, spend.decision_note = user.id, now(), (note or "").strip() or None
        if decision == "approve":
            session.flush()
            _pay(session, spend, user, workstation)
        else:
            spend.status = "refused"
            session.flush()
            add_entry(session, spend.case, "fund_refused", actor=user, level="workstation", unit=workstation,
                      note=spend.decision_note or spend.purpose, data={"spend_id": spend.id,
                                                                       "amount_cents": spend.amount_cents})
        notify(session, [spend.spent_by_id] if spend.spent_by_id else [], "fund_decided", spend.case,
               f"工单 {spend.case.number} 的经费申请 ¥{spend.amount_cents / 100:.2f} "
               f"{'已批准' if decision == 'approve' else '未批准'}")
        return spend_item(spend, balance_cents(session, budget))


def _spend(session: Session, spend_id) -> FundSpend:
    spend = session.get(FundSpend, spend_id) if isinstance(spend_id, int) and 0 < spend_id < 2**63 else None
    if spend is None:
        raise NotFound(f"fund spend {spend_id!r} does not exist; list a case's spends to find its id")
    return spend


def _check_approver(session: Session, user: User, spend: FundSpend, workstation: OrgUnit) -> None:
    if user.id == spend.spent_by_id:
        raise Forbidden(f"{user.username} proposed spend {spend.id} and may not approve it too; the station chief "
                        "decides", reason="fund_own_spend")
    if user.id in approver_ids(session, workstation):
        return
    raise Forbidden(f"{user.username} may not decide spend {spend.id}: only the station chief of {workstation.code} "
                    "approves spends above the threshold", reason="fund_not_chief",
                    params={"workstation": workstation.code})


def may_decide(session: Session, user: User, spend: FundSpend) -> bool:
    try:
        _check_approver(session, user, spend, spend.budget.org_unit)
    except Forbidden:
        return False
    return spend.status == "proposed"


def spend_item(spend: FundSpend, balance: int | None = None) -> dict:
    item = {"id": spend.id, "case_number": spend.case.number, "workstation": spend.budget.org_unit.code,
            "amount_cents": spend.amount_cents, "payee": spend.payee, "purpose": spend.purpose, "status": spend.status,
            "proposed_by": spend.spent_by.display_name if spend.spent_by else None,
            "proposed_at": spend.spent_at.isoformat(),
            "decided_by": spend.decided_by.display_name if spend.decided_by else None,
            "decided_at": spend.decided_at.isoformat() if spend.decided_at else None,
            "decision_note": spend.decision_note, "receipt": bool(spend.receipt_name)}
    if balance is not None:
        item["balance_cents"] = balance
    return item


def case_spends(system, actor, case_number: str) -> list[dict]:
    """The spends on a case, for someone who may read it."""
    with system.sessions() as session:
        user = get_user(session, actor)
        case = get_case(session, case_number)
        if not may_read_case(session, user, case):
            raise Forbidden(f"{user.username} ({user.role}) may not read case {case_number}: it is outside your "
                            "area or department")
        return spends_for_page(session, user, case)


def receipt_file(system, actor, spend_id: int) -> dict:
    """A spend's receipt photo for someone who may read its case."""
    with system.sessions() as session:
        user = get_user(session, actor)
        spend = _spend(session, spend_id)
        if not may_read_case(session, user, spend.case):
            raise Forbidden(f"{user.username} may not see the receipt of spend {spend_id}: its case is outside "
                            "your area")
        if not spend.receipt_name:
            raise NotFound(f"spend {spend_id} has no receipt photo")
        return {"path": Path(system.upload_dir) / spend.receipt_name, "content_type": spend.receipt_type}


# --- the admin's controls ---------------------------------------------------------------------

def fund_control(session: Session, workstation: OrgUnit) -> dict:
    """The threshold and chief for a workstation: its own row, else the global one, else the default."""
    rows = {row.org_unit_id: row for row in session.scalars(
        select(FundControl).where(or_(FundControl.org_unit_id == workstation.id, FundControl.org_unit_id.is_(None))))}
    row = rows.get(workstation.id) or rows.get(None)
    return {"threshold_cents": row.threshold_cents if row else DEFAULT_THRESHOLD_CENTS,
            "chief_id": rows[workstation.id].chief_id if workstation.id in rows else None,
            "own": workstation.id in rows}


def set_control(system, actor: str, workstation: str | None, threshold_yuan, chief: str | None = None) -> dict:
    """Set the approval threshold (yuan) and station chief of a workstation, or the global threshold."""
    try:
        cents = int((Decimal(str(threshold_yuan).strip()) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        raise invalid(f"threshold {threshold_yuan!r} is not a sum of money; write yuan like 2000",
                      field="threshold") from None
    if not 0 <= cents <= 10**13:
        raise invalid(f"threshold {threshold_yuan!r} must be between 0 and 100 billion yuan", field="threshold")
    with system.sessions() as session, session.begin():
        unit = None
        if workstation:
            unit = get_unit(session, workstation, field="workstation")
            if unit.level != "workstation":
                raise invalid(f"{unit.code} is a {unit.level}; fund controls belong to a workstation",
                              field="workstation")
        chief_user = _chief(session, unit, chief)
        row = session.scalar(select(FundControl).where(
            FundControl.org_unit_id == unit.id if unit else FundControl.org_unit_id.is_(None)))
        if row is None:
            row = FundControl(org_unit_id=unit.id if unit else None, threshold_cents=cents)
            session.add(row)
        row.threshold_cents, row.chief_id = cents, chief_user.id if chief_user else None
        audit.record(session, actor, "fund.control", unit.code if unit else "global", threshold_cents=cents,
                     chief=chief_user.username if chief_user else None)
        return {"workstation": unit.code if unit else None, "threshold_cents": cents,
                "chief": chief_user.username if chief_user else None}


def _chief(session: Session, unit: OrgUnit | None, chief: str | None) -> User | None:
    if not chief:
        return None
    if unit is None:
        raise invalid("a station chief belongs to one workstation; choose the workstation too", field="chief")
    user = find_user(session, chief)
    if user is None or user.role != "coordinator" or user.org_unit_id != unit.id:
        raise invalid(f"{chief!r} is not a coordinator of {unit.code}; the station chief must be one",
                      field="chief")
    return user


def list_controls(system) -> list[dict]:
    with system.sessions() as session:
        rows = session.scalars(select(FundControl))
        return sorted(({"workstation": row.org_unit.code if row.org_unit else None,
                        "name": row.org_unit.name if row.org_unit else None,
                        "threshold_cents": row.threshold_cents,
                        "chief": row.chief.username if row.chief else None} for row in rows),
                      key=lambda r: r["workstation"] or "")


def workstation_of(session: Session, case: Case) -> OrgUnit:
    unit = unit_for_level(session, case, "workstation")
    if unit.level != "workstation":
        raise Conflict(f"case {case.number} is not under a workstation yet; assign it down first",
                       reason="no_workstation")
    return unit


def fund_balance(system, workstation_code: str, year: int | None = None) -> dict:
    with system.reads() as session:
        workstation = get_unit(session, workstation_code)
        budget = budget_of(session, workstation, year)
        return {"workstation": workstation.code, "year": budget.year, "amount_cents": budget.amount_cents,
                "balance_cents": balance_cents(session, budget)}


def spends_for_page(session: Session, user: User, case: Case) -> list[dict]:
    """The case's spends with whether ``user`` may decide each (the caller checked the case is readable)."""
    rows = session.scalars(select(FundSpend).where(FundSpend.case_id == case.id).order_by(FundSpend.id))
    return [dict(spend_item(row), may_decide=may_decide(session, user, row)) for row in rows]
