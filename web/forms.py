"""Task forms from their JSON Schema: fields to render, request data to parse, errors per field.

A task's form is the JSON Schema deployed beside its BPMN. ``build_form`` turns it into a list
of ``Field`` objects the ``macros/form.html`` macros render (with the values typed so far and
the errors beside each field); ``parse_form`` turns the submitted request back into the data
the use case takes; ``check_form`` validates it against the same schema, so a mistake is shown
beside its field before anything is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator, FormatChecker
from werkzeug.datastructures import MultiDict

from workflows.clock import LOCAL_TZ

from .i18n import label

LONG_TEXT = {"result", "reason", "instructions", "minutes", "comment", "action", "description", "outcome"}

FIELD_LABELS = {
    "decision": _l("Decision"), "result": _l("What was done"), "photos": _l("Photos"),
    "reason": _l("Reason"), "departments": _l("Departments"), "instructions": _l("Instructions to the departments"),
    "scheduled_at": _l("Meeting time"), "place": _l("Place"), "topic": _l("Topic"), "urgency": _l("Urgency"),
    "org_unit": _l("Unit below to assign to"), "comment": _l("Comment"), "duplicate_of": _l("Duplicate of case number"),
    "delegate": _l("Who attends (name)"), "minutes": _l("Minutes"), "lead_department": _l("Lead department"),
    "actions": _l("Actions"), "department": _l("Department"), "action": _l("Action"), "due_at": _l("Due by"),
    "phase": _l("Phase"),
}
FIELD_HINTS = {
    "photos": _l("JPEG, PNG, GIF or WebP, up to 8 MB each."),
    "duplicate_of": _l("Only when rejecting a duplicate report, e.g. GL20261121-0001."),
    "scheduled_at": _l("China Standard Time."),
    "due_at": _l("China Standard Time."),
}
ENUM_GROUPS = {"decision": "decision", "urgency": "urgency", "phase": "phase"}
DECISION_ONLY = {"photos": ("resolve",), "duplicate_of": ("reject",)}
"""Fields shown only for some decisions even though the schema does not require them there."""
ALWAYS_SHOWN = {"comment"}
"""Fields shown for every decision although only some decisions require them."""


@dataclass
class Field:
    name: str
    label: str
    widget: str  # radio, select, text, textarea, datetime, checkboxes, photos, number, checkbox, rows
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    value: object = None
    error: str | None = None
    hint: str | None = None
    decisions: tuple[str, ...] | None = None  # shown only for these decisions
    columns: list[Field] = field(default_factory=list)  # for "rows": one Field per item property
    rows: list[dict] = field(default_factory=list)  # for "rows": values of each row
    row_errors: dict = field(default_factory=dict)  # for "rows": {(index, name): message}

    @property
    def decision_attr(self) -> str | None:
        return " ".join(self.decisions) if self.decisions else None


@dataclass
class Form:
    fields: list[Field]
    has_decisions: bool
    errors: list[str] = field(default_factory=list)  # errors that belong to no field

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


# --- building -------------------------------------------------------------------------------

def load_schema(form) -> dict:
    if not form:
        return {"type": "object", "properties": {}}
    return json.loads(form) if isinstance(form, str) else form


def decision_requirements(schema: dict) -> dict[str, set[str]]:
    """field -> the decisions whose ``if/then`` requires it."""
    needs: dict[str, set[str]] = {}
    for rule in schema.get("allOf", []):
        const = rule.get("if", {}).get("properties", {}).get("decision", {}).get("const")
        for name in rule.get("then", {}).get("required", []):
            if const is not None:
                needs.setdefault(name, set()).add(const)
    return needs


def build_form(schema, options: dict | None = None, values: dict | None = None,
               errors: dict | None = None) -> Form:
    """The fields of ``schema`` with choices from ``options`` (departments, units, ...), the values
    typed so far and the error of each field."""
    schema = load_schema(schema)
    options, values, errors = options or {}, values or {}, errors or {}
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    needs = decision_requirements(schema)
    decisions = tuple(properties.get("decision", {}).get("enum", ()))
    fields = []
    for name, spec in properties.items():
        item = _field(name, spec, name in required, options, values, errors)
        if decisions and name != "decision":
            if name in ALWAYS_SHOWN:
                if name in needs:

                    item.hint = _("Required for: %(decisions)s.",
                                  decisions=", ".join(label("decision", d) for d in sorted(needs[name])))
            elif name in needs:
                item.decisions = tuple(d for d in decisions if d in needs[name])
                item.required = True
            elif name in DECISION_ONLY and DECISION_ONLY[name]:
                item.decisions = tuple(d for d in DECISION_ONLY[name] if d in decisions) or None
        fields.append(item)
    leftovers = [msg for key, msg in errors.items() if key not in properties and not _row_key(key, properties)]
    return Form(fields=fields, has_decisions=bool(decisions), errors=leftovers)


def _row_key(key: str, properties: dict) -> bool:
    return key.split(".")[0] in properties


def _label(name: str, spec: dict) -> str:
    return str(FIELD_LABELS[name]) if name in FIELD_LABELS else spec.get("title") or name


def _field(name: str, spec: dict, required: bool, options: dict, values: dict, errors: dict) -> Field:
    item = Field(name=name, label=_label(name, spec), widget="text", required=required, value=values.get(name),
                 error=errors.get(name), hint=str(FIELD_HINTS[name]) if name in FIELD_HINTS else None)
    kind = spec.get("type")
    if "enum" in spec:
        group = ENUM_GROUPS.get(name, name)

        item.options = [(v, label(group, v)) for v in spec["enum"]]
        item.widget = "radio" if name == "decision" or len(spec["enum"]) <= 3 else "select"
    elif name in options:
        item.options = list(options[name])
        item.widget = "checkboxes" if kind == "array" else "select"
    elif name == "photos":
        item.widget = "photos"
    elif kind == "array" and spec.get("items", {}).get("type") == "object":
        item.widget = "rows"
        sub = spec["items"]
        sub_required = set(sub.get("required", []))
        item.columns = [_field(key, s, key in sub_required, options, {}, {}) for key, s in
                        sub.get("properties", {}).items()]
        item.rows = list(values.get(name) or [])
        item.row_errors = {key: msg for key, msg in errors.items() if key.startswith(f"{name}.")}
    elif spec.get("format") == "date-time":
        item.widget = "datetime"
    elif kind in ("integer", "number"):
        item.widget = "number"
    elif kind == "boolean":
        item.widget = "checkbox"
    elif name in LONG_TEXT:
        item.widget = "textarea"
    return item


# --- parsing --------------------------------------------------------------------------------

def to_iso(value: str) -> str:
    """``2026-11-21T09:00`` typed in China Standard Time -> ``2026-11-21T09:00:00+08:00`` (as typed when
    it is not a date and time, so validation names it)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.isoformat(timespec="seconds")


