"""Charges land on the party that caused them, written by the hooks as the case runs (real diagrams)."""

from __future__ import annotations

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.orm import aliased

from workflows.cases.models import Case
from workflows.evaluation.models import Charge
from workflows.org.models import Department, OrgUnit
from workflows.people import accounts

from .story_helpers import T0, make_world

pytestmark = pytest.mark.usefixtures("serializer_matches_spiffworkflow")


@pytest.fixture
def world(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")
    with freeze_time(T0) as clock:
        yield make_world(db_url, tmp_path / "uploads", False, clock)


def charges(world, number):
    scope = aliased(OrgUnit)
    with world.system.sessions() as session:
        rows = session.execute(select(Charge.kind, OrgUnit.code, Department.code, scope.code)
                               .join(Case, Charge.case_id == Case.id)
                               .outerjoin(OrgUnit, Charge.org_unit_id == OrgUnit.id)
                               .outerjoin(Department, Charge.department_id == Department.id)
                               .outerjoin(scope, Charge.scope_unit_id == scope.id)
                               .where(Case.number == number).order_by(Charge.id))
        return [tuple(r) for r in rows]


def test_a_returned_dispatch_is_charged_to_the_dispatcher_as_inaccurate(world):
    number = world.report(title="僵尸车", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "联系不上车主"})
    world.do("coord-c04", number, "handle", {"decision": "dispatch", "departments": ["police"], "instructions": "拖"})
    world.do("dept-police", number, "dept_accept", {"decision": "return", "reason": "属城管职责"})
    assert charges(world, number) == [("inaccurate_dispatch", "hq-c04", None, "hq-c04")]


def test_a_rejected_grid_result_is_charged_to_the_grid_not_to_anyone_dispatched_before(world):
    number = world.report(title="楼道杂物", category="fire_hazard", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "resolve", "result": "劝导清理"})
    world.do("coord-c04", number, "verify", {"decision": "rework", "comment": "仍有纸箱"})
    assert charges(world, number) == [("rework", "hq-c04-g03", None, "hq-c04-g03")]


def test_a_rework_of_a_department_result_is_charged_to_that_department_only_in_its_round(world):
    number = world.report(title="油烟", category="neighbour_dispute", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "社区协调"})
    world.do("coord-c04", number, "handle", {"decision": "dispatch", "departments": ["urban"], "instructions": "1"})
    world.do("dept-urban", number, "dept_accept", {"decision": "accept"})
    world.do("dept-urban", number, "dept_result", {"result": "r1"})
    world.do("coord-c04", number, "handle", {"decision": "resolve", "result": "办结"})
    world.do("coord-ws2", number, "verify", {"decision": "rework", "comment": "再办"})
    assert charges(world, number) == [("rework", None, "urban", "hq-c04")]
    world.do("coord-c04", number, "handle", {"decision": "resolve", "result": "社区自行办结"})
    world.do("coord-ws2", number, "verify", {"decision": "rework", "comment": "还是不行"})
    # the second round was the community's own work: urban is not charged again
    assert charges(world, number)[1:] == [("rework", "hq-c04", None, "hq-c04")]


def test_a_late_department_acceptance_is_charged_to_the_department(world):
    number = world.report(title="油烟扰民", category="neighbour_dispute", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "dispatch", "departments": ["urban"], "instructions": "督促整改"})
    world.later(hours=2, minutes=1)
    assert world.tick().timers_fired == 1
    assert charges(world, number) == [("overdue", None, "urban", "hq-c04-g03")]


def test_a_grid_timeout_is_charged_to_the_grid(world):
    number = world.report(title="垃圾", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    world.later(hours=30)
    world.tick()
    found = charges(world, number)
    assert found and found[0] == ("overdue", "hq-c04-g03", None, "hq-c04-g03")
