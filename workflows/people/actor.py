"""The acting user, resolved once when they authenticate (the web session's user loader, the API's
token check) and handed to the use cases as plain data.

A use case given an ``Actor`` re-reads the user by id in its own session (``get_user``), so a
disabled account or a changed role takes effect at once; the Actor says who, not what they may do.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.people.models import User


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    role: str
    org_unit: str | None = None
    department: str | None = None
    display_name: str | None = None
    org_unit_level: str | None = None

    @property
    def grid_role(self) -> bool:
        """Whether the person works a grid (grid workers) rather than a desk."""
        return self.role == "grid_worker"


def actor_of(user: User) -> Actor:
    unit, department = user.org_unit, user.department
    return Actor(id=user.id, username=user.username, role=user.role, org_unit=unit.code if unit else None,
                 department=department.code if department else None, display_name=user.display_name,
                 org_unit_level=unit.level if unit else None)
