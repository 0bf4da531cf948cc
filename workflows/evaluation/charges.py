"""Charges (扣分事项) to the party that caused them, written by the case hooks when they happen.

* a time limit runs out at a level -> that level's unit (``overdue``); at a department stage
  (accept, result, a meeting's action) -> the department;
* a late or absent report to duty -> the absent department only (``duty_late``), never the
  convening unit;
* the verifier sends a result back -> the department only when the rejected result was its own
  (it reported a result in the round the verifier rejected), else the unit that handled it
  (``rework``); a department dispatched in an earlier round is never charged;
* a department returns a dispatch as not its work -> the unit that dispatched it
  (``inaccurate_dispatch``).

Each write is one ``INSERT`` in the caller's transaction (the same one as the timeline entry).
An upheld appeal withdraws a charge (``status = 'withdrawn'``): no figure counts it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.clock import now
from workflows.evaluation.models import Charge
from workflows.org.models import LEVELS

DEPARTMENT_STAGES = ("dispatch_accept", "dispatch_result", "duty", "action")


def record_charge(session: Session, case: Any, kind: str, *, level: str | None, unit: Any = None,
                  department: Any = None, scope_unit: Any = None, stage: str | None = None,
                  note: str | None = None) -> Charge:
    """Charge ``department`` (when given) or ``unit`` for ``kind`` on ``case``."""
    scope = scope_unit or unit
    charge = Charge(case_id=case.id, kind=kind, stage=stage, level=level if level in LEVELS else None,
                    org_unit_id=None if department is not None else getattr(unit, "id", None),
                    department_id=getattr(department, "id", None), scope_unit_id=getattr(scope, "id", None),
                    recorded_at=now(), status="active", note=note)
    session.add(charge)
    return charge


def charge_overdue(session: Session, case: Any, stage: str, *, level: str | None, unit: Any,
                   department: Any) -> Charge:
    """An overdue record's charge: level stages on the unit, department stages on the department."""
    kind = "duty_late" if stage == "duty" else "overdue"
    party = department if stage in DEPARTMENT_STAGES else None
    return record_charge(session, case, kind, level=level, unit=unit, department=party, scope_unit=unit,
                         stage=stage)


def charge_rework(session: Session, case: Any, handler_unit: Any, results: list[tuple[str, Any]]) -> list[Charge]:
    """A result sent back. ``results`` are the case's (timeline kind, department) of ``rework``,
    ``resolved`` and ``result_reported`` entries, newest first (the rework being charged is not among
    them yet). The departments whose results were reported in this round (since the previous rework)
    are charged, each once; with none, the unit that handled the case."""
    departments = {}
    for kind, department in results:
        if kind == "rework":
            break
        if kind == "result_reported" and department is not None:
            departments.setdefault(department.id, department)
    if not departments:
        return [record_charge(session, case, "rework", level=case.level, unit=handler_unit,
                              scope_unit=handler_unit, stage=case.level)]
    return [record_charge(session, case, "rework", level=case.level, unit=handler_unit, department=department,
                          scope_unit=handler_unit, stage=case.level) for department in departments.values()]


def charge_returned_dispatch(session: Session, case: Any, dispatch: Any) -> Charge:
    """A dispatch returned as not the department's work: an inaccurate dispatch by the dispatcher."""
    return record_charge(session, case, "inaccurate_dispatch", level=dispatch.level, unit=dispatch.org_unit,
                         stage="dispatch_accept", note=dispatch.return_reason)


def charges_of(session: Session, case_id: int) -> list[Charge]:
    return list(session.scalars(select(Charge).where(Charge.case_id == case_id).order_by(Charge.id)))
