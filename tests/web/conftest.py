"""A gridlink app on a throwaway SQLite database with the shipped diagrams and the story users,
a test client per user, and helpers to send forms with their CSRF token."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest

from tests.apps import make_app
from tests.browser.conftest import PASSWORD, _fund_budgets, create_users
from web.system import system_of


def make_png(width: int = 160, height: int = 120) -> bytes:
    """A small real PNG (a teal-to-orange gradient), so screenshots show something."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in
                                    (int(11 + 220 * x / width), int(110 + 60 * y / height), int(105 - 80 * x / width)))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = make_png()
TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_app(tmp_path_factory):
    """One app for the whole web suite (tests create their own cases, so they do not collide)."""
    app = make_app(tmp_path_factory.mktemp("web-instance"), "web-tests", RATE_LIMITS=False)
    system = system_of(app)
    create_users(system)
    _fund_budgets(system)
    return app


@pytest.fixture(scope="session")
def system(web_app):
    from web.system import system_of

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
    from workflows.cases.reporting import report_case

    return report_case(system, title=title, description=description, category=category, source="snapshot",
                       grid=grid, **extra)["number"]


def task_of(system, number: str, kind: str | None = None):
    """The open task of a case (of ``kind`` when given)."""
    from sqlalchemy import select

    from engine.storage.models import HumanTask

    with system.sessions() as session:
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.business_key == number)
                                     .order_by(HumanTask.created_at)))
    for task in tasks:
        if kind is None or (task.properties or {}).get("task_kind") == kind:
            return task
    raise AssertionError(f"case {number} has no open {kind or ''} task: {[t.name for t in tasks]}")


def do(system, username: str, number: str, kind: str, data: dict) -> dict:
    """Complete the open ``kind`` task of a case as ``username`` through the use case."""
    from workflows.cases.decisions import complete_task

    return complete_task(system, username, task_of(system, number, kind).id, data)


def at_community(system, **report_fields) -> str:
    """A resident's report registered and escalated by the grid worker: now with the community."""
    number = report(system, **report_fields)
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    do(system, "gw-hq-c04-g03", number, "handle", {"decision": "escalate", "reason": "网格无法解决"})
    return number


def with_meeting(system, departments=("fire", "housing"), topic="车棚飞线充电整治") -> tuple[str, int]:
    """A case whose community blew the whistle; returns (case number, meeting id)."""
    from sqlalchemy import select

    from workflows.cases.models import Case
    from workflows.coordination.models import Meeting

    number = at_community(system, title="飞线充电", category="dangerous_wiring")
    do(system, "coord-hq-c04", number, "handle", {
        "decision": "convene", "departments": list(departments), "scheduled_at": "2026-12-01T14:00:00+08:00",
        "place": "社区会议室", "topic": topic, "urgency": "routine"})
    with system.sessions() as session:
        meeting_id = session.scalar(select(Meeting.id).join(Case).where(Case.number == number))
    return number, meeting_id
