"""Deploy-time checks: everything a diagram can get wrong is reported with file, element and line.

SpiffWorkflow accepts scripts with syntax errors, unquoted timer literals and processes without
an id, and fails only at run time. These checks catch them before anything is deployed.
"""

from __future__ import annotations

import ast
import json
import re

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree

from ..errors import Line, Problem
from ..sandbox import check_source

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
)
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}

SUPPORTED_NODES = {
    "startEvent", "endEvent", "userTask", "task", "subProcess", "manualTask", "exclusiveGateway",
    "parallelGateway", "inclusiveGateway", "callActivity", "transaction", "scriptTask", "serviceTask",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "receiveTask", "sendTask",
    "eventBasedGateway", "businessRuleTask",
}
NON_NODES = {
    "sequenceFlow", "laneSet", "extensionElements", "documentation", "dataObject", "dataObjectReference",
    "dataStoreReference", "textAnnotation", "association", "ioSpecification", "property", "dataInputAssociation",
    "dataOutputAssociation", "standardLoopCharacteristics", "multiInstanceLoopCharacteristics", "group",
    "category", "incoming", "outgoing",
}
# The elements SpiffWorkflow 3.2 builds as SpiffBpmnTask, the only ones whose preScript and
# postScript it runs (spiff/parser/process.py). Events and gateways parse them and drop them.
SCRIPT_HOSTS = {
    "task", "userTask", "manualTask", "scriptTask", "subProcess", "transaction", "callActivity", "serviceTask",
    "sendTask", "receiveTask", "businessRuleTask",
}
ISO_LITERAL = re.compile(r"^(R\d*|P(\d|T\d)|\d{4}-\d{2}-\d{2})", re.IGNORECASE)


def local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_xml(name: str, text: str) -> tuple[etree._Element | None, list[Problem]]:
    """Parse one XML file; a syntax error becomes a Problem with its line."""
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
        return etree.fromstring(text.encode("utf-8"), parser), []
    except etree.XMLSyntaxError as exc:
        return None, [Problem(name, None, exc.lineno, Line(f"malformed XML: {exc.msg}", "malformed_xml",
                                                                   detail=exc.msg))]


def is_dmn(root: etree._Element) -> bool:
    return etree.QName(root).namespace in DMN_NAMESPACES or local(root.tag) == "definitions" and any(
        ns in DMN_NAMESPACES for ns in (root.nsmap or {}).values()
    ) and etree.QName(root).namespace != BPMN


def check_bpmn_structure(name: str, root: etree._Element, known_processes: set[str],
                         known_decisions: set[str], known_files: set[str]) -> list[Problem]:
    """Ids, supported elements, flow targets, called elements, expressions and form references."""
    problems: list[Problem] = []
    for process in root.iter(f"{{{BPMN}}}process"):
        if not process.get("id"):
            problems.append(Problem(name, None, process.sourceline, Line("process has no id: give it an id attribute",
                                                                                   "process_without_id")))
            continue
        problems += _check_container(name, process, known_processes, known_decisions, known_files)
    return problems


