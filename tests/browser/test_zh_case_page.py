"""A case page in Chinese in a real browser: system notes worded in Chinese, times in Beijing time."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import login, shot

pytestmark = pytest.mark.browser


def test_a_case_page_shows_its_system_notes_and_diagram_in_chinese(page, live_server):
    from sqlalchemy import select

    from tests.web.conftest import task_of
    from workflows.cases.decisions import complete_task
    from workflows.cases.models import Case
    from workflows.cases.reporting import report_case
    from workflows.cases.timeline import add_entry, worded

    system = live_server.system
    number = report_case(system, title="楼道堆物堵塞消防通道", description="三楼楼道堆放杂物", category="drain_blocked",
                         source="snapshot", grid="hq-c04-g03")["number"]
    complete_task(system, "gw-hq-c04-g03", task_of(system, number, "register").id, {"decision": "accept"})
    with system.sessions() as session, session.begin():  # what the timer hooks write when limits pass
        case = session.scalar(select(Case).where(Case.number == number))
        add_entry(session, case, "reminded", level="grid", data=worded("deadline_near", stage="grid"))
        add_entry(session, case, "overdue", level="grid", data=worded("level_timed_out", level="grid"))
        add_entry(session, case, "escalated", level="community", data=worded("auto_escalated", level="community"))
    login(page, "coord-hq-c04")
    page.goto(f"/cases/{number}")
    timeline = page.inner_text("[data-testid=timeline]")
    for wording in ("来源：随手拍", "网格：时限将到，请尽快处理", "网格处置超时", "超时自动上报至社区"):
        assert wording in timeline, (wording, timeline)
    assert "UTC" not in page.inner_text("main") and not re.search(r"\b(moved|claimed|please)\b", timeline)
    page.wait_for_selector("#diagram-tabs button")
    tabs = page.locator("#diagram-tabs button").all_inner_texts()
    assert tabs[0].startswith("工单处置闭环") and "部门派遣" in tabs, tabs
    shot(page, "zh-case-page")
