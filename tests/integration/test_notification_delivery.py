"""Notifications that reach people, sent to real local receivers: an SMTP server (aiosmtpd), an SMS
gateway and a webhook receiver (http.server). The use cases only write the outbox; the timer sweep
(or ``deliver_due``) sends it, retries with backoff and dead-letters."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from tests.engine.story_helpers import T0, make_world
from tests.receivers import HttpReceiver, SmtpServer
from workflows.cases.models import Case
from workflows.errors import Forbidden, InvalidInput
from workflows.messaging import manage
from workflows.messaging.models import Delivery
from workflows.messaging.reporter import reporter_received
from workflows.messaging.worker import deliver_due
from workflows.people import accounts as admin
from workflows.people.models import Notification

SMS_TOKEN = "gateway-secret-token"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def http():
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def world(db_engine, db_url, tmp_path, monkeypatch, smtp, http):
    monkeypatch.setattr(admin, "HASH_METHOD", "pbkdf2:sha256:1000")
    monkeypatch.setenv("GRIDLINK_SMTP_URL", smtp.url)
    monkeypatch.setenv("GRIDLINK_SMS_URL", http.url("/sms"))
    monkeypatch.setenv("GRIDLINK_SMS_TOKEN", SMS_TOKEN)
    with freeze_time(T0, real_asyncio=True) as clock:  # (the SMTP server's event loop keeps real time)
        yield make_world(db_url, tmp_path / "uploads", False, clock)


def deliveries(world, **match) -> list[Delivery]:
    with world.system.sessions() as session:
        query = select(Delivery).order_by(Delivery.id)
        for name, value in match.items():
            query = query.where(getattr(Delivery, name) == value)
        return list(session.scalars(query))


def verify_signature(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does (docs/WEBHOOKS.md): HMAC-SHA256 over timestamp + "." + body."""
    expected = hmac.new(secret.encode(), headers["X-Gridlink-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", headers["X-Gridlink-Signature"])


def test_an_sla_reminder_reaches_a_coordinator_by_email_in_beijing_time(world, smtp):
    manage.save_preferences(world.system, "coord-c04", email="coord@example.org", email_kinds=["reminder"])
    number = world.report(title="无人处理的垃圾", category="exposed_rubbish", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "需社区协调"})  # due in 72 h: T0 + 3 days
    world.later(hours=54, minutes=1)
    assert world.tick().timers_fired == 1  # the reminder at 75 %; the same sweep sends the e-mail
    [mail] = smtp.to("coord@example.org")
    assert mail["Subject"] == f"【网格联动】催办 {number}"
    assert mail["From"] == "gridlink@example.org"
    body = mail.get_content()
    assert number in body and "无人处理的垃圾" in body
    assert "将于 2026-11-05 09:00（北京时间）到期" in body  # 01:00 UTC
    with world.system.sessions() as session:  # the in-app reminder says the same time
        in_app = session.scalar(select(Notification.message).where(Notification.kind == "reminder"))
    assert "2026-11-05 09:00（北京时间）" in in_app and "UTC" not in in_app
    assert [d.status for d in deliveries(world, channel="email")] == ["sent"]


def test_a_user_hears_only_the_kinds_they_chose_and_nothing_without_an_address(world, smtp):
    manage.save_preferences(world.system, "gw", email="gw@example.org", email_kinds=["overdue"])
    world.report(title="占道经营", category="exposed_rubbish", grid="hq-c04-g03", actor="gw-other")
    deliver_due(world.system)
    assert smtp.messages == []  # a new task went to gw in the app only; coord-c04 gave no address
    assert deliveries(world) == []


def test_the_reporter_gets_the_number_by_sms_and_email_and_then_the_outcome(world, smtp, http):
    number = world.report(title="路灯不亮", category="exposed_rubbish", grid="hq-c04-g03", source="hotline",
                          reporter={"name": "王女士", "phone": "13800001234", "email": "wang@example.org"})
    report = deliver_due(world.system)
    assert (report.sent, report.dead) == (2, 0)
    [sms] = http.to("/sms")
    assert sms.headers["Authorization"] == f"Bearer {SMS_TOKEN}"
    assert sms.json()["to"] == "13800001234"
    assert f"案件编号 {number}" in sms.json()["text"] and "路灯不亮" in sms.json()["text"]
    [receipt] = smtp.to("wang@example.org")
    assert number in receipt.get_content() and receipt["Subject"] == f"【网格联动】已受理 {number}"

    world.do("gw", number, "register", {"decision": "accept"})
    world.do("gw", number, "handle", {"decision": "resolve", "result": "已更换灯泡"})
    world.do("coord-c04", number, "verify", {"decision": "approve", "comment": "灯已亮"})
    deliver_due(world.system)
    outcome = http.to("/sms")[-1].json()["text"]
    assert f"（案件 {number}）已办结：灯已亮" in outcome
    assert "已办结：灯已亮" in smtp.to("wang@example.org")[-1].get_content()


def test_the_reporter_hears_why_a_report_was_not_accepted(world, http):
    number = world.report(title="邻居装修吵", category="exposed_rubbish", source="hotline", address="新庄新村3幢",
                          reporter={"phone": "13900002222"})
    world.do("coord-district", number, "register", {"decision": "reject", "reason": "不属于城市管理事项"})
    deliver_due(world.system)
    texts = [r.json()["text"] for r in http.to("/sms")]
    assert len(texts) == 2 and "未予受理：不属于城市管理事项" in texts[1]


def test_a_bad_reporter_email_is_refused_naming_it(world):
    with pytest.raises(InvalidInput, match="'wang-at-example'"):
        world.report(title="路灯不亮", grid="hq-c04-g03", reporter={"email": "wang-at-example"})


