"""The domain's hooks on the engine: who gets a task, and what engine events mean for a case.

``assign_task`` runs when a human task becomes ready: it reads the task's extension properties
(``task_kind``, ``level``/``level_var``, ``assignee``) and the case, and names the org unit or
department whose inbox shows the task. ``on_step`` runs after every engine step, in the same
transaction, and writes what the *engine* decided: where the case now stands (ready tasks),
reminders, overdues and escalations (timers) and the end of the case. What *people* decided
(task completions) is written by the use cases in ``workflows.cases.decisions``.
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Assignment, InstanceRow, OpenTask, StepEvent, TaskQuery, TaskView, open_tasks
from workflows.cases.models import Case
from workflows.cases.timeline import (
    add_entry,
    case_by_number,
    category_code,
    notify,
    record_overdue,
    unit_for_level,
    unit_ref,
    unit_ref_for_level,
    user_ids_of,
    worded,
)
from workflows.clock import now
from workflows.coordination.models import Dispatch, Meeting, MeetingAction
from workflows.messaging.reporter import reporter_outcome
from workflows.messaging.texts import local_time
from workflows.org.models import LEVELS, Department, level_above
from workflows.people.models import User

LEVEL_NAMES = {"grid": "网格", "community": "社区", "workstation": "联动工作站", "subcentre": "街道联动分中心",
               "district": "区联动中心"}


# --- assignment -------------------------------------------------------------------------------

def task_level(properties: dict, data: dict) -> str | None:
    level = properties.get("level") or data.get(properties.get("level_var") or "", None)
    return level if level in LEVELS else None


def assign_task(session: Session, view: TaskView) -> Assignment:
    """The org unit or department whose inbox shows this task, and what the inbox shows of it."""
    case = case_by_number(session, view.business_key)
    if case is None:
        return Assignment()
    props = view.properties
    level = task_level(props, view.data)
    context = {"case_number": case.number, "title": case.title, "category": category_code(session, case.category_id),
               "level": level, "task_kind": props.get("task_kind")}
    assignee = props.get("assignee")
    if assignee == "org_unit" and level:
        return Assignment(org_unit=unit_ref_for_level(session, case, level).code, context=context)
    if assignee == "department":
        return Assignment(department=view.data.get("department"), context=context)
    if assignee == "action_department":
        action = view.data.get("action") or {}
        context.update(action_id=action.get("action_id"), action=action.get("action"), phase=action.get("phase"))
        return Assignment(org_unit=action.get("org_unit"), department=action.get("department"), context=context)
    return Assignment(context=context)


# --- the listener -----------------------------------------------------------------------------

def on_step(session: Session, instance: InstanceRow, events: list[StepEvent]) -> None:
    """Apply what the engine did in one step to the case with the instance's business key."""
    case = case_by_number(session, instance.business_key)
    if case is None:
        return
    if case.instance_id != instance.id:
        case.attach_process(instance.id)
    for event in events:
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(session, case, event, events)


def _task_ready(session: Session, case: Case, event: StepEvent, events: list[StepEvent]) -> None:
    task = event.data  # the task as the runtime projected it: org_unit, department, context, due_at
    kind = event.properties.get("task_kind")
    level = (task.get("context") or {}).get("level")
    recipients = user_ids_of(session, task.get("org_unit"), task.get("department"))
    if kind in ("handle", "register") and level:
        _place(session, case, kind, level, task)
    elif kind == "verify":
        case.resolve(now())
    elif kind in ("dept_accept", "dept_result"):
        _set_dispatch_due(session, case, task, kind)
    message = f"新任务：{event.name}（{case.number} {case.title}）"
    notify(session, recipients, "new_task", case, message, data={"task": event.name})


