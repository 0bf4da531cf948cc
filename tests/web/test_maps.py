"""The maps' JSON and the forms that take a point: grid outlines for everyone, nearby open reports
without anything private, counts per grid only for the command centre's viewers in their area, the
case list narrowed to a grid, and a refused point that no longer blocks the address typed next."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.web.conftest import report
from workflows.cases.models import Case
from workflows.clock import now
from workflows.demo import huqiu

GRIDS = {grid["code"]: grid for grid in huqiu.grids()}


def inside(code: str) -> tuple[float, float]:
    return GRIDS[code]["lat"], GRIDS[code]["lon"]


def case_row(system, number: str):
    with system.sessions() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        return case.lat, case.lon, case.grid.code if case.grid else None


def test_grid_outlines_are_public_geojson_with_names_and_no_counts(anonymous):
    response = anonymous.get("/map/grids.json")
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    data = response.get_json()
    assert data["type"] == "FeatureCollection" and len(data["features"]) == len(GRIDS)
    first = data["features"][0]
    assert first["geometry"]["type"] == "Polygon" and first["geometry"]["coordinates"] == GRIDS[first["id"]]["polygon"]
    assert set(first["properties"]) == {"code", "name", "community", "label"}
    assert first["properties"]["label"] == [GRIDS[first["id"]]["lat"], GRIDS[first["id"]]["lon"]]


def test_nearby_open_reports_show_category_status_age_and_a_rough_place_but_nothing_private(anonymous, system):
    lat, lon = inside("hq-c03-g02")
    number = report(system, grid="hq-c03-g02", lat=lat + 0.00031, lon=lon - 0.00027, address="虎丘路秘密88号",
                    description="私密描述内容", reporter={"name": "赵女士", "phone": "13900001111"})
    response = anonymous.get(f"/map/nearby.json?lat={lat}&lon={lon}")
    assert response.status_code == 200
    found = response.get_json()["reports"]
    assert found, "the report 40 m away is nearby"
    item = found[0]
    assert set(item) == {"category", "category_name", "category_name_en", "status", "age_days", "grid_name",
                         "lat", "lon"}
    assert item["category"] == "drain_blocked" and item["status"] == "reported" and item["age_days"] == 0
    assert item["lat"] == round(lat + 0.00031, 3) and item["grid_name"] == GRIDS["hq-c03-g02"]["name"]
    text = response.data.decode()
    for private in ("虎丘路秘密88号", "私密描述内容", "赵女士", "13900001111", number):
        assert private not in text


def test_reports_far_away_or_closed_are_not_nearby(anonymous):
    response = anonymous.get("/map/nearby.json?lat=31.0&lon=121.0")
    assert response.status_code == 200 and response.get_json()["reports"] == []


def test_a_point_that_is_not_a_point_is_refused_naming_the_value(anonymous):
    response = anonymous.get("/map/nearby.json?lat=north&lon=120.5")
    assert response.status_code == 422
    assert "north" in response.get_json()["error"]["message"]
    assert anonymous.get("/map/nearby.json?lat=95&lon=120.5").status_code == 422
    assert anonymous.get("/map/nearby.json").status_code == 422


def test_counts_per_grid_are_for_the_command_centres_viewers_only(anonymous, client_for):
    assert anonymous.get("/map/counts.json").status_code in (302, 401)
    assert client_for("gw-hq-c04-g03").get("/map/counts.json").status_code == 403
    assert client_for("dept-police").get("/map/counts.json").status_code == 403


def test_counts_per_grid_show_open_and_overdue_cases_in_the_viewers_area(client_for, system):
    before = {g["code"]: g for g in client_for("leader").get("/map/counts.json").get_json()["grids"]}
    late = report(system, grid="hq-c04-g05")
    report(system, grid="hq-c04-g05")
    with system.sessions() as session, session.begin():
        session.execute(update(Case).where(Case.number == late).values(due_at=now() - timedelta(hours=2)))
    data = client_for("coord-hq-c04").get("/map/counts.json").get_json()
    assert data["scope"] == "hq-c04"
    assert {g["code"] for g in data["grids"]} == {c for c in GRIDS if c.startswith("hq-c04-")}
    grid = next(g for g in data["grids"] if g["code"] == "hq-c04-g05")
    assert grid["open"] == before["hq-c04-g05"]["open"] + 2
    assert grid["overdue"] == before["hq-c04-g05"]["overdue"] + 1
    assert data["max_open"] >= grid["open"]
    whole = client_for("leader").get("/map/counts.json").get_json()
    assert whole["scope"] is None and len(whole["grids"]) == len(GRIDS)
    narrowed = client_for("leader").get("/map/counts.json?unit=hq-c04").get_json()
    assert narrowed["grids"] == data["grids"]


def test_counts_outside_the_viewers_area_are_forbidden(client_for):
    response = client_for("coord-hq-c04").get("/map/counts.json?unit=hq-c01")
    assert response.status_code == 403 and "hq-c01" in response.get_json()["error"]["message"]


def test_the_case_list_narrows_to_a_grid_from_the_map(client_for, system):
    number = report(system, grid="hq-c04-g06", title="地图下钻测试")
    other = report(system, grid="hq-c04-g07", title="别的网格")
    page = client_for("coord-hq-c04").get("/cases?org_unit=hq-c04-g06&status=open").data.decode()
    assert number in page and other not in page
    assert 'data-testid="place-filter"' in page and GRIDS["hq-c04-g06"]["name"] in page
    missing = client_for("coord-hq-c04").get("/cases?org_unit=nowhere")
    assert missing.status_code == 404 and "nowhere" in missing.data.decode()


def test_a_resident_reports_a_point_and_the_grid_is_worked_out_from_it(anonymous, system):
    lat, lon = inside("hq-c02-g03")
    response = anonymous.post("/report", {"category": "drain_blocked", "description": "井盖缺失，很危险", "grid": "",
                                          "address": "", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}"},
                              token_from="/report")
    assert response.status_code == 302
    number = response.headers["Location"].split("number=")[1].split("&")[0]
    assert case_row(system, number) == (round(lat, 6), round(lon, 6), "hq-c02-g03")


def test_a_refused_point_is_not_sent_back_so_the_typed_address_goes_through(anonymous):
    form = {"category": "drain_blocked", "description": "井盖缺失，很危险", "grid": "", "address": "",
            "lat": "39.9", "lon": "116.4"}
    refused = anonymous.post("/report", form, token_from="/report")
    assert refused.status_code == 422
    html = refused.data.decode()
    assert 'data-testid="error-grid"' in html
    assert 'name="lat" id="lat" value=""' in html and 'name="lon" id="lon" value=""' in html
    again = anonymous.post("/report", dict(form, lat="", lon="", address="虎丘路88号"), token_from="/report")
    assert again.status_code == 302


def test_a_grid_chosen_with_a_point_keeps_the_point(anonymous, system):
    lat, lon = inside("hq-c04-g03")
    response = anonymous.post("/report", {"category": "drain_blocked", "description": "路灯不亮了",
                                          "grid": "hq-c04-g03", "address": "", "lat": f"{lat:.6f}",
                                          "lon": f"{lon:.6f}"},
                              token_from="/report")
    number = response.headers["Location"].split("number=")[1].split("&")[0]
    assert case_row(system, number) == (round(lat, 6), round(lon, 6), "hq-c04-g03")


def test_the_patrol_form_records_the_position_with_the_report(client_for, system):
    lat, lon = inside("hq-c04-g03")
    grid = client_for("gw-hq-c04-g03")
    response = grid.post("/patrol", {"category": "exposed_rubbish", "title": "路边垃圾", "lat": f"{lat:.6f}",
                                     "lon": f"{lon:.6f}"}, token_from="/patrol")
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[-1]
    assert case_row(system, number) == (round(lat, 6), round(lon, 6), "hq-c04-g03")
    page = grid.get(f"/cases/{number}").data.decode()
    assert 'data-testid="case-map"' in page and f'data-lat="{round(lat, 6)}"' in page


def test_a_patrol_position_that_is_not_a_point_is_refused_and_cleared(client_for):
    response = client_for("gw-hq-c04-g03").post("/patrol", {"category": "exposed_rubbish", "title": "路边垃圾",
                                                            "lat": "abc", "lon": "120.5"}, token_from="/patrol")
    assert response.status_code == 422
    html = response.data.decode()
    assert 'data-testid="error-lat"' in html and "abc" in html
    assert 'name="lat" id="lat" value=""' in html


def test_the_pages_load_the_vendored_map_without_tiles_by_default(client_for, anonymous):
    for client, path in ((anonymous, "/report"), (client_for("leader"), "/dashboard"),
                         (client_for("gw-hq-c04-g03"), "/patrol")):
        html = client.get(path).data.decode()
        assert "/static/vendor/leaflet/dist/leaflet.js" in html and "/static/js/maps.js" in html
        assert 'data-map="' in html and 'data-tiles=""' in html


def test_a_tile_url_must_name_z_x_and_y():
    from web.app import map_tiles

    assert map_tiles("") == "" and map_tiles(None) == ""
    assert map_tiles(" https://tiles.example.org/{z}/{x}/{y}.png ") == "https://tiles.example.org/{z}/{x}/{y}.png"
    for bad in ("https://tiles.example.org/tile.png", "javascript:alert(1)//{z}{x}{y}"):
        try:
            map_tiles(bad)
        except ValueError as error:
            assert repr(bad) in str(error)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_a_tile_url_set_in_the_settings_reaches_the_map(web_app, anonymous):
    web_app.config["MAP_TILES"] = "https://tiles.example.org/{z}/{x}/{y}.png"
    try:
        html = anonymous.get("/report").data.decode()
    finally:
        web_app.config["MAP_TILES"] = ""
    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in html
