"""One error shape for every status, bearer tokens and their revocation, and JSON for unknown paths."""

from __future__ import annotations

import pytest

from tests.web import api_world
from tests.web.api_world import Api
from workflows.people.tokens import revoke_token

api_template, api = api_world.api_template, api_world.api


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status and isinstance(error["details"], list) and error["message"]
    if code:
        assert error["code"] == code
    return error


def test_every_status_has_the_one_error_shape(api: Api):
    number = api.report()
    task = api.task_of(number)
    assert_error(api.post("/api/v1/cases", data="{", content_type="application/json"), 400, "malformed_json")
    assert_error(api.get("/api/v1/cases", None), 401, "unauthorized")
    assert_error(api.get(f"/api/v1/cases/{number}", "coord-c05"), 403, "forbidden")
    assert_error(api.get("/api/v1/cases/GL00000000-0000"), 404, "not_found")
    assert_error(api.delete("/api/v1/cases"), 405, "method_not_allowed")
    api.complete(number, "gw", decision="accept")
    assert_error(api.post(f"/api/v1/tasks/{task['id']}/complete", "gw", json={"decision": "accept"}), 409)
    assert_error(api.post("/api/v1/cases", json={"title": "x" * (1024 * 1024 + 10)}), 413, "too_large")
    assert_error(api.post("/api/v1/cases", data="title=x"), 415, "unsupported_media_type")
    assert_error(api.post("/api/v1/cases", json={"title": "x"}), 422, "invalid_input")


def test_unknown_paths_and_wrong_methods_under_the_api_answer_json_never_html(api: Api):
    assert_error(api.get("/api/v1/no/such/thing"), 404)
    assert_error(api.get("/api/v1/meetings/not-a-number"), 404)
    assert_error(api.get("/api/v1/nothing", None), 404)
    assert_error(api.get("/api/v1/"), 404)
    response = api.client.put("/api/v1/org-units", headers=api.headers("admin"))
    assert_error(response, 405)
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize("body", ["[1, 2]", "\"text\"", "null", "", "\xff\xfe", "{\"a\": " * 5000])
def test_bodies_that_are_not_a_json_object_answer_400(api: Api, body: str):
    response = api.post("/api/v1/cases", data=body.encode("latin-1"), content_type="application/json")
    assert_error(response, 400)


def test_a_wrong_bearer_scheme_or_unknown_token_answers_401_with_a_challenge(api: Api):
    response = api.get("/api/v1/cases", None, headers={"Authorization": f"Basic {api.tokens['admin']}"})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = api.get("/api/v1/cases", None, headers={"Authorization": "Bearer glk_nonsense"})
    assert_error(response, 401, "invalid_token")


def test_a_revoked_token_stops_working_at_once(api: Api):
    assert api.get("/api/v1/departments", "gw").status_code == 200
    assert api.delete("/api/v1/tokens/current", "gw").status_code == 204
    assert_error(api.get("/api/v1/departments", "gw"), 401, "invalid_token")


def test_a_token_revoked_by_an_administrator_is_refused(api: Api):
    revoke_token(api.system, api.tokens["dept-police"])
    assert_error(api.get("/api/v1/tasks", "dept-police"), 401)
    assert api.get("/api/v1/tasks", "dept-fire").status_code == 200


def test_session_cookies_do_not_authenticate_the_api(api: Api):
    api.client.set_cookie("session", "forged")
    assert_error(api.get("/api/v1/cases", None), 401)


def test_the_api_needs_no_csrf_token_for_bearer_requests(api: Api):
    api.app.config["WTF_CSRF_ENABLED"] = True
    response = api.post("/api/v1/cases", json={"title": "x", "category": "drain_blocked", "source": "hotline",
                                               "grid": "hq-c04-g03"})
    assert response.status_code == 201


@pytest.mark.parametrize("body", ['{"title": NaN}', '{"title": Infinity}'])
def test_non_standard_json_numbers_answer_400(api: Api, body: str):
    assert_error(api.post("/api/v1/cases", data=body, content_type="application/json"), 400, "malformed_json")


def test_a_nul_character_in_any_text_answers_422_naming_the_field(api: Api):
    response = api.post("/api/v1/cases", json={"title": "a\u0000b", "category": "drain_blocked",
                                               "source": "hotline", "grid": "hq-c04-g03"})
    assert assert_error(response, 422)["details"][0]["field"] == "title"
    nested = "[" * 900 + "]" * 900
    response = api.post("/api/v1/cases", data=f'{{"reporter": {nested}}}', content_type="application/json")
    assert response.status_code in (400, 422)


def test_a_nul_character_in_a_path_or_query_answers_400_not_a_database_error(api: Api):
    assert_error(api.get("/api/v1/cases/GL%00"), 400)
    assert_error(api.get("/api/v1/tasks?case_number=%00"), 400)
    assert_error(api.post("/api/v1/tasks/%00/complete", json={"decision": "accept"}), 400)
