"""A live gridlink server in a background thread and a Playwright page driving Debian's chromium.

The server runs ``create_app`` on a temporary instance folder with SQLite, after the schema
upgrade, the reference data, the shipped diagrams and the story users. Screenshots go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.apps import make_app

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "gridlink-demo"

# username, role, org unit, department, display name
USERS = [
    ("admin", "admin", None, None, "系统管理员"),
    ("leader", "leader", None, None, "街道分管领导"),
    ("gw-hq-c04-g03", "grid_worker", "hq-c04-g03", None, "陈雪琴"),
    ("gw-hq-c04-g01", "grid_worker", "hq-c04-g01", None, "王建国"),
    ("coord-hq-c04", "coordinator", "hq-c04", None, "李秀英"),
    ("coord-hq-c04-2", "coordinator", "hq-c04", None, "张海燕"),
    ("coord-hq-ws2", "coordinator", "hq-ws2", None, "周志强"),
    ("coord-huqiu", "coordinator", "huqiu", None, "刘明"),
    ("coord-huqiu-2", "coordinator", "huqiu", None, "孙立新"),
    ("coord-district", "coordinator", "district", None, "赵敏"),
    ("coord-district-2", "coordinator", "district", None, "钱晓梅"),
    *[(f"dept-{code}", "department", None, code, f"{code} 值班员")
      for code in ("police", "fire", "urban", "sanitation", "housing", "planning", "enforcement", "civil")],
]

pytestmark = pytest.mark.browser


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


class LiveServer:
    def __init__(self, app, system, server):
        self.app, self.system, self.server = app, system, server
        self.url = f"http://127.0.0.1:{server.server_port}"


def _prepare(system) -> None:
    from workflows.setup import bootstrap, schema

    schema.upgrade(system.db)
    bootstrap.load_reference_data(system)
    bootstrap.deploy_shipped(system, BPMN_DIR)
    create_users(system)
    _fund_budgets(system)


def create_users(system) -> None:
    """The story users, all with PASSWORD, hashed cheaply once (tests do not need scrypt's cost)."""
    from werkzeug.security import generate_password_hash

    from workflows.people.accounts import add_user

    cheap = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    with system.sessions() as session, session.begin():
        for username, role, unit, department, name in USERS:
            add_user(session, username, role, unit, department, cheap, name)


def _fund_budgets(system) -> None:
    """Give every workstation its small-matters fund for this year (as the demo loader does)."""
    from workflows.clock import local_today
    from workflows.coordination.models import FundBudget
    from workflows.demo.huqiu import fund_budgets
    from workflows.org.models import OrgUnit

    with system.sessions() as session, session.begin():
        for item in fund_budgets(local_today().year):
            unit = session.query(OrgUnit).filter_by(code=item["org_unit"]).one_or_none()
            if unit is not None:
                session.add(FundBudget(org_unit_id=unit.id, year=item["year"], amount_cents=item["amount_cents"]))


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from web.system import system_of

    app = make_app(tmp_path_factory.mktemp("instance"), "browser-tests", prepare=False, TESTING=False,
                   RATE_LIMITS=False)
    system = system_of(app)
    _prepare(system)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, system, server)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not chromium_available():
        pytest.skip(f"{CHROMIUM} is not installed (make test installs Debian's chromium as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """A factory of fresh pages (each its own cookie jar), sized like a desk or a phone."""
    contexts = []

    def make(phone: bool = False):
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = browser.new_context(base_url=live_server.url, viewport=size, locale="zh-CN",
                                      device_scale_factor=1, is_mobile=phone, has_touch=phone)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def login(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form (signing out first when someone else is signed in)."""
    page.goto("/login")
    if page.locator("form[action$='/logout'] button").count():
        page.locator("form[action$='/logout'] button").click()
        page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"sign-in as {username} failed: {page.url}"


def shot(page, name: str, full_page: bool = True) -> Path:
    """Save a PNG of the page as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    path = SCREENSHOTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
