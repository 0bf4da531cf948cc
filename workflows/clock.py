"""Time for the use cases: now, the local day (in the installation's zone, Asia/Shanghai by
default), ISO durations and timestamps."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine import utcnow
from workflows.checks import invalid

TIME_ZONE_SETTING = "GRIDLINK_TIME_ZONE"
DEFAULT_TIME_ZONE = "Asia/Shanghai"


def local_zone(name: str | None = None) -> tzinfo:
    """The installation's time zone: ``GRIDLINK_TIME_ZONE`` (an IANA name), Asia/Shanghai by default."""
    name = (name if name is not None else os.environ.get(TIME_ZONE_SETTING, "")).strip() or DEFAULT_TIME_ZONE
    if name == DEFAULT_TIME_ZONE:
        try:
            return ZoneInfo(name)
        except ZoneInfoNotFoundError:  # no tz database on this machine: China has no DST
            return timezone(timedelta(hours=8), name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(f"{TIME_ZONE_SETTING}={name!r} is not a known time zone: give an IANA name such as "
                         f"Asia/Shanghai or Asia/Urumqi") from None


LOCAL_TZ = local_zone()
"""Times are shown, and case numbers and fund years counted, in the installation's time zone."""


_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

_SECONDS = {"years": 365 * 86400, "months": 30 * 86400, "weeks": 7 * 86400, "days": 86400, "hours": 3600,
            "minutes": 60, "seconds": 1}


def now() -> datetime:
    return utcnow()


def local_today() -> date:
    return now().astimezone(LOCAL_TZ).date()


def duration_seconds(value: str, field: str = "duration") -> float:
    """Seconds in an ISO-8601 duration (years and months counted as 365 and 30 days)."""
    match = _DURATION.match(value or "") if isinstance(value, str) else None
    if not match or value in ("P", "PT") or value.endswith("T"):
        raise invalid(f"{field} {value!r} is not an ISO-8601 duration; write e.g. PT24H, P5D or PT30M",
                      field=field, reason="duration_malformed", setting=field, value=value)
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
