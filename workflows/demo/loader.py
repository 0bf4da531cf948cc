"""Replaying the demo case scripts (``huqiu.stories()`` and ``everyday_cases()``) through the use cases.

Each script is reported and then driven step by step through the same verbs the web pages call,
so every demo case is real: engine state, tasks, timeline and notifications. Where a script names
a user who may not act on the task the diagram produced (e.g. a verification the diagram gives to
the level above), the first user who may is taken instead; a case waiting for registration is
registered first by the grid's worker. Afterwards the case's dates are moved back by its
``days_ago`` so that the dashboard has history.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import OpenTask, TaskQuery, open_tasks
from workflows.cases.decisions import complete_task, may_act, resolver_id
from workflows.cases.models import Case, TimelineEntry
from workflows.cases.query_codes import demo_code
from workflows.cases.reporting import rate_case, report_case, set_query_code
from workflows.cases.timeline import users_of
from workflows.clock import duration_seconds, now
from workflows.coordination.fund import spend_fund
from workflows.coordination.models import Dispatch, FundSpend, Meeting
from workflows.demo import huqiu
from workflows.people.lookups import get_user
from workflows.people.models import User

HOTLINE_DESK = "coord-district"
"""The district centre writes hotline work orders that its scripts register at the district."""


def replay(system, script: dict, notes: list[str]) -> str:
    """Report one scripted case and play its steps; returns the case number."""
    number = _report(system, script)
    for step in script["steps"]:
        if not _play(system, number, step, notes):
            notes.append(f"{script['key']}: stopped before {step['task']}: no matching open task")
            break
    _backdate(system, number, script["days_ago"])
    return number


def _report(system, script: dict) -> str:
    steps = script["steps"]
    at_district = bool(steps) and steps[0]["task"] == "register" and steps[0].get("level") == "district"
    actor = HOTLINE_DESK if at_district else script["reported_by"]
    number = report_case(system, title=script["title"], description=script["description"],
                         category=script["category"], source=script["source"], grid=script["grid"],
                         lat=script["lat"], lon=script["lon"], address=script["address"],
                         reporter=script["reporter"], self_closed=script["self_closed"], actor=actor)["number"]
    set_query_code(system, number, demo_code(number))  # printed by `gridlink init --demo`
    return number


def _play(system, number: str, step: dict, notes: list[str]) -> bool:
    kind = step["task"]
    if kind == "fund_spend":
        spend_fund(system, step["user"], number, step["amount_cents"], step["purpose"], step["payee"])
        return True
    if kind == "rate":
        rate_case(system, number, step["rating"], step.get("comment"), query_code=demo_code(number))
        return True
    task = _find_task(system, number, step)
    if task is None and kind != "register" and _register_first(system, number):
        task = _find_task(system, number, step)
    if task is None:
        return False
    user = _acting_user(system, task, step, number, notes)
    complete_task(system, user, task.id, _data(step))
    return True


def _open_tasks(system, number: str) -> list[OpenTask]:
    with system.sessions() as session:
        return open_tasks(session, TaskQuery(business_key=number), order="oldest")


def _matches(task: OpenTask, step: dict) -> bool:
    context = task.context or {}
    if context.get("task_kind") != step["task"]:
        return False
    if step["task"] == "handle" and step.get("level") and context.get("level") != step["level"]:
        return False
    if step["task"] == "carry_out_action" and step.get("org_unit"):
        return task.org_unit == step["org_unit"]
    if step["task"] == "carry_out_action":
        return task.department == step.get("department") and task.org_unit is None
    return not step.get("department") or task.department == step["department"]


def _find_task(system, number: str, step: dict) -> OpenTask | None:
    found = [t for t in _open_tasks(system, number) if _matches(t, step)]
    found.sort(key=lambda t: (t.context or {}).get("action_id") or 0)
    return found[0] if found else None


def _register_first(system, number: str) -> bool:
    register = next((t for t in _open_tasks(system, number) if (t.context or {}).get("task_kind") == "register"),
                    None)
    if register is None:
        return False
    with system.sessions() as session:
        user = _first_able(session, register, None)
    complete_task(system, user, register.id, {"decision": "accept"})
    return True


def _acting_user(system, task: OpenTask, step: dict, number: str, notes: list[str]) -> str:
    with system.sessions() as session:
        named = session.scalar(select(User).where(User.username == step.get("user")))
        excluded = resolver_id(session, session.scalar(select(Case).where(Case.number == number))) \
            if step["task"] == "verify" else None
        if named is not None and may_act(named, task) and named.id != excluded:
            return named.username
        chosen = _first_able(session, task, excluded)
    notes.append(f"{number}: {step['task']} by {chosen} instead of {step.get('user')} (the task is for "
                 f"{task.org_unit or task.department})")
    return chosen


def _first_able(session: Session, task: OpenTask, excluded: int | None) -> str:
    for user in users_of(session, task.org_unit, task.department):
        if user.id != excluded and may_act(user, task):
            return user.username
    return get_user(session, "admin").username


def _data(step: dict) -> dict:
    skip = {"task", "user", "level"} | ({"department", "org_unit"} if step["task"] != "handle" else set())
    data = {k: v for k, v in step.items() if k not in skip}
    if "scheduled_in" in data:
        data["scheduled_at"] = _in(data.pop("scheduled_in"))
    if "outcome" in data:
        data["comment"] = data.pop("outcome")
    if "actions" in data:
        data["actions"] = [_action(a) for a in data["actions"]]
    return data


def _action(item: dict) -> dict:
    action = {k: v for k, v in item.items() if k != "due_in"}
    action["due_at"] = _in(item["due_in"])
    return action


def _in(duration: str) -> str:
    return (now() + timedelta(seconds=duration_seconds(duration))).isoformat()


# --- history --------------------------------------------------------------------------------------

def _backdate(system, number: str, days_ago: int) -> None:
    """Spread the case's past over ``days_ago`` days, ending a little before now."""
    if not days_ago:
        return
    with system.sessions() as session, session.begin():
        case = session.scalar(select(Case).where(Case.number == number))
        start, span = now() - timedelta(days=days_ago), timedelta(days=days_ago * 0.8)
        entries = list(session.scalars(select(TimelineEntry).where(TimelineEntry.case_id == case.id)
                                       .order_by(TimelineEntry.id)))
        for index, entry in enumerate(entries):
            entry.at = start + span * (index / max(len(entries) - 1, 1))
        case.created_at = start
        for kind, column in (("registered", "registered_at"), ("resolved", "resolved_at"), ("closed", "closed_at")):
            times = [e.at for e in entries if e.kind == kind]
            if getattr(case, column) is not None and times:
                setattr(case, column, times[-1])
        _shift_rows(session, case, now() - (start + span))


def _shift_rows(session: Session, case: Case, shift: timedelta) -> None:
    def back(row, *columns):
        for column in columns:
            if getattr(row, column) is not None:
                setattr(row, column, getattr(row, column) - shift)

    for dispatch in session.scalars(select(Dispatch).where(Dispatch.case_id == case.id)):
        back(dispatch, "dispatched_at", "accepted_at", "returned_at", "result_at")
    for meeting in session.scalars(select(Meeting).where(Meeting.case_id == case.id)):
        back(meeting, "created_at", "resolved_at", "confirmed_at")
        for summons in meeting.summons:
            back(summons, "reported_at")
        for action in meeting.actions:
            back(action, "done_at")
    for spend in session.scalars(select(FundSpend).where(FundSpend.case_id == case.id)):
        back(spend, "spent_at")


def demo_scripts() -> list[dict]:
    """The stories first, then the everyday cases, oldest report first within each."""
    return huqiu.stories() + sorted(huqiu.everyday_cases(), key=lambda c: -c["days_ago"])
