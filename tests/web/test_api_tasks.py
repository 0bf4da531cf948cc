"""GET /api/v1/tasks, GET /api/v1/tasks/<id>, claim and complete: forms, conflicts and scoping."""

from __future__ import annotations

from tests.web import api_world
from tests.web.api_world import Api

api_template, api = api_world.api_template, api_world.api


def test_the_task_list_shows_the_callers_tasks_with_the_product_fields(api: Api):
    number = api.report()
    page = api.get("/api/v1/tasks", "gw").get_json()
    assert (page["page"], page["total"]) == (1, 1)
    task = page["items"][0]
    for field in ("id", "name", "title", "case_number", "level", "org_unit", "department", "claimed_by",
                  "due_at", "overdue"):
        assert field in task
    assert (task["case_number"], task["org_unit"], task["level"]) == (number, "hq-c04-g03", "grid")
    assert api.get("/api/v1/tasks", "gw-other").get_json()["total"] == 0


def test_one_task_carries_its_form_as_a_json_schema(api: Api):
    api.report()
    task = api.get("/api/v1/tasks", "gw").get_json()["items"][0]
    detail = api.get(f"/api/v1/tasks/{task['id']}", "gw").get_json()
    assert detail["form"]["type"] == "object"
    assert "decision" in detail["form"]["properties"]


def test_claiming_marks_the_task_and_a_second_claimant_gets_409(api: Api):
    api.report()
    api.post("/api/v1/cases", "admin", json={"title": "x", "category": "drain_blocked", "source": "hotline",
                                             "grid": "hq-c04-g03"})
    task = api.get("/api/v1/tasks", "gw").get_json()["items"][0]
    response = api.post(f"/api/v1/tasks/{task['id']}/claim", "gw")
    assert response.status_code == 200 and response.get_json()["claimed_by"] == "gw"
    assert api.post(f"/api/v1/tasks/{task['id']}/claim", "admin").status_code == 409
    assert api.get("/api/v1/tasks?claimed_by=gw", "gw").get_json()["total"] == 1


def test_completing_moves_the_case_on_and_a_second_completion_answers_409(api: Api):
    number = api.report()
    task = api.task_of(number)
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", "gw", json={"decision": "accept"})
    assert response.status_code == 200
    after = response.get_json()
    assert after["status"] == "open" and after["open_tasks"][0]["name"] != task["name"]
    again = api.post(f"/api/v1/tasks/{task['id']}/complete", "gw", json={"decision": "accept"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"


def test_invalid_completion_data_answers_422_with_details_per_field(api: Api):
    number = api.report()
    api.complete(number, "gw", decision="accept")
    task = api.task_of(number)
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", "gw", json={"decision": "teleport"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "decision"
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", "gw",
                        json={"decision": "escalate", "reason": 42})
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["error"]["details"]] == ["reason"]


def test_fields_outside_the_form_are_refused_so_a_client_cannot_move_a_case_by_hand(api: Api):
    number = api.report()
    api.complete(number, "gw", decision="accept")
    task = api.task_of(number)
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", "gw",
                        json={"decision": "escalate", "reason": "too big", "level": "subcentre", "sla": {}})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert [d["field"] for d in details] == ["level", "sla"]
    assert "not a field of this form" in details[0]["message"]
    case = api.get(f"/api/v1/cases/{number}", "admin").get_json()
    assert (case["level"], case["open_tasks"][0]["id"]) == ("grid", task["id"])


