"""The case stories on the real shipped diagrams, driven through the use cases.

Every story runs twice: straight through, and with a second System built on the same database
half way (``world.reload()``), so nothing is served from the runtime's in-memory cache.
"""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from engine.storage.models import HumanTask, ProcessInstance
from workflows.cases import decisions, reporting
from workflows.cases.models import Case, OverdueRecord, TimelineEntry
from workflows.coordination.fund import spend_fund
from workflows.coordination.models import Dispatch, FundSpend, Meeting
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.org.models import OrgUnit
from workflows.people import accounts
from workflows.people.models import Notification, User

from .story_helpers import T0, make_world

pytestmark = pytest.mark.usefixtures("serializer_matches_spiffworkflow")


@pytest.fixture(params=[False, True], ids=["straight", "restored"])
def world(request, db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")  # scrypt costs ~0.2 s per user
    with freeze_time(T0) as clock:
        yield make_world(db_url, tmp_path / "uploads", request.param, clock)


def overdue_units(world, number):
    with world.system.sessions() as session:
        rows = session.execute(select(OverdueRecord.stage, OrgUnit.code)
                               .join(Case, OverdueRecord.case_id == Case.id)
                               .outerjoin(OrgUnit, OverdueRecord.org_unit_id == OrgUnit.id)
                               .where(Case.number == number).order_by(OverdueRecord.id))
        return [tuple(r) for r in rows]


def notifications_of(world, username, kind=None):
    with world.system.sessions() as session:
        query = select(Notification.kind).join(User).where(User.username == username)
        return [k for k in session.scalars(query) if kind is None or k == kind]


# --- the closed loop --------------------------------------------------------------------------

def test_self_closed_report_is_verified_by_the_community_and_closed(world):
    number = world.report(title="大件垃圾", category="exposed_rubbish", grid="hq-c04-g03", actor="gw",
                          self_closed={"result": "联系物业当天清运"})
    case = world.case(number)
    assert (case.status, case.level, case.self_closed) == ("resolved", "grid", True)
    verify = world.task(number, "verify")
    assert verify.org_unit == "hq-c04"
    world.reload()
    world.do("coord-c04", number, "verify", {"decision": "approve", "comment": "已清运"})
    case = world.case(number)
    assert (case.status, case.closed_level) == ("closed", "grid")
    assert case.closed_at is not None
    assert world.kinds(number) == ["reported", "resolved", "closed"]
    assert world.view(number)["timeline"][-1]["note"] == "已清运"  # what the verifier wrote is kept
    assert world.tasks(number) == []


def test_escalate_decisions_climb_from_grid_to_the_subcentre(world):
    number = world.report(title="落水管堵塞", grid="hq-c04-g03", actor="gw")
    assert (world.case(number).status, world.task(number, "handle").org_unit) == ("open", "hq-c04-g03")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "费用分担谈不拢"})
    assert (world.case(number).level, world.task(number, "handle").org_unit) == ("community", "hq-c04")
    world.do("coord-c04", number, "handle", {"decision": "escalate", "reason": "涉及经费"})
    world.reload()
    assert (world.case(number).level, world.task(number, "handle").org_unit) == ("workstation", "hq-ws2")
    world.do("coord-ws2", number, "handle", {"decision": "escalate", "reason": "需街道协调"})
    case = world.case(number)
    assert (case.level, case.org_unit.code, case.status) == ("subcentre", "huqiu", "open")
    world.do("coord-huqiu", number, "handle", {"decision": "resolve", "result": "已更换落水管"})
    assert world.task(number, "verify").org_unit == "district"
    world.do("coord-district", number, "verify", {"decision": "approve"})
    case = world.case(number)
    assert (case.status, case.closed_level) == ("closed", "subcentre")
    assert world.kinds(number) == ["reported", "escalated", "escalated", "escalated", "resolved", "closed"]
    assert overdue_units(world, number) == []


