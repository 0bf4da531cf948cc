"""Column helpers shared by the models modules: a CHECK constraint over an enumeration."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    CheckConstraint,
)


def one_of(column: str, values: Iterable[str], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)
