"""Input checks that name the value at fault, and the engine's errors mapped to the domain's family."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import engine as eerr
from workflows.errors import Conflict, DomainError, InvalidInput, NotFound


def invalid(message: str, *, field: str | None = None, code: str | None = None, reason: str | None = None,
            **params) -> InvalidInput:
    """An InvalidInput whose details name the field, like the engine's per-field form errors;
    ``reason`` and ``params`` let a user interface word it in its own language."""
    return InvalidInput(message, field=field, code=code, reason=reason, params=params,
                        details=[{"field": field, "message": message}] if field else [])


def require_text(value, field: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{field} is missing: give {what}", field=field)
    return value.strip()


@contextmanager
def engine_errors() -> Iterator[None]:
    """Translate the engine's errors into the domain's family (same message, details per field)."""
    try:
        yield
    except eerr.EngineError as exc:
        raise domain_error_of(exc) from exc


def domain_error_of(exc: eerr.EngineError) -> DomainError:
    """The domain's error for an engine error: same message, details per field."""
    if isinstance(exc, eerr.InvalidTaskData):
        return InvalidInput(exc.message, details=exc.details)
    if isinstance(exc, eerr.NotFound):
        return NotFound(exc.message, reason=exc.reason, params=exc.params)
    if isinstance(exc, eerr.Conflict | eerr.NothingWaiting):
        return Conflict(exc.message, reason=exc.reason, params=exc.params)
    return DomainError(exc.message, code=exc.code, details=exc.details)


def check_step(result) -> None:
    """A step whose script failed is refused: the transaction rolls back and nothing changes."""
    if result.error:
        raise DomainError(f"the process could not continue: {result.error}; nothing was changed, "
                          "ask an admin to check the deployed definition", code="process_error")