def test_timeouts_alone_escalate_level_by_level_with_reminders_and_overdue_charged(world):
    number = world.report(title="无人处理的垃圾", category="exposed_rubbish", grid="hq-c04-g03", actor="gw")
    limits = [("grid", "hq-c04-g03", 24, "hq-c04"), ("community", "hq-c04", 72, "hq-ws2"),
              ("workstation", "hq-ws2", 7 * 24, "huqiu")]
    for index, (level, unit, hours, next_unit) in enumerate(limits):
        assert (world.case(number).level, world.task(number, "handle").org_unit) == (level, unit)
        world.later(hours=hours * 0.75, minutes=1)
        assert world.tick().timers_fired == 1
        assert world.kinds(number)[-1] == "reminded"
        assert world.task(number, "handle").reminded_at is not None
        if index == 1:
            world.reload()
        world.later(hours=hours * 0.25)
        assert world.tick().timers_fired == 1
        case = world.case(number)
        assert (case.org_unit.code, world.task(number, "handle").org_unit) == (next_unit, next_unit)
        assert world.kinds(number)[-2:] == ["overdue", "escalated"]
    assert overdue_units(world, number) == [("grid", "hq-c04-g03"), ("community", "hq-c04"),
                                            ("workstation", "hq-ws2")]
    assert world.case(number).level == "subcentre"
    assert notifications_of(world, "gw", "reminder") == ["reminder"]
    assert notifications_of(world, "coord-ws2", "reminder") == ["reminder"]


def test_district_registers_an_address_only_hotline_case_and_assigns_it_down_to_a_grid(world):
    number = world.report(title="老人被锁门外", category="elderly_assistance", source="hotline",
                          address="新庄新村12幢", reporter={"name": "王女士", "phone": "13800001234"})
    case = world.case(number)
    assert (case.status, case.level, case.org_unit.code, case.grid) == ("reported", "district", "district", None)
    world.do("coord-district", number, "register", {"decision": "accept"})
    assert world.task(number, "handle").org_unit == "district"
    with pytest.raises(InvalidInput, match="'hq-c04-g99'"):
        world.do("coord-district", number, "handle", {"decision": "assign_down", "org_unit": "hq-c04-g99"})
    world.reload()
    world.do("coord-district", number, "handle", {"decision": "assign_down", "org_unit": "hq-c04-g03"})
    case = world.case(number)
    assert (case.level, case.org_unit.code, case.grid.code) == ("grid", "hq-c04-g03", "hq-c04-g03")
    with pytest.raises(InvalidInput, match="'assign_down' is not allowed"):
        world.do("gw", number, "handle", {"decision": "assign_down", "org_unit": "hq-c04-g03"})
    world.do("gw", number, "handle", {"decision": "resolve", "result": "1小时内到场，帮老人取到钥匙"})
    world.do("coord-c04", number, "verify", {"decision": "approve"})
    assert world.case(number).status == "closed"
    assert world.kinds(number) == ["reported", "registered", "assigned_down", "resolved", "closed"]
    assert world.view(number, "dept-police")["reporter"]["phone"] == "138****1234"
    public = world.public_view(number)
    assert "reporter" not in public and all("actor" not in e for e in public["timeline"])


def test_a_dispatch_returned_by_the_wrong_department_is_dispatched_again(world):
    number = world.report(title="僵尸车", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "联系不上车主"})
    world.do("coord-c04", number, "handle", {"decision": "dispatch", "departments": ["police"],
                                             "instructions": "请拖移"})
    accept = world.task(number, "dept_accept")
    assert (accept.department, accept.due_at) == ("police", T0 + timedelta(hours=2))
    with pytest.raises(Forbidden, match="it is for department police"):
        decisions.complete_task(world.system, "dept-urban", accept.id, {"decision": "accept"})
    with pytest.raises(InvalidInput, match="reason"):
        world.do("dept-police", number, "dept_accept", {"decision": "return"})
    world.do("dept-police", number, "dept_accept", {"decision": "return", "reason": "属城管职责"})
    assert world.task(number, "handle").org_unit == "hq-c04"
    assert notifications_of(world, "coord-c04", "returned_dispatch") == ["returned_dispatch"]
    world.reload()
    world.do("coord-c04", number, "handle", {"decision": "dispatch", "departments": ["urban"],
                                             "instructions": "请拖移僵尸车"})
    world.do("dept-urban", number, "dept_accept", {"decision": "accept"})
    world.do("dept-urban", number, "dept_result", {"result": "已拖移"})
    world.do("coord-c04", number, "handle", {"decision": "resolve", "result": "车位已恢复"})
    assert world.task(number, "verify").org_unit == "hq-ws2"
    world.do("coord-ws2", number, "verify", {"decision": "approve"})
    assert world.case(number).status == "closed"
    assert world.kinds(number) == ["reported", "escalated", "dispatched", "returned", "dispatched", "accepted",
                                   "result_reported", "resolved", "closed"]
    dispatches = world.view(number)["dispatches"]
    assert [(d["department"], d["return_reason"], d["result"]) for d in dispatches] == [
        ("police", "属城管职责", None), ("urban", None, "已拖移")]


