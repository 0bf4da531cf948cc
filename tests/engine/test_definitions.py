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


@pytest.mark.parametrize(("literal", "says"), [
    ('"P99999999Y"', "longer than 10 years"), ('"P99999D"', "longer than 10 years"),
    ('"PT0S"', "zero"), ('"P0D"', "zero"), ('"-PT1H"', "not an ISO-8601 duration"),
    ('"xPT1H"', "not an ISO-8601 duration"), ('"P1Y2W"', "not a valid ISO-8601 duration"),
])
def test_a_timer_literal_out_of_bounds_is_refused_with_its_element_and_line(sessions, literal, says):
    broken = loop_with('<bpmn:timeDuration>limits["remind"]</bpmn:timeDuration>',
                       f"<bpmn:timeDuration>{literal}</bpmn:timeDuration>")
    [problem] = problems_of(sessions, files(broken))
    assert problem.file == "loop.bpmn" and problem.element_id == "remind", problem
    assert problem.line == line_of(broken, literal) and says in problem.message, problem
    assert "at most 10 years" in problem.message or "ISO-8601" in problem.message


def test_timer_literals_up_to_ten_years_deploy(sessions):
    for literal in ('"P10Y"', '"P120M"', '"PT1S"', '"P3652D"'):
        bundle = loop_with('<bpmn:timeDuration>limits["remind"]</bpmn:timeDuration>',
                           f"<bpmn:timeDuration>{literal}</bpmn:timeDuration>")
        assert problems_of(sessions, files(bundle)) == [], literal


def test_a_cycle_or_date_literal_beyond_ten_years_is_refused(sessions):
    for timer, says in (('<bpmn:timeCycle>"R/PT0S"</bpmn:timeCycle>', "zero"),
                        ('<bpmn:timeCycle>"R3/P20Y"</bpmn:timeCycle>', "longer than 10 years"),
                        ('<bpmn:timeDate>"2999-01-01T00:00:00+08:00"</bpmn:timeDate>', "years ahead")):
        broken = loop_with('<bpmn:timeDuration>limits["remind"]</bpmn:timeDuration>', timer)
        [problem] = problems_of(sessions, files(broken))
        assert problem.element_id == "remind" and says in problem.message, problem


def test_a_pre_script_on_an_end_event_is_refused_with_its_element_and_line(sessions):
    broken = loop_with('<bpmn:endEvent id="reminded"/>',
                       '<bpmn:endEvent id="reminded"><bpmn:extensionElements>\n'
                       '<spiffworkflow:preScript>reminded = True</spiffworkflow:preScript>\n'
                       '</bpmn:extensionElements></bpmn:endEvent>')
    [problem] = problems_of(sessions, files(broken))
    assert problem.file == "loop.bpmn" and problem.element_id == "reminded"
    assert problem.line == line_of(broken, "spiffworkflow:preScript")
    assert "preScript on bpmn:endEvent is never run" in problem.message and "script task" in problem.message


@pytest.mark.parametrize("host", ["startEvent", "boundaryEvent", "intermediateThrowEvent", "exclusiveGateway"])
def test_a_post_script_where_the_engine_never_runs_it_is_refused(sessions, host):
    needle = {"startEvent": '<bpmn:startEvent id="start"/>',
              "boundaryEvent": '<bpmn:boundaryEvent id="withdrawn" attachedToRef="handle" cancelActivity="true">',
              "intermediateThrowEvent": '<bpmn:endEvent id="reminded"/>',
              "exclusiveGateway": '<bpmn:exclusiveGateway id="decide" default="f8"/>'}[host]
    script = ("<bpmn:extensionElements><spiffworkflow:postScript>x = 1</spiffworkflow:postScript>"
              "</bpmn:extensionElements>")
    if host == "boundaryEvent":
        broken = loop_with(needle, needle + script)
    elif host == "intermediateThrowEvent":
        broken = loop_with('<bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="reminded"/>',
                           '<bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="note"/>'
                           f'<bpmn:intermediateThrowEvent id="note">{script}</bpmn:intermediateThrowEvent>'
                           '<bpmn:sequenceFlow id="f3b" sourceRef="note" targetRef="reminded"/>')
    else:
        broken = loop_with(needle, needle[:-2] + ">" + script + f"</bpmn:{host}>")
    problems = problems_of(sessions, files(broken))
    assert any(f"postScript on bpmn:{host} is never run" in p.message for p in problems), problems


def test_pre_and_post_scripts_on_tasks_still_deploy(sessions):
    bundle = loop_with('<bpmn:scriptTask id="count" name="Count round">',
                       '<bpmn:scriptTask id="count" name="Count round"><bpmn:extensionElements>'
                       '<spiffworkflow:preScript>before = 1</spiffworkflow:preScript>'
                       '<spiffworkflow:postScript>after = 1</spiffworkflow:postScript>'
                       '</bpmn:extensionElements>')
    assert problems_of(sessions, files(bundle)) == []


def test_a_form_pattern_that_needs_backtracking_is_refused_with_its_place(sessions):
    schema = ('{\n  "type": "object",\n  "properties": {\n'
              '    "code": {"type": "string", "pattern": "^(a)\\\\1$"}\n  },\n'
              '  "patternProperties": {"^(?=x)x": {"type": "string"}}\n}\n')
    problems = problems_of(sessions, files(**{FORM: schema}))
    found = {p.element_id: p for p in problems}
    assert set(found) == {"/properties/code/pattern", "/patternProperties/^(?=x)x"}, problems
    assert found["/properties/code/pattern"].file == FORM and found["/properties/code/pattern"].line == 4
    assert "backtracking" in found["/properties/code/pattern"].message


def test_a_form_with_a_nested_quantifier_deploys_because_it_is_matched_in_linear_time(sessions):
    schema = '{"type": "object", "properties": {"decision": {"type": "string", "pattern": "^(a+)+$"}}}'
    assert problems_of(sessions, files(**{FORM: schema})) == []
