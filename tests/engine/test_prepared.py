"""Prepared statements: driver errors surface as SQLAlchemy's, and a session's next transaction
gets its own connection."""

from __future__ import annotations

import pytest
from sqlalchemy import Float, bindparam, cast, select
from sqlalchemy.exc import IntegrityError, PendingRollbackError

from engine import Runtime, utcnow
from engine.prepared import Prepared, adopt
from engine.storage import store
from engine.storage.models import HumanTask

from .helpers import deploy_fixtures

LIMITS = {"remind": "PT1H", "escalate": "PT10H"}


def _task_row(instance_id: int, task_id: str) -> dict:
    row = {key: None for key in store.TASK_FIELDS}
    row.update(id=task_id, instance_id=instance_id, process_id="loop", element_id="handle", name="Handle",
               properties={}, context={}, created_at=utcnow())
    return row


def test_a_constraint_violation_raises_sqlalchemys_integrity_error_and_rolls_back(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    with sessions() as session, session.begin():
        instance = Runtime().start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        store.insert_tasks(session, [_task_row(instance, "same-id"), _task_row(instance, "same-id")])
    with sessions() as session:
        assert store.open_task(session, "same-id") is None


def test_one_session_runs_prepared_statements_in_each_of_its_transactions(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    runtime = Runtime()
    with sessions() as session:
        with session.begin():
            first = runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
        with session.begin():
            second = runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
            session.rollback()
        with session.begin():
            third = runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
            assert store.load_instance(session, first, lock=False).status == "running"
    with sessions() as session:
        assert store.load_instance(session, second, lock=False) is None or second == third
        assert store.load_instance(session, third, lock=False).status == "running"


def test_after_a_failed_flush_a_prepared_statement_is_refused_until_the_rollback(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    runtime = Runtime()
    with sessions() as session, session.begin():
        instance = runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
    with sessions() as session:
        session.begin()
        store.load_instance(session, instance, lock=False)  # the connection is now cached for this transaction
        session.add(HumanTask(**_task_row(instance, "dup")))
        session.add(HumanTask(**_task_row(instance, "dup")))
        with pytest.raises(IntegrityError):
            session.flush()
        with pytest.raises(PendingRollbackError):
            runtime.set_status(session, instance, "suspended")
        session.rollback()
    with sessions() as session:
        assert store.load_instance(session, instance, lock=False).status == "running"


def test_all_rows_come_back_with_their_processors_applied(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    with sessions() as session, session.begin():
        instance = Runtime().start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
        store.insert_tasks(session, [_task_row(instance, "extra-1"), _task_row(instance, "extra-2")])
    by_instance = Prepared(select(store.TASKS.c.id, store.TASKS.c.created_at)
                           .where(store.TASKS.c.instance_id == bindparam("instance")).order_by(store.TASKS.c.id))
    with sessions() as session, session.begin():
        rows = by_instance.run(session, {"instance": instance}).all()
        assert by_instance.run(session, {"instance": -1}).all() == []
    assert [r.id for r in rows if r.id.startswith("extra-")] == ["extra-1", "extra-2"]
    assert all(r.created_at.tzinfo is not None for r in rows)  # UTCDateTime's result processor ran


def test_a_list_bind_that_would_expand_is_refused_with_what_to_write_instead(sessions):
    expanding = Prepared(select(HumanTask.id).where(HumanTask.element_id.in_(["handle", "work"])))
    with sessions() as session, pytest.raises(ValueError, match="write it with OR"):
        expanding.run(session)


def test_a_float_column_reads_back_as_a_float_on_every_database(sessions):
    # psycopg picks its float processor by the type code the server reports, known only at run time
    share = Prepared(select(cast(bindparam("share"), Float).label("share")))
    with sessions() as session:
        value = share.run(session, {"share": 0.25}).first()["share"]
    assert value == 0.25 and isinstance(value, float)


def test_adopt_builds_a_clean_persistent_object_or_returns_the_one_the_session_holds(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    with sessions() as session, session.begin():
        instance = Runtime().start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
    every_column = Prepared(select(HumanTask.__table__).where(HumanTask.instance_id == bindparam("id")))
    with sessions() as session:
        row = every_column.run(session, {"id": instance}).first()
        task = adopt(session, HumanTask, row)
        assert task in session and not session.dirty and not session.new
        assert (task.id, task.element_id, task.created_at) == (row["id"], row["element_id"], row["created_at"])
        assert adopt(session, HumanTask, row) is task
    with sessions() as session:
        loaded = session.get(HumanTask, row["id"])
        assert adopt(session, HumanTask, row) is loaded
