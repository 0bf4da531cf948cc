"""The notification settings page (a user's e-mail, phone and kinds per channel) and the admins'
deliveries and webhooks pages, driven through the app with real local receivers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.receivers import HttpReceiver, SmtpServer
from tests.web.conftest import report
from workflows.messaging.models import Delivery
from workflows.messaging.worker import deliver_due


@pytest.fixture
def smtp(monkeypatch):
    with SmtpServer() as server:
        monkeypatch.setenv("GRIDLINK_SMTP_URL", server.url)
        yield server


def test_a_user_sets_an_email_address_and_kinds_and_then_hears_of_a_new_task_by_email(client_for, system, smtp):
    client = client_for("gw-hq-c04-g01")
    page = client.get("/notifications/settings").data.decode()
    assert 'data-testid="notification-settings"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script (the CSP forbids them)
    assert re.search(r'name="email_kinds" value="reminder"[^>]*checked', page)  # the defaults, ticked
    assert not re.search(r'name="sms_kinds" value="new_task"[^>]*checked', page)

    refused = client.post("/notifications/settings", {"email": "wang-at-example", "email_kinds": "new_task"},
                          token_from="/notifications/settings")
    assert refused.status_code == 422
    html = refused.data.decode()
    assert 'data-testid="error-email"' in html and "wang-at-example" in html and 'value="wang-at-example"' in html

    saved = client.post("/notifications/settings", {"email": "wjg@example.org", "email_kinds": ["new_task"]},
                        token_from="/notifications/settings")
    assert saved.status_code == 302
    page = client.get("/notifications/settings").data.decode()
    assert 'value="wjg@example.org"' in page
    assert re.search(r'name="email_kinds" value="new_task"[^>]*checked', page)
    assert not re.search(r'name="email_kinds" value="reminder"[^>]*checked', page)

    number = report(system, grid="hq-c04-g01")
    deliver_due(system)
    [mail] = smtp.to("wjg@example.org")
    assert number in mail.get_content() and mail["Subject"] == f"【网格联动】新任务 {number}"


def test_only_signed_in_users_reach_the_settings_and_only_admins_the_deliveries(client_for, anonymous):
    assert anonymous.get("/notifications/settings").status_code in (302, 401)
    coordinator = client_for("coord-hq-c04")
    assert coordinator.get("/admin/deliveries").status_code == 403
    assert coordinator.get("/admin/webhooks").status_code == 403


def test_an_admin_sees_a_dead_lettered_webhook_event_with_its_error_and_sends_it_again(client_for, system,
                                                                                        monkeypatch):
    monkeypatch.setenv("GRIDLINK_DELIVERY_MAX_ATTEMPTS", "1")
    admin = client_for("admin")
    with HttpReceiver(status=500) as receiver:
        added = admin.post("/admin/webhooks", {"url": receiver.url("/events"), "kinds": ["case_reported"]},
                           token_from="/admin/webhooks")
        assert added.status_code == 302
        hooks = admin.get("/admin/webhooks").data.decode()
        hook_id = int(re.search(r'data-testid="webhook-(\d+)">\s*<td>\d+</td><td><code>'
                                + re.escape(receiver.url("/events")), hooks).group(1))
        assert 'data-testid="webhook-secret"' in hooks
        number = report(system, grid="hq-c04-g03")
        assert deliver_due(system).dead == 1
        page = admin.get("/admin/deliveries").data.decode()
        delivery_id = _dead_event(system, number)
        row = page.split(f'data-testid="delivery-{delivery_id}"', 1)[1].split("</tr>", 1)[0]
        assert "HTTP 500" in row and receiver.url("/events") in row

        receiver.status = 200
        retried = admin.post("/admin/deliveries/retry", {"id": str(delivery_id)}, token_from="/admin/deliveries")
        assert retried.status_code == 302
        assert f'data-testid="delivery-{delivery_id}"' in admin.get("/admin/deliveries?status=pending").data.decode()
        assert deliver_due(system).sent >= 1
        assert f'data-testid="delivery-{delivery_id}"' not in admin.get("/admin/deliveries").data.decode()
        assert receiver.to("/events")[-1].json()["case"]["number"] == number

        again = admin.post("/admin/deliveries/retry", {"id": str(delivery_id)}, token_from="/admin/deliveries",
                           follow_redirects=True)
        assert f"投递 {delivery_id} 已不在死信中" in again.data.decode()  # already sent: said so, nothing queued
        off = admin.post(f"/admin/webhooks/{hook_id}/remove", token_from="/admin/webhooks")
        assert off.status_code == 302


def test_a_webhook_with_a_bad_address_is_refused_naming_it(client_for):
    admin = client_for("admin")
    response = admin.post("/admin/webhooks", {"url": "file:///etc/passwd"}, token_from="/admin/webhooks",
                          follow_redirects=True)
    html = response.data.decode()
    assert "file:///etc/passwd" in html and 'data-testid="webhook-secret"' not in html.split("file:///etc/passwd")[0]


def _dead_event(system, number: str) -> int:
    with system.sessions() as session:
        return session.scalar(select(Delivery.id).where(Delivery.channel == "webhook", Delivery.status == "dead")
                              .order_by(Delivery.id.desc()).limit(1))


def test_gridlink_notifications_deliver_sends_what_is_due_and_names_a_bad_setting(web_app, system, monkeypatch):
    from web.cli import main

    def run(*args):
        return web_app.test_cli_runner().invoke(cli=main, args=list(args))

    with HttpReceiver() as receiver:
        monkeypatch.setenv("GRIDLINK_SMS_URL", receiver.url("/sms"))
        number = report(system, grid="hq-c04-g03", reporter={"phone": "13700001111"})
        monkeypatch.setenv("GRIDLINK_DELIVERY_BACKOFF_SECONDS", "later")
        refused = run("notifications", "deliver")
        assert refused.exit_code != 0 and "GRIDLINK_DELIVERY_BACKOFF_SECONDS='later'" in refused.output
        monkeypatch.delenv("GRIDLINK_DELIVERY_BACKOFF_SECONDS")
        done = run("notifications", "deliver")
        assert done.exit_code == 0 and "sent" in done.output
        assert any(number in r.json()["text"] for r in receiver.to("/sms"))
