"""Instance migration between two versions of one process: preview, migrate in one go, reverse.

Built on SpiffWorkflow's spec diff (``SpiffWorkflow.bpmn.util.diff``): the elements of the two
versions are aligned by BPMN id, and each instance's live tasks (ready, waiting, started) and
completed elements (the instance's ``visited`` list: finished history is compacted away) are
checked against the target version.

An instance can move when it is running or waiting and
- every live element still exists in the target version with the same type;
- every element it completed still exists there with the same type and the same code
  (script, pre-script, post-script): the case's data was produced by that code.
Changed names, properties, timers, conditions and flows of live elements are fine: the moved
instance continues on the new spec. Timers that were already waiting keep their due time (the
clock is not restarted); a changed timer applies the next time it starts.

Every move is recorded as a ``migrated`` engine event in the instance's audit log, holding the
state from before the move, so a batch can be reversed: an instance that did not change since
gets that state back exactly; one that moved on is migrated back when it passes the same checks.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, Line, NotFound
from ..instances.runtime import Runtime, StepEvent, TaskView, _deadline, _lane, _properties
from ..storage import store
from ..storage.models import EngineEvent, HumanTask, ProcessInstance, ProcessVersion
from .definitions import get_version
from .specs import SERIALIZER, SERIALIZER_VERSION, load_state

MOVABLE_STATUSES = ("running", "waiting")
LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
CODE_KEYS = ("script", "prescript", "postscript")
LABELS = {
    "bpmn_name": "name", "description": "name", "event_definition": "event/timer", "extensions": "properties",
    "script": "script", "prescript": "pre-script", "postscript": "post-script", "cond_task_specs": "conditions",
    "default_task_spec": "default flow", "outputs": "outgoing flows", "inputs": "incoming flows",
    "decision_table": "decision table", "spec": "called process", "documentation": "documentation",
    "lane": "lane", "typename": "type", "cancel_activity": "interrupting",
}


@dataclass(frozen=True)
class InstanceCheck:
    """Whether one instance can move to the target version, why not, and what changes for it."""

    instance_id: int
    business_key: str | None
    status: str
    version: int
    movable: bool
    reasons: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"instance_id": self.instance_id, "business_key": self.business_key, "status": self.status,
                "version": self.version, "movable": self.movable, "reasons": list(self.reasons),
                "changes": list(self.changes)}


@dataclass
class MigrationPlan:
    process_id: str
    from_version: int
    to_version: int
    checks: list[InstanceCheck]
    spec_changes: list[str] = field(default_factory=list)

    @property
    def movable(self) -> list[InstanceCheck]:
        return [c for c in self.checks if c.movable]

    @property
    def blocked(self) -> list[InstanceCheck]:
        return [c for c in self.checks if not c.movable]


@dataclass
class MigrationResult:
    batch: str
    process_id: str
    from_version: int
    to_version: int
    moved: list[int]
    skipped: list[InstanceCheck]


@dataclass
class ReverseResult:
    batch: str
    restored: list[int]
    refused: dict[int, str]


@dataclass(frozen=True)
class BatchSummary:
    batch: str
    process_id: str
    from_version: int
    to_version: int
    at: object
    actor: str | None
    instances: tuple[int, ...]
    reversed: tuple[int, ...]
    reverse_of: str | None = None


# ----- preview ------------------------------------------------------------------------------
def _spec_diff(cache: dict | None, old, new) -> SpecDiff:
    """SpecDiff of two specs, computed once per pair within one preview or migration."""
    if cache is None:
        return SpecDiff(SERIALIZER.registry, old, new)
    key = (id(old), id(new))
    if key not in cache:
        cache[key] = SpecDiff(SERIALIZER.registry, old, new)
    return cache[key]


def preview(session: Session, runtime: Runtime, process_id: str, from_version: int, to_version: int,
            instance_ids: list[int] | None = None) -> MigrationPlan:
    """Check every running instance of ``from_version`` (or just ``instance_ids``) against ``to_version``."""
    source, target = _versions(session, process_id, from_version, to_version)
    new_spec, new_subs = runtime._specs(session, target.id)
    old_spec, old_subs = runtime._specs(session, source.id)
    checks = []
    cache: dict = {}
    for row in _instances(session, source, instance_ids):
        checks.append(_check_row(session, runtime, row, source, target, new_spec, new_subs, cache))
    return MigrationPlan(process_id, from_version, to_version, checks,
                         describe_spec_changes(old_spec, old_subs, new_spec, new_subs))


def _versions(session, process_id, from_version, to_version) -> tuple[ProcessVersion, ProcessVersion]:
    if from_version == to_version:
        raise Conflict(f"versions {from_version} and {to_version} are the same: pick two different versions")
    return get_version(session, process_id, from_version), get_version(session, process_id, to_version)


def _instances(session, source: ProcessVersion, instance_ids) -> list[ProcessInstance]:
    query = select(ProcessInstance).where(ProcessInstance.process_version_id == source.id)
    if instance_ids is not None:
        query = query.where(ProcessInstance.id.in_([int(i) for i in instance_ids]))
    else:
        query = query.where(ProcessInstance.status.in_(MOVABLE_STATUSES + ("error", "suspended")))
    return list(session.scalars(query.order_by(ProcessInstance.id)))


def _check_row(session, runtime, row, source, target, new_spec, new_subs, cache=None) -> InstanceCheck:
    if row.status not in MOVABLE_STATUSES:
        return InstanceCheck(row.id, row.business_key, row.status, source.version, False,
                             (f"the instance is {row.status}: only running or waiting instances can move",))
    workflow = runtime._workflow(session, row)
    try:
        reasons, changes = check_workflow(workflow, row.visited or [], new_spec, new_subs, target.version, cache)
    finally:
        runtime._put_back(row, workflow)
    return InstanceCheck(row.id, row.business_key, row.status, source.version, not reasons,
                         tuple(reasons), tuple(changes))


def check_workflow(workflow, visited: list[str], new_spec, new_subs: dict, to_version: int, cache=None):
    """(reasons it cannot move, changes it will see) for one loaded workflow."""
    reasons: list[str] = []
    changes: list[str] = []
    diffs = [(workflow, _spec_diff(cache, workflow.spec, new_spec))]
    for sub in workflow.subprocesses.values():
        target = new_subs.get(sub.spec.name)
        if target is None:
            reasons.append(Line(f"the called process {sub.spec.name!r} it is running is not part of version "
                                f"{to_version}", "call_missing", process=sub.spec.name, version=to_version))
            continue
        diffs.append((sub, _spec_diff(cache, sub.spec, target)))
    for wf, diff in diffs:
        for task in wf.get_tasks(state=LIVE, skip_subprocesses=True):
            spec = task.task_spec
            bpmn_id = getattr(spec, "bpmn_id", None)
            if bpmn_id is None:
                continue
            aligned = diff.alignment.get(spec)
            label = _label(spec)
            if aligned is None:
                reasons.append(Line(f"active element {label} does not exist in version {to_version}",
                                    "active_missing", version=to_version, **_element(spec)))
            elif "typename" in diff.comparisons.get(spec, []):
                reasons.append(Line(f"active element {label} changed its type in version {to_version}",
                                    "active_type", version=to_version, **_element(spec)))
            elif diff.comparisons.get(spec):
                changes.append(Line(f"{label}: {_describe_keys(diff.comparisons[spec])} changed", "active_changed",
                                    aspects=_unique(diff.comparisons[spec]), **_element(spec)))
    reasons += _completed_reasons(workflow, visited, new_spec, new_subs, to_version)
    return _unique(reasons), _unique(changes)


def _completed_reasons(workflow, visited, new_spec, new_subs, to_version) -> list[str]:
    old_index = _by_bpmn_id([workflow.spec, *workflow.subprocess_specs.values()])
    new_index = _by_bpmn_id([new_spec, *new_subs.values()])
    reasons = []
    registry = SERIALIZER.registry
    for bpmn_id in visited:
        old = old_index.get(bpmn_id)
        if old is None:
            continue
        new = new_index.get(bpmn_id)
        if new is None:
            reasons.append(Line(f"completed element {_label(old)} no longer exists in version {to_version}",
                                "done_missing", version=to_version, **_element(old)))
            continue
        before, after = registry.convert(old), registry.convert(new)
        if before.get("typename") != after.get("typename"):
            reasons.append(Line(f"completed element {_label(old)} changed its type in version {to_version}",
                                "done_type", version=to_version, **_element(old)))
        elif any(before.get(k) != after.get(k) for k in CODE_KEYS):
            keys = [k for k in CODE_KEYS if before.get(k) != after.get(k)]
            reasons.append(Line(f"completed element {_label(old)} changed its {_describe_keys(keys)} in version "
                                f"{to_version}: its data came from the old code", "done_code", version=to_version,
                                aspects=keys, **_element(old)))
    return reasons


def _by_bpmn_id(specs) -> dict:
    index = {}
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id and task_spec.name == bpmn_id:
                index.setdefault(bpmn_id, task_spec)
    return index


def describe_spec_changes(old_spec, old_subs: dict, new_spec, new_subs: dict) -> list[str]:
    """Readable lines: elements added, removed and changed between two versions."""
    lines: list[str] = []
    pairs = [(old_spec, new_spec)] + [(old_subs[n], new_subs.get(n)) for n in sorted(old_subs)]
    for old, new in pairs:
        if new is None:
            lines.append(Line(f"called process {old.name!r} was removed", "call_removed", process=old.name))
            continue
        diff = SpecDiff(SERIALIZER.registry, old, new)
        prefix = "" if old is old_spec else f"{old.name}: "
        within = "" if old is old_spec else old.name
        for spec in diff.added:
            if _is_element(spec):
                lines.append(Line(f"{prefix}added {_label(spec)}", "added", within=within, **_element(spec)))
        for spec in diff.removed:
            if _is_element(spec):
                lines.append(Line(f"{prefix}removed {_label(spec)}", "removed", within=within, **_element(spec)))
        for spec, keys in diff.changed.items():
            if _is_element(spec):
                lines.append(Line(f"{prefix}changed {_label(spec)}: {_describe_keys(keys)}", "changed", within=within,
                                  aspects=_unique(keys), **_element(spec)))
    for name in sorted(set(new_subs) - set(old_subs)):
        lines.append(Line(f"called process {name!r} was added", "call_added", process=name))
    return lines


def _is_element(spec) -> bool:
    bpmn_id = getattr(spec, "bpmn_id", None)
    return bool(bpmn_id) and spec.name == bpmn_id


def _label(spec) -> str:
    name = getattr(spec, "bpmn_name", None)
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    return f"{bpmn_id!r} ({name})" if name else repr(bpmn_id)


def _element(spec) -> dict:
    return {"element": getattr(spec, "bpmn_id", None) or spec.name, "name": getattr(spec, "bpmn_name", None) or ""}


def _describe_keys(keys) -> str:
    return ", ".join(_unique(LABELS.get(k, k) for k in keys))


def _unique(items) -> list:
    return list(dict.fromkeys(items))


# ----- migrate ------------------------------------------------------------------------------
def migrate(session: Session, runtime: Runtime, process_id: str, from_version: int, to_version: int,
            instance_ids: list[int] | None = None, actor: str | None = None) -> MigrationResult:
    """Move every movable instance (of the preview) to ``to_version`` in the caller's transaction."""
    plan = preview(session, runtime, process_id, from_version, to_version, instance_ids)
    source, target = _versions(session, process_id, from_version, to_version)
    batch = uuid.uuid4().hex[:12]
    moved = []
    cache: dict = {}
    for check in plan.movable:
        _move(session, runtime, check.instance_id, source, target, batch, actor, reverse_of=None, cache=cache)
        moved.append(check.instance_id)
    return MigrationResult(batch, process_id, from_version, to_version, moved, plan.blocked)


