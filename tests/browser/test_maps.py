"""The maps in a real browser (Debian chromium): a resident clicks the map where the problem is,
sees the open report already made nearby, and reports; the command centre's map colours the grids
by their open cases and drills down to the case list of the grid clicked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.browser.conftest import login, shot
from workflows.cases.models import Case
from workflows.cases.reporting import report_case
from workflows.clock import now
from workflows.demo import huqiu
from workflows.org.geo import bounding_box

pytestmark = pytest.mark.browser
GRIDS = {grid["code"]: grid for grid in huqiu.grids()}


def click_on_map(page, box: str, code: str, lat: float, lon: float) -> None:
    """Click the point (lat, lon) inside grid ``code`` on the map ``box`` (its outline's box gives the scale)."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(GRIDS[code]["polygon"])
    outline = page.locator(f"[data-testid={box}] path.gl-grid-{code}")
    outline.scroll_into_view_if_needed()
    area = outline.bounding_box()
    x = area["x"] + area["width"] * (lon - min_lon) / (max_lon - min_lon)
    y = area["y"] + area["height"] * (max_lat - lat) / (max_lat - min_lat)
    page.mouse.click(x, y)


def seed_report(system, code: str, dlat: float = 0.0002, **extra) -> str:
    grid = GRIDS[code]
    return report_case(system, title="路灯不亮", description="晚上整条路都是黑的", category="drain_blocked",
                       source="snapshot", grid=code, lat=grid["lat"] + dlat, lon=grid["lon"], **extra)["number"]


def test_a_resident_clicks_the_map_sees_a_nearby_open_report_and_reports(new_page, live_server):
    code = "hq-c02-g04"
    seed_report(live_server.system, code, address="不应公开的门牌")
    page = new_page()
    page.goto("/report")
    page.wait_for_selector("[data-testid=report-map][data-ready='1']")
    click_on_map(page, "report-map", code, GRIDS[code]["lat"], GRIDS[code]["lon"])
    nearby = page.locator("[data-testid=nearby-report]").first
    nearby.wait_for()
    listed = nearby.inner_text()
    assert "下水管道堵塞" in listed and "已上报" in listed and "今天" in listed
    assert "不应公开的门牌" not in page.locator("[data-testid=nearby]").inner_text()
    assert GRIDS[code]["name"] in page.locator("#locate-status").inner_text()
    assert page.locator("#lat").input_value() and page.locator("#lon").input_value()
    assert page.locator("[data-testid=report-map] path.gl-nearby-dot").count() >= 1
    shot(page, "maps-report-nearby-desktop-zh")
    page.select_option("#category", "drain_blocked")
    page.fill("#description", "小区门口下水道堵了，污水漫到路上")
    page.locator("[data-testid=submit-report]").click()
    page.wait_for_url("**/track?number=*")
    number = page.locator("[data-testid=new-case-number]").inner_text().strip()
    with live_server.system.sessions() as session:
        case = session.query(Case).filter_by(number=number).one()
        assert case.grid.code == code and case.lat is not None


def test_on_a_phone_the_map_takes_a_tap_and_lists_the_reports_nearby(new_page, live_server):
    code = "hq-c03-g05"
    seed_report(live_server.system, code)
    page = new_page(phone=True)
    page.goto("/report")
    page.wait_for_selector("[data-testid=report-map][data-ready='1']")
    click_on_map(page, "report-map", code, GRIDS[code]["lat"], GRIDS[code]["lon"])
    page.locator("[data-testid=nearby-report]").first.wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the report page is {width} px wide on a 390 px phone"
    page.locator("[data-testid=report-map]").scroll_into_view_if_needed()
    shot(page, "maps-report-nearby-phone-zh")


def test_a_point_outside_every_grid_is_not_kept_and_the_address_still_goes_through(new_page):
    page = new_page()
    page.goto("/report")
    page.wait_for_selector("[data-testid=report-map][data-ready='1']")
    area = page.locator("[data-testid=report-map]").bounding_box()
    page.mouse.click(area["x"] + 4, area["y"] + area["height"] - 4)  # the corner, beyond the outlines
    assert "不在任何网格" in page.locator("#locate-status").inner_text()
    assert page.locator("#lat").input_value() == ""
    page.select_option("#category", "drain_blocked")
    page.fill("#description", "路口井盖缺失")
    page.fill("#address", "虎丘路88号")
    page.locator("[data-testid=submit-report]").click()
    page.wait_for_url("**/track?number=*")


def test_the_dashboard_map_colours_grids_by_open_cases_and_drills_down(new_page, live_server):
    system = live_server.system
    code = "hq-c05-g02"
    numbers = [seed_report(system, code, dlat=0.0001 * i) for i in range(3)]
    with system.sessions() as session, session.begin():
        session.execute(update(Case).where(Case.number == numbers[0]).values(due_at=now() - timedelta(hours=3)))
    page = new_page()
    page.set_viewport_size({"width": 1600, "height": 1000})
    login(page, "leader")
    page.goto("/dashboard")
    page.wait_for_selector("[data-testid=grid-map][data-painted='1']")
    outline = page.locator(f"[data-testid=grid-map] path.gl-grid-{code}")
    assert int(outline.get_attribute("data-open")) >= 3
    assert int(outline.get_attribute("data-overdue")) >= 1
    assert GRIDS[code]["name"] in page.locator("[data-testid=grid-map-top]").inner_text()
    quiet = page.locator("[data-testid=grid-map] path.gl-grid-hq-c06-g01")
    assert quiet.get_attribute("data-open") == "0"
    page.locator("[data-testid=grid-map-panel]").scroll_into_view_if_needed()
    shot(page, "maps-dashboard-desktop-zh", full_page=False)
    click_on_map(page, "grid-map", code, GRIDS[code]["lat"], GRIDS[code]["lon"])
    page.wait_for_url(f"**/cases?org_unit={code}&status=open")
    table = page.locator("[data-testid=case-table]").inner_text()
    assert all(number in table for number in numbers)
    assert GRIDS[code]["name"] in page.locator("[data-testid=place-filter]").inner_text()
    shot(page, "maps-dashboard-drilldown-zh")


def test_the_dashboard_map_and_the_case_point_on_a_phone(new_page, live_server):
    number = seed_report(live_server.system, "hq-c01-g03")
    page = new_page(phone=True)
    login(page, "leader")
    page.goto("/dashboard")
    page.wait_for_selector("[data-testid=grid-map][data-painted='1']")
    page.locator("[data-testid=grid-map-panel]").scroll_into_view_if_needed()
    shot(page, "maps-dashboard-phone-zh", full_page=False)
    page.goto(f"/cases/{number}")
    page.wait_for_selector("[data-testid=case-map][data-ready='1']")
    assert page.locator("[data-testid=case-map] path.gl-case-point").count() == 1
    assert page.locator("[data-testid=case-map] path.gl-home").count() == 1
    page.locator("[data-testid=case-place]").scroll_into_view_if_needed()
    shot(page, "maps-case-point-phone-zh", full_page=False)


def test_the_phones_position_picks_the_point_and_a_failed_one_leaves_no_stale_point(browser, live_server):
    code = "hq-c04-g02"
    seed_report(live_server.system, code)
    grid = GRIDS[code]
    allowed = browser.new_context(base_url=live_server.url, locale="zh-CN", permissions=["geolocation"],
                                  geolocation={"latitude": grid["lat"], "longitude": grid["lon"]})
    denied = browser.new_context(base_url=live_server.url, locale="zh-CN")
    try:
        page = allowed.new_page()
        page.goto("/report")
        page.wait_for_selector("[data-testid=report-map][data-ready='1']")
        page.locator("#locate").click()
        page.locator("[data-testid=nearby-report]").first.wait_for()
        assert grid["name"] in page.locator("#locate-status").inner_text()
        assert abs(float(page.locator("#lat").input_value()) - grid["lat"]) < 1e-5

        page = denied.new_page()
        page.goto("/report")
        page.wait_for_selector("[data-testid=report-map][data-ready='1']")
        page.evaluate("document.getElementById('lat').value = '39.9'; document.getElementById('lon').value = '116.4'")
        page.locator("#locate").click()
        page.wait_for_function("document.getElementById('lat').value === ''")
        assert "无法获取位置" in page.locator("#locate-status").inner_text()
        page.select_option("#category", "drain_blocked")
        page.fill("#description", "路口井盖缺失")
        page.fill("#address", "虎丘路88号")
        page.locator("[data-testid=submit-report]").click()
        page.wait_for_url("**/track?number=*")
    finally:
        allowed.close()
        denied.close()


def test_a_grid_worker_taps_the_map_on_patrol_and_the_case_keeps_the_point(new_page, live_server):
    code = "hq-c04-g03"
    grid = GRIDS[code]
    page = new_page(phone=True)
    login(page, "gw-hq-c04-g03")
    page.goto("/patrol")
    page.wait_for_selector("[data-testid=patrol-map][data-ready='1']")
    assert page.locator("[data-testid=patrol-map] path.gl-grid-hq-c04-g03").count() == 1
    click_on_map(page, "patrol-map", code, grid["lat"], grid["lon"])
    assert grid["name"] in page.locator("#locate-status").inner_text()
    page.locator("[data-testid=patrol-map]").scroll_into_view_if_needed()
    shot(page, "maps-patrol-phone-zh", full_page=False)
    page.select_option("#category", "exposed_rubbish")
    page.fill("#title", "路边垃圾堆放")
    page.locator("[data-testid=submit-patrol]").click()
    page.wait_for_url("**/cases/GL*")
    number = page.url.rsplit("/", 1)[-1]
    with live_server.system.sessions() as session:
        case = session.query(Case).filter_by(number=number).one()
        assert case.lat is not None and abs(case.lat - grid["lat"]) < 0.0005
    page.wait_for_selector("[data-testid=case-map][data-ready='1']")
