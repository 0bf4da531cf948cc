"""What an administrator does to the engine, for the facade: versions (read, activate), migration of
running instances between versions, incidents (list, retry). Everything handed out is a dataclass;
no ORM object of the engine leaves through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from . import incidents
from .specs import definitions, migration, validation
from .specs.migration import BatchSummary, MigrationPlan, MigrationResult, ReverseResult
from .storage.views import InstanceSummary, VersionView, instance_summary, version_of


def version_view(session: Session, process_id: str, version: int | None = None) -> VersionView:
    """One version of ``process_id`` (the active one when ``version`` is None); NotFound otherwise."""
    row = definitions.active_version(session, process_id) if version is None \
        else definitions.get_version(session, process_id, version)
    return version_of(row)


def activate_version(session: Session, process_id: str, version: int) -> VersionView:
    """Make ``version`` the one new instances start on; running instances stay where they are."""
    return version_of(definitions.activate(session, process_id, version))


def bpmn_process_ids(name: str, text: str) -> set[str]:
    """The process ids a BPMN file defines (empty when it does not parse)."""
    root, _ = validation.parse_xml(name, text)
    return validation.process_ids(root) if root is not None else set()


def preview_migration(session: Session, runtime, process_id: str, from_version: int,
                      to_version: int) -> MigrationPlan:
    return migration.preview(session, runtime, process_id, from_version, to_version)


def migrate_instances(session: Session, runtime, process_id: str, from_version: int, to_version: int,
                      instance_ids: list[int] | None = None, actor: str | None = None) -> MigrationResult:
    return migration.migrate(session, runtime, process_id, from_version, to_version, instance_ids, actor=actor)


def reverse_migration(session: Session, runtime, batch: str, actor: str | None = None) -> ReverseResult:
    return migration.reverse(session, runtime, batch, actor=actor)


def migration_batches(session: Session, process_id: str | None = None) -> list[BatchSummary]:
    return migration.batches(session, process_id)


def migration_batch(session: Session, batch: str) -> BatchSummary:
    return migration.batch_info(session, batch)


@dataclass(frozen=True)
class IncidentInfo:
    """An open incident with what the admin needs to find its instance."""

    id: int
    instance_id: int
    business_key: str | None
    process_id: str
    kind: str
    element_id: str | None
    message: str
    at: datetime


def open_incidents(session: Session, limit: int = 500) -> list[IncidentInfo]:
    """The open incidents, newest first."""
    out = []
    for incident in incidents.open_incidents(session, limit):
        summary = instance_summary(session, incident.instance_id)
        out.append(IncidentInfo(incident.id, incident.instance_id, summary.business_key if summary else None,
                                summary.process_id if summary else "", incident.kind, incident.element_id,
                                incident.message, incident.at))
    return out


def retry_incident(session: Session, runtime, incident_id: int, actor: str | None = None) -> InstanceSummary:
    """Resolve the incident and put its instance back to work; the instance as it stands after."""
    row = incidents.retry(session, runtime, incident_id, actor=actor)
    session.flush()
    return instance_summary(session, row.id)
