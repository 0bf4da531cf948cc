"""Modeller drafts: BPMN/DMN/JSON files an admin is editing, saved between sessions, deployed when valid.

A draft holds a whole bundle (the process's BPMN, the processes and decisions it calls, its JSON
form schemas) so that validation and deployment see exactly what the admin sees.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import Base, UTCDateTime, utcnow
from workflows.admin import audit
from workflows.errors import Conflict, InvalidInput, NotFound

FILE_KINDS = (".bpmn", ".dmn", ".json")
MAX_FILE_CHARS = 2_000_000
MAX_FILES = 40
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,150}$")
DRAFT_STATUSES = ("open", "deployed")


class Draft(Base):
    """A bundle of definition files being edited in the modeller."""

    __tablename__ = "modeller_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    process_id: Mapped[str | None] = mapped_column(String(200), index=True)
    base_version: Mapped[int | None] = mapped_column(Integer)
    """The deployed version the draft started from (None for a new process)."""
    files: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    deployed_versions: Mapped[dict] = mapped_column(JSON, default=dict)
    """Process id -> version number created when the draft was deployed."""
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def check_files(files) -> dict[str, str]:
    """The bundle as name -> text; raise InvalidInput naming the first bad file."""
    if not isinstance(files, dict) or not files:
        raise InvalidInput("no files given: send at least one .bpmn or .dmn file", field="files")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"{len(files)} files is too many for one bundle; send at most {MAX_FILES}",
                           field="files")
    checked = {}
    for name, text in files.items():
        if not isinstance(name, str) or not _FILE_NAME.match(name) or not name.lower().endswith(FILE_KINDS):
            raise InvalidInput(f"file name {name!r} is not usable: use letters, digits, '_', '-' and '.', "
                               "ending in .bpmn, .dmn or .json", field="files")
        if not isinstance(text, str):
            raise InvalidInput(f"file {name!r} must be text", field="files")
        if len(text) > MAX_FILE_CHARS:
            raise InvalidInput(f"file {name!r} has {len(text)} characters; the limit is {MAX_FILE_CHARS}",
                               field="files")
        checked[name] = text
    if not any(n.lower().endswith((".bpmn", ".dmn")) for n in checked):
        raise InvalidInput("the bundle holds no .bpmn or .dmn file: add the diagram", field="files")
    return checked


def draft_item(draft: Draft, with_files: bool = True) -> dict:
    item = {"id": draft.id, "title": draft.title, "process_id": draft.process_id,
            "base_version": draft.base_version, "status": draft.status,
            "deployed_versions": dict(draft.deployed_versions or {}), "updated_by": draft.updated_by,
            "created_at": draft.created_at.isoformat(), "updated_at": draft.updated_at.isoformat(),
            "file_names": sorted(draft.files or {})}
    if with_files:
        item["files"] = dict(draft.files or {})
    return item


def _get(session: Session, draft_id) -> Draft:
    try:
        key = int(draft_id)
    except (TypeError, ValueError):
        raise NotFound(f"draft {draft_id!r} does not exist: pick one from the list of drafts") from None
    draft = session.get(Draft, key)
    if draft is None:
        raise NotFound(f"draft {draft_id!r} does not exist: pick one from the list of drafts")
    return draft


def get_draft(system, draft_id) -> dict:
    with system.reads() as session:
        return draft_item(_get(session, draft_id))


def list_drafts(system, status: str | None = "open") -> list[dict]:
    with system.reads() as session:
        query = select(Draft).order_by(Draft.updated_at.desc())
        if status:
            query = query.where(Draft.status == status)
        return [draft_item(d, with_files=False) for d in session.scalars(query)]


def save_draft(system, actor: str, files, draft_id=None, title: str | None = None,
               process_id: str | None = None, base_version: int | None = None) -> dict:
    """Create a draft, or replace the files of an open one."""
    files = check_files(files)
    title = (title or "").strip()[:200] or process_id or sorted(files)[0]
    with system.sessions() as session, session.begin():
        if draft_id in (None, ""):
            draft = Draft(title=title, process_id=process_id, base_version=base_version, files=files,
                          status="open", created_by=actor, updated_by=actor, created_at=utcnow(), updated_at=utcnow())
            session.add(draft)
            session.flush()
            audit.record(session, actor, "draft.create", f"draft {draft.id}", title=title,
                               files=sorted(files))
        else:
            draft = _get(session, draft_id)
            if draft.status != "open":
                raise Conflict(f"draft {draft.id} was already deployed; open the process again to make a new draft")
            draft.files = files
            draft.title = title if title else draft.title
            draft.updated_by, draft.updated_at = actor, utcnow()
            audit.record(session, actor, "draft.save", f"draft {draft.id}", files=sorted(files))
        session.flush()
        return draft_item(draft)


def delete_draft(system, actor: str, draft_id) -> None:
    with system.sessions() as session, session.begin():
        draft = _get(session, draft_id)
        audit.record(session, actor, "draft.delete", f"draft {draft.id}", title=draft.title)
        session.delete(draft)


def mark_deployed(session: Session, draft_id, versions: dict[str, int]) -> None:
    draft = _get(session, draft_id)
    draft.status = "deployed"
    draft.deployed_versions = versions
    draft.updated_at = utcnow()
