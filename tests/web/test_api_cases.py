"""POST/GET /api/v1/cases: reporting, the case record, filters, paging and who may read what."""

from __future__ import annotations

import io
from datetime import datetime

from tests.web import api_world
from tests.web.api_world import Api

api_template, api = api_world.api_template, api_world.api


def test_reporting_a_case_answers_201_with_number_status_level_unit_and_due(api: Api):
    response = api.post("/api/v1/cases", json={"title": "暴露垃圾", "category": "exposed_rubbish",
                                               "source": "hotline", "grid": "hq-c04-g03"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= {"number", "status", "level", "org_unit", "due_at"}
    assert body["status"] == "reported" and body["level"] == "grid" and body["org_unit"] == "hq-c04-g03"
    assert response.headers["Location"].endswith(f"/api/v1/cases/{body['number']}")


def test_the_report_answer_names_the_unit_the_process_gave_the_case(api: Api):
    # a district coordinator's report enters at the district centre although it names a grid
    body = api.post("/api/v1/cases", "coord-district", json={"title": "暴露垃圾", "category": "exposed_rubbish",
                                                               "source": "hotline", "grid": "hq-c04-g03"}).get_json()
    stored = api.get(f"/api/v1/cases/{body['number']}").get_json()
    assert (body["level"], body["org_unit"]) == (stored["level"], stored["org_unit"]) == ("district", "district")
    timeline = stored["timeline"]
    assert timeline[0]["kind"] == "reported" and timeline[0]["at"] == stored["created_at"]


def test_a_case_located_by_lat_lon_lands_in_the_grid_holding_the_point(api: Api):
    grid = api.get("/api/v1/org-units?level=grid&per_page=1").get_json()["items"][0]
    response = api.post("/api/v1/cases", json={"title": "路面破损", "category": "road_damage", "source": "sensor",
                                               "lat": grid["lat"], "lon": grid["lon"]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["org_unit"] == grid["code"]


def test_a_case_with_only_an_address_is_registered_at_the_district_centre(api: Api):
    response = api.post("/api/v1/cases", json={"title": "违章停车", "category": "illegal_parking",
                                               "source": "hotline", "address": "虎丘路 1 号"})
    assert response.status_code == 201
    assert response.get_json()["level"] == "district"


def test_a_grid_worker_self_closes_a_small_matter_which_enters_at_verification(api: Api):
    response = api.post("/api/v1/cases", "gw", json={"title": "飞线充电", "category": "dangerous_wiring",
                                                     "source": "patrol", "grid": "hq-c04-g03",
                                                     "self_closed": {"result": "已拆除飞线"}})
    assert response.status_code == 201
    assert response.get_json()["status"] == "resolved"


def test_one_case_has_its_timeline_open_tasks_and_iso_times_with_a_zone(api: Api):
    number = api.report()
    case = api.get(f"/api/v1/cases/{number}").get_json()
    for field in ("number", "title", "description", "category", "source", "status", "level", "org_unit",
                  "due_at", "created_at", "closed_at", "timeline", "open_tasks"):
        assert field in case
    assert case["timeline"][0]["kind"] == "reported"
    assert set(case["timeline"][0]) >= {"at", "kind", "actor", "level", "note"}
    assert datetime.fromisoformat(case["created_at"]).tzinfo is not None
    assert datetime.fromisoformat(case["timeline"][0]["at"]).tzinfo is not None
    assert case["open_tasks"][0]["case_number"] == number


def test_invalid_case_fields_answer_422_naming_each_field(api: Api):
    response = api.post("/api/v1/cases", json={"title": 5, "category": "drain_blocked", "source": "pigeon",
                                               "grid": "hq-c04-g03", "colour": "red"})
    assert response.status_code == 422
    fields = {d["field"] for d in response.get_json()["error"]["details"]}
    assert fields == {"title", "source", "colour"}


def test_an_unknown_category_or_grid_answers_422_with_the_accepted_values(api: Api):
    response = api.post("/api/v1/cases", json={"title": "x", "category": "drain", "source": "hotline",
                                               "grid": "hq-c04-g03"})
    assert response.status_code == 422
    assert "drain_blocked" in response.get_json()["error"]["message"]
    response = api.post("/api/v1/cases", json={"title": "x", "category": "drain_blocked", "source": "hotline",
                                               "grid": "nowhere"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "grid"


def test_a_report_without_any_location_answers_422(api: Api):
    response = api.post("/api/v1/cases", json={"title": "x", "category": "drain_blocked", "source": "hotline"})
    assert response.status_code == 422


def test_the_case_list_is_paged_newest_first(api: Api):
    numbers = [api.report(title=f"case {i}") for i in range(3)]
    first = api.get("/api/v1/cases?per_page=2&page=1").get_json()
    second = api.get("/api/v1/cases?per_page=2&page=2").get_json()
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 3)
    assert [c["number"] for c in first["items"] + second["items"]] == numbers[::-1]


def test_the_case_list_filters_by_status_level_org_unit_and_overdue(api: Api):
    number = api.report()
    other_grid = api.get("/api/v1/org-units?parent=hq-c05&per_page=1").get_json()["items"][0]["code"]
    api.report(grid=other_grid)
    api.post("/api/v1/cases", json={"title": "hotline", "category": "illegal_parking", "source": "hotline",
                                    "address": "somewhere"})
    assert [c["number"] for c in api.get("/api/v1/cases?org_unit=hq-c04").get_json()["items"]] == [number]
    assert api.get("/api/v1/cases?level=district").get_json()["total"] == 1
    assert api.get("/api/v1/cases?status=closed").get_json()["total"] == 0
    assert api.get("/api/v1/cases?status=reported").get_json()["total"] == api.get("/api/v1/cases").get_json()[
        "total"]
    assert api.get("/api/v1/cases?overdue=true").get_json()["total"] == 0
    assert api.get("/api/v1/cases?overdue=false").get_json()["total"] == api.get("/api/v1/cases").get_json()[
        "total"]


def test_bad_filters_answer_400_for_syntax_and_422_for_unknown_values(api: Api):
    assert api.get("/api/v1/cases?page=two").status_code == 400
    assert api.get("/api/v1/cases?overdue=maybe").status_code == 400
    assert api.get("/api/v1/cases?page=0").status_code == 422
    assert api.get("/api/v1/cases?per_page=100000").status_code == 422
    response = api.get("/api/v1/cases?status=lost")
    assert response.status_code == 422 and response.get_json()["error"]["details"][0]["field"] == "status"
    assert api.get("/api/v1/cases?org_unit=atlantis").status_code == 422
    assert api.get("/api/v1/cases?level=planet").status_code == 422


def test_a_grid_worker_sees_only_their_grid_and_a_coordinator_their_subtree(api: Api):
    mine = api.report()
    other = api.report(grid="hq-c04-g01")
    assert [c["number"] for c in api.get("/api/v1/cases", "gw").get_json()["items"]] == [mine]
    assert api.get(f"/api/v1/cases/{other}", "gw").status_code == 403
    assert {c["number"] for c in api.get("/api/v1/cases", "coord-c04").get_json()["items"]} == {mine, other}
    assert {c["number"] for c in api.get("/api/v1/cases", "coord-ws2").get_json()["items"]} == {mine, other}
    assert api.get("/api/v1/cases", "coord-c05").get_json()["total"] == 0
    assert api.get(f"/api/v1/cases/{mine}", "coord-c05").status_code == 403
    assert api.get("/api/v1/cases", "leader").get_json()["total"] == 2
    assert api.get("/api/v1/cases?org_unit=hq-c04&status=reported", "coord-ws2").get_json()["total"] == 2
    assert api.get("/api/v1/cases?org_unit=hq-c04-g01", "coord-c04").get_json()["items"][0]["number"] == other


def test_a_department_reads_only_cases_dispatched_to_it_with_the_reporter_phone_masked(api: Api):
    number, _ = api.dispatched("police")
    api.report()
    assert [c["number"] for c in api.get("/api/v1/cases", "dept-police").get_json()["items"]] == [number]
    case = api.get(f"/api/v1/cases/{number}", "dept-police").get_json()
    assert case["reporter"]["phone"] == "138****5678"
    assert "13812345678" not in api.get(f"/api/v1/cases/{number}", "dept-police").get_data(as_text=True)
    assert api.get(f"/api/v1/cases/{number}", "dept-urban").status_code == 403
    assert api.get("/api/v1/cases", "dept-urban").get_json()["total"] == 0
    assert api.get(f"/api/v1/cases/{number}", "admin").get_json()["reporter"]["phone"] == "13812345678"


def test_an_unknown_case_number_answers_404(api: Api):
    response = api.get("/api/v1/cases/GL19990101-0001")
    assert response.status_code == 404
    assert "GL19990101-0001" in response.get_json()["error"]["message"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_photos_uploaded_to_a_case_can_be_named_in_a_resolution(api: Api):
    number = api.report()
    api.complete(number, "gw", decision="accept")
    response = api.post(f"/api/v1/cases/{number}/photos", "gw", content_type="multipart/form-data",
                        data={"file": [(io.BytesIO(PNG), "before.png"), (io.BytesIO(PNG), "after.png")]})
    assert response.status_code == 201, response.get_json()
    refs = response.get_json()["photos"]
    assert len(refs) == 2
    after = api.complete(number, "gw", decision="resolve", result="已疏通", photos=refs)
    assert after["status"] == "resolved"
    case = api.get(f"/api/v1/cases/{number}").get_json()
    assert {a["ref"] for a in case["attachments"]} == set(refs)


def test_a_photo_upload_that_is_no_image_or_outside_the_scope_is_refused(api: Api):
    number = api.report()
    upload = f"/api/v1/cases/{number}/photos"
    assert api.post(upload, "gw", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"just text"), "note.txt")}).status_code == 422
    assert api.post(upload, "gw-other", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(PNG), "x.png")}).status_code == 403
    assert api.post(upload, "gw", json={"file": "x"}).status_code == 415
    assert api.post(upload, "gw", content_type="multipart/form-data", data={"other": "x"}).status_code == 422
    assert api.post("/api/v1/cases/GL19990101-0001/photos", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(PNG), "x.png")}).status_code == 404
