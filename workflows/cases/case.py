"""What may happen to a case, and in which order: the only code that sets a case's status, level,
org unit, grid, due time and the moments of its life.

``Case`` (``workflows.cases.models``) takes these methods from ``CaseTransitions``. Each checks the
transition is allowed from the case's current state and raises ``Conflict`` (or ``InvalidInput``)
naming the case and the value otherwise; the unit of work writes the changed columns when the
transaction flushes. ``tests/unit/test_case_transitions.py`` fails if another module assigns them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import inspect

from workflows.errors import Conflict, InvalidInput
from workflows.org.models import LEVELS

FINISHED = ("closed", "rejected", "merged")
"""Statuses a case does not leave (reopening is the verifier's rework of a resolved case)."""

GUARDED = ("status", "level", "org_unit", "org_unit_id", "grid", "grid_id", "due_at", "registered_at",
           "resolved_at", "closed_at", "closed_level", "merged_into", "merged_into_id", "reworked_count",
           "instance_id")
"""The attributes only these transitions assign."""


class CaseTransitions:
    """The life of a case; mixed into the mapped ``Case``."""

    def _refuse(self, verb: str, allowed: tuple[str, ...]) -> None:
        if self.status not in allowed:
            raise Conflict(f"case {self.number} is {self.status}: it cannot be {verb}", field="status",
                           reason="case_state", params={"number": self.number, "status": self.status, "verb": verb})

    def attach_process(self, instance_id: int) -> None:
        """Remember the process instance that runs the case (once)."""
        if self.instance_id is not None and self.instance_id != instance_id:
            raise Conflict(f"case {self.number} already runs in process instance {self.instance_id}; "
                           f"it cannot move to instance {instance_id}")
        self.instance_id = instance_id

    def register(self, at: datetime) -> None:
        """The report was accepted as a case."""
        self._refuse("registered", ("reported", "open"))
        self.registered_at = at

    def wait_at(self, level: str, unit_id: int, due_at: datetime | None) -> None:
        """The case waits at ``level`` in a unit until ``due_at`` (registration, still reported)."""
        self._refuse(f"placed at {level}", ("reported", "open", "resolved"))
        self._place(level, unit_id, due_at)

    def open_at(self, level: str, unit_id: int, due_at: datetime | None) -> None:
        """The case is handled at ``level`` in a unit until ``due_at``."""
        self._refuse(f"opened at {level}", ("reported", "open", "resolved"))
        self._place(level, unit_id, due_at)
        self.status = "open"

    def escalate(self, level: str, unit_id: int, due_at: datetime | None) -> None:
        """An open case goes up the chain to ``level`` (above its current one)."""
        self._refuse(f"escalated to {level}", ("open",))
        if _rank(level) <= _rank(self.level):
            raise InvalidInput(f"case {self.number} is at {self.level}: it cannot be escalated to {level}, "
                               "which is not above it", field="level")
        self._place(level, unit_id, due_at)

    def assign_grid(self, grid_id: int) -> None:
        """The case was assigned down to a grid, which it now belongs to."""
        self._refuse("assigned to a grid", ("reported", "open"))
        self.grid_id = grid_id
        state = inspect(self)
        if state.persistent and "grid" in self.__dict__:
            state.session.expire(self, ["grid"])

    def resolve(self, at: datetime) -> None:
        """The handler says it is done; it waits for verification (no due time meanwhile)."""
        self._refuse("resolved", ("reported", "open", "resolved"))
        self.status, self.due_at = "resolved", None
        self.resolved_at = self.resolved_at or at

    def reopen(self) -> None:
        """The verifier sends a resolved case back (rework)."""
        self._refuse("reopened", ("resolved",))
        self.reworked_count, self.status, self.resolved_at = (self.reworked_count or 0) + 1, "open", None

    def close(self, at: datetime) -> None:
        """The verifier approved: the case is closed at its current level."""
        self._refuse("closed", ("reported", "open", "resolved"))
        self.status, self.closed_at, self.due_at, self.closed_level = "closed", at, None, self.level

    def reject(self) -> None:
        """The report was not accepted."""
        self._refuse("rejected", ("reported", "open", "resolved"))
        self.status, self.due_at = "rejected", None

    def merge_into(self, other) -> None:
        """The report duplicates ``other``, which carries on."""
        self._refuse("merged", ("reported", "open"))
        if other is self or other.status in ("merged", "rejected"):
            raise InvalidInput(f"case {other.number} cannot take duplicates (it is {other.status})",
                               field="duplicate_of")
        self.status, self.merged_into = "merged", other


    def _place(self, level: str, unit_id: int, due_at: datetime | None) -> None:
        _rank(level)
        moved = unit_id != self.org_unit_id
        self.level, self.org_unit_id, self.due_at = level, unit_id, due_at
        state = inspect(self)
        if moved and state.persistent and "org_unit" in self.__dict__:
            state.session.expire(self, ["org_unit"])  # the relationship follows the new id when read


def _rank(level: str) -> int:
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}; use one of: {', '.join(LEVELS)}", field="level")
    return LEVELS.index(level)
