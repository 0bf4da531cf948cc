"""The BPMN runtime: start instances, complete tasks, deliver messages, fire timers.

Every call takes the caller's SQLAlchemy session and never commits: the caller's transaction
holds the instance state, the task projection, the audit rows and whatever the domain writes in
its listener, so they change together or not at all. Instances are locked (row lock on
PostgreSQL, BEGIN IMMEDIATE on SQLite) and version-checked on save.

Every step that runs what a diagram says (start, completion, timers, messages, retry) runs in an
isolated child process (engine/isolation.py, engine/stepper.py): this process sends the action and
stores the reply. A child that crashes, times out or runs out of memory raises ``StepFailed`` and
the instance is quarantined as an incident (engine/incidents.py). Suspend, resume and migration
change the workflow here: they run nothing a diagram says.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .. import incidents, stepper
from ..errors import Conflict, EngineError, InvalidTaskData, NotFound, NothingWaiting
from ..isolation import Limits, StepFailed, WorkerPool
from ..sandbox import SandboxEnvironment, SandboxScriptEngine, ScriptError, json_safe_check
from ..specs import forms
from ..specs.specs import SERIALIZER_VERSION, SpecCache, dump_state, load_state
from ..storage import store
from ..storage.models import EngineEvent, HumanTask, ProcessInstance, ProcessVersion
from ..storage.store import InstanceRow
from ..storage.views import InstanceSummary, OpenTask, instance_summary, task_of
from .compaction import compact
from .timers import due_time, next_due, now, timer_definitions


@dataclass
class TaskView:
    """What the domain sees of a human task when it assigns it."""

    id: str
    instance_id: int
    business_key: str | None
    process_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict
    form_schema: str | None
    data: dict
    due_at: datetime | None


@dataclass
class Assignment:
    org_unit: str | None = None
    department: str | None = None
    role: str | None = None
    context: dict = field(default_factory=dict)
    due_at: datetime | None = None


@dataclass
class StepEvent:
    """Something that happened in one step: kind, element, and what the domain may need of it."""

    kind: str  # started, task_completed, task_ready, task_removed, timer_fired, message_received,
    #            end_reached, completed, error, retried
    element_id: str | None = None
    name: str | None = None
    task_id: str | None = None
    lane: str | None = None
    properties: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    actor: str | None = None


@dataclass
class StepResult:
    instance_id: int
    status: str
    events: list[StepEvent]
    error: str | None = None

    def of_kind(self, kind: str) -> list[StepEvent]:
        return [e for e in self.events if e.kind == kind]


@dataclass
class ReadyView:
    """A READY human task as a step leaves it (what the projection and the assigner need)."""

    id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict
    data: dict
    deadline: datetime | None


Assigner = Callable[[Session, TaskView], Assignment]
Listener = Callable[[Session, InstanceRow, list[StepEvent]], None]
_READY_FIELDS = ("org_unit", "department", "role", "context", "due_at")
"""What a ``task_ready`` event's data holds: the task's assignment as projected."""
AUDITED = {"started", "task_completed", "timer_fired", "message_received", "completed", "error", "retried",
           "migrated", "suspended", "resumed", "data_changed"}


class Runtime:
    """One per process: holds the spec cache, the sandboxed script engine and the domain hooks."""

    def __init__(self, assigner: Assigner | None = None, functions: dict | None = None,
                 time_budget: float = 1.0, cache_size: int = 2000, limits: Limits | None = None):
        self.assigner = assigner or (lambda session, view: Assignment())
        self.listeners: list[Listener] = []
        self.environment = SandboxEnvironment(functions or {}, time_budget=time_budget)
        self.script_engine = SandboxScriptEngine(environment=self.environment)
        self.specs = SpecCache()
        self._facts: dict[int, VersionFacts] = {}
        self._loaded: OrderedDict[int, tuple[str, BpmnWorkflow]] = OrderedDict()
        self._loaded_lock = threading.Lock()
        self._cache_size = cache_size
        # every step runs in a forked child with OS limits (engine/isolation.py); the child has
        # the functions registered so far (it is forked at the first step)
        self.pool = WorkerPool(functools.partial(stepper.serve, self.environment), limits or Limits.from_env(),
                               cache_size)
        self._failed: OrderedDict[tuple, StepFailed] = OrderedDict()

    # ----- hooks ---------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    # ----- starting ------------------------------------------------------------------------
    def start(self, session: Session, process_id: str, data: dict | None = None, version: int | None = None,
              business_key: str | None = None, actor: str | None = None) -> StepResult:
        """Start an instance of the active (or the given) version and run it to its first wait."""
        return self.save_start(session, self.prepare_start(session, process_id, data, version, business_key, actor))

    def prepare_start(self, session: Session, process_id: str, data: dict | None = None, version: int | None = None,
                      business_key: str | None = None, actor: str | None = None) -> PendingStart:
        """Run a new instance to its first wait in memory, writing nothing: ``session`` may be a
        read-only one. ``save_start`` stores it later, in the caller's write transaction, so the
        engine's work need not hold the database's write lock. A new instance conflicts with
        nothing, so the step stays valid whatever commits in between (a version activated in
        between is used from the next start on)."""
        data = dict(data or {})
        self._check_data(data)
        version_id, version_no = store.version_ref(session, process_id, version)
        events = [StepEvent("started", data={"process_id": process_id, "version": version_no},
                            actor=actor)]
        row = store.new_instance(version_id, business_key, SERIALIZER_VERSION)
        reply = self._isolated(session, row, {"op": "start", "data": data})
        error, ready, _ = self._apply(row, reply, events)
        return PendingStart(row, None, events, error, actor, ready)

    def save_start(self, session: Session, pending: PendingStart) -> StepResult:
        """Store a prepared start: the instance, its task projection, audit rows and listeners."""
        if pending.saved:
            raise EngineError("this prepared start has already been saved")
        pending.saved = True
        return self._store(session, pending.row, pending.workflow, pending.events, pending.error, pending.actor,
                           set(), pending.ready, new=True)

    # ----- human tasks ---------------------------------------------------------------------
    def complete_task(self, session: Session, task_id: str, data: dict, actor: str | None = None,
                      prepared: PendingStep | None = None, sent: dict | None = None) -> StepResult:
        """Validate ``data`` against the task's form, complete it and run to the next wait.

        ``prepared`` (from ``prepare_complete``) is used instead of running the step again when it
        completed this task with the same data and actor, from the state the instance still has.
        ``sent``: the fields as a client sent them, refused first if the form does not define one
        (see ``check_fields``)."""
        projected, row = self._open(session, task_id, actor, lock=True)
        if sent is not None:
            self._check_fields(session, projected, row, sent)
        if prepared is not None and prepared.fits(task_id, data, actor, row):
            prepared.used = True
            return self._store(session, prepared.row, prepared.workflow, prepared.events, prepared.error, actor,
                               prepared.before, prepared.ready)
        step = self._complete_step(session, projected, row, task_id, data, actor)
        return self._store(session, step.row, step.workflow, step.events, step.error, actor, step.before, step.ready)

    def prepare_complete(self, session: Session, task_id: str, data: dict, actor: str | None = None,
                         check_fields: bool = False) -> PendingStep:
        """Run a task's completion in memory, writing nothing (``session`` may be read-only), so
        that ``complete_task(..., prepared=...)`` need not run it under the write lock. Raises as
        ``complete_task`` would for a task that cannot be completed with this data (with
        ``check_fields``, as it would with ``sent=data``). Takes no lock: ``complete_task`` checks
        under its lock that the instance is still in the state it ran from."""
        projected, row = self._open(session, task_id, actor, lock=False)
        if check_fields:
            self._check_fields(session, projected, row, data)
        return self._complete_step(session, projected, row, task_id, data, actor, keep=True)

    def _open(self, session: Session, task_id: str, actor: str | None, lock: bool) -> tuple[dict, InstanceRow]:
        """The open task and its instance, unless it is gone or claimed by someone other than ``actor``."""
        projected, row = store.open_task(session, task_id, lock) or self._gone(session, task_id)
        if projected["claimed_by"] and actor and projected["claimed_by"] != actor:
            raise Conflict(f"task {task_id} is claimed by {projected['claimed_by']}: ask them to release it",
                           reason="task_claimed", params={"holder": projected["claimed_by"]})
        return projected, row

    def _complete_step(self, session: Session, projected: dict, row: InstanceRow, task_id: str, data: dict,
                       actor: str | None, keep: bool = False) -> PendingStep:
        """The completion in memory. ``keep`` (a step run ahead): the step runs on its own copy of
        ``data``, so the caller's data stays as sent, and another copy is kept for ``PendingStep.fits``."""
        self._require_status(row, ("running", "waiting"))
        forms.validate(self.form_schema(session, row.process_version_id, projected["form_schema"]), data,
                       projected["name"])
        self._check_data(data)
        sent = copy.deepcopy(data) if keep else data
        base = (row.lock_version, row.state_token)
        events: list[StepEvent] = []
        reply = self._isolated(session, row, {"op": "complete", "task_id": task_id, "data": data,
                                              "task_name": projected["name"], "task_lane": projected["lane"],
                                              "actor": actor})
        error, ready, before = self._apply(row, reply, events)
        return PendingStep(task_id, sent, actor, base, row, None, events, error, before, ready)

    def claim(self, session: Session, task_id: str, actor: str) -> OpenTask:
        """Claim an open task for ``actor``: one conditional UPDATE, so of two claimers exactly one
        wins on every database (the other waits for the winner's row lock and then matches nothing)."""
        task = self._projected(session, task_id)
        if task.claimed_by not in (None, actor):
            raise Conflict(f"task {task_id} is already claimed by {task.claimed_by}", reason="task_claimed",
                           params={"holder": task.claimed_by})
        columns = HumanTask.__table__.c
        claimed = session.execute(
            update(HumanTask.__table__)
            .where(columns.id == task_id, or_(columns.claimed_by.is_(None), columns.claimed_by == actor))
            .values(claimed_by=actor))
        if claimed.rowcount != 1:
            holder = session.get(HumanTask, task_id, populate_existing=True)
            if holder is None:
                self._gone(session, task_id)
            raise Conflict(f"task {task_id} is already claimed by {holder.claimed_by}", reason="task_claimed",
                           params={"holder": holder.claimed_by})
        session.refresh(task, ["claimed_by"])  # the session's object as the UPDATE left it
        return task_of(task)

    def unclaim(self, session: Session, task_id: str, actor: str, force: bool = False) -> OpenTask:
        task = self._projected(session, task_id)
        if task.claimed_by not in (None, actor) and not force:
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}, not by {actor}", reason="task_claimed",
                           params={"holder": task.claimed_by})
        task.claimed_by = None
        session.flush()
        return task_of(task)

    def task(self, session: Session, task_id: str) -> OpenTask:
        """The open task ``task_id`` (pending changes of the session included)."""
        return task_of(self._projected(session, task_id))

    def instance_summary(self, session: Session, instance_id: int) -> InstanceSummary:
        """The instance without its state (version, status, elements visited)."""
        found = instance_summary(session, instance_id)
        if found is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        return found

    def task_data(self, session: Session, task_id: str) -> dict:
        """The data a READY task sees (read-only copy)."""
        projected = self._projected(session, task_id)
        row, workflow = self._load(session, projected.instance_id, lock=False)
        data = dict(self._ready_task(workflow, task_id).data)
        self._put_back(row, workflow)
        return data

    def check_fields(self, session: Session, task_id: str, data: dict) -> None:
        """Refuse fields the task's form does not define: a client fills the form, it does not set
        other process data (``level``, ``sla``, ...). ``complete_task(..., sent=data)`` does this too."""
        projected = self._projected(session, task_id)
        row = store.load_instance(session, projected.instance_id, lock=False)
        self._check_fields(session, {"form_schema": projected.form_schema, "name": projected.name}, row, data)

    def _check_fields(self, session: Session, projected: dict, row: InstanceRow, data: dict) -> None:
        schema = self.form_schema(session, row.process_version_id, projected["form_schema"])
        unknown = forms.unknown_fields(schema, data) if schema and isinstance(data, dict) else []
        if unknown:
            raise InvalidTaskData(f"{len(unknown)} field(s) are not part of the form of {projected['name']!r}: "
                                  + "; ".join(e["message"] for e in unknown), unknown)

    def form_schema(self, session: Session, version_id: int, filename: str | None) -> str | None:
        if not filename:
            return None
        files = self._facts_of(session, version_id).files
        if filename not in files:
            raise NotFound(f"form {filename!r} is not part of the deployed version")
        return files[filename]

    # ----- events from outside -------------------------------------------------------------
    def send_message(self, session: Session, instance_id: int, name: str, payload: dict | None = None,
                     actor: str | None = None) -> StepResult:
        return self._send(session, instance_id, MessageEventDefinition(name), name, payload, actor)

    def send_signal(self, session: Session, instance_id: int, name: str, payload: dict | None = None,
                    actor: str | None = None) -> StepResult:
        return self._send(session, instance_id, SignalEventDefinition(name), name, payload, actor)

    def _send(self, session, instance_id, definition, name, payload, actor) -> StepResult:
        self._check_data(payload or {})
        row = self._row(session, instance_id)
        self._require_status(row, ("running", "waiting"))
        events = [StepEvent("message_received", name=name, data=dict(payload or {}), actor=actor)]
        op = "signal" if isinstance(definition, SignalEventDefinition) else "message"
        reply = self._isolated(session, row, {"op": op, "name": name, "payload": payload or {},
                                              "instance_id": instance_id})
        return self._save_reply(session, row, reply, events, actor)

    # ----- timers --------------------------------------------------------------------------
    def fire_timers(self, session: Session, instance_id: int) -> StepResult:
        """Fire whatever timers of one (locked) instance are due now."""
        row = self._row(session, instance_id)
        reply = self._isolated(session, row, {"op": "timers"})
        return self._save_reply(session, row, reply, [], None)

    # ----- administration ------------------------------------------------------------------
    def retry(self, session: Session, instance_id: int, data: dict | None = None,
              actor: str | None = None) -> StepResult:
        """Reset the failed tasks of an instance in `error`, patch their data, and run again."""
        row = self._row(session, instance_id)
        self._require_status(row, ("error",))
        self._check_data(data or {})
        events = [StepEvent("retried", element_id=row.error_element, data=dict(data or {}), actor=actor)]
        reply = self._isolated(session, row, {"op": "retry", "data": data or {}})
        return self._save_reply(session, row, reply, events, actor)

    def set_status(self, session: Session, instance_id: int, status: str, actor: str | None = None) -> None:
        """Suspend or resume an instance (suspended instances fire no timers and accept no work)."""
        row, workflow = self._load(session, instance_id)
        if status == "suspended":
            self._require_status(row, ("running", "waiting"))
        elif status == "resumed":
            self._require_status(row, ("suspended",))
        events = [StepEvent(status, actor=actor)]
        self._save(session, row, workflow, events, None, actor, _projected_ids(workflow),
                   status="suspended" if status == "suspended" else None)

    def instance(self, session: Session, instance_id: int) -> ProcessInstance:
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        return row

    def data(self, session: Session, instance_id: int) -> dict:
        """The instance's current data: the data of its ready/waiting tasks, or its final data."""
        row, workflow = self._load(session, instance_id, lock=False)
        result = dict(workflow.data) if workflow.is_completed() else _live_data(workflow)
        self._put_back(row, workflow)
        return result

    def state_size(self, session: Session, instance_id: int) -> int:
        return len(self.instance(session, instance_id).state)

    def events(self, session: Session, instance_id: int) -> list[EngineEvent]:
        return list(session.scalars(select(EngineEvent).where(EngineEvent.instance_id == instance_id)
                                    .order_by(EngineEvent.id)))

    @staticmethod
    def ready_ids(workflow: BpmnWorkflow) -> set[str]:
        """Ids of the READY human tasks of a loaded workflow (what the projection holds)."""
        return _ready_ids(workflow)

    # ----- internals: loading and saving ---------------------------------------------------
    def _specs(self, session: Session, version_id: int):
        return self.specs.get(version_id, lambda: session.scalar(
            select(ProcessVersion.spec_json).where(ProcessVersion.id == version_id)))

    def _facts_of(self, session: Session, version_id: int) -> VersionFacts:
        """The immutable facts of a version (process id, files), cached by version id."""
        facts = self._facts.get(version_id)
        if facts is None:
            found = session.execute(select(ProcessVersion.process_id, ProcessVersion.files)
                                    .where(ProcessVersion.id == version_id)).first()
            if found is None:
                raise NotFound(f"process version {version_id} does not exist")
            facts = self._facts[version_id] = VersionFacts(found.process_id, found.files)
        return facts

    def _version(self, session: Session, version_id: int) -> ProcessVersion:
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"process version {version_id} does not exist")
        return row

    def _projected(self, session: Session, task_id: str) -> HumanTask:
        session.flush()  # the row as it stands now, pending changes included
        found = session.get(HumanTask, task_id, populate_existing=True)
        return found if found is not None else self._gone(session, task_id)

    def _gone(self, session: Session, task_id: str):
        """Raise why a task is not open: completed (by whom, when) or unknown."""
        done = store.completion_of(session, task_id)
        if done is not None:
            who = f" by {done.actor}" if done.actor else ""
            raise Conflict(f"task {task_id} was already completed{who} at {done.at.isoformat()}",
                           reason="task_done", params={"holder": done.actor or "", "at": done.at})
        raise NotFound(f"task {task_id} does not exist or is no longer open", reason="task_gone")

    def _load(self, session: Session, instance_id: int, lock: bool = True):
        row = self._row(session, instance_id, lock)
        return row, self._workflow(session, row)

    def _row(self, session: Session, instance_id: int, lock: bool = True) -> InstanceRow:
        row = store.load_instance(session, instance_id, lock)
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        return row

    # ----- internals: the isolated step -------------------------------------------------------
    def _isolated(self, session: Session, row: InstanceRow, message: dict) -> dict:
        """Run one step in a pool child (engine/isolation.py): its reply, the new state under "blob".

        A step that crashed its child, ran out of time or of memory raises StepFailed; the
        instance is quarantined as an incident once the caller's transaction ends (the caller's
        rollback keeps nothing of the step) and the same state is not run again by this process."""
        key = (row.id, row.state_token)
        if row.id is not None and key in self._failed:
            raise self._failed[key]
        version_id = row.process_version_id
        try:
            reply, blob = self.pool.run(message, b"", version_id, lambda: self._spec_json(session, version_id),
                                        row.state_token, lambda: row.state or store.state_of(session, row.id))
        except StepFailed as exc:
            if row.id is not None:
                self._failed[key] = exc
                while len(self._failed) > 100:
                    self._failed.popitem(last=False)
                incidents.quarantine_after(session, row.id, row.state_token, exc.kind, exc.element, exc.detail)
            raise
        if "raise" in reply:
            raise _REFUSALS.get(reply["raise"], EngineError)(reply["message"])
        reply["blob"] = blob
        return reply

    def _spec_json(self, session: Session, version_id: int) -> str:
        found = session.scalar(select(ProcessVersion.spec_json).where(ProcessVersion.id == version_id))
        if found is None:
            raise NotFound(f"process version {version_id} does not exist")
        return found

    def _apply(self, row: InstanceRow, reply: dict, events: list[StepEvent]) -> tuple[str | None, dict, set[str]]:
        """Put a child's reply into ``row`` and ``events`` (memory only): (error, ready views, before)."""
        events.extend(StepEvent(**event) for event in reply["events"])
        error = reply["error"]
        ready = {r["id"]: ReadyView(r["id"], r["element_id"], r["name"], r["lane"], r["properties"], r["data"],
                                    _when(r["deadline"])) for r in reply["ready"]}
        self._write_row(row, reply["blob"], reply["token"], _when(reply["next_due"]), reply["completed"],
                        events, error, bool(ready))
        return error, ready, set(reply["before"])

    def _save_reply(self, session: Session, row: InstanceRow, reply: dict, events: list[StepEvent],
                    actor: str | None) -> StepResult:
        error, ready, before = self._apply(row, reply, events)
        return self._store(session, row, None, events, error, actor, before, ready)

    def _workflow(self, session: Session, row: InstanceRow | ProcessInstance) -> BpmnWorkflow:
        with self._loaded_lock:
            cached = self._loaded.pop(row.id, None)
        if cached is not None and cached[0] == row.state_token:
            return cached[1]
        spec, subs = self._specs(session, row.process_version_id)
        workflow = load_state(row.state or store.state_of(session, row.id), spec, subs)
        workflow.script_engine = self.script_engine
        return workflow

    def _put_back(self, row: InstanceRow | ProcessInstance, workflow: BpmnWorkflow) -> None:
        with self._loaded_lock:
            self._loaded[row.id] = (row.state_token, workflow)
            while len(self._loaded) > self._cache_size:
                self._loaded.popitem(last=False)

    def _ready_task(self, workflow: BpmnWorkflow, task_id: str):
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, TaskNotFoundException):
            task = None
        if task is None or task.state != TaskState.READY:
            raise Conflict(f"task {task_id} is no longer open: someone completed it or the case moved on",
                           reason="task_gone")
        return task

    def _require_status(self, row: InstanceRow, allowed: Iterable[str]) -> None:
        if row.status not in allowed:
            raise Conflict(f"process instance {row.id} is {row.status}; this needs it to be "
                           + " or ".join(allowed))

    def _check_data(self, data: dict) -> None:
        try:
            json_safe_check(data)
        except ScriptError as exc:
            raise EngineError(str(exc)) from exc

    def _save(self, session: Session, row: InstanceRow, workflow: BpmnWorkflow, events: list[StepEvent],
              error: str | None, actor: str | None, before: set[str], status: str | None = None) -> StepResult:
        """Save a workflow changed in this process (suspend, resume, migrate: nothing a diagram runs)."""
        ready = self._settle(row, workflow, events, error, status)
        return self._store(session, row, workflow, events, error, actor, before, ready)

    def _settle(self, row: InstanceRow, workflow: BpmnWorkflow, events: list[StepEvent], error: str | None,
                status: str | None = None) -> dict:
        """Compact the workflow and put its new state into ``row`` (memory only); its ready human tasks."""
        compact(workflow)
        ready = {str(t.id): _view(str(t.id), t) for t in ready_human_tasks(workflow)}
        self._write_row(row, dump_state(workflow), uuid4().hex, None if error else next_due(workflow),
                        not ready and workflow.is_completed(), events, error, bool(ready))
        row.status = status or row.status
        return ready

    def _store(self, session: Session, row: InstanceRow, workflow: BpmnWorkflow | None, events: list[StepEvent],
               error: str | None, actor: str | None, before: set[str], ready: dict, new: bool = False) -> StepResult:
        """Write a settled step: instance row, projection, flags, audit; then the listeners."""
        if new:
            store.insert_instance(session, row)
        else:
            store.update_instance(session, row)
        self._sync_projection(session, row, ready, events, before)
        fired = {e.data["host"] for e in events if e.kind == "timer_fired" and e.data.get("host")}
        if fired:
            store.flag_tasks(session, row.id, fired, now())
        audit = [_audit_row(row.id, e, actor) for e in events if e.kind in AUDITED]
        if audit:
            store.insert_events(session, audit)
        for listener in self.listeners:
            listener(session, row, events)
        if workflow is not None:
            workflow.gridlink_projected = frozenset(ready)
            self._put_back(row, workflow)
        else:  # the step ran in a child: what this process may hold of the instance is stale
            with self._loaded_lock:
                self._loaded.pop(row.id, None)
        return StepResult(row.id, row.status, events, error)

    def _write_row(self, row: InstanceRow, state: bytes, token: str, due: datetime | None, completed: bool,
                   events: list[StepEvent], error: str | None, has_ready: bool) -> None:
        row.state = state
        row.state_token = token
        row.serializer_version = SERIALIZER_VERSION
        row.next_due = None if error else due
        completed = not has_ready and completed
        row.status = "error" if error else "completed" if completed else "running" if has_ready else "waiting"
        row.error_message = error
        row.error_element = next((e.element_id for e in events if e.kind == "error"), None)
        row.updated_at = now()
        row.visited = _visited(row.visited, events)
        if completed and not error:
            events.append(StepEvent("completed", data={"outcome": _outcome(events)}))

    def _sync_projection(self, session: Session, row: InstanceRow, ready: dict, events: list[StepEvent],
                         before: set[str]) -> None:
        """Mirror the READY human tasks into human_tasks; ``before`` is what the last save projected."""
        gone = before - set(ready)
        if gone:
            store.delete_tasks(session, gone)
            events.extend(StepEvent("task_removed", task_id=t) for t in gone)
        added = [task_id for task_id in ready if task_id not in before]
        if added:
            process_id = self._facts_of(session, row.process_version_id).process_id
            store.insert_tasks(session, [self._project(session, row, process_id, task_id, ready[task_id], events)
                                         for task_id in added])

    def _project(self, session, row, process_id, task_id, ready: ReadyView, events) -> dict:
        props = ready.properties
        view = TaskView(task_id, row.id, row.business_key, process_id, ready.element_id, ready.name, ready.lane,
                        props, props.get("formJsonSchemaFilename"), dict(ready.data), ready.deadline)
        assignment = self.assigner(session, view)
        projected = dict(id=task_id, instance_id=row.id, business_key=row.business_key, process_id=process_id,
                         element_id=view.element_id, name=view.name, lane=view.lane, properties=props,
                         form_schema=view.form_schema, org_unit=assignment.org_unit,
                         department=assignment.department, role=assignment.role, context=assignment.context,
                         claimed_by=None, created_at=now(), due_at=assignment.due_at or view.due_at,
                         reminded_at=None, overdue_at=None)
        # the listener sees the task as projected, without reading it back
        events.append(StepEvent("task_ready", view.element_id, view.name, task_id, view.lane, props,
                                data={k: projected[k] for k in _READY_FIELDS}))
        return projected


