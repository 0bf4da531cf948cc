"""A gridlink app on a throwaway SQLite database with the shipped diagrams and the story users,
a test client per user, and helpers to send forms with their CSRF token."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, USERS, _fund_budgets

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_app(tmp_path_factory):
    """One app for the whole web suite (tests create their own cases, so they do not collide)."""
    from web.app import create_app, system_of
    from workflows import admin, bootstrap, schema

    instance = tmp_path_factory.mktemp("web-instance")
    previous = os.environ.get("GRIDLINK_INSTANCE_DIR")
    os.environ["GRIDLINK_INSTANCE_DIR"] = str(instance)
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{instance / 'gridlink.db'}",
                          "UPLOAD_DIR": str(instance / "uploads"), "SECRET_KEY": "web-tests",
                          "RATELIMIT_ENABLED": False})
    finally:
        if previous is None:
            os.environ.pop("GRIDLINK_INSTANCE_DIR", None)
        else:
            os.environ["GRIDLINK_INSTANCE_DIR"] = previous
    system = system_of(app)
    schema.upgrade(system.db)
    bootstrap.load_reference_data(system)
    bootstrap.deploy_shipped(system, BPMN_DIR)
    for username, role, unit, department, name in USERS:
        admin.create_user(system, username, role, org=unit, department=department, password=PASSWORD,
                          display_name=name)
    _fund_budgets(system)
    return app


@pytest.fixture(scope="session")
def system(web_app):
    from web.app import system_of

    return system_of(web_app)


class Client:
    """A test client that signs in and sends forms with the CSRF token of the page it came from."""

    def __init__(self, app, username: str | None = None):
        self.flask = app.test_client()
        self.username = username
        if username:
            self.login(username)

    def token(self, path: str = "/login") -> str:
        found = TOKEN.search(self.flask.get(path).data)
        assert found, f"no CSRF token on {path}"
        return found.group(1).decode()

    def login(self, username: str, password: str = PASSWORD):
        response = self.flask.post("/login", data={"username": username, "password": password,
                                                   "csrf_token": self.token("/login")})
        assert response.status_code == 302, f"sign-in as {username} failed"
        return response

    def get(self, path: str, **kwargs):
        return self.flask.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, token_from: str | None = None, files: dict | None = None,
             **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(token_from or "/login"))
        for name, (filename, content) in (files or {}).items():
            data[name] = (io.BytesIO(content), filename)
        return self.flask.post(path, data=data, content_type="multipart/form-data", **kwargs)


@pytest.fixture
def client_for(web_app):
    def make(username: str | None = None) -> Client:
        return Client(web_app, username)

    return make


@pytest.fixture
def anonymous(web_app) -> Client:
    return Client(web_app)


def report(system, title="下水管道堵塞", description="楼道下水管堵塞，污水外溢", category="drain_blocked",
           grid="hq-c04-g03", **extra) -> str:
    """A resident's report through the use case; returns the case number."""
    from workflows.cases import report_case

    return report_case(system, title=title, description=description, category=category, source="snapshot",
                       grid=grid, **extra)["number"]


def task_of(system, number: str, kind: str | None = None):
    """The open task of a case (of ``kind`` when given)."""
    from sqlalchemy import select

    from engine.models import HumanTask

    with system.sessions() as session:
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.business_key == number)
                                     .order_by(HumanTask.created_at)))
    for task in tasks:
        if kind is None or (task.properties or {}).get("task_kind") == kind:
            return task
    raise AssertionError(f"case {number} has no open {kind or ''} task: {[t.name for t in tasks]}")
