"""Timer arithmetic: literal checks at deploy time, bounds at run time, and the next due time.

SpiffWorkflow's own duration parser is lenient (``-PT1H`` reads as one hour, ``xPT1H`` too) and
turns years and months into days one month at a time: ``P99999999Y`` is a loop of 1.2 billion
steps that holds the process for minutes. So every duration is read by ``duration_span`` first:
strict ISO-8601, longer than zero, at most ten years. Deployed literals and SLA settings are
refused with that message; at run time ``install_guards`` makes a timer whose expression computed
an out-of-bounds value fail its step with an engine error naming the element, before
SpiffWorkflow's loop starts.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

MAX_YEARS = 10
YEAR = timedelta(days=365.25)
MAX_SPAN = MAX_YEARS * YEAR
_UNIT = {"years": YEAR, "months": YEAR / 12, "weeks": timedelta(weeks=1), "days": timedelta(days=1),
         "hours": timedelta(hours=1), "minutes": timedelta(minutes=1), "seconds": timedelta(seconds=1)}
_DURATION = re.compile(
    r"P(?:(?P<years>\d{1,12})Y)?(?:(?P<months>\d{1,12})M)?(?:(?P<weeks>\d{1,12})W)?(?:(?P<days>\d{1,12})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,12})H)?(?:(?P<minutes>\d{1,12})M)?(?:(?P<seconds>\d{1,12}(?:[.,]\d{1,9})?)S)?)?",
    re.IGNORECASE)
HINT = "write a positive ISO-8601 duration of at most 10 years, e.g. PT24H, P5D or P1Y"


class TimerValueError(ValueError):
    """A timer value that is malformed or out of bounds; the message says what to write instead.
    ``reason`` is ``malformed``, ``zero``, ``too_long`` or ``too_far`` (for a user interface's wording)."""

    def __init__(self, message: str, reason: str = "malformed"):
        super().__init__(message)
        self.reason = reason


def duration_span(value) -> timedelta:
    """The length of an ISO-8601 duration (a year as 365.25 days, a month as a twelfth of that),
    or TimerValueError when it is malformed, not positive, or longer than ten years."""
    if not isinstance(value, str):
        raise TimerValueError(f"a duration must be a string, not {type(value).__name__}: {HINT}")
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if not match or text.upper() in ("P", "PT") or not any(match.groupdict().values()):
        raise TimerValueError(f"{value!r} is not an ISO-8601 duration (no sign, no spaces, designators in "
                              f"the order Y M W D T H M S): {HINT}")
    amounts = {name: float(amount.replace(",", ".")) for name, amount in match.groupdict().items() if amount}
    seconds = sum(amount * _UNIT[name].total_seconds() for name, amount in amounts.items())
    if seconds <= 0:
        raise TimerValueError(f"{value!r} is zero: a timer or time limit must be longer than zero; {HINT}", "zero")
    if seconds > MAX_SPAN.total_seconds():
        raise TimerValueError(f"{value!r} is longer than {MAX_YEARS} years: {HINT}", "too_long")
    return timedelta(seconds=seconds)


def check_date(value, need_zone: bool = True) -> datetime:
    """A timer date at most ten years ahead (with a time zone unless ``need_zone`` is false: at run
    time SpiffWorkflow reads a date without one as local time); TimerValueError otherwise."""
    if not isinstance(value, str):
        raise TimerValueError(f"a timer date must be a string, not {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise TimerValueError(f"{value!r} is not an ISO-8601 date-time: write e.g. "
                              "2026-01-01T09:00:00+08:00") from None
    if moment.tzinfo is None and need_zone:
        raise TimerValueError(f"{value!r} has no time zone: write e.g. 2026-01-01T09:00:00+08:00")
    limit = now() + MAX_SPAN
    if moment.replace(tzinfo=moment.tzinfo or UTC) > limit:
        raise TimerValueError(f"{value!r} is more than {MAX_YEARS} years ahead: choose a date before "
                              f"{limit.date().isoformat()}", "too_far")
    return moment


def check_cycle(value) -> None:
    """A repeating interval ``R[n]/[start/]duration``: each part within bounds."""
    if not isinstance(value, str):
        raise TimerValueError(f"a timer cycle must be a string, not {type(value).__name__}")
    parts = value.strip().upper().split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"R\d{0,9}", parts[0]):
        raise TimerValueError(f"{value!r} is not an ISO-8601 repeating interval: write e.g. R3/PT1H or "
                              "R/2026-01-01T09:00:00+08:00/P1D")
    durations = [p for p in parts[1:] if p.startswith("P")]
    if len(durations) != 1:
        raise TimerValueError(f"{value!r} needs exactly one duration: write e.g. R3/PT1H")
    for part in parts[1:]:
        if part.startswith("P"):
            duration_span(part)
        else:
            _cycle_date(part, value)


