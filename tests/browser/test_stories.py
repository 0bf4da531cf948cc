"""The two stories of the web app, through the UI only, in Debian's chromium.

1. A resident reports -> the grid worker registers and escalates -> the community dispatches
   urban management -> the department accepts and reports the result with a photo -> the
   community resolves -> the workstation verifies and approves -> the resident sees it closed
   and rates it.
2. A whistle meeting: three departments summoned, one reports to duty late, the resolution with
   one action per department, every action carried out, the outcome confirmed.

Every page on the way is saved to test-artifacts/screenshots/.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import login, shot
from tests.web.conftest import PNG

pytestmark = pytest.mark.browser

PHOTO = {"name": "photo.png", "mimeType": "image/png", "buffer": PNG}


def open_task(page, number: str, kind: str) -> None:
    """From the inbox, open the task of ``kind`` on case ``number``."""
    page.goto("/inbox")
    link = page.locator(f"[data-case='{number}'][data-kind='{kind}'] [data-testid=open-task] >> visible=true")
    assert link.count() == 1, f"no {kind} task of {number} in the inbox of this user"
    link.click()
    page.wait_for_selector("[data-testid=task-form]")


def submit_task(page) -> None:
    page.locator("[data-testid=submit-task]").click()
    page.wait_for_load_state("networkidle")
    assert not page.locator(".form-errors, .field-error").count(), page.inner_text("main")


def test_a_resident_report_climbs_is_dispatched_resolved_verified_closed_and_rated(new_page):
    resident = new_page(phone=True)
    resident.goto("/report")
    shot(resident, "01-resident-report-form")
    resident.select_option("#category", "stall_occupation")
    resident.fill("#description", "菜场门口流动摊贩占道经营，早高峰堵住人行道，已持续一周。")
    resident.select_option("#grid", "hq-c04-g03")
    resident.set_input_files("#photo", PHOTO)
    resident.fill("#name", "王阿姨")
    resident.fill("#phone", "13812345678")
    resident.locator("[data-testid=submit-report]").click()
    number = resident.inner_text("[data-testid=new-case-number]").strip()
    code = resident.inner_text("[data-testid=new-query-code]").strip()
    assert number.startswith("GL") and len(code) == 8
    shot(resident, "02-resident-case-number")

    grid = new_page(phone=True)
    login(grid, "gw-hq-c04-g03")
    grid.goto("/inbox")
    shot(grid, "03-grid-worker-inbox-phone")
    open_task(grid, number, "register")
    grid.check("input[name=decision][value=accept]")
    submit_task(grid)
    open_task(grid, number, "handle")
    grid.check("input[name=decision][value=escalate]")
    grid.fill("textarea[name=reason]", "摊贩多次劝离无效，需社区协调城管")
    shot(grid, "04-grid-worker-escalates")
    submit_task(grid)

    community = new_page()
    login(community, "coord-hq-c04")
    community.goto("/inbox")
    shot(community, "05-community-inbox")
    open_task(community, number, "handle")
    community.check("input[name=decision][value=dispatch]")
    community.check("input[name=departments][value=urban]")
    community.fill("textarea[name=instructions]", "请城管中队三日内清理占道摊点")
    shot(community, "06-community-dispatches-urban")
    submit_task(community)

    urban = new_page()
    login(urban, "dept-urban")
    open_task(urban, number, "dept_accept")
    assert "13812345678" not in urban.content(), "departments never see the reporter's phone"
    urban.check("input[name=decision][value=accept]")
    submit_task(urban)
    open_task(urban, number, "dept_result")
    urban.fill("textarea[name=result]", "已取缔占道摊点3处，设置临时疏导牌")
    urban.set_input_files("input[name=photos]", PHOTO)
    shot(urban, "07-department-reports-result")
    submit_task(urban)

    open_task(community, number, "handle")
    community.check("input[name=decision][value=resolve]")
    community.fill("textarea[name=result]", "城管已清理，社区巡查确认人行道畅通")
    submit_task(community)
    community.goto(f"/cases/{number}")
    community.wait_for_selector("#diagram svg .gl-done", timeout=15_000)
    shot(community, "08-case-page-with-diagram")

    workstation = new_page()
    login(workstation, "coord-hq-ws2")
    open_task(workstation, number, "verify")
    workstation.check("input[name=decision][value=approve]")
    workstation.fill("textarea[name=comment]", "现场核查，已整改到位")
    submit_task(workstation)
    workstation.goto(f"/cases/{number}")
    assert "已结案" in workstation.inner_text("[data-testid=case-status]")
    shot(workstation, "09-case-closed")

    resident = new_page(phone=True)  # later, on another phone: the number and the query code from the receipt
    resident.goto("/track")
    resident.fill("#number", number)
    resident.fill("#code", code)
    resident.locator("[data-testid=track-submit]").click()
    assert "已结案" in resident.inner_text("[data-testid=track-result]")
    assert "李秀英" not in resident.content(), "no staff names on the public page"
    resident.check("input[name=rating][value='5']")
    resident.fill("textarea[name=comment]", "处理很快，谢谢")
    shot(resident, "10-resident-rates")
    resident.locator("[data-testid=submit-rating]").click()
    assert resident.locator("[data-testid=rated]").is_visible()
    shot(resident, "11-resident-sees-rating")


def test_a_whistle_meeting_with_three_departments_one_late_resolution_and_actions_done(new_page, live_server):
    from workflows import timers
    from workflows.people import accounts

    accounts.set_sla(live_server.system, "duty_emergency", "PT12S")
    try:
        _whistle_story(new_page, live_server, timers)
    finally:
        accounts.set_sla(live_server.system, "duty_emergency", "PT30M")


def _whistle_story(new_page, live_server, timers):
    grid = new_page(phone=True)
    login(grid, "gw-hq-c04-g01")
    grid.goto("/patrol")
    grid.select_option("#category", "fire_hazard")
    grid.fill("#title", "小区车棚飞线充电，电线杂乱")
    grid.fill("#description", "车棚内十余辆电动车飞线充电，存在火灾隐患，涉及物业、消防、住建")
    shot(grid, "20-grid-worker-patrol-form")
    grid.locator("[data-testid=submit-patrol]").click()
    number = grid.inner_text("[data-testid=case-number]").strip()
    open_task(grid, number, "handle")
    grid.check("input[name=decision][value=escalate]")
    grid.fill("textarea[name=reason]", "涉及多个部门，网格无法解决")
    submit_task(grid)

    departments = {code: new_page() for code in ("fire", "housing", "urban")}
    for code, page in departments.items():
        login(page, f"dept-{code}")

    community = new_page()
    login(community, "coord-hq-c04")
    community.goto(f"/cases/{number}")
    community.locator("[data-testid=blow-whistle]").click()
    assert community.is_checked("input[name=decision][value=convene]")
    for code in departments:
        community.check(f"input[name=departments][value={code}]")
    community.fill("input[name=scheduled_at]", "2026-12-01T14:00")
    community.fill("input[name=place]", "新庄社区党群服务中心会议室")
    community.fill("input[name=topic]", "车棚飞线充电整治")
    community.check("input[name=urgency][value=emergency]")
    shot(community, "21-community-blows-the-whistle")
    submit_task(community)
    convened = time.monotonic()
    community.goto(f"/cases/{number}")
    community.locator("[data-testid=meetings] a").first.click()
    meeting_url = community.url
    assert "/meetings/" in meeting_url

    for code in ("fire", "housing"):
        page = departments[code]
        open_task(page, number, "report_to_duty")
        page.fill("input[name=delegate]", f"{code} 科长")
        submit_task(page)
    time.sleep(max(0.0, 12.5 - (time.monotonic() - convened)))
    assert timers.tick(live_server.system).timers_fired >= 1
    late = departments["urban"]
    open_task(late, number, "report_to_duty")
    submit_task(late)

    community.goto(f"/cases/{number}")
    community.wait_for_selector("#diagram svg .gl-current")
    shot(community, "22-case-page-during-the-meeting")
    community.goto(meeting_url)
    assert community.inner_text("[data-testid=reported-count]").replace(" ", "") == "3/3"
    assert community.inner_text("[data-testid=late-count]") == "1"
    assert community.locator("[data-testid=late-urban]").is_visible()
    shot(community, "23-meeting-one-department-late")

    community.locator("[data-testid=meeting-task-resolution]").click()
    community.fill("textarea[name=minutes]", "消防牵头，住建督促物业安装充电桩，城管拆除飞线")
    community.select_option("select[name=lead_department]", "fire")
    plan = [("fire", "排查车棚消防隐患并告知", "survey", "2026-12-05T17:00"),
            ("housing", "督促物业安装集中充电桩", "preliminary", "2026-12-15T17:00"),
            ("urban", "拆除飞线并集中整治", "concentrated", "2026-12-20T17:00")]
    for index, (code, action, phase, due) in enumerate(plan):
        community.select_option(f"select[name=actions-{index}-department]", code)
        community.fill(f"textarea[name=actions-{index}-action]", action)
        community.fill(f"input[name=actions-{index}-due_at]", due)
        community.select_option(f"select[name=actions-{index}-phase]", phase)
    shot(community, "24-resolution-form")
    submit_task(community)

    for code, page in departments.items():
        page.goto(meeting_url)
        page.locator("[data-testid^=carry-out-]").first.click()
        page.fill("textarea[name=result]", f"{code} 已落实")
        submit_task(page)

    community.goto(meeting_url)
    assert community.locator("[data-testid=actions] .tag.done").count() == 3
    shot(community, "25-meeting-actions-done")
    community.locator("[data-testid=meeting-task-confirm_outcome]").click()
    community.fill("textarea[name=comment]", "飞线全部拆除，充电桩已启用")
    submit_task(community)
    community.goto(meeting_url)
    assert community.inner_text("[data-testid=meeting-status]") == "已确认"
    shot(community, "26-meeting-confirmed")