@dataclass
class PendingStart:
    """A new instance run to its first wait in memory (``Runtime.prepare_start``), not yet stored."""

    row: InstanceRow
    workflow: BpmnWorkflow | None  # None: the step ran in a pool child
    events: list[StepEvent]
    error: str | None
    actor: str | None
    ready: dict
    saved: bool = False


@dataclass
class PendingStep:
    """A task completion run in memory (``Runtime.prepare_complete``), not yet stored."""

    task_id: str
    data: dict
    actor: str | None
    base: tuple  # (lock_version, state_token) of the state it ran from
    row: InstanceRow
    workflow: BpmnWorkflow | None  # None: the step ran in a pool child
    events: list[StepEvent]
    error: str | None
    before: set[str]
    ready: dict
    used: bool = False

    def fits(self, task_id: str, data: dict, actor: str | None, current: InstanceRow) -> bool:
        """Whether this step is what completing ``task_id`` now would do: same task, data and actor,
        from the state the instance still has (nobody saved it since), and not used yet."""
        return (not self.used and task_id == self.task_id and actor == self.actor and data == self.data
                and (current.lock_version, current.state_token) == self.base)


@dataclass(frozen=True)
class VersionFacts:
    process_id: str
    files: dict


_REFUSALS = {"Conflict": Conflict, "NothingWaiting": NothingWaiting, "NotFound": NotFound,
             "InvalidTaskData": InvalidTaskData}


