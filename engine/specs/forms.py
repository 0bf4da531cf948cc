"""Validate task completion data against the task's JSON Schema form; report errors per field.

Two validators of the same draft (2020-12) and the same ``date-time`` rule. For a form built only
from keywords both read alike (types, enums, required, lengths, counts, bounds, the combinators,
``date-time`` and patterns, which both match with the same engine), jsonschema-rs (compiled Rust,
a few microseconds) decides that data is valid, which it nearly always is. Everything else, and
all data it refuses, goes through jsonschema (Python, ~0.2 ms), which also words the per-field
errors. A unit test checks on generated data that the two agree on every shipped form.

Patterns never run on Python's backtracking ``re``: ``pattern``, ``patternProperties`` and the
``additionalProperties`` beside them are matched by Rust's ``regex`` crate (linear time, through
jsonschema-rs with ``RegexOptions``) in both validators, so ``^(a+)+$`` against a long ``aaa...!``
answers in microseconds. A pattern that engine cannot run (backreferences, lookaround) is refused
when the form is deployed (``pattern_problem``, from ``engine.validation``).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from ..errors import InvalidTaskData

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-11-21T09:00:00+08:00")
    return True


# ----- patterns in linear time ----------------------------------------------------------------
LINEAR = jsonschema_rs.RegexOptions()


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> jsonschema_rs.Draft202012Validator:
    """A matcher of one ECMA-262 pattern (search semantics, as JSON Schema means it) in linear time;
    ValueError when the linear-time engine cannot run it."""
    return jsonschema_rs.Draft202012Validator({"pattern": pattern}, pattern_options=LINEAR)


def matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches; a form deployed before patterns were checked may hold one that the
    linear-time engine refuses: the task then reports it instead of running a backtracking engine."""
    try:
        matcher = _pattern(pattern)
    except ValueError:
        raise InvalidTaskData(f"the form's pattern {pattern!r} cannot be checked: {pattern_problem(pattern)}; "
                              "an administrator must deploy the form again without it") from None
    return matcher.is_valid(text)


def pattern_problem(pattern) -> str | None:
    """Why ``pattern`` cannot be used in a form, or None."""
    if not isinstance(pattern, str):
        return "a pattern must be a string"
    try:
        _pattern(pattern)
    except ValueError:
        return ("it needs a backtracking regular expression engine (backreferences or lookaround), which "
                "a long input can keep busy for minutes; rewrite it without them")
    return None


