"""The assembled back end: database sessions, the BPMN runtime with the domain's hooks, uploads.

``web`` builds one System per process (``build_system``) and hands it to every use case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from engine import Runtime, make_engine, make_sessionmaker


@dataclass
class System:
    db: Engine
    sessions: sessionmaker
    runtime: Runtime
    upload_dir: Path
    settings: dict = field(default_factory=dict)


def default_database_url(instance_dir: Path) -> str:
    return os.environ.get("GRIDLINK_DATABASE_URL") or f"sqlite:///{instance_dir / 'gridlink.db'}"


def build_system(database_url: str, upload_dir: Path | str, **settings) -> System:
    """Create the engine, sessions and runtime, and register the domain's hooks on the runtime."""
    from . import hooks  # the domain's assigner and listener (imports models)

    db = make_engine(database_url)
    runtime = Runtime(assigner=hooks.assign_task)
    runtime.add_listener(hooks.on_step)
    upload = Path(upload_dir)
    upload.mkdir(parents=True, exist_ok=True)
    return System(db=db, sessions=make_sessionmaker(db), runtime=runtime, upload_dir=upload, settings=settings)
