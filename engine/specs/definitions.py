"""Process definitions: validate a bundle of files and deploy it as new versions.

Each process id is versioned on its own. A version stores the files it needs (its BPMN file,
the processes and decisions it calls, the form schemas it references) and the parsed spec.
Deploying files that a deployed process depends on gives that process a new version too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import DeployError, NotFound, Problem
from ..storage.models import ProcessVersion
from . import validation as v
from .specs import new_parser, problem_from, serialize_specs

KINDS = {".bpmn": "bpmn", ".dmn": "dmn", ".json": "json"}


@dataclass(frozen=True)
class VersionInfo:
    id: int
    process_id: str
    version: int
    created: bool


@dataclass
class Pool:
    """The files a deployment sees: active versions' files overlaid with the bundle."""

    texts: dict[str, str]
    roots: dict[str, etree._Element]
    bundle: set[str]

    def kind(self, name: str) -> str | None:
        return next((k for ext, k in KINDS.items() if name.lower().endswith(ext)), None)

    def names(self, kind: str) -> list[str]:
        return [n for n in self.texts if self.kind(n) == kind]


def deploy(session: Session, files: dict[str, str], deployed_by: str | None = None) -> list[VersionInfo]:
    """Validate ``files`` and store a new version of every process they change. Raises DeployError."""
    pool = _build_pool(session, files)
    problems, parser = _validate(pool)
    if problems:
        raise DeployError(problems)
    return [_store_version(session, pool, parser, pid, deployed_by) for pid in _affected_processes(pool)]


def validate_files(session: Session, files: dict[str, str]) -> list[Problem]:
    """Every problem deploying ``files`` would raise, without deploying anything."""
    return _validate(_build_pool(session, files))[0]


def _build_pool(session: Session, files: dict[str, str]) -> Pool:
    if not files:
        raise DeployError([Problem(None, None, None, "no files given: send at least one .bpmn file")])
    texts: dict[str, str] = {}
    for row in session.scalars(select(ProcessVersion).where(ProcessVersion.active)):
        texts.update(row.files)
    texts.update(files)
    return Pool(texts=texts, roots={}, bundle=set(files))


def _validate(pool: Pool):
    problems: list[Problem] = []
    for name in sorted(pool.bundle):
        if pool.kind(name) is None:
            problems.append(Problem(name, None, None, "unsupported file type: send .bpmn, .dmn or .json files"))
    for name in pool.names("bpmn") + pool.names("dmn"):
        root, found = v.parse_xml(name, pool.texts[name])
        problems += found if name in pool.bundle else []
        if root is not None:
            pool.roots[name] = root
    if problems:
        return problems, None
    problems += _check_bundle(pool)
    if problems:
        return problems, None
    return _parse_with_spiff(pool)


def _check_bundle(pool: Pool) -> list[Problem]:
    processes, decisions = _index(pool)
    problems = [Problem(name, pid, None, f"process id {pid!r} is defined in {other!r} too: rename one")
                for pid, (name, other) in _duplicates(pool).items()]
    json_files = set(pool.names("json"))
    for name in sorted(pool.bundle):
        kind = pool.kind(name)
        if kind == "bpmn":
            problems += v.check_bpmn_structure(name, pool.roots[name], set(processes), set(decisions), json_files)
        elif kind == "dmn":
            problems += v.check_dmn(name, pool.roots[name])
        elif kind == "json":
            problems += v.check_form_schema(name, pool.texts[name])
    if not any(pool.kind(n) in ("bpmn", "dmn") for n in pool.bundle):
        problems.append(Problem(None, None, None, "the bundle holds no .bpmn or .dmn file"))
    return problems


def _index(pool: Pool) -> tuple[dict[str, str], dict[str, str]]:
    processes = {pid: name for name in pool.names("bpmn") for pid in v.process_ids(pool.roots[name])}
    decisions = {did: name for name in pool.names("dmn") for did in v.decision_ids(pool.roots[name])}
    return processes, decisions


