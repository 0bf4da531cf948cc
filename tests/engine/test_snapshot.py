"""The compact state format: smaller than SpiffWorkflow's own, and states in the old format still load."""

from __future__ import annotations

import gzip
import json

from sqlalchemy import update

from engine import Runtime
from engine.specs.specs import SERIALIZER, dump_state, load_state
from engine.storage.models import ProcessInstance

from .conftest import spiff_dict, spiff_json
from .helpers import deploy_fixtures, only_task

LIMITS = {"remind": "PT1H", "escalate": "PT10H"}


def _started(sessions, runtime):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    with sessions() as session, session.begin():
        return runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}).instance_id


def test_a_state_restores_to_what_spiffworkflow_sees_and_is_smaller(sessions):
    runtime = Runtime()
    instance = _started(sessions, runtime)
    with sessions() as session:
        row, workflow = runtime._load(session, instance, lock=False)
    blob = dump_state(workflow)
    assert spiff_json(load_state(blob, workflow.spec, workflow.subprocess_specs)) == spiff_json(workflow)
    assert len(gzip.decompress(blob)) * 2 < len(spiff_json(workflow).encode())


def test_a_state_saved_in_spiffworkflows_format_still_loads_and_runs(sessions):
    runtime = Runtime(cache_size=0)
    instance = _started(sessions, runtime)
    with sessions() as session:
        _, workflow = runtime._load(session, instance, lock=False)
    old_blob = gzip.compress(json.dumps(spiff_dict(workflow), cls=SERIALIZER._encoder_cls).encode())
    with sessions() as session, session.begin():
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance)
                        .values(state=old_blob, serializer_version="1.5-slim1"))
    with sessions() as session, session.begin():
        result = runtime.complete_task(session, only_task(sessions, instance, "handle").id, {"decision": "dispatch"})
    assert [e.element_id for e in result.of_kind("task_ready")] == ["dw_task"]
    with sessions() as session:
        assert session.get(ProcessInstance, instance).serializer_version.endswith("gridlink-2")


def test_an_integer_beyond_64_bits_survives_a_save_and_a_restore(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    runtime = Runtime(cache_size=0)
    big = 123456789012345678901234567890
    with sessions() as session, session.begin():
        instance = runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS, "ref": big}).instance_id
    with sessions() as session:
        assert runtime.data(session, instance)["ref"] == big
        assert isinstance(runtime.data(session, instance)["ref"], int)
