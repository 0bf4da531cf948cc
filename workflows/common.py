"""Shared helpers of the use cases: lookups that name the value at fault, engine-error mapping, time.

Every lookup raises a domain error (NotFound or InvalidInput) whose message names the code that
was not found and says what would be accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import errors as eerr
from engine import utcnow
from engine.prepared import Prepared, adopt, flushed
from workflows.errors import Conflict, DomainError, InvalidInput, NotFound
from workflows.models import LEVELS, Case, Category, Department, OrgUnit, User

LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Case numbers and fund years follow the local calendar (China Standard Time, no DST)."""

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {"years": 365 * 86400, "months": 30 * 86400, "weeks": 7 * 86400, "days": 86400, "hours": 3600,
            "minutes": 60, "seconds": 1}


def invalid(message: str, *, field: str | None = None, code: str | None = None, reason: str | None = None,
            **params) -> InvalidInput:
    """An InvalidInput whose details name the field, like the engine's per-field form errors;
    ``reason`` and ``params`` let a user interface word it in its own language."""
    return InvalidInput(message, field=field, code=code, reason=reason, params=params,
                        details=[{"field": field, "message": message}] if field else [])


def now() -> datetime:
    return utcnow()


def local_today() -> date:
    return now().astimezone(LOCAL_TZ).date()


# --- durations ------------------------------------------------------------------------------

def duration_seconds(value: str, field: str = "duration") -> float:
    """Seconds in an ISO-8601 duration (years and months counted as 365 and 30 days)."""
    match = _DURATION.match(value or "") if isinstance(value, str) else None
    if not match or value in ("P", "PT") or value.endswith("T"):
        raise invalid(f"{field} {value!r} is not an ISO-8601 duration; write e.g. PT24H, P5D or PT30M",
                           field=field)
    return sum(float(amount) * _SECONDS[name] for name, amount in match.groupdict().items() if amount)


def format_duration(seconds: float) -> str:
    """An ISO-8601 duration in hours, minutes and seconds: 64800 -> ``PT18H``."""
    seconds = max(1, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}H" if hours else "", f"{minutes}M" if minutes else "", f"{secs}S" if secs else ""]
    return "PT" + "".join(parts)


FIRST_YEAR, LAST_YEAR = 1970, 2999  # dates a case can carry; also keeps date arithmetic in range


def parse_time(value, field: str) -> datetime:
    """A tz-aware datetime from an ISO-8601 string (or a datetime); InvalidInput otherwise."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise invalid(f"{field} {value!r} is not an ISO-8601 date-time; write e.g. "
                               "2026-11-21T09:00:00+08:00", field=field) from None
    if parsed.tzinfo is None:
        raise invalid(f"{field} {value!r} has no time zone; add one, e.g. +08:00", field=field)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        parsed = None
    if parsed is None or not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise invalid(f"{field} {value!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}; give a real date",
                      field=field, reason="date_out_of_range", first=FIRST_YEAR, last=LAST_YEAR)
    return parsed


# --- lookups --------------------------------------------------------------------------------

# built once: a statement made per call costs its construction and cache key every time
_UNIT_BY_CODE = select(OrgUnit).where(OrgUnit.code == bindparam("code"))
_CASE_ROW = Prepared(select(Case.__table__).where(Case.__table__.c.number == bindparam("number")))
_USER_ROW = Prepared(select(User.__table__).where(User.__table__.c.username == bindparam("username")))
_USER_ROW_BY_ID = Prepared(select(User.__table__).where(User.__table__.c.id == bindparam("id")))
_ACTIVE_CATEGORY = select(Category).where(Category.code == bindparam("code"), Category.active)


def get_unit(session: Session, code: str, field: str = "org_unit") -> OrgUnit:
    unit = session.scalar(_UNIT_BY_CODE, {"code": code}) if isinstance(code, str) else None
    if unit is None:
        raise invalid(f"unknown org unit {code!r}; use the code of a grid, community, workstation, "
                           "sub-centre or district centre (see /api/v1/org-units)", field=field)
    return unit


def get_department(session: Session, code: str, field: str = "department") -> Department:
    department = session.scalar(select(Department).where(Department.code == code)) \
        if isinstance(code, str) else None
    if department is None:
        known = ", ".join(session.scalars(select(Department.code).order_by(Department.code)))
        raise invalid(f"unknown department {code!r}; use one of: {known}", field=field)
    return department


def get_category(session: Session, code: str, field: str = "category") -> Category:
    category = session.scalar(_ACTIVE_CATEGORY, {"code": code}) if isinstance(code, str) else None
    if category is None or category.parent_id is None:
        known = ", ".join(session.scalars(select(Category.code).where(Category.parent_id.is_not(None),
                                                                       Category.active)
                                          .order_by(Category.code)))
        raise invalid(f"unknown category {code!r}; use one of: {known}", field=field)
    return category


def get_case(session: Session, number: str) -> Case:
    found = _CASE_ROW.run(flushed(session), {"number": number}).first() if isinstance(number, str) else None
    if found is None:
        raise NotFound(f"case {number!r} does not exist; check the number (e.g. GL20261121-0001)",
                       field="number")
    case = adopt(session, Case, found)
    remember_case(session, case)
    return case


def remember_case(session: Session, case: Case) -> None:
    """Let ``records.case_by_number`` find a case of this session without a query."""
    session.info.setdefault(CASE_IDS, {})[case.number] = case.id


CASE_IDS = "gridlink.case_ids_by_number"


def get_user(session: Session, actor) -> User:
    """The acting user, given a username, a user id or a User (re-read in this session)."""
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


def check_level(level: str, field: str = "level") -> str:
    if level not in LEVELS:
        raise invalid(f"unknown level {level!r}; use one of: {', '.join(LEVELS)}", field=field)
    return level


def is_within(unit: OrgUnit, ancestor: OrgUnit) -> bool:
    """True when ``unit`` is ``ancestor`` or lies below it."""
    current, seen = unit, set()
    while current is not None and current.id not in seen:
        if current.id == ancestor.id:
            return True
        seen.add(current.id)
        current = current.parent
    return False


def require_text(value, field: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{field} is missing: give {what}", field=field)
    return value.strip()


# --- engine errors --------------------------------------------------------------------------

@contextmanager
def engine_errors() -> Iterator[None]:
    """Translate the engine's errors into the domain's family (same message, details per field)."""
    try:
        yield
    except eerr.InvalidTaskData as exc:
        raise InvalidInput(exc.message, details=exc.details) from exc
    except eerr.NotFound as exc:
        raise NotFound(exc.message) from exc
    except (eerr.Conflict, eerr.NothingWaiting) as exc:
        raise Conflict(exc.message) from exc
    except eerr.EngineError as exc:
        raise DomainError(exc.message, code=exc.code, details=exc.details) from exc


def check_step(result) -> None:
    """A step whose script failed is refused: the transaction rolls back and nothing changes."""
    if result.error:
        raise DomainError(f"the process could not continue: {result.error}; nothing was changed, "
                          "ask an admin to check the deployed definition", code="process_error")
