"""Trust and safety through the API and the pages: the API's new case carries the reporter's query
code (documented in the OpenAPI document), photos per case are capped with the API's error shape
and on the task page, the fund page refuses a case outside the spender's scope, and a category can
be made public in the admin form."""

from __future__ import annotations

import io

from tests.web import api_world
from tests.web.api_world import Api
from tests.web.conftest import PNG, at_community, do, task_of
from workflows.cases.reporting import public_case_view

api_template, api = api_world.api_template, api_world.api


def test_a_new_case_answers_the_reporters_query_code_which_opens_the_case(api: Api):
    response = api.post("/api/v1/cases", json={"title": "下水管道堵塞", "category": "drain_blocked",
                                              "source": "hotline", "grid": "hq-c04-g03",
                                              "reporter": {"name": "张三", "phone": "13812345678"}})
    assert response.status_code == 201
    body = response.get_json()
    assert public_case_view(api.system, body["number"], body["query_code"])["number"] == body["number"]
    detail = api.get(f"/api/v1/cases/{body['number']}").get_json()
    assert "query_code" not in detail and body["query_code"] not in str(detail), "shown once"
    created = api.client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["CaseCreated"]
    assert "query_code" in created["required"] and "query_code" in created["properties"]


def test_photos_beyond_the_per_case_limit_are_refused_with_the_json_error_shape(api: Api, monkeypatch):
    monkeypatch.setitem(api.system.settings, "max_photos_per_case", 2)
    number = api.report()
    upload = f"/api/v1/cases/{number}/photos"
    files = [(io.BytesIO(PNG), f"p{i}.png") for i in range(3)]
    refused = api.post(upload, "gw", content_type="multipart/form-data", data={"file": files})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["status"] == 422 and error["code"] == "too_many_photos" and "limit of 2 photos" in error["message"]
    ok = api.post(upload, "gw", content_type="multipart/form-data",
                  data={"file": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")]})
    assert ok.status_code == 201
    assert len(api.get(f"/api/v1/cases/{number}").get_json()["attachments"]) == 2


def test_the_task_page_refuses_photos_beyond_the_limit_beside_the_photos_field(client_for, system, monkeypatch):
    monkeypatch.setitem(system.settings, "max_photos_per_case", 1)
    number = at_community(system)
    task = task_of(system, number, "handle")
    client = client_for("coord-hq-c04")
    client.post(f"/inbox/tasks/{task.id}", {"decision": "resolve", "result": "好了"}, token_from="/inbox",
                files={"photos": ("a.png", PNG)})
    do(system, "coord-hq-ws2", number, "verify", {"decision": "rework", "comment": "再看看"})
    task = task_of(system, number, "handle")
    response = client.post(f"/inbox/tasks/{task.id}", {"decision": "resolve", "result": "真好了"},
                           token_from="/inbox", files={"photos": ("b.png", PNG)})
    assert response.status_code == 422
    html = response.data.decode()
    assert 'data-testid="error-photos"' in html and "每个工单最多 1 张照片" in html


def test_the_fund_form_refuses_a_case_outside_the_spenders_community(client_for, system):
    from sqlalchemy import func, select

    from tests.web.conftest import PASSWORD
    from workflows.admin.settings import list_users
    from workflows.coordination.models import FundSpend
    from workflows.people.accounts import create_user

    number = at_community(system)  # community hq-c04, workstation hq-ws2
    if not any(u["username"] == "coord-hq-c05" for u in list_users(system)):
        create_user(system, "coord-hq-c05", "coordinator", org="hq-c05", password=PASSWORD)  # hq-ws2's too
    with system.sessions() as session:
        before = session.scalar(select(func.count(FundSpend.id)))
    response = client_for("coord-hq-c05").post(f"/cases/{number}/fund", {"amount": "10", "purpose": "不属本社区"},
                                               token_from="/inbox")
    assert response.status_code == 403
    with system.sessions() as session:
        assert session.scalar(select(func.count(FundSpend.id))) == before


def test_an_admin_marks_a_category_public_in_the_category_form(client_for, system):
    from workflows.admin.settings import list_categories

    admin = client_for("admin")
    form = {"code": "road_damage", "name": "道路破损、树木倒伏", "parent": "component", "department": "urban",
            "time_limit": "P3D", "active": "1", "public": "1"}
    assert admin.post("/admin/categories", form, token_from="/admin/categories").status_code == 302
    assert next(c for c in list_categories(system) if c["code"] == "road_damage")["public"] is True
    page = admin.get("/admin/categories").data.decode()
    assert 'data-testid="public-road_damage">是' in page
    assert admin.post("/admin/categories", {**form, "public": "0"}, token_from="/admin/categories").status_code == 302
    assert next(c for c in list_categories(system) if c["code"] == "road_damage")["public"] is False