def _move(session, runtime, instance_id, source, target, batch, actor, reverse_of, cache=None) -> None:
    row, workflow = runtime._load(session, instance_id)
    if row.process_version_id != source.id:
        raise Conflict(f"process instance {instance_id} is no longer on version {source.version}: preview again")
    previous_state, previous_token = row.state or store.state_of(session, row.id), row.state_token
    before = runtime.ready_ids(workflow)
    new_spec, new_subs = runtime._specs(session, target.id)
    _apply(workflow, new_spec, new_subs, cache)
    row.process_version_id = target.id
    event = StepEvent("migrated", data={"batch": batch, "process_id": source.process_id,
                                        "from_version": source.version, "to_version": target.version,
                                        "reverse_of": reverse_of}, actor=actor)
    runtime._save(session, row, workflow, [event], None, actor, before)
    _refresh_projection(session, runtime, row, workflow, source.process_id)
    audit = session.scalar(select(EngineEvent).where(EngineEvent.instance_id == row.id,
                                                     EngineEvent.kind == "migrated")
                           .order_by(EngineEvent.id.desc()).limit(1))
    audit.data = {**audit.data, "previous_state": base64.b64encode(previous_state).decode("ascii"),
                  "previous_token": previous_token, "token": row.state_token}
    session.flush()


