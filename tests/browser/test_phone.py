"""Phones (390 px) and refused forms: the case list and the dashboard tiles fit the screen, and the
back button after a refused form never asks to send it again."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, shot

pytestmark = pytest.mark.browser

OVERFLOW = """(selector) => Array.from(document.querySelectorAll(selector)).map(el => {
  const r = el.getBoundingClientRect();
  return {right: r.right, width: r.width, scroll: el.scrollWidth, client: el.clientWidth,
          text: (el.innerText || '').slice(0, 30)};
})"""

TALL_CELLS = """() => Array.from(document.querySelectorAll('td, th')).filter(td => {
  const t = (td.innerText || '').trim();
  if (t.length < 4 || td.getClientRects().length === 0) return false;  // hidden (the phone's table head)
  const lines = td.getBoundingClientRect().height / parseFloat(getComputedStyle(td).lineHeight || '20');
  return td.getBoundingClientRect().width < 40 || lines > t.length * 0.6;
}).map(td => td.innerText.slice(0, 20))"""


def reported(system, title="楼道堆放杂物影响通行", grid="hq-c04-g01") -> str:
    from workflows.cases.reporting import report_case

    return report_case(system, title=title, description="三楼楼道堆放纸箱和旧家具，影响通行和消防安全。",
                       category="exposed_rubbish", source="hotline", grid=grid)["number"]


def test_the_case_list_fits_a_phone_without_one_character_lines(new_page, live_server):
    for n in range(3):
        reported(live_server.system, title=f"楼道堆放杂物影响通行第{n + 1}处")
    phone = new_page(phone=True)
    login(phone, "coord-hq-c04")
    phone.goto("/cases")
    phone.wait_for_load_state("networkidle")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    assert phone.evaluate(TALL_CELLS) == [], "no cell wraps one character per line"
    shot(phone, "80-phone-case-list-zh")


def test_the_dashboard_tiles_are_not_clipped_on_a_phone(new_page, live_server):
    reported(live_server.system)
    phone = new_page(phone=True)
    login(phone, "leader")
    phone.goto("/dashboard")
    phone.wait_for_load_state("networkidle")
    tiles = phone.evaluate(OVERFLOW, ".kpi, .tile, [data-testid^=kpi]")
    assert tiles, "the dashboard shows KPI tiles"
    for tile in tiles:
        assert tile["right"] <= 390 + 0.5 and tile["scroll"] <= tile["client"] + 1, tile
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "81-phone-dashboard-zh")


def test_back_after_a_refused_report_never_asks_to_resubmit(new_page):
    phone = new_page(phone=True)
    phone.goto("/report")
    phone.fill("textarea[name=description]", "短")  # too short: refused
    phone.locator("form button[type=submit]").last.click()
    phone.wait_for_load_state("networkidle")
    assert phone.locator(".field-error, .form-errors").count() >= 1
    shot(phone, "82-phone-report-refused-zh")
    phone.goto("/track")
    phone.go_back()
    phone.wait_for_load_state("domcontentloaded")
    assert "report" in phone.url
    assert phone.locator("textarea[name=description]").count() == 1, "the form, not a resubmission page"
    phone.reload()
    assert phone.locator("textarea[name=description]").count() == 1, "reload is a GET, not a resend"


def test_back_after_a_refused_task_form_never_asks_to_resubmit(new_page, live_server):
    from tests.web.conftest import task_of
    from workflows.cases.decisions import complete_task

    number = reported(live_server.system)
    register = task_of(live_server.system, number, "register")
    complete_task(live_server.system, "gw-hq-c04-g01", register.id, {"decision": "accept"})
    task = task_of(live_server.system, number, "handle")
    phone = new_page(phone=True)
    login(phone, "gw-hq-c04-g01")
    phone.goto(f"/inbox/tasks/{task.id}")
    phone.check("input[name=decision][value=resolve]")
    phone.locator("[data-testid=task-form] form button[type=submit]").last.click()  # no result: refused
    phone.wait_for_load_state("networkidle")
    assert phone.locator(".has-error, [data-testid=form-errors]").count() >= 1
    shot(phone, "83-phone-task-refused-zh")
    phone.goto("/inbox")
    phone.go_back()
    phone.wait_for_load_state("domcontentloaded")
    assert phone.locator("[data-testid=task-form]").count() == 1, "the task page, not a resubmission page"


def test_an_admin_sets_a_time_limit_in_days_on_a_phone_and_reads_it_with_the_stage_name(new_page):
    phone = new_page(phone=True)
    login(phone, "admin")
    phone.goto("/admin/sla")
    phone.select_option("select[name=stage]", "duty_tough")
    phone.fill("input[name=amount]", "3")
    phone.select_option("select[name=unit]", "days")
    phone.locator("form.admin-form button[type=submit]").click()
    phone.wait_for_load_state("networkidle")
    row = phone.locator("tr[data-stage=duty_tough][data-category='']")
    assert "3 天" in row.inner_text() and "值班室处置（疑难事项）" in row.inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.evaluate(TALL_CELLS) == [], "no cell wraps one character per line"
    picker = phone.evaluate(OVERFLOW, ".duration-picker input, .duration-picker select")
    assert all(p["right"] <= 390 and p["width"] >= 60 for p in picker), picker
    shot(phone, "85-phone-admin-sla-zh")


def test_the_verifier_sees_the_result_photo_on_a_phone(new_page, live_server):
    from tests.web.conftest import make_png, task_of
    from workflows.cases.attachments import attach_photos
    from workflows.cases.decisions import complete_task

    number = reported(live_server.system, title="井盖破损需更换")
    system = live_server.system
    complete_task(system, "gw-hq-c04-g01", task_of(system, number, "register").id, {"decision": "accept"})
    refs = attach_photos(system, number, [("after.png", make_png(320, 200))], "result", actor="gw-hq-c04-g01")
    complete_task(system, "gw-hq-c04-g01", task_of(system, number, "handle").id,
                  {"decision": "resolve", "result": "已更换新井盖并复位", "photos": refs})
    phone = new_page(phone=True)
    login(phone, "coord-hq-c04")
    phone.goto(f"/inbox/tasks/{task_of(system, number, 'verify').id}")
    block = phone.locator("[data-testid=handler-result]")
    assert "已更换新井盖并复位" in block.inner_text()
    assert phone.locator("[data-testid=result-photos] img").evaluate("img => img.naturalWidth") == 320
    shot(phone, "86-phone-verify-evidence-zh")
