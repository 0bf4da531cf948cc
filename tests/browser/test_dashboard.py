"""The command centre in a real browser: a big screen full of figures and charts that updates
itself, without a reload, when a case closes."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import _prepare, login, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser):
    """A live server of its own (generated cases would crowd the other browser tests' lists)."""
    from benchmarks.dashboard_bench import populate
    from web.app import create_app
    from web.system import system_of

    instance = tmp_path_factory.mktemp("dashboard-browser")
    previous = os.environ.get("GRIDLINK_INSTANCE_DIR")
    os.environ["GRIDLINK_INSTANCE_DIR"] = str(instance)
    try:
        app = create_app({"DATABASE_URL": f"sqlite:///{instance / 'gridlink.db'}",
                          "UPLOAD_DIR": str(instance / "uploads"), "SECRET_KEY": "dashboard-browser"})
    finally:
        if previous is None:
            os.environ.pop("GRIDLINK_INSTANCE_DIR", None)
        else:
            os.environ["GRIDLINK_INSTANCE_DIR"] = previous
    system = system_of(app)
    _prepare(system)
    populate(system, 6000, progress=False, seed=3)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield system, f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def big_screen(browser, server):
    context = browser.new_context(base_url=server[1], viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def self_closed_report(system) -> str:
    """A grid worker fixes a blocked drain on the spot; the community still has to verify it."""
    from workflows.cases.reporting import report_case

    return report_case(system, title="楼道下水管堵塞", description="已疏通", category="drain_blocked",
                       source="patrol", grid="hq-c04-g03", actor="gw-hq-c04-g03",
                       self_closed={"result": "现场疏通，拍照留证"})["number"]


def approve(system, number: str) -> None:
    from sqlalchemy import select

    from engine.storage.models import HumanTask
    from workflows.cases.decisions import verify

    with system.sessions() as session:
        task = session.scalar(select(HumanTask).where(HumanTask.business_key == number))
    verify(system, "coord-hq-c04", task.id, "approve", "现场核查，已解决")


def test_the_big_screen_shows_figures_and_charts_and_updates_when_a_case_closes(big_screen, server):
    system, _ = server
    number = self_closed_report(system)
    page = big_screen
    login(page, "leader")
    page.goto("/dashboard?refresh=2")
    page.wait_for_selector("#chart-days canvas")
    for chart in ("chart-levels", "chart-days", "chart-closed-levels", "chart-categories"):
        assert page.locator(f"#{chart} canvas").count() >= 1, chart
    assert page.locator("[data-testid=department-table] tbody tr").count() >= 5
    assert page.locator("[data-testid=red-list] li").count() >= 1  # communities at grade A with enough cases
    assert page.locator("[data-testid=overdue-table] tbody tr").count() >= 1
    assert page.inner_text("[data-testid=kpi-closure-rate]").endswith("%")
    page.wait_for_timeout(1500)  # let the chart animations finish before the picture
    shot(page, "dashboard-big-screen", full_page=False)

    page.evaluate("window.__notReloaded = true")
    before = int(page.inner_text("[data-testid=kpi-closed-today]"))
    approve(system, number)
    page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=kpi-closed-today]').textContent) === n", arg=before + 1)
    assert page.evaluate("window.__notReloaded") is True
    page.wait_for_timeout(1500)
    shot(page, "dashboard-after-a-case-closed", full_page=False)


def test_a_workstation_coordinator_sees_only_the_workstation(browser, server):
    context = browser.new_context(base_url=server[1], viewport={"width": 1600, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, "coord-hq-ws2")
    page.goto("/dashboard")
    assert "第二联动工作站" in page.inner_text("h1") or "hq-ws2" in page.content()
    options = page.locator("[data-testid=unit-select] option").all_inner_texts()
    assert not any("第一" in option for option in options)
    page.select_option("[data-testid=period-select]", "year")
    page.get_by_role("button", name="查看").click()
    page.wait_for_selector("#chart-days canvas")
    assert "本年" in page.inner_text("[data-k=period_label]")
    context.close()
