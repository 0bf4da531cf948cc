"""The runtime on a real database: start, complete, conflicts, messages, errors and retries."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine import Conflict, InvalidTaskData, NotFound, NothingWaiting, Runtime
from engine.storage.models import EngineEvent, HumanTask, ProcessInstance

from .helpers import deploy_fixtures, only_task

LIMITS = {"remind": "PT1H", "escalate": "PT2H"}


@pytest.fixture
def runtime():
    return Runtime()


@pytest.fixture
def deployed(sessions):
    return deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")


def start(runtime, sessions, **data):
    with sessions() as session, session.begin():
        return runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS, **data}, business_key="case-1")


def complete(runtime, sessions, task_id, data, actor="alice"):
    with sessions() as session, session.begin():
        return runtime.complete_task(session, task_id, data, actor)


def test_start_runs_to_the_first_user_task_and_projects_it(runtime, sessions, deployed):
    result = start(runtime, sessions)
    task = only_task(sessions, result.instance_id)
    assert (task.element_id, task.name, task.lane, task.form_schema) == ("handle", "Handle", "office",
                                                                           "decide.schema.json")
    assert task.due_at is not None  # the interrupting escalation timer sets the deadline
    assert result.status == "running"
    assert [e.kind for e in result.events if e.kind in ("started", "task_ready")] == ["started", "task_ready"]


def test_completing_a_task_runs_the_call_activity_and_back(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    complete(runtime, sessions, only_task(sessions, instance).id, {"decision": "dispatch"})
    work = only_task(sessions, instance)
    assert (work.element_id, work.lane) == ("dw_task", None)
    complete(runtime, sessions, work.id, {"result": "fixed"})
    assert only_task(sessions, instance).element_id == "handle"
    with sessions() as session:
        assert runtime.data(session, instance)["rounds"] == 2
        assert runtime.data(session, instance)["work_done"] == "fixed"


def test_resolving_completes_the_instance_with_its_outcome(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    result = complete(runtime, sessions, only_task(sessions, instance).id, {"decision": "resolve"})
    assert result.status == "completed"
    assert result.of_kind("completed")[0].data["outcome"] == "closed"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(HumanTask)) == 0
        row = session.get(ProcessInstance, instance)
        assert row.next_due is None and "done" in row.visited


def test_invalid_form_data_is_refused_per_field_and_nothing_changes(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task = only_task(sessions, instance)
    with pytest.raises(InvalidTaskData) as caught:
        complete(runtime, sessions, task.id, {"decision": "shrug"})
    assert caught.value.details[0]["field"] == "decision"
    assert "shrug" in caught.value.details[0]["message"]
    with pytest.raises(InvalidTaskData) as caught:
        complete(runtime, sessions, task.id, {})
    assert caught.value.details == [{"field": "decision", "message": "decision is required"}]
    assert only_task(sessions, instance).id == task.id


def test_completing_a_task_twice_is_a_conflict_naming_who_did_it(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task = only_task(sessions, instance)
    complete(runtime, sessions, task.id, {"decision": "resolve"}, actor="alice")
    with pytest.raises(Conflict, match="already completed by alice"):
        complete(runtime, sessions, task.id, {"decision": "resolve"}, actor="bob")


def test_unknown_task_is_not_found(runtime, sessions, deployed):
    with pytest.raises(NotFound):
        complete(runtime, sessions, "00000000-0000-0000-0000-000000000000", {})


def test_two_concurrent_completions_give_one_winner_and_one_conflict(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task_id = only_task(sessions, instance).id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(actor):
        other = Runtime()  # each worker process has its own runtime and caches
        barrier.wait()
        try:
            complete(other, sessions, task_id, {"decision": "dispatch"}, actor=actor)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(name,)) for name in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert only_task(sessions, instance).element_id == "dw_task"
    with sessions() as session:
        completed = session.scalar(select(func.count()).select_from(EngineEvent)
                                   .where(EngineEvent.kind == "task_completed"))
    assert completed == 1


def test_an_exception_half_way_through_a_step_leaves_the_previous_state(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task = only_task(sessions, instance)
    with sessions() as session:
        before = session.get(ProcessInstance, instance).state

    def explode(session, row, events):
        raise RuntimeError("the domain failed after the engine step")

    runtime.add_listener(explode)
    with pytest.raises(RuntimeError):
        complete(runtime, sessions, task.id, {"decision": "dispatch"})
    runtime.listeners.clear()
    with sessions() as session:
        assert session.get(ProcessInstance, instance).state == before
    assert only_task(sessions, instance).id == task.id
    complete(runtime, sessions, task.id, {"decision": "dispatch"})
    assert only_task(sessions, instance).element_id == "dw_task"


def test_a_message_interrupts_the_waiting_task(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    with sessions() as session, session.begin():
        result = runtime.send_message(session, instance, "report_withdrawn", {"by": "resident"})
    assert result.status == "completed"
    assert result.of_kind("completed")[0].data["outcome"] == "withdrawn"


def test_a_message_nobody_waits_for_is_refused_and_nothing_changes(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    with pytest.raises(NothingWaiting, match="not waiting for 'no_such_message'"):
        with sessions() as session, session.begin():
            runtime.send_message(session, instance, "no_such_message")
    assert only_task(sessions, instance).element_id == "handle"


def test_claimed_task_can_only_be_completed_by_its_holder(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task = only_task(sessions, instance)
    with sessions() as session, session.begin():
        runtime.claim(session, task.id, "alice")
    with pytest.raises(Conflict, match="claimed by alice"):
        with sessions() as session, session.begin():
            runtime.claim(session, task.id, "bob")
    with pytest.raises(Conflict, match="claimed by alice"):
        complete(runtime, sessions, task.id, {"decision": "resolve"}, actor="bob")
    with sessions() as session, session.begin():
        runtime.unclaim(session, task.id, "alice")
    complete(runtime, sessions, task.id, {"decision": "resolve"}, actor="bob")


def test_a_script_error_puts_the_instance_in_error_and_retry_fixes_it(runtime, sessions, deployed):
    with sessions() as session, session.begin():
        result = runtime.start(session, "loop", {"limits": LIMITS}, business_key="broken")
    assert result.status == "error"
    assert "rounds" in result.error
    with sessions() as session:
        row = session.get(ProcessInstance, result.instance_id)
        assert (row.status, row.error_element) == ("error", "count")
    with sessions() as session, session.begin():
        retried = runtime.retry(session, result.instance_id, {"rounds": 10}, actor="admin")
    assert retried.status == "running"
    with sessions() as session:
        assert runtime.data(session, result.instance_id)["rounds"] == 11
        kinds = [e.kind for e in runtime.events(session, result.instance_id)]
    assert kinds[:3] == ["started", "error", "retried"]


def test_a_client_may_fill_the_form_but_not_set_other_process_data(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task = only_task(sessions, instance)
    with pytest.raises(InvalidTaskData) as caught:
        with sessions() as session:
            runtime.check_fields(session, task.id, {"decision": "resolve", "rounds": 99, "limits": {}})
    assert [d["field"] for d in caught.value.details] == ["rounds", "limits"]
    assert "not a field of this form; send only: decision, note" in caught.value.details[0]["message"]
    with sessions() as session:
        runtime.check_fields(session, task.id, {"decision": "resolve", "note": "done"})
        assert runtime.data(session, instance)["rounds"] == 1


def test_completing_with_the_fields_as_sent_refuses_those_the_form_does_not_define(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task = only_task(sessions, instance)
    sent = {"decision": "resolve", "rounds": 99}
    with pytest.raises(InvalidTaskData) as caught, sessions() as session:
        runtime.prepare_complete(session, task.id, sent, "alice", check_fields=True)
    assert [d["field"] for d in caught.value.details] == ["rounds"]
    with pytest.raises(InvalidTaskData), sessions() as session, session.begin():
        runtime.complete_task(session, task.id, {"decision": "resolve"}, "alice", sent=sent)
    assert only_task(sessions, instance).id == task.id  # nothing was completed
    with sessions() as session, session.begin():  # the caller may add process data to what was sent
        runtime.complete_task(session, task.id, {"decision": "resolve", "note": "done", "rounds": 7}, "alice",
                              sent={"decision": "resolve", "note": "done"})
    with sessions() as session:
        assert runtime.data(session, instance)["rounds"] == 7


def test_a_suspended_instance_accepts_no_work_until_resumed(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task = only_task(sessions, instance)
    with sessions() as session, session.begin():
        runtime.set_status(session, instance, "suspended", actor="admin")
    with pytest.raises(Conflict, match="is suspended"):
        complete(runtime, sessions, task.id, {"decision": "resolve"})
    with sessions() as session:
        assert session.get(ProcessInstance, instance).status == "suspended"
    with sessions() as session, session.begin():
        runtime.set_status(session, instance, "resumed", actor="admin")
    assert complete(runtime, sessions, task.id, {"decision": "resolve"}).status == "completed"


# --- steps run ahead of the write transaction (prepare_start / prepare_complete) ---------------

def prepare(runtime, sessions, task_id, data, actor="alice"):
    with sessions() as session:  # a session that writes nothing
        return runtime.prepare_complete(session, task_id, data, actor)


def test_a_start_prepared_in_memory_is_stored_only_by_save_start(runtime, sessions, deployed):
    with sessions() as session:
        pending = runtime.prepare_start(session, "loop", {"rounds": 0, "limits": LIMITS}, business_key="case-9")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    with sessions() as session, session.begin():
        result = runtime.save_start(session, pending)
    assert only_task(sessions, result.instance_id).element_id == "handle"
    with sessions() as session, session.begin(), pytest.raises(Exception, match="already been saved"):
        runtime.save_start(session, pending)


def test_a_prepared_completion_is_used_when_nothing_changed_meanwhile(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task_id = only_task(sessions, instance).id
    ahead = prepare(runtime, sessions, task_id, {"decision": "dispatch"})
    assert only_task(sessions, instance).id == task_id  # nothing was written
    with sessions() as session, session.begin():
        result = runtime.complete_task(session, task_id, {"decision": "dispatch"}, "alice", prepared=ahead)
    assert ahead.used and result.of_kind("task_ready")[0].element_id == "dw_task"
    assert only_task(sessions, instance).element_id == "dw_task"
    with sessions() as session:
        assert runtime.data(session, instance)["rounds"] == 1


@pytest.mark.parametrize("change", ["other data", "other actor"])
def test_a_prepared_completion_for_other_data_or_actor_is_not_used(runtime, sessions, deployed, change):
    instance = start(runtime, sessions).instance_id
    task_id = only_task(sessions, instance).id
    ahead = prepare(runtime, sessions, task_id, {"decision": "dispatch"})
    data, actor = ({"decision": "resolve"}, "alice") if change == "other data" else ({"decision": "dispatch"}, "bob")
    with sessions() as session, session.begin():
        result = runtime.complete_task(session, task_id, data, actor, prepared=ahead)
    assert not ahead.used
    expected = "completed" if change == "other data" else "running"
    assert result.status == expected


def test_a_prepared_completion_is_not_used_after_someone_else_moved_the_instance(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task_id = only_task(sessions, instance).id
    ahead = prepare(runtime, sessions, task_id, {"decision": "dispatch"}, actor="bob")
    complete(Runtime(), sessions, task_id, {"decision": "dispatch"}, actor="alice")  # another worker wins
    with sessions() as session, session.begin(), pytest.raises(Conflict, match="already completed by alice"):
        runtime.complete_task(session, task_id, {"decision": "dispatch"}, "bob", prepared=ahead)
    assert not ahead.used
    assert only_task(sessions, instance).element_id == "dw_task"
    with sessions() as session:
        assert runtime.data(session, instance)["rounds"] == 1  # the step ran once


def test_preparing_a_completion_refuses_what_completing_refuses(runtime, sessions, deployed):
    instance = start(runtime, sessions).instance_id
    task_id = only_task(sessions, instance).id
    with pytest.raises(InvalidTaskData):
        prepare(runtime, sessions, task_id, {"decision": "shrug"})
    with pytest.raises(NotFound):
        prepare(runtime, sessions, "00000000-0000-0000-0000-000000000000", {})
    complete(runtime, sessions, task_id, {"decision": "resolve"})
    with pytest.raises(Conflict, match="already completed"):
        prepare(runtime, sessions, task_id, {"decision": "resolve"})
