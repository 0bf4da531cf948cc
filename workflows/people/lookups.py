"""Finding the acting user by username, id or row; disabled users are not found."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.errors import NotFound
from workflows.people.actor import Actor
from workflows.people.models import User


def get_user(session: Session, actor) -> User:
    """The acting user, given an Actor, a username, a user id or a User (re-read in this session)."""
    if isinstance(actor, Actor):
        actor = actor.id
    if isinstance(actor, User):
        user = session.get(User, actor.id)
    elif isinstance(actor, int):
        user = session.get(User, actor)
    else:
        user = session.scalar(select(User).where(User.username == actor)) if isinstance(actor, str) else None
    if user is None or not user.active:
        raise NotFound(f"user {getattr(actor, 'username', actor)!r} does not exist or is disabled",
                       field="user")
    return user


def find_user(session: Session, actor) -> User | None:
    return None if actor is None else get_user(session, actor)