def test_a_late_department_acceptance_is_recorded_against_it(world):
    number = world.report(title="油烟扰民", category="neighbour_dispute", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "dispatch", "departments": ["urban"], "instructions": "督促整改"})
    world.later(hours=2, minutes=1)
    assert world.tick().timers_fired == 1
    with world.system.sessions() as session:
        dispatch = session.scalar(select(Dispatch))
        assert dispatch.accept_overdue
    assert overdue_units(world, number) == [("dispatch_accept", "hq-c04-g03")]
    assert world.task(number, "dept_accept").overdue_at is not None


def test_a_late_department_result_is_reminded_then_recorded_overdue(world):
    number = world.report(title="路面破损", category="road_damage", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "dispatch", "departments": ["urban"], "instructions": "修补"})
    world.do("dept-urban", number, "dept_accept", {"decision": "accept"})
    assert world.task(number, "dept_result").due_at == T0 + timedelta(days=3)
    world.later(hours=54, minutes=1)
    assert world.tick().timers_fired == 1
    assert notifications_of(world, "dept-urban", "reminder") == ["reminder"]
    world.reload()
    world.later(hours=18)
    assert world.tick().timers_fired == 1
    assert overdue_units(world, number) == [("dispatch_result", "hq-c04-g03")]
    assert world.kinds(number)[-2:] == ["reminded", "overdue"]
    world.do("dept-urban", number, "dept_result", {"result": "已修补"})
    assert world.view(number)["dispatches"][0]["result_overdue"] is True


def test_the_district_limit_marks_the_case_overdue_and_tells_the_leaders(world):
    number = world.report(title="热线来电", category="neighbour_dispute", source="hotline", address="虎丘路1号",
                          actor="coord-district")
    world.do("coord-district", number, "register", {"decision": "accept"})
    world.later(days=30, minutes=1)
    assert world.tick().timers_fired == 2  # the reminder at 75 % came due too
    world.reload()
    assert overdue_units(world, number) == [("district", "district")]
    assert world.task(number, "handle").overdue_at is not None
    assert notifications_of(world, "leader") == ["overdue"]
    world.do("coord-district", number, "handle", {"decision": "resolve", "result": "调解成功"})
    world.do("coord-district-2", number, "verify", {"decision": "approve"})
    assert world.case(number).closed_level == "district"


def test_the_public_track_view_hides_staff_reasons(world):
    number = world.report(title="违建", category="illegal_construction", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "内部原因：业主是熟人"})
    world.reload()
    public = world.public_view(number)
    assert [(e["kind"], e["note"]) for e in public["timeline"]] == [("reported", None), ("escalated", None)]
    assert public["timeline"][0]["note_key"] == "source" and public["timeline"][0]["note_params"] == {
        "source": "patrol"}  # worded by the reader's interface
    assert "熟人" in str(world.view(number))


