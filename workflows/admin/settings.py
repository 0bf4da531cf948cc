"""Administration use cases behind the admin pages: org tree, departments, users, categories,
SLA policies and fund budgets. Each validates its input, names the value at fault, and writes
an entry to the admin audit trail in the same transaction as the change.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from engine import parse_timer_literal
from workflows.admin import audit
from workflows.checks import invalid
from workflows.clock import local_today
from workflows.coordination.models import FundBudget, budget_spent_cents
from workflows.errors import Conflict, InvalidInput, NotFound
from workflows.org.lookups import get_department, get_unit
from workflows.org.models import LEVELS, Department, OrgUnit
from workflows.people import accounts
from workflows.people.models import ROLES, User
from workflows.reference.models import CATEGORY_KINDS, SLA_STAGES, Category, SlaPolicy

_CODE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


def _code(value, field: str = "code") -> str:
    if not isinstance(value, str) or not _CODE.match(value.strip()):
        raise InvalidInput(f"code {value!r} is not usable: use 1 to 64 lower-case letters, digits, '_' or '-'",
                           field=field)
    return value.strip()


def _name(value, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise InvalidInput(f"{field} {value!r} is not usable: give 1 to 200 characters", field=field)
    return value.strip()


def _duration(value, field: str = "time_limit") -> str:
    try:
        parse_timer_literal("timeDuration", value)
    except ValueError as exc:
        raise invalid(f"{field}: {exc}", field=field, reason=f"duration_{getattr(exc, 'reason', 'malformed')}",
                      setting=field, value=value) from None
    return value


def audit_log(system, limit: int = 200) -> list[dict]:
    with system.reads() as session:
        return [{"at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "details": e.details}
                for e in audit.recent(session, limit)]


# ----- org tree -------------------------------------------------------------------------------
def org_tree(system) -> list[dict]:
    """The org tree as nested items, the district centre(s) first; each with user counts."""
    with system.reads() as session:
        units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.code)))
        users = dict(session.execute(select(User.org_unit_id, func.count()).where(User.active)
                                     .group_by(User.org_unit_id)).all())
        items = {u.id: {"code": u.code, "name": u.name, "level": u.level, "users": users.get(u.id, 0),
                        "parent": None, "children": []} for u in units}
        roots = []
        for unit in units:
            item = items[unit.id]
            if unit.parent_id in items:
                item["parent"] = items[unit.parent_id]["code"]
                items[unit.parent_id]["children"].append(item)
            else:
                roots.append(item)
        return roots


def save_unit(system, actor: str, code, name, level=None, parent=None) -> dict:
    """Create a unit (level one below its parent's) or rename an existing one."""
    code, name = _code(code), _name(name)
    with system.sessions() as session, session.begin():
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is not None:
            old = unit.name
            unit.name = name
            audit.record(session, actor, "org_unit.rename", code, old=old, new=name)
            return {"code": code, "name": name, "level": unit.level, "created": False}
        if level not in LEVELS:
            raise InvalidInput(f"unknown level {level!r}; use one of: {', '.join(LEVELS)}", field="level")
        parent_unit = _parent_for(session, level, parent)
        session.add(OrgUnit(code=code, name=name, level=level, parent=parent_unit))
        audit.record(session, actor, "org_unit.create", code, name=name, level=level,
                           parent=parent_unit.code if parent_unit else None)
        return {"code": code, "name": name, "level": level, "created": True}


def _parent_for(session: Session, level: str, parent) -> OrgUnit | None:
    index = LEVELS.index(level)
    if index == len(LEVELS) - 1:
        if parent:
            raise InvalidInput("a district centre has no parent unit: leave the parent empty", field="parent")
        return None
    if not parent:
        raise InvalidInput(f"a {level} unit needs a parent {LEVELS[index + 1]} unit", field="parent")
    unit = get_unit(session, parent, field="parent")
    if unit.level != LEVELS[index + 1]:
        raise InvalidInput(f"a {level} unit belongs under a {LEVELS[index + 1]}, and {unit.code} is a {unit.level}",
                           field="parent")
    return unit


# ----- departments ----------------------------------------------------------------------------
def list_departments(system) -> list[dict]:
    with system.reads() as session:
        staff = dict(session.execute(select(User.department_id, func.count()).where(User.active)
                                     .group_by(User.department_id)).all())
        return [{"code": d.code, "name": d.name, "staff": staff.get(d.id, 0)}
                for d in session.scalars(select(Department).order_by(Department.code))]


def save_department(system, actor: str, code, name) -> dict:
    code, name = _code(code), _name(name)
    with system.sessions() as session, session.begin():
        department = session.scalar(select(Department).where(Department.code == code))
        created = department is None
        if created:
            department = Department(code=code, name=name)
            session.add(department)
        old = None if created else department.name
        department.name = name
        audit.record(session, actor, "department.create" if created else "department.rename", code,
                           name=name, old=old)
        return {"code": code, "name": name, "created": created}


# ----- users ----------------------------------------------------------------------------------
def list_users(system, role: str | None = None, query: str | None = None) -> list[dict]:
    with system.reads() as session:
        stmt = select(User).order_by(User.role, User.username)
        if role:
            stmt = stmt.where(User.role == role)
        if query:
            like = f"%{query.strip()}%"
            stmt = stmt.where(User.username.ilike(like) | User.display_name.ilike(like))
        return [{"username": u.username, "display_name": u.display_name, "role": u.role, "active": bool(u.active),
                 "org_unit": u.org_unit.code if u.org_unit else None,
                 "department": u.department.code if u.department else None} for u in session.scalars(stmt)]


def create_user(system, actor: str, username, role, org=None, department=None, display_name=None,
                password=None) -> dict:
    """Create a login; returns it with the password to hand over (generated when none is given)."""
    def record(session: Session, user: User) -> None:
        audit.record(session, actor, "user.create", user.username, role=role, org=org or None,
                     department=department or None)

    user, password = accounts.create_user(system, (username or "").strip(), role, org or None, department or None,
                                          password or None, (display_name or "").strip() or None, also=record)
    return {"username": user.username, "role": role, "password": password}


def _user(session: Session, username) -> User:
    user = session.scalar(select(User).where(User.username == username)) if isinstance(username, str) else None
    if user is None:
        raise NotFound(f"user {username!r} does not exist; pick one from the user list", field="username")
    return user


def set_active(system, actor: str, username, active: bool) -> dict:
    with system.sessions() as session, session.begin():
        user = _user(session, username)
        if user.username == actor and not active:
            raise Conflict("you cannot deactivate your own login; ask another admin", field="username")
        if not active and user.role == "admin" and user.active and _active_admins(session) <= 1:
            raise Conflict(f"{user.username} is the last active admin; create another admin first", field="username")
        user.active = bool(active)
        audit.record(session, actor, "user.activate" if active else "user.deactivate", user.username)
        return {"username": user.username, "active": user.active}


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active)) or 0


