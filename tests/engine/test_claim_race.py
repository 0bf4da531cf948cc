"""Two people claiming one task at the same moment: exactly one holds it, the other is told who does
(SQLite and PostgreSQL; on PostgreSQL a read-then-write claim let both win)."""

from __future__ import annotations

import threading

import pytest

from engine import Runtime
from engine.errors import Conflict

from .helpers import deploy_fixtures, only_task

LIMITS = {"remind": "PT1H", "escalate": "PT2H"}
ROUNDS = 5


@pytest.fixture
def runtime():
    return Runtime()


def new_task(runtime, sessions) -> str:
    with sessions() as session, session.begin():
        instance = runtime.start(session, "loop", {"rounds": 0, "limits": LIMITS}, business_key="race").instance_id
    return only_task(sessions, instance).id


def claim_in_thread(runtime, sessions, task_id: str, who: str, outcomes: dict, claimed=None, release=None):
    def run():
        try:
            with sessions() as session, session.begin():
                runtime.task(session, task_id)  # the use case reads the task (to check who may act) first
                runtime.claim(session, task_id, who)
                if claimed is not None:
                    claimed.set()
                    release.wait(10)
            outcomes[who] = "holds it"
        except Conflict as exc:
            outcomes[who] = str(exc)
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            outcomes[who] = f"failed: {exc!r}"

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_second_claim_waiting_on_an_uncommitted_first_claim_is_refused_with_the_holder(runtime, sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    for _ in range(ROUNDS):
        task_id = new_task(runtime, sessions)
        outcomes: dict[str, str] = {}
        claimed, release = threading.Event(), threading.Event()
        first = claim_in_thread(runtime, sessions, task_id, "alice", outcomes, claimed, release)
        assert claimed.wait(10)
        second = claim_in_thread(runtime, sessions, task_id, "bob", outcomes)
        second.join(0.3)  # bob reads the task and waits for alice's write to end
        release.set()
        first.join(10)
        second.join(10)
        assert outcomes["alice"] == "holds it"
        assert outcomes["bob"] == f"task {task_id} is already claimed by alice"
        assert only_task(sessions, _instance_of(sessions, task_id)).claimed_by == "alice"


def test_of_two_claims_started_together_exactly_one_wins(runtime, sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    for _ in range(ROUNDS):
        task_id = new_task(runtime, sessions)
        outcomes: dict[str, str] = {}
        threads = [claim_in_thread(runtime, sessions, task_id, who, outcomes) for who in ("alice", "bob")]
        for thread in threads:
            thread.join(10)
        winners = [who for who, outcome in outcomes.items() if outcome == "holds it"]
        assert len(winners) == 1, outcomes
        loser = "bob" if winners == ["alice"] else "alice"
        assert outcomes[loser] == f"task {task_id} is already claimed by {winners[0]}"
        assert only_task(sessions, _instance_of(sessions, task_id)).claimed_by == winners[0]


def test_claiming_a_task_one_already_holds_is_harmless(runtime, sessions):
    deploy_fixtures(sessions, "loop.bpmn", "decide.schema.json")
    task_id = new_task(runtime, sessions)
    for _ in range(2):
        with sessions() as session, session.begin():
            assert runtime.claim(session, task_id, "alice").claimed_by == "alice"


def _instance_of(sessions, task_id: str) -> int:
    from engine.storage.models import HumanTask

    with sessions() as session:
        return session.get(HumanTask, task_id).instance_id
