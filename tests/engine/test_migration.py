"""Migrating running instances between versions of one process: preview, migrate, reverse."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Conflict, Runtime, active_version, deploy
from engine.specs import migration
from engine.storage.models import EngineEvent, HumanTask, ProcessInstance

from .helpers import only_task

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
SLA = {level: {"limit": "PT24H", "remind": "PT18H"} for level in
       ("grid", "community", "workstation", "subcentre", "district")}
SLA.update(dispatch_accept={"limit": "PT2H"}, dispatch_result={"limit": "P5D", "remind": "PT90H"},
           duty={"routine": "PT24H", "tough": "PT24H", "emergency": "PT30M"})


def shipped() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(BPMN_DIR.iterdir())
            if p.suffix in (".bpmn", ".dmn", ".json")}


def case_handling(edit) -> dict[str, str]:
    return {"case_handling.bpmn": edit((BPMN_DIR / "case_handling.bpmn").read_text(encoding="utf-8"))}


def renamed_with_quoted_timer(text: str) -> str:
    text = text.replace('<bpmn:userTask id="handle_grid" name="网格处置">',
                        '<bpmn:userTask id="handle_grid" name="网格先行处置">')
    return text.replace('sla["grid"]["limit"]</bpmn:timeDuration>', '"PT48H"</bpmn:timeDuration>')


def register_with_prescript(text: str) -> str:
    anchor = '<spiffworkflow:property name="task_kind" value="register" />'
    start = text.index(anchor)
    block = text.rindex("<spiffworkflow:properties>", 0, start)
    return text[:block] + "<spiffworkflow:preScript>registered_in_v2 = True</spiffworkflow:preScript>\n" \
        + text[block:]


def handle_grid_renamed_id(text: str) -> str:
    return re.sub(r"\bhandle_grid\b(?!\.schema)", "handle_grid_v2", text)


@pytest.fixture
def runtime():
    return Runtime()


@pytest.fixture
def v1(sessions):
    with sessions() as session, session.begin():
        deploy(session, shipped(), "init")
        return active_version(session, "case_handling").version


def deploy_v2(sessions, edit) -> int:
    with sessions() as session, session.begin():
        infos = deploy(session, case_handling(edit), "admin")
        return next(i.version for i in infos if i.process_id == "case_handling")


def start(runtime, sessions, number: str, entry: str = "handle", version: int | None = None) -> int:
    data = {"case_number": number, "category": "drain_blocked", "entry": entry, "level": "grid", "sla": SLA}
    with sessions() as session, session.begin():
        return runtime.start(session, "case_handling", data, version=version, business_key=number).instance_id


def complete(runtime, sessions, task_id: str, data: dict) -> None:
    with sessions() as session, session.begin():
        runtime.complete_task(session, task_id, data, "tester")


def version_of(sessions, instance_id: int) -> int:
    with sessions() as session:
        return _version_number(session, session.get(ProcessInstance, instance_id).process_version_id)


def _version_number(session, version_id: int) -> int:
    from engine.storage.models import ProcessVersion

    return session.get(ProcessVersion, version_id).version


def preview(runtime, sessions, v_from, v_to, ids=None):
    with sessions() as session:
        return migration.preview(session, runtime, "case_handling", v_from, v_to, ids)


def migrate(runtime, sessions, v_from, v_to, ids=None):
    with sessions() as session, session.begin():
        return migration.migrate(session, runtime, "case_handling", v_from, v_to, ids, actor="admin")


def test_preview_separates_movable_instances_from_those_whose_completed_code_changed(runtime, sessions, v1):
    waiting_at_register = start(runtime, sessions, "A", entry="register")
    past_register = start(runtime, sessions, "B", entry="register")
    complete(runtime, sessions, only_task(sessions, past_register).id, {"decision": "accept"})
    v2 = deploy_v2(sessions, register_with_prescript)

    plan = preview(runtime, sessions, v1, v2)

    by_id = {c.instance_id: c for c in plan.checks}
    assert by_id[waiting_at_register].movable
    assert any("'register'" in c and "pre-script" in c for c in by_id[waiting_at_register].changes)
    assert not by_id[past_register].movable
    assert "completed element 'register'" in by_id[past_register].reasons[0]
    assert "pre-script" in by_id[past_register].reasons[0]
    assert any("changed 'register'" in line for line in plan.spec_changes)


def test_an_active_element_missing_from_the_target_blocks_the_move(runtime, sessions, v1):
    at_grid = start(runtime, sessions, "A")
    v2 = deploy_v2(sessions, handle_grid_renamed_id)

    check = preview(runtime, sessions, v1, v2).checks[0]

    assert (check.instance_id, check.movable) == (at_grid, False)
    assert check.reasons == ("active element 'handle_grid' (网格处置) does not exist in version 2",)


def test_migration_moves_several_instances_keeping_task_ids_claims_and_due_times(runtime, sessions, v1):
    instances = [start(runtime, sessions, f"C{i}") for i in range(3)]
    before = {i: only_task(sessions, i) for i in instances}
    with sessions() as session, session.begin():
        runtime.claim(session, before[instances[0]].id, "alice")
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)

    result = migrate(runtime, sessions, v1, v2)

    assert sorted(result.moved) == instances and result.skipped == []
    for instance in instances:
        task = only_task(sessions, instance)
        assert (task.id, task.name, task.due_at) == (before[instance].id, "网格先行处置", before[instance].due_at)
        assert version_of(sessions, instance) == v2
    assert only_task(sessions, instances[0]).claimed_by == "alice"
    with sessions() as session:
        audit = session.scalars(select(EngineEvent).where(EngineEvent.kind == "migrated")).all()
    assert {e.instance_id for e in audit} == set(instances)
    assert all(e.data["batch"] == result.batch and e.data["from_version"] == v1 for e in audit)


def test_a_moved_instance_runs_on_in_the_new_version(runtime, sessions, v1):
    instance = start(runtime, sessions, "D")
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)
    migrate(runtime, sessions, v1, v2)

    complete(runtime, sessions, only_task(sessions, instance).id,
             {"decision": "resolve", "result": "cleared the drain"})

    task = only_task(sessions, instance)
    assert task.element_id == "verify"
    with sessions() as session:
        assert runtime.data(session, instance)["level"] == "grid"


def test_new_instances_use_the_active_version_and_old_ones_stay_until_migrated(runtime, sessions, v1):
    old = start(runtime, sessions, "E")
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)
    new = start(runtime, sessions, "F")

    assert (version_of(sessions, old), version_of(sessions, new)) == (v1, v2)
    old_task, new_task = only_task(sessions, old), only_task(sessions, new)
    assert old_task.name == "网格处置" and new_task.name == "网格先行处置"
    assert (new_task.due_at - new_task.created_at).total_seconds() == pytest.approx(48 * 3600, abs=5)
    assert (old_task.due_at - old_task.created_at).total_seconds() == pytest.approx(24 * 3600, abs=5)


def test_reverse_gives_unchanged_instances_their_exact_old_state(runtime, sessions, v1):
    instances = [start(runtime, sessions, f"G{i}") for i in range(2)]
    with sessions() as session:
        states = {i: session.get(ProcessInstance, i).state for i in instances}
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)
    result = migrate(runtime, sessions, v1, v2)

    with sessions() as session, session.begin():
        undone = migration.reverse(session, runtime, result.batch, actor="admin")

    assert sorted(undone.restored) == instances and undone.refused == {}
    with sessions() as session:
        for instance in instances:
            row = session.get(ProcessInstance, instance)
            assert _version_number(session, row.process_version_id) == v1
            assert json.loads(gzip.decompress(row.state)) == json.loads(gzip.decompress(states[instance]))
    assert {only_task(sessions, i).name for i in instances} == {"网格处置"}
    with sessions() as session:
        summary = migration.batch_info(session, result.batch)
    assert sorted(summary.reversed) == instances


def test_reverse_moves_back_an_instance_that_advanced_when_it_still_fits(runtime, sessions, v1):
    instance = start(runtime, sessions, "H")
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)
    result = migrate(runtime, sessions, v1, v2)
    complete(runtime, sessions, only_task(sessions, instance).id, {"decision": "resolve", "result": "done"})

    with sessions() as session, session.begin():
        undone = migration.reverse(session, runtime, result.batch)

    assert undone.restored == [instance]
    assert version_of(sessions, instance) == v1
    assert only_task(sessions, instance).element_id == "verify"


def test_finished_instances_and_same_version_requests_are_refused(runtime, sessions, v1):
    instance = start(runtime, sessions, "I", entry="register")
    complete(runtime, sessions, only_task(sessions, instance).id, {"decision": "reject", "reason": "duplicate"})
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)

    check = preview(runtime, sessions, v1, v2, [instance]).checks[0]

    assert not check.movable and "completed" in check.reasons[0]
    with pytest.raises(Conflict):
        preview(runtime, sessions, v1, v1)
    with sessions() as session:
        assert session.scalars(select(HumanTask)).all() == []


def test_an_instance_inside_a_called_process_moves_and_continues(runtime, sessions, v1):
    instance = start(runtime, sessions, "J")
    complete(runtime, sessions, only_task(sessions, instance).id,
             {"decision": "dispatch", "departments": ["housing"], "instructions": "unblock the pipe"})
    accept = only_task(sessions, instance)
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)

    result = migrate(runtime, sessions, v1, v2)

    assert result.moved == [instance]
    assert only_task(sessions, instance).id == accept.id
    complete(runtime, sessions, accept.id, {"decision": "accept"})
    assert only_task(sessions, instance).element_id != accept.element_id


def test_an_instance_in_a_joint_meeting_moves_with_its_parallel_duty_tasks_and_timers(runtime, sessions, v1):
    instance = start(runtime, sessions, "K")
    complete(runtime, sessions, only_task(sessions, instance).id,
             {"decision": "convene", "departments": ["police", "fire"], "scheduled_at": "2030-01-01T09:00:00+08:00",
              "place": "社区会议室", "topic": "商场消防隐患", "urgency": "routine"})
    with sessions() as session:
        before = {t.id: t.due_at for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance))}
    assert len(before) == 2
    v2 = deploy_v2(sessions, renamed_with_quoted_timer)

    assert migrate(runtime, sessions, v1, v2).moved == [instance]

    with sessions() as session:
        after = {t.id: t.due_at for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance))}
    assert after == before
    for task_id in list(after):
        complete(runtime, sessions, task_id, {"delegate": "值班员"})
    assert only_task(sessions, instance).properties.get("task_kind") == "resolution"
