"""The tables of outgoing notifications: contact settings, reporter contacts, webhooks, the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime, utcnow

CHANNELS = ("email", "sms", "webhook")
DELIVERY_STATUSES = ("pending", "sent", "dead")


class ContactSettings(Base):
    """Where a user hears about their work outside the app, and which kinds on which channel.

    ``email_kinds``/``sms_kinds`` are lists of notification kinds; NULL means the defaults
    (``preferences.DEFAULT_KINDS``). In-app notifications are always written."""

    __tablename__ = "contact_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    email_kinds: Mapped[list[str] | None] = mapped_column(JSON)
    sms_kinds: Mapped[list[str] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReporterContact(Base):
    """The e-mail address a reporter gave with a report (the phone is ``Case.reporter_phone``)."""

    __tablename__ = "reporter_contacts"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))


class Webhook(Base):
    """A URL another system registered (by an admin) to receive signed events."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The event kinds sent; empty means every kind."""
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One message to send on one channel to one recipient (the outbox).

    Written in the use case's transaction; the worker sends it later. ``data`` holds what the text
    needs beyond the case (task name, due time); the text itself is worded at send time."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(500))
    """An e-mail address, a phone number, or the webhook's URL (as registered)."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text, default="")
    """The in-app wording, used when a kind has no text of its own."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