def _apply(workflow, new_spec, new_subs: dict, cache=None) -> None:
    """Point the workflow and its subprocesses at the new specs, keeping waiting timers' due times."""
    timers = {t.id: dict(t.internal_data) for t in workflow.get_tasks(state=TaskState.WAITING)
              if "event_value" in t.internal_data}
    top = WorkflowDiff(workflow, _spec_diff(cache, workflow.spec, new_spec))
    for sub in list(workflow.subprocesses.values()):
        target = new_subs[sub.spec.name]
        migrate_workflow(WorkflowDiff(sub, _spec_diff(cache, sub.spec, target)), sub, target,
                         reset_mask=TaskState.WAITING)
    migrate_workflow(top, workflow, new_spec, reset_mask=TaskState.WAITING)
    workflow.subprocess_specs = dict(new_subs)
    for task_id, internal in timers.items():
        task = workflow.get_task_from_id(task_id) if task_id in workflow.tasks or _in_subprocess(workflow, task_id) \
            else None
        if task is not None and task.state == TaskState.WAITING:
            task.internal_data.update(internal)


def _in_subprocess(workflow, task_id) -> bool:
    return any(task_id in sub.tasks for sub in workflow.subprocesses.values())


def _refresh_projection(session, runtime, row, workflow, process_id) -> None:
    """Open tasks keep their ids, claims and flags; name, properties and assignment follow the new spec."""
    for projected in session.scalars(select(HumanTask).where(HumanTask.instance_id == row.id)):
        try:
            task = workflow.get_task_from_id(uuid.UUID(projected.id))
        except Exception:  # noqa: BLE001 - a task that vanished is removed by the next sync
            continue
        spec = task.task_spec
        props = _properties(task)
        view = TaskView(projected.id, row.id, row.business_key, process_id, spec.bpmn_id,
                        spec.bpmn_name or spec.bpmn_id, _lane(task), props, props.get("formJsonSchemaFilename"),
                        dict(task.data), _deadline(task))
        assignment = runtime.assigner(session, view)
        projected.element_id, projected.name, projected.lane = view.element_id, view.name, view.lane
        projected.properties, projected.form_schema = props, view.form_schema
        projected.org_unit = assignment.org_unit or projected.org_unit
        projected.department = assignment.department or projected.department
        projected.context = assignment.context or projected.context
        projected.due_at = assignment.due_at or view.due_at or projected.due_at
    session.flush()


