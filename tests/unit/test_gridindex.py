"""The STRtree grid index answers exactly as the ring test in workflows.geo, without testing every grid."""

from __future__ import annotations

import itertools
import time

import pytest

from workflows.demo import huqiu
from workflows.org.geo import bounding_box, find_grid, nearest_grid
from workflows.org.gridindex import GridIndex, forget_grids, grid_index


def _square(lon0: float, lat0: float, size: float = 0.01) -> list[list[list[float]]]:
    return [[[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]]


WEST = {"code": "west", "polygon": _square(120.57, 31.32)}
EAST = {"code": "east", "polygon": _square(120.58, 31.32)}
DONUT = {"code": "donut", "polygon": [_square(120.60, 31.32, 0.03)[0], _square(120.61, 31.33, 0.01)[0]]}
ISLAND = {"code": "island", "polygon": _square(120.612, 31.332, 0.004)}  # inside the donut's hole
BARE = {"code": "bare", "polygon": None}
GRIDS = [WEST, EAST, DONUT, ISLAND, BARE]


def _code(grid) -> str | None:
    return None if grid is None else grid["code"]


def test_a_point_inside_a_grid_finds_it():
    index = GridIndex(GRIDS)
    assert _code(index.find(31.325, 120.575)) == "west"
    assert _code(index.find(31.325, 120.585)) == "east"


def test_a_point_outside_every_grid_finds_none():
    index = GridIndex(GRIDS)
    assert index.find(31.40, 120.575) is None
    assert index.find(0.0, 0.0) is None


def test_a_point_in_a_hole_is_not_in_the_grid_around_it_but_in_the_grid_inside_the_hole():
    index = GridIndex(GRIDS)
    assert _code(index.find(31.325, 120.605)) == "donut"
    assert _code(index.find(31.3395, 120.6195)) is None  # in the hole, outside the island
    assert _code(index.find(31.334, 120.614)) == "island"


def test_a_point_on_a_shared_edge_belongs_to_the_same_one_grid_as_the_ring_test_says():
    index = GridIndex(GRIDS)
    for lat in (31.32, 31.325, 31.33):
        assert _code(index.find(lat, 120.58)) == _code(find_grid(GRIDS, lat, 120.58))
    assert index.find(31.325, 120.58) is not None


def test_grids_without_a_polygon_are_left_out():
    assert len(GridIndex(GRIDS)) == 4


def test_nearest_grid_is_the_closest_centroid_within_the_limit():
    index = GridIndex(GRIDS)
    assert _code(index.nearest(31.325, 120.5695, 600)) == "west"  # 523 m from its centre
    assert index.nearest(31.325, 120.5695, 500) is None
    for lat, lon, limit in ((31.325, 120.5695, 600), (31.31, 120.59, 2000), (31.34, 120.64, 3000)):
        assert _code(index.nearest(lat, lon, limit)) == _code(nearest_grid(GRIDS, lat, lon, limit))


def test_every_demo_point_on_a_fine_lattice_gets_the_ring_tests_answer():
    grids = huqiu.grids()
    index = GridIndex(grids)
    boxes = [bounding_box(grid["polygon"]) for grid in grids]
    min_lon, min_lat = min(b[0] for b in boxes) - 0.001, min(b[1] for b in boxes) - 0.001
    max_lon, max_lat = max(b[2] for b in boxes) + 0.001, max(b[3] for b in boxes) + 0.001
    # the lattice includes the demo's own cell edges and corners (points on boundaries)
    edges_lon = sorted({p[0] for g in grids for ring in g["polygon"] for p in ring})
    edges_lat = sorted({p[1] for g in grids for ring in g["polygon"] for p in ring})
    lons = [min_lon + (max_lon - min_lon) * i / 40 for i in range(41)] + edges_lon
    lats = [min_lat + (max_lat - min_lat) * i / 40 for i in range(41)] + edges_lat
    checked = 0
    for lat, lon in itertools.product(lats, lons):
        assert _code(index.find(lat, lon)) == _code(find_grid(grids, lat, lon)), (lat, lon)
        checked += 1
    assert checked > 1600


def _micro_grids(rows: int, columns: int) -> list[dict]:
    size = 0.002
    return [{"code": f"g{r:03d}{c:03d}", "polygon": _square(120.5 + c * size, 31.3 + r * size, size)}
            for r in range(rows) for c in range(columns)]


def test_on_sanjiangs_1623_micro_grids_the_index_is_faster_than_the_ring_test_and_agrees():
    grids = _micro_grids(39, 42)[:1623]
    index = GridIndex(grids)
    points = [(31.3 + 0.00173 * i % 0.078, 120.5 + 0.00291 * i % 0.084) for i in range(400)]
    started = time.perf_counter()
    indexed = [_code(index.find(lat, lon)) for lat, lon in points]
    index_s = time.perf_counter() - started
    started = time.perf_counter()
    scanned = [_code(find_grid(grids, lat, lon)) for lat, lon in points]
    scan_s = time.perf_counter() - started
    assert indexed == scanned
    assert sum(code is not None for code in indexed) > 300
    assert index_s * 5 < scan_s, (index_s, scan_s)


@pytest.fixture
def database():
    from engine import Base, make_engine, make_sessionmaker
    from workflows.org.models import OrgUnit

    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        session.add(OrgUnit(code="d", name="district", level="district"))
    forget_grids()
    yield sessions, OrgUnit
    forget_grids()
    engine.dispose()


def test_the_database_index_is_built_once_and_rebuilt_when_a_grid_changes(database):
    sessions, OrgUnit = database
    with sessions() as session, session.begin():
        session.add(OrgUnit(code="g1", name="一网格", level="grid", polygon=WEST["polygon"]))
    with sessions() as session:
        first = grid_index(session)
        assert first.find(31.325, 120.575).code == "g1"
        assert grid_index(session) is first
    with sessions() as session, session.begin():
        session.add(OrgUnit(code="g2", name="二网格", level="grid", polygon=EAST["polygon"]))
    with sessions() as session:
        assert grid_index(session) is not first
        assert grid_index(session).find(31.325, 120.585).code == "g2"
    with sessions() as session, session.begin():
        unit = session.query(OrgUnit).filter_by(code="g2").one()
        unit.polygon = _square(120.70, 31.32)  # same length of text: the commit drops the index
    with sessions() as session:
        assert grid_index(session).find(31.325, 120.585) is None
        assert grid_index(session).find(31.325, 120.705).code == "g2"


def test_a_grid_changed_by_another_process_is_seen_within_seconds(database, monkeypatch):
    from sqlalchemy import insert, update

    from workflows.org import gridindex

    sessions, OrgUnit = database
    clock = [1000.0]
    monkeypatch.setattr(gridindex.time, "monotonic", lambda: clock[0])
    with sessions() as session, session.begin():
        session.add(OrgUnit(code="g1", name="一网格", level="grid", polygon=WEST["polygon"]))
    with sessions() as session:
        assert grid_index(session).find(31.325, 120.585) is None
    with sessions() as session, session.begin():  # Core statements: what another process's write looks like here
        session.execute(insert(OrgUnit).values(code="g2", name="二网格", level="grid", polygon=EAST["polygon"]))
    with sessions() as session:
        assert grid_index(session).find(31.325, 120.585) is None  # within 5 s the index is kept
        clock[0] += gridindex.SET_CHECK_S + 1
        assert grid_index(session).find(31.325, 120.585).code == "g2"
    with sessions() as session, session.begin():
        session.execute(update(OrgUnit).where(OrgUnit.code == "g2").values(polygon=_square(120.7, 31.32, 0.0125)))
    with sessions() as session:
        clock[0] += gridindex.SET_CHECK_S + 1
        assert grid_index(session).find(31.325, 120.585).code == "g2"  # same grids: shapes checked every 30 s
        clock[0] += gridindex.SHAPES_CHECK_S
        assert grid_index(session).find(31.325, 120.585) is None
        assert grid_index(session).find(31.325, 120.705).code == "g2"
