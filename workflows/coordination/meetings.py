"""Joint meetings (吹哨报到): convened by a handle decision, reported to, resolved, carried out, confirmed.

The rows change when the matching task is completed (``workflows.cases.decisions`` calls these functions
inside its transaction); ``meeting_view`` is the read model of ``GET /api/v1/meetings/<id>``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.models import Case
from workflows.cases.timeline import add_entry
from workflows.checks import invalid, require_text
from workflows.clock import duration_seconds, now, parse_time
from workflows.coordination.models import ACTION_PHASES, Meeting, MeetingAction, MeetingSummons
from workflows.errors import Conflict, NotFound
from workflows.org.lookups import get_department, get_unit
from workflows.org.models import Department, OrgUnit
from workflows.people.models import User
from workflows.reference.models import URGENCIES


def convene(session: Session, case: Case, user: User, unit: OrgUnit, level: str, data: dict,
            departments: list[Department], duty_limits: dict) -> Meeting:
    """A new meeting with one summons per department, each due by the urgency's report-to-duty limit."""
    urgency = data.get("urgency")
    if urgency not in URGENCIES:
        raise invalid(f"urgency {urgency!r} is not allowed; use one of: {', '.join(URGENCIES)}",
                           field="urgency")
    scheduled = parse_time(data.get("scheduled_at"), "scheduled_at")
    deadline = now() + timedelta(seconds=duration_seconds(duty_limits[urgency], f"sla.duty.{urgency}"))
    meeting = Meeting(case=case, level=level, org_unit=unit, convened_by_id=user.id, urgency=urgency,
                      scheduled_at=scheduled, place=require_text(data.get("place"), "place", "where it meets"),
                      topic=require_text(data.get("topic"), "topic", "what the meeting is about"),
                      duty_deadline=deadline, status="summoned", instance_id=case.instance_id, created_at=now())
    meeting.summons = [MeetingSummons(department=d, deadline=deadline) for d in departments]
    session.add(meeting)
    session.flush()
    add_entry(session, case, "whistle", actor=user, level=level, unit=unit, note=meeting.topic,
              data={"meeting": meeting.id, "departments": [d.code for d in departments], "urgency": urgency})
    return meeting


def current_meeting(session: Session, case: Case) -> Meeting:
    meeting = session.scalar(select(Meeting).where(Meeting.case_id == case.id, Meeting.status != "confirmed")
                             .order_by(Meeting.id.desc()).limit(1))
    if meeting is None:
        raise Conflict(f"case {case.number} has no meeting in progress")
    return meeting


def report_to_duty(session: Session, case: Case, user: User, department_code: str, delegate) -> MeetingSummons:
    delegate = require_text(delegate, "delegate", "the name of who attends")
    meeting = current_meeting(session, case)
    summons = next((s for s in meeting.summons if s.department.code == department_code), None)
    if summons is None:
        raise Conflict(f"department {department_code!r} was not summoned to meeting {meeting.id}")
    summons.reported_at, summons.delegate = now(), delegate
    if summons.deadline is not None and summons.reported_at > summons.deadline:
        summons.late = True
    add_entry(session, case, "reported_to_duty", actor=user, level=meeting.level, department=summons.department,
              note=delegate, data={"meeting": meeting.id, "late": summons.late})
    return summons


def record_resolution(session: Session, case: Case, user: User, data: dict) -> dict:
    """Store the minutes, lead department and actions; returns the data for the engine, each action
    carrying its ``action_id`` and owner."""
    meeting = current_meeting(session, case)
    minutes = require_text(data.get("minutes"), "minutes", "the minutes of the meeting")
    lead = get_department(session, data.get("lead_department"), field="lead_department")
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        raise invalid("actions is missing: give at least one {department, action, due_at}", field="actions")
    rows = [_action(session, meeting, lead, index, item) for index, item in enumerate(actions)]
    meeting.minutes, meeting.lead_department, meeting.status, meeting.resolved_at = minutes, lead, "resolved", now()
    session.flush()
    add_entry(session, case, "resolution", actor=user, level=meeting.level, unit=meeting.org_unit,
              department=lead, note=minutes, data={"meeting": meeting.id, "actions": len(rows)})
    return {**data, "lead_department": lead.code, "actions": [_engine_action(row) for row in rows]}


