"""gridlink's BPMN engine, behind one facade: import what the domain needs from ``engine`` only.

Layout (each subpackage one concern):
- ``engine.specs``: parsing, deploy-time validation, versioned definitions, forms, migration
- ``engine.instances``: the runtime (one step per call), snapshot and compaction, timers
- ``engine.storage``: tables, Core statements for the hot path (dataclasses out), sessions and
  SQLite's writers' queue
- ``engine.sandbox`` (restricted scripts), ``engine.isolation`` and ``engine.stepper`` (every step in a
  limited child process), ``engine.incidents`` (quarantine), ``engine.sweeper`` (timer sweep),
  ``engine.errors``
"""

from .errors import (
    Busy,
    Conflict,
    DeployError,
    EngineError,
    InstanceFailed,
    InvalidTaskData,
    NotFound,
    NothingWaiting,
    Problem,
)
from .instances.runtime import (
    Assignment,
    PendingStart,
    PendingStep,
    Runtime,
    StepEvent,
    StepResult,
    TaskView,
)
from .instances.timers import parse_timer_literal
from .isolation import Limits, StepFailed
from .specs.definitions import VersionInfo, active_version, deploy, validate_files
from .storage.db import (
    Base,
    UTCDateTime,
    make_engine,
    make_read_sessionmaker,
    make_sessionmaker,
    utcnow,
    write_wait_from_env,
)
from .storage.store import InstanceRow
from .sweeper import SweepReport, sweep

__all__ = [
    # the runtime and what it hands out
    "Runtime", "StepResult", "StepEvent", "TaskView", "Assignment", "PendingStart", "PendingStep",
    "InstanceRow",
    # definitions
    "deploy", "validate_files", "active_version", "VersionInfo", "parse_timer_literal",
    # timers
    "sweep", "SweepReport",
    # errors
    "EngineError", "DeployError", "Problem", "NotFound", "Conflict", "InvalidTaskData", "NothingWaiting",
    "InstanceFailed", "Busy", "StepFailed",
    # isolation of diagram code
    "Limits",
    # database plumbing shared with the domain
    "Base", "UTCDateTime", "utcnow", "make_engine", "make_sessionmaker", "make_read_sessionmaker",
    "write_wait_from_env",
]
