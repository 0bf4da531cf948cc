"""Appeals (申诉): the charged party appeals a charge with a reason; the registering centre decides.

The charged unit's staff (or the charged department's) file the appeal; a coordinator, leader or
admin of the unit that registered the case (or a unit above it; the district for cases that were
never registered) upholds or rejects it. An upheld appeal withdraws the charge, so it counts in no
figure from then on (a month already published keeps its frozen figures until it is re-issued).
Filing and deciding are written to the audit trail in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.admin.audit import record
from workflows.cases.lookups import get_case
from workflows.cases.models import Case, TimelineEntry
from workflows.checks import require_text
from workflows.clock import now
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.evaluation.models import Appeal, Charge
from workflows.org.lookups import is_within
from workflows.org.models import Department, OrgUnit
from workflows.people.lookups import get_user
from workflows.people.models import User

DECISIONS = ("upheld", "rejected")
DECIDERS = ("coordinator", "leader", "admin")


def _charge_of(session: Session, case: Case, charge_id: Any) -> Charge:
    if isinstance(charge_id, bool) or not isinstance(charge_id, int):
        raise InvalidInput(f"charge {charge_id!r} is not a charge id; give the id of one of the case's charges",
                           field="charge")
    charge = session.get(Charge, charge_id)
    if charge is None or charge.case_id != case.id:
        raise NotFound(f"case {case.number} has no charge {charge_id}; see the case's charges for their ids")
    return charge


def is_charged_party(user: User, charge: Charge) -> bool:
    if charge.department_id is not None:
        return user.department_id == charge.department_id
    return user.org_unit_id is not None and user.org_unit_id == charge.org_unit_id


def file_appeal(system, actor: Any, number: str, charge_id: Any, reason: Any) -> dict:
    """The charged party appeals ``charge_id`` of case ``number``; one open appeal per charge."""
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        case = session.get(Case, get_case(session, number).id)
        charge = _charge_of(session, case, charge_id)
        if not is_charged_party(user, charge):
            raise Forbidden(f"{user.username} is not the party charged by charge {charge.id}: only the charged "
                            "unit or department may appeal it", reason="not_charged_party")
        if charge.status != "active":
            raise Conflict(f"charge {charge.id} was already withdrawn; there is nothing to appeal")
        if session.scalar(select(Appeal.id).where(Appeal.charge_id == charge.id, Appeal.status == "pending")):
            raise Conflict(f"charge {charge.id} already has an appeal waiting for the centre's decision")
        text = require_text(reason, "reason", "why the charge is unfair")
        appeal = Appeal(charge_id=charge.id, reason=text, status="pending", filed_by_id=user.id, filed_at=now())
        session.add(appeal)
        session.flush()
        record(session, user.username, "appeal.file", f"{case.number}#{charge.id}", appeal=appeal.id, reason=text)
        return appeal_view(session, appeal)


def registering_unit(session: Session, case: Case) -> OrgUnit:
    """The unit that registered the case (its ``registered`` entry), or the district's root."""
    unit_id = session.scalar(select(TimelineEntry.org_unit_id)
                             .where(TimelineEntry.case_id == case.id, TimelineEntry.kind == "registered")
                             .order_by(TimelineEntry.id).limit(1))
    unit = session.get(OrgUnit, unit_id) if unit_id else None
    return unit or session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id).limit(1))


def may_decide(session: Session, user: User, case: Case) -> bool:
    if user.role == "admin":
        return True
    if user.role not in DECIDERS or user.org_unit is None:
        return False
    return is_within(registering_unit(session, case), user.org_unit)


def decide_appeal(system, actor: Any, appeal_id: Any, decision: Any, note: Any = None) -> dict:
    """The registering centre upholds (the charge is withdrawn) or rejects an appeal."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision {decision!r} is not one of: {', '.join(DECISIONS)}", field="decision")
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        appeal = session.get(Appeal, appeal_id) if isinstance(appeal_id, int) else None
        if appeal is None:
            raise NotFound(f"appeal {appeal_id!r} does not exist; see /evaluation/appeals for the open ones")
        charge = session.get(Charge, appeal.charge_id)
        case = session.get(Case, charge.case_id)
        if not may_decide(session, user, case):
            raise Forbidden(f"{user.username} is not of the centre that registered case {case.number}: only it "
                            "decides appeals of the case's charges", reason="not_registering_centre")
        if appeal.status != "pending":
            raise Conflict(f"appeal {appeal.id} was already {appeal.status}")
        text = note.strip() if isinstance(note, str) and note.strip() else None
        if decision == "rejected" and text is None:
            raise InvalidInput("a rejected appeal needs a note saying why", field="note")
        appeal.status, appeal.decided_by_id, appeal.decided_at, appeal.decision_note = decision, user.id, now(), text
        if decision == "upheld":
            charge.status = "withdrawn"
        record(session, user.username, f"appeal.{decision}", f"{case.number}#{charge.id}", appeal=appeal.id,
               note=text)
        return appeal_view(session, appeal)


def appeal_view(session: Session, appeal: Appeal) -> dict:
    charge = session.get(Charge, appeal.charge_id)
    case = session.get(Case, charge.case_id)
    unit = session.get(OrgUnit, charge.org_unit_id) if charge.org_unit_id else None
    department = session.get(Department, charge.department_id) if charge.department_id else None
    return {"id": appeal.id, "case": case.number, "charge": charge.id, "kind": charge.kind, "stage": charge.stage,
            "party": department.code if department else (unit.code if unit else None),
            "party_name": department.name if department else (unit.name if unit else None),
            "charge_status": charge.status, "reason": appeal.reason, "status": appeal.status,
            "filed_at": appeal.filed_at, "decided_at": appeal.decided_at, "note": appeal.decision_note}


def pending_appeals(system, actor: Any) -> list[dict]:
    """The open appeals this user may decide, oldest first."""
    with system.sessions() as session:
        user = get_user(session, actor)
        rows = session.scalars(select(Appeal).where(Appeal.status == "pending").order_by(Appeal.id))
        out = []
        for appeal in rows:
            case = session.get(Case, session.get(Charge, appeal.charge_id).case_id)
            if may_decide(session, user, case):
                out.append(appeal_view(session, appeal))
        return out


def case_charges(system, actor: Any, number: str) -> list[dict]:
    """The case's charges with their ids (what an appeal names), for the charged party or a decider."""
    with system.sessions() as session:
        user = get_user(session, actor)
        case = session.get(Case, get_case(session, number).id)
        charges = session.scalars(select(Charge).where(Charge.case_id == case.id).order_by(Charge.id))
        decider = may_decide(session, user, case)
        return [{"id": c.id, "kind": c.kind, "stage": c.stage, "level": c.level, "status": c.status,
                 "recorded_at": c.recorded_at} for c in charges if decider or is_charged_party(user, c)]
