"""Timers: computed next_due, sweeps that fire each timer exactly once, downtime catch-up."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from engine import Runtime
from engine.incidents import open_incidents
from engine.storage.models import EngineEvent, ProcessInstance
from engine.sweeper import sweep

from .helpers import deploy_fixtures, only_task

pytestmark = pytest.mark.usefixtures("serializer_matches_spiffworkflow")

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
LIMITS = {"remind": "PT1H", "escalate": "PT2H"}


@pytest.fixture
def runtime():
    return Runtime()


@pytest.fixture
def instance(runtime, sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    with freeze_time(T0), sessions() as session, session.begin():
        return runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id


def fired(sessions, instance_id) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(EngineEvent.element_id).where(
            EngineEvent.instance_id == instance_id, EngineEvent.kind == "timer_fired").order_by(EngineEvent.id)))


def test_next_due_is_the_earliest_waiting_timer(sessions, instance):
    with sessions() as session:
        assert session.get(ProcessInstance, instance).next_due == T0 + timedelta(hours=1)


def test_nothing_fires_before_it_is_due(runtime, sessions, instance):
    with freeze_time(T0 + timedelta(minutes=59)):
        assert sweep(runtime, sessions).timers_fired == 0
    assert fired(sessions, instance) == []


def test_reminder_fires_once_and_the_task_stays_flagged(runtime, sessions, instance):
    with freeze_time(T0 + timedelta(minutes=61)):
        assert sweep(runtime, sessions).timers_fired == 1
        assert sweep(runtime, sessions).timers_fired == 0
    task = only_task(sessions, instance, "handle")
    assert task.reminded_at is not None and task.overdue_at is None
    assert fired(sessions, instance) == ["remind"]
    with sessions() as session:
        assert session.get(ProcessInstance, instance).next_due == T0 + timedelta(hours=2)


def test_escalation_interrupts_the_task_and_ends_the_path(runtime, sessions, instance):
    with freeze_time(T0 + timedelta(minutes=61)):
        sweep(runtime, sessions)
    with freeze_time(T0 + timedelta(minutes=121)):
        report = sweep(runtime, sessions)
    assert report.timers_fired == 1
    assert fired(sessions, instance) == ["remind", "escalate"]
    with sessions() as session:
        row = session.get(ProcessInstance, instance)
        assert row.status == "completed" and row.next_due is None


def test_timers_that_came_due_during_downtime_fire_once_at_the_next_sweep(runtime, sessions, instance):
    with freeze_time(T0 + timedelta(days=3)):
        first = sweep(runtime, sessions)
        second = sweep(runtime, sessions)
    assert (first.instances, second.instances) == (1, 0)
    # both the reminder and the escalation were overdue; each fires exactly once
    assert sorted(fired(sessions, instance)) == ["escalate", "remind"]


def test_two_concurrent_sweeps_fire_each_timer_exactly_once(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    starter = Runtime()
    with freeze_time(T0):
        for _ in range(30):
            with sessions() as session, session.begin():
                starter.start(session, "loop", {"rounds": 0, "limits": LIMITS})
    reports = []
    barrier = threading.Barrier(2)

    def sweeper():
        runtime = Runtime()
        barrier.wait()
        reports.append(sweep(runtime, sessions, batch_size=7))

    with freeze_time(T0 + timedelta(minutes=61)):
        threads = [threading.Thread(target=sweeper) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(r.timers_fired for r in reports) == 30
    with sessions() as session:
        per_instance = session.execute(select(EngineEvent.instance_id, func.count()).where(
            EngineEvent.kind == "timer_fired").group_by(EngineEvent.instance_id)).all()
    assert len(per_instance) == 30 and {n for _, n in per_instance} == {1}


def test_a_failing_instance_does_not_block_the_rest_of_the_batch(runtime, sessions, instance):
    with freeze_time(T0):
        with sessions() as session, session.begin():
            healthy = runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id
    with sessions() as session, session.begin():
        session.get(ProcessInstance, instance).state = b"not a workflow"
    with freeze_time(T0 + timedelta(minutes=61)):
        report = sweep(Runtime(), sessions)
    assert report.failed == [instance]
    assert fired(sessions, healthy) == ["remind"]
    with sessions() as session:
        broken = session.get(ProcessInstance, instance)
        assert broken.status == "error" and "BadGzipFile" in broken.error_message
        [incident] = open_incidents(session)
        assert (incident.instance_id, incident.kind) == (instance, "crash")


@pytest.mark.parametrize(("limits", "element", "says"), [
    ({"remind": "P99999999Y", "escalate": "PT2H"}, "remind", "longer than 10 years"),
    ({"remind": "PT1H", "escalate": "-PT2H"}, "escalate", "not an ISO-8601 duration"),
    ({"remind": "PT0S", "escalate": "PT2H"}, "remind", "zero"),
])
def test_a_timer_computed_out_of_bounds_fails_its_step_quickly_instead_of_spinning(runtime, sessions, limits,
                                                                                   element, says):
    import time

    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    started = time.perf_counter()
    with freeze_time(T0), sessions() as session, session.begin():
        result = runtime.start(session, "loop", {"rounds": 0, "limits": limits})
    assert time.perf_counter() - started < 5
    assert result.status == "error" and f"timer {element}" in result.error and says in result.error, result.error
    with sessions() as session:
        row = session.get(ProcessInstance, result.instance_id)
        assert (row.status, row.error_element) == ("error", element)
