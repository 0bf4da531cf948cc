"""The demo organisation is the size of Huqiu street, its map is sound, its references resolve."""

from __future__ import annotations

import itertools
import re
from collections import Counter, deque
from pathlib import Path

import pytest

from workflows.cases.models import CASE_SOURCES
from workflows.demo import huqiu
from workflows.org.geo import bounding_box, find_grid, point_in_polygon, polygon_centroid
from workflows.org.models import LEVELS
from workflows.people.models import ROLES
from workflows.reference.models import SLA_STAGES
from workflows.setup import reference_data

CONVENTIONS = Path(__file__).resolve().parents[2] / "docs" / "CONVENTIONS.md"
TASK_KINDS = {
    "register",
    "handle",
    "verify",
    "dept_accept",
    "dept_result",
    "report_to_duty",
    "resolution",
    "carry_out_action",
    "confirm_outcome",
    "fund_spend",
    "rate",
}
DECISIONS = {
    "register": {"accept", "reject"},
    "handle": {"resolve", "escalate", "dispatch", "convene", "assign_down"},
    "verify": {"approve", "rework"},
    "dept_accept": {"accept", "return"},
}

UNITS = {unit["code"]: unit for unit in huqiu.org_units()}
GRIDS = [unit for unit in UNITS.values() if unit["level"] == "grid"]
USERS = {user["username"]: user for user in huqiu.users()}
DEPARTMENTS = {department["code"] for department in reference_data.departments()}
CATEGORIES = {category["code"]: category for category in reference_data.categories()}
ALL_CASES = huqiu.stories() + huqiu.everyday_cases()


def _conventions_categories() -> dict[str, tuple[str, str, str, str]]:
    """code -> (parent, name, department, time limit) from the table in docs/CONVENTIONS.md."""
    rows = re.findall(
        r"^\| `(\w+)` \| (\w+) \| (.+?) \| `(\w+)` \| (\w+) \|$",
        CONVENTIONS.read_text(encoding="utf-8"),
        re.M,
    )
    return {code: (parent, name, department, limit) for code, parent, name, department, limit in rows}


def _ancestors(code: str) -> list[str]:
    chain = []
    while code is not None:
        chain.append(code)
        code = UNITS[code]["parent"]
    return chain


def test_the_organisation_has_the_size_of_huqiu_street():
    counts = Counter(unit["level"] for unit in UNITS.values())
    assert counts == {"district": 1, "subcentre": 1, "workstation": 6, "community": 20, "grid": 156}
    assert len(UNITS) == len(huqiu.org_units())  # codes are unique


def test_every_unit_hangs_under_the_level_above_and_parents_come_first():
    seen: set[str] = set()
    for unit in huqiu.org_units():
        if unit["level"] == "district":
            assert unit["parent"] is None
        else:
            parent = UNITS[unit["parent"]]
            assert LEVELS.index(parent["level"]) == LEVELS.index(unit["level"]) + 1
            assert unit["parent"] in seen
        seen.add(unit["code"])


def test_seed_names_are_used():
    names = {unit["name"] for unit in UNITS.values()}
    assert {
        "虎丘街道联动分中心",
        "新庄社区",
        "茶花社区",
        "虎阜社区",
        "湖田社区",
        "来运社区",
        "留园社区",
    } <= names
    assert UNITS["huqiu"]["code"] == "huqiu" and UNITS["district"]["level"] == "district"


def test_grid_codes_number_the_grids_of_each_community():
    for community in (unit for unit in UNITS.values() if unit["level"] == "community"):
        codes = sorted(grid["code"] for grid in GRIDS if grid["parent"] == community["code"])
        assert codes == [f"{community['code']}-g{number:02d}" for number in range(1, len(codes) + 1)]


def test_grids_lie_around_huqiu():
    for grid in GRIDS:
        min_lon, min_lat, max_lon, max_lat = bounding_box(grid["polygon"])
        assert 120.57 <= min_lon < max_lon <= 120.62
        assert 31.32 <= min_lat < max_lat <= 31.35


def test_grid_polygons_do_not_overlap():
    boxes = [(grid["code"], bounding_box(grid["polygon"])) for grid in GRIDS]
    for (code_a, a), (code_b, b) in itertools.combinations(boxes, 2):
        overlap_lon = min(a[2], b[2]) - max(a[0], b[0])
        overlap_lat = min(a[3], b[3]) - max(a[1], b[1])
        assert overlap_lon <= 1e-9 or overlap_lat <= 1e-9, f"{code_a} overlaps {code_b}"


def test_the_grids_cover_the_sub_centre_without_gaps():
    area = sum(
        (box[2] - box[0]) * (box[3] - box[1]) for box in (bounding_box(grid["polygon"]) for grid in GRIDS)
    )
    assert area == pytest.approx((120.62 - 120.57) * (31.35 - 31.32))


