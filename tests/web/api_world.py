"""Fixtures for the API and Open311 tests: the real app on a SQLite copy of one prepared database.

The database (schema, Huqiu reference data, shipped diagrams, users and their API tokens) is built
once per test session; every test gets its own copy, so tests stay independent and fast.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.apps import app_config, make_app
from web.app import create_app
from web.system import system_of
from workflows.people.accounts import create_user
from workflows.people.tokens import create_token

PEOPLE = [
    ("admin", "admin", None, None),
    ("leader", "leader", None, None),
    ("gw", "grid_worker", "hq-c04-g03", None),
    ("gw-other", "grid_worker", "hq-c04-g01", None),
    ("coord-c04", "coordinator", "hq-c04", None),
    ("coord-c05", "coordinator", "hq-c05", None),
    ("coord-ws2", "coordinator", "hq-ws2", None),
    ("coord-district", "coordinator", "district", None),
    ("dept-police", "department", None, "police"),
    ("dept-urban", "department", None, "urban"),
    ("dept-fire", "department", None, "fire"),
]


def _config(instance: Path) -> dict:
    return app_config(instance, "test", RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=True)


@pytest.fixture(scope="session")
def api_template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A prepared database file and the API token of every test user."""
    instance = tmp_path_factory.mktemp("api-template")
    app = make_app(instance, "test", RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=True)
    system = system_of(app)
    tokens = {}
    for username, role, org, department in PEOPLE:
        create_user(system, username, role, org=org, department=department, password="password-1")
        tokens[username] = create_token(system, username, "tests")
    system.db.dispose()
    return instance / "gridlink.db", tokens


@dataclass
class Api:
    """The app under test with a client per user: ``api.as_("gw").get(...)``."""

    app: object
    client: FlaskClient
    tokens: dict[str, str]

    @property
    def system(self):
        return system_of(self.app)

    def headers(self, username: str | None) -> dict:
        return {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}

    def get(self, path: str, user: str | None = "admin", **kwargs):
        return self.client.get(path, headers={**self.headers(user), **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, user: str | None = "admin", **kwargs):
        return self.client.post(path, headers={**self.headers(user), **kwargs.pop("headers", {})}, **kwargs)

    def delete(self, path: str, user: str | None = "admin", **kwargs):
        return self.client.delete(path, headers={**self.headers(user), **kwargs.pop("headers", {})}, **kwargs)

    # --- driving cases ------------------------------------------------------------------
    def report(self, user: str = "admin", **fields) -> str:
        body = {"title": "下水管道堵塞", "description": "楼道下水管道堵了", "category": "drain_blocked",
                "source": "hotline", "grid": "hq-c04-g03", "reporter": {"name": "张三", "phone": "13812345678"},
                **fields}
        response = self.post("/api/v1/cases", user, json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["number"]

    def task_of(self, number: str, user: str = "admin") -> dict:
        items = self.get(f"/api/v1/tasks?case_number={number}", user).get_json()["items"]
        assert len(items) == 1, items
        return items[0]

    def complete(self, number: str, user: str, **data) -> dict:
        task = self.task_of(number)
        response = self.post(f"/api/v1/tasks/{task['id']}/complete", user, json=data)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def dispatched(self, department: str = "police") -> tuple[str, dict]:
        """A case registered and dispatched by grid hq-c04-g03 to ``department``; its accept task."""
        number = self.report()
        self.complete(number, "gw", decision="accept")
        self.complete(number, "gw", decision="dispatch", departments=[department], instructions="请疏通")
        return number, self.task_of(number)


@pytest.fixture
def api(api_template, tmp_path, monkeypatch) -> Api:
    template, tokens = api_template
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(template, instance / "gridlink.db")
    monkeypatch.setenv("GRIDLINK_INSTANCE_DIR", str(instance))
    app = create_app(_config(instance))
    yield Api(app=app, client=app.test_client(), tokens=dict(tokens))
    system_of(app).db.dispose()
