"""Administration use cases: users, API tokens, SLA policies, and signing in."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import parse_timer_literal
from workflows.common import get_category, get_department, get_unit, get_user, invalid, now
from workflows.errors import Conflict, InvalidInput, NotFound
from workflows.models import ROLES, SLA_STAGES, ApiToken, SlaPolicy, User

UNIT_ROLES = ("coordinator", "grid_worker")
HASH_METHOD = "scrypt"
"""werkzeug's password hashing method (tests use a cheap one)."""


def create_user(system, username: str, role: str, org: str | None = None, department: str | None = None,
                password: str | None = None, display_name: str | None = None) -> tuple[User, str]:
    """Create a login; returns the user and the password (generated when none is given)."""
    if password is not None and len(password) < 8:
        raise invalid("the password is too short; use at least 8 characters", field="password")
    check_user_values(username, role, org, department)
    password = password or secrets.token_urlsafe(12)
    with system.sessions() as session, session.begin():
        user = add_user(session, username, role, org, department, hash_password(password), display_name)
        return loaded(user), password


def loaded(user: User) -> User:
    """The user with its unit (and that unit's parent) and department loaded, usable after the session ends."""
    if user.org_unit is not None:
        user.org_unit.parent  # noqa: B018 - load while the session is open
    user.department  # noqa: B018
    return user


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def check_user_values(username: str, role: str, org: str | None, department: str | None) -> None:
    if not isinstance(username, str) or not username.strip() or len(username) > 64:
        raise invalid(f"username {username!r} is not usable; give 1 to 64 characters", field="username")
    if role not in ROLES:
        raise invalid(f"unknown role {role!r}; use one of: {', '.join(ROLES)}", field="role")
    if role in UNIT_ROLES and not org:
        raise invalid(f"a {role} needs an org unit: pass --org CODE", field="org")
    if role == "department" and not department:
        raise invalid("department staff need a department: pass --department CODE", field="department")


def add_user(session: Session, username: str, role: str, org: str | None, department: str | None,
             password_hash: str, display_name: str | None = None) -> User:
    """Insert a user in the caller's transaction (values checked by ``check_user_values``)."""
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists; pick another name", field="username")
    user = User(username=username, display_name=display_name or username, role=role, password_hash=password_hash,
                org_unit=get_unit(session, org, field="org") if org else None,
                department=get_department(session, department) if department else None, created_at=now())
    session.add(user)
    session.flush()
    return user


def authenticate(system, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    with system.sessions() as session:
        user = session.scalar(select(User).where(User.username == username, User.active))
        if user is None or not check_password_hash(user.password_hash, password or ""):
            return None
        return loaded(user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(system, username: str, name: str = "api") -> str:
    """A new bearer token for ``username``; only its sha256 is stored, so it is shown once."""
    token = "glk_" + secrets.token_urlsafe(32)
    with system.sessions() as session, session.begin():
        user = get_user(session, username)
        session.add(ApiToken(user_id=user.id, name=name or "api", token_hash=_digest(token), created_at=now()))
    return token


def revoke_token(system, token: str) -> None:
    with system.sessions() as session, session.begin():
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token or "")))
        if row is None:
            raise NotFound("no such API token")
        row.revoked_at = row.revoked_at or now()


def list_tokens(system, username: str | None = None) -> list[dict]:
    """Every API token (never its secret), newest first; only ``username``'s when given."""
    with system.sessions() as session:
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
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                                    ApiToken.revoked_at.is_(None)))
        if row is None or not row.user.active:
            return None
        row.last_used_at = now()
        return loaded(row.user)


def set_sla(system, stage: str, duration: str, category: str | None = None,
            reminder_share: float | None = None) -> dict:
    """Set the time limit of an SLA stage (default, or for one category); applies to new cases."""
    if stage not in SLA_STAGES:
        raise invalid(f"unknown SLA stage {stage!r}; use one of: {', '.join(SLA_STAGES)}", field="stage")
    try:
        parse_timer_literal("timeDuration", duration)
    except ValueError as exc:
        raise invalid(f"duration {duration!r} is not an ISO-8601 duration ({exc}); write e.g. PT24H or P5D",
                           field="duration") from None
    if reminder_share is not None and not 0 < reminder_share < 1:
        raise invalid(f"reminder share {reminder_share!r} must lie between 0 and 1", field="reminder_share")
    with system.sessions() as session, session.begin():
        cat = get_category(session, category) if category else None
        query = select(SlaPolicy).where(SlaPolicy.stage == stage)
        query = query.where(SlaPolicy.category_id == cat.id) if cat else query.where(SlaPolicy.category_id.is_(None))
        row = session.scalar(query)
        if row is None:
            row = SlaPolicy(stage=stage, category_id=cat.id if cat else None, limit=duration)
            if stage.startswith("duty_") or stage == "dispatch_accept":
                row.reminder_share = None
            session.add(row)
        row.limit = duration
        if reminder_share is not None:
            row.reminder_share = reminder_share
        return {"stage": stage, "category": category, "limit": duration, "reminder_share": row.reminder_share}
