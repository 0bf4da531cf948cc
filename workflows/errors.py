"""The domain's exception family: one base class, four kinds the web layer maps to statuses.

A message names the value at fault and says what to do about it, e.g.
``InvalidInput("unknown category 'drain'; use one of: drain_blocked, ...", field="category")``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: Iterable[Any] = (),
        reason: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.field = field
        self.details = list(details)
        # A key and values a user interface may word in its own language (the message is English).
        self.reason = reason
        self.params = dict(params or {})

    def as_dict(self) -> dict[str, Any]:
        """The error as plain data (without an HTTP status: that is the web layer's business)."""
        data: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.field is not None:
            data["field"] = self.field
        return data


class NotFound(DomainError):
    """A referenced thing (case, task, unit, department, ...) does not exist."""

    code = "not_found"


class Forbidden(DomainError):
    """The acting user may not do this."""

    code = "forbidden"


class Conflict(DomainError):
    """The action clashes with the current state (task already done, duplicate code, ...)."""

    code = "conflict"


class InvalidInput(DomainError):
    """A value is wrong; the message names it and says what would be accepted."""

    code = "invalid_input"
