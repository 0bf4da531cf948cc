"""Task use cases: who may act on a task, and what a completed decision means for the case.

``complete_task`` checks that the actor may act on the task (role and org unit / department),
validates and enriches the decision, writes the case's rows and timeline for it, and completes
the engine task, all in one transaction. The thin verbs below (``register_case``, ``handle``,
``verify``, ...) take plain values and call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import EngineError, OpenTask, PendingStep, TaskQuery, open_tasks
from workflows.cases.attachments import check_photo_refs
from workflows.cases.hooks import open_dispatch
from workflows.cases.lookups import get_case
from workflows.cases.models import Case, TimelineEntry
from workflows.cases.reporting import case_with_tasks, task_item
from workflows.cases.timeline import UnitRef, add_entry, notify, unit_for_level, unit_ref, user_ids_of, worded
from workflows.checks import check_step, engine_errors, invalid, require_text
from workflows.clock import now
from workflows.coordination import meetings
from workflows.coordination.models import Dispatch
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.evaluation.charges import charge_returned_dispatch, charge_rework
from workflows.org.lookups import get_department, get_unit, is_within
from workflows.org.models import Department, OrgUnit, level_above
from workflows.people.lookups import get_user
from workflows.people.models import User

HANDLE_DECISIONS = {
    "grid": ("resolve", "escalate", "dispatch", "convene"),
    "community": ("resolve", "escalate", "dispatch", "convene", "assign_down"),
    "workstation": ("resolve", "escalate", "dispatch", "convene", "assign_down"),
    "subcentre": ("resolve", "escalate", "dispatch", "convene", "assign_down"),
    "district": ("resolve", "dispatch", "convene", "assign_down"),
}


@dataclass
class Step:
    """One task completion being prepared: who, which task, which case, and the runtime."""

    session: Session
    system: object
    user: User
    task: OpenTask
    case: Case

    @property
    def kind(self) -> str | None:
        return (self.task.properties or {}).get("task_kind")

    @property
    def level(self) -> str | None:
        return (self.task.context or {}).get("level")

    @property
    def unit(self) -> OrgUnit | None:
        ref = self.unit_ref
        return self.session.get(OrgUnit, ref.id) if ref is not None else None

    @cached_property
    def unit_ref(self) -> UnitRef | None:
        """The task's org unit, read without the unit of work (what a timeline entry needs)."""
        return unit_ref(self.session, code=self.task.org_unit) if self.task.org_unit is not None else None

    def task_data(self) -> dict:
        with engine_errors():
            return self.system.runtime.task_data(self.session, self.task.id)


# --- authorisation ----------------------------------------------------------------------------

def may_act(user: User, task: OpenTask) -> bool:
    if user.role == "admin":
        return True
    if user.role == "department":
        return task.department is not None and user.department is not None \
            and user.department.code == task.department
    if user.role in ("coordinator", "grid_worker"):
        return task.org_unit is not None and user.org_unit is not None and user.org_unit.code == task.org_unit
    return False


def check_may_act(user: User, task: OpenTask) -> None:
    if may_act(user, task):
        return
    holder = f"department {task.department}" if task.department and not task.org_unit else f"unit {task.org_unit}"
    own = user.department.code if user.role == "department" and user.department else \
        (user.org_unit.code if user.org_unit else "no unit")
    if user.role not in ("admin", "coordinator", "grid_worker", "department"):
        raise Forbidden(f"{user.username} is a {user.role}: {user.role}s watch cases and do not act on tasks",
                        reason="role_watches")
    raise Forbidden(f"{user.username} ({user.role} of {own}) may not act on task {task.name!r} of case "
                    f"{task.business_key}: it is for {holder}", reason="task_not_yours",
                    params={"task": task.name, "number": task.business_key,
                            "holder": task.department if task.department and not task.org_unit else task.org_unit})


def _open_task(session: Session, system, task_id: str) -> OpenTask:
    with engine_errors():
        return system.runtime.task(session, task_id)


# --- completing -------------------------------------------------------------------------------

