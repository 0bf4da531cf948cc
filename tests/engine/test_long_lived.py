"""A case that goes 300 times round a dispatch loop keeps working and its state stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from engine import Runtime, sweep
from engine.storage.models import ProcessInstance

from .helpers import deploy_fixtures, only_task

pytestmark = pytest.mark.usefixtures("serializer_matches_spiffworkflow")

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_three_hundred_rounds_keep_working_with_bounded_state(sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    runtime = Runtime(cache_size=0)  # every step goes through a real save and restore
    limits = {"remind": "PT1H", "escalate": "PT10H"}
    clock = T0

    def complete(element_id, data):
        with sessions() as session, session.begin():
            return runtime.complete_task(session, only_task(sessions, instance, element_id).id, data)

    with freeze_time(clock) as frozen:
        with sessions() as session, session.begin():
            instance = runtime.start(session, "loop", {"rounds": 0, "limits": limits}).instance_id
        sizes = {}
        for round_no in range(1, 301):
            if round_no % 10 == 0:  # let the reminder fire now and then: it leaves a waiting end-join
                clock += timedelta(minutes=61)
                frozen.move_to(clock)
                assert sweep(runtime, sessions).timers_fired == 1
            complete("handle", {"decision": "dispatch"})
            complete("dw_task", {"result": f"r{round_no}"})
            if round_no in (50, 300):
                with sessions() as session:
                    sizes[round_no] = len(session.get(ProcessInstance, instance).state)
        with sessions() as session:
            assert runtime.data(session, instance)["rounds"] == 301
        result = complete("handle", {"decision": "resolve"})
    assert result.status == "completed"
    print("state bytes", sizes)
    assert sizes[300] <= sizes[50] * 1.25, sizes
    assert sizes[300] < 12_000, sizes
