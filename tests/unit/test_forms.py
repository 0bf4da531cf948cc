"""The fast validator (jsonschema-rs) and jsonschema agree on every shipped form.

``forms.validate`` trusts jsonschema-rs when it calls data valid, so a value it lets through that
jsonschema would refuse is a hole. Generated completions mix each form's own field names, enum
values, well-formed and malformed dates, wrong types and unknown fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.specs import forms

FORMS = sorted((Path(__file__).resolve().parents[2] / "bpmn").glob("*.schema.json"))
DATES = st.sampled_from(["2026-11-21T09:00:00+08:00", "2026-11-21T09:00Z", "2026-11-21T09:00:00",
                         "2026-13-40T09:00:00+08:00", "2026-11-21T09:00:00+08:00\n", "tomorrow", ""])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, width=32),
                    st.text(max_size=4), DATES)


def _values(schema: dict):
    enums = sorted({v for v in _walk(schema, "enum") for v in v} | set(_walk(schema, "const")), key=repr)
    leaf = st.one_of(SCALARS, st.sampled_from(enums)) if enums else SCALARS
    return st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=3), inner, max_size=2)),
                        max_leaves=5)


def _walk(node, key: str):
    if isinstance(node, dict):
        if key in node:
            yield node[key]
        for value in node.values():
            yield from _walk(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, key)


def _fitting(prop: dict):
    """Values shaped like the field (its enum, type, date format), so that many completions are valid."""
    if "enum" in prop or "const" in prop:
        return st.sampled_from(prop.get("enum") or [prop.get("const")])
    kind = prop.get("type")
    if kind == "string":
        return DATES if prop.get("format") == "date-time" else st.text(min_size=1, max_size=5)
    if kind == "array":
        items = prop.get("items", {})
        return st.lists(_fitting(items) if items else SCALARS, min_size=prop.get("minItems", 0), max_size=3,
                        unique_by=lambda v: json.dumps(v, sort_keys=True)) if items else st.lists(SCALARS, max_size=2)
    if kind in ("integer", "number"):
        return st.integers(0, 300)
    if kind == "boolean":
        return st.booleans()
    if kind == "object":
        return _object(prop)
    return SCALARS


def _object(schema: dict):
    """Required fields always, the others now and then, each with a fitting value."""
    props = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in props]
    return st.fixed_dictionaries({name: _fitting(props[name]) for name in required},
                                 optional={name: _fitting(p) for name, p in props.items() if name not in required})


def _completions(schema: dict):
    props = schema.get("properties", {})
    names = sorted(props) + ["unknown"]
    fitting = _object(schema)
    return st.one_of(fitting, fitting, st.dictionaries(st.sampled_from(names), _values(schema), max_size=len(names)))


@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_the_fast_validator_agrees_with_jsonschema(path):
    text = path.read_text(encoding="utf-8")

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_completions(json.loads(text)))
    def agree(data):
        assert forms.fast_valid(text, data) == (not forms.field_errors(text, data)), data

    agree()


def test_a_naive_date_time_is_refused_by_both():
    text = (Path(__file__).resolve().parents[2] / "bpmn" / "handle_grid.schema.json").read_text(encoding="utf-8")
    data = {"decision": "convene", "scheduled_at": "2026-11-21T09:00:00"}
    assert not forms.fast_valid(text, data)
    assert forms.field_errors(text, data)


@pytest.mark.parametrize(("schema", "data"), [
    ({"properties": {"x": {"multipleOf": 0.01}}}, {"x": 0.07}),
    ({"properties": {"x": {"type": "string", "format": "regex"}}}, {"x": "(?<a>x)"}),
])
def test_a_form_whose_keywords_the_validators_read_differently_is_judged_by_jsonschema(schema, data):
    """jsonschema-rs would let each of these through; jsonschema refuses them, and so does validate."""
    text = json.dumps({"type": "object", **schema})
    assert forms.fast(text) is None
    with pytest.raises(forms.InvalidTaskData):
        forms.validate(text, data, "task")


def test_a_nested_quantifier_pattern_answers_a_long_near_miss_fast():
    """``^(a+)+$`` against 'aaa...!' is exponential on a backtracking engine; both validators match
    patterns in linear time, and the per-field wording runs no Python ``re``."""
    import time

    text = json.dumps({"type": "object", "properties": {"x": {"type": "string", "pattern": "^(a+)+$"}},
                       "patternProperties": {"^(b+)+$": {"type": "integer"}}, "additionalProperties": False})
    started = time.perf_counter()
    with pytest.raises(forms.InvalidTaskData) as refused:
        forms.validate(text, {"x": "a" * 50_000 + "!", "b" * 50_000 + "!": 1}, "task")
    assert time.perf_counter() - started < 1.0
    fields = {e["field"]: e["message"] for e in refused.value.details}
    assert "does not match '^(a+)+$'" in fields["x"] and len(fields["x"]) < 200
    assert "not a field of this form" in fields[""]
    forms.validate(text, {"x": "aaaa", "bbb": 3}, "task")


def test_patterns_mean_the_same_in_both_validators():
    """ECMA-262 meaning, as JSON Schema says: \\d is ASCII and \\s does not take U+001C."""
    text = json.dumps({"type": "object", "properties": {
        "digits": {"type": "string", "pattern": "^\\d+$"}, "word": {"type": "string", "pattern": "^\\S+$"}}})
    for data in ({"digits": "٣"}, {"digits": "12", "word": "a\x1cb"}, {"word": "a b"}):
        assert forms.fast_valid(text, data) == (not forms.field_errors(text, data)), data


def test_a_form_deployed_before_patterns_were_checked_reports_its_backreference_instead_of_backtracking():
    text = json.dumps({"type": "object", "properties": {"x": {"type": "string", "pattern": "^(a+)\\1$"}}})
    with pytest.raises(forms.InvalidTaskData, match="cannot be checked"):
        forms.validate(text, {"x": "a" * 30 + "!"}, "task")
