"""Process versions as the admin sees them: list, download, activate, validate, deploy, migrate cases.

Running cases stay on the version they started with; new cases use the active version. Moving
running cases to another version goes through a preview (which cases can move, which cannot and
why), then one migration of every movable case, logged in each case's timeline as ``migrated``
and reversible for the cases it moved.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import engine
from engine import DeployError, VersionView
from workflows.admin import audit, drafts
from workflows.cases.models import Case
from workflows.cases.timeline import add_entry, worded
from workflows.checks import engine_errors
from workflows.errors import InvalidInput, NotFound

RUNNING = ("running", "waiting", "error", "suspended")


# ----- listing and files ----------------------------------------------------------------------
def list_processes(system) -> list[dict]:
    """Every process id with its versions (newest first), the active one and the cases on each."""
    with system.reads() as session:
        counts = engine.instance_counts(session)
        grouped: dict[str, list[dict]] = {}
        for row in engine.versions(session):
            grouped.setdefault(row.process_id, []).append(_version_item(row, counts.get(row.id, {})))
        return [{"process_id": pid, "name": versions[0]["name"], "versions": versions,
                 "active": next((v["version"] for v in versions if v["active"]), None),
                 "running": sum(v["running"] for v in versions)}
                for pid, versions in grouped.items()]


def _version_item(row: VersionView, counts: dict[str, int]) -> dict:
    return {"id": row.id, "process_id": row.process_id, "version": row.version, "name": row.name or row.process_id,
            "active": bool(row.active), "deployed_by": row.deployed_by, "deployed_at": row.deployed_at,
            "files": sorted(row.files), "running": sum(counts.get(s, 0) for s in RUNNING),
            "completed": counts.get("completed", 0)}


def process_versions(system, process_id: str) -> dict:
    for process in list_processes(system):
        if process["process_id"] == process_id:
            return process
    raise NotFound(f"process {process_id!r} is not deployed; pick one from the process list", field="process_id",
                   reason="process_unknown", params={"process": process_id})


def version_files(system, process_id: str, version: int | None = None) -> dict:
    """The files of one version (the active one when ``version`` is None), with its main diagram."""
    with system.reads() as session, engine_errors():
        row = engine.version_view(session, process_id, _number(version) if version is not None else None)
        return {"process_id": row.process_id, "version": row.version, "active": bool(row.active),
                "files": dict(row.files), "main": main_file(row.files, row.process_id)}


def version_file(system, process_id: str, version, filename: str) -> str:
    files = version_files(system, process_id, version)["files"]
    if filename not in files:
        raise NotFound(f"version {version} of {process_id!r} has no file {filename!r}; it has: "
                       f"{', '.join(sorted(files))}", field="filename")
    return files[filename]


def main_file(files: dict[str, str], process_id: str | None) -> str | None:
    """The BPMN file that defines ``process_id`` (or the first diagram of the bundle)."""
    diagrams = sorted(n for n in files if n.lower().endswith((".bpmn", ".dmn")))
    for name in diagrams:
        if name.lower().endswith(".bpmn"):
            if process_id in engine.bpmn_process_ids(name, files[name]):
                return name
    return diagrams[0] if diagrams else None


def _number(version) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        raise InvalidInput(f"version {version!r} is not a number; give e.g. 2", field="version") from None


def activate_version(system, actor: str, process_id: str, version) -> dict:
    """Make ``version`` the one new cases use; running cases stay where they are."""
    with system.sessions() as session, session.begin(), engine_errors():
        previous = engine.version_view(session, process_id).version
        row = engine.activate_version(session, process_id, _number(version))
        audit.record(session, actor, "process.activate", process_id, version=row.version,
                           previous=previous)
        return {"process_id": process_id, "version": row.version, "previous": previous}


# ----- validation and deployment --------------------------------------------------------------
def validate_files(system, files) -> list[dict]:
    """Every problem deploying ``files`` would raise (file, element, line, message); [] when valid."""
    files = drafts.check_files(files)
    with system.reads() as session:
        try:
            return [p.as_dict() for p in engine.validate_files(session, files)]
        except DeployError as exc:
            return [p.as_dict() for p in exc.problems]


def deploy_files(system, actor: str, files, draft_id=None) -> dict:
    """Validate and deploy; returns the versions created, or the problems (and deploys nothing)."""
    files = drafts.check_files(files)
    with system.sessions() as session, session.begin():
        try:
            infos = engine.deploy(session, files, actor)
        except DeployError as exc:
            return {"deployed": False, "problems": [p.as_dict() for p in exc.problems], "versions": []}
        versions = [{"process_id": i.process_id, "version": i.version, "created": i.created} for i in infos]
        created = {v["process_id"]: v["version"] for v in versions if v["created"]}
        audit.record(session, actor, "process.deploy", ", ".join(sorted(created)) or "(no change)",
                           versions=created, files=sorted(files), draft=draft_id)
        if draft_id not in (None, ""):
            drafts.mark_deployed(session, draft_id, created)
        return {"deployed": True, "problems": [], "versions": versions}


# ----- migration ------------------------------------------------------------------------------
def _case_numbers(session: Session, instance_ids) -> dict[int, str]:
    rows = session.execute(select(Case.instance_id, Case.number).where(Case.instance_id.in_(list(instance_ids))))
    return dict(rows.all())


def preview_migration(system, process_id: str, from_version, to_version) -> dict:
    with system.reads() as session, engine_errors():
        plan = engine.preview_migration(session, system.runtime, process_id, _number(from_version), _number(to_version))
        numbers = _case_numbers(session, [c.instance_id for c in plan.checks])
        items = [{**c.as_dict(), "case_number": numbers.get(c.instance_id) or c.business_key}
                 for c in plan.checks]
        return {"process_id": process_id, "from_version": plan.from_version, "to_version": plan.to_version,
                "spec_changes": plan.spec_changes, "instances": items,
                "movable": sum(1 for c in plan.checks if c.movable),
                "blocked": sum(1 for c in plan.checks if not c.movable)}


def migrate_cases(system, actor: str, process_id: str, from_version, to_version, instance_ids=None) -> dict:
    """Move every movable case of ``from_version`` (or of ``instance_ids``) in one transaction."""
    ids = None if instance_ids is None else [_instance_id(i) for i in instance_ids]
    with system.sessions() as session, session.begin(), engine_errors():
        result = engine.migrate_instances(session, system.runtime, process_id, _number(from_version),
                                   _number(to_version), ids, actor=actor)
        note = worded("migrated", process=process_id, from_version=result.from_version,
                      to_version=result.to_version)
        _log_cases(session, result.moved, note, {"batch": result.batch, "from_version": result.from_version,
                                                 "to_version": result.to_version})
        audit.record(session, actor, "process.migrate", process_id, batch=result.batch,
                           from_version=result.from_version, to_version=result.to_version,
                           moved=result.moved, skipped=[c.instance_id for c in result.skipped])
        numbers = _case_numbers(session, result.moved + [c.instance_id for c in result.skipped])
        return {"batch": result.batch, "moved": [numbers.get(i, str(i)) for i in result.moved],
                "skipped": [{"case_number": numbers.get(c.instance_id, str(c.instance_id)),
                             "reasons": list(c.reasons)} for c in result.skipped]}


def _instance_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"instance {value!r} is not a number; tick cases from the preview",
                           field="instances") from None


def reverse_migration(system, actor: str, batch: str) -> dict:
    """Put the cases a migration moved back on their old version."""
    with system.sessions() as session, session.begin(), engine_errors():
        info = engine.migration_batch(session, batch)
        result = engine.reverse_migration(session, system.runtime, batch, actor=actor)
        note = worded("migration_reversed", batch=batch, process=info.process_id, version=info.from_version)
        _log_cases(session, result.restored, note, {"batch": batch, "reversed": True,
                                                    "to_version": info.from_version})
        audit.record(session, actor, "process.migrate.reverse", info.process_id, batch=batch,
                           restored=result.restored, refused=result.refused)
        numbers = _case_numbers(session, list(result.restored) + list(result.refused))
        return {"batch": batch, "restored": [numbers.get(i, str(i)) for i in result.restored],
                "refused": [{"case_number": numbers.get(i, str(i)), "reason": r} for i, r in result.refused.items()]}


def _log_cases(session: Session, instance_ids, note: dict, data: dict) -> None:
    """A "migrated" entry on each moved case; ``note``: the wording as data (``worded``)."""
    if not instance_ids:
        return
    for case in session.scalars(select(Case).where(Case.instance_id.in_(list(instance_ids)))):
        add_entry(session, case, "migrated", level=case.level, unit=case.org_unit, data={**data, **note})


def migration_batches(system, process_id: str | None = None) -> list[dict]:
    with system.reads() as session:
        out = []
        for b in engine.migration_batches(session, process_id):
            numbers = _case_numbers(session, b.instances)
            out.append({"batch": b.batch, "process_id": b.process_id, "from_version": b.from_version,
                        "to_version": b.to_version, "at": b.at, "actor": b.actor,
                        "cases": [numbers.get(i, str(i)) for i in b.instances],
                        "reversed": [numbers.get(i, str(i)) for i in b.reversed],
                        "reverse_of": b.reverse_of})
        return out
