"""The demo organisation and its cases, as plain data (no database access; the reference data
the demo uses, departments and categories, is in ``workflows/setup/data/``).

It mirrors Huqiu street (虎丘街道, Gusu district, Suzhou) as described in the seed articles:
one district linkage centre, one street sub-centre, 6 linkage workstations, 20 communities and
villages, 156 comprehensive grids. Community names that appear in the articles: 新庄 (新庄新村),
茶花社区, 茶花村, 虎阜社区, 湖田社区, 来运社区, 留园社区; the others are invented but plausible.
Person names are invented. Every function returns a fresh copy and the same data every time.

Grids are rectangles of a 13 x 12 lattice over lon 120.57-120.62, lat 31.32-31.35, handed out
to the communities in a snake order through bands of three rows, so each community (and each
workstation) is one connected patch. Polygons are GeoJSON-style rings of ``[lon, lat]``.

Case scripts (``stories()``, ``everyday_cases()``) list the steps a loader replays through the
services, oldest first. A step's ``task`` is a ``task_kind`` of docs/CONVENTIONS.md, or
``fund_spend`` / ``rate``; its other keys are the task decision fields of PRODUCT.md, with times
given relative to the case (``days_ago`` for the report, ``due_in``/``scheduled_in`` as ISO-8601
durations) instead of absolute dates.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from workflows.setup import reference_data

DEMO_PASSWORD = "gridlink-demo"
"""The password of every demo user (printed by ``make run``)."""

FUND_BUDGET_CENTS = 5_000_000
"""Each workstation's yearly small-matters fund: 50,000 yuan."""

LON_WEST, LON_EAST = 120.57, 120.62
LAT_SOUTH, LAT_NORTH = 31.32, 31.35
COLUMNS, ROWS, BAND_ROWS = 13, 12, 3

DISTRICT = ("district", "姑苏区联动中心")
SUBCENTRE = ("huqiu", "虎丘街道联动分中心")

WORKSTATIONS = (
    ("hq-ws1", "虎丘街道第一联动工作站"),
    ("hq-ws2", "虎丘街道第二联动工作站"),
    ("hq-ws3", "虎丘街道第三联动工作站"),
    ("hq-ws4", "虎丘街道第四联动工作站"),
    ("hq-ws5", "虎丘街道第五联动工作站"),
    ("hq-ws6", "虎丘街道第六联动工作站"),
)

# (code, name, workstation, number of grids), in the order the lattice is handed out.
COMMUNITIES = (
    ("hq-c01", "虎丘社区", "hq-ws1", 9),
    ("hq-c02", "虎丘村", "hq-ws1", 8),
    ("hq-c03", "山塘社区", "hq-ws1", 7),
    ("hq-c04", "新庄社区", "hq-ws2", 10),
    ("hq-c05", "硕房庄社区", "hq-ws2", 7),
    ("hq-c06", "北浩社区", "hq-ws2", 6),
    ("hq-c07", "上塘社区", "hq-ws2", 7),
    ("hq-c08", "来运社区", "hq-ws3", 8),
    ("hq-c09", "虎阜社区", "hq-ws3", 11),
    ("hq-c10", "西津社区", "hq-ws3", 6),
    ("hq-c11", "茶花社区", "hq-ws4", 9),
    ("hq-c12", "茶花村", "hq-ws4", 8),
    ("hq-c13", "湖田社区", "hq-ws4", 7),
    ("hq-c14", "桐星社区", "hq-ws4", 6),
    ("hq-c15", "留园社区", "hq-ws5", 9),
    ("hq-c16", "西园社区", "hq-ws5", 7),
    ("hq-c17", "广济社区", "hq-ws5", 6),
    ("hq-c18", "怡泾社区", "hq-ws6", 9),
    ("hq-c19", "虎池社区", "hq-ws6", 8),
    ("hq-c20", "金筑社区", "hq-ws6", 8),
)

# --- geometry -------------------------------------------------------------------------------

Cell = tuple[int, int]  # (column, row); row 0 is the southern edge


def _lon(column: int) -> float:
    return round(LON_WEST + (LON_EAST - LON_WEST) * column / COLUMNS, 6)


def _lat(row: int) -> float:
    return round(LAT_SOUTH + (LAT_NORTH - LAT_SOUTH) * row / ROWS, 6)