def from_iso(value) -> str:
    """An ISO date-time (or datetime) as the ``datetime-local`` input shows it, in China Standard Time."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is not None:
        try:
            value = value.astimezone(LOCAL_TZ)
        except OverflowError:  # a date at the calendar's edge: show it as it was given
            return value.isoformat()
    return value.strftime("%Y-%m-%dT%H:%M")


def parse_form(schema, form: MultiDict) -> tuple[dict, dict]:
    """(data for the use case, values to show again). Fields of decisions other than the chosen one
    are dropped; empty fields are left out so that "required" names them."""
    schema = load_schema(schema)
    properties = schema.get("properties", {})
    needs = decision_requirements(schema)
    decision = (form.get("decision") or "").strip()
    data: dict = {}
    shown: dict = {}
    for name, spec in properties.items():
        if name == "photos":
            continue
        if decision and not _applies(name, needs, decision, "decision" in properties):
            continue
        value, raw = _parse_value(name, spec, form)
        shown[name] = raw
        if value is not None:
            data[name] = value
    return data, shown


def _applies(name: str, needs: dict, decision: str, has_decision: bool) -> bool:
    if not has_decision or name == "decision" or name in ALWAYS_SHOWN:
        return True
    if name in needs:
        return decision in needs[name]
    only = DECISION_ONLY.get(name)
    return only is None or decision in only


def _parse_value(name: str, spec: dict, form: MultiDict):
    kind = spec.get("type")
    if kind == "array" and spec.get("items", {}).get("type") == "object":
        rows = _parse_rows(name, spec["items"], form)
        return (rows or None), rows
    if kind == "array":
        chosen = [v.strip() for v in form.getlist(name) if v.strip()]
        return (chosen or None), chosen
    raw = (form.get(name) or "").strip()
    if not raw:
        return None, raw
    if spec.get("format") == "date-time":
        return to_iso(raw), raw
    if kind == "integer":
        try:
            return int(raw), raw
        except ValueError:
            return raw, raw
    if kind == "number":
        try:
            return float(raw), raw
        except ValueError:
            return raw, raw
    if kind == "boolean":
        return raw in ("1", "on", "true", "yes"), raw
    return raw, raw


def _parse_rows(name: str, spec: dict, form: MultiDict) -> list[dict]:
    """Rows named ``<name>-<index>-<key>``; rows left entirely empty are skipped."""
    indexes = sorted({int(key.split("-")[1]) for key in form if key.startswith(f"{name}-")
                      and key.count("-") >= 2 and key.split("-")[1].isdigit()})
    rows = []
    for index in indexes[:50]:
        row = {}
        for key, sub in spec.get("properties", {}).items():
            raw = (form.get(f"{name}-{index}-{key}") or "").strip()
            if raw:
                row[key] = to_iso(raw) if sub.get("format") == "date-time" else raw
        if row:
            rows.append(row)
    return rows


# --- checking -------------------------------------------------------------------------------

_FORMATS = FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value) -> bool:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("no time zone")
    return True


def check_form(schema, data: dict) -> dict[str, str]:
    """field path -> a message in the user's language, for every way ``data`` breaks ``schema``."""
    schema = load_schema(schema)
    errors: dict[str, str] = {}
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    for error in validator.iter_errors(data):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            for missing in error.validator_value:
                if missing not in (error.instance or {}):
                    key = f"{path}.{missing}" if path else missing
                    errors.setdefault(key, _("Please fill this in."))
            continue
        either = _required_one_of(error)
        if either:  # e.g. an action needs a department, a unit or a party: mark the first column
            errors.setdefault(f"{path}.{either[0]}" if path else either[0], _("Please fill this in."))
            continue
        errors.setdefault(path or "", _message(error))
    return errors


def _required_one_of(error) -> list[str]:
    """The field names of an ``anyOf`` whose branches each require one field, else []."""
    if error.validator != "anyOf":
        return []
    branches = error.validator_value
    if not all(set(b) == {"required"} and len(b["required"]) == 1 for b in branches):
        return []
    return [b["required"][0] for b in branches]


def _message(error) -> str:
    if error.validator in ("format", "pattern"):
        return _("Give a date and time, e.g. 2026-11-21 09:00.")
    if error.validator == "enum":
        return _("Choose one of the options.")
    if error.validator in ("minItems",):
        return _("Choose at least one.")
    if error.validator in ("minLength",):
        return _("Please fill this in.")
    if error.validator == "uniqueItems":
        return _("Each choice may appear only once.")
    if error.validator == "type":
        return _("This value has the wrong type.")
    return error.message


def domain_error_field(error) -> str:
    """The form field a domain error names (``actions.0.due_at`` stays as is), or ''."""
    return getattr(error, "field", None) or ""


def init_app(app) -> None:
    """The ``datetime_local`` template filter (an ISO time as a ``datetime-local`` input shows it)."""
    app.jinja_env.filters["datetime_local"] = from_iso
