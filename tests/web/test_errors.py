"""One handler per error family answers in the format of the address: the API's JSON shape, the
Open311 error list, JSON for page-side JSON endpoints, HTML for pages; one status map for all."""

from __future__ import annotations

import pytest

from engine import errors as engine_errors
from tests.apps import make_app
from workflows.errors import Conflict, DomainError, InvalidInput


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("errors-instance"), "errors-tests", prepare=False)

    def raise_(error):
        def view(**_):
            raise error
        return view

    routes = {
        "/api/v1/probe/engine": engine_errors.NotFound("no task 't-1'; it may have been completed"),
        "/api/v1/probe/process": DomainError("the process could not continue", code="process_error"),
        "/api/v1/probe/crash": RuntimeError("boom"),
        "/probe/engine": engine_errors.Conflict("the task was completed by someone else"),
        "/probe/invalid": InvalidInput("unknown category 'drain'", field="category"),
        "/probe/data.json": Conflict("already changed"),
        "/open311/v2/probe.json": InvalidInput("unknown service_code 'x'"),
    }
    for path, error in routes.items():
        app.add_url_rule(path, path, raise_(error))
    return app


def test_an_engine_error_on_the_api_answers_the_api_shape_with_the_domain_status(app):
    response = app.test_client().get("/api/v1/probe/engine")
    assert response.status_code == 404
    assert response.get_json()["error"] == {"status": 404, "code": "not_found",
                                             "message": "no task 't-1'; it may have been completed", "details": []}


def test_the_api_and_the_pages_take_a_domain_error_status_from_one_map(app):
    client = app.test_client()
    assert client.get("/api/v1/probe/process").status_code == 409
    page = client.get("/probe/engine")
    assert page.status_code == 409 and page.mimetype == "text/html"
    invalid = client.get("/probe/invalid")
    assert invalid.status_code == 422 and "drain" in invalid.get_data(as_text=True)


def test_a_page_side_json_endpoint_answers_json_and_open311_its_own_error_list(app):
    client = app.test_client()
    data = client.get("/probe/data.json")
    assert data.status_code == 409 and data.get_json()["error"]["code"] == "conflict"
    open311 = client.get("/open311/v2/probe.json")
    assert open311.status_code == 400
    assert open311.get_json() == [{"code": 400, "description": "unknown service_code 'x'"}]


def test_an_unexpected_error_on_the_api_is_a_logged_500_in_the_api_shape(app):
    response = app.test_client().get("/api/v1/probe/crash")
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"


def test_an_unknown_api_path_answers_the_api_shape(app):
    response = app.test_client().get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