def reset_password(system, actor: str, username, password: str | None = None) -> dict:
    """Give the user a new password (generated when none is given); returns it once."""
    if password is not None and password != "" and len(password) < 8:
        raise InvalidInput("the password is too short; use at least 8 characters", field="password")
    password = password or secrets.token_urlsafe(12)
    with system.sessions() as session, session.begin():
        user = _user(session, username)
        user.password_hash = generate_password_hash(password)
        user.session_generation = (user.session_generation or 0) + 1  # signed-in sessions end
        audit.record(session, actor, "user.reset_password", user.username)
        return {"username": user.username, "password": password}


def set_role(system, actor: str, username, role, org=None, department=None) -> dict:
    """Change a user's role and, for unit and department roles, where they work."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of: {', '.join(ROLES)}", field="role")
    with system.sessions() as session, session.begin():
        user = _user(session, username)
        if user.role == "admin" and role != "admin" and user.active and _active_admins(session) <= 1:
            raise Conflict(f"{user.username} is the last active admin; create another admin first", field="role")
        unit = get_unit(session, org, field="org") if org else None
        dept = get_department(session, department) if department else None
        if role in ("coordinator", "grid_worker") and unit is None:
            raise InvalidInput(f"a {role} needs an org unit: choose one", field="org")
        if role == "department" and dept is None:
            raise InvalidInput("department staff need a department: choose one", field="department")
        old = user.role
        user.role, user.org_unit, user.department = role, unit, dept
        audit.record(session, actor, "user.role", user.username, old=old, role=role,
                           org=org or None, department=department or None)
        return {"username": user.username, "role": role}


# ----- categories -----------------------------------------------------------------------------
def list_categories(system) -> list[dict]:
    with system.reads() as session:
        return [{"code": c.code, "name": c.name, "name_en": c.name_en, "kind": c.kind,
                 "parent": c.parent.code if c.parent else None,
                 "department": c.department.code if c.department else None, "time_limit": c.time_limit,
                 "active": bool(c.active), "public": bool(c.public)}
                for c in session.scalars(select(Category).order_by(Category.kind, Category.parent_id.is_not(None),
                                                                   Category.code))]


def save_category(system, actor: str, code, name, parent=None, department=None, time_limit=None,
                  active: bool = True, name_en: str | None = None, public: bool | None = None) -> dict:
    """Create or update a category; concrete categories need a default department and time limit.
    ``public`` (None keeps it; new categories are private) lets anonymous readers see its cases'
    description and place (Open311, /track)."""
    code, name = _code(code), _name(name)
    with system.sessions() as session, session.begin():
        parent_row = _parent_category(session, parent) if parent else None
        if parent_row is not None and parent_row.code == code:
            raise InvalidInput("a category cannot be its own parent", field="parent")
        dept = get_department(session, department) if department else None
        if parent_row is not None:
            if dept is None:
                raise InvalidInput(f"category {code} needs a default department", field="department")
            time_limit = _duration(time_limit)
        row = session.scalar(select(Category).where(Category.code == code))
        created = row is None
        if created:
            kind = parent_row.kind if parent_row else code
            if kind not in CATEGORY_KINDS:
                raise InvalidInput(f"a top-level category is one of: {', '.join(CATEGORY_KINDS)}; "
                                   "give the others a parent", field="parent")
            row = Category(code=code, kind=kind)
            session.add(row)
        row.name, row.parent, row.department = name, parent_row, dept
        row.time_limit = time_limit if parent_row is not None else None
        row.active = bool(active)
        if public is not None or created:
            row.public = bool(public)
        if name_en is not None:
            row.name_en = name_en.strip()[:200]
        audit.record(session, actor, "category.create" if created else "category.update", code, name=name,
                     parent=parent, department=department, time_limit=row.time_limit, active=row.active,
                     public=row.public)
        return {"code": code, "created": created}


def _parent_category(session: Session, code) -> Category:
    row = session.scalar(select(Category).where(Category.code == code))
    if row is None:
        raise InvalidInput(f"unknown parent category {code!r}; use one of: {', '.join(CATEGORY_KINDS)}",
                           field="parent")
    if row.parent_id is not None:
        raise InvalidInput(f"categories are two levels deep: {row.code} is already a sub-category; "
                           f"use one of: {', '.join(CATEGORY_KINDS)}", field="parent")
    return row


# ----- SLA policies ---------------------------------------------------------------------------
def list_sla(system) -> list[dict]:
    with system.reads() as session:
        return [{"stage": p.stage, "category": p.category.code if p.category else None, "limit": p.limit,
                 "reminder_share": p.reminder_share}
                for p in session.scalars(select(SlaPolicy).order_by(SlaPolicy.category_id.is_not(None),
                                                                    SlaPolicy.stage))]


def set_sla(system, actor: str, stage, duration, category=None, reminder_share=None) -> dict:
    if isinstance(reminder_share, str):
        try:
            reminder_share = float(reminder_share) if reminder_share.strip() else None
        except ValueError:
            raise InvalidInput(f"reminder share {reminder_share!r} is not a number; give e.g. 0.75",
                               field="reminder_share") from None
    if stage not in SLA_STAGES:
        raise InvalidInput(f"unknown SLA stage {stage!r}; use one of: {', '.join(SLA_STAGES)}", field="stage")
    def record(session: Session, result: dict) -> None:
        audit.record(session, actor, "sla.set", f"{stage}/{category or 'default'}", **result)

    return accounts.set_sla(system, stage, (duration or "").strip(), category or None, reminder_share, also=record)


# ----- fund budgets ---------------------------------------------------------------------------
def list_budgets(system, year: int | None = None) -> list[dict]:
    year = year or local_today().year
    with system.reads() as session:
        budgets = {b.org_unit_id: b for b in session.scalars(select(FundBudget).where(FundBudget.year == year))}
        out = []
        for unit in session.scalars(select(OrgUnit).where(OrgUnit.level == "workstation").order_by(OrgUnit.code)):
            budget = budgets.get(unit.id)
            spent = budget_spent_cents(session, budget) if budget else 0
            out.append({"workstation": unit.code, "name": unit.name, "year": year,
                        "amount_cents": budget.amount_cents if budget else None, "spent_cents": spent})
        return out


def set_budget(system, actor: str, workstation, year, amount_yuan) -> dict:
    """Set a workstation's small-matters fund for a year (in yuan); never below what was spent."""
    try:
        year = int(year)
        cents = round(float(amount_yuan) * 100)
    except (TypeError, ValueError):
        raise InvalidInput(f"year {year!r} and amount {amount_yuan!r} must be numbers, e.g. 2026 and 50000",
                           field="amount") from None
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"year {year} is out of range; give e.g. {local_today().year}", field="year")
    if cents < 0 or cents > 10**13:
        raise InvalidInput(f"amount {amount_yuan!r} must be between 0 and 100 billion yuan", field="amount")
    with system.sessions() as session, session.begin():
        unit = get_unit(session, workstation, field="workstation")
        if unit.level != "workstation":
            raise InvalidInput(f"{unit.code} is a {unit.level}; the fund belongs to a workstation",
                               field="workstation")
        budget = session.scalar(select(FundBudget).where(FundBudget.org_unit_id == unit.id, FundBudget.year == year))
        if budget is None:
            budget = FundBudget(org_unit=unit, year=year, amount_cents=cents)
            session.add(budget)
            session.flush()
        spent = budget_spent_cents(session, budget)
        if cents < spent:
            raise Conflict(f"{spent / 100:.2f} yuan were already spent from {unit.code}'s {year} fund; "
                           "the budget cannot be lower", field="amount")
        old = budget.amount_cents
        budget.amount_cents = cents
        audit.record(session, actor, "fund.budget", unit.code, year=year, amount_cents=cents, old=old)
        return {"workstation": unit.code, "year": year, "amount_cents": cents}
