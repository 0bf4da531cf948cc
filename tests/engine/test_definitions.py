"""Deploying definitions: versions, no-op redeploys, and every validation error located."""

from __future__ import annotations

import pytest

from engine import DeployError, Runtime, deploy, validate_files
from engine.storage.models import ProcessVersion

from .helpers import fixture_files

FORM = "decide.schema.json"


def files(bpmn: str | None = None, **extra) -> dict[str, str]:
    base = fixture_files("loop.bpmn", FORM)
    if bpmn is not None:
        base["loop.bpmn"] = bpmn
    base.update(extra)
    return base


def loop_with(old: str, new: str) -> str:
    text = fixture_files("loop.bpmn")["loop.bpmn"]
    assert old in text, old
    return text.replace(old, new, 1)


def problems_of(sessions, bundle) -> list:
    with sessions() as session:
        return validate_files(session, bundle)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_first_deploy_creates_version_one_of_each_process(sessions):
    with sessions() as session, session.begin():
        versions = deploy(session, files(), "admin")
    assert {(v.process_id, v.version, v.created) for v in versions} == {
        ("loop", 1, True), ("department_work", 1, True)}


def test_identical_content_is_a_no_op(sessions):
    with sessions() as session, session.begin():
        deploy(session, files(), "admin")
    with sessions() as session, session.begin():
        again = deploy(session, files(), "admin")
    assert all(not v.created for v in again)
    with sessions() as session:
        assert session.query(ProcessVersion).count() == 2


def test_changed_content_is_a_new_active_version_and_running_instances_keep_theirs(sessions):
    runtime = Runtime()
    with sessions() as session, session.begin():
        deploy(session, files(), "admin")
    with sessions() as session, session.begin():
        old = runtime.start(session, "loop", {"rounds": 0, "limits": {"remind": "PT1H", "escalate": "PT2H"}})
    renamed = loop_with('name="Handle"', 'name="Handle it"')
    with sessions() as session, session.begin():
        versions = {v.process_id: v for v in deploy(session, files(renamed), "admin")}
    assert versions["loop"].version == 2 and versions["loop"].created
    with sessions() as session, session.begin():
        new = runtime.start(session, "loop", {"rounds": 0, "limits": {"remind": "PT1H", "escalate": "PT2H"}})
    with sessions() as session:
        assert runtime.instance(session, old.instance_id).process_version_id != \
            runtime.instance(session, new.instance_id).process_version_id
        assert [e.name for e in new.of_kind("task_ready")] == ["Handle it"]
        assert [e.name for e in old.of_kind("task_ready")] == ["Handle"]


def test_changing_a_called_process_gives_its_callers_new_versions(sessions):
    with sessions() as session, session.begin():
        deploy(session, files(), "admin")
    changed = loop_with('name="Do the work"', 'name="Do the work now"')
    with sessions() as session, session.begin():
        versions = {v.process_id: (v.version, v.created) for v in deploy(session, files(changed), "admin")}
    assert versions == {"loop": (2, True), "department_work": (2, True)}


def test_malformed_xml_names_the_file_and_line(sessions):
    broken = loop_with("<bpmn:endEvent id=\"done\">", "<bpmn:endEvent id=\"done\"")
    [problem] = problems_of(sessions, files(broken))
    assert problem.file == "loop.bpmn" and problem.line is not None
    assert "malformed XML" in problem.message


def test_a_process_without_id_is_refused(sessions):
    broken = loop_with('<bpmn:process id="loop" name="Rework loop"', '<bpmn:process name="Rework loop"')
    problems = problems_of(sessions, files(broken))
    assert any("process has no id" in p.message and p.line == line_of(broken, 'name="Rework loop"')
               for p in problems)


def test_unsupported_elements_are_named(sessions):
    broken = loop_with('<bpmn:exclusiveGateway id="decide" default="f8"/>',
                       '<bpmn:exclusiveGateway id="decide" default="f8"/><bpmn:complexGateway id="odd"/>')
    problems = problems_of(sessions, files(broken))
    assert any(p.element_id == "odd" and "unsupported element bpmn:complexGateway" in p.message for p in problems)


