"""Small helpers shared by the engine tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine import deploy
from engine.storage.models import HumanTask

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_files(*names: str) -> dict[str, str]:
    return {name: (FIXTURES / name).read_text() for name in names}


def deploy_fixtures(sessions, *names: str, by: str = "tester"):
    with sessions() as session, session.begin():
        return deploy(session, fixture_files(*names), by)


def open_tasks(sessions, instance_id: int) -> list[HumanTask]:
    with sessions() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                    .order_by(HumanTask.created_at)))


def only_task(sessions, instance_id: int, element_id: str | None = None) -> HumanTask:
    tasks = [t for t in open_tasks(sessions, instance_id) if element_id is None or t.element_id == element_id]
    assert len(tasks) == 1, [t.element_id for t in tasks]
    return tasks[0]
