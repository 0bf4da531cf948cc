"""Reference data (org units, departments, categories) and process definitions through the API."""

from __future__ import annotations

import io
from pathlib import Path

from tests.apps import BPMN_DIR
from tests.web import api_world
from tests.web.api_world import Api

api_template, api = api_world.api_template, api_world.api

DISPATCH = (Path(BPMN_DIR) / "department_dispatch.bpmn").read_text(encoding="utf-8")


def changed_dispatch() -> str:
    """The shipped department process with a different name: new content, so a new version."""
    return DISPATCH.replace('name="', 'name="v2 ', 1)


def test_org_units_list_the_huqiu_tree_with_parents(api: Api):
    page = api.get("/api/v1/org-units?per_page=200").get_json()
    assert page["total"] == 1 + 1 + 6 + 20 + 156
    by_code = {u["code"]: u for u in page["items"]}
    assert by_code["district"] == {**by_code["district"], "level": "district", "parent": None}
    assert by_code["hq-ws2"]["parent"] == "huqiu"
    grids = api.get("/api/v1/org-units?parent=hq-c04&per_page=200").get_json()["items"]
    assert grids and {g["level"] for g in grids} == {"grid"} and {g["parent"] for g in grids} == {"hq-c04"}


def test_departments_list_codes_and_names(api: Api):
    items = api.get("/api/v1/departments", "dept-fire").get_json()["items"]
    assert {"police", "fire", "urban", "sanitation", "housing", "planning", "market", "safety", "enforcement",
            "civil"} <= {d["code"] for d in items}
    assert all(set(d) == {"code", "name"} for d in items)


def test_categories_carry_parent_department_and_an_iso_time_limit(api: Api):
    items = api.get("/api/v1/categories?per_page=100").get_json()["items"]
    drain = next(c for c in items if c["code"] == "drain_blocked")
    assert (drain["parent"], drain["department"], drain["time_limit"]) == ("component", "housing", "P5D")
    events = api.get("/api/v1/categories?parent=event&per_page=100").get_json()["items"]
    assert "illegal_parking" in {c["code"] for c in events}
    assert api.get("/api/v1/categories?parent=nothing").status_code == 422


def test_process_definitions_list_the_deployed_versions_to_admins_only(api: Api):
    assert api.get("/api/v1/process-definitions", "leader").status_code == 403
    page = api.get("/api/v1/process-definitions", "admin").get_json()
    assert {v["process_id"] for v in page["items"]} >= {"case_handling", "department_dispatch", "joint_meeting"}
    assert api.get("/api/v1/process-definitions?process_id=joint_meeting").get_json()["total"] == 1


def test_an_admin_deploys_a_raw_xml_body_as_a_new_version(api: Api):
    response = api.post("/api/v1/process-definitions?filename=department_dispatch.bpmn",
                        data=changed_dispatch().encode(), content_type="application/xml")
    assert response.status_code == 201, response.get_json()
    versions = response.get_json()["versions"]
    dispatch = next(v for v in versions if v["process_id"] == "department_dispatch")
    assert dispatch["version"] == 2 and dispatch["created"] and dispatch["active"]


def test_deploying_identical_content_again_creates_nothing(api: Api):
    response = api.post("/api/v1/process-definitions?filename=department_dispatch.bpmn",
                        data=DISPATCH.encode(), content_type="application/xml")
    assert response.status_code == 200
    assert not any(v["created"] for v in response.get_json()["versions"])


def test_an_admin_deploys_several_multipart_file_parts(api: Api):
    form = (Path(BPMN_DIR) / "dept_accept.schema.json").read_bytes()
    response = api.post("/api/v1/process-definitions", content_type="multipart/form-data", data={
        "file": [(io.BytesIO(changed_dispatch().encode()), "department_dispatch.bpmn"),
                 (io.BytesIO(form), "dept_accept.schema.json")]})
    assert response.status_code == 201, response.get_json()


def test_an_invalid_definition_answers_422_with_file_element_and_line(api: Api):
    broken = DISPATCH.replace('targetRef="', 'targetRef="missing_', 1)
    response = api.post("/api/v1/process-definitions", content_type="multipart/form-data",
                        data={"file": [(io.BytesIO(broken.encode()), "department_dispatch.bpmn")]})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_definition"
    problem = error["details"][0]
    assert problem["file"] == "department_dispatch.bpmn" and problem["element_id"] and problem["line"] > 1
    assert api.get("/api/v1/process-definitions?process_id=department_dispatch").get_json()["total"] == 1


def test_malformed_xml_answers_422_with_its_line(api: Api):
    response = api.post("/api/v1/process-definitions?filename=x.bpmn", data=b"<definitions>\n<oops",
                        content_type="application/xml")
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["line"] >= 1


def test_only_admins_deploy(api: Api):
    response = api.post("/api/v1/process-definitions?filename=department_dispatch.bpmn",
                        data=changed_dispatch().encode(), content_type="application/xml", user="coord-district")
    assert response.status_code == 403


def test_deploy_requests_in_other_shapes_answer_400_or_415(api: Api):
    assert api.post("/api/v1/process-definitions", json={"file": "x"}).status_code == 415
    assert api.post("/api/v1/process-definitions", content_type="multipart/form-data",
                    data={"other": (io.BytesIO(b"x"), "x.bpmn")}).status_code == 400
    assert api.post("/api/v1/process-definitions?filename=../x.bpmn", data=b"<x/>",
                    content_type="application/xml").status_code == 400
    assert api.post("/api/v1/process-definitions?filename=x.bpmn", data="<x/>".encode("utf-16"),
                    content_type="application/xml").status_code == 400