def test_a_flow_to_a_missing_target_is_located(sessions):
    broken = loop_with('<bpmn:sequenceFlow id="f8" sourceRef="decide" targetRef="done"/>',
                       '<bpmn:sequenceFlow id="f8" sourceRef="decide" targetRef="nowhere"/>')
    problems = problems_of(sessions, files(broken))
    assert any(p.element_id == "f8" and "'nowhere'" in p.message and p.line == line_of(broken, 'id="f8"')
               for p in problems)


def test_a_called_process_that_does_not_resolve_is_refused(sessions):
    broken = loop_with('calledElement="department_work"', 'calledElement="no_such_process"')
    problems = problems_of(sessions, files(broken))
    assert any(p.element_id == "work" and "no_such_process" in p.message for p in problems)


def test_a_called_decision_that_does_not_resolve_is_refused(sessions):
    broken = loop_with('<bpmn:scriptTask id="count" name="Count round">',
                       '<bpmn:businessRuleTask id="route"><bpmn:extensionElements>'
                       '<spiffworkflow:calledDecisionId>no_table</spiffworkflow:calledDecisionId>'
                       '</bpmn:extensionElements></bpmn:businessRuleTask>'
                       '<bpmn:scriptTask id="count" name="Count round">')
    problems = problems_of(sessions, files(broken))
    assert any(p.element_id == "route" and "no_table" in p.message for p in problems)


def test_a_script_syntax_error_is_caught_at_deploy_time(sessions):
    broken = loop_with("<bpmn:script>rounds = rounds + 1</bpmn:script>", "<bpmn:script>rounds = = 1</bpmn:script>")
    problems = problems_of(sessions, files(broken))
    assert any(p.element_id == "count" and p.line == line_of(broken, "rounds = = 1") for p in problems)


def test_an_unquoted_timer_literal_is_caught_at_deploy_time(sessions):
    broken = loop_with('<bpmn:timeDuration>limits["remind"]</bpmn:timeDuration>',
                       "<bpmn:timeDuration>PT1H</bpmn:timeDuration>")
    [problem] = problems_of(sessions, files(broken))
    assert problem.element_id == "remind" and "unquoted" in problem.message and '"PT1H"' in problem.message
    assert problem.line == line_of(broken, "<bpmn:timeDuration>PT1H")


def test_a_quoted_but_invalid_duration_is_caught(sessions):
    broken = loop_with('<bpmn:timeDuration>limits["remind"]</bpmn:timeDuration>',
                       '<bpmn:timeDuration>"PT1X"</bpmn:timeDuration>')
    [problem] = problems_of(sessions, files(broken))
    assert problem.element_id == "remind" and "ISO-8601" in problem.message


def test_a_script_that_imports_os_is_refused_at_deploy_time(sessions):
    broken = loop_with("<bpmn:script>rounds = rounds + 1</bpmn:script>",
                       "<bpmn:script>import os\nos.system('id')</bpmn:script>")
    problems = problems_of(sessions, files(broken))
    assert any(p.element_id == "count" and "import" in p.message.lower() for p in problems)


def test_a_condition_reaching_dunders_is_refused(sessions):
    broken = loop_with('decision == "dispatch"', "decision.__class__ == 1")
    problems = problems_of(sessions, files(broken))
    assert any(p.element_id == "f6" for p in problems)


def test_xsd_errors_carry_file_and_line(sessions):
    broken = loop_with('cancelActivity="false"', 'cancelActivity="maybe"')
    problems = problems_of(sessions, files(broken))
    assert problems and problems[0].file == "loop.bpmn" and problems[0].line == line_of(broken, '"maybe"')


def test_a_missing_form_schema_is_refused(sessions):
    bundle = fixture_files("loop.bpmn")
    problems = problems_of(sessions, bundle)
    assert any(p.element_id == "handle" and FORM in p.message for p in problems)


def test_an_invalid_form_schema_is_refused(sessions):
    problems = problems_of(sessions, files(**{FORM: '{"type": "nonsense"}'}))
    assert any(p.file == FORM and "JSON Schema" in p.message for p in problems)


def test_nothing_is_deployed_when_anything_is_wrong(sessions):
    broken = loop_with('targetRef="done"', 'targetRef="nowhere"')
    with pytest.raises(DeployError) as caught:
        with sessions() as session, session.begin():
            deploy(session, files(broken), "admin")
    assert "nowhere" in str(caught.value)
    with sessions() as session:
        assert session.query(ProcessVersion).count() == 0
