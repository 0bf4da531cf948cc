"""Time limits in human units: an ISO-8601 duration worded for the reader ("1 天 12 小时"), a number
and a unit from the admin's picker turned into ISO-8601, and the SLA stages by name instead of code.

The bounds (longer than zero, at most 10 years) stay with the use case (``set_sla``); this module only
translates between what people read and type and what is stored."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from workflows.errors import InvalidInput

from .i18n import label

UNITS = {"minutes": ("PT", "M"), "hours": ("PT", "H"), "days": ("P", "D")}
"""The picker's units and the ISO-8601 designators they become."""

UNIT_LABELS = {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days")}

STAGE_NAMES = {
    "dispatch_accept": _l("Department accepts a dispatch"),
    "dispatch_result": _l("Department reports its result"),
    "duty_routine": _l("Duty office: routine case"),
    "duty_tough": _l("Duty office: tough case"),
    "duty_emergency": _l("Duty office: emergency"),
}

ISO = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
                 r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$")


def stage_name(stage: str) -> str:
    """"第一级：网格" for a level, "部门签收" for a dispatch stage; the code itself when unknown."""
    if stage in STAGE_NAMES:
        return str(STAGE_NAMES[stage])
    return label("level", stage)


def _part(kind: str, n: int) -> str:
    words = {
        "years": lambda: ngettext("%(num)d year", "%(num)d years", n),
        "months": lambda: ngettext("%(num)d month", "%(num)d months", n),
        "weeks": lambda: ngettext("%(num)d week", "%(num)d weeks", n),
        "days": lambda: ngettext("%(num)d day", "%(num)d days", n),
        "hours": lambda: ngettext("%(num)d hour", "%(num)d hours", n),
        "minutes": lambda: ngettext("%(num)d minute", "%(num)d minutes", n),
        "seconds": lambda: ngettext("%(num)d second", "%(num)d seconds", n),
    }
    return words[kind]()


def human_duration(value: str | None) -> str:
    """``PT36H`` → "36 小时", ``P1DT12H`` → "1 天 12 小时"; a value it cannot read is shown as it is."""
    found = ISO.match(value or "")
    if not found or not any(found.groupdict().values()):
        return value or ""
    return " ".join(_part(kind, int(n)) for kind, n in found.groupdict().items() if n and int(n))


def picker_value(value: str | None) -> tuple[str, str]:
    """The (number, unit) the picker shows for a stored limit: ``PT24H`` → ("24", "hours"); ("", "hours")
    when the limit has no single picker unit."""
    for unit, (prefix, designator) in UNITS.items():
        found = re.fullmatch(rf"{prefix}(\d+){designator}", value or "")
        if found:
            return found.group(1), unit
    return "", "hours"


def iso_duration(amount: str | None, unit: str | None) -> str:
    """The picker's number and unit as ISO-8601: ("24", "hours") → ``PT24H``. The number must be a whole
    number (the bounds are checked by the use case, which words them)."""
    text = (amount or "").strip()
    if unit not in UNITS:
        raise InvalidInput(_("Unknown unit %(unit)s: choose minutes, hours or days.", unit=unit or ""),
                           field="limit")
    if not re.fullmatch(r"-?\d+", text):
        raise InvalidInput(_("The time limit %(value)s is not a whole number: type e.g. 24 and choose hours.",
                             value=text), field="limit")
    prefix, designator = UNITS[unit]
    number = int(text)
    return f"{prefix}{number}{designator}" if number >= 0 else f"-{prefix}{-number}{designator}"
