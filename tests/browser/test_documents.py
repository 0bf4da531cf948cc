"""Documents in the browser: a coordinator issues a rectification notice from the case page, the
workstation supervises the community, the document page records service; screenshots in Chinese
on a desk and a 390 px phone (test-artifacts/screenshots/6x-*)."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.conftest import SCREENSHOTS, login
from workflows.clock import LOCAL_TZ, now


def section_shot(page, selector: str, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(selector).screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def at_community(system) -> str:
    from tests.web.conftest import do, report

    number = report(system, title="新庄新村98幢楼道电动车飞线充电", grid="hq-c04-g03")
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    do(system, "gw-hq-c04-g03", number, "handle", {"decision": "escalate", "reason": "需社区下发整改通知"})
    return number


def test_a_notice_is_issued_from_the_case_page_and_its_service_recorded(new_page, live_server):
    from workflows.coordination import documents

    number = at_community(live_server.system)
    documents.issue_document(live_server.system, "coord-hq-ws2", number, "supervision",
                             {"kind": "org_unit", "code": "hq-c04"},
                             "社区处置已超时限，请三日内督促房东、租户完成整改并报送情况。",
                             (now() + timedelta(days=3)).isoformat())
    desk = new_page()
    login(desk, "coord-hq-c04")
    desk.goto(f"/cases/{number}")
    desk.click("[data-testid=documents] summary")
    form = desk.locator("[data-testid=document-form]")
    form.locator("input[name=addressee]").fill("房东王某")
    form.locator("input[name=contact]").fill("139 0000 0000")
    form.locator("textarea[name=requirement]").fill("立即拆除楼道内私拉的充电飞线，电动车停放至集中充电棚。")
    deadline = (now() + timedelta(days=7)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    form.locator("input[name=deadline]").fill(deadline)
    form.locator("button[type=submit]").click()
    desk.wait_for_selector("[data-testid=document-number]")
    assert "整改通知单" in desk.inner_text("[data-testid=document-number]")
    assert "房东王某" in desk.inner_text("[data-testid=document-addressee]")
    desk.select_option("[data-testid=document-state-form] select[name=state]", "served")
    desk.fill("[data-testid=document-state-form] input[name=note]", "当面送达房东本人")
    desk.click("[data-testid=document-state-form] button[type=submit]")
    desk.wait_for_selector("text=当面送达房东本人")
    assert "已送达" in desk.inner_text("[data-testid=document-state]")
    desk.screenshot(path=str(SCREENSHOTS / "60-document-page-desk.png"), full_page=True)
    desk.goto(f"/cases/{number}")
    desk.click("[data-testid=documents] summary")
    assert desk.locator("[data-testid=documents] li").count() == 2
    section_shot(desk, "[data-testid=documents]", "61-case-documents-desk")
    section_shot(desk, "[data-testid=fund]", "62-case-fund-desk")
    document_path = desk.locator("[data-testid=documents] li a").first.get_attribute("href")
    phone = new_page(phone=True)
    login(phone, "coord-hq-c04")
    phone.goto(f"/cases/{number}")
    section_shot(phone, "[data-testid=documents]", "63-case-documents-phone")
    phone.goto(document_path)
    phone.screenshot(path=str(SCREENSHOTS / "64-document-page-phone.png"), full_page=True)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the document page is {width}px wide on a 390px phone"
