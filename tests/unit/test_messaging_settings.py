"""Delivery settings from the environment, and the texts worded from a case."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from workflows.errors import InvalidInput
from workflows.messaging import settings
from workflows.messaging.channels import signature
from workflows.messaging.texts import CaseFacts, word


def test_an_smtp_url_gives_host_port_login_sender_and_tls():
    smtp = settings.parse_smtp_url("smtp://mailer:p%40ss@mail.example.org:587?from=noreply@example.org&starttls=1")
    assert (smtp.host, smtp.port, smtp.user, smtp.password, smtp.sender, smtp.tls) == (
        "mail.example.org", 587, "mailer", "p@ss", "noreply@example.org", "starttls")
    assert settings.parse_smtp_url("smtps://mail.example.org").port == 465


def test_smtp_parts_work_without_a_url_and_nothing_configured_means_no_channel():
    loaded = settings.load({"GRIDLINK_SMTP_HOST": "127.0.0.1", "GRIDLINK_SMTP_PORT": "2525"})
    assert (loaded.smtp.host, loaded.smtp.port, loaded.smtp.tls) == ("127.0.0.1", 2525, "none")
    empty = settings.load({})
    assert not empty.configured("email") and not empty.configured("sms") and empty.configured("webhook")
    assert (empty.max_attempts, empty.backoff_seconds) == (6, 60.0)


@pytest.mark.parametrize("env, named", [({"GRIDLINK_SMTP_URL": "http://mail"}, "GRIDLINK_SMTP_URL"),
                                        ({"GRIDLINK_DELIVERY_MAX_ATTEMPTS": "0"}, "GRIDLINK_DELIVERY_MAX_ATTEMPTS"),
                                        ({"GRIDLINK_DELIVERY_BACKOFF_SECONDS": "soon"},
                                         "GRIDLINK_DELIVERY_BACKOFF_SECONDS"),
                                        ({"GRIDLINK_SMTP_HOST": "m", "GRIDLINK_SMTP_TLS": "yes"}, "GRIDLINK_SMTP_TLS")])
def test_an_unusable_setting_is_refused_naming_it(env, named):
    with pytest.raises(InvalidInput, match=named):
        settings.load(env)


def test_a_reminder_is_worded_in_chinese_with_beijing_time():
    case = CaseFacts(number="GL20261102-0001", title="井盖缺失", status="open", outcome=None)
    text = word("reminder", case, {"task": "社区处置", "due_at": datetime(2026, 11, 5, 1, 0, tzinfo=UTC).isoformat()},
                "fallback")
    assert text.subject == "【网格联动】催办 GL20261102-0001"
    assert text.body == ("【网格联动】催办：社区处置（案件 GL20261102-0001「井盖缺失」）"
                         "将于 2026-11-05 09:00（北京时间）到期，请尽快处理。")


def test_the_receipt_gives_the_query_code_when_the_case_has_one():
    case = CaseFacts(number="GL20261102-0001", title="井盖缺失", status="open", outcome=None)
    assert "查询码 7KQ2ABCD" in word("case_reported", case, {"query_code": "7KQ2ABCD"}, "").body
    assert "查询码" not in word("case_reported", case, {}, "").body


def test_a_kind_without_a_template_or_without_its_data_falls_back_to_the_in_app_text():
    case = CaseFacts(number="GL1", title="t", status="open", outcome=None)
    assert word("rework", case, {}, "返工：GL1").body == "【网格联动】返工：GL1"
    assert word("new_task", case, {}, "新任务：GL1").body == "【网格联动】新任务：GL1"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert signature("secret", "1700000000", b'{"a":1}') == f"sha256={expected}"


def test_a_channel_is_queued_for_when_its_setting_is_present_even_before_its_value_is_checked():
    assert settings.enabled_channels({"GRIDLINK_SMTP_URL": "http://mail", "GRIDLINK_SMS_URL": "https://sms"}) == (
        "email", "sms")
    assert settings.enabled_channels({"GRIDLINK_SMTP_HOST": "mail"}) == ("email",)
    assert settings.enabled_channels({}) == ()


@pytest.mark.parametrize("value", [5, ["a@b.cn"], "a@b", "two@@example.org"])
def test_an_unusable_email_address_is_refused_naming_it(value):
    from workflows.messaging.manage import check_email

    with pytest.raises(InvalidInput, match="e-mail address"):
        check_email(value)