def complete_task(system, actor, task_id: str, data: dict) -> dict:
    """Complete a task as ``actor`` (a username or User) with the decision ``data``; one transaction.

    Before it, in a read session: who acts on which task (a refusal needs no write lock) and the
    engine step run ahead on the data as sent. The transaction checks the actor and the task again
    and uses the step when it still fits. After it: the case and its open tasks, read back."""
    with system.reads() as reads:
        user, task = _actor_and_task(reads, system, actor, task_id)
        guess = _run_ahead(reads, system, user, task, data)
    with system.sessions() as session, session.begin():
        number = _complete(session, system, user.username, task_id, data, guess, checked=(user, task))
    with system.reads() as reads:
        return case_with_tasks(reads, number)


_NOT_AHEAD = {("handle", "assign_down"), ("resolution", None)}
"""Decisions that always add to the data (``target_level``, the actions): a step run ahead on the
data as sent would never be used."""


def _run_ahead(reads: Session, system, user: User, task: OpenTask, data) -> PendingStep | None:
    """The engine step for ``data`` as sent, run before the write transaction, which uses it when the
    decision did not change the data and nobody moved the case meanwhile. Anything the runtime
    refuses here is refused again, in order with the decision's own checks, in the transaction."""
    kind = (task.properties or {}).get("task_kind")
    if not isinstance(data, dict) or (kind, data.get("decision") if kind == "handle" else None) in _NOT_AHEAD:
        return None
    try:
        return system.runtime.prepare_complete(reads, task.id, data, actor=user.username, check_fields=True)
    except EngineError:
        return None


def complete_in(session: Session, system, actor, task_id: str, data: dict) -> dict:
    """``complete_task`` inside the caller's transaction."""
    return case_with_tasks(session, _complete(session, system, actor, task_id, data))


def _actor_and_task(session: Session, system, actor, task_id: str) -> tuple[User, OpenTask]:
    """The acting user and the open task, if they may act on it (the runtime checks once more, as
    it completes the task, that it is still open and not claimed by someone else)."""
    user = get_user(session, actor)
    task = _open_task(session, system, task_id)
    check_may_act(user, task)
    return user, task


def _complete(session: Session, system, actor, task_id: str, data: dict, guess: PendingStep | None = None,
              checked: tuple[User, OpenTask] | None = None) -> str:
    """``checked``: the user and the task as a read session found them. The write transaction takes
    the task over instead of reading it again (a task is never reassigned in place, and the runtime
    checks, as it completes it, that it is still open and unclaimed by others); the user is read
    again, as a user disabled or moved meanwhile may no longer act."""
    if checked is None:
        user, task = _actor_and_task(session, system, actor, task_id)
    else:
        user, task = get_user(session, checked[0].username), checked[1]
        check_may_act(user, task)
    if not isinstance(data, dict):
        raise invalid("the completion data must be an object of fields")
    step = Step(session, system, user, task, get_case(session, task.business_key))
    prepare = _PREPARE.get(step.kind)
    sent = dict(data)
    data = prepare(step, dict(data)) if prepare else dict(data)
    with engine_errors():  # after the decision's own checks, whose messages say more; same transaction
        result = system.runtime.complete_task(session, task_id, data, actor=user.username, prepared=guess, sent=sent)
    check_step(result)
    session.flush()
    return step.case.number


def _choice(data: dict, allowed: tuple[str, ...], step: Step) -> str:
    decision = data.get("decision")
    if decision not in allowed:
        where = f"{step.task.name} ({step.level})" if step.level else step.task.name
        raise invalid(f"decision {decision!r} is not allowed at {where}; use one of: {', '.join(allowed)}",
                           field="decision")
    return decision


# --- register ---------------------------------------------------------------------------------

def _register(step: Step, data: dict) -> dict:
    decision = _choice(data, ("accept", "reject"), step)
    if data.get("duplicate_of"):
        return _merge(step, data, decision)
    if decision == "reject":
        data["reason"] = require_text(data.get("reason"), "reason", "why the report is not accepted")
        add_entry(step.session, step.case, "rejected", actor=step.user, level=step.level, unit=step.unit_ref,
                  note=data["reason"])
    else:
        step.case.register(now())
        add_entry(step.session, step.case, "registered", actor=step.user, level=step.level, unit=step.unit_ref)
    return data


