"""Finding the acting user by username, id or row; disabled users are not found."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.prepared import Prepared, adopt, flushed
from workflows.errors import NotFound
from workflows.people.actor import Actor
from workflows.people.models import User

_USER_ROW = Prepared(select(User.__table__).where(User.__table__.c.username == bindparam("username")))


_USER_ROW_BY_ID = Prepared(select(User.__table__).where(User.__table__.c.id == bindparam("id")))


def get_user(session: Session, actor) -> User:
    """The acting user, given an Actor, a username, a user id or a User (re-read in this session)."""
    if isinstance(actor, Actor):
        actor = actor.id
    if isinstance(actor, User):
        user = session.get(User, actor.id)
    elif isinstance(actor, int):
        found = _USER_ROW_BY_ID.run(flushed(session), {"id": actor}).first()
        user = adopt(session, User, found) if found is not None else None
    else:
        found = _USER_ROW.run(flushed(session), {"username": actor}).first()
        user = adopt(session, User, found) if found is not None else None
    if user is None or not user.active:
        raise NotFound(f"user {getattr(actor, 'username', actor)!r} does not exist or is disabled",
                       field="user")
    return user


def find_user(session: Session, actor) -> User | None:
    return None if actor is None else get_user(session, actor)