def test_odd_photo_references_and_dates_past_the_calendar_answer_422(api: Api):
    number = api.report()
    api.complete(number, "gw", decision="accept")
    task = api.task_of(number)
    url = f"/api/v1/tasks/{task['id']}/complete"
    response = api.post(url, "gw", json={"decision": "resolve", "result": "done", "photos": [{}]})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"].startswith("photos")
    response = api.post(url, "gw", json={"decision": "convene", "departments": ["police"], "place": "x",
                                         "topic": "y", "urgency": "routine",
                                         "scheduled_at": "9999-12-31T23:00:00-10:00"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "scheduled_at"
    assert api.task_of(number)["id"] == task["id"]


def test_department_a_cannot_read_claim_or_complete_department_bs_task(api: Api):
    number, task = api.dispatched("police")
    assert task["department"] == "police"
    assert [t["id"] for t in api.get("/api/v1/tasks", "dept-police").get_json()["items"]] == [task["id"]]
    assert api.get("/api/v1/tasks", "dept-urban").get_json()["total"] == 0
    assert api.get(f"/api/v1/tasks?case_number={number}", "dept-urban").get_json()["total"] == 0
    assert api.get(f"/api/v1/tasks/{task['id']}", "dept-urban").status_code == 403
    assert api.post(f"/api/v1/tasks/{task['id']}/claim", "dept-urban").status_code == 403
    denied = api.post(f"/api/v1/tasks/{task['id']}/complete", "dept-urban", json={"decision": "accept"})
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    done = api.post(f"/api/v1/tasks/{task['id']}/complete", "dept-police", json={"decision": "accept"})
    assert done.status_code == 200


def test_a_leader_reads_every_task_but_may_not_complete_one(api: Api):
    number = api.report()
    task = api.task_of(number)
    assert api.get("/api/v1/tasks", "leader").get_json()["total"] == 1
    assert api.get(f"/api/v1/tasks/{task['id']}", "leader").status_code == 200
    assert api.post(f"/api/v1/tasks/{task['id']}/complete", "leader", json={"decision": "accept"}).status_code \
        == 403


def test_an_unknown_task_answers_404(api: Api):
    assert api.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.post("/api/v1/tasks/nope/complete", json={"decision": "accept"}).status_code == 404
    assert api.post("/api/v1/tasks/nope/claim").status_code == 404


def test_the_task_list_filters_by_department_and_overdue(api: Api):
    api.dispatched("police")
    assert api.get("/api/v1/tasks?department=police").get_json()["total"] == 1
    assert api.get("/api/v1/tasks?department=fire").get_json()["total"] == 0
    assert api.get("/api/v1/tasks?overdue=true").get_json()["total"] == 0
    assert api.get("/api/v1/tasks?department=pets").status_code == 422


def test_a_meeting_shows_summoned_departments_and_is_hidden_from_others(api: Api):
    number = api.report()
    api.complete(number, "gw", decision="accept")
    api.complete(number, "gw", decision="convene", departments=["police", "urban"],
                 scheduled_at="2026-12-01T09:00:00+08:00", place="社区会议室", topic="停车难", urgency="routine")
    meeting_id = api.get(f"/api/v1/cases/{number}").get_json()["meetings"][0]
    meeting = api.get(f"/api/v1/meetings/{meeting_id}", "dept-police").get_json()
    assert {s["department"] for s in meeting["summoned"]} == {"police", "urban"}
    assert all(s["reported_at"] is None for s in meeting["summoned"])
    assert meeting["actions"] == [] and meeting["minutes"] is None
    assert api.get(f"/api/v1/meetings/{meeting_id}", "dept-fire").status_code == 403
    assert api.get(f"/api/v1/meetings/{meeting_id}", "coord-c04").status_code == 200
    assert api.get("/api/v1/meetings/99999").status_code == 404


def test_the_task_list_searches_sorts_and_looks_below_like_the_inbox(api: Api):
    first = api.report(title="路灯不亮", address="虎丘路 88 号")
    second = api.report(title="井盖松动")
    assert [t["case_number"] for t in api.get("/api/v1/tasks?q=路灯", "gw").get_json()["items"]] == [first]
    assert [t["case_number"] for t in api.get("/api/v1/tasks?q=虎丘路 88", "gw").get_json()["items"]] == [first]
    newest = api.get("/api/v1/tasks?sort=newest", "gw").get_json()["items"]
    assert [t["case_number"] for t in newest] == [second, first]
    assert api.get("/api/v1/tasks", "coord-ws2").get_json()["total"] == 0
    below = api.get("/api/v1/tasks?below=true", "coord-ws2").get_json()
    assert {t["case_number"] for t in below["items"]} == {first, second}


def test_the_task_list_refuses_a_level_the_caller_does_not_see_and_an_unknown_sort(api: Api):
    refused = api.get("/api/v1/tasks?level=district", "gw")
    assert refused.status_code == 422 and "district" in refused.get_json()["error"]["message"]
    assert api.get("/api/v1/tasks?level=grid", "gw").status_code == 200
    assert api.get("/api/v1/tasks?sort=oldest", "gw").status_code == 422
    assert api.get("/api/v1/tasks?below=true", "gw").status_code == 422