def _cycle_date(part: str, whole: str) -> None:
    try:
        moment = datetime.fromisoformat(part)
    except ValueError:
        raise TimerValueError(f"{whole!r}: {part!r} is neither a duration nor an ISO-8601 date-time") from None
    if moment.tzinfo is not None and moment > now() + MAX_SPAN:
        raise TimerValueError(f"{whole!r}: {part!r} is more than {MAX_YEARS} years ahead", "too_far")


def check_timer_value(kind: str, value) -> None:
    """Raise TimerValueError unless ``value`` is a usable, bounded value for a timer of this kind."""
    if kind == "timeDuration":
        duration_span(value)
    elif kind == "timeDate":
        check_date(value)
    else:
        check_cycle(value)


def parse_timer_literal(kind: str, value) -> None:
    """Raise ValueError unless ``value`` is a usable literal for a timer of this kind (deploy time,
    and the SLA and time-limit settings, whose values become timer durations)."""
    check_timer_value(kind, value)
    try:
        if kind == "timeDuration":
            _SPIFF_PARSE_DURATION(value.strip())
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value.strip())
    except Exception as exc:  # SpiffWorkflow raises a bare Exception for what it cannot read
        raise TimerValueError(f"{value!r} is not a valid ISO-8601 {kind[4:].lower()} ({exc})") from exc


# ----- the run-time guard ---------------------------------------------------------------------
_SPIFF_PARSE_DURATION = TimerEventDefinition.parse_iso_duration


def _bounded_parse_duration(expression):
    """SpiffWorkflow's duration parser, reached only by durations within bounds."""
    duration_span(expression)
    try:
        return _SPIFF_PARSE_DURATION(expression.strip())
    except Exception as exc:  # a bare Exception: weeks beside years, months or days
        raise TimerValueError(f"{expression!r} is not a valid ISO-8601 duration ({exc}): {HINT}") from exc


def _failing_the_step(method):
    """Turn an out-of-bounds timer value into an error of the task, so the step fails with it."""

    @functools.wraps(method)
    def guarded(self, my_task):
        try:
            return method(self, my_task)
        except TimerValueError as exc:
            raise WorkflowTaskException(f"timer {my_task.task_spec.bpmn_id}: {exc}", task=my_task,
                                        exception=exc) from exc

    guarded.gridlink_guard = True
    return guarded


def _guard_dates(method):
    """Check a computed timer date before SpiffWorkflow stores it."""

    @functools.wraps(method)
    def checked(self, my_task):
        if my_task.internal_data.get("event_value") is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if isinstance(value, str) and value.strip().upper().startswith("P"):
                duration_span(value)
            else:
                check_date(value, need_zone=False)
            my_task.internal_data["event_value"] = value
        return method(self, my_task)

    return checked


def install_guards() -> None:
    """Bound every duration SpiffWorkflow parses and fail the timer's step when one is out of bounds.
    Idempotent; done when this module is imported, so every process running the engine has it."""
    if getattr(DurationTimerEventDefinition.has_fired, "gridlink_guard", False):
        return
    TimerEventDefinition.parse_iso_duration = staticmethod(_bounded_parse_duration)
    DurationTimerEventDefinition.has_fired = _failing_the_step(DurationTimerEventDefinition.has_fired)
    TimeDateEventDefinition.has_fired = _failing_the_step(_guard_dates(TimeDateEventDefinition.has_fired))
    CycleTimerEventDefinition.cycle_complete = _failing_the_step(CycleTimerEventDefinition.cycle_complete)


install_guards()


# ----- due times ------------------------------------------------------------------------------
def timer_definitions(task) -> list[TimerEventDefinition]:
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return [definition]
    if isinstance(definition, MultipleEventDefinition):
        return [d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)]
    return []


def due_time(task) -> datetime | None:
    """When a waiting timer task comes due (UTC), from the value SpiffWorkflow stored on it."""
    value = task.internal_data.get("event_value")
    if value is None or not task.has_state(TaskState.WAITING):
        return None
    if isinstance(value, dict):  # cycle timers keep {'cycles': n, 'next': iso, 'duration': s}
        value = value.get("next")
        if value is None:
            return None
    try:
        return TimerEventDefinition.get_datetime(value)
    except (TypeError, ValueError):
        return None


def next_due(workflow) -> datetime | None:
    """The earliest due time of every waiting timer, event-based gateways included."""
    times = [due_time(t) for t in workflow.event_manager.tasks.values() if timer_definitions(t)]
    times = [t for t in times if t is not None]
    return min(times) if times else None


def now() -> datetime:
    return datetime.now(UTC)
