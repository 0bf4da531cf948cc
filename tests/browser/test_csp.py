"""The Content-Security-Policy in a real browser: the main pages, a case's diagram, the modeller
(bpmn-js and dmn-js) and the dashboard's charts run without a single violation."""

from __future__ import annotations

import pytest

from web.security import CONTENT_SECURITY_POLICY

from .conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture
def watched(new_page):
    """A page that records every CSP violation (event and console) and every script error."""

    def make(phone: bool = False):
        page = new_page(phone)
        page.violations = []
        page.on("console", lambda msg: page.violations.append(msg.text)
                if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text)
                else None)
        page.on("pageerror", lambda exc: page.violations.append(f"script error: {exc}"))
        return page

    return make


def visit(page, path: str, ready: str | None = None) -> None:
    response = page.goto(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
    page.wait_for_load_state("networkidle")
    if ready:
        page.wait_for_selector(ready)
    page.evaluate("""() => new Promise(done => {
        document.addEventListener('securitypolicyviolation', e => window.__csp = (window.__csp || [])
            .concat(e.violatedDirective + ' ' + e.blockedURI)); setTimeout(done, 300); })""")


def test_the_public_and_staff_pages_run_under_the_policy_without_violations(watched, live_server):
    from workflows.cases.reporting import report_case

    number = report_case(live_server.system, title="CSP 检查", description="下水管堵塞", category="drain_blocked",
                         source="snapshot", grid="hq-c04-g03")["number"]
    page = watched()
    for path in ("/login", "/report", f"/track?number={number}", "/no/such/page"):
        visit(page, path)
    page.click("a[data-history-back]")
    page.wait_for_load_state("networkidle")
    assert "/track" in page.url  # "Go back" works without a javascript: link
    login(page, "coord-hq-c04")
    for path in ("/inbox", "/cases", "/notifications"):
        visit(page, path)
    visit(page, f"/cases/{number}", ready="#diagram svg")
    assert page.violations == [] and page.evaluate("window.__csp || []") == []


def test_the_dashboard_charts_run_under_the_policy(watched):
    page = watched()
    login(page, "leader")
    visit(page, "/dashboard", ready="#chart-days canvas")
    page.wait_for_timeout(800)
    assert page.violations == [] and page.evaluate("window.__csp || []") == []


def test_the_modeller_and_the_decision_table_run_under_the_policy(watched):
    page = watched()
    login(page, "admin")
    for path in ("/admin/processes", "/admin/users", "/admin/drafts"):
        visit(page, path)
    visit(page, "/admin/modeller?process=case_handling")
    page.wait_for_function("window.gridlinkModeller !== undefined")
    assert page.evaluate("window.gridlinkModeller.ready")["warnings"] == []
    assert page.locator("#bpmn-canvas .djs-shape").count() > 10
    page.click("#file-tabs button[data-file='category_routing.dmn']")
    page.wait_for_selector("#dmn-canvas .tjs-table")
    page.wait_for_timeout(500)
    assert page.violations == [] and page.evaluate("window.__csp || []") == []
