"""API tokens, the one module for them: creating (``gridlink token create NAME``), listing,
revoking, and who a bearer token stands for.

A token is shown once and stored as its sha256 digest only. A lookup returns a ``Principal``: plain values, safe to keep
after the session has closed. ``last_used_at`` is written at most once a minute per token, so a
busy integration does not turn every read into a write.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from workflows.clock import now
from workflows.errors import InvalidInput, NotFound
from workflows.org.models import Department, OrgUnit
from workflows.people.accounts import loaded
from workflows.people.actor import Actor
from workflows.people.lookups import get_user
from workflows.people.models import ApiToken, User
from workflows.reads.sessions import read_sessions

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The user behind a token, as plain values."""

    user_id: int
    username: str
    role: str
    org_unit: str | None
    department: str | None
    token_id: int

    @property
    def actor(self) -> Actor:
        return Actor(id=self.user_id, username=self.username, role=self.role, org_unit=self.org_unit,
                     department=self.department)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_PRINCIPAL = (
    select(ApiToken.id.label("token_id"), ApiToken.last_used_at, User.id.label("user_id"), User.username, User.role,
           OrgUnit.code.label("org_unit"), Department.code.label("department"))
    .join(User, ApiToken.user_id == User.id)
    .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
    .outerjoin(Department, User.department_id == Department.id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None), User.active)
)


def principal_for_token(system, token: str | None) -> Principal | None:
    """The active user a valid, unrevoked token belongs to; None for anything else."""
    if not token or len(token) > 512:
        return None
    with read_sessions(system)() as session:
        row = session.execute(_PRINCIPAL, {"digest": digest(token)}).first()
    if row is None:
        return None
    principal = Principal(user_id=row.user_id, username=row.username, role=row.role, org_unit=row.org_unit,
                          department=row.department, token_id=row.token_id)
    last_used = row.last_used_at
    moment = now()
    if last_used is None or moment - last_used >= TOUCH_EVERY:
        with system.sessions() as session, session.begin():
            session.execute(update(ApiToken).where(ApiToken.id == principal.token_id).values(last_used_at=moment))
    return principal


def revoke_token_id(system, token_id: int) -> None:
    """Revoke one token by its id (the API's ``DELETE /api/v1/tokens/current``)."""
    with system.sessions() as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"API token {token_id} does not exist")
        row.revoked_at = row.revoked_at or now()


def create_token(system, username: str, name: str = "api") -> str:
    """A new bearer token for ``username``; only its sha256 is stored, so it is shown once."""
    token = "glk_" + secrets.token_urlsafe(32)
    with system.sessions() as session, session.begin():
        user = get_user(session, username)
        session.add(ApiToken(user_id=user.id, name=name or "api", token_hash=digest(token), created_at=now()))
    return token


def revoke_token(system, token: str) -> None:
    with system.sessions() as session, session.begin():
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token or "")))
        if row is None:
            raise NotFound("no such API token")
        row.revoked_at = row.revoked_at or now()


def list_tokens(system, username: str | None = None) -> list[dict]:
    """Every API token (never its secret), newest first; only ``username``'s when given."""
    with system.reads() as session:
        query = select(ApiToken).join(ApiToken.user).order_by(ApiToken.id.desc())
        if username is not None:
            query = query.where(ApiToken.user_id == get_user(session, username).id)
        return [{"id": t.id, "user": t.user.username, "name": t.name, "created_at": t.created_at,
                 "last_used_at": t.last_used_at, "revoked_at": t.revoked_at} for t in session.scalars(query)]


def revoke_tokens(system, *, token_id: int | None = None, username: str | None = None) -> int:
    """Revoke one token by its id, or every active token of ``username``; returns how many."""
    if (token_id is None) == (username is None):
        raise InvalidInput("name a token id or a user (not both)", field="token")
    with system.sessions() as session, session.begin():
        query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
        if token_id is not None:
            if session.get(ApiToken, token_id) is None:
                raise NotFound(f"no API token with id {token_id}; `gridlink token list` shows them")
            query = query.where(ApiToken.id == token_id)
        else:
            query = query.where(ApiToken.user_id == get_user(session, username).id)
        rows = list(session.scalars(query))
        for row in rows:
            row.revoked_at = now()
        return len(rows)


def user_for_token(system, token: str) -> User | None:
    """The active user a (not revoked) token belongs to, or None."""
    if not token:
        return None
    with system.sessions() as session, session.begin():
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token),
                                                    ApiToken.revoked_at.is_(None)))
        if row is None or not row.user.active:
            return None
        row.last_used_at = now()
        return loaded(row.user)
