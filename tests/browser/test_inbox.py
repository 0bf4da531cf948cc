"""The inbox in a real browser, in Chinese, at desk and phone width: search, sort, the level filter,
claims by name, and a sub-centre's view of the work waiting below it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, shot
from tests.web.conftest import at_community, task_of

pytestmark = pytest.mark.browser


def _claimed_case(system) -> str:
    from workflows.cases import decisions

    number = at_community(system, title="楼道灯坏了", address="虎丘路 88 号")
    decisions.claim(system, "coord-hq-c04", task_of(system, number).id)
    at_community(system, title="共享单车乱停放", address="山塘街 12 号")
    return number


def test_the_inbox_reads_well_in_chinese_on_a_desk_and_on_a_phone(new_page, live_server):
    number = _claimed_case(live_server.system)
    for phone, name in ((False, "inbox-zh-desktop"), (True, "inbox-zh-390")):
        page = new_page(phone=phone)
        login(page, "coord-hq-c04-2")
        page.goto("/inbox?sort=newest")
        assert page.locator("label[for=q]").inner_text() == "搜索"
        assert page.locator("#level option").count() == 3  # all levels, grid, community
        assert "李秀英" in page.locator(f"[data-case='{number}']").first.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        shot(page, name)


def test_a_sub_centre_looks_at_the_work_waiting_below_it(new_page, live_server):
    number = at_community(live_server.system, title="河道漂浮物", address="虎丘路 100 号")
    page = new_page()
    login(page, "coord-huqiu")
    page.goto("/inbox")
    page.locator("[data-testid=below-filter]").check()
    page.locator("[data-testid=inbox-filters] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f"tr[data-case='{number}']").count() == 1
    shot(page, "inbox-zh-below")