def test_every_grid_centroid_is_found_in_that_grid_only():
    for grid in GRIDS:
        lat, lon = polygon_centroid(grid["polygon"])
        assert (grid["lat"], grid["lon"]) == (pytest.approx(lat), pytest.approx(lon))
        assert find_grid(GRIDS, lat, lon)["code"] == grid["code"]
        assert [other["code"] for other in GRIDS if point_in_polygon(other["polygon"], lat, lon)] == [
            grid["code"]
        ]


def _touch_along_an_edge(a, b) -> bool:
    a, b = bounding_box(a["polygon"]), bounding_box(b["polygon"])
    shared_lon = min(a[2], b[2]) - max(a[0], b[0])
    shared_lat = min(a[3], b[3]) - max(a[1], b[1])
    return (abs(shared_lon) < 1e-9 and shared_lat > 1e-9) or (abs(shared_lat) < 1e-9 and shared_lon > 1e-9)


@pytest.mark.parametrize("level", ["community", "workstation"])
def test_the_grids_of_a_unit_form_one_connected_patch(level):
    for unit in (unit for unit in UNITS.values() if unit["level"] == level):
        members = [grid for grid in GRIDS if unit["code"] in _ancestors(grid["code"])]
        reached, queue = {members[0]["code"]}, deque([members[0]])
        while queue:
            current = queue.popleft()
            for other in members:
                if other["code"] not in reached and _touch_along_an_edge(current, other):
                    reached.add(other["code"])
                    queue.append(other)
        assert len(reached) == len(members), f"{unit['code']} is split"


@pytest.mark.parametrize("level", ["community", "workstation", "subcentre"])
def test_a_unit_outline_holds_exactly_its_own_grids_and_its_label_point(level):
    for unit in (unit for unit in UNITS.values() if unit["level"] == level):
        assert point_in_polygon(unit["polygon"], unit["lat"], unit["lon"])
        for grid in GRIDS:
            inside = point_in_polygon(unit["polygon"], grid["lat"], grid["lon"])
            assert inside == (unit["code"] in _ancestors(grid["code"])), (unit["code"], grid["code"])


def test_ten_departments_with_the_product_codes():
    assert DEPARTMENTS == {
        "police",
        "fire",
        "urban",
        "sanitation",
        "housing",
        "planning",
        "market",
        "safety",
        "enforcement",
        "civil",
    }
    for department in reference_data.departments():
        assert department["name"] and all(code in UNITS for code in department["units"])


def test_categories_are_exactly_those_of_the_conventions():
    expected = _conventions_categories()
    assert len(expected) == 11
    leaves = {code: c for code, c in CATEGORIES.items() if c["parent"] is not None}
    assert set(leaves) == set(expected)
    for code, (parent, name, department, limit) in expected.items():
        category = CATEGORIES[code]
        assert (category["parent"], category["name"], category["department"], category["time_limit"]) == (
            parent,
            name,
            department,
            limit,
        )
        assert category["kind"] == parent and category["name_en"]
    assert {code: c["kind"] for code, c in CATEGORIES.items() if c["parent"] is None} == {
        "component": "component",
        "event": "event",
    }


def test_sla_defaults_match_the_product_table():
    defaults = {
        policy["stage"]: (policy["limit"], policy["reminder_share"]) for policy in reference_data.sla_defaults()
    }
    assert set(defaults) == set(SLA_STAGES)
    assert defaults == {
        "grid": ("PT24H", 0.75),
        "community": ("PT72H", 0.75),
        "workstation": ("P7D", 0.75),
        "subcentre": ("P30D", 0.75),
        "district": ("P30D", 0.75),
        "dispatch_accept": ("PT2H", None),
        "dispatch_result": ("P5D", 0.75),
        "duty_routine": ("PT24H", None),
        "duty_tough": ("PT24H", None),
        "duty_emergency": ("PT30M", None),
    }


def test_demo_users_are_ascii_with_chinese_names_and_valid_references():
    assert len(USERS) == len(huqiu.users())
    for user in USERS.values():
        assert re.fullmatch(r"[a-z0-9-]+", user["username"]), user["username"]
        assert re.search(r"[\u4e00-\u9fff]", user["display_name"])
        assert user["role"] in ROLES
        if user["role"] in ("coordinator", "grid_worker"):
            unit = UNITS[user["org_unit"]]
            assert (unit["level"] == "grid") == (user["role"] == "grid_worker")
        if user["role"] == "department":
            assert user["department"] in DEPARTMENTS


