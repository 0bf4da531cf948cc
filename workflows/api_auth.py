"""API tokens as the integrations see them: who a bearer token stands for, and revoking it.

Tokens are created by ``workflows.admin.create_token`` (``gridlink token create NAME``) and
stored as their sha256 digest only. A lookup returns a ``Principal``: plain values, safe to keep
after the session has closed. ``last_used_at`` is written at most once a minute per token, so a
busy integration does not turn every read into a write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from workflows.common import now
from workflows.errors import NotFound
from workflows.models import ApiToken, User
from workflows.reads import read_sessions

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


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for_token(system, token: str | None) -> Principal | None:
    """The active user a valid, unrevoked token belongs to; None for anything else."""
    if not token or len(token) > 512:
        return None
    with read_sessions(system)() as session:
        row = session.execute(
            select(ApiToken, User).join(User, ApiToken.user_id == User.id)
            .options(joinedload(User.org_unit), joinedload(User.department))
            .where(ApiToken.token_hash == digest(token), ApiToken.revoked_at.is_(None), User.active)
        ).first()
        if row is None:
            return None
        api_token, user = row
        principal = Principal(user_id=user.id, username=user.username, role=user.role,
                              org_unit=user.org_unit.code if user.org_unit else None,
                              department=user.department.code if user.department else None, token_id=api_token.id)
        last_used = api_token.last_used_at
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
