"""Parsing bundles of BPMN/DMN files into specs, and storing workflow state.

A spec is parsed once per deployed version, serialized into the version row, and rebuilt from
that JSON into an in-process cache. Instances are stored without their spec, in the compact format
of ``snapshot``; states written earlier in SpiffWorkflow's own (slim) format still load.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import OrderedDict
from types import ModuleType
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from ..errors import Problem
from ..instances import snapshot

try:  # the validator loads the XSDs once (~140 ms)
    from SpiffWorkflow.spiff.parser import VALIDATOR
except ImportError:  # pragma: no cover
    VALIDATOR = None


class SlimWorkflowConverter(BpmnWorkflowConverter):
    """Writes a workflow without its spec; restores it onto a spec the caller hands in."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SlimWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()
SERIALIZER_VERSION = f"{SERIALIZER.VERSION}-{snapshot.FORMAT}"


def new_parser() -> SpiffBpmnParser:
    return SpiffBpmnParser(validator=VALIDATOR)


def problem_from(exc: Exception, default_file: str | None = None) -> Problem:
    """Turn a SpiffWorkflow parse/validation exception into a located Problem."""
    if isinstance(exc, SpiffWorkflowException):
        element = getattr(exc, "id", None) or getattr(exc, "task_id", None)
        return Problem(getattr(exc, "file_name", None) or default_file, element,
                       getattr(exc, "line_number", None) or None, str(getattr(exc, "error", None) or exc).strip())
    return Problem(default_file, None, None, f"{exc.__class__.__name__}: {exc}")


def serialize_specs(spec, subprocess_specs: dict) -> str:
    registry = SERIALIZER.registry
    return json.dumps({
        "spec": registry.convert(spec),
        "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()},
    })


def restore_specs(spec_json: str):
    registry = SERIALIZER.registry
    dct = json.loads(spec_json)
    spec = registry.restore(dct["spec"])
    subs = {name: registry.restore(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subs


class SpecCache:
    """Rebuilt specs by process version id; specs are read-only and shared across instances."""

    def __init__(self, size: int = 64):
        self._items: OrderedDict[int, tuple] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, version_id: int, load_json) -> tuple:
        with self._lock:
            if version_id in self._items:
                self._items.move_to_end(version_id)
                return self._items[version_id]
        specs = restore_specs(load_json())
        with self._lock:
            self._items[version_id] = specs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return specs

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def dump_state(workflow) -> bytes:
    """The workflow's state as gzip JSON in gridlink's compact format (see ``snapshot``).

    Task data is plain JSON by the time it is saved (the sandbox and the runtime refuse anything
    else), so orjson writes it; what only SpiffWorkflow itself keeps (timer datetimes, event
    objects...) goes through its registry, as its own encoder does. Anything orjson still cannot
    write falls back to the standard encoder.
    """
    dct = snapshot.workflow_to_dict(workflow, SERIALIZER.registry)
    try:
        text = orjson.dumps(dct, default=_encode_other, option=_ORJSON_OPTIONS)
    except TypeError:  # e.g. an integer beyond 64 bits: orjson refuses it (and would read it back as a float)
        dct["format"] = snapshot.FORMAT_STANDARD_JSON
        text = json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":")).encode("utf-8")
    return gzip.compress(text, compresslevel=1)


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_ORJSON_WRITTEN = orjson.dumps({"format": snapshot.FORMAT})[:-1] + b","  # how every state orjson wrote begins


def _encode_other(obj):
    """What SpiffWorkflow's JSON encoder does with a value JSON has no type for."""
    registry = SERIALIZER.registry
    typename = registry.typenames.get(type(obj))
    if typename is not None:
        return registry.convert_to_dict[typename](obj)
    if callable(obj) or isinstance(obj, ModuleType):
        return None
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in workflow state")


def load_state(blob: bytes, spec, subprocess_specs) -> BpmnWorkflow:
    """Restore a state written by ``dump_state``, or by the earlier SpiffWorkflow-format serializer.

    orjson reads only what orjson wrote; anything else goes through the standard parser, which keeps
    integers of any size exact (orjson turns those beyond 64 bits into floats)."""
    text = gzip.decompress(blob)
    dct = orjson.loads(text) if text.startswith(_ORJSON_WRITTEN) else json.loads(text)
    if snapshot.is_compact(dct):
        return snapshot.workflow_from_dict(dct, spec, subprocess_specs, SERIALIZER.registry)
    return SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