def _place(session: Session, case: Case, kind: str, level: str, task: dict) -> None:
    """Where a register or handle task puts the case: its level, unit and due time."""
    unit = unit_ref(session, code=task["org_unit"]) if task.get("org_unit") else None
    unit_id, due = unit.id if unit else case.org_unit_id, _utc(task["due_at"])
    if kind == "register":
        case.wait_at(level, unit_id, due)
    elif case.status == "open" and LEVELS.index(level) > LEVELS.index(case.level):
        case.escalate(level, unit_id, due)
    else:
        case.open_at(level, unit_id, due)


def _set_dispatch_due(session: Session, case: Case, task: dict, kind: str) -> None:
    dispatch = open_dispatch(session, case, task.get("department"))
    if dispatch is None:
        return
    if kind == "dept_accept":
        dispatch.accept_due = _utc(task["due_at"])
    else:
        dispatch.result_due = _utc(task["due_at"])


def _utc(moment):
    """A projected due time as the database gives it back (in UTC)."""
    return moment.astimezone(UTC) if moment is not None else None


def open_dispatch(session: Session, case: Case, department: str | None) -> Dispatch | None:
    """The case's latest dispatch to ``department`` that has not been returned or reported."""
    return session.scalar(select(Dispatch).join(Department, Dispatch.department_id == Department.id)
                          .where(Dispatch.case_id == case.id, Department.code == department,
                                 Dispatch.returned_at.is_(None), Dispatch.result_at.is_(None))
                          .order_by(Dispatch.id.desc()).limit(1))


def _timer_fired(session: Session, case: Case, event: StepEvent, events: list[StepEvent]) -> None:
    kind = event.properties.get("timer_kind")
    handler = _TIMERS.get(kind)
    if handler is not None:
        handler(session, case, event)


def _host_tasks(session: Session, case: Case, event: StepEvent) -> list[OpenTask]:
    host = event.data.get("host")
    if not host or case.instance_id is None:
        return []
    return open_tasks(session, TaskQuery(instance_id=case.instance_id, element_id=host), order="oldest")


def _reminded(session: Session, case: Case, event: StepEvent) -> None:
    level = event.properties.get("level")
    stage = event.properties.get("stage") or level
    unit = unit_for_level(session, case, level) if level else None
    add_entry(session, case, "reminded", level=level, unit=unit,
              data={"stage": stage, **worded("deadline_near", stage=stage)})
    for task in _host_tasks(session, case, event):
        notify(session, user_ids_of(session, task.org_unit, task.department), "reminder", case,
               f"催办：{task.name}（{case.number}）将于 {local_time(task.due_at)}到期",
               data={"task": task.name, "due_at": task.due_at.isoformat() if task.due_at else None})


def _escalated(session: Session, case: Case, event: StepEvent) -> None:
    level = event.properties.get("level")
    if level not in LEVELS:
        return
    unit = unit_for_level(session, case, level)
    record_overdue(session, case, level, level=level, unit=unit, due_at=case.due_at)
    add_entry(session, case, "overdue", level=level, unit=unit, data=worded("level_timed_out", level=level))
    above = level_above(level)
    add_entry(session, case, "escalated", level=above, unit=unit_for_level(session, case, above),
              data={"from": level, "to": above, "automatic": True, **worded("auto_escalated", level=above)})


def _overdue(session: Session, case: Case, event: StepEvent) -> None:
    stage = event.properties.get("stage") or event.properties.get("level")
    if stage in ("dispatch_accept", "dispatch_result"):
        _dispatch_overdue(session, case, stage)
        return
    unit = unit_for_level(session, case, stage)
    record_overdue(session, case, stage, level=stage, unit=unit, due_at=case.due_at)
    add_entry(session, case, "overdue", level=stage, unit=unit, data=worded("level_overdue", level=stage))
    leaders = list(session.scalars(select(User).where(User.role == "leader", User.active)))
    notify(session, leaders + user_ids_of(session, unit.code), "overdue", case, f"逾期：{case.number} {case.title}")


