"""Steps run in an isolated child: payloads that kill, pin or bloat a process become incidents."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import Busy, Runtime, deploy, incidents, sweeper
from engine.incidents import Incident, InFlight, open_incidents, retry
from engine.isolation import Limits, StepFailed
from engine.storage.models import ProcessInstance
from engine.sweeper import sweep

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SEGFAULT = "t = ()\nfor i in range(25000):\n    t = ((((((((((t,),),),),),),),),),)\ns = {t}\n"  # 250,000 deep
EQUALS = "x = [0] * 999999\na = [x] * 50000\nb = [list(x)] * 50000\nsame = a == b\n"
STR = "x = [0] * 999999\ny = [x] * 999999\ntext = str(y)\n"


def diagram(script: str, timer: str | None = "PT1S") -> dict:
    """A script task after a timer of ``timer`` (or straight after the start when None)."""
    body = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    wait = (f'''    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"{timer}"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="payload"/>''' if timer else
            '    <bpmn:sequenceFlow id="f2" sourceRef="start" targetRef="payload"/>')
    return {"risky.bpmn": f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="risky" isExecutable="true">
    <bpmn:startEvent id="start"/>
{wait}
    <bpmn:scriptTask id="payload" name="Payload"><bpmn:script>{body}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="payload" targetRef="check"/>
    <bpmn:userTask id="check" name="Check"/>
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
'''}


@pytest.fixture
def runtime():
    rt = Runtime(time_budget=5.0, limits=Limits(timeout=4.0, memory_mb=300))
    yield rt
    rt.pool.close()


def start_waiting(runtime, sessions, script: str) -> int:
    with sessions() as session, session.begin():
        deploy(session, diagram(script), "tester")
    with sessions() as session, session.begin():
        return runtime.start(session, "risky").instance_id


def sweep_later(runtime, sessions):
    time.sleep(1.1)  # the diagram's timer is one second long
    return sweep(runtime, sessions)


def the_incident(sessions, instance_id: int) -> Incident:
    with sessions() as session:
        [incident] = [i for i in open_incidents(session) if i.instance_id == instance_id]
        assert session.get(ProcessInstance, instance_id).status == "error"
        return incident


def test_a_script_that_segfaults_is_quarantined_and_the_sweep_goes_on(runtime, sessions):
    bad = start_waiting(runtime, sessions, SEGFAULT)
    with sessions() as session, session.begin():
        good = runtime.start(session, "risky", {"t": 1}).instance_id  # same diagram: crashes too
    report = sweep_later(runtime, sessions)
    assert set(report.quarantined) == {bad, good}
    incident = the_incident(sessions, bad)
    assert (incident.kind, incident.element_id) == ("crash", "payload")
    assert "SIGSEGV" in incident.message
    with sessions() as session:
        assert session.scalars(select(InFlight)).all() == []  # nothing left in flight
    assert sweep_later(runtime, sessions).instances == 0  # never run again by itself


def test_a_long_comparison_is_stopped_at_the_budget_with_a_clear_error(runtime, sessions):
    instance = start_waiting(runtime, sessions, EQUALS)
    began = time.monotonic()
    sweep_later(runtime, sessions)
    assert time.monotonic() - began < 10
    incident = the_incident(sessions, instance)
    assert (incident.kind, incident.element_id) == ("timeout", "payload"), incident.message
    assert "budget of 4 s" in incident.message


def test_str_of_a_shared_structure_runs_out_of_memory_in_the_child_only(runtime, sessions):
    instance = start_waiting(runtime, sessions, STR)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sweep_later(runtime, sessions)
    incident = the_incident(sessions, instance)
    assert incident.kind in ("memory", "timeout") and incident.element_id == "payload"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: the parent did not grow


def test_a_request_step_that_crashes_answers_a_clear_error_and_stores_nothing(runtime, sessions):
    with sessions() as session, session.begin():
        deploy(session, diagram(SEGFAULT, None), "tester")
    with sessions() as session, session.begin():
        with pytest.raises(StepFailed) as failed:
            runtime.start(session, "risky", {"x": 1})
    assert failed.value.kind == "crash"
    with sessions() as session:
        assert session.scalars(select(ProcessInstance)).all() == []  # the start stored nothing


def test_an_instance_quarantined_after_a_crash_can_be_retried_after_a_fix(runtime, sessions):
    instance = start_waiting(runtime, sessions, SEGFAULT)
    sweep_later(runtime, sessions)
    incident = the_incident(sessions, instance)
    with sessions() as session, session.begin():
        row = retry(session, runtime, incident.id, actor="admin")
        assert (row.status, row.error_message) == ("waiting", None)
    with sessions() as session:
        assert open_incidents(session) == []
        assert session.get(Incident, incident.id).resolved_by == "admin"


def test_an_in_flight_mark_left_by_a_dead_process_quarantines_instead_of_running(runtime, sessions):
    instance = start_waiting(runtime, sessions, "y = 1\n")
    with sessions() as session, session.begin():
        session.add(InFlight(instance_id=instance, owner="elsewhere:1", started_at=T0, failures=0))
    report = sweep_later(runtime, sessions)
    assert report.instances == 0 and report.quarantined == [instance]
    assert the_incident(sessions, instance).kind == "inflight"


def test_a_healthy_instance_fires_and_runs_its_script_in_the_child(runtime, sessions):
    instance = start_waiting(runtime, sessions, "y = 41 + 1\n")
    report = sweep_later(runtime, sessions)
    assert (report.instances, report.timers_fired, report.quarantined) == (1, 1, [])
    with sessions() as session:
        assert runtime.data(session, instance)["y"] == 42


@pytest.mark.parametrize("script, kinds", [(EQUALS, {"timeout"}), (STR, {"memory", "timeout"})])
def test_a_request_whose_step_pins_or_bloats_its_process_answers_within_the_budget(runtime, sessions, script,
                                                                                    kinds):
    with sessions() as session, session.begin():
        deploy(session, diagram(script, None), "tester")
    began = time.monotonic()
    with sessions() as session, session.begin():
        with pytest.raises(StepFailed) as failed:
            runtime.start(session, "risky")
    assert time.monotonic() - began < 4.0 + 3
    assert failed.value.kind in kinds and failed.value.element == "payload"
    assert "'payload'" in str(failed.value)
    with sessions() as session:
        assert session.scalars(select(ProcessInstance)).all() == []


def dead_owner() -> str:
    """host:pid of a process of this host that has exited."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return f"{socket.gethostname()}:{gone.pid}"


