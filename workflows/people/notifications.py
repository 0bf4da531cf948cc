"""A user's notifications: list, unread count, mark read."""

from __future__ import annotations

from sqlalchemy import func, select, update

from workflows.clock import now
from workflows.people.lookups import get_user
from workflows.people.models import Notification


def list_notifications(system, actor, unread_only: bool = False, limit: int = 50) -> list[dict]:
    with system.reads() as session:
        user = get_user(session, actor)
        query = select(Notification).where(Notification.user_id == user.id)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit))
        return [{"id": n.id, "kind": n.kind, "message": n.message, "link": n.link, "created_at": n.created_at,
                 "read_at": n.read_at} for n in rows]


def unread_count(system, actor) -> int:
    with system.reads() as session:
        user = get_user(session, actor)
        return session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(system, actor, ids: list[int] | None = None) -> int:
    """Mark the given notifications (or all) of the user read; returns how many changed."""
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        if ids is not None:
            query = query.where(Notification.id.in_(ids))
        return session.execute(query.values(read_at=now())).rowcount
