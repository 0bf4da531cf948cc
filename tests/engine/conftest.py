"""Fixtures of the engine tests."""

from __future__ import annotations

import json

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.instances import runtime
from engine.specs import specs


@pytest.fixture
def serializer_matches_spiffworkflow(monkeypatch):
    """Every state the runtime saves restores to the workflow it was: SpiffWorkflow's own converter
    sees the same task trees, data and events before the save and after the restore. On every save
    the runtime's scan for ready human tasks also lists what SpiffWorkflow's iterator lists."""

    def checked(workflow):
        expected = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert [t.id for t in runtime.ready_human_tasks(workflow)] == [t.id for t in expected]
        blob = specs.dump_state(workflow)
        restored = specs.load_state(blob, workflow.spec, workflow.subprocess_specs)
        assert spiff_json(restored) == spiff_json(workflow)
        return blob

    monkeypatch.setattr(runtime, "dump_state", checked)


def spiff_json(workflow) -> str:
    """The workflow as SpiffWorkflow's own serializer writes it, keys sorted (to compare, not to load)."""
    return json.dumps(spiff_dict(workflow), cls=specs.SERIALIZER._encoder_cls, sort_keys=True, separators=(",", ":"))


def spiff_dict(workflow) -> dict:
    """The workflow as SpiffWorkflow's own (slim) converter gives it."""
    registry = specs.SERIALIZER.registry
    registry._encoder_mode = True
    try:
        return registry.convert(workflow)
    finally:
        registry._encoder_mode = False