# ----- helpers on SpiffWorkflow objects (module level: they hold no state) --------------------
def advance(workflow: BpmnWorkflow, events: list[StepEvent], act: Callable[[], None]) -> str | None:
    """Run ``act`` and the engine steps after it, recording what completed. Returns an error."""

    def record(task):
        _record_completion(task, events)

    try:
        act()
        workflow.do_engine_steps(did_complete_task=record)
        return None
    except SpiffWorkflowException as exc:
        task = getattr(exc, "task", None)
        element = task.task_spec.bpmn_id if task is not None else None
        message = _describe(exc)
        events.append(StepEvent("error", element, data={"message": message,
                                                         "line": getattr(exc, "line_number", None)}))
        return message


def _view(task_id: str, task) -> ReadyView:
    spec = task.task_spec
    return ReadyView(task_id, spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, _lane(task), _properties(task),
                     dict(task.data), _deadline(task))


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _properties(task) -> dict:
    return dict((getattr(task.task_spec, "extensions", None) or {}).get("properties", {}))


def _lane(task) -> str | None:
    while task is not None:
        lane = getattr(task.task_spec, "lane", None)
        if lane:
            return lane
        task = task.parent
    return None


def _host_split(task):
    """The boundary-event split above a task (through a multi-instance parent), if any."""
    node = task
    while node.parent is not None:
        if isinstance(node.parent.task_spec, BoundaryEventSplit):
            return node.parent
        if not isinstance(node.parent.task_spec, LoopTask):
            return None
        node = node.parent
    return None


