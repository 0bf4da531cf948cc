"""Accounts: creating users, their passwords and signing in; SLA policies set from the command line."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import parse_timer_literal
from workflows.checks import invalid
from workflows.clock import now
from workflows.errors import Conflict
from workflows.org.lookups import get_department, get_unit
from workflows.people.models import ROLES, User
from workflows.reference.lookups import get_category
from workflows.reference.models import SLA_STAGES, SlaPolicy

UNIT_ROLES = ("coordinator", "grid_worker")
HASH_METHOD = "scrypt"
"""werkzeug's password hashing method (tests use a cheap one)."""


def create_user(system, username: str, role: str, org: str | None = None, department: str | None = None,
                password: str | None = None, display_name: str | None = None,
                also: Callable[[Session, User], None] | None = None) -> tuple[User, str]:
    """Create a login; returns the user and the password (generated when none is given). ``also``
    runs in the same transaction (an admin verb's audit entry)."""
    if password is not None and len(password) < 8:
        raise invalid("the password is too short; use at least 8 characters", field="password")
    check_user_values(username, role, org, department)
    password = password or secrets.token_urlsafe(12)
    with system.sessions() as session, session.begin():
        user = add_user(session, username, role, org, department, hash_password(password), display_name)
        if also is not None:
            also(session, user)
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
    """The active user with this username and password, or None. Unknown and disabled usernames
    cost one password check too (against a dummy hash of the same method), so the time taken does
    not tell which usernames exist."""
    with system.reads() as session:
        user = session.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None else _dummy_hash()
        matches = check_password_hash(stored, password or "")
        if user is None or not user.active or not matches:
            return None
        return loaded(user)


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash of a random password with the current HASH_METHOD, made once per method."""
    if HASH_METHOD not in _DUMMY_HASHES:
        _DUMMY_HASHES[HASH_METHOD] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[HASH_METHOD]


def set_sla(system, stage: str, duration: str, category: str | None = None,
            reminder_share: float | None = None, also: Callable[[Session, dict], None] | None = None) -> dict:
    """Set the time limit of an SLA stage (default, or for one category); applies to new cases.
    ``also`` runs in the same transaction (an admin verb's audit entry)."""
    if stage not in SLA_STAGES:
        raise invalid(f"unknown SLA stage {stage!r}; use one of: {', '.join(SLA_STAGES)}", field="stage")
    try:
        parse_timer_literal("timeDuration", duration)
    except ValueError as exc:
        raise invalid(f"SLA {stage} duration: {exc}", field="duration",
                      reason=f"duration_{getattr(exc, 'reason', 'malformed')}",
                      setting=f"SLA {stage}", value=duration) from None
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
        result = {"stage": stage, "category": category, "limit": duration, "reminder_share": row.reminder_share}
        if also is not None:
            also(session, result)
        return result
