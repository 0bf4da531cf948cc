"""`gridlink bench`, engine part: what gridlink adds on top of SpiffWorkflow, and how it scales.

Everything runs in this process against fresh SQLite databases (WAL) in a temporary folder:

* raw SpiffWorkflow in memory (same spec and sandboxed script engine as the runtime) against
  ``Runtime.start`` / ``Runtime.complete_task`` with their commit (persistence, projection, audit),
  measured round after round in turn so that a busy machine slows both alike;
* one timer sweep firing the same due instances in a small and in a large waiting population
  (two databases, swept alternately; the due instances are put back after every sweep);
* the inbox query on the human-task projection, and the bytes stored per waiting instance.

The populations are cloned from one instance started through the runtime: its gzip JSON state is
rewritten per clone (fresh task ids, timer due times shifted), so each clone is a consistent
instance with its own projection row, as if it had been started at another time.
"""

from __future__ import annotations

import gc
import gzip
import math
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy import event as sa_event

from engine.errors import Busy
from engine.instances.runtime import Runtime
from engine.isolation import children_cpu_ns
from engine.sandbox import SandboxEnvironment, SandboxScriptEngine
from engine.specs.definitions import active_version, deploy
from engine.specs.specs import restore_specs
from engine.storage.db import READ_OPTION, Base, make_engine, make_sessionmaker
from engine.storage.models import EngineEvent, HumanTask, ProcessInstance, ProcessVersion
from engine.sweeper import sweep

PROCESS_ID = "bench_case"
FORM_FILE = "bench_handle.schema.json"
BPMN_FILE = "bench_case.bpmn"

# Two lanes; a script task; a user task with a non-interrupting reminder and an interrupting
# escalation (durations from data); an exclusive gateway; a second user task in the other lane.
BENCH_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="bench_defs" targetNamespace="http://gridlink.bench">
  <bpmn:process id="bench_case" name="Benchmark case" isExecutable="true">
    <bpmn:laneSet id="bench_lanes">
      <bpmn:lane id="lane_grid" name="grid_worker">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>triage</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>handle</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>remind</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>reminded</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>escalate</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>escalated</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>closed</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_department" name="department">
        <bpmn:flowNodeRef>dept_work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="triage"/>
    <bpmn:scriptTask id="triage" name="Triage">
      <bpmn:script>priority = "high" if severity &gt;= 3 else "normal"
rounds = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_triage" sourceRef="triage" targetRef="handle"/>
    <bpmn:userTask id="handle" name="Handle the report">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="bench_handle.schema.json"/>
          <spiffworkflow:property name="task_kind" value="handle"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="remind" attachedToRef="handle" cancelActivity="false">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="timer_kind" value="reminder"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:timerEventDefinition><bpmn:timeDuration>limits["remind"]</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_remind" sourceRef="remind" targetRef="reminded"/>
    <bpmn:endEvent id="reminded"/>
    <bpmn:boundaryEvent id="escalate" attachedToRef="handle" cancelActivity="true">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="timer_kind" value="escalation"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:timerEventDefinition><bpmn:timeDuration>limits["escalate"]</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_escalate" sourceRef="escalate" targetRef="escalated"/>
    <bpmn:endEvent id="escalated">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="outcome" value="escalated"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f_handle" sourceRef="handle" targetRef="decide"/>
    <bpmn:exclusiveGateway id="decide" default="f_resolve"/>
    <bpmn:sequenceFlow id="f_dispatch" sourceRef="decide" targetRef="dept_work">
      <bpmn:conditionExpression>decision == "dispatch"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_resolve" sourceRef="decide" targetRef="closed"/>
    <bpmn:endEvent id="closed">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="outcome" value="closed"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:userTask id="dept_work" name="Department work">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="task_kind" value="dept_result"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f_work" sourceRef="dept_work" targetRef="done"/>
    <bpmn:endEvent id="done">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="outcome" value="dispatched"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

