"""A case's transitions: the allowed ones change it, the refused ones name the case and its state;
and no module but ``workflows/cases/case.py`` assigns the attributes they own."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

import workflows.tables  # noqa: F401  (maps every table)
from workflows.cases.case import GUARDED
from workflows.cases.models import Case
from workflows.errors import Conflict, InvalidInput

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


def a_case(status: str = "reported", level: str = "grid") -> Case:
    return Case(number="GL20261208-0001", status=status, level=level, org_unit_id=1, reworked_count=0)


def test_a_reported_case_opens_at_a_level_and_unit_with_a_due_time():
    case = a_case()
    case.open_at("grid", 7, DUE)
    assert (case.status, case.level, case.org_unit_id, case.due_at) == ("open", "grid", 7, DUE)


def test_registration_places_the_case_but_leaves_it_reported():
    case = a_case()
    case.wait_at("community", 3, DUE)
    case.register(AT)
    assert (case.status, case.level, case.registered_at) == ("reported", "community", AT)


def test_an_open_case_escalates_only_upwards():
    case = a_case()
    case.open_at("grid", 7, DUE)
    case.escalate("community", 3, DUE)
    assert (case.level, case.org_unit_id) == ("community", 3)
    with pytest.raises(InvalidInput, match="GL20261208-0001 is at community: it cannot be escalated to grid"):
        case.escalate("grid", 7, DUE)


def test_a_reported_case_cannot_be_escalated():
    with pytest.raises(Conflict, match="case GL20261208-0001 is reported: it cannot be escalated"):
        a_case().escalate("community", 3, DUE)


def test_resolve_then_rework_reopens_and_counts_the_rework():
    case = a_case("open")
    case.resolve(AT)
    assert (case.status, case.due_at, case.resolved_at) == ("resolved", None, AT)
    case.reopen()
    assert (case.status, case.resolved_at, case.reworked_count) == ("open", None, 1)


def test_only_a_resolved_case_is_reopened():
    with pytest.raises(Conflict, match="case GL20261208-0001 is open: it cannot be reopened"):
        a_case("open").reopen()


def test_closing_records_the_level_and_clears_the_due_time():
    case = a_case("resolved", level="community")
    case.due_at = DUE  # noqa: case-transitions (test set-up)
    case.close(AT)
    assert (case.status, case.closed_at, case.closed_level, case.due_at) == ("closed", AT, "community", None)


@pytest.mark.parametrize("verb", ["close", "reject", "reopen", "open_at", "resolve", "register", "merge_into"])
@pytest.mark.parametrize("status", ["closed", "rejected", "merged"])
def test_a_finished_case_refuses_every_transition(verb, status):
    case = a_case(status)
    args = {"close": (AT,), "reject": (), "reopen": (), "open_at": ("grid", 7, DUE), "resolve": (AT,),
            "register": (AT,), "merge_into": (a_case(),)}[verb]
    with pytest.raises(Conflict, match=f"case GL20261208-0001 is {status}: it cannot be"):
        getattr(case, verb)(*args)


def test_a_case_merges_into_an_open_case_not_into_a_merged_one():
    case, other = a_case(), a_case("open")
    other.number = "GL20261208-0002"
    case.merge_into(other)
    assert (case.status, case.merged_into) == ("merged", other)
    with pytest.raises(InvalidInput, match="GL20261208-0001 cannot take duplicates"):
        a_case().merge_into(case)


def test_a_case_stays_with_its_process_instance():
    case = a_case()
    case.attach_process(5)
    with pytest.raises(Conflict, match="already runs in process instance 5"):
        case.attach_process(6)


def test_an_unknown_level_is_named():
    with pytest.raises(InvalidInput, match="unknown level 'moon'"):
        a_case().open_at("moon", 7, DUE)


# --- nothing else assigns what the transitions own ---------------------------------------------

def _guarded_assignments(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for element in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if isinstance(element, ast.Attribute) and element.attr in GUARDED \
                        and "case" in ast.unparse(element.value).lower():
                    found.append((node.lineno, ast.unparse(element)))
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("set_case") \
                and any(k.arg in GUARDED for k in node.keywords):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_module_but_the_case_assigns_its_status_level_unit_or_due_time():
    offenders = []
    for package in ("workflows", "web"):
        for path in (ROOT / package).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name == "workflows/cases/case.py" or "/migrations/" in name or "/demo/" in name:
                continue
            offenders += [f"{name}:{line}: {text}" for line, text in
                          _guarded_assignments(ast.parse(path.read_text(encoding="utf-8")))]
    assert not offenders, f"use the Case's transitions (workflows/cases/case.py) instead of: {offenders}"


def test_the_scan_finds_a_direct_assignment():
    tree = ast.parse("case.status = 'closed'\nstep.case.level, x = 'grid', 1\nset_case(s, c, due_at=None)\n")
    assert [line for line, _ in _guarded_assignments(tree)] == [1, 2, 3]