# ----- reverse ------------------------------------------------------------------------------
def batch_events(session: Session, batch: str) -> list[EngineEvent]:
    events = [e for e in session.scalars(select(EngineEvent).where(EngineEvent.kind == "migrated")
                                         .order_by(EngineEvent.id))
              if (e.data or {}).get("batch") == batch]
    if not events:
        raise NotFound(f"no migration batch {batch!r}: pick one from the list of migrations")
    return events


def reverse(session: Session, runtime: Runtime, batch: str, actor: str | None = None) -> ReverseResult:
    """Put the instances a batch moved back on their old version."""
    events = batch_events(session, batch)
    reversed_ids = _reversed_instances(session, batch)
    restored: list[int] = []
    refused: dict[int, str] = {}
    reverse_batch = uuid.uuid4().hex[:12]
    for event in events:
        if event.instance_id in reversed_ids or (event.data or {}).get("reverse_of"):
            continue
        reason = _reverse_one(session, runtime, event, reverse_batch, actor)
        if reason:
            refused[event.instance_id] = reason
        else:
            restored.append(event.instance_id)
    return ReverseResult(batch, restored, refused)


def _reversed_instances(session, batch) -> set[int]:
    return {e.instance_id for e in session.scalars(select(EngineEvent).where(EngineEvent.kind == "migrated"))
            if (e.data or {}).get("reverse_of") == batch}


