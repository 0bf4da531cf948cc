"""The livelihood small-matters fund (民生小事专项经费) a workstation holds for small fixes.

Coordinators of the case's workstation, or of a community under it, may spend from it for an open
case they may read (a community's coordinator pays only for the cases of their own community);
the balance never goes below zero.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.lookups import get_case
from workflows.cases.models import Case
from workflows.cases.timeline import add_entry, unit_for_level
from workflows.checks import invalid, require_text
from workflows.clock import local_today, now
from workflows.coordination.models import FundBudget, FundSpend, budget_spent_cents
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.org.lookups import get_unit
from workflows.org.models import OrgUnit
from workflows.people.lookups import get_user
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


def spend_fund(system, actor, case_number: str, amount_cents: int, purpose: str) -> dict:
    """Pay ``amount_cents`` from the case's workstation fund; returns the new balance."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise invalid(f"amount {amount_cents!r} is not allowed; give a positive whole number of cents",
                           field="amount_cents")
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        case = get_case(session, case_number)
        purpose = require_text(purpose, "purpose", "what the money pays for")
        workstation = workstation_of(session, case)
        _check_spender(user, workstation)
        _check_case(session, user, case)
        budget = budget_of(session, workstation, lock=True)
        balance = balance_cents(session, budget)
        if amount_cents > balance:
            raise Conflict(f"the fund of {workstation.code} has a balance of {balance} cents; "
                           f"{amount_cents} cents cannot be spent", field="amount_cents", reason="fund_overdrawn",
                           params={"balance": f"{balance / 100:.2f}", "amount": f"{amount_cents / 100:.2f}"})
        session.add(FundSpend(budget=budget, case=case, amount_cents=amount_cents, purpose=purpose,
                              spent_by_id=user.id, spent_at=now()))
        add_entry(session, case, "fund_spent", actor=user, level="workstation", unit=workstation, note=purpose,
                  data={"amount_cents": amount_cents})
        session.flush()
        return {"case_number": case.number, "workstation": workstation.code, "amount_cents": amount_cents,
                "balance_cents": balance - amount_cents}


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
