"""The assembled back end: database sessions, the BPMN runtime with the domain's hooks, uploads.

``web`` builds one System per process (``build_system``) and hands it to every use case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import workflows.tables  # noqa: F401  (maps every table before the first query)
from engine import Runtime, make_engine, make_read_sessionmaker, make_sessionmaker


@dataclass
class System:
    db: Engine
    sessions: sessionmaker
    runtime: Runtime
    upload_dir: Path
    settings: dict = field(default_factory=dict)
    read_sessions: sessionmaker | None = None

    def reads(self) -> Session:
        """A session for a read-only use case: on SQLite a deferred BEGIN (no write lock, no
        writers' queue); a write through it is refused. Use ``sessions()`` for changes."""
        if self.read_sessions is None:
            self.read_sessions = make_read_sessionmaker(self.db)
        return self.read_sessions()


def default_database_url(instance_dir: Path) -> str:
    return os.environ.get("GRIDLINK_DATABASE_URL") or f"sqlite:///{instance_dir / 'gridlink.db'}"


def max_photos_setting() -> int:
    from workflows.cases.attachments import DEFAULT_MAX_PHOTOS_PER_CASE

    text = os.environ.get("GRIDLINK_MAX_PHOTOS_PER_CASE", "").strip()
    if not text:
        return DEFAULT_MAX_PHOTOS_PER_CASE
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise ValueError(f"GRIDLINK_MAX_PHOTOS_PER_CASE={text!r} is not allowed; give a whole number from 1 to 1000")
    return int(text)


def build_system(database_url: str, upload_dir: Path | str, **settings) -> System:
    """Create the engine, sessions and runtime, and register the domain's hooks on the runtime.
    ``max_photos_per_case`` defaults to ``GRIDLINK_MAX_PHOTOS_PER_CASE`` (else 30)."""
    from workflows.cases import hooks  # the domain's assigner and listener (imports models)

    settings.setdefault("max_photos_per_case", max_photos_setting())

    db = make_engine(database_url)
    runtime = Runtime(assigner=hooks.assign_task)
    runtime.add_listener(hooks.on_step)
    upload = Path(upload_dir)
    upload.mkdir(parents=True, exist_ok=True)
    return System(db=db, sessions=make_sessionmaker(db), runtime=runtime, upload_dir=upload, settings=settings,
                  read_sessions=make_read_sessionmaker(db))
