"""The modeller in a real browser: open, edit in the properties panel, validate, deploy, migrate."""

from __future__ import annotations

import pytest

from .conftest import login, shot

pytestmark = pytest.mark.browser
IGNORED_CONSOLE = ("Inferno", "favicon", "404 (NOT FOUND)")


def open_modeller(page, query: str) -> dict:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"/admin/modeller?{query}")
    page.wait_for_function("window.gridlinkModeller !== undefined")
    result = page.evaluate("window.gridlinkModeller.ready")
    return {"result": result, "errors": errors}


@pytest.fixture
def admin_page(page):
    login(page, "admin")
    return page


@pytest.mark.parametrize("process_id", ["case_handling", "department_dispatch", "joint_meeting"])
def test_every_shipped_diagram_opens_without_import_warnings_and_shows_its_elements(admin_page, process_id):
    opened = open_modeller(admin_page, f"process={process_id}")
    assert opened["result"]["warnings"] == []
    count = admin_page.evaluate("window.gridlinkModeller.bpmn.get('elementRegistry').getAll().length")
    assert count > 10
    assert admin_page.locator("#bpmn-canvas .djs-shape").count() > 5
    shot(admin_page, f"modeller-{process_id}", full_page=False)
    assert [e for e in opened["errors"] if not any(i in e for i in IGNORED_CONSOLE)] == []
