"""Notifications that reach people, in Chromium: a resident leaves a phone and an e-mail address and
gets the case number by SMS and e-mail; a coordinator sets their address on the settings page; an
admin sees a dead-lettered webhook event with its error and sends it again. Real local receivers."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tests.browser.conftest import login, shot
from tests.receivers import HttpReceiver, SmtpServer
from workflows.messaging.worker import deliver_due

pytestmark = pytest.mark.browser


@pytest.fixture
def receivers(monkeypatch):
    with SmtpServer() as smtp, HttpReceiver() as http:
        monkeypatch.setenv("GRIDLINK_SMTP_URL", smtp.url)
        monkeypatch.setenv("GRIDLINK_SMS_URL", http.url("/sms"))
        monkeypatch.setenv("GRIDLINK_SMS_TOKEN", "browser-token")
        monkeypatch.setenv("GRIDLINK_DELIVERY_MAX_ATTEMPTS", "1")
        yield smtp, http


def test_a_resident_gets_the_number_by_sms_and_email_and_a_coordinator_sets_an_address(new_page, live_server,
                                                                                        receivers):
    smtp, http = receivers
    coordinator = new_page()
    login(coordinator, "coord-hq-c04-2")
    coordinator.goto("/notifications")
    coordinator.click("[data-testid=notification-settings-link]")
    coordinator.fill("#email", "zhy@example.org")
    coordinator.uncheck("input[name=email_kinds][value=closed]")
    coordinator.locator("[data-testid=save-settings]").click()
    assert coordinator.input_value("#email") == "zhy@example.org"
    assert "通知设置已保存" in coordinator.content()
    shot(coordinator, "60-notification-settings")

    resident = new_page(phone=True)
    resident.goto("/report")
    resident.select_option("#category", "neighbour_dispute")
    resident.fill("#description", "楼上深夜拖动家具，噪声扰民已一周。")
    resident.select_option("#grid", "hq-c04-g01")
    resident.fill("#phone", "13912345678")
    resident.fill("#email", "resident@example.org")
    resident.locator("[data-testid=submit-report]").click()
    number = resident.inner_text("[data-testid=new-case-number]").strip()
    deliver_due(live_server.system)
    [sms] = [r.json() for r in http.to("/sms") if r.json()["to"] == "13912345678"]
    assert f"案件编号 {number}" in sms["text"]
    [mail] = smtp.to("resident@example.org")
    assert number in mail.get_content() and "已受理" in mail["Subject"]


def test_an_admin_sends_a_dead_lettered_webhook_event_again_and_the_receiver_verifies_it(new_page, live_server,
                                                                                         receivers):
    from workflows.cases.reporting import report_case

    _smtp, http = receivers
    admin = new_page()
    login(admin, "admin")
    admin.goto("/admin/webhooks")
    admin.fill("input[name=url]", http.url("/events"))
    admin.check("input[name=kinds][value=case_reported]")
    admin.locator("[data-testid=add-webhook] button[type=submit]").click()
    row = admin.locator("[data-testid^=webhook-]", has_text=http.url("/events")).last
    secret = row.locator("[data-testid=webhook-secret]").inner_text().strip()
    shot(admin, "61-admin-webhooks")

    http.status = 503
    number = report_case(live_server.system, title="井盖缺失", description="人行道井盖缺失", category="road_damage",
                         source="hotline", grid="hq-c04-g01")["number"]
    assert deliver_due(live_server.system).dead >= 1
    admin.goto("/admin/deliveries")
    dead = admin.locator("tr", has_text=http.url("/events")).first
    assert "HTTP 503" in dead.inner_text()
    shot(admin, "62-admin-dead-letters")
    dead.locator("input[type=checkbox]").check()
    http.status = 200
    admin.locator("[data-testid=retry-chosen]").click()
    assert "已重新排队 1 条投递" in admin.content()
    deliver_due(live_server.system)
    event = [r for r in http.to("/events") if r.json()["case"]["number"] == number][-1]
    expected = hmac.new(secret.encode(), event.headers["X-Gridlink-Timestamp"].encode() + b"." + event.body,
                        hashlib.sha256).hexdigest()
    assert event.headers["X-Gridlink-Signature"] == f"sha256={expected}"
    admin.goto("/admin/webhooks")
    admin.locator("[data-testid^=webhook-]", has_text=http.url("/events")).last.locator("button").click()
