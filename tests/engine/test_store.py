"""The runtime's hot path goes through SQLAlchemy's public API: every statement reaches its events."""

from __future__ import annotations

from sqlalchemy import event

from engine import Runtime

from .helpers import deploy_fixtures, only_task
from .test_runtime import LIMITS


def _recorded(db_engine, act) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()[:3]).upper())

    event.listen(db_engine, "before_cursor_execute", record)
    try:
        act()
    finally:
        event.remove(db_engine, "before_cursor_execute", record)
    return seen


def test_a_start_and_a_completion_show_every_statement_to_sqlalchemy_events(sessions, db_engine):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    runtime = Runtime()

    def start():
        with sessions() as session, session.begin():
            runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}, business_key="case-1")

    started = _recorded(db_engine, start)
    assert any(s.startswith("INSERT INTO PROCESS_INSTANCES") for s in started)
    assert any(s.startswith("INSERT INTO HUMAN_TASKS") for s in started)
    assert any(s.startswith("INSERT INTO ENGINE_EVENTS") for s in started)
    task_id = only_task(sessions, 1).id

    def complete():
        with sessions() as session, session.begin():
            runtime.complete_task(session, task_id, {"decision": "dispatch"}, "alice")

    completed = _recorded(db_engine, complete)
    assert any(s.startswith("UPDATE PROCESS_INSTANCES") for s in completed)
    assert any(s.startswith("DELETE FROM HUMAN_TASKS") for s in completed)
    assert len(completed) <= 8, completed


def test_claiming_a_task_returns_the_task_as_the_session_now_sees_it(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    runtime = Runtime()
    with sessions() as session, session.begin():
        runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}, business_key="case-1")
    task_id = only_task(sessions, 1).id
    with sessions() as session, session.begin():
        claimed = runtime.claim(session, task_id, "alice")
        assert runtime.task(session, task_id) == claimed
        assert claimed.claimed_by == "alice"
    assert only_task(sessions, 1).claimed_by == "alice"
