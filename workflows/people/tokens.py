"""API tokens as the integrations see them: who a bearer token stands for, and revoking it.

Tokens are created by ``workflows.people.accounts.create_token`` (``gridlink token create NAME``) and
stored as their sha256 digest only. A lookup returns a ``Principal``: plain values, safe to keep
after the session has closed. ``last_used_at`` is written at most once a minute per token, so a
busy integration does not turn every read into a write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from engine.prepared import Prepared
from workflows.clock import now
from workflows.errors import NotFound
from workflows.org.models import Department, OrgUnit
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


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_PRINCIPAL = Prepared(
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
        row = _PRINCIPAL.run(session, {"digest": digest(token)}).first()
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