def test_a_whistle_summons_five_departments_and_the_resolution_is_carried_out(world):
    number = world.report(title="商场5楼擅自改建", category="fire_hazard", source="hotline", address="虎丘路商场",
                          actor="coord-district")
    world.do("coord-district", number, "register", {"decision": "accept"})
    departments = ["housing", "urban", "planning", "fire", "police"]
    world.do("coord-district", number, "handle", {
        "decision": "convene", "departments": departments, "scheduled_at": "2026-11-02T14:00:00+08:00",
        "place": "区联动中心会议室", "topic": "商场5楼消防隐患", "urgency": "emergency"})
    assert sorted(t.department for t in world.tasks(number)) == sorted(departments)
    for code in departments[:4]:
        world.later(minutes=5)
        world.do(f"dept-{code}", number, "report_to_duty", {"delegate": f"{code} 代表"}, department=code)
    world.later(minutes=15)
    assert world.tick().timers_fired == 1
    world.reload()
    world.do("dept-police", number, "report_to_duty", {"delegate": "许警官"}, department="police")
    with world.system.sessions() as session:
        meeting = session.scalar(select(Meeting))
        late = {s.department.code: s.late for s in meeting.summons}
    assert late == {"housing": False, "urban": False, "planning": False, "fire": False, "police": True}
    assert ("duty", "district") in overdue_units(world, number)
    due = {days: (T0 + timedelta(days=days)).isoformat() for days in (7, 30, 60)}
    world.do("coord-district", number, "resolution", {
        "minutes": "消防牵头，分三阶段推进", "lead_department": "fire", "actions": [
            {"department": "fire", "phase": "survey", "due_at": due[7], "action": "列出消防隐患清单"},
            {"department": "housing", "phase": "preliminary", "due_at": due[30], "action": "发放整改通知书"},
            {"department": "planning", "phase": "preliminary", "due_at": due[30], "action": "核查规划手续"},
            {"department": "urban", "phase": "concentrated", "due_at": due[60], "action": "集中整治"}]})
    for code in ("fire", "housing", "planning"):
        world.do(f"dept-{code}", number, "carry_out_action", {"result": f"{code} 已完成"}, department=code)
    world.later(days=61)
    world.tick()
    with world.system.sessions() as session:
        meeting = session.scalar(select(Meeting))
        overdue = {a.department.code: a.overdue for a in meeting.actions}
        phases = sorted({a.phase for a in meeting.actions})
    assert overdue == {"fire": False, "housing": False, "planning": False, "urban": True}
    assert phases == ["concentrated", "preliminary", "survey"]
    world.do("dept-urban", number, "carry_out_action", {"result": "集中整治完成"}, department="urban")
    world.do("coord-district", number, "confirm_outcome", {"comment": "两个月内整治完成"})
    assert world.kinds(number)[-1] == "meeting_confirmed"
    assert world.view(number)["timeline"][-1]["note"] == "两个月内整治完成"
    world.do("coord-district", number, "handle", {"decision": "resolve", "result": "隐患消除"})
    with pytest.raises(Forbidden, match="someone else must verify"):
        world.do("coord-district", number, "verify", {"decision": "approve"})
    world.do("coord-district-2", number, "verify", {"decision": "approve"})
    with world.system.sessions() as session:
        meeting = session.scalar(select(Meeting))
        assert (meeting.status, meeting.lead_department.code) == ("confirmed", "fire")
    kinds = world.kinds(number)
    assert kinds.count("reported_to_duty") == 5 and kinds.count("action_done") == 4
    assert {"whistle", "resolution", "overdue", "closed"} <= set(kinds)
    assert world.case(number).status == "closed"


def test_verification_sends_the_work_back_and_approves_the_second_time(world):
    number = world.report(title="楼道杂物", category="fire_hazard", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "resolve", "result": "劝导清理"})
    with pytest.raises(InvalidInput, match="comment"):
        world.do("coord-c04", number, "verify", {"decision": "rework"})
    world.do("coord-c04", number, "verify", {"decision": "rework", "comment": "仍有纸箱"})
    case = world.case(number)
    assert (case.status, case.reworked_count) == ("open", 1)
    assert world.task(number, "handle").org_unit == "hq-c04-g03"
    assert notifications_of(world, "gw", "rework") == ["rework"]
    world.reload()
    world.do("gw", number, "handle", {"decision": "resolve", "result": "全部清理"})
    world.do("coord-c04", number, "verify", {"decision": "approve"})
    assert world.case(number).status == "closed"
    assert world.kinds(number) == ["reported", "resolved", "rework", "resolved", "closed"]


