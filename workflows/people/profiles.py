"""Who is signed in: a plain profile of a user for the web session, and their language choice."""

from __future__ import annotations

from sqlalchemy import select, update

from workflows.errors import InvalidInput
from workflows.people.models import User

LOCALES = ("zh", "en")


def profile(user: User) -> dict:
    """The user as plain data (safe to keep after the session closes)."""
    unit, department = user.org_unit, user.department
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "org_unit": unit.code if unit else None, "org_unit_name": unit.name if unit else None,
            "org_unit_level": unit.level if unit else None,
            "department": department.code if department else None,
            "department_name": department.name if department else None, "locale": user.locale or "zh"}


def load_profile(system, user_id) -> dict | None:
    """The active user with this id as a profile, or None (unknown, disabled or malformed id)."""
    try:
        key = int(user_id)
    except (TypeError, ValueError):
        return None
    with system.reads() as session:
        user = session.scalar(select(User).where(User.id == key, User.active))
        if user is None:
            return None
        return {**profile(user), "session_generation": user.session_generation or 0}


def end_sessions(system, user_id: int) -> None:
    """End every web session of the user (signing out, a new password): sessions remember the
    generation they started in, and only the current one is accepted."""
    with system.sessions() as session, session.begin():
        session.execute(update(User).where(User.id == user_id)
                        .values(session_generation=User.session_generation + 1))


def set_locale(system, user_id: int, locale: str) -> None:
    """Remember the user's language (``zh`` or ``en``)."""
    if locale not in LOCALES:
        raise InvalidInput(f"unknown language {locale!r}; use one of: {', '.join(LOCALES)}", field="locale")
    with system.sessions() as session, session.begin():
        user = session.get(User, user_id)
        if user is not None:
            user.locale = locale