def _reverse_one(session, runtime, event, reverse_batch, actor) -> str | None:
    data = event.data
    process_id = data["process_id"]
    source = get_version(session, process_id, data["to_version"])
    target = get_version(session, process_id, data["from_version"])
    row = runtime.instance(session, event.instance_id)
    if row.process_version_id != source.id:
        return f"the instance is no longer on version {source.version}"
    if row.state_token == data.get("token"):
        _restore(session, runtime, row, source, target, data, reverse_batch, actor)
        return None
    check = _check_row(session, runtime, row, source, target, *runtime._specs(session, target.id))
    if not check.movable:
        return "; ".join(check.reasons)
    _move(session, runtime, row.id, source, target, reverse_batch, actor, reverse_of=data["batch"])
    return None


def _restore(session, runtime, row, source, target, data, reverse_batch, actor) -> None:
    """The instance did not change since it moved: give it back its exact old state."""
    row, current = runtime._load(session, row.id)
    before = runtime.ready_ids(current)
    spec, subs = runtime._specs(session, target.id)
    workflow = load_state(base64.b64decode(data["previous_state"]), spec, subs)
    workflow.script_engine = runtime.script_engine
    row.process_version_id = target.id
    row.serializer_version = SERIALIZER_VERSION
    event = StepEvent("migrated", data={"batch": reverse_batch, "process_id": source.process_id,
                                        "from_version": source.version, "to_version": target.version,
                                        "reverse_of": data["batch"], "restored": True}, actor=actor)
    runtime._save(session, row, workflow, [event], None, actor, before)
    _refresh_projection(session, runtime, row, workflow, source.process_id)


# ----- listing ------------------------------------------------------------------------------
def batches(session: Session, process_id: str | None = None) -> list[BatchSummary]:
    """Every migration batch, newest first, with the instances it moved and those since reversed."""
    grouped: dict[str, list[EngineEvent]] = {}
    for event in session.scalars(select(EngineEvent).where(EngineEvent.kind == "migrated").order_by(EngineEvent.id)):
        data = event.data or {}
        if process_id is None or data.get("process_id") == process_id:
            grouped.setdefault(data.get("batch"), []).append(event)
    reversed_by: dict[str, set[int]] = {}
    for events in grouped.values():
        for event in events:
            if event.data.get("reverse_of"):
                reversed_by.setdefault(event.data["reverse_of"], set()).add(event.instance_id)
    out = []
    for batch, events in grouped.items():
        first = events[0].data
        out.append(BatchSummary(batch, first["process_id"], first["from_version"], first["to_version"],
                                events[0].at, events[0].actor, tuple(e.instance_id for e in events),
                                tuple(sorted(reversed_by.get(batch, ()))), first.get("reverse_of")))
    return sorted(out, key=lambda b: b.at, reverse=True)


def batch_info(session: Session, batch: str) -> BatchSummary:
    for summary in batches(session):
        if summary.batch == batch:
            return summary
    raise NotFound(f"no migration batch {batch!r}: pick one from the list of migrations")