def test_a_closed_case_is_rated_once_and_only_then(world):
    number = world.report(title="噪音", category="neighbour_dispute", grid="hq-c04-g03", actor="gw")
    with pytest.raises(Conflict, match="once it is closed"):
        world.rate(number, 5)
    world.do("gw", number, "handle", {"decision": "resolve", "result": "调解"})
    world.reload()
    world.do("coord-c04", number, "verify", {"decision": "approve"})
    with pytest.raises(InvalidInput, match="rating 6"):
        world.rate(number, 6)
    world.rate(number, 5, "处理及时")
    with pytest.raises(Conflict, match="already rated 5"):
        world.rate(number, 1)
    assert world.case(number).rating == 5
    assert world.public_view(number)["timeline"][-1]["kind"] == "rated"


def test_the_workstation_fund_pays_and_refuses_an_overspend(world):
    number = world.report(title="落水管", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "经费"})
    world.do("coord-c04", number, "handle", {"decision": "escalate", "reason": "申请专项经费"})
    spent = spend_fund(world.system, "coord-ws2", number, 260_000, "更换两根外墙落水管", "水电维修部")
    assert spent["balance_cents"] == 40_000
    world.reload()
    before = world.timeline_count()
    with pytest.raises(Conflict, match="has 40000 cents available"):
        spend_fund(world.system, "coord-c04", number, 50_000, "再换一根", "水电维修部")
    with pytest.raises(Forbidden, match="hq-ws2"):
        spend_fund(world.system, "coord-c01", number, 100, "不属本站", "水电维修部")
    with pytest.raises(InvalidInput, match="amount"):
        spend_fund(world.system, "coord-ws2", number, -5, "负数", "水电维修部")
    assert (world.timeline_count(), world.count(FundSpend)) == (before, 1)
    assert world.kinds(number)[-1] == "fund_spent"


def test_a_duplicate_is_merged_into_the_first_report_at_registration(world):
    first = world.report(title="下水道堵塞", source="snapshot", grid="hq-c04-g03")
    second = reporting.report_case(world.system, title="下水道又堵了", description="", category="drain_blocked",
                               source="hotline", grid="hq-c04-g03")
    assert second["duplicates"] == [first]
    assert world.task(second["number"], "register").org_unit == "hq-c04-g03"
    world.reload()
    world.do("gw", second["number"], "register", {"decision": "reject", "duplicate_of": first})
    merged = world.case(second["number"])
    assert merged.status == "merged"
    assert world.kinds(second["number"])[-1] == "merged"
    assert world.kinds(first)[-1] == "merged"
    assert world.tasks(second["number"]) == []
    world.do("gw", first, "register", {"decision": "accept"})
    assert world.case(first).status == "open"


# --- authorisation and bad input ----------------------------------------------------------------

def test_people_can_only_act_on_their_own_tasks_and_nothing_changes_when_refused(world):
    number = world.report(title="积存垃圾", category="exposed_rubbish", grid="hq-c04-g03", actor="gw")
    task = world.task(number, "handle")
    before = world.timeline_count()
    attempts = [("gw-other", Forbidden, "it is for unit hq-c04-g03"),
                ("coord-c05", Forbidden, "coordinator of hq-c05"),
                ("dept-sanitation", Forbidden, "department of|department sanitation"),
                ("leader", Forbidden, "leaders watch"),
                ("nobody", NotFound, "'nobody'")]
    for user, error, message in attempts:
        with pytest.raises(error, match=message):
            decisions.complete_task(world.system, user, task.id, {"decision": "resolve", "result": "x"})
    world.do("gw", number, "handle", {"decision": "resolve", "result": "清运"})
    with pytest.raises(Conflict, match="already completed by gw"):
        decisions.complete_task(world.system, "gw", task.id, {"decision": "resolve", "result": "again"})
    with pytest.raises(NotFound):
        decisions.complete_task(world.system, "gw", "00000000-0000-0000-0000-000000000000", {})
    assert world.timeline_count() == before + 1
    assert world.case(number).status == "resolved"