def _action(session: Session, meeting: Meeting, lead: Department, index: int, item) -> MeetingAction:
    field = f"actions.{index}"
    if not isinstance(item, dict):
        raise invalid(f"{field} must be an object {{department, action, due_at}}", field=field)
    unit = get_unit(session, item["org_unit"], field=f"{field}.org_unit") if item.get("org_unit") else None
    if item.get("department"):
        department = get_department(session, item["department"], field=f"{field}.department")
    elif unit is not None or item.get("party"):
        department = lead  # an org unit's or an outside party's action, followed up by the lead department
    else:
        raise invalid(f"{field}.department is missing: name the department that carries it out",
                           field=f"{field}.department")
    phase = item.get("phase")
    if phase is not None and phase not in ACTION_PHASES:
        raise invalid(f"{field}.phase {phase!r} is not allowed; use one of: {', '.join(ACTION_PHASES)}",
                           field=f"{field}.phase")
    row = MeetingAction(meeting=meeting, department=department, org_unit=unit, party=item.get("party"),
                        action=require_text(item.get("action"), f"{field}.action", "what must be done"),
                        phase=phase, due_at=parse_time(item.get("due_at"), f"{field}.due_at"))
    session.add(row)
    return row


def _engine_action(row: MeetingAction) -> dict:
    action = {"action_id": row.id, "department": row.department.code, "action": row.action,
              "due_at": row.due_at.isoformat()}
    if row.phase:
        action["phase"] = row.phase
    if row.org_unit is not None:
        action["org_unit"] = row.org_unit.code
    if row.party:
        action["party"] = row.party
    return action


def action_done(session: Session, case: Case, user: User, action_id, result) -> MeetingAction:
    result = require_text(result, "result", "what was done")
    action = session.get(MeetingAction, action_id) if action_id else None
    if action is None or action.meeting.case_id != case.id:
        raise NotFound(f"meeting action {action_id!r} of case {case.number} does not exist")
    action.result, action.done_at = result, now()
    add_entry(session, case, "action_done", actor=user, level=action.meeting.level, department=action.department,
              unit=action.org_unit, note=result, data={"action": action.id, "phase": action.phase})
    return action


def confirm(session: Session, case: Case, user: User, comment) -> Meeting:
    meeting = current_meeting(session, case)
    meeting.status, meeting.confirmed_at, meeting.outcome = "confirmed", now(), comment or None
    add_entry(session, case, "meeting_confirmed", actor=user, level=meeting.level, unit=meeting.org_unit,
              note=meeting.outcome, data={"meeting": meeting.id})
    return meeting


def meeting_view(session: Session, meeting_id: int) -> dict:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"meeting {meeting_id!r} does not exist")
    return {
        "id": meeting.id, "case_number": meeting.case.number, "level": meeting.level,
        "org_unit": meeting.org_unit.code, "urgency": meeting.urgency, "scheduled_at": meeting.scheduled_at,
        "place": meeting.place, "topic": meeting.topic, "status": meeting.status,
        "duty_deadline": meeting.duty_deadline, "minutes": meeting.minutes,
        "lead_department": meeting.lead_department.code if meeting.lead_department else None,
        "outcome": meeting.outcome, "confirmed_at": meeting.confirmed_at,
        "summoned": [{"department": s.department.code, "deadline": s.deadline, "reported_at": s.reported_at,
                      "delegate": s.delegate, "late": s.late} for s in meeting.summons],
        "actions": [{"id": a.id, "department": a.department.code if a.department else None,
                     "org_unit": a.org_unit.code if a.org_unit else None, "party": a.party, "action": a.action,
                     "phase": a.phase, "due_at": a.due_at, "result": a.result, "done_at": a.done_at,
                     "overdue": a.overdue} for a in meeting.actions],
    }
