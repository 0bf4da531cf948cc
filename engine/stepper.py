"""The child's side of an isolated engine step (see engine/isolation.py).

A child keeps the specs it was sent (by version id) and the workflows it computed (by state token),
so the parent sends a version's spec once and an instance's state only when the child does not
hold it already. Before every evaluation the script engine writes the element's id into the page
shared with the parent, so a step that kills the child is reported with the element it was running.
"""

from __future__ import annotations

import mmap
import socket
from collections import OrderedDict
from datetime import datetime
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

from .instances.timers import next_due
from .isolation import NOTE_SIZE, serve_loop
from .sandbox import SandboxEnvironment, SandboxScriptEngine
from .specs.specs import dump_state, load_state, restore_specs


class OutOfMemory(BaseException):
    """Raised past SpiffWorkflow's ``except Exception``: the step ends, the child reports ``memory``."""


def _memory_in(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, MemoryError):
            return True
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "exception", None)
        seen += 1
    return False


class NeedState(Exception):
    """The parent thought this child held the instance's state: it sends it again."""


class NotingScriptEngine(SandboxScriptEngine):
    """The sandboxed engine, noting the element of every evaluation in the page shared with the parent."""

    def __init__(self, environment: SandboxEnvironment, note: mmap.mmap) -> None:
        super().__init__(environment)
        self.note = note

    def _mark(self, task) -> None:
        element = (getattr(task.task_spec, "bpmn_id", None) or "").encode()[: NOTE_SIZE - 1]
        self.note[: len(element) + 1] = element + b"\0"

    def evaluate(self, task, expression, external_context=None):
        self._mark(task)
        try:
            return super().evaluate(task, expression, external_context)
        except Exception as exc:
            if _memory_in(exc):
                raise OutOfMemory from None
            raise

    def execute(self, task, script, external_context=None):
        self._mark(task)
        try:
            return super().execute(task, script, external_context)
        except Exception as exc:
            if _memory_in(exc):
                raise OutOfMemory from None
            raise


class Stepper:
    """Runs steps in the child: the caches and the script engine live as long as the child."""

    def __init__(self, environment: SandboxEnvironment, note: mmap.mmap):
        self.engine = NotingScriptEngine(environment, note)
        self.specs: OrderedDict[int, tuple] = OrderedDict()
        self.workflows: OrderedDict[str, BpmnWorkflow] = OrderedDict()

    def __call__(self, message: dict, blob: bytes, note: mmap.mmap) -> tuple[dict, bytes]:
        from .errors import EngineError

        try:
            return self._step(message, blob)
        except NeedState:
            return {"need_state": True}, b""
        except OutOfMemory:
            return {"failed": "memory", "message": "it needed more memory than its limit"}, b""
        except EngineError as exc:
            return {"raise": type(exc).__name__, "message": exc.message}, b""

    def _spec(self, message: dict):
        version_id = message["version_id"]
        if "spec_json" in message:
            self.specs[version_id] = restore_specs(message["spec_json"])
            while len(self.specs) > 64:
                self.specs.popitem(last=False)
        return self.specs[version_id]

    def _workflow(self, message: dict, blob: bytes) -> BpmnWorkflow:
        spec, subs = self._spec(message)
        if message["op"] == "start":
            workflow = BpmnWorkflow(spec, subs, script_engine=self.engine)
            workflow.task_tree.data.update(message.get("data") or {})
            workflow.gridlink_projected = frozenset()
            return workflow
        cached = None if message.get("has_state") else self.workflows.pop(message.get("token") or "", None)
        if cached is not None:
            return cached
        if not message.get("has_state"):
            raise NeedState
        workflow = load_state(blob, spec, subs)
        workflow.script_engine = self.engine
        return workflow

    def _step(self, message: dict, blob: bytes) -> tuple[dict, bytes]:
        from .instances import runtime as rt

        workflow = self._workflow(message, blob)
        before = rt._projected_ids(workflow)
        events: list[rt.StepEvent] = []
        act = self._action(message, workflow, events)
        error = rt.advance(workflow, events, act)
        rt.compact(workflow)
        ready = {str(t.id): t for t in rt.ready_human_tasks(workflow)}
        state = dump_state(workflow)
        due = None if error else next_due(workflow)
        completed = not ready and workflow.is_completed()
        token = uuid4().hex
        workflow.gridlink_projected = frozenset(ready)
        size = int(message.get("cache_size", 0))
        if size:
            self.workflows[token] = workflow
            while len(self.workflows) > size:
                self.workflows.popitem(last=False)
        reply = {"token": token, "error": error, "before": sorted(before), "completed": completed,
                 "next_due": _iso(due), "events": [_event_out(e) for e in events],
                 "ready": [_ready_out(task_id, task) for task_id, task in ready.items()]}
        return reply, state

    def _action(self, message: dict, workflow: BpmnWorkflow, events: list):
        from .errors import Conflict, NothingWaiting
        from .instances import runtime as rt

        op = message["op"]
        if op == "start":
            return lambda: None
        if op == "timers":
            return workflow.refresh_timers
        if op == "complete":
            task = _ready_task(workflow, message["task_id"], Conflict)
            data = message.get("data") or {}
            events.append(rt.StepEvent("task_completed", task.task_spec.bpmn_id, message.get("task_name"),
                                       message["task_id"], message.get("task_lane"), rt._properties(task),
                                       dict(data), message.get("actor")))

            def complete():
                task.data.update(data)
                task.run()
            return complete
        if op in ("message", "signal"):
            kind = MessageEventDefinition if op == "message" else SignalEventDefinition
            name, payload = message["name"], message.get("payload") or {}

            def send():
                try:
                    workflow.send_event(BpmnEvent(kind(name), payload))
                except WorkflowException as exc:
                    raise NothingWaiting(f"instance {message.get('instance_id')} is not waiting for {name!r}: "
                                         "nothing was changed") from exc
            return send
        if op == "retry":
            failed = workflow.get_tasks(state=TaskState.ERROR)
            data = message.get("data") or {}

            def retry():
                for task in failed:
                    workflow.reset_from_task_id(task.id)
                    workflow.get_task_from_id(task.id).data.update(data)
            return retry
        raise ValueError(f"unknown step {op!r}")


def _ready_task(workflow: BpmnWorkflow, task_id: str, conflict):
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, TypeError, TaskNotFoundException):
        task = None
    if task is None or task.state != TaskState.READY:
        raise conflict(f"task {task_id} is no longer open: someone completed it or the case moved on")
    return task


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _event_out(event) -> dict:
    return {"kind": event.kind, "element_id": event.element_id, "name": event.name, "task_id": event.task_id,
            "lane": event.lane, "properties": event.properties, "data": event.data, "actor": event.actor}


def _ready_out(task_id: str, task) -> dict:
    from .instances import runtime as rt

    spec = task.task_spec
    return {"id": task_id, "element_id": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id,
            "lane": rt._lane(task), "properties": rt._properties(task), "data": dict(task.data),
            "deadline": _iso(rt._deadline(task))}


def serve(environment: SandboxEnvironment, sock: socket.socket, note: mmap.mmap) -> None:  # pragma: no cover
    """The child's main loop (forked by engine/isolation.py)."""
    serve_loop(sock, note, Stepper(environment, note))