def _duplicates(pool: Pool) -> dict[str, tuple[str, str]]:
    seen: dict[str, str] = {}
    dupes = {}
    for name in pool.names("bpmn"):
        for pid in v.process_ids(pool.roots[name]):
            if pid in seen and name in pool.bundle:
                dupes[pid] = (name, seen[pid])
            seen[pid] = name
    return dupes


def _parse_with_spiff(pool: Pool):
    parser = new_parser()
    problems: list[Problem] = []
    for name in pool.names("dmn"):
        try:
            parser.add_dmn_xml(pool.roots[name], filename=name)
        except Exception as exc:  # noqa: BLE001 - every parser failure becomes a located problem
            problems.append(problem_from(exc, name))
    for name in pool.names("bpmn"):
        try:
            parser.add_bpmn_xml(pool.roots[name], filename=name)
        except Exception as exc:  # noqa: BLE001
            problems.append(problem_from(exc, name))
    if not problems:
        for pid in _affected_processes(pool):
            try:
                parser.get_spec(pid)
                parser.get_subprocess_specs(pid)
            except Exception as exc:  # noqa: BLE001
                problems.append(problem_from(exc, _index(pool)[0].get(pid)))
    return problems, parser


def _affected_processes(pool: Pool) -> list[str]:
    processes, _ = _index(pool)
    return sorted(pid for pid in processes if _closure(pool, pid) & pool.bundle)


def _closure(pool: Pool, pid: str) -> set[str]:
    """The file names process ``pid`` needs: its own, what it calls, the forms it references."""
    processes, decisions = _index(pool)
    needed: set[str] = set()
    todo = [pid]
    while todo:
        name = processes.get(todo.pop())
        if name is None or name in needed:
            continue
        needed.add(name)
        root = pool.roots[name]
        for el in root.iter():
            tag = v.local(el.tag)
            if tag == "callActivity":
                todo.append(el.get("calledElement"))
            elif tag == "calledDecisionId" and (el.text or "").strip() in decisions:
                needed.add(decisions[(el.text or "").strip()])
            elif tag == "property" and el.get("name") == "formJsonSchemaFilename" and el.get("value") in pool.texts:
                needed.add(el.get("value"))
    return needed


def _store_version(session: Session, pool: Pool, parser, pid: str, deployed_by: str | None) -> VersionInfo:
    files = {name: pool.texts[name] for name in sorted(_closure(pool, pid))}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    latest = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == pid)
                            .order_by(ProcessVersion.version.desc()).limit(1))
    if latest is not None and latest.content_hash == digest:
        return VersionInfo(latest.id, pid, latest.version, created=False)
    spec = parser.get_spec(pid)
    row = ProcessVersion(
        process_id=pid, version=(latest.version + 1) if latest else 1, name=spec.description or pid,
        content_hash=digest, files=files, spec_json=serialize_specs(spec, parser.get_subprocess_specs(pid)),
        active=True, deployed_by=deployed_by,
    )
    session.execute(update(ProcessVersion).where(ProcessVersion.process_id == pid).values(active=False))
    session.add(row)
    session.flush()
    return VersionInfo(row.id, pid, row.version, created=True)


def active_version(session: Session, process_id: str) -> ProcessVersion:
    row = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id, ProcessVersion.active))
    if row is None:
        raise NotFound(f"process {process_id!r} has no active version: deploy it first", reason="no_active_version",
                       params={"process": process_id})
    return row


def get_version(session: Session, process_id: str, version: int) -> ProcessVersion:
    row = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                      ProcessVersion.version == version))
    if row is None:
        raise NotFound(f"process {process_id!r} has no version {version}", reason="version_unknown",
                       params={"process": process_id, "version": version})
    return row


def activate(session: Session, process_id: str, version: int) -> ProcessVersion:
    row = get_version(session, process_id, version)
    session.execute(update(ProcessVersion).where(ProcessVersion.process_id == process_id).values(active=False))
    row.active = True
    session.flush()
    return row


def version_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ProcessVersion)) or 0
