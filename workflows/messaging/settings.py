"""Where outgoing notifications go, read from the environment (see README "Notifications")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from workflows.errors import InvalidInput

TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    tls: str = "none"


@dataclass(frozen=True)
class DeliverySettings:
    smtp: SmtpSettings | None
    sms_url: str | None
    sms_token: str | None
    max_attempts: int
    backoff_seconds: float
    timeout_seconds: float

    def configured(self, channel: str) -> bool:
        """Whether messages on ``channel`` can be sent at all (webhooks need only their row)."""
        if channel == "email":
            return self.smtp is not None
        if channel == "sms":
            return bool(self.sms_url)
        return channel == "webhook"


def enabled_channels(environ: dict | None = None) -> tuple[str, ...]:
    """The channels an address is queued for: those with their setting present (``load`` checks
    the values when sending, so a mistyped setting never fails the use case that queues)."""
    env = os.environ if environ is None else environ
    found = []
    if env.get("GRIDLINK_SMTP_URL") or env.get("GRIDLINK_SMTP_HOST"):
        found.append("email")
    if env.get("GRIDLINK_SMS_URL"):
        found.append("sms")
    return tuple(found)


def load(environ: dict | None = None) -> DeliverySettings:
    """The settings from ``GRIDLINK_*`` variables; a value that cannot be used names itself."""
    env = os.environ if environ is None else environ
    return DeliverySettings(smtp=_smtp(env), sms_url=env.get("GRIDLINK_SMS_URL") or None,
                            sms_token=env.get("GRIDLINK_SMS_TOKEN") or None,
                            max_attempts=_number(env, "GRIDLINK_DELIVERY_MAX_ATTEMPTS", 6, int, 1),
                            backoff_seconds=_number(env, "GRIDLINK_DELIVERY_BACKOFF_SECONDS", 60.0, float, 0),
                            timeout_seconds=_number(env, "GRIDLINK_DELIVERY_TIMEOUT_SECONDS", 10.0, float, 0.1))


def _number(env, name: str, default, kind, minimum):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise InvalidInput(f"{name}={raw!r} is not a number of at least {minimum}; fix or unset it", field=name)
    return value


def _smtp(env) -> SmtpSettings | None:
    url = env.get("GRIDLINK_SMTP_URL")
    if url:
        return parse_smtp_url(url)
    host = env.get("GRIDLINK_SMTP_HOST")
    if not host:
        return None
    tls = env.get("GRIDLINK_SMTP_TLS") or "none"
    if tls not in TLS_MODES:
        raise InvalidInput(f"GRIDLINK_SMTP_TLS={tls!r}: use one of {', '.join(TLS_MODES)}", field="GRIDLINK_SMTP_TLS")
    port = _number(env, "GRIDLINK_SMTP_PORT", 465 if tls == "ssl" else 25, int, 1)
    return SmtpSettings(host=host, port=port, sender=env.get("GRIDLINK_SMTP_FROM") or f"gridlink@{host}",
                        user=env.get("GRIDLINK_SMTP_USER") or None,
                        password=env.get("GRIDLINK_SMTP_PASSWORD") or None, tls=tls)


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp://user:password@host:port?from=addr&starttls=1`` or ``smtps://...`` (TLS from the start)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InvalidInput(f"GRIDLINK_SMTP_URL {url.split('@')[-1]!r} is not smtp://host:port or smtps://host:port",
                           field="GRIDLINK_SMTP_URL")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    tls = "ssl" if parts.scheme == "smtps" else ("starttls" if query.get("starttls") in ("1", "true") else "none")
    try:
        port = parts.port or (465 if tls == "ssl" else 25)
    except ValueError as exc:
        raise InvalidInput(f"GRIDLINK_SMTP_URL has a bad port: {exc}", field="GRIDLINK_SMTP_URL") from exc
    return SmtpSettings(host=parts.hostname, port=port, sender=query.get("from") or f"gridlink@{parts.hostname}",
                        user=unquote(parts.username) if parts.username else None,
                        password=unquote(parts.password) if parts.password else None, tls=tls)