def test_a_dead_sweepers_note_quarantines_only_the_step_it_was_running(runtime, sessions):
    first = start_waiting(runtime, sessions, "y = 1\n")
    with sessions() as session, session.begin():
        second, third = (runtime.start(session, "risky").instance_id for _ in range(2))
    owner = dead_owner()
    with sessions() as session, session.begin():  # its batch was marked, it died running `second`
        session.add_all(InFlight(instance_id=i, owner=owner, started_at=datetime.now(UTC), failures=0)
                        for i in (first, second, third))
    note = f"{incidents._note_prefix(owner)}1"
    with open(note, "wb") as file:
        file.write(str(second).encode().ljust(20, b"\0"))
    try:
        report = sweep_later(runtime, sessions)
    finally:
        os.unlink(note)
    assert report.quarantined == [second] and report.instances == 2
    assert the_incident(sessions, second).kind == "inflight"
    with sessions() as session:
        assert {session.get(ProcessInstance, i).status for i in (first, third)} == {"running"}
        assert session.scalars(select(InFlight)).all() == []


def test_a_busy_database_ends_the_sweep_early_and_the_next_tick_goes_on(runtime, sessions, monkeypatch):
    ids = [start_waiting(runtime, sessions, "y = 1\n")]
    with sessions() as session, session.begin():
        ids += [runtime.start(session, "risky").instance_id for _ in range(2)]
    monkeypatch.setattr(sweeper, "LOCK_BUDGET", 0.0)  # one step per batch transaction
    calls = []
    fire = runtime.fire_timers

    def busy_at_the_second(session, instance_id):
        calls.append(instance_id)
        if len(calls) == 2:
            raise Busy(0.1)
        return fire(session, instance_id)

    monkeypatch.setattr(runtime, "fire_timers", busy_at_the_second)
    report = sweep_later(runtime, sessions)
    assert report.busy and report.instances == 1 and report.failed == []
    with sessions() as session:
        assert session.scalars(select(InFlight)).all() == []  # the marks of the steps not run were given back
    again = sweep(runtime, sessions)
    assert (again.busy, again.instances) == (False, 2)
    with sessions() as session:
        assert {session.get(ProcessInstance, i).status for i in ids} == {"running"}