def _merge(step: Step, data: dict, decision: str) -> dict:
    if decision != "reject":
        raise invalid("a duplicate is not accepted: send decision 'reject' with duplicate_of",
                           field="decision")
    try:
        other = get_case(step.session, data["duplicate_of"])
    except NotFound:
        raise invalid(f"duplicate_of {data['duplicate_of']!r} is not a case number", field="duplicate_of") \
            from None
    if other.id == step.case.id or other.status == "merged":
        raise invalid(f"case {other.number} cannot take duplicates (it is {other.status or 'this case'})",
                           field="duplicate_of")
    data["reason"] = data.get("reason") or f"与工单 {other.number} 重复"
    step.case.merge_into(other)
    add_entry(step.session, step.case, "merged", actor=step.user, level=step.level, unit=step.unit_ref,
              data={"into": other.number, **worded("merged_into", number=other.number)})
    add_entry(step.session, other, "merged", actor=step.user, level=other.level,
              data={"from": step.case.number, **worded("merged_from", number=step.case.number)})
    return data


# --- handle -----------------------------------------------------------------------------------

def _handle(step: Step, data: dict) -> dict:
    decision = _choice(data, HANDLE_DECISIONS.get(step.level, ()), step)
    return _DECISIONS[decision](step, data)


def _resolve(step: Step, data: dict) -> dict:
    data["result"] = require_text(data.get("result"), "result", "what was done")
    check_photo_refs(step.session, step.case, data.get("photos"))
    add_entry(step.session, step.case, "resolved", actor=step.user, level=step.level, unit=step.unit_ref,
              note=data["result"], data={"photos": data.get("photos") or []})
    return data


def _escalate(step: Step, data: dict) -> dict:
    data["reason"] = require_text(data.get("reason"), "reason", "why this level cannot solve it")
    above = level_above(step.level)
    add_entry(step.session, step.case, "escalated", actor=step.user, level=above,
              unit=unit_for_level(step.session, step.case, above), note=data["reason"],
              data={"from": step.level, "to": above})
    return data


def _departments(step: Step, data: dict) -> list:
    codes = data.get("departments")
    if not isinstance(codes, list) or not codes:
        raise invalid("departments is missing: give a list of department codes", field="departments")
    if len(set(map(str, codes))) != len(codes):
        raise invalid(f"departments {codes!r} lists a department twice", field="departments",
                      reason="department_twice")
    return [get_department(step.session, code, field="departments") for code in codes]


def _dispatch(step: Step, data: dict) -> dict:
    departments = _departments(step, data)
    data["instructions"] = require_text(data.get("instructions"), "instructions", "what the department should do")
    for department in departments:
        step.session.add(Dispatch(case=step.case, department=department, level=step.level, org_unit=step.unit,
                                  instructions=data["instructions"], instance_id=step.case.instance_id,
                                  dispatched_at=now()))
    add_entry(step.session, step.case, "dispatched", actor=step.user, level=step.level, unit=step.unit_ref,
              data={"departments": [d.code for d in departments],
                    **worded("departments", departments=[d.code for d in departments])})
    return data


def _convene(step: Step, data: dict) -> dict:
    departments = _departments(step, data)
    duty = step.task_data()["sla"]["duty"]
    meetings.convene(step.session, step.case, step.user, step.unit, step.level, data, departments, duty)
    return data


def _assign_down(step: Step, data: dict) -> dict:
    target = get_unit(step.session, data.get("org_unit"), field="org_unit")
    current = step.unit
    if current is None or target.id == current.id or not is_within(target, current):
        raise invalid(f"org unit {target.code!r} is not below {current.code if current else 'this unit'}; "
                           "assign down to a unit under yours", field="org_unit", reason="not_below", unit=target.name)
    data["target_level"] = target.level
    if target.level == "grid":
        step.case.assign_grid(target.id)
    add_entry(step.session, step.case, "assigned_down", actor=step.user, level=target.level, unit=target,
              note=target.name, data={"from": step.level, "to": target.code})
    return data


_DECISIONS = {"resolve": _resolve, "escalate": _escalate, "dispatch": _dispatch, "convene": _convene,
              "assign_down": _assign_down}


# --- verify -----------------------------------------------------------------------------------

def resolver_id(session: Session, case: Case) -> int | None:
    """Who resolved the case last (the self-closing grid worker for self-closed reports)."""
    return session.scalar(select(TimelineEntry.actor_id)
                          .where(TimelineEntry.case_id == case.id, TimelineEntry.kind == "resolved")
                          .order_by(TimelineEntry.id.desc()).limit(1))


