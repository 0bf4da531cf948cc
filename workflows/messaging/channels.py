"""The three ways out: SMTP e-mail, an SMS gateway over HTTP, and signed webhooks.

Each ``send_*`` either returns (the other side accepted the message) or raises
``DeliveryFailed`` with what went wrong; the worker decides about retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .settings import DeliverySettings

SIGNATURE_HEADER = "X-Gridlink-Signature"
TIMESTAMP_HEADER = "X-Gridlink-Timestamp"


class DeliveryFailed(Exception):
    """A message was not accepted; the text says why (kept on the outbox row). ``final``: trying
    again cannot help (the row is dead-lettered at once)."""

    def __init__(self, message: str, final: bool = False):
        super().__init__(message)
        self.final = final


def send_email(settings: DeliverySettings, to: str, subject: str, body: str) -> None:
    smtp = settings.smtp
    if smtp is None:
        raise DeliveryFailed("e-mail is not configured: set GRIDLINK_SMTP_URL (see README)")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, to, subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain=smtp.host)
    message.set_content(body, charset="utf-8")
    try:
        if smtp.tls == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=settings.timeout_seconds,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=settings.timeout_seconds)
        with client:
            if smtp.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc


def send_sms(settings: DeliverySettings, to: str, text: str) -> None:
    """POST ``{"to", "text"}`` as JSON to the gateway, with the bearer token when one is set."""
    if not settings.sms_url:
        raise DeliveryFailed("SMS is not configured: set GRIDLINK_SMS_URL (see README)")
    headers = {"Authorization": f"Bearer {settings.sms_token}"} if settings.sms_token else {}
    _post(settings.sms_url, json.dumps({"to": to, "text": text}, ensure_ascii=False).encode(), headers,
          settings.timeout_seconds)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp + "." + body`` under the webhook's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def send_webhook(settings: DeliverySettings, url: str, secret: str, event: dict, delivery_id: int) -> None:
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body),
               "X-Gridlink-Event": event["kind"], "X-Gridlink-Delivery": str(delivery_id)}
    _post(url, body, headers, settings.timeout_seconds)


def _post(url: str, body: bytes, headers: dict, timeout: float) -> None:
    if not url.startswith(("http://", "https://")):
        raise DeliveryFailed(f"{_safe(url)} is not an http(s) URL")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "gridlink-notifications", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (admin-configured URL)
            response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{_safe(url)} answered HTTP {exc.code} {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryFailed(f"{_safe(url)}: {getattr(exc, 'reason', exc)}") from exc


def _safe(url: str) -> str:
    """The URL without its query (a gateway's key may sit there)."""
    return url.split("?", 1)[0]
