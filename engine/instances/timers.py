"""Timer arithmetic: literal checks at deploy time and the next due time of a loaded workflow."""

from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState


def parse_timer_literal(kind: str, value) -> None:
    """Raise ValueError unless ``value`` is a usable literal for a timer of this kind."""
    if not isinstance(value, str):
        raise ValueError("a timer expression must give a string (ISO-8601)")
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            if datetime.fromisoformat(value).tzinfo is None:
                raise ValueError("a timeDate needs a time zone, e.g. 2026-01-01T09:00:00+08:00")
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except ValueError:
        raise
    except Exception as exc:  # SpiffWorkflow raises a bare Exception for bad durations
        raise ValueError(f"not a valid ISO-8601 {kind[4:].lower()} ({exc})") from exc


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
