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

from .admin import (
    IncidentInfo,
    activate_version,
    bpmn_process_ids,
    migrate_instances,
    migration_batch,
    migration_batches,
    open_incidents,
    preview_migration,
    retry_incident,
    reverse_migration,
    version_view,
)
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
from .instances.timers import TimerValueError, duration_span, parse_timer_literal
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
from .storage.views import (
    InstanceSummary,
    OpenTask,
    TaskQuery,
    VersionView,
    count_open_tasks,
    count_versions,
    instance_counts,
    instance_summary,
    open_task,
    open_task_keys,
    open_tasks,
    version_by_id,
    versions,
)
from .sweeper import SweepReport, sweep

__all__ = [
    # the runtime and what it hands out
    "Runtime", "StepResult", "StepEvent", "TaskView", "Assignment", "PendingStart", "PendingStep",
    "InstanceRow",
    # reads of the engine's tables, as dataclasses
    "OpenTask", "TaskQuery", "open_task", "open_tasks", "count_open_tasks", "open_task_keys", "InstanceSummary",
    "instance_summary", "instance_counts", "VersionView", "versions", "count_versions", "version_by_id",
    "version_view",
    # definitions
    "deploy", "validate_files", "active_version", "VersionInfo", "parse_timer_literal", "activate_version",
    "bpmn_process_ids", "TimerValueError", "duration_span",
    # migration of running instances, incidents
    "preview_migration", "migrate_instances", "reverse_migration", "migration_batches", "migration_batch",
    "IncidentInfo", "open_incidents", "retry_incident",
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