def _attached_timers(task) -> list:
    split = _host_split(task)
    if split is None:
        return []
    return [c for c in split.children if timer_definitions(c) and c.state == TaskState.WAITING]


def _deadline(task) -> datetime | None:
    """Due time of a human task: its interrupting timer, else its last non-interrupting one."""
    timers = _attached_timers(task)
    interrupting = [due_time(t) for t in timers if getattr(t.task_spec, "cancel_activity", False)]
    interrupting = [d for d in interrupting if d]
    if interrupting:
        return min(interrupting)
    others = [d for d in (due_time(t) for t in timers) if d]
    return max(others) if others else None


def _record_completion(task, events: list[StepEvent]) -> None:
    spec = task.task_spec
    element = getattr(spec, "bpmn_id", None)
    if element is None:
        return
    if timer_definitions(task):
        events.append(StepEvent("timer_fired", element, spec.bpmn_name, str(task.id), _lane(task), _properties(task),
                                {"host": _host_of(task)}))
    elif spec.__class__.__name__ == "EndEvent":
        events.append(StepEvent("end_reached", element, spec.bpmn_name, str(task.id), _lane(task), _properties(task)))
    else:  # only the visited-element list reads these
        events.append(StepEvent("element_completed", element, spec.bpmn_name))


def _host_of(timer_task) -> str | None:
    split = timer_task.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return None
    host = next((c for c in split.children if not timer_definitions(c)), None)
    return getattr(host.task_spec, "bpmn_id", None) if host is not None else None


