"""The demo's monthly report (the December report of the issue) is consistent with the definitions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import select

import workflows.messaging.models  # noqa: F401  (its tables must exist for the demo's notifications)
from workflows.clock import LOCAL_TZ, now
from workflows.evaluation.exports import monthly_report_data
from workflows.evaluation.models import Charge
from workflows.org.models import Department
from workflows.people import accounts
from workflows.setup.bootstrap import deploy_shipped, load_demo, load_reference_data
from workflows.system import build_system

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
DECEMBER = datetime(2026, 12, 20, 10, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def system(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")
    with freeze_time(DECEMBER):
        system = build_system(db_url, tmp_path / "uploads")
        load_reference_data(system)
        deploy_shipped(system, BPMN_DIR)
        load_demo(system)
        yield system


def test_the_december_demo_report_is_consistent_and_fair(system):
    with system.sessions() as session:
        report = monthly_report_data(session, now().astimezone(LOCAL_TZ).strftime("%Y-%m"))
        fire = session.scalar(select(Department.id).where(Department.code == "fire"))
        fire_reworks = session.scalars(select(Charge).where(Charge.department_id == fire,
                                                            Charge.kind == "rework")).all()
    t = report["totals"]
    assert t["reported"] >= t["registered"] >= t["due_for_closure"] >= t["closed"] >= t["closed_on_time"]
    assert t["self_closed"] >= 1 and t["closed"] < t["reported"]  # self-closed orders are not 结案数
    for row in report["black"]:
        assert "A" not in (row["grade"], row["final_grade"]), row["key"]
    assert fire_reworks == []  # no result of the fire station's was ever rejected
    departments = {d["key"]: d for d in report["departments"]}
    if "fire" in departments:
        assert departments["fire"]["charges_to_departments"]["rework"] == 0
