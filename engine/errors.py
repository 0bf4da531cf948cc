"""The engine's exception family. Messages name the value at fault and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One deploy-time problem, located in a file, an element and (when known) a line."""

    file: str | None
    element_id: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None) or "<bundle>"
        element = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{element}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "element_id": self.element_id, "line": self.line, "message": self.message}


class Line(str):
    """A readable English line (of a migration preview, a deploy problem) that also carries a key
    and parameters (element ids, names, versions, aspects as codes) an interface may word in its
    own language."""

    key: str
    params: dict

    def __new__(cls, text: str, key: str, **params):
        line = super().__new__(cls, text)
        line.key, line.params = key, params
        return line


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, details: list | None = None, *, reason: str | None = None,
                 params: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        # a key and values a user interface may word in its own language (the message is English)
        self.reason = reason
        self.params = dict(params or {})


class DeployError(EngineError):
    code = "invalid_definition"

    def __init__(self, problems: list[Problem]):
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the definition:\n{lines}", [p.as_dict() for p in problems])
        self.problems = problems


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """Someone else changed the instance or completed the task first."""

    code = "conflict"


class InvalidTaskData(EngineError):
    """Completion data that fails the task's JSON Schema; details are per field."""

    code = "invalid_task_data"


class NothingWaiting(EngineError):
    code = "nothing_waiting"


class InstanceFailed(EngineError):
    """A script or expression failed: the instance is now in `error` (or the step was refused)."""

    code = "instance_error"

    def __init__(self, message: str, element_id: str | None = None, line: int | None = None):
        super().__init__(message, [{"element_id": element_id, "line": line}])
        self.element_id = element_id
        self.line = line


class Busy(Exception):  # noqa: N818 - named as the answer the client gets
    """The database's writers' queue did not free up within the bounded wait: try again shortly.

    Not an ``EngineError`` on purpose: the domain's translation of engine errors lets it through,
    and the web layer answers it with 503 and ``Retry-After``."""

    code = "busy"

    def __init__(self, waited: float):
        self.message = f"the database is busy (no write turn within {waited:g} s); nothing was changed, try again"
        super().__init__(self.message)
        self.waited = waited