def _snake_cells() -> list[Cell]:
    """Every lattice cell once, each one edge-adjacent to the one before."""
    cells: list[Cell] = []
    for band in range(ROWS // BAND_ROWS):
        columns = range(COLUMNS) if band % 2 == 0 else range(COLUMNS - 1, -1, -1)
        for step, column in enumerate(columns):
            rows = range(band * BAND_ROWS, (band + 1) * BAND_ROWS)
            cells.extend((column, row) for row in (rows if step % 2 == 0 else reversed(rows)))
    return cells


def _outline(cells: set[Cell]) -> list[list[list[float]]]:
    """The boundary rings (counter-clockwise, closed) of a set of lattice cells."""
    edges: set[tuple[Cell, Cell]] = set()
    for column, row in cells:
        corners = [(column, row), (column + 1, row), (column + 1, row + 1), (column, row + 1)]
        for index in range(4):
            edge = (corners[index], corners[(index + 1) % 4])
            reverse = (edge[1], edge[0])
            if reverse in edges:
                edges.remove(reverse)  # shared by two cells of the set: not on the boundary
            else:
                edges.add(edge)
    rings = []
    while edges:
        ring = _walk_ring(edges)
        rings.append([[_lon(x), _lat(y)] for x, y in ring] + [[_lon(ring[0][0]), _lat(ring[0][1])]])
    return rings


def _walk_ring(edges: set[tuple[Cell, Cell]]) -> list[Cell]:
    """Take one closed ring out of ``edges``, turning left at pinch points; drop straight corners."""
    start, current = min(edges)
    edges.remove((start, current))
    points = [start]
    previous = start
    while current != start:
        points.append(current)
        heading = (current[0] - previous[0], current[1] - previous[1])
        options = [edge for edge in edges if edge[0] == current]

        def leftness(edge: tuple[Cell, Cell], heading=heading) -> int:
            turn = (edge[1][0] - edge[0][0], edge[1][1] - edge[0][1])
            return heading[0] * turn[1] - heading[1] * turn[0]

        chosen = max(sorted(options), key=leftness)
        edges.remove(chosen)
        previous, current = current, chosen[1]
    return [point for index, point in enumerate(points) if not _is_straight(points, index)]


def _is_straight(points: list[Cell], index: int) -> bool:
    before, here, after = points[index - 1], points[index], points[(index + 1) % len(points)]
    return (before[0] == here[0] == after[0]) or (before[1] == here[1] == after[1])


def _cell_centre(cell: Cell) -> tuple[float, float]:
    """``(lat, lon)`` of a cell's centre."""
    column, row = cell
    return round((_lat(row) + _lat(row + 1)) / 2, 6), round((_lon(column) + _lon(column + 1)) / 2, 6)


def _label_point(cells: list[Cell]) -> tuple[float, float]:
    """A point inside the patch: the centre of the cell nearest to the patch's mean."""
    mean_column = sum(column for column, _ in cells) / len(cells)
    mean_row = sum(row for _, row in cells) / len(cells)
    nearest = min(cells, key=lambda cell: ((cell[0] - mean_column) ** 2 + (cell[1] - mean_row) ** 2, cell))
    return _cell_centre(nearest)


# --- organisation ---------------------------------------------------------------------------


def _unit(code: str, name: str, level: str, parent: str | None, cells: list[Cell] | None) -> dict[str, Any]:
    polygon = _outline(set(cells)) if cells else None
    lat, lon = _label_point(cells) if cells else (None, None)
    return {
        "code": code,
        "name": name,
        "level": level,
        "parent": parent,
        "polygon": polygon,
        "lat": lat,
        "lon": lon,
    }


def grid_code(community: str, number: int) -> str:
    """``hq-c04-g03``: the third grid of community hq-c04."""
    return f"{community}-g{number:02d}"


@cache
def _org_units() -> tuple[dict[str, Any], ...]:
    cells = _snake_cells()
    assert len(cells) == sum(count for *_, count in COMMUNITIES) == COLUMNS * ROWS
    community_cells: dict[str, list[Cell]] = {}
    position = 0
    for code, _name, _station, count in COMMUNITIES:
        community_cells[code] = cells[position : position + count]
        position += count
    station_cells: dict[str, list[Cell]] = {code: [] for code, _ in WORKSTATIONS}
    for code, _name, station, _count in COMMUNITIES:
        station_cells[station].extend(community_cells[code])

    units = [_unit(*DISTRICT, "district", None, None), _unit(*SUBCENTRE, "subcentre", DISTRICT[0], cells)]
    units += [
        _unit(code, name, "workstation", SUBCENTRE[0], station_cells[code]) for code, name in WORKSTATIONS
    ]
    units += [
        _unit(code, name, "community", station, community_cells[code])
        for code, name, station, _ in COMMUNITIES
    ]
    for code, name, _station, _count in COMMUNITIES:
        for number, cell in enumerate(community_cells[code], start=1):
            units.append(_unit(grid_code(code, number), f"{name}第{number}网格", "grid", code, [cell]))
    return tuple(units)


def org_units() -> list[dict[str, Any]]:
    """Every org unit, parents before children: ``code, name, level, parent, polygon, lat, lon``."""
    return copy.deepcopy(list(_org_units()))


def grids() -> list[dict[str, Any]]:
    """The 156 grids (a subset of ``org_units()``)."""
    return [unit for unit in org_units() if unit["level"] == "grid"]


def _grid_point(code: str) -> tuple[float, float]:
    unit = next(unit for unit in _org_units() if unit["code"] == code)
    return unit["lat"], unit["lon"]


def fund_budgets(year: int) -> list[dict[str, Any]]:
    """One small-matters fund per workstation for ``year``: ``org_unit, year, amount_cents``."""
    return [{"org_unit": code, "year": year, "amount_cents": FUND_BUDGET_CENTS} for code, _ in WORKSTATIONS]


# --- people ---------------------------------------------------------------------------------

# Invented names: (username suffix or org code, display name).
_COORDINATOR_NAMES = {
    "district": "赵敏（区联动中心）",
    "huqiu": "陆晓东（分中心）",
    "hq-ws1": "周建国（一站）",
    "hq-ws2": "吴海燕（二站）",
    "hq-ws3": "李秀兰（三站）",
    "hq-ws4": "郑志强（四站）",
    "hq-ws5": "王芳（五站）",
    "hq-ws6": "冯磊（六站）",
}
_SURNAMES = "张王李赵钱孙周吴郑冯陈褚卫蒋沈韩杨朱秦尤"
_GIVEN = ("丽华", "建军", "美玲", "国平", "小红", "志明", "婷婷", "卫东", "秀英", "海峰")
_DEPARTMENT_STAFF = {
    "police": "许警官",
    "fire": "何队长",
    "urban": "吕队员",
    "sanitation": "施所长",
    "housing": "张科员",
    "planning": "孔科员",
    "market": "曹科员",
    "safety": "严科员",
    "enforcement": "华队员",
    "civil": "金科员",
}
FEATURED_COMMUNITIES = ("hq-c01", "hq-c04", "hq-c15")
"""虎丘社区, 新庄社区 (the drain-pipe story) and 留园社区 (the kindergarten story)."""
STORY_GRIDS = ("hq-c04-g03",)
"""Grids with a story that get a grid worker besides each community's first grid."""


def _person(index: int) -> str:
    return _SURNAMES[index % len(_SURNAMES)] + _GIVEN[index % len(_GIVEN)]


def _user(username: str, display_name: str, role: str, org_unit=None, department=None, featured=False):
    return {
        "username": username,
        "display_name": display_name,
        "role": role,
        "org_unit": org_unit,
        "department": department,
        "featured": featured,
    }


def users() -> list[dict[str, Any]]:
    """Demo logins (password ``DEMO_PASSWORD``): ``username, display_name, role, org_unit,
    department, featured``. ``featured`` marks the handful worth printing at start-up."""
    featured_units = {"district", "huqiu", "hq-ws1", "hq-ws2", "hq-ws5", *FEATURED_COMMUNITIES}
    result = [
        _user("admin", "系统管理员", "admin", featured=True),
        _user("leader", "街道分管领导", "leader", featured=True),
    ]
    for code, name in _COORDINATOR_NAMES.items():
        result.append(_user(f"coord-{code}", name, "coordinator", code, featured=code in featured_units))
    # A second coordinator where cases are verified by someone other than the handler most often.
    result.append(_user("coord-district-2", "钱晓梅（区联动中心）", "coordinator", "district"))
    result.append(_user("coord-huqiu-2", "孙立新（分中心）", "coordinator", "huqiu"))
    for index, (code, name, _station, _count) in enumerate(COMMUNITIES):
        display = f"{_person(index)}（{name}）"
        result.append(_user(f"coord-{code}", display, "coordinator", code, featured=code in featured_units))
    for index, (code, name, _station, _count) in enumerate(COMMUNITIES):
        grid = grid_code(code, 1)
        display = f"{_person(index + 7)}（{name}第1网格）"
        result.append(
            _user(f"gw-{grid}", display, "grid_worker", grid, featured=code in FEATURED_COMMUNITIES)
        )
    for grid in STORY_GRIDS:
        result.append(_user(f"gw-{grid}", "陈雪琴（新庄社区第3网格）", "grid_worker", grid, featured=True))
    for department in reference_data.departments():
        code, name = department["code"], department["name"]
        result.append(
            _user(
                f"dept-{code}",
                f"{name}{_DEPARTMENT_STAFF[code]}",
                "department",
                department=code,
                featured=True,
            )
        )
    return result


# --- cases ----------------------------------------------------------------------------------


def _case(key: str, title: str, description: str, category: str, source: str, grid: str, **extra) -> dict:
    lat, lon = _grid_point(grid)
    case = {
        "key": key,
        "title": title,
        "description": description,
        "category": category,
        "source": source,
        "grid": grid,
        "lat": lat,
        "lon": lon,
        "address": None,
        "reporter": None,
        "reported_by": None,
        "days_ago": 0,
        "self_closed": None,
        "steps": [],
    }
    unknown = set(extra) - set(case)
    assert not unknown, f"unknown case keys {unknown}"
    case.update(extra)
    return case


def _handle(level: str, user: str, decision: str, **fields) -> dict:
    return {"task": "handle", "level": level, "user": user, "decision": decision, **fields}


def _verify(user: str, comment: str = "现场核查，问题已解决") -> dict:
    return {"task": "verify", "user": user, "decision": "approve", "comment": comment}


def _dispatch_done(department: str, result: str) -> list[dict]:
    user = f"dept-{department}"
    return [
        {"task": "dept_accept", "user": user, "department": department, "decision": "accept"},
        {"task": "dept_result", "user": user, "department": department, "result": result},
    ]


def _xinzhuang_drain() -> dict:
    return _case(
        "xinzhuang-drain",
        "新庄新村98幢外墙落水管堵塞发臭",
        "新庄新村98幢两根外墙落水管严重堵塞，发出阵阵臭味，居民不敢开窗。水管为居民和新庄农贸市场共用，"
        "更换费用由谁承担僵持不下。",
        "drain_blocked",
        "patrol",
        "hq-c04-g03",
        address="虎丘街道新庄新村98幢",
        reported_by="gw-hq-c04-g03",
        days_ago=20,
        steps=[
            _handle(
                "grid",
                "gw-hq-c04-g03",
                "escalate",
                reason="落水管为居民与新庄农贸市场共用，费用分担谈不拢，网格内无法解决",
            ),
            _handle(
                "community",
                "coord-hq-c04",
                "escalate",
                reason="已摸清情况，涉及经费，申请工作站协调民生小事专项经费",
            ),
            {
                "task": "fund_spend",
                "user": "coord-hq-ws2",
                "org_unit": "hq-ws2",
                "amount_cents": 260_000,
                "payee": "苏州市虎丘水电维修部",
                "purpose": "更换新庄新村98幢两根外墙落水管",
            },
            _handle(
                "workstation",
                "coord-hq-ws2",
                "resolve",
                result="动用民生小事专项经费更换两根外墙落水管，已疏通，臭味消除",
            ),
            _verify("coord-hq-c04", "回访楼道居民，落水管通畅，无异味"),
            {"task": "rate", "rating": 5, "comment": "落水管通畅了，消除了臭味，家里又可以开窗通风了。"},
        ],
    )


def _kindergarten_parking() -> dict:
    departments = ["urban", "police", "enforcement"]
    return _case(
        "liuyuan-kindergarten-parking",
        "留园幼儿园门口家长接送停车难",
        "留园幼儿园门口恰好是停车场，进入幼儿园必须先进入停车场，免费停车时长只有15分钟，且停车场较小，"
        "接送高峰容易拥堵。第五联动工作站入户走访时收到家长诉求，本级协调未果。",
        "illegal_parking",
        "inspection",
        "hq-c15-g01",
        address="留园幼儿园门口停车场",
        reported_by="coord-hq-ws5",
        days_ago=40,
        steps=[
            _handle("grid", "gw-hq-c15-g01", "escalate", reason="停车场与幼儿园接送矛盾，网格无法协调"),
            _handle("community", "coord-hq-c15", "escalate", reason="涉及停车场管理方和幼儿园，需工作站协调"),
            _handle(
                "workstation", "coord-hq-ws5", "escalate", reason="工作站本级协调未果，上报街道联动分中心"
            ),
            _handle(
                "subcentre",
                "coord-huqiu",
                "convene",
                departments=departments,
                scheduled_in="P2D",
                place="虎丘街道联动分中心研判室",
                topic="留园幼儿园门口接送停车难专题分析研判会",
                urgency="routine",
            ),
            *[
                {
                    "task": "report_to_duty",
                    "user": f"dept-{code}",
                    "department": code,
                    "delegate": _DEPARTMENT_STAFF[code],
                }
                for code in departments
            ],
            {
                "task": "resolution",
                "user": "coord-huqiu",
                "lead_department": "urban",
                "minutes": "街道城管、留园幼儿园、停车场管理方、留园派出所、留园社区共同研判，达成共识："
                "停车场将家长汽车免费停车时长由15分钟延长至30分钟；学校倡议家长绿色出行、"
                "电动自行车接送；综合行政执法大队在周边施划非机动车停车位；"
                "留园社区网格志愿者在接送高峰期参与交通秩序维护。",
                "actions": [
                    {
                        "department": "urban",
                        "party": "停车场管理方",
                        "due_in": "P7D",
                        "action": "督促停车场将家长汽车免费停车时长由15分钟延长至30分钟",
                    },
                    {
                        "org_unit": "hq-c15",
                        "party": "留园幼儿园",
                        "due_in": "P7D",
                        "action": "联系幼儿园倡议家长绿色出行、电动自行车接送",
                    },
                    {
                        "department": "enforcement",
                        "due_in": "P14D",
                        "action": "在幼儿园周边方便停放非机动车的位置施划停车位",
                    },
                    {
                        "org_unit": "hq-c15",
                        "due_in": "P7D",
                        "action": "网格志愿者在幼儿园接送高峰期参与交通秩序维护",
                    },
                    {
                        "department": "police",
                        "due_in": "P7D",
                        "action": "接送高峰期加强周边巡逻，劝离违停车辆",
                    },
                ],
            },
            {
                "task": "carry_out_action",
                "department": "urban",
                "user": "dept-urban",
                "result": "停车场已将家长汽车免费停车时长延长至30分钟",
            },
            {
                "task": "carry_out_action",
                "org_unit": "hq-c15",
                "user": "coord-hq-c15",
                "result": "幼儿园已向家长发出绿色出行倡议书",
            },
            {
                "task": "carry_out_action",
                "department": "enforcement",
                "user": "dept-enforcement",
                "result": "已在幼儿园周边施划非机动车停车位",
            },
            {
                "task": "carry_out_action",
                "org_unit": "hq-c15",
                "user": "coord-hq-c15",
                "result": "网格志愿者每日早晚高峰在园门口维护秩序",
            },
            {
                "task": "carry_out_action",
                "department": "police",
                "user": "dept-police",
                "result": "高峰期巡逻已安排，违停明显减少",
            },
            {
                "task": "confirm_outcome",
                "user": "coord-huqiu",
                "outcome": "接送高峰秩序良好，家长停车难问题解决",
            },
            _handle("subcentre", "coord-huqiu", "resolve", result="专题研判会各方措施均已落实"),
            _verify("coord-huqiu-2", "实地查看接送高峰，交通有序"),
            {"task": "rate", "rating": 5, "comment": "接孩子方便多了"},
        ],
    )


def _mall_conversion() -> dict:
    departments = ["housing", "urban", "planning", "fire"]
    return _case(
        "mall-fifth-floor",
        "商场5楼擅自改变建筑结构及用途，存在消防隐患",
        "市民反映某商场5楼擅自改变建筑结构及用途，增加消防隐患。此前也有市民反映，因涉及住建、规划、"
        "消防、城管等多个部门，问题一直得不到妥善解决。",
        "fire_hazard",
        "hotline",
        "hq-c01-g01",
        address="虎丘路某商场5楼",
        reporter={"name": "刘先生", "phone": "13800000001"},
        days_ago=75,
        steps=[
            {"task": "register", "level": "district", "user": "coord-district", "decision": "accept"},
            _handle("district", "coord-district", "assign_down", org_unit="hq-c01-g01"),
            _handle(
                "grid",
                "gw-hq-c01-g01",
                "escalate",
                reason="涉及住建、规划、消防、城管多个部门，第一时间报告社区",
            ),
            _handle("community", "coord-hq-c01", "escalate", reason="社区派人现场核实，社区层面解决仍有困难"),
            _handle("workstation", "coord-hq-ws1", "escalate", reason="需街道及区级部门联合处置"),
            _handle(
                "subcentre", "coord-huqiu", "escalate", reason="涉及区级多个部门职责，提请区联动中心吹哨"
            ),
            _handle(
                "district",
                "coord-district",
                "convene",
                departments=departments,
                scheduled_in="P3D",
                place="姑苏区联动中心会议室",
                topic="网格化联动工作协调会：商场5楼擅自改建消防隐患",
                urgency="tough",
            ),
            *[
                {
                    "task": "report_to_duty",
                    "user": f"dept-{code}",
                    "department": code,
                    "delegate": _DEPARTMENT_STAFF[code],
                }
                for code in departments
            ],
            {
                "task": "resolution",
                "user": "coord-district",
                "lead_department": "fire",
                "minutes": "区联动中心、住建局（人防办）、城市管理局、规划局、消防救援站报到。明确由消防牵头"
                "（“331”专班）处置，其他部门各有分工，分摸清底数、先期整改、集中整治三个阶段推进。",
                "actions": [
                    {
                        "org_unit": "hq-c01-g01",
                        "phase": "survey",
                        "due_in": "P7D",
                        "action": "网格长协同公安、城管、食安、安监、消防等网格指导员，"
                        "对改建情况查清摸透，确定整改重点",
                    },
                    {
                        "department": "fire",
                        "phase": "survey",
                        "due_in": "P7D",
                        "action": "派消防网格指导员参与摸底，列出消防隐患清单",
                    },
                    {
                        "department": "housing",
                        "phase": "preliminary",
                        "due_in": "P30D",
                        "action": "上门逐户发放整改通知书，核查人防设施改动情况",
                    },
                    {
                        "department": "planning",
                        "phase": "preliminary",
                        "due_in": "P30D",
                        "action": "核查5楼改变建筑结构及用途的规划手续，逐户发放整改通知书",
                    },
                    {
                        "department": "fire",
                        "phase": "preliminary",
                        "due_in": "P30D",
                        "action": "约谈改建方、出租方、承租方相关负责人",
                    },
                    {
                        "department": "urban",
                        "phase": "concentrated",
                        "due_in": "P60D",
                        "action": "对拒不整改或整改不到位的情况集中整治",
                    },
                    {
                        "department": "fire",
                        "phase": "concentrated",
                        "due_in": "P60D",
                        "action": "复查整改情况，确保整改不留死角、不留隐患",
                    },
                ],
            },
            {
                "task": "carry_out_action",
                "org_unit": "hq-c01-g01",
                "user": "gw-hq-c01-g01",
                "result": "已摸清5楼改建商户底数，确定整改重点",
            },
            {
                "task": "carry_out_action",
                "department": "fire",
                "user": "dept-fire",
                "result": "消防隐患清单已列出",
            },
            {
                "task": "carry_out_action",
                "department": "housing",
                "user": "dept-housing",
                "result": "整改通知书已逐户发放",
            },
            {
                "task": "carry_out_action",
                "department": "planning",
                "user": "dept-planning",
                "result": "规划手续核查完毕，整改通知书已发放",
            },
            {
                "task": "carry_out_action",
                "department": "fire",
                "user": "dept-fire",
                "result": "已约谈改建方、出租方、承租方",
            },
            {
                "task": "carry_out_action",
                "department": "urban",
                "user": "dept-urban",
                "result": "对拒不整改的商户完成集中整治",
            },
            {
                "task": "carry_out_action",
                "department": "fire",
                "user": "dept-fire",
                "result": "复查合格，隐患全部消除",
            },
            {
                "task": "confirm_outcome",
                "user": "coord-district",
                "outcome": "两个月内完成整治，问题完美解决",
            },
            _handle(
                "district",
                "coord-district",
                "resolve",
                result="三阶段整治完成，5楼恢复原结构及用途，消防隐患消除",
            ),
            _verify("coord-district-2", "联合复查通过"),
        ],
    )


def stories() -> list[dict[str, Any]]:
    """The three seed stories as case scripts: Xinzhuang drain pipes (small-matters fund),
    Liuyuan kindergarten parking (sub-centre meeting), the mall's 5th floor (district whistle)."""
    return [_xinzhuang_drain(), _kindergarten_parking(), _mall_conversion()]


def _everyday() -> list[dict]:
    return [
        _case(
            "chahua-charging-cable",
            "二楼悬挂充电线铜丝裸露",
            "茶花社区一条从二楼悬挂下来的电瓶车充电线，接线板一端被剪去，带电铜丝裸露在外，有触电风险。",
            "dangerous_wiring",
            "patrol",
            "hq-c11-g01",
            address="茶花社区城中村巷内",
            reported_by="gw-hq-c11-g01",
            days_ago=12,
            self_closed={"result": "网格长用绝缘胶布包裹裸露铜丝，并劝导住户拆除私拉电线"},
            steps=[_verify("coord-hq-c11")],
        ),
        _case(
            "hufu-stairwell-clutter",
            "楼道堆放杂物堵塞通道",
            "虎阜社区夜间护楼队巡查发现单元楼道堆放纸箱、旧家具，堵塞疏散通道。",
            "fire_hazard",
            "patrol",
            "hq-c09-g01",
            reported_by="gw-hq-c09-g01",
            days_ago=9,
            steps=[
                _handle("grid", "gw-hq-c09-g01", "resolve", result="联系物业并劝导住户清理楼道杂物"),
                _verify("coord-hq-c09"),
            ],
        ),
        _case(
            "hutian-elderly-fall",
            "孤老摔倒在家生活难以自理",
            "湖田社区大杂院内七十多岁的孤老丁伯伯不慎摔倒在家，生活一时难以自理。",
            "elderly_assistance",
            "patrol",
            "hq-c13-g01",
            reported_by="gw-hq-c13-g01",
            days_ago=30,
            steps=[
                _handle(
                    "grid",
                    "gw-hq-c13-g01",
                    "resolve",
                    result="网格员每天看望并送两次饭，已协助老人入住养老院",
                ),
                _verify("coord-hq-c13"),
                {"task": "rate", "rating": 5, "comment": "网格员像家人一样"},
            ],
        ),
        _case(
            "shuofang-rubbish-between-walls",
            "两堵围墙间陈年垃圾多年无人清理",
            "小区与一公司之间两堵围墙形成空白地带，堆放了几年的陈年垃圾，居民多次反映未解决。",
            "exposed_rubbish",
            "forum",
            "hq-c05-g01",
            reporter={"name": "寒山闻钟网友", "phone": None},
            days_ago=15,
            steps=[
                _handle("grid", "gw-hq-c05-g01", "escalate", reason="空白地带权属不清，需社区联动"),
                _handle(
                    "community",
                    "coord-hq-c05",
                    "dispatch",
                    departments=["sanitation"],
                    instructions="请环卫所出方案清运陈年垃圾",
                ),
                *_dispatch_done("sanitation", "环卫所出方案，两天内清运完毕"),
                _handle(
                    "community", "coord-hq-c05", "resolve", result="陈年垃圾已清运，空白地带纳入保洁范围"
                ),
                _verify("coord-hq-ws2"),
            ],
        ),
        _case(
            "laiyun-returnee-check",
            "举报邻居疑似从外地疫区返回",
            "市民来电反映其邻居疑似从外地疫区返回，要求社区上门核实防控。",
            "epidemic_report",
            "hotline",
            "hq-c08-g01",
            reporter={"name": "王女士", "phone": "13800000002"},
            days_ago=60,
            steps=[
                {"task": "register", "level": "district", "user": "coord-district", "decision": "accept"},
                _handle("district", "coord-district", "assign_down", org_unit="huqiu"),
                _handle("subcentre", "coord-huqiu", "assign_down", org_unit="hq-c08-g01"),
                _handle(
                    "grid",
                    "gw-hq-c08-g01",
                    "resolve",
                    result="1小时内到场核实，体温正常，已落实居家隔离并反馈举报人",
                ),
                _verify("coord-hq-c08"),
            ],
        ),
        _case(
            "xiyuan-masks-for-elderly",
            "独居老两口缺口罩和常用药",
            "老两口家中没有口罩，子女在外地，不会网上预约，降压药、降糖药即将用完，来电求助。",
            "elderly_assistance",
            "hotline",
            "hq-c16-g01",
            reporter={"name": "沈老伯", "phone": "13800000003"},
            days_ago=58,
            steps=[
                {"task": "register", "level": "district", "user": "coord-district", "decision": "accept"},
                _handle("district", "coord-district", "assign_down", org_unit="hq-c16"),
                _handle(
                    "community", "coord-hq-c16", "resolve", result="当天将口罩送到老人家中，并代购常用药"
                ),
                _verify("coord-hq-ws5"),
                {"task": "rate", "rating": 5, "comment": "感谢社区"},
            ],
        ),
        _case(
            "xinzhuang-locked-out",
            "高龄夫妇忘带钥匙被锁门外",
            "八十多岁老夫妻散步回来发现忘带钥匙，没有手机联络，向网格员求助。",
            "elderly_assistance",
            "walk_in",
            "hq-c04-g01",
            reported_by="gw-hq-c04-g01",
            days_ago=25,
            self_closed={"result": "网格员取来梯子翻墙入户，帮老人取到钥匙"},
            steps=[_verify("coord-hq-c04")],
        ),
        _case(
            "beihao-old-car-shed",
            "老小区三十多年违建车棚",
            "老小区公共区域住户搭建的车棚已有三十多年，影响小区环境改造，部分住户不理解拆除。",
            "illegal_construction",
            "patrol",
            "hq-c06-g01",
            reported_by="gw-hq-c06-g01",
            days_ago=10,
            steps=[
                _handle("grid", "gw-hq-c06-g01", "escalate", reason="历史遗留违建，网格无法处置"),
                _handle(
                    "community", "coord-hq-c06", "escalate", reason="已做住户工作，老党员带头支持，需执法拆除"
                ),
                _handle(
                    "workstation",
                    "coord-hq-ws2",
                    "dispatch",
                    departments=["enforcement"],
                    instructions="请综合行政执法大队依法拆除违建车棚",
                ),
                {
                    "task": "dept_accept",
                    "user": "dept-enforcement",
                    "department": "enforcement",
                    "decision": "accept",
                },
            ],
        ),
        _case(
            "shantang-stalls",
            "景区路口流动摊贩占道经营",
            "山塘景区附近路口流动摊贩占道经营，影响游客通行。",
            "stall_occupation",
            "snapshot",
            "hq-c03-g01",
            reporter={"name": "随手拍用户", "phone": None},
            days_ago=6,
            steps=[
                _handle("grid", "gw-hq-c03-g01", "escalate", reason="摊贩劝离后反复回来"),
                _handle(
                    "community",
                    "coord-hq-c03",
                    "dispatch",
                    departments=["urban"],
                    instructions="请城管规范占道经营",
                ),
                *_dispatch_done("urban", "城管中队劝离流动摊贩，引导入规定区域经营"),
                _handle("community", "coord-hq-c03", "resolve", result="路口恢复通畅"),
                _verify("coord-hq-ws1"),
            ],
        ),
        _case(
            "chahua-pufu-road-parking",
            "普福路机动车违停堵塞道路",
            "茶花村普福路两侧机动车长期违停，高峰时段堵塞。",
            "illegal_parking",
            "inspection",
            "hq-c12-g01",
            days_ago=1,
        ),
        _case(
            "laiyun-zombie-car",
            "小区内僵尸车长期占用车位",
            "来运社区小区内一辆积满灰尘的僵尸车长期停放，占用公共车位。",
            "illegal_parking",
            "patrol",
            "hq-c08-g01",
            reported_by="gw-hq-c08-g01",
            days_ago=4,
            steps=[
                _handle("grid", "gw-hq-c08-g01", "escalate", reason="联系不上车主"),
                _handle(
                    "community",
                    "coord-hq-c08",
                    "dispatch",
                    departments=["police"],
                    instructions="请协助查找车主并拖移",
                ),
                {
                    "task": "dept_accept",
                    "user": "dept-police",
                    "department": "police",
                    "decision": "return",
                    "reason": "小区内僵尸车拖移属城市管理职责，请改派城市管理局",
                },
                _handle(
                    "community",
                    "coord-hq-c08",
                    "dispatch",
                    departments=["urban"],
                    instructions="请拖移小区内僵尸车",
                ),
            ],
        ),
        _case(
            "xiyuan-fallen-branch",
            "大树枝倒伏压坏路面",
            "西园社区道路旁大树枝被风吹断倒伏，压坏人行道路面。",
            "road_damage",
            "patrol",
            "hq-c16-g01",
            reported_by="gw-hq-c16-g01",
            days_ago=18,
            steps=[
                _handle("grid", "gw-hq-c16-g01", "escalate", reason="需专业设备清理"),
                _handle("community", "coord-hq-c16", "escalate", reason="涉及绿化与道路两个部门"),
                _handle(
                    "workstation",
                    "coord-hq-ws5",
                    "dispatch",
                    departments=["urban"],
                    instructions="清理倒伏树枝并修补路面",
                ),
                *_dispatch_done("urban", "已清理倒伏树枝，修补破损路面"),
                _handle("workstation", "coord-hq-ws5", "resolve", result="路面恢复通行"),
                _verify("coord-hq-c16"),
            ],
        ),
        _case(
            "tongxing-road-potholes",
            "人行道路面破损坑洼",
            "桐星社区人行道多处地砖破损坑洼，老人行走易绊倒。",
            "road_damage",
            "platform",
            "hq-c14-g01",
            days_ago=2,
        ),
        _case(
            "guangji-shared-bikes",
            "共享单车乱停放堵塞小区出入口",
            "共享单车在小区出入口大量乱停放，部分二维码被刮掉。",
            "illegal_parking",
            "patrol",
            "hq-c17-g01",
            reported_by="gw-hq-c17-g01",
            days_ago=7,
            steps=[
                _handle("grid", "gw-hq-c17-g01", "resolve", result="联系共享单车运维人员清运乱停车辆"),
                _verify("coord-hq-c17"),
            ],
        ),
        _case(
            "yijing-bulky-waste",
            "小区内大件垃圾堆放",
            "楼下堆放旧床柜等大件垃圾。",
            "exposed_rubbish",
            "patrol",
            "hq-c18-g01",
            reported_by="gw-hq-c18-g01",
            days_ago=3,
            self_closed={"result": "联系物业当天清运大件垃圾"},
            steps=[_verify("coord-hq-c18")],
        ),
        _case(
            "shangtang-dog-corridor",
            "电梯口公共区域饲养犬只扰民",
            "有人在电梯门口公共区域养狗，影响楼上邻居休息和楼道卫生。",
            "neighbour_dispute",
            "walk_in",
            "hq-c07-g01",
            reported_by="gw-hq-c07-g01",
            days_ago=11,
            steps=[
                _handle("grid", "gw-hq-c07-g01", "resolve", result="上门劝导养犬业主，告知犬证办理流程"),
                _verify("coord-hq-c07"),
                {"task": "rate", "rating": 4, "comment": "处理及时"},
            ],
        ),
        _case(
            "huchi-kitchen-fumes",
            "沿街餐饮店油烟扰民",
            "沿街餐饮店油烟直排，楼上住户无法开窗。",
            "neighbour_dispute",
            "forum",
            "hq-c19-g01",
            reporter={"name": "寒山闻钟网友", "phone": None},
            days_ago=3,
            steps=[
                _handle("grid", "gw-hq-c19-g01", "escalate", reason="商户不配合整改"),
                _handle(
                    "community",
                    "coord-hq-c19",
                    "dispatch",
                    departments=["urban"],
                    instructions="请督促餐饮店安装油烟净化设施",
                ),
            ],
        ),
        _case(
            "jinzhu-smoke-alarm",
            "智慧烟感报警",
            "住户家中智慧烟感设备报警。",
            "fire_hazard",
            "sensor",
            "hq-c20-g01",
            days_ago=5,
            steps=[
                _handle(
                    "grid",
                    "gw-hq-c20-g01",
                    "resolve",
                    result="网格员赶到现场，确认为厨房烧焦，已排除火情并提醒住户注意用火安全",
                ),
                _verify("coord-hq-c20"),
            ],
        ),
        _case(
            "xinzhuang-flying-lead",
            "电动车飞线充电私拉乱接",
            "新庄新村楼道窗口拉出电线给电动车充电，存在火灾隐患。",
            "dangerous_wiring",
            "snapshot",
            "hq-c04-g03",
            reporter={"name": "随手拍用户", "phone": None},
            days_ago=2,
            steps=[
                _handle("grid", "gw-hq-c04-g03", "escalate", reason="住户拒不拆除"),
                _handle(
                    "community",
                    "coord-hq-c04",
                    "dispatch",
                    departments=["enforcement"],
                    instructions="请执法中队处理飞线充电",
                ),
                {
                    "task": "dept_accept",
                    "user": "dept-enforcement",
                    "department": "enforcement",
                    "decision": "accept",
                },
            ],
        ),
        _case(
            "xijin-drain-overflow",
            "商业街下水道堵塞污水外溢",
            "餐饮店后巷下水道堵塞，污水外溢到路面。",
            "drain_blocked",
            "patrol",
            "hq-c10-g01",
            reported_by="gw-hq-c10-g01",
            days_ago=3,
            steps=[
                _handle("grid", "gw-hq-c10-g01", "escalate", reason="管网破损需专业维修"),
                _handle(
                    "community",
                    "coord-hq-c10",
                    "dispatch",
                    departments=["housing"],
                    instructions="请疏通并修复破损管网",
                ),
            ],
        ),
        _case(
            "hufu-back-lane-rubbish",
            "背街小巷暴露垃圾",
            "背街小巷墙角有暴露垃圾，气味难闻。",
            "exposed_rubbish",
            "patrol",
            "hq-c09-g01",
            reported_by="gw-hq-c09-g01",
            days_ago=3,
        ),
        _case(
            "huqiu-returnee-registration",
            "外地返苏人员登记",
            "市民来电反映楼内有外地返苏人员，请社区登记。",
            "epidemic_report",
            "hotline",
            "hq-c01-g01",
            reporter={"name": "陈先生", "phone": "13800000004"},
        ),
        _case(
            "huqiu-noise-dispute",
            "楼上装修噪音邻里纠纷",
            "楼上住户夜间装修噪音大，邻里发生争执。",
            "neighbour_dispute",
            "walk_in",
            "hq-c01-g01",
            reported_by="gw-hq-c01-g01",
        ),
    ]


def everyday_cases() -> list[dict[str, Any]]:
    """About twenty ordinary cases in various states, spread over communities and categories."""
    return _everyday()