BENCH_FORM = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "decision": {"type": "string", "enum": ["dispatch", "resolve"]},
    "note": {"type": "string", "maxLength": 2000}
  },
  "required": ["decision"]
}
"""

# A waiting instance: reminder after a day, escalation after 30 days.
START_DATA = {
    "severity": 3,
    "limits": {"remind": "P1D", "escalate": "P30D"},
    "report": {"title": "Blocked drain on Lane 4", "grid": "G-017", "reporter": "resident",
               "location": {"lat": 31.3, "lon": 120.6}},
}
COMPLETE_DATA = {"decision": "dispatch", "note": "send the water department"}


@dataclass(frozen=True)
class Scenario:
    """What the overhead part measures: a deployed bundle, start data, and one task completion."""

    name: str
    files: dict
    process_id: str
    start_data: dict
    complete_data: dict
    first_task: str  # element id of the task completed
    next_task: str  # element id that must be the one ready task afterwards


MINIMAL = Scenario("minimal", {BPMN_FILE: BENCH_BPMN, FORM_FILE: BENCH_FORM}, PROCESS_ID, START_DATA,
                   COMPLETE_DATA, "handle", "dept_work")

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?\+00:00")
CHUNK = 2000


# ----- small utilities ----------------------------------------------------------------------
class _Progress:
    """A hand-written bar on stderr: ``\\r[#####.....] 45% cloning instances``."""

    def __init__(self, enabled: bool, width: int = 30):
        self.enabled = bool(enabled)
        self.width = width
        self._last: tuple | None = None

    def update(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        fraction = 1.0 if total <= 0 else min(1.0, done / total)
        percent = int(fraction * 100)
        if (percent, label) == self._last:
            return
        self._last = (percent, label)
        filled = int(fraction * self.width)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {label:<44}")
        if done >= total:
            sys.stderr.write("\n")
            self._last = None
        sys.stderr.flush()


def _stats(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {"median": round(statistics.median(ordered), 3), "p95": round(p95, 3), "n": len(ordered)}


def _ratio(a: dict, b: dict) -> float:
    return round(a["median"] / b["median"], 3)


def _interleaved(n: int, warmup: int, actions: dict[str, Callable[[int], object]], progress: _Progress,
                 label: str, prepare: Callable[[int], None] | None = None) -> dict[str, list[float]]:
    """Time each action once per round, round after round, so a busy machine slows them alike.

    ``prepare(i)`` runs untimed before round ``i``; the first ``warmup`` rounds are not kept.
    Wall-clock samples under each key, the CPU time of this process and its step children under ``<key>_cpu``.
    """
    samples: dict[str, list[float]] = {key: [] for key in actions}
    samples.update({f"{key}_cpu": [] for key in actions})
    gc.collect()
    for i in range(warmup + n):
        if prepare is not None:
            prepare(i)
        for key, action in actions.items():
            cpu = _cpu_ns()
            start = time.perf_counter_ns()
            action(i)
            elapsed = (time.perf_counter_ns() - start) / 1e6
            cpu_elapsed = (_cpu_ns() - cpu) / 1e6
            if i >= warmup:
                samples[key].append(elapsed)
                samples[f"{key}_cpu"].append(cpu_elapsed)
        if i >= warmup:
            progress.update(i - warmup + 1, n, label)
    return samples


def _cpu_ns() -> int:
    """CPU time of this process plus what its step children spent on its steps (engine/isolation.py)."""
    return time.process_time_ns() + children_cpu_ns()


def _environment() -> dict:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "spiffworkflow": version("SpiffWorkflow"),
        "sqlalchemy": version("SQLAlchemy"),
        "sqlite": sqlite3.sqlite_version,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _load_average() -> float | None:
    """The 1-minute load average (other work on the machine skews every figure), where known."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _fresh_database(path: Path | str):
    """A new empty database: a SQLite file at ``path``, or the PostgreSQL database at a URL, emptied."""
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    return engine, make_sessionmaker(engine)


def _deploy(sessions, scenario: Scenario = MINIMAL) -> int:
    with sessions() as session, session.begin():
        deploy(session, scenario.files, "bench")
        return active_version(session, scenario.process_id).id


def _start(runtime: Runtime, sessions, scenario: Scenario = MINIMAL) -> int:
    with sessions() as session, session.begin():
        return runtime.start(session, scenario.process_id, scenario.start_data).instance_id


def _handle_tasks(sessions, instance_ids: list[int], element_id: str = "handle") -> list[str]:
    """The open task ``element_id`` of each instance, in the order of ``instance_ids``."""
    with sessions() as session:
        rows = session.execute(select(HumanTask.instance_id, HumanTask.id).where(
            HumanTask.instance_id.in_(instance_ids), HumanTask.element_id == element_id)).all()
    by_instance = dict(rows)
    return [by_instance[i] for i in instance_ids]


# ----- raw SpiffWorkflow in memory against Runtime.start / complete_task with commit -----------
def _ready_user_task(workflow: BpmnWorkflow):
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    if len(tasks) != 1:
        raise RuntimeError(f"bench diagram: expected one ready user task, found {len(tasks)}")
    return tasks[0]


def _raw_start(spec, subs, script_engine, data: dict = START_DATA) -> BpmnWorkflow:
    """New workflow from the cached spec to its first user task (``None``: SpiffWorkflow's default engine)."""
    workflow = BpmnWorkflow(spec, subs, script_engine=script_engine)
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    return workflow


def _raw_complete(workflow: BpmnWorkflow, task, data: dict = COMPLETE_DATA) -> None:
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


class StatementCounter:
    """SQL statements and transactions seen by SQLAlchemy's events on an engine, while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = 0
        self.transactions = 0
        self.write_transactions = 0

    def _statement(self, *_args) -> None:
        self.statements += 1

    def _begin(self, conn) -> None:
        self.transactions += 1
        self.write_transactions += not conn.get_execution_options().get(READ_OPTION, False)

    def __enter__(self) -> StatementCounter:
        sa_event.listen(self.engine, "before_cursor_execute", self._statement)
        sa_event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *_exc) -> None:
        sa_event.remove(self.engine, "before_cursor_execute", self._statement)
        sa_event.remove(self.engine, "begin", self._begin)

    def figures(self) -> dict:
        return {"statements": self.statements, "transactions": self.transactions,
                "write_transactions": self.write_transactions}


def _counted_step(engine, sessions, scenario: Scenario) -> dict:
    """Statements and transactions of one start and of one completion (warm runtime, as measured)."""
    runtime = Runtime()
    _start(runtime, sessions, scenario)  # warm the spec cache
    with StatementCounter(engine) as started:
        instance = _start(runtime, sessions, scenario)
    task_id = _handle_tasks(sessions, [instance], scenario.first_task)[0]
    with StatementCounter(engine) as completed, sessions() as session, session.begin():
        runtime.complete_task(session, task_id, scenario.complete_data, actor="bench")
    return {"start": started.figures(), "complete_task": completed.figures()}


def _overhead_part(sessions, version_id: int, n: int, progress: _Progress, scenario: Scenario = MINIMAL) -> dict:
    with sessions() as session:
        spec, subs = restore_specs(session.get(ProcessVersion, version_id).spec_json)  # what the runtime runs
    sandboxed = SandboxScriptEngine(SandboxEnvironment())
    runtime = Runtime()
    warmup = 10

    check = _raw_start(spec, subs, sandboxed, scenario.start_data)
    _raw_complete(check, _ready_user_task(check), scenario.complete_data)
    if _ready_user_task(check).task_spec.bpmn_id != scenario.next_task:
        raise RuntimeError(f"bench diagram: completing the first task did not reach {scenario.next_task}")

    def gridlink_start(_):
        with sessions() as session, session.begin():
            runtime.start(session, scenario.process_id, scenario.start_data)

    starts = _interleaved(n, warmup, {
        "raw": lambda _: _raw_start(spec, subs, sandboxed, scenario.start_data),
        "default": lambda _: _raw_start(spec, subs, None, scenario.start_data),
        "gridlink": gridlink_start,
    }, progress, "start: raw SpiffWorkflow / gridlink")

    total = 2 * (n + warmup)
    ids = []
    for i in range(total):
        ids.append(_start(runtime, sessions, scenario))
        progress.update(i + 1, total, "starting instances to complete")
    tasks = _handle_tasks(sessions, ids, scenario.first_task)
    warm_tasks, cold_tasks = tasks[: n + warmup], tasks[n + warmup:]
    # The runtime keeps the workflows it saved in memory: completing a task of an instance this
    # process saved skips deserialization (warm). A runtime without that cache loads it (cold).
    cold = Runtime(cache_size=0)
    raw: dict = {}

    def prepare(_):
        workflow = _raw_start(spec, subs, sandboxed, scenario.start_data)
        raw["pair"] = (workflow, _ready_user_task(workflow))

    def completer(rt: Runtime, task_ids: list[str]):
        def complete(i):
            with sessions() as session, session.begin():
                result = rt.complete_task(session, task_ids[i], scenario.complete_data, actor="bench")
            if [e.element_id for e in result.of_kind("task_ready")] != [scenario.next_task]:
                raise RuntimeError(f"bench: completion did not open {scenario.next_task}")
        return complete

    completes = _interleaved(n, warmup, {
        "raw": lambda _: _raw_complete(*raw["pair"], scenario.complete_data),
        "gridlink": completer(runtime, warm_tasks),
        "cold": completer(cold, cold_tasks),
    }, progress, "complete task: raw SpiffWorkflow / gridlink", prepare=prepare)
    return {
        "raw_start": _stats(starts["raw"]), "raw_default": _stats(starts["default"]),
        "gridlink_start": _stats(starts["gridlink"]), "raw_complete": _stats(completes["raw"]),
        "gridlink_complete": _stats(completes["gridlink"]), "gridlink_complete_cold": _stats(completes["cold"]),
        # CPU time ignores preemption and I/O waits: steadier on a shared machine
        "cpu_ratio_start": _ratio(_stats(starts["gridlink_cpu"]), _stats(starts["raw_cpu"])),
        "cpu_ratio_complete": _ratio(_stats(completes["gridlink_cpu"]), _stats(completes["raw_cpu"])),
    }


# ----- a waiting population cloned from one real instance -------------------------------------
class _Cloner:
    """Writes copies of one waiting instance with fresh task ids and shifted timer due times.

    The template's gzip JSON state is cut once around every task id and timestamp in it; a clone
    joins the pieces back with its own ids and times, so its state, ``next_due`` and projection
    row agree exactly as if it had been started through the runtime at another moment.
    """

    def __init__(self, sessions, template_id: int, org_units: int, rng: random.Random):
        with sessions() as session:
            row = session.get(ProcessInstance, template_id)
            self.instance = {c.key: getattr(row, c.key) for c in ProcessInstance.__table__.columns}
            self.tasks = [dict(r._mapping) for r in session.execute(
                select(HumanTask.__table__).where(HumanTask.instance_id == template_id))]
            self.events = [dict(r._mapping) for r in session.execute(
                select(EngineEvent.__table__).where(EngineEvent.instance_id == template_id))]
            self.next_id = (session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
        if self.instance["next_due"] is None or not self.tasks:
            raise RuntimeError("bench: the template instance is not waiting at a timer-guarded task")
        text_ = gzip.decompress(self.instance["state"]).decode("utf-8")
        self.pieces = re.split(f"({UUID_RE.pattern}|{ISO_RE.pattern})", text_)
        self.uuids = sorted(set(UUID_RE.findall(text_)))
        self.times = {stamp: datetime.fromisoformat(stamp) for stamp in set(ISO_RE.findall(text_))}
        if not {t["id"] for t in self.tasks} <= set(self.uuids):
            raise RuntimeError("bench: the projected task ids are not in the template's state")
        self.org_units = [f"unit-{i:03d}" for i in range(org_units)]
        self.rng = rng
        self.sessions = sessions

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def state_for(self, shift: timedelta) -> tuple[bytes, dict[str, str]]:
        mapping = {u: self._uuid() for u in self.uuids}
        for stamp, value in self.times.items():
            mapping[stamp] = (value + shift).isoformat()
        pieces = self.pieces
        text_ = "".join(piece if i % 2 == 0 else mapping[piece] for i, piece in enumerate(pieces))
        return gzip.compress(text_.encode("utf-8"), compresslevel=1), mapping

    def clone(self, count: int, shift: Callable[[], timedelta], progress: _Progress, label: str) -> list[int]:
        """Insert ``count`` clones; ``shift()`` gives each one's offset from the template's times."""
        ids: list[int] = []
        while len(ids) < count:
            instances, tasks, events = [], [], []
            for _ in range(min(CHUNK, count - len(ids))):
                delta = shift()
                state, mapping = self.state_for(delta)
                new_id = self.next_id
                self.next_id += 1
                ids.append(new_id)
                key = f"BENCH-{new_id}"
                instances.append({**self.instance, "id": new_id, "state": state, "state_token": None,
                                  "business_key": key, "lock_version": 1,
                                  "next_due": self.instance["next_due"] + delta,
                                  "created_at": self.instance["created_at"] + delta,
                                  "updated_at": self.instance["updated_at"] + delta})
                unit = self.org_units[new_id % len(self.org_units)]
                for task in self.tasks:
                    tasks.append({**task, "id": mapping[task["id"]], "instance_id": new_id, "business_key": key,
                                  "org_unit": unit, "created_at": task["created_at"] + delta,
                                  "due_at": task["due_at"] + delta if task["due_at"] else None})
                for event in self.events:
                    events.append({k: v for k, v in event.items() if k != "id"}
                                  | {"instance_id": new_id, "at": event["at"] + delta,
                                     "task_id": mapping.get(event["task_id"], event["task_id"])})
            with self.sessions() as session, session.begin():
                session.execute(insert(ProcessInstance.__table__), instances)
                session.execute(insert(HumanTask.__table__), tasks)
                if events:
                    session.execute(insert(EngineEvent.__table__), events)
            progress.update(len(ids), count, label)
        return ids


def _snapshot(sessions, ids: list[int]) -> tuple[list[dict], int]:
    """What a sweep changes on these instances, to put it back between measured runs."""
    table = ProcessInstance.__table__
    with sessions() as session:
        rows = session.execute(select(table.c.id, table.c.state, table.c.next_due, table.c.status,
                                      table.c.visited, table.c.updated_at).where(table.c.id.in_(ids))).all()
        last_event = session.scalar(select(func.max(EngineEvent.id))) or 0
    return [dict(r._mapping) for r in rows], last_event


def _restore(sessions, snapshot: list[dict], last_event: int) -> None:
    table = ProcessInstance.__table__
    statement = (update(table).where(table.c.id == bindparam("b_id"))
                 .values(state=bindparam("b_state"), next_due=bindparam("b_next_due"),
                         status=bindparam("b_status"), visited=bindparam("b_visited"),
                         updated_at=bindparam("b_updated_at"), state_token=None, error_message=None,
                         error_element=None))
    params = [{f"b_{k}": v for k, v in row.items()} for row in snapshot]
    ids = [row["id"] for row in snapshot]
    if not ids:
        return
    with sessions() as session, session.begin():
        session.connection().execute(statement, params)
        session.execute(update(HumanTask).where(HumanTask.instance_id.in_(ids))
                        .values(reminded_at=None, overdue_at=None), execution_options={"synchronize_session": False})
        session.execute(delete(EngineEvent).where(EngineEvent.id > last_event))


class _Population:
    """A fresh database holding ``waiting`` instances waiting at ``handle``, ``due`` of them due now."""

    def __init__(self, path: Path, due: int, waiting: int, org_units: int, progress: _Progress):
        self.engine, self.sessions = _fresh_database(path)
        _deploy(self.sessions)
        self.runtime = Runtime()
        template = _start(self.runtime, self.sessions)
        with self.sessions() as session:
            self.state_bytes = len(session.get(ProcessInstance, template).state)
        self.task_row_bytes = _row_bytes(self.sessions, template)
        rng = random.Random(20261121)  # same seed: both populations get the same due times
        self.cloner = _Cloner(self.sessions, template, org_units, rng)
        with self.sessions() as session, session.begin():  # the template itself is not counted
            session.execute(delete(HumanTask).where(HumanTask.instance_id == template))
            session.execute(delete(EngineEvent).where(EngineEvent.instance_id == template))
            session.execute(delete(ProcessInstance).where(ProcessInstance.id == template))
        # due: the reminder (after 1 day) came due 1-60 minutes ago; the others were started
        # 0-20 days later than the template, so their reminders come due in 1-21 days
        self.due_ids = self.cloner.clone(due, lambda: -timedelta(days=1, minutes=rng.uniform(1, 60)), progress,
                                         f"cloning {due:,} due instances")
        self.cloner.clone(waiting - due, lambda: timedelta(seconds=rng.uniform(0, 20 * 86400)), progress,
                          f"cloning {waiting - due:,} waiting instances")
        self.snapshot = _snapshot(self.sessions, self.due_ids)
        sweep(self.runtime, self.sessions, batch_size=20, max_batches=1)  # warm-up, then put back
        _restore(self.sessions, *self.snapshot)

    def timed_sweep(self) -> tuple[float, float]:
        """One sweep over the due instances: (wall ms, CPU ms); then the instances are put back."""
        gc.collect()
        cpu = _cpu_ns()
        start = time.perf_counter_ns()
        report = sweep(self.runtime, self.sessions)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        cpu_elapsed = (_cpu_ns() - cpu) / 1e6
        expected = len(self.due_ids)
        if report.instances != expected or report.timers_fired != expected or report.failed:
            raise RuntimeError(f"bench: the sweep woke {report.instances} instances and fired {report.timers_fired} "
                               f"timers ({len(report.failed)} failed); expected {expected}")
        _restore(self.sessions, *self.snapshot)
        return elapsed, cpu_elapsed

    def count(self, query) -> int:
        with self.sessions() as session:
            return session.scalar(query)

    def close(self) -> None:
        self.engine.dispose()


def _db_bytes(sessions) -> int:
    with sessions() as session:
        pages = session.execute(text("PRAGMA page_count")).scalar_one()
        free = session.execute(text("PRAGMA freelist_count")).scalar_one()
        size = session.execute(text("PRAGMA page_size")).scalar_one()
    return (pages - free) * size


def _row_bytes(sessions, instance_id: int) -> int:
    """Stored size of an instance's projection rows: the bytes of every column value as SQLite holds it."""
    with sessions() as session:
        rows = session.execute(text("SELECT * FROM human_tasks WHERE instance_id = :i"), {"i": instance_id}).all()
    total = 0
    for row in rows:
        for value in row:
            if value is None:
                continue
            if isinstance(value, bytes):
                total += len(value)
            elif isinstance(value, int | float):
                total += 8
            else:
                total += len(str(value).encode("utf-8"))
    return total


def _scale_part(folder: Path, due: int, waiting_small: int, waiting_large: int, org_units: int, runs: int,
                n: int, progress: _Progress) -> dict:
    small = large = None
    try:
        small = _Population(folder / "small.db", due, waiting_small, org_units, progress)
        large = _Population(folder / "large.db", due, waiting_large, org_units, progress)
        sweeps: dict[str, list[float]] = {"small": [], "large": [], "small_cpu": [], "large_cpu": []}
        for i in range(runs):  # alternate, so a busy machine slows both alike
            for key, population in (("small", small), ("large", large)):
                wall, cpu = population.timed_sweep()
                sweeps[key].append(wall)
                sweeps[f"{key}_cpu"].append(cpu)
            progress.update(i + 1, runs, f"sweeps: {due:,} due of {waiting_small:,} / of {waiting_large:,} waiting")
        waiting = large.count(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.status.in_(("running", "waiting"))))
        open_tasks = large.count(select(func.count()).select_from(HumanTask))
        units = large.cloner.org_units

        fetched = []

        def inbox(i):
            unit = units[(i * 7919) % len(units)]
            with large.sessions() as session:
                rows = list(session.scalars(select(HumanTask).where(HumanTask.org_unit == unit)
                                            .order_by(HumanTask.due_at).limit(50)))
            fetched.append(len(rows))

        inbox_ms = _interleaved(n, 10, {"inbox": inbox}, progress, "inbox query")["inbox"]
        if min(fetched) < min(50, open_tasks // len(units)):
            raise RuntimeError("bench: an inbox query returned fewer tasks than its org unit holds")
        return {
            "small": _stats(sweeps["small"]), "large": _stats(sweeps["large"]), "inbox": _stats(inbox_ms),
            "cpu_ratio": _ratio(_stats(sweeps["large_cpu"]), _stats(sweeps["small_cpu"])),
            "waiting_large": waiting, "open_tasks": open_tasks,
            "state_bytes": large.state_bytes, "task_row_bytes": large.task_row_bytes,
            "db_bytes_per_instance": round(_db_bytes(large.sessions) / max(1, waiting), 3),
        }
    finally:
        for population in (small, large):
            if population is not None:
                population.close()


def _idle_sweep_part(folder: Path, sizes: tuple[int, ...], runs: int, org_units: int, progress: _Progress) -> dict:
    """One sweep with nothing due, with ``sizes`` instances waiting: ms per sweep (wall and CPU)."""
    figures = {}
    for size in sizes:
        population = _Population(folder / f"idle-{size}.db", 0, size, org_units, progress)
        try:
            walls, cpus = [], []
            for i in range(runs):
                wall, cpu = population.timed_sweep()
                walls.append(wall)
                cpus.append(cpu)
                progress.update(i + 1, runs, f"idle sweeps with {size:,} waiting")
            figures[str(size)] = {"wall_ms": _stats(walls), "cpu_ms": _stats(cpus)}
        finally:
            population.close()
    return figures


def _drain_worker(url: str, go, done) -> None:
    """A sweeping process: waits for ``go``, sweeps until nothing is due, reports (timers, end time)."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    runtime = Runtime()
    fired = 0
    go.wait()
    while True:
        try:
            # one batch (one transaction) per call, so a Busy loses no count of committed work
            report = sweep(runtime, sessions, batch_size=100, max_batches=1)
        except Busy:  # the other sweeper held the writers' queue past the bounded wait: sweep again
            continue
        fired += report.timers_fired
        if report.instances == 0 and not report.busy:
            break
    done.put((fired, time.monotonic()))
    engine.dispose()


def _drain_part(target: Path | str, due: int, org_units: int, processes: tuple[int, ...],
                progress: _Progress) -> dict:
    """``due`` timers due at once, fired by 1 or 2 sweeping processes: timers per second."""
    import multiprocessing

    population = _Population(target, due, due, org_units, progress)
    url = population.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    figures = {"due": due, "database": population.engine.dialect.name}
    try:
        for count in processes:
            go, done = context.Event(), context.Queue()
            workers = [context.Process(target=_drain_worker, args=(url, go, done)) for _ in range(count)]
            for worker in workers:
                worker.start()
            time.sleep(3)  # let every process import and connect before the clock starts
            began = time.monotonic()
            go.set()
            results = [done.get(timeout=600) for _ in workers]
            for worker in workers:
                worker.join()
            fired = sum(r[0] for r in results)
            seconds = max(r[1] for r in results) - began
            if fired != due:
                raise RuntimeError(f"bench: the drain fired {fired} timers, expected {due}")
            figures[f"{count}_process"] = {"timers_per_s": round(fired / seconds, 1), "seconds": round(seconds, 3)}
            progress.update(count, max(processes), f"timer drain with {count} process(es)")
            _restore(population.sessions, *population.snapshot)
    finally:
        population.close()
    return figures


# ----- entry point ----------------------------------------------------------------------------
def run_engine_bench(quick: bool = False, progress=True, *, repetitions: int | None = None,
                     due: int = 1000, waiting_small: int = 1000, waiting_large: int = 100_000,
                     org_units: int = 200, sweep_runs: int | None = None, scenario: Scenario | None = None,
                     idle_sizes: tuple[int, ...] = (200, 2000, 20_000), drain_due: int | None = None,
                     drain_processes: tuple[int, ...] = (1, 2), database_url: str | None = None) -> dict:
    """Run the engine benchmarks: ``{"engine": {...}}``, times in ms (median/p95), rounded to 3 places.

    ``idle_sizes``: an idle sweep (nothing due) timed with that many instances waiting. The timer
    drain fires ``drain_due`` timers due at once (default 10,000; 2,000 with ``quick``) with each
    count of sweeping processes in ``drain_processes``, on SQLite and also on ``database_url``
    (PostgreSQL; its database is emptied) when given.
    ``quick`` takes 30 repetitions instead of 200 and one sweep per population instead of three;
    the population sizes can be made smaller for tests (the key names keep the nominal sizes,
    ``sweep`` and ``inbox`` say what was really measured). ``scenario`` is the representative
    workload of the overhead figures (default: the small built-in diagram); when another one is
    given, the built-in diagram's figures are reported too, under ``minimal_diagram``.
    """
    if not 0 < due <= waiting_small <= waiting_large:
        raise ValueError("need 0 < due <= waiting_small <= waiting_large")
    began = time.perf_counter_ns()
    load_before = _load_average()
    n = repetitions or (30 if quick else 200)
    runs = sweep_runs or (1 if quick else 3)
    bar = _Progress(progress)
    with tempfile.TemporaryDirectory(prefix="gridlink-bench-") as tmp:
        scenario = scenario or MINIMAL
        overhead = _overhead_in_fresh_db(Path(tmp) / "bench.db", scenario, n, bar)
        minimal = None if scenario is MINIMAL else _overhead_in_fresh_db(Path(tmp) / "minimal.db", MINIMAL, n, bar)
        scale = _scale_part(Path(tmp), due, waiting_small, waiting_large, org_units, runs, n, bar)
        idle = _idle_sweep_part(Path(tmp), idle_sizes, 5 if quick else 20, org_units, bar)
        drain_count = drain_due or (2000 if quick else 10_000)
        drains = [_drain_part(Path(tmp) / "drain.db", drain_count, org_units, drain_processes, bar)]
        if database_url:
            drains.append(_drain_part(database_url, drain_count, org_units, drain_processes, bar))

    result = {
        "environment": _environment() | {"load_average_1m": [load_before, _load_average()]},
        "repetitions": n,
        "scenario": {"name": scenario.name, "process_id": scenario.process_id, "completes": scenario.first_task,
                     "then_ready": scenario.next_task},
        "raw_start_to_first_task_ms": overhead["raw_start"],
        "raw_default_engine_start_ms": overhead["raw_default"],
        "raw_complete_task_ms": overhead["raw_complete"],
        "gridlink_start_to_first_task_ms": overhead["gridlink_start"],
        "gridlink_complete_task_ms": overhead["gridlink_complete"],
        "gridlink_complete_task_cold_ms": overhead["gridlink_complete_cold"],
        "overhead_ratio_start": _ratio(overhead["gridlink_start"], overhead["raw_start"]),
        "overhead_ratio_complete": _ratio(overhead["gridlink_complete"], overhead["raw_complete"]),
        "overhead_ratio_complete_cold": _ratio(overhead["gridlink_complete_cold"], overhead["raw_complete"]),
        "overhead_ratio_start_cpu": overhead["cpu_ratio_start"],
        "overhead_ratio_complete_cpu": overhead["cpu_ratio_complete"],
        "sql_per_step": overhead["sql"],
        "sweep_1000_due_with_1000_waiting_ms": scale["small"],
        "sweep_1000_due_with_100000_waiting_ms": scale["large"],
        "sweep_ratio_100k_vs_1k": _ratio(scale["large"], scale["small"]),
        "sweep_ratio_100k_vs_1k_cpu": scale["cpu_ratio"],
        "sweep": {"due": due, "waiting_small": waiting_small, "waiting_large": scale["waiting_large"],
                  "runs": runs},
        "idle_sweep_ms_by_waiting": idle,
        "timer_drain": drains,
        "inbox_query_ms": scale["inbox"],
        "inbox": {"open_tasks": scale["open_tasks"], "org_units": org_units, "limit": 50},
        "state_bytes": scale["state_bytes"],
        "human_task_row_bytes": scale["task_row_bytes"],
        "stored_bytes_per_waiting_instance": scale["state_bytes"] + scale["task_row_bytes"],
        "db_file_bytes_per_waiting_instance": scale["db_bytes_per_instance"],
        "wall_time_s": round((time.perf_counter_ns() - began) / 1e9, 3),
    }
    if minimal is not None:
        result["minimal_diagram"] = _overhead_figures(minimal)
    return {"engine": result}


def _overhead_in_fresh_db(path: Path, scenario: Scenario, n: int, bar: _Progress) -> dict:
    engine, sessions = _fresh_database(path)
    try:
        figures = _overhead_part(sessions, _deploy(sessions, scenario), n, bar, scenario)
        return figures | {"sql": _counted_step(engine, sessions, scenario)}
    finally:
        engine.dispose()


def _overhead_figures(overhead: dict) -> dict:
    return {
        "raw_start_to_first_task_ms": overhead["raw_start"],
        "raw_complete_task_ms": overhead["raw_complete"],
        "gridlink_start_to_first_task_ms": overhead["gridlink_start"],
        "gridlink_complete_task_ms": overhead["gridlink_complete"],
        "overhead_ratio_start": _ratio(overhead["gridlink_start"], overhead["raw_start"]),
        "overhead_ratio_complete": _ratio(overhead["gridlink_complete"], overhead["raw_complete"]),
        "overhead_ratio_start_cpu": overhead["cpu_ratio_start"],
        "overhead_ratio_complete_cpu": overhead["cpu_ratio_complete"],
    }