def schema_patterns(node, where: str = "") -> list[tuple[str, str]]:
    """Every ``(JSON pointer, pattern)`` of a schema: ``pattern`` values and ``patternProperties`` keys."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "pattern" and not isinstance(value, dict):
                found.append((here, value))
            elif key == "patternProperties" and isinstance(value, dict):
                found += [(f"{here}/{name}", name) for name in value]
            if key not in ("enum", "const", "default", "examples"):
                found += schema_patterns(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += schema_patterns(item, f"{where}/{index}")
    return found


def _pattern_keyword(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not matches(pattern, instance):
        shown = instance if len(instance) <= 60 else instance[:57] + "..."
        yield ValidationError(f"{shown!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for name, value in instance.items():
            if matches(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [name for name in instance
              if name not in known and not any(matches(p, name) for p in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(f"{', '.join(repr(e) for e in sorted(extras))}: not a field of this form "
                              "(additional properties are not allowed)")


FormValidator = validators.extend(Draft202012Validator, {
    "pattern": _pattern_keyword, "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
})


@lru_cache(maxsize=256)
def compiled(schema_text: str) -> Draft202012Validator:
    return FormValidator(json.loads(schema_text), format_checker=FORMATS)


@lru_cache(maxsize=256)
def fast(schema_text: str) -> jsonschema_rs.Draft202012Validator | None:
    """The jsonschema-rs validator of a form both validators read alike, else None."""
    schema = json.loads(schema_text)
    if not _shared_meaning(schema):
        return None
    try:
        return jsonschema_rs.Draft202012Validator(schema, formats={"date-time": _datetime_ok},
                                                  validate_formats=True, pattern_options=LINEAR)
    except Exception:  # a schema it cannot compile is judged by jsonschema alone
        return None


_PLAIN = {"type", "enum", "const", "required", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength",
          "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minProperties", "maxProperties",
          "title", "description", "$schema", "$id", "$comment", "default", "examples", "deprecated",
          "readOnly", "writeOnly"}
_ONE_SCHEMA = {"items", "then", "else", "additionalProperties", "contains", "propertyNames"}
_SCHEMA_LISTS = {"allOf", "anyOf", "prefixItems"}
_INVERTING = {"not", "if"}  # a stricter subschema here makes the whole more lenient (oneOf too)
def _shared_meaning(node, positive: bool = True) -> bool:
    """Whether jsonschema-rs can only be as strict as jsonschema on this schema, or stricter where
    that cannot make the whole more lenient. Patterns mean the same in both: both match them with
    the same linear-time engine (``matches``)."""
    if isinstance(node, bool):
        return True
    if not isinstance(node, dict):
        return False
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            ok = all(_shared_meaning(v, positive) for v in value.values())
        elif key in _ONE_SCHEMA:
            ok = _shared_meaning(value, positive)
        elif key in _INVERTING:
            ok = _shared_meaning(value, positive=False)
        elif key in _SCHEMA_LISTS or key == "oneOf":
            ok = isinstance(value, list) and all(_shared_meaning(v, positive and key != "oneOf") for v in value)
        elif key == "pattern":
            ok = isinstance(value, str)
        elif key == "format":
            ok = value == "date-time"
        else:
            ok = key in _PLAIN
        if not ok:
            return False
    return True


def _datetime_ok(value) -> bool:
    try:
        return _is_datetime(value)
    except ValueError:
        return False


def fast_valid(schema_text: str, data) -> bool:
    """True when jsonschema-rs may and does find ``data`` valid; False means "ask jsonschema"."""
    validator = fast(schema_text)
    if validator is None:
        return False
    try:
        return validator.is_valid(data)
    except (ValueError, TypeError):  # a value JSON has no type for: let jsonschema judge it
        return False


def field_errors(schema_text: str, data: dict) -> list[dict]:
    """One ``{"field", "message"}`` per problem, the field as a dotted path ('' for the whole form)."""
    errors = []
    for error in sorted(compiled(schema_text).iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = [k for k in error.validator_value if k not in (error.instance or {})]
            for name in missing:
                field = f"{path}.{name}" if path else name
                errors.append({"field": field, "message": f"{field} is required"})
            continue
        errors.append({"field": path, "message": _message(path, error)})
    return errors


def _one_of_required(error) -> list[str]:
    """The field names of an ``anyOf`` whose branches each require one field, else []."""
    branches = error.validator_value if error.validator == "anyOf" else []
    if not branches or not all(set(b) == {"required"} and len(b["required"]) == 1 for b in branches):
        return []
    return [b["required"][0] for b in branches]


def _message(path: str, error) -> str:
    subject = path or "the form"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{subject}: {error.instance!r} is not allowed; use one of: {allowed}"
    if error.validator == "format":
        return f"{subject}: {error.message}"
    either = _one_of_required(error)
    if either:
        return f"{subject} needs one of: {', '.join(either)}"
    return f"{subject}: {error.message}"


def unknown_fields(schema_text: str, data: dict) -> list[dict]:
    """Top-level fields the form does not define: a client may not set other process data."""
    known = compiled(schema_text).schema.get("properties") or {}
    return [{"field": str(name), "message": f"{name} is not a field of this form; "
             f"send only: {', '.join(sorted(known)) or 'no fields'}"}
            for name in data if name not in known]


def validate(schema_text: str | None, data: dict, task_name: str) -> None:
    """Raise ``InvalidTaskData`` listing every invalid field."""
    if not isinstance(data, dict):
        raise InvalidTaskData(f"completion data for {task_name!r} must be an object of fields")
    if schema_text is None or fast_valid(schema_text, data):
        return
    errors = field_errors(schema_text, data)
    if errors:
        raise InvalidTaskData(f"{len(errors)} field(s) of {task_name!r} are invalid: "
                              + "; ".join(e["message"] for e in errors), errors)