def _dispatch_overdue(session: Session, case: Case, stage: str) -> None:
    due_column = Dispatch.accept_due if stage == "dispatch_accept" else Dispatch.result_due
    done_column = Dispatch.accepted_at if stage == "dispatch_accept" else Dispatch.result_at
    flag = "accept_overdue" if stage == "dispatch_accept" else "result_overdue"
    dispatches = session.scalars(select(Dispatch).where(Dispatch.case_id == case.id, due_column <= now(),
                                                        done_column.is_(None), Dispatch.returned_at.is_(None)))
    for dispatch in dispatches:
        if getattr(dispatch, flag):
            continue
        setattr(dispatch, flag, True)
        due = dispatch.accept_due if stage == "dispatch_accept" else dispatch.result_due
        record_overdue(session, case, stage, level=dispatch.level, unit=dispatch.org_unit,
                       department=dispatch.department, due_at=due)
        add_entry(session, case, "overdue", level=dispatch.level, department=dispatch.department,
                  data={"stage": stage, **worded(f"{stage}_overdue", department=dispatch.department.code)})
        notify(session, user_ids_of(session, dispatch.org_unit.code, dispatch.department.code), "overdue", case,
               f"逾期：{case.number} {case.title}（{dispatch.department.name}）")


def _duty_late(session: Session, case: Case, event: StepEvent) -> None:
    meeting = latest_meeting(session, case)
    if meeting is None:
        return
    for summons in meeting.summons:
        if summons.reported_at is None and not summons.late:
            summons.late = True
            record_overdue(session, case, "duty", level=meeting.level, unit=meeting.org_unit,
                           department=summons.department, due_at=summons.deadline)
            add_entry(session, case, "overdue", level=meeting.level, department=summons.department,
                      data={"stage": "duty", "meeting": meeting.id,
                            **worded("duty_late", department=summons.department.code)})


def _action_overdue(session: Session, case: Case, event: StepEvent) -> None:
    actions = session.scalars(select(MeetingAction).join(Meeting)
                              .where(Meeting.case_id == case.id, MeetingAction.done_at.is_(None),
                                     MeetingAction.overdue.is_(False), MeetingAction.due_at <= now()))
    for action in actions:
        action.overdue = True
        meeting = action.meeting
        record_overdue(session, case, "action", level=meeting.level, unit=action.org_unit or meeting.org_unit,
                       department=action.department, due_at=action.due_at)
        add_entry(session, case, "overdue", level=meeting.level, department=action.department,
                  data={"stage": "action", "action": action.id, **worded("action_overdue", action=action.action)})


def latest_meeting(session: Session, case: Case) -> Meeting | None:
    return session.scalar(select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.id.desc()).limit(1))


def _completed(session: Session, case: Case, event: StepEvent, events: list[StepEvent]) -> None:
    outcome = event.data.get("outcome")
    actor_name = next((e.actor for e in reversed(events) if e.kind == "task_completed"), None)
    actor = session.scalar(select(User).where(User.username == actor_name)) if actor_name else None
    if outcome == "closed":
        case.close(now())
        comment = _verifier_comment(events)
        add_entry(session, case, "closed", actor=actor, level=case.level, unit=case.org_unit,
                  note=comment, data={} if comment else worded("closed"))
        if case.created_by is not None:
            notify(session, [case.created_by], "closed", case, f"已结案：{case.number} {case.title}")
        reporter_outcome(session, case, "closed")
    elif outcome == "rejected" and case.status != "merged":
        case.reject()
        reporter_outcome(session, case, "rejected")


def _verifier_comment(events: list[StepEvent]) -> str | None:
    """What the verifier wrote when approving (the last completed task of the step)."""
    done = [e for e in events if e.kind == "task_completed"]
    comment = done[-1].data.get("comment") if done else None
    return comment.strip() if isinstance(comment, str) and comment.strip() else None


_HANDLERS = {"task_ready": _task_ready, "timer_fired": _timer_fired, "completed": _completed}
_TIMERS = {"reminder": _reminded, "escalation": _escalated, "overdue": _overdue, "duty_late": _duty_late,
           "action_overdue": _action_overdue}