def test_a_webhook_receiver_gets_a_signed_event_of_the_kinds_it_chose(world, http):
    hook = manage.add_webhook(world.system, "admin", http.url("/hook"), ["case_reported"])
    number = world.report(title="井盖缺失", grid="hq-c04-g03", actor="gw")  # also a new task: not chosen
    deliver_due(world.system)
    [event] = http.to("/hook")
    assert verify_signature(hook["secret"], event.headers, event.body)
    assert not verify_signature("another-secret", event.headers, event.body)
    assert event.headers["X-Gridlink-Event"] == "case_reported"
    assert event.headers["X-Gridlink-Timestamp"] == str(int(T0.timestamp()))
    body = event.json()
    assert body["kind"] == "case_reported" and body["case"] == {"number": number, "title": "井盖缺失",
                                                                "status": "open"}
    assert body["id"] == int(event.headers["X-Gridlink-Delivery"])


def test_a_failing_endpoint_is_retried_with_growing_waits_then_dead_lettered_and_retried_by_an_admin(
        world, http, monkeypatch):
    monkeypatch.setenv("GRIDLINK_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("GRIDLINK_DELIVERY_BACKOFF_SECONDS", "60")
    manage.add_webhook(world.system, "admin", http.url("/hook"), ["case_reported"])
    http.status = 500
    world.report(title="井盖缺失", grid="hq-c04-g03", actor="gw")
    assert deliver_due(world.system).retried == 1
    [row] = deliveries(world, channel="webhook")
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=60))
    assert "HTTP 500" in row.last_error
    assert deliver_due(world.system).retried == 0  # not due yet
    world.later(seconds=60)
    assert deliver_due(world.system).retried == 1
    assert deliveries(world, channel="webhook")[0].next_attempt_at == T0 + timedelta(seconds=60 + 120)
    world.later(seconds=120)
    assert deliver_due(world.system).dead == 1
    assert len(http.to("/hook")) == 3

    dead = manage.deliveries(world.system, "admin", "dead")
    assert [(d["id"], d["attempts"]) for d in dead["items"]] == [(row.id, 3)]
    assert "HTTP 500" in dead["items"][0]["last_error"]
    with pytest.raises(Forbidden):
        manage.retry(world.system, "coord-c04", [row.id])
    http.status = 200
    assert manage.retry(world.system, "admin", [row.id]) == 1
    assert deliver_due(world.system).sent == 1
    assert deliveries(world, channel="webhook")[0].status == "sent"


def test_a_rolled_back_use_case_sends_nothing(world, http):
    manage.add_webhook(world.system, "admin", http.url("/hook"), [])
    with pytest.raises(InvalidInput):
        world.report(title="井盖缺失", grid="hq-c04-g99", actor="gw")
    assert deliveries(world) == []


def test_two_workers_never_send_one_row_twice(world, http):
    manage.add_webhook(world.system, "admin", http.url("/hook"), ["case_reported"])
    world.report(title="井盖缺失", grid="hq-c04-g03", actor="gw")
    from workflows.messaging import worker

    [(delivery_id, attempts)] = [(d.id, d.attempts) for d in deliveries(world)]
    assert worker._claim(world.system, delivery_id, attempts) is True
    assert worker._claim(world.system, delivery_id, attempts) is False  # another worker holds it
    assert deliver_due(world.system).sent == 0


def test_events_queued_for_a_webhook_switched_off_are_dead_lettered_at_once(world, http):
    hook = manage.add_webhook(world.system, "admin", http.url("/hook"), ["case_reported"])
    world.report(title="井盖缺失", grid="hq-c04-g03", actor="gw")
    manage.remove_webhook(world.system, "admin", hook["id"])
    assert deliver_due(world.system).dead == 1
    [row] = deliveries(world)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "the webhook was removed or switched off")
    assert http.requests == []


def test_a_mistyped_setting_never_fails_a_use_case_and_the_sweep_still_fires_timers(world, smtp, monkeypatch):
    manage.save_preferences(world.system, "gw", email="gw@example.org")
    monkeypatch.setenv("GRIDLINK_DELIVERY_MAX_ATTEMPTS", "zero")
    world.report(title="占道经营", category="exposed_rubbish", grid="hq-c04-g03", actor="gw-other")
    with pytest.raises(InvalidInput, match="GRIDLINK_DELIVERY_MAX_ATTEMPTS='zero'"):
        deliver_due(world.system)
    world.tick()  # logs the setting and goes on
    [row] = deliveries(world)
    assert (row.status, row.attempts) == ("pending", 0)  # waits for the setting to be fixed
    monkeypatch.setenv("GRIDLINK_DELIVERY_MAX_ATTEMPTS", "2")
    assert deliver_due(world.system).sent == 1 and len(smtp.to("gw@example.org")) == 1


def test_the_query_code_reaches_only_the_reporter_and_is_wiped_once_sent(world, smtp, http):
    manage.add_webhook(world.system, "admin", http.url("/hook"), ["case_reported"])
    number = world.report(title="井盖缺失", grid="hq-c04-g03", actor="gw")
    with world.system.sessions() as session, session.begin():  # what report_case does once it makes a code
        case = session.scalar(select(Case).where(Case.number == number))
        reporter_received(session, case, "resident@example.org", query_code="7KQ2ABCD")
    deliver_due(world.system)
    [mail] = smtp.to("resident@example.org")
    assert "查询码 7KQ2ABCD" in mail.get_content()
    assert all(b"7KQ2ABCD" not in r.body for r in http.to("/hook")) and len(http.to("/hook")) == 2
    assert all("query_code" not in d.data for d in deliveries(world))