def latest_results(session: Session, case: Case) -> list[tuple[str, Department | None]]:
    """The case's result entries (``rework``, ``resolved``, ``result_reported``), newest first, with
    the department of each (for charging a rework to whoever's result was rejected)."""
    rows = session.execute(select(TimelineEntry.kind, TimelineEntry.department_id)
                           .where(TimelineEntry.case_id == case.id,
                                  TimelineEntry.kind.in_(("rework", "resolved", "result_reported")))
                           .order_by(TimelineEntry.id.desc()).limit(20)).all()
    return [(kind, session.get(Department, department) if department else None) for kind, department in rows]


def _verify(step: Step, data: dict) -> dict:
    decision = _choice(data, ("approve", "rework"), step)
    if resolver_id(step.session, step.case) == step.user.id:
        raise Forbidden(f"{step.user.username} resolved case {step.case.number}: someone else must verify it "
                        "(supervision is kept separate from handling)", reason="verify_own_work")
    if decision == "rework":
        data["comment"] = require_text(data.get("comment"), "comment", "what still needs doing")
        case = step.case
        case.reopen()
        handler = unit_for_level(step.session, case, case.level)
        charge_rework(step.session, case, handler, latest_results(step.session, case))
        add_entry(step.session, case, "rework", actor=step.user, level=case.level, unit=handler,
                  note=data["comment"])
        notify(step.session, user_ids_of(step.session, handler.code), "rework", case,
               f"退回重办：{case.number} {case.title}：{data['comment']}")
    return data


# --- departments ------------------------------------------------------------------------------

def _dispatch_of(step: Step) -> Dispatch:
    dispatch = open_dispatch(step.session, step.case, step.task.department)
    if dispatch is None:
        raise Conflict(f"case {step.case.number} has no open dispatch to {step.task.department!r}")
    return dispatch


def _dept_accept(step: Step, data: dict) -> dict:
    decision = _choice(data, ("accept", "return"), step)
    dispatch = _dispatch_of(step)
    if decision == "accept":
        dispatch.accepted_at = now()
        add_entry(step.session, step.case, "accepted", actor=step.user, level=dispatch.level,
                  department=dispatch.department)
        return data
    data["reason"] = require_text(data.get("reason"), "reason", "why this is not your department's work")
    dispatch.returned_at, dispatch.return_reason = now(), data["reason"]
    charge_returned_dispatch(step.session, step.case, dispatch)
    add_entry(step.session, step.case, "returned", actor=step.user, level=dispatch.level,
              department=dispatch.department, note=data["reason"])
    notify(step.session, user_ids_of(step.session, dispatch.org_unit.code), "returned_dispatch", step.case,
           f"{dispatch.department.name}退回派遣：{step.case.number}：{data['reason']}")
    return data


def _dept_result(step: Step, data: dict) -> dict:
    data["result"] = require_text(data.get("result"), "result", "what the department did")
    check_photo_refs(step.session, step.case, data.get("photos"))
    dispatch = _dispatch_of(step)
    dispatch.result, dispatch.result_at = data["result"], now()
    add_entry(step.session, step.case, "result_reported", actor=step.user, level=dispatch.level,
              department=dispatch.department, note=data["result"], data={"photos": data.get("photos") or []})
    return data


# --- meetings ---------------------------------------------------------------------------------

def _report_to_duty(step: Step, data: dict) -> dict:
    summons = meetings.report_to_duty(step.session, step.case, step.user, step.task.department,
                                      data.get("delegate"))
    data["delegate"] = summons.delegate
    return data


def _resolution(step: Step, data: dict) -> dict:
    return meetings.record_resolution(step.session, step.case, step.user, data)


def _carry_out_action(step: Step, data: dict) -> dict:
    action_id = (step.task.context or {}).get("action_id")
    meetings.action_done(step.session, step.case, step.user, action_id, data.get("result"))
    data["result"] = data["result"].strip()
    return data


def _confirm_outcome(step: Step, data: dict) -> dict:
    meetings.confirm(step.session, step.case, step.user, data.get("comment"))
    return data