def test_a_claimed_task_can_only_be_completed_by_its_holder(world):
    number = world.report(title="破损路面", category="road_damage", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "需专业设备"})
    task = world.task(number, "handle")
    decisions.claim(world.system, "coord-c04", task.id)
    create_second_coordinator(world)
    with pytest.raises(Conflict, match="claimed by coord-c04"):
        decisions.complete_task(world.system, "coord-c04-b", task.id, {"decision": "escalate", "reason": "x"})
    decisions.unclaim(world.system, "coord-c04", task.id)
    decisions.complete_task(world.system, "coord-c04-b", task.id, {"decision": "escalate", "reason": "x"})


def create_second_coordinator(world):
    from workflows.people.accounts import create_user

    create_user(world.system, "coord-c04-b", "coordinator", org="hq-c04", password="secret-pass")


def test_bad_reports_are_refused_naming_the_value_and_nothing_is_written(world):
    before = (world.count(Case), world.timeline_count(), world.count(ProcessInstance))
    bad = [({"category": "drain"}, "'drain'"),
           ({"grid": "hq-c99-g01"}, "'hq-c99-g01'"),
           ({"grid": None, "lat": 40.0, "lon": 116.4}, "lat=40.0, lon=116.4"),
           ({"source": "pigeon"}, "'pigeon'"),
           ({"grid": None}, "give a grid code"),
           ({"title": "  "}, "title"),
           ({"photos": [("big.jpg", b"\xff\xd8\xff" + b"0" * (9 * 1024 * 1024))]}, "big.jpg"),
           ({"photos": [("notes.txt", b"hello")]}, "'notes.txt' is not an image"),
           ({"photos": [("ok.png", b"\x89PNG\r\n\x1a\n0000"), ("notes.txt", b"hello")]}, "'notes.txt'")]
    for change, message in bad:
        values = {"title": "测试", "category": "drain_blocked", "source": "patrol", "grid": "hq-c04-g03",
                  "actor": "gw", **change}
        with pytest.raises(InvalidInput, match=message):
            reporting.report_case(world.system, description="", **values)
    assert (world.count(Case), world.timeline_count(), world.count(ProcessInstance)) == before
    assert not any((world.system.upload_dir).iterdir())


def test_a_point_inside_a_grid_finds_it(world):
    with world.system.sessions() as session:
        grid = session.scalar(select(OrgUnit).where(OrgUnit.code == "hq-c04-g03"))
        lat, lon = grid.lat, grid.lon
    number = world.report(title="定位", lat=lat, lon=lon, actor="gw")
    assert world.case(number).grid.code == "hq-c04-g03"


