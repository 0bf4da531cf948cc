"""Pages that stand on their own in a real browser: sign-in, language switch, phone layout."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, shot

pytestmark = pytest.mark.browser


def test_sign_in_page_is_chinese_by_default_and_switches_to_english(page):
    page.goto("/login")
    assert "登录" in page.content()
    shot(page, "00-login-zh")
    page.click("[data-testid=lang-en]")
    assert page.inner_text("h1") == "Staff sign in"
    page.click("text=中文")
    assert "登录" in page.inner_text("h1")


def test_wrong_password_says_so_and_keeps_the_username(page):
    page.goto("/login")
    page.fill("input[name=username]", "coord-hq-c04")
    page.fill("input[name=password]", "not-the-password")
    page.locator("form.form button[type=submit]").click()
    assert page.locator("[data-testid=login-error]").is_visible()
    assert page.input_value("input[name=username]") == "coord-hq-c04"


def test_a_coordinator_signs_in_and_out(page):
    login(page, "coord-hq-c04")
    page.locator("form[action$='/logout'] button").click()
    assert "/login" in page.url


def test_the_inbox_and_case_page_read_well_in_english_and_on_a_phone(new_page, live_server):
    from tests.web.conftest import task_of
    from workflows.cases.decisions import complete_task
    from workflows.cases.reporting import report_case

    number = report_case(live_server.system, title="Rubbish between two walls", description="Piled up for years.",
                         category="exposed_rubbish", source="hotline", grid="hq-c04-g01")["number"]
    register = task_of(live_server.system, number, "register")
    complete_task(live_server.system, "gw-hq-c04-g01", register.id, {"decision": "accept"})
    desk = new_page()
    login(desk, "gw-hq-c04-g01")
    desk.click("[data-testid=lang-en]")
    try:
        desk.goto("/inbox")
        assert desk.inner_text("h1").startswith("Inbox")
        shot(desk, "30-inbox-english")
        desk.goto(f"/cases/{number}")
        desk.wait_for_selector("#diagram svg .gl-current")
        assert desk.locator(".gl-deadline").count() >= 1, "the deadline is shown on the current task"
        shot(desk, "31-case-page-english")
    finally:
        desk.click("text=中文")
    phone = new_page(phone=True)
    login(phone, "gw-hq-c04-g01")
    phone.goto(f"/cases/{number}")
    phone.wait_for_selector("#diagram svg")
    shot(phone, "32-case-page-phone")


def test_a_grid_worker_self_closes_a_small_matter_with_a_photo_from_the_phone(new_page):
    from tests.web.conftest import PNG

    phone = new_page(phone=True)
    login(phone, "gw-hq-c04-g03")
    assert phone.url.endswith("/patrol")
    assert not phone.locator("textarea[name=result]").is_visible()
    phone.select_option("#category", "exposed_rubbish")
    phone.fill("#title", "楼道口堆放纸箱")
    phone.check("#self_close")
    phone.fill("textarea[name=result]", "已现场清理，纸箱交废品回收")
    phone.set_input_files("#photos", {"name": "after.png", "mimeType": "image/png", "buffer": PNG})
    shot(phone, "27-grid-worker-self-closes")
    phone.locator("[data-testid=submit-patrol]").click()
    assert "/cases/" in phone.url
    assert "已处置，待核查" in phone.inner_text("[data-testid=case-status]")
    phone.wait_for_selector("[data-testid=attachments] img")
    shot(phone, "28-self-closed-case")


def test_a_page_outside_ones_role_explains_itself(page):
    login(page, "dept-urban")
    response = page.goto("/patrol")
    assert response.status == 403
    assert "网格员" in page.inner_text("[data-testid=error-message]")
    shot(page, "40-forbidden-page")
    response = page.goto("/cases/GL20000101-0001")
    assert response.status == 404
    shot(page, "41-not-found-page")
