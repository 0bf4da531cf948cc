"""Incidents for admins: instances the engine put aside (crashed, timed out, out of memory, kept
failing, or a script error in a timer) and their retry after a fix (see engine/incidents.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import incidents as engine_incidents
from engine.storage.models import ProcessInstance, ProcessVersion
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
        found = engine_incidents.open_incidents(session)
        views = []
        for incident in found:
            row = session.get(ProcessInstance, incident.instance_id)
            version = session.get(ProcessVersion, row.process_version_id)
            views.append(IncidentView(incident.id, incident.instance_id, row.business_key, version.process_id,
                                      incident.kind, incident.element_id, incident.message, incident.at))
        return views


def retry_incident(system, actor: str | None, incident_id: int) -> str:
    """Resolve the incident and put its instance back to work; the instance's new status."""
    with system.sessions() as session, session.begin(), engine_errors():
        row = engine_incidents.retry(session, system.runtime, incident_id, actor=actor)
        audit.record(session, actor, "incident.retry", str(incident_id), instance=row.id, status=row.status)
        return row.status
