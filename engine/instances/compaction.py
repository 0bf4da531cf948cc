"""Keep long-lived instances small: drop finished history from the task tree before each save.

SpiffWorkflow never prunes: every round of a rework or dispatch loop deepens the tree, the task
iterator silently stops at depth 1000 and state grows without bound (ENGINE_NOTES). After each
step gridlink keeps only what can still matter: the subtree under the nearest finished common
ancestor of all unfinished tasks, and the subprocesses of unfinished tasks. History lives in the
audit log and the instance's visited-element list instead.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.util.task import TaskState

# Below this many tasks pruning costs more than it saves: a young case's whole tree is small.
MIN_TASKS = 80


def compact(workflow) -> None:
    """Prune finished history in place; a completed or still small workflow is left as it is."""
    if len(workflow.tasks) + _subprocess_tasks(workflow) < MIN_TASKS or workflow.is_completed():
        return
    _drop_finished_subprocesses(workflow)
    _trim_trunks(workflow)


def _subprocess_tasks(workflow) -> int:
    return sum(len(sp.tasks) for sp in workflow.subprocesses.values())


def _drop_finished_subprocesses(workflow) -> None:
    for task_id in list(workflow.subprocesses):
        if task_id not in workflow.subprocesses:
            continue  # removed with its parent subprocess
        task = workflow.get_task_from_id(task_id)
        if task is None or task.has_state(TaskState.FINISHED_MASK):
            _delete_subprocess(workflow, task_id)


def _delete_subprocess(workflow, task_id) -> None:
    subprocess = workflow.subprocesses.pop(task_id)
    for child_id in [i for i, sp in workflow.subprocesses.items() if i in subprocess.tasks]:
        _delete_subprocess(workflow, child_id)


def _is_stale_end_join(task) -> bool:
    # A branch that ended early (e.g. after a reminder) leaves the process end-join WAITING for the
    # others. It carries nothing: the last branch to end creates its own end-join and fires.
    return isinstance(task.task_spec, _EndJoin) and task.state == TaskState.WAITING


def _trim_trunks(workflow) -> None:
    root = workflow.task_tree
    live = [t for t in workflow.tasks.values()
            if not t.has_state(TaskState.FINISHED_MASK) and not _is_stale_end_join(t)]
    by_branch: dict = {}
    for task in live:
        branch = _branch_of(task, root)
        if branch is not None:
            by_branch.setdefault(branch.id, []).append(task)
    new_children = []
    for branch_id in root._children:
        tasks = by_branch.get(branch_id)
        if tasks:
            new_children.append(_cut_point(tasks))
    if not new_children:
        return
    root._children = [t.id for t in new_children]
    for task in new_children:
        task._parent = root.id
    _forget_unreachable(workflow, root)


def _branch_of(task, root):
    """The child of the root that ``task`` descends from."""
    while task is not None and task._parent != root.id:
        task = task.parent
    return task


def _cut_point(tasks):
    """The nearest finished common ancestor of ``tasks`` (or the one above an unfinished one)."""
    first = tasks[0]
    path = []
    node = first
    while node is not None:
        path.append(node)
        node = node.parent
    index = {t.id: i for i, t in enumerate(path)}
    highest = 0
    for task in tasks[1:]:
        node = task
        while node.id not in index:
            node = node.parent
        highest = max(highest, index[node.id])
    lca = path[highest]
    if not lca.has_state(TaskState.FINISHED_MASK) and lca.parent is not None and lca.parent.parent is not None:
        return lca.parent
    return lca


def _forget_unreachable(workflow, root) -> None:
    keep = set()
    stack = [root]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(workflow.tasks[c] for c in task._children if c in workflow.tasks)
    for task_id in [i for i in workflow.tasks if i not in keep]:
        workflow.event_manager.remove_task(workflow.tasks[task_id])
        del workflow.tasks[task_id]
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