def test_the_named_demo_logins_exist():
    required = {
        "admin",
        "leader",
        "coord-district",
        "coord-huqiu",
        "coord-hq-ws2",
        "coord-hq-c04",
        "coord-hq-c15",
        "gw-hq-c01-g01",
        "gw-hq-c04-g01",
        "gw-hq-c04-g03",
        "gw-hq-c15-g01",
    }
    assert required <= set(USERS)
    assert {f"dept-{code}" for code in DEPARTMENTS} <= set(USERS)
    assert {user["username"] for user in USERS.values() if user["featured"]} >= {"admin", "coord-huqiu"}
    assert huqiu.DEMO_PASSWORD == "gridlink-demo"


def test_every_workstation_has_a_small_matters_fund():
    budgets = huqiu.fund_budgets(2026)
    stations = {code for code, unit in UNITS.items() if unit["level"] == "workstation"}
    assert {budget["org_unit"] for budget in budgets} == stations
    assert all(budget["year"] == 2026 and budget["amount_cents"] == 5_000_000 for budget in budgets)


def test_the_three_seed_stories():
    stories = {story["key"]: story for story in huqiu.stories()}
    drain = stories["xinzhuang-drain"]
    assert "98幢" in drain["title"] and drain["category"] == "drain_blocked"
    assert any(step["task"] == "fund_spend" and step["org_unit"] == "hq-ws2" for step in drain["steps"])
    parking = stories["liuyuan-kindergarten-parking"]
    resolution = next(step for step in parking["steps"] if step["task"] == "resolution")
    assert "15分钟" in resolution["minutes"] and "30分钟" in resolution["minutes"]
    owners = {a.get("party") or a.get("department") or a.get("org_unit") for a in resolution["actions"]}
    assert owners == {"停车场管理方", "留园幼儿园", "enforcement", "hq-c15", "police"}  # five parties act
    mall = stories["mall-fifth-floor"]
    convene = next(step for step in mall["steps"] if step.get("decision") == "convene")
    assert (
        set(convene["departments"]) == {"housing", "urban", "planning", "fire"}
        and convene["level"] == "district"
    )
    phases = [a["phase"] for a in next(s for s in mall["steps"] if s["task"] == "resolution")["actions"]]
    assert sorted(set(phases), key=phases.index) == ["survey", "preliminary", "concentrated"]


def test_there_are_about_twenty_everyday_cases_over_many_communities_and_all_categories():
    cases = huqiu.everyday_cases()
    assert 18 <= len(cases) <= 30
    assert len({UNITS[case["grid"]]["parent"] for case in cases}) >= 15
    leaves = {code for code, category in CATEGORIES.items() if category["parent"]}
    assert {case["category"] for case in ALL_CASES} == leaves


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case["key"])
def test_case_scripts_refer_to_things_that_exist(case):
    assert case["category"] in CATEGORIES and CATEGORIES[case["category"]]["parent"]
    assert case["source"] in CASE_SOURCES
    assert UNITS[case["grid"]]["level"] == "grid"
    assert point_in_polygon(UNITS[case["grid"]]["polygon"], case["lat"], case["lon"])
    assert case["reported_by"] is None or case["reported_by"] in USERS
    assert case["days_ago"] >= 0 and re.search(r"[\u4e00-\u9fff]", case["title"] + case["description"])
    for step in case["steps"]:
        assert step["task"] in TASK_KINDS
        if step["task"] in DECISIONS:
            assert step["decision"] in DECISIONS[step["task"]]
        assert step.get("user") is None or step["user"] in USERS, step
        assert set(step.get("departments", [])) <= DEPARTMENTS
        assert step.get("department") is None or step["department"] in DEPARTMENTS
        assert step.get("org_unit") is None or step["org_unit"] in UNITS
        for action in step.get("actions", []):
            assert action.get("department") in DEPARTMENTS | {None} and action.get("org_unit") in {
                *UNITS,
                None,
            }
            assert action.get("department") or action.get("org_unit") or action.get("party")
        if step["task"] == "handle":
            unit = UNITS[USERS[step["user"]]["org_unit"]]
            assert unit["level"] == step["level"], step


def test_handlers_below_the_district_work_in_the_case_grid_chain():
    for case in ALL_CASES:
        chain = _ancestors(case["grid"])
        for step in case["steps"]:
            if step["task"] == "handle" and step["level"] != "district":
                assert USERS[step["user"]]["org_unit"] in chain, (case["key"], step)


def test_demo_data_is_deterministic_and_handed_out_as_copies():
    assert huqiu.org_units() == huqiu.org_units()
    assert huqiu.stories() == huqiu.stories()
    huqiu.org_units()[0]["name"] = "changed"
    assert huqiu.org_units()[0]["name"] == "姑苏区联动中心"