def test_bad_decisions_are_refused_naming_the_value_and_nothing_changes(world):
    number = world.report(title="违停", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    task = world.task(number, "handle")
    before = (world.timeline_count(), world.count(Dispatch), world.count(HumanTask))
    bad = [({"decision": "assign_down", "org_unit": "hq-c04"}, "'assign_down' is not allowed"),
           ({"decision": "escalate"}, "reason is missing"),
           ({"decision": "dispatch", "departments": ["police", "traffic"], "instructions": "x"}, "'traffic'"),
           ({"decision": "convene", "departments": ["police"], "scheduled_at": "2026-11-03T09:00:00",
             "place": "p", "topic": "t", "urgency": "routine"}, "no time zone"),
           ({"decision": "resolve", "result": "ok", "photos": ["nope.jpg"]}, "'nope.jpg'"),
           ({"decision": "shrug"}, "'shrug'")]
    for data, message in bad:
        with pytest.raises(InvalidInput, match=message):
            decisions.complete_task(world.system, "gw", task.id, data)
    assert (world.timeline_count(), world.count(Dispatch), world.count(HumanTask)) == before


def test_engine_form_errors_come_back_per_field(world):
    number = world.report(title="违停", category="illegal_parking", grid="hq-c04-g03", actor="gw")
    with pytest.raises(InvalidInput) as caught:
        world.do("gw", number, "handle", {"decision": "resolve", "result": "ok", "photos": "not-a-list"})
    assert caught.value.details[0]["field"] == "photos"


def test_a_resolved_photo_reference_must_belong_to_the_case(world):
    from workflows.cases.attachments import attach_photo

    number = world.report(title="垃圾", category="exposed_rubbish", grid="hq-c04-g03", actor="gw")
    ref = attach_photo(world.system, number, "after.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, actor="gw")
    world.do("gw", number, "handle", {"decision": "resolve", "result": "清运", "photos": [ref]})
    assert (world.system.upload_dir / ref).exists()


# --- long-lived -------------------------------------------------------------------------------

def state_sizes(world, number) -> tuple[int, int]:
    """(stored bytes, uncompressed JSON bytes) of the case's process instance."""
    with world.system.sessions() as session:
        state = session.get(ProcessInstance, world.case(number).instance_id).state
    return len(state), len(gzip.decompress(state))


def test_a_case_going_round_dispatch_and_rework_a_hundred_times_still_closes(world):
    number = world.report(title="反复", category="neighbour_dispute", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "社区协调"})
    sizes = {}
    for round_no in range(1, 101):
        world.do("coord-c04", number, "handle", {"decision": "dispatch", "departments": ["urban"],
                                                 "instructions": f"第{round_no}轮"})
        world.do("dept-urban", number, "dept_accept", {"decision": "accept"})
        world.do("dept-urban", number, "dept_result", {"result": f"r{round_no}"})
        world.do("coord-c04", number, "handle", {"decision": "resolve", "result": f"第{round_no}轮办结"})
        world.do("coord-ws2", number, "verify", {"decision": "rework", "comment": "再办"})
        if round_no in (1, 100):
            sizes[round_no] = state_sizes(world, number)
        if round_no == 50:
            world.reload()
    world.do("coord-c04", number, "handle", {"decision": "resolve", "result": "终于办结"})
    world.do("coord-ws2", number, "verify", {"decision": "approve"})
    case = world.case(number)
    assert (case.status, case.reworked_count, case.closed_level) == ("closed", 100, "community")
    with world.system.sessions() as session:
        entries = session.scalars(select(TimelineEntry.kind).join(Case).where(Case.number == number)).all()
    assert entries.count("dispatched") == 100 and entries.count("rework") == 100
    print(f"state after round 1: {sizes[1][0]} bytes stored ({sizes[1][1]} JSON); "
          f"after round 100: {sizes[100][0]} bytes stored ({sizes[100][1]} JSON)")
    assert sizes[100][1] <= sizes[1][1] * 1.25, sizes


# --- what changes between a completion's read phase and its transaction -----------------------

def _meanwhile(monkeypatch, action):
    """Run ``action`` after a completion's read phase (user, task, step run ahead), before its write."""
    run_ahead, pending = decisions._run_ahead, [action]

    def then_action(*args):
        guess = run_ahead(*args)
        while pending:  # once: the action may complete a task itself
            pending.pop()()
        return guess

    monkeypatch.setattr(decisions, "_run_ahead", then_action)


def test_a_user_disabled_while_their_completion_was_prepared_is_refused_and_nothing_changes(world, monkeypatch):
    number = world.report(title="井盖缺失", grid="hq-c04-g03", actor="gw")
    handle = world.task(number, "handle")
    entries = world.timeline_count()

    def disable():
        with world.system.sessions() as session, session.begin():
            session.scalar(select(User).where(User.username == "gw")).active = False

    _meanwhile(monkeypatch, disable)
    with pytest.raises(NotFound, match="'gw' does not exist or is disabled"):
        world.do("gw", number, "handle", {"decision": "resolve", "result": "已盖好"})
    assert world.task(number, "handle").id == handle.id
    assert world.timeline_count() == entries


def test_the_loser_of_a_race_is_told_who_completed_the_task(world, monkeypatch):
    number = world.report(title="井盖缺失", grid="hq-c04-g03", actor="gw")
    handle = world.task(number, "handle")
    _meanwhile(monkeypatch, lambda: decisions.complete_task(world.system, "admin", handle.id,
                                                        {"decision": "resolve", "result": "已处理"}))
    with pytest.raises(Conflict, match="already completed by admin"):
        decisions.complete_task(world.system, "gw", handle.id, {"decision": "resolve", "result": "已盖好"})
    assert world.kinds(number).count("resolved") == 1
