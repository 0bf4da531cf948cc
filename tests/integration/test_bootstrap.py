"""Setting up an installation: shipped diagrams, reference data and the demo, each idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.storage.models import HumanTask, ProcessVersion
from workflows.cases.models import Case, TimelineEntry
from workflows.cases.reporting import public_case_view
from workflows.coordination.models import FundSpend, Meeting
from workflows.demo import huqiu
from workflows.org.models import Department, OrgUnit
from workflows.people import accounts
from workflows.people.models import User
from workflows.reference.models import Category, SlaPolicy
from workflows.setup.bootstrap import deploy_shipped, load_demo, load_reference_data
from workflows.system import build_system

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.fixture
def system(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")
    return build_system(db_url, tmp_path / "uploads")


def counts(system) -> dict:
    with system.sessions() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (OrgUnit, Department, Category, SlaPolicy, User, Case, TimelineEntry, ProcessVersion,
                              HumanTask)}


def test_the_shipped_diagrams_deploy_once(system):
    first = deploy_shipped(system, BPMN_DIR)
    assert sorted(v.process_id for v in first) == ["case_handling", "department_dispatch", "joint_meeting"]
    assert all(v.created for v in first)
    again = deploy_shipped(system, BPMN_DIR)
    assert [v.created for v in again] == [False, False, False]
    assert [v.version for v in again] == [1, 1, 1]


def test_reference_data_is_the_huqiu_organisation_and_loads_idempotently(system):
    load_reference_data(system)
    first = counts(system)
    load_reference_data(system)
    assert counts(system) == first
    assert (first["OrgUnit"], first["Department"], first["SlaPolicy"]) == (1 + 1 + 6 + 20 + 156, 10, 10)
    with system.sessions() as session:
        grid = session.scalar(select(OrgUnit).where(OrgUnit.code == "hq-c04-g03"))
        assert [grid.parent.code, grid.parent.parent.code, grid.parent.parent.parent.code] == [
            "hq-c04", "hq-ws2", "huqiu"]


def test_an_admins_sla_change_survives_reloading_reference_data(system):
    load_reference_data(system)
    accounts.set_sla(system, "grid", "PT12H")
    load_reference_data(system)
    with system.sessions() as session:
        assert session.scalar(select(SlaPolicy.limit).where(SlaPolicy.stage == "grid")) == "PT12H"


def test_the_demo_replays_the_stories_through_the_use_cases_once(system):
    load_reference_data(system)
    deploy_shipped(system, BPMN_DIR)
    summary = load_demo(system)
    assert (summary["cases"], summary["created"], summary["password"]) == (26, 26, "gridlink-demo")
    assert {"admin", "coord-district", "gw-hq-c04-g03", "dept-police"} <= {x["username"] for x in summary["logins"]}
    loaded = counts(system)
    again = load_demo(system)
    assert again["created"] == 0 and counts(system) == loaded
    assert [c["number"] for c in again["track"]] == [c["number"] for c in summary["track"]]
    open_case, closed_case = (public_case_view(system, c["number"], c["query_code"]) for c in summary["track"])
    assert open_case["status"] in ("reported", "open") and (closed_case["status"], closed_case["rating"]) == \
        ("closed", None), "the printed codes open a case to follow and one to rate"
    with system.sessions() as session:
        drain = session.scalar(select(Case).where(Case.title.startswith("新庄新村98幢")))
        assert (drain.status, drain.closed_level, drain.rating) == ("closed", "workstation", 5)
        assert session.scalar(select(func.sum(FundSpend.amount_cents))) == 260_000
        meetings = {m.case.title[:4]: m for m in session.scalars(select(Meeting))}
        assert {m.status for m in meetings.values()} == {"confirmed"}
        assert len(meetings["留园幼儿"].actions) == 5 and len(meetings["商场5楼"].actions) == 7
        assert meetings["商场5楼"].lead_department.code == "fire"
        statuses = dict(session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
        oldest = session.scalar(select(func.min(Case.created_at)))
        users = session.scalar(select(func.count()).select_from(User))
    assert statuses["closed"] >= 15 and statuses.get("open", 0) >= 4 and statuses.get("reported", 0) >= 2
    assert users == len(huqiu.users())
    assert (loaded["Case"], oldest is not None) == (26, True)
