"""Reading: inboxes scoped to unit and department, the case view with a masked reporter, the public
track view, notifications, claims."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.engine.story_helpers import T0, make_world
from workflows.cases import decisions, reporting
from workflows.errors import Forbidden
from workflows.people import accounts, notifications
from workflows.people.lookups import get_user


@pytest.fixture
def world(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")
    with freeze_time(T0) as clock:
        yield make_world(db_url, tmp_path / "uploads", False, clock)


def inbox(world, username, **filters):
    with world.system.sessions() as session:
        return [(t.business_key, t.properties["task_kind"])
                for t in decisions.visible_tasks(session, get_user(session, username), filters)]


def test_each_inbox_shows_only_its_unit_or_department_due_first(world):
    first = world.report(title="一", grid="hq-c04-g03", actor="gw")
    second = world.report(title="二", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    world.do("gw", second, "handle", {"decision": "dispatch", "departments": ["police"], "instructions": "拖车"})
    assert inbox(world, "gw") == [(first, "handle")]
    assert inbox(world, "dept-police") == [(second, "dept_accept")]
    assert inbox(world, "dept-urban") == [] and inbox(world, "coord-c04") == []
    assert inbox(world, "gw-other") == []
    assert sorted(inbox(world, "leader")) == sorted([(first, "handle"), (second, "dept_accept")])
    assert inbox(world, "admin", case_number=first) == [(first, "handle")]
    world.later(hours=3)
    assert inbox(world, "admin", overdue=True) == [(second, "dept_accept")]


def test_the_task_view_carries_the_form_and_is_scoped(world):
    number = world.report(title="一", grid="hq-c04-g03", actor="gw")
    task = world.task(number, "handle")
    view = decisions.task_view(world.system, "gw", task.id)
    assert (view["case_number"], view["level"], view["org_unit"]) == (number, "grid", "hq-c04-g03")
    assert '"decision"' in view["form"] and "assign_down" not in view["form"]
    with pytest.raises(Forbidden):
        decisions.task_view(world.system, "dept-police", task.id)


def test_departments_and_leaders_see_the_reporter_masked_and_the_public_sees_no_names(world):
    number = world.report(title="违停", category="illegal_parking", source="hotline", grid="hq-c04-g03",
                          reporter={"name": "刘先生", "phone": "13800001234"})
    world.do("gw", number, "register", {"decision": "accept"})
    staff = world.view(number, "coord-c04")
    department = world.view(number, "dept-police")
    assert staff["reporter"] == {"name": "刘先生", "phone": "13800001234"}
    assert department["reporter"] == {"name": "刘**", "phone": "138****1234"}
    assert world.view(number, "leader")["reporter"] == {"name": "刘**", "phone": "138****1234"}
    assert world.view(number, "gw")["reporter"] == {"name": "刘先生", "phone": "13800001234"}
    public = world.public_view(number)
    assert [e["kind"] for e in public["timeline"]] == ["reported", "registered"]
    assert "GW" not in str(public) and "13800001234" not in str(public) and "刘" not in str(public)
    assert staff["timeline"][1]["actor"] == "GW"
    assert [t["task_kind"] for t in staff["open_tasks"]] == ["handle"]


def test_new_tasks_and_returns_are_notified_and_can_be_marked_read(world):
    number = world.report(title="僵尸车", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "dispatch", "departments": ["police"], "instructions": "拖车"})
    world.do("dept-police", number, "dept_accept", {"decision": "return", "reason": "属城管"})
    items = notifications.list_notifications(world.system, "gw")
    assert [n["kind"] for n in items] == ["new_task", "returned_dispatch", "new_task"]
    assert notifications.unread_count(world.system, "gw") == 3
    assert notifications.mark_read(world.system, "gw", [items[0]["id"]]) == 1
    assert notifications.unread_count(world.system, "gw") == 2
    assert notifications.mark_read(world.system, "gw") == 2
    assert notifications.list_notifications(world.system, "gw", unread_only=True) == []
    assert notifications.unread_count(world.system, "dept-police") == 1


def test_claims_are_scoped_like_completion(world):
    number = world.report(title="一", grid="hq-c04-g03", actor="gw")
    task = world.task(number, "handle")
    with pytest.raises(Forbidden):
        decisions.claim(world.system, "coord-c04", task.id)
    assert decisions.claim(world.system, "gw", task.id)["claimed_by"] == "gw"
    assert decisions.unclaim(world.system, "admin", task.id)["claimed_by"] is None


def test_case_lists_filter_and_page(world):
    numbers = [world.report(title=f"案{i}", grid="hq-c04-g03", actor="gw") for i in range(3)]
    world.do("gw", numbers[0], "handle", {"decision": "escalate", "reason": "上报"})
    with world.system.sessions() as session:
        page = reporting.list_cases(session, {"status": "open", "org_unit": "hq-c04"}, page=1, per_page=10)
        all_open = reporting.list_cases(session, {"status": "open"}, page=2, per_page=2)
    assert [c["number"] for c in page["items"]] == [numbers[0]]
    assert (all_open["total"], len(all_open["items"])) == (3, 1)


def test_possible_duplicates_are_suggested_within_a_week_and_100_m(world):
    first = world.report(title="堵", grid="hq-c04-g03", actor="gw")
    world.later(days=8)
    late = reporting.report_case(world.system, title="又堵", category="drain_blocked", source="patrol",
                             grid="hq-c04-g03", actor="gw")
    assert late["duplicates"] == []
    near = reporting.report_case(world.system, title="再堵", category="drain_blocked", source="patrol",
                             grid="hq-c04-g03", actor="gw")
    assert near["duplicates"] == [late["number"]]
    assert first not in near["duplicates"]


def test_possible_duplicates_name_only_the_newest_few(world, monkeypatch):
    monkeypatch.setattr(reporting, "DUPLICATE_LIMIT", 3)
    numbers = []
    for i in range(5):
        numbers.append(world.report(title=f"堵{i}", grid="hq-c04-g03", actor="gw"))
        world.later(minutes=1)
    newest = reporting.report_case(world.system, title="又堵", category="drain_blocked", source="patrol",
                               grid="hq-c04-g03", actor="gw")
    assert newest["duplicates"] == numbers[::-1][:3]


def test_the_inbox_lists_the_task_due_first_before_the_one_reported_first(world):
    accounts.set_sla(world.system, "grid", "PT2H", category="illegal_parking")
    later_due = world.report(title="先报后到期", grid="hq-c04-g03", actor="gw")
    world.later(minutes=5)
    sooner_due = world.report(title="后报先到期", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    assert inbox(world, "gw") == [(sooner_due, "handle"), (later_due, "handle")]