def _check_container(name, container, known_processes, known_decisions, known_files) -> list[Problem]:
    problems: list[Problem] = []
    ids = {el.get("id") for el in container.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in container:
        tag = local(el.tag)
        if not tag or etree.QName(el).namespace != BPMN:
            continue
        if tag not in SUPPORTED_NODES and tag not in NON_NODES:
            problems.append(Problem(name, el.get("id"), el.sourceline,
                                    Line(f"unsupported element bpmn:{tag}: gridlink cannot run it; remove or replace "
                                         "it", "unsupported_element", tag=f"bpmn:{tag}")))
        if tag == "sequenceFlow":
            problems += _check_flow(name, el, ids)
        if tag == "subProcess" or tag == "transaction":
            problems += _check_container(name, el, known_processes, known_decisions, known_files)
        if tag == "callActivity" and el.get("calledElement") not in known_processes:
            problems.append(Problem(name, el.get("id"), el.sourceline,
                                    Line(f"called process {el.get('calledElement')!r} is not deployed and not in "
                                         "this bundle: deploy it with this file", "called_process_unknown",
                                         process=el.get("calledElement") or "")))
    for el in container.iter():
        problems += _check_element_expressions(name, el, known_decisions, known_files)
    return _dedupe(problems)


def _check_flow(name, flow, ids) -> list[Problem]:
    problems = []
    for attr in ("sourceRef", "targetRef"):
        ref = flow.get(attr)
        if not ref or ref not in ids:
            problems.append(Problem(name, flow.get("id"), flow.sourceline,
                                    Line(f"sequence flow {attr} {ref!r} does not name an element of this process",
                                         "flow_ref_unknown", attr=attr, ref=ref or "")))
    return problems


def _check_element_expressions(name, el, known_decisions, known_files) -> list[Problem]:
    tag = local(el.tag)
    owner = _owner_id(el)
    problems: list[Problem] = []
    if tag == "script" and local(el.getparent().tag) == "scriptTask":
        problems += _lint(name, owner, el, el.text or "", "exec", "script")
    elif tag in ("preScript", "postScript"):
        problems += _check_script_host(name, owner, el, tag) or _lint(name, owner, el, el.text or "", "exec", tag)
    elif tag in ("conditionExpression", "completionCondition", "loopCardinality", "loopCondition"):
        problems += _lint(name, owner, el, el.text or "", "eval", tag)
    elif tag in ("timeDuration", "timeDate", "timeCycle"):
        problems += _lint_timer(name, owner, el, tag)
    elif tag == "calledDecisionId" and (el.text or "").strip() not in known_decisions:
        problems.append(Problem(name, owner, el.sourceline,
                                Line(f"called decision {(el.text or '').strip()!r} is not in this bundle or deployed",
                                     "decision_unknown", decision=(el.text or "").strip())))
    elif tag == "property" and etree.QName(el).namespace == SPIFF and el.get("name") == "formJsonSchemaFilename":
        if el.get("value") not in known_files:
            problems.append(Problem(name, owner, el.sourceline,
                                    Line(f"form schema {el.get('value')!r} is not in the bundle: add the JSON file",
                                         "form_unknown", form=el.get("value") or "")))
    return problems


def _owner_id(el) -> str | None:
    while el is not None:
        if el.get("id") and local(el.tag) not in ("conditionExpression", "timeDuration", "timeDate", "timeCycle"):
            return el.get("id")
        el = el.getparent()
    return None


def _lint(name, owner, el, source, mode, what) -> list[Problem]:
    if not source.strip():
        return [] if mode == "exec" else [Problem(name, owner, el.sourceline, Line(f"empty {what}", "empty_expression",
                                                                                     what=what))]
    return [Problem(name, owner, el.sourceline, Line(f"{what}: {msg}", "expression_problem", what=what, detail=msg))
            for msg in check_source(source.strip(), mode)]


def _lint_timer(name, owner, el, tag) -> list[Problem]:
    source = (el.text or "").strip()
    problems = _lint(name, owner, el, source, "eval", f"timer {tag}")
    if problems:
        return problems
    node = ast.parse(source, mode="eval").body
    if isinstance(node, ast.Name | ast.BinOp) and ISO_LITERAL.match(source):
        return [Problem(name, owner, el.sourceline,
                        f"timer {tag} {source!r} is an unquoted literal: write it as a string, e.g. \"{source}\"")]
    if isinstance(node, ast.Constant):
        return _check_timer_literal(name, owner, el, tag, node.value)
    return []


def _check_timer_literal(name, owner, el, tag, value) -> list[Problem]:
    from ..instances.timers import parse_timer_literal

    try:
        parse_timer_literal(tag, value)
    except ValueError as exc:
        return [Problem(name, owner, el.sourceline, Line(f"timer {tag}: {exc}", "timer_problem", what=tag,
                                                         detail=str(exc)))]
    return []


def _check_script_host(name, owner, el, tag) -> list[Problem]:
    """A pre- or post-script on an element SpiffWorkflow never runs it on (events, gateways...)."""
    host = el.getparent()
    if host is not None and local(host.tag) == "extensionElements":
        host = host.getparent()
    host_tag = local(host.tag) if host is not None else ""
    if host_tag in SCRIPT_HOSTS:
        return []
    where = f"bpmn:{host_tag}" if host_tag else "this element"
    return [Problem(name, owner, el.sourceline,
                    f"{tag} on {where} is never run by the engine (only tasks, sub-processes and call "
                    f"activities run pre- and post-scripts): move the script into a script task, or onto "
                    f"the task before or after")]


def check_dmn(name: str, root: etree._Element) -> list[Problem]:
    """Every input expression and rule cell must be a valid sandboxed expression."""
    problems: list[Problem] = []
    for el in root.iter():
        tag = local(el.tag)
        if tag in ("inputExpression", "inputEntry", "outputEntry"):
            text_el = next((c for c in el if local(c.tag) == "text"), None)
            source = (text_el.text if text_el is not None else "") or ""
            if tag == "inputEntry" and source.strip() in ("", "-"):
                continue
            if source.strip():
                mode = "dmn_entry" if tag == "inputEntry" else "eval"
                problems += _lint(name, _owner_id(el), el, source, mode, f"DMN {tag}")
    return problems


def decision_ids(root: etree._Element) -> set[str]:
    return {el.get("id") for el in root.iter() if local(el.tag) == "decision" and el.get("id")}


def process_ids(root: etree._Element) -> set[str]:
    return {p.get("id") for p in root.iter(f"{{{BPMN}}}process") if p.get("id")}


def check_form_schema(name: str, text: str) -> list[Problem]:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return [Problem(name, None, exc.lineno, f"not valid JSON: {exc.msg}")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [Problem(name, None, None, f"not a valid JSON Schema: {exc.message}")]
    return _check_patterns(name, text, schema)


def _check_patterns(name: str, text: str, schema) -> list[Problem]:
    """Patterns the linear-time engine cannot run are refused (forms.matches never backtracks)."""
    from .forms import pattern_problem, schema_patterns

    problems = []
    for pointer, pattern in schema_patterns(schema):
        why = pattern_problem(pattern)
        if why:
            problems.append(Problem(name, pointer, _line_of(text, json.dumps(pattern)),
                                    f"pattern {pattern!r}: {why}"))
    if problems or not _has_key(schema, "unevaluatedProperties") or not _has_key(schema, "patternProperties"):
        return problems
    return [Problem(name, None, None, "unevaluatedProperties beside patternProperties is not supported (its "
                    "checker matches patterns with a backtracking engine): use additionalProperties")]


def _has_key(node, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_has_key(v, key) for v in node.values())
    return isinstance(node, list) and any(_has_key(v, key) for v in node)


def _line_of(text: str, needle: str) -> int | None:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out
