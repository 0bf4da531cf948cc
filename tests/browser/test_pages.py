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