def _live_data(workflow) -> dict:
    tasks = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    data: dict = {}
    for task in tasks:
        data.update(task.data)
    return data or dict(workflow.task_tree.data)


def _visited(previous: list | None, events: list[StepEvent]) -> list:
    seen = list(previous or [])
    known = set(seen)
    for event in events:
        if event.element_id and event.kind in ("task_completed", "timer_fired", "end_reached",
                                               "element_completed") and event.element_id not in known:
            known.add(event.element_id)
            seen.append(event.element_id)
    return seen


def _outcome(events: list[StepEvent]) -> str | None:
    ends = [e for e in events if e.kind == "end_reached" and e.properties.get("outcome")]
    return ends[-1].properties["outcome"] if ends else None


def _audit_row(instance_id: int, event: StepEvent, actor: str | None) -> dict:
    return dict(instance_id=instance_id, at=now(), kind=event.kind, element_id=event.element_id,
                task_id=event.task_id, actor=event.actor or actor, data=_audit_data(event))


def ready_human_tasks(workflow) -> list:
    """The READY manual tasks, exactly as ``workflow.get_tasks(state=READY, manual=True)`` lists them.

    SpiffWorkflow's iterator walks the whole tree: about 0.1 ms for a young case, more than a tenth
    of what gridlink adds to a step. Mostly one task is ready, so the task dicts are scanned first;
    a single find is kept when the iterator would reach it, anything else is left to the iterator."""
    found = [task for part in (workflow, *workflow.subprocesses.values()) for task in part.tasks.values()
             if task.state == TaskState.READY and task.task_spec.manual]
    if not found or (len(found) == 1 and _iterator_reaches(found[0])):
        return found  # the iterator visits only tasks of these dicts: it finds nothing else
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def _iterator_reaches(task, limit: int = 200) -> bool:
    """Whether SpiffWorkflow's task iterator, looking for READY tasks, descends down to ``task``: it
    does not enter the children of predicted tasks (unless they host a subprocess) nor the
    subprocess of a finished task. Deeper than ``limit`` counts as no (the caller asks the iterator)."""
    node = task
    for _ in range(limit):
        top = node.workflow.top_workflow
        parent = node.parent
        if parent is not None:
            if parent.state < TaskState.FUTURE and parent.id not in top.subprocesses:
                return False
            node = parent
            continue
        if node.workflow is top:
            return True
        host = top.get_task_from_id(node.workflow.parent_task_id)
        if host is None or host.state >= TaskState.FINISHED_MASK:
            return False
        node = host
    return False


def _ready_ids(workflow) -> set[str]:
    return {str(t.id) for t in ready_human_tasks(workflow)}


def _projected_ids(workflow) -> set[str]:
    """The READY human tasks as the last save projected them (kept on the workflow it saved)."""
    saved = getattr(workflow, "gridlink_projected", None)
    return set(saved) if saved is not None else _ready_ids(workflow)


def _audit_data(event: StepEvent) -> dict:
    data = dict(event.data)
    if event.name and event.kind != "message_received":
        data.setdefault("name", event.name)
    if event.kind == "message_received":
        data = {"message": event.name, "payload": event.data}
    return data


def _describe(exc: SpiffWorkflowException) -> str:
    text = str(exc)
    notes = getattr(exc, "notes", None) or []
    return " ".join([text, *notes]).strip()
