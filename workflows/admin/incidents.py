"""Incidents for admins: instances the engine put aside (crashed, timed out, out of memory, kept
failing, or a script error in a timer) and their retry after a fix (see engine/incidents.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import engine
from workflows.admin import audit
from workflows.checks import engine_errors


@dataclass(frozen=True)
class IncidentView:
    id: int
    instance_id: int
    case_number: str | None
    process_id: str
    kind: str
    element_id: str | None
    message: str
    at: datetime


def list_incidents(system) -> list[IncidentView]:
    """The open incidents, newest first."""
    with system.reads() as session:
        return [IncidentView(i.id, i.instance_id, i.business_key, i.process_id, i.kind, i.element_id, i.message,
                             i.at) for i in engine.open_incidents(session)]


def retry_incident(system, actor: str | None, incident_id: int) -> str:
    """Resolve the incident and put its instance back to work; the instance's new status."""
    with system.sessions() as session, session.begin(), engine_errors():
        row = engine.retry_incident(session, system.runtime, incident_id, actor=actor)
        audit.record(session, actor, "incident.retry", str(incident_id), instance=row.id, status=row.status)
        return row.status