_PREPARE = {"register": _register, "handle": _handle, "verify": _verify, "dept_accept": _dept_accept,
            "dept_result": _dept_result, "report_to_duty": _report_to_duty, "resolution": _resolution,
            "carry_out_action": _carry_out_action, "confirm_outcome": _confirm_outcome}


# --- thin verbs -------------------------------------------------------------------------------

def _fields(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def register_case(system, actor, task_id: str, decision: str, reason: str | None = None,
                  duplicate_of: str | None = None) -> dict:
    return complete_task(system, actor, task_id, _fields(decision=decision, reason=reason,
                                                          duplicate_of=duplicate_of))


def handle(system, actor, task_id: str, decision: str, **fields) -> dict:
    """resolve (result, photos), escalate (reason), dispatch (departments, instructions),
    convene (departments, scheduled_at, place, topic, urgency) or assign_down (org_unit)."""
    return complete_task(system, actor, task_id, _fields(decision=decision, **fields))


def verify(system, actor, task_id: str, decision: str, comment: str | None = None) -> dict:
    return complete_task(system, actor, task_id, _fields(decision=decision, comment=comment))


def accept_dispatch(system, actor, task_id: str, decision: str = "accept", reason: str | None = None) -> dict:
    return complete_task(system, actor, task_id, _fields(decision=decision, reason=reason))


def report_result(system, actor, task_id: str, result: str, photos: list[str] | None = None) -> dict:
    return complete_task(system, actor, task_id, _fields(result=result, photos=photos))


def report_to_duty(system, actor, task_id: str, delegate: str) -> dict:
    return complete_task(system, actor, task_id, {"delegate": delegate})


def record_resolution(system, actor, task_id: str, minutes: str, lead_department: str, actions: list) -> dict:
    return complete_task(system, actor, task_id, {"minutes": minutes, "lead_department": lead_department,
                                                  "actions": actions})


def complete_action(system, actor, task_id: str, result: str, photos: list[str] | None = None) -> dict:
    return complete_task(system, actor, task_id, _fields(result=result, photos=photos))


def confirm_outcome(system, actor, task_id: str, comment: str | None = None) -> dict:
    return complete_task(system, actor, task_id, _fields(comment=comment))


# --- claiming and reading ---------------------------------------------------------------------

def claim(system, actor, task_id: str) -> dict:
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        task = _open_task(session, system, task_id)
        check_may_act(user, task)
        with engine_errors():
            return task_item(system.runtime.claim(session, task_id, user.username))


def unclaim(system, actor, task_id: str) -> dict:
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        task = _open_task(session, system, task_id)
        check_may_act(user, task)
        with engine_errors():
            return task_item(system.runtime.unclaim(session, task_id, user.username, force=user.role == "admin"))


def visible_tasks(session: Session, user: User, filters: dict | None = None) -> list[OpenTask]:
    """The inbox: open tasks of the user's unit or department (all for admins and leaders), due first."""
    filters = filters or {}
    units = departments = None
    if user.role in ("coordinator", "grid_worker"):
        units = [user.org_unit.code] if user.org_unit else []
    elif user.role == "department":
        departments = [user.department.code] if user.department else []
    if filters.get("org_unit"):
        units = [c for c in (units if units is not None else [filters["org_unit"]]) if c == filters["org_unit"]]
    if filters.get("department"):
        departments = [c for c in (departments if departments is not None else [filters["department"]])
                       if c == filters["department"]]
    kind = filters.get("task_kind")
    tasks = open_tasks(session, TaskQuery(org_units=units, departments=departments,
                                          business_key=filters.get("case_number") or None,
                                          claimed_by=filters.get("claimed_by") or None,
                                          overdue=True if filters.get("overdue") else None))
    return [t for t in tasks if kind is None or t.properties.get("task_kind") == kind]


def task_view(system, actor, task_id: str) -> dict:
    """One task the actor may act on, with its form (JSON Schema text) and the case's headline."""
    with system.reads() as session:
        user = get_user(session, actor)
        task = _open_task(session, system, task_id)
        check_may_act(user, task)
        with engine_errors():
            version_id = system.runtime.instance_summary(session, task.instance_id).process_version_id
            form = system.runtime.form_schema(session, version_id, task.form_schema)
        return {**task_item(task), "form": form}
