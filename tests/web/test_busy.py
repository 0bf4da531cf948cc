"""A write that finds the database busy is answered "busy, try again", never a 500."""

from __future__ import annotations

from engine import Busy
from workflows.people.tokens import create_token
from workflows.reads import pages as webviews
from workflows.reads import queries


def _busy(*_args, **_kwargs):
    raise Busy(5.0)


def test_the_api_answers_a_busy_database_with_503_and_retry_after(system, web_app, monkeypatch):
    token = create_token(system, "admin", "busy-test")
    monkeypatch.setattr(queries, "list_categories", _busy)
    response = web_app.test_client().get("/api/v1/categories", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    error = response.get_json()["error"]
    assert error["status"] == 503 and error["code"] == "busy"
    assert "busy" in error["message"] and "try again" in error["message"]


def test_a_page_answers_a_busy_database_with_a_plain_503_page(web_app, monkeypatch):
    monkeypatch.setattr(webviews, "categories", _busy)
    response = web_app.test_client().get("/report")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "系统当前繁忙" in response.get_data(as_text=True)
