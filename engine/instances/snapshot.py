"""gridlink's compact state format: a workflow's task trees as rows that refer to each other by index.

SpiffWorkflow's own (slim) format writes every task as a dictionary of eleven keys and every task id
up to four times, as itself, its parent, a child and the root: two thirds of a young case's JSON
are ids, and building it goes through several generic converter calls per task. Here each tree is
a list of ids and a list of rows, one row per task, in the tree's own order (parents before their
children, as SpiffWorkflow restores them)::

    [parent, children, last_state_change, state, task_spec, triggered, internal_data, data, deletions]

``parent`` and ``children`` are indexes into the ids (a child outside the tree keeps its id as a
string); ``data`` is the task's whole data for a tree root and otherwise, as in SpiffWorkflow, only
what differs from its parent's data, with ``deletions`` the keys it dropped (0 stands for "none",
null for "``data`` is whole").
Values JSON cannot hold (timer datetimes, ...) go through SpiffWorkflow's registry both ways, so a
restored workflow is the one SpiffWorkflow's own converter would restore (the engine tests check
this on every save of the case stories). The result is about a third of the size and is written in
about half the time.
"""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

FORMAT = "gridlink-2"
FORMAT_STANDARD_JSON = "gridlink-2/json"  # the same, written by the standard encoder (see specs.dump_state)


def workflow_to_dict(workflow: BpmnWorkflow, registry) -> dict:
    """The JSON-ready form of a top-level workflow (datetimes etc. still to be encoded by the registry)."""
    return {
        "format": FORMAT,
        "workflow": _tree_to_dict(workflow, registry.clean),
        "subprocesses": {str(key): _tree_to_dict(sub, registry.clean) for key, sub in workflow.subprocesses.items()},
        "bpmn_events": list(workflow.bpmn_events),
    }


def is_compact(dct: dict) -> bool:
    return dct.get("format") in (FORMAT, FORMAT_STANDARD_JSON)


def workflow_from_dict(dct: dict, spec, subprocess_specs: dict, registry) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    _tree_from_dict(workflow, dct["workflow"], registry)
    _subprocesses_from_dict(workflow, workflow, dct["subprocesses"], registry)
    workflow.bpmn_events = registry.restore(dct["bpmn_events"])
    return workflow


# ----- writing ----------------------------------------------------------------------------------
def _tree_to_dict(workflow, clean) -> dict:
    # Tasks are looked up by the integer value of their UUID: hashing an int is done in C, a
    # UUID's __hash__ is a Python call, and a young case's tree needs a few hundred lookups.
    tasks = workflow.tasks
    index = {task_id.int: i for i, task_id in enumerate(tasks)}
    rows: list = []
    datas: list = []  # the data of each row's task, for its children's deltas
    for task in tasks.values():
        rows.append(_task_row(task, index, datas, clean))
        datas.append(task.data)
    last = workflow.last_task
    return {
        "ids": _id_strings(workflow, index),
        "root": index[workflow.task_tree.id.int],
        "last_task": None if last is None else index.get(last.id.int, str(last.id)),
        "success": workflow.success,
        "completed": workflow.completed,
        "correlations": workflow.correlations,
        "data": clean(workflow.data),
        "tasks": rows,
    }


def _id_strings(workflow, index: dict) -> list[str]:
    """The tasks' ids as text. Formatting a UUID is a Python call too, and a task keeps its id, so the
    texts of the last save are kept on the (cached) workflow object and only new tasks are formatted."""
    known = getattr(workflow, "gridlink_id_texts", None) or {}
    texts = [known.get(key) or str(task_id) for key, task_id in zip(index, workflow.tasks, strict=True)]
    workflow.gridlink_id_texts = dict(zip(index, texts, strict=True))
    return texts


def _task_row(task, index: dict, datas: list, clean) -> list:
    parent = task._parent
    parent_no = index.get(parent.int) if parent is not None else None
    data = task.data
    if parent_no is None or parent_no >= len(datas):  # a root (or, defensively, a parent written later)
        changed, deleted = data, None
    else:
        before = datas[parent_no]
        if data == before:  # most tasks: a copy of the parent's data
            changed, deleted = {}, 0
        else:
            changed = {k: v for k, v in data.items() if k not in before or v != before[k]}
            deleted = [k for k in before if k not in data] or 0
    children = [n if (n := index.get(child.int)) is not None else str(child) for child in task._children]
    internal = task.internal_data
    return [parent_no, children, task.last_state_change, task._state, task.task_spec.name, task.triggered,
            clean(internal) if internal else internal, changed, deleted]


# ----- reading ----------------------------------------------------------------------------------
def _tree_from_dict(workflow, dct: dict, registry) -> None:
    ids = [UUID(text) for text in dct["ids"]]
    specs = workflow.spec.task_specs
    top = workflow.top_workflow
    for task_id, row in zip(ids, dct["tasks"], strict=True):
        parent_no, children, changed_at, state, spec_name, triggered, internal, data, deleted = row
        task_spec = specs.get(spec_name)
        task = Task(workflow, task_spec, state=state, id=task_id)
        task._parent = ids[parent_no] if parent_no is not None else None
        task._children = [ids[c] if isinstance(c, int) else UUID(c) for c in children]
        task.last_state_change = changed_at
        task.triggered = triggered
        task.internal_data = registry.restore(internal)
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            top.event_manager.add_task(task)
        task.data = _task_data(workflow, task, parent_no, ids, data, deleted, registry)
    workflow.task_tree = workflow.tasks[ids[dct["root"]]]
    last = dct["last_task"]
    workflow.last_task = workflow.tasks.get(ids[last] if isinstance(last, int) else UUID(last)) \
        if last is not None else None
    workflow.success = dct["success"]
    workflow.completed = dct["completed"]
    workflow.correlations = dct["correlations"]
    workflow.data = registry.restore(dct["data"])


def _task_data(workflow, task, parent_no, ids, data, deleted, registry) -> dict:
    if deleted is None:
        return registry.restore(data)
    merged = DeepMerge.merge({}, workflow.tasks[ids[parent_no]].data)
    merged.update(registry.restore(data))
    for key in deleted or ():
        merged.pop(key, None)
    return merged


def _subprocesses_from_dict(top: BpmnWorkflow, workflow, stored: dict, registry) -> None:
    """Restore the subprocesses started by tasks of ``workflow``, parents before children."""
    for task in list(workflow.tasks.values()):
        key = str(task.id)
        if isinstance(task.task_spec, SubWorkflowTask) and key in stored:
            spec = top.subprocess_specs.get(task.task_spec.spec)
            sub = BpmnSubWorkflow(spec, task.id, top, deserializing=True)
            _tree_from_dict(sub, stored[key], registry)
            top.subprocesses[task.id] = sub
            sub.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
            _subprocesses_from_dict(top, sub, stored, registry)
