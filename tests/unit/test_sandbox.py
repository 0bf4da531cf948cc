"""The script sandbox: what modellers' scripts may and may not do, alone and inside SpiffWorkflow."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.sandbox import (
    SandboxEnvironment,
    SandboxScriptEngine,
    SandboxViolation,
    ScriptError,
    ScriptTimeout,
    check_source,
    json_safe_check,
)


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment(time_budget=0.3)


def run(env: SandboxEnvironment, script: str, **data) -> dict:
    env.execute(script, data)
    return data


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("script", [
    "__import__('os')",
    "import os",
    "from os import path",
    "open('/etc/passwd')",
    "().__class__.__base__.__subclasses__()",
    "x.__class__",
    "y = _private",
    "eval('1')",
    "exec('')",
    "getattr(1, 'real')",
    "class Thing:\n    pass",
    "print('hello')",
    "type(1)",
    "globals()",
], ids=[
    "dunder import", "import statement", "from import", "open", "subclasses walk", "dunder attribute",
    "underscore name", "eval", "exec", "getattr", "class definition", "print", "type", "globals",
])
def test_forbidden_constructs_are_refused_before_running(env, script):
    with pytest.raises(SandboxViolation):
        env.execute(script, {"x": 1})
    assert check_source(script, "exec") != []


def test_import_of_os_is_refused(env):
    with pytest.raises(SandboxViolation, match="import statements are not allowed"):
        env.execute("import os\nos.system('true')", {})


def test_dunder_import_is_refused(env):
    with pytest.raises(SandboxViolation, match="__import__"):
        env.evaluate("__import__('os')", {})


def test_subclasses_escape_is_refused_in_expressions_too(env):
    with pytest.raises(SandboxViolation):
        env.evaluate("().__class__.__base__.__subclasses__()", {})


def test_str_format_is_refused_because_it_reaches_attributes(env):
    with pytest.raises(ScriptError, match="format"):
        env.execute('s = "{0.__class__}".format(1)', {})
    with pytest.raises(ScriptError, match="format_map"):
        env.execute('s = "{x}".format_map({"x": 1})', {})


def test_attributes_of_functions_generators_and_types_are_refused(env):
    env.register("lookup", lambda key: key)
    for script in ("y = lookup.func_globals", "g = (i for i in [1])\ny = g.send", "y = str.upper('a')"):
        with pytest.raises(ScriptError, match="is not allowed"):
            env.execute(script, {})


def test_frame_walking_attributes_are_refused(env):
    with pytest.raises(SandboxViolation, match="gi_frame"):
        env.execute("g = (i for i in [1])\nf = g.gi_frame", {})


def test_refusal_message_names_the_line(env):
    with pytest.raises(SandboxViolation) as caught:
        env.execute("a = 1\nb = 2\nimport os", {})
    assert caught.value.line == 3
    assert "line 3" in str(caught.value)


# --------------------------------------------------------------------------- runaway code


def test_endless_loop_times_out_within_the_budget(env):
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        env.execute("while True:\n    pass", {})
    assert time.monotonic() - started < 0.3 + 0.5


def test_endless_loop_times_out_in_a_worker_thread():
    env = SandboxEnvironment(time_budget=0.2)
    outcome: dict[str, object] = {}

    def work() -> None:
        started = time.monotonic()
        try:
            env.execute("n = 0\nwhile True:\n    n += 1", {})
        except Exception as exc:
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert isinstance(outcome["error"], ScriptTimeout)
    assert outcome["elapsed"] < 0.2 + 0.5


def test_a_script_cannot_swallow_its_own_timeout(env):
    script = (
        "def spin():\n"
        "    try:\n"
        "        while True:\n"
        "            pass\n"
        "    except Exception:\n"
        "        return 'caught'\n"
        "    finally:\n"
        "        return 'finally'\n"
        "result = spin()\n"
    )
    with pytest.raises(ScriptTimeout):
        env.execute(script, {})


def test_endless_recursion_and_comprehension_loops_stop(env):
    with pytest.raises(ScriptError):
        env.execute("def f():\n    return f()\nf()", {})
    with pytest.raises(ScriptTimeout):
        env.evaluate("[x for x in range(1000000) for y in range(1000000)]", {})
    with pytest.raises(ScriptError, match="RecursionError"):
        env.execute("f = lambda n: f(n + 1)\nf(0)", {})


@pytest.mark.parametrize("script", [
    "s = 'a' * 10**9",
    "n = 2 ** 10**8",
    "n = 1 << 10**8",
    "s = 'a'\ns *= 10**9",
    "s = 'a'.ljust(10**9)",
    "s = ','.join(['a' * 999999] * 5)",
    "s = '%0999999999d' % 1",
    "r = range(10**12)",
    "s = sum([[1]] * 10, [])",
], ids=[
    "str repeat", "power", "shift", "augmented repeat", "ljust", "join", "percent width", "range", "list sum",
])
def test_huge_results_are_refused(env, script):
    with pytest.raises(ScriptError):
        env.execute(script, {})


def test_huge_f_string_width_is_refused_at_compile_time():
    assert check_source("f'{1:>999999999}'", "eval") != []


# --------------------------------------------------------------------------- allowed


def test_arithmetic_and_comprehensions_work(env):
    script = (
        "total = price * qty + 1\n"
        "squares = {str(n): n * n for n in range(4)}\n"
        "odd = [n for n in range(6) if n % 2]\n"
    )
    data = run(env, script, price=3, qty=4)
    assert data["total"] == 13
    assert data["squares"] == {"0": 0, "1": 1, "2": 4, "3": 9}
    assert data["odd"] == [1, 3, 5]


def test_f_strings_of_plain_values_work(env):
    data = run(env, "label = f'{name} #{n:03d} ({ratio:.1%})'", name="drain", n=7, ratio=0.25)
    assert data["label"] == "drain #007 (25.0%)"


def test_dict_and_str_methods_work(env):
    script = (
        "level = case.get('level', 'grid').upper()\n"
        "pairs = sorted(f'{k}={v}' for k, v in case.items())\n"
        "clean = '  x  '.strip()\n"
        "counts = {'a': 1}\n"
        "counts['a'] += 1\n"
    )
    data = run(env, script, case={"level": "community", "id": 4})
    assert data["level"] == "COMMUNITY"
    assert data["pairs"] == ["id=4", "level=community"]
    assert data["clean"] == "x"
    assert data["counts"] == {"a": 2}


def test_sorted_with_a_key_lambda_works(env):
    data = run(env, "ranked = sorted(items, key=lambda item: -item['score'])",
               items=[{"score": 1}, {"score": 3}, {"score": 2}])
    assert [item["score"] for item in data["ranked"]] == [3, 2, 1]


def test_exceptions_can_be_raised_and_caught(env):
    script = "try:\n    value = lookup['missing']\nexcept KeyError as exc:\n    value = f'no {exc.args[0]}'"
    data = run(env, script, lookup={})
    assert data["value"] == "no missing"
    with pytest.raises(ScriptError, match=r"ValueError: bad level \(line 1\)"):
        env.execute("raise ValueError('bad level')", {})


def test_runtime_errors_name_their_line(env):
    with pytest.raises(ScriptError) as caught:
        env.execute("a = 1\nb = a / 0", {})
    assert caught.value.line == 2
    assert "ZeroDivisionError" in str(caught.value)


# --------------------------------------------------------------------------- task data semantics


def test_execute_updates_changed_and_new_names_and_drops_deleted_ones(env):
    data = {"keep": 1, "change": 1, "remove": 1, "_hidden": "secret"}
    env.execute("change = 2\nadded = keep + change\ndel remove", data)
    assert data == {"keep": 1, "change": 2, "added": 3, "_hidden": "secret"}


def test_underscore_keys_in_task_data_are_invisible_to_scripts(env):
    with pytest.raises(ScriptError):
        env.evaluate("_hidden", {"_hidden": 1})
    with pytest.raises(ScriptError, match="NameError"):
        env.evaluate("hidden", {"_hidden": 1})


def test_registered_functions_are_callable_but_not_stored(env):
    env.register("double", lambda n: n * 2)
    data = run(env, "def helper(n):\n    return n + 1\nresult = helper(double(4))")
    assert data == {"result": 9}
    assert env.evaluate("double(x) > 5", {"x": 3}) is True


def test_assigning_to_a_function_name_is_refused(env):
    env.register("double", lambda n: n * 2)
    with pytest.raises(ScriptError, match="double"):
        env.execute("double = 3", {})
    with pytest.raises(ScriptError, match="double"):
        env.execute("x = 1", {"double": 3})


def test_function_names_cannot_start_with_an_underscore(env):
    with pytest.raises(ValueError):
        env.register("_getattr_", lambda *a: None)


def test_non_json_values_left_in_data_are_refused_with_their_key(env):
    data = {"tags": ["a"]}
    with pytest.raises(ScriptError, match="tags holds a set"):
        env.execute("tags = {'a', 'b'}", data)
    assert data == {"tags": ["a"]}  # nothing written when the script is refused


def test_non_string_keys_and_nan_are_refused(env):
    with pytest.raises(ScriptError, match="non-text key"):
        env.execute("counts = {1: 2}", {})
    with pytest.raises(ScriptError, match="nan"):
        env.execute("ratio = float('nan')", {})


def test_sets_are_allowed_inside_expressions(env):
    assert env.evaluate("len(set(items))", {"items": [1, 1, 2]}) == 2


def test_expressions_cannot_change_task_data(env):
    data = {"items": [1], "case": {"a": 1}}
    for expression in ("items.append(2)", "case.update(b=2)", "case.pop('a')"):
        with pytest.raises(ScriptError, match="read-only"):
            env.evaluate(expression, data)
    assert data == {"items": [1], "case": {"a": 1}}


def test_timer_expressions_read_durations_from_data(env):
    sla = {"grid": {"limit": "PT24H"}}
    assert env.evaluate('"PT1H"', {}) == "PT1H"
    assert env.evaluate('sla["grid"]["limit"]', {"sla": sla}) == "PT24H"


def test_json_safe_check_names_the_key_path():
    with pytest.raises(ScriptError, match=r"history\[1\]\['when'\] holds a datetime"):
        json_safe_check({"history": [{"when": "2024-01-01"}, {"when": datetime(2024, 1, 1)}]})
    with pytest.raises(ScriptError, match="typename"):
        json_safe_check({"x": {"typename": "datetime", "value": "2024-01-01"}})
    json_safe_check({"ok": [1, 2.5, "x", None, True, {"nested": []}]})


def test_service_tasks_are_not_enabled(env):
    with pytest.raises(ScriptError, match="service tasks are not enabled"):
        env.call_service({}, operation_name="http/GetRequest", operation_params={})


# --------------------------------------------------------------------------- lint


def test_check_source_reports_syntax_errors_with_their_line():
    problems = check_source("a = 1\nb = (", "exec")
    assert len(problems) == 1 and problems[0].startswith("line 2: syntax error")


def test_check_source_reports_every_forbidden_construct_with_its_line():
    assert check_source("import os\nx = y.__dict__", "exec") == [
        "line 1: import statements are not allowed",
        'line 2: "__dict__" is an invalid attribute name because it starts with "_"',
    ]
    assert check_source("amount > 100 and level == 'grid'", "eval") == []


def test_check_source_understands_partial_dmn_rule_cells():
    assert check_source("> 100", "dmn_entry") == []
    assert check_source('"drain_blocked"', "dmn_entry") == []
    assert check_source("? < 5", "dmn_entry") == []
    assert check_source("-", "dmn_entry") == []
    assert check_source("> __import__('os')", "dmn_entry") != []


# --------------------------------------------------------------------------- SpiffWorkflow

SPIFF_NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="defs" targetNamespace="http://gridlink.example/test"'
)

CASE_BPMN = f"""<bpmn:definitions {SPIFF_NS}>
  <bpmn:process id="sandboxed" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" name="compute">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>total = amount * 2
labels = sorted(k.upper() for k in tags)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="rate" />
    <bpmn:businessRuleTask id="rate" name="rate">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>amount_band</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f3" sourceRef="rate" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="to_small">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>to_big</bpmn:outgoing><bpmn:outgoing>to_small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="to_big" sourceRef="gw" targetRef="big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">total &gt; 100</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_small" sourceRef="gw" targetRef="small" />
    <bpmn:userTask id="big" name="big">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>flagged = band == "high"</spiffworkflow:preScript>
      </bpmn:extensionElements>
      <bpmn:incoming>to_big</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="big_reminder" attachedToRef="big" cancelActivity="false">
      <bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:timerEventDefinition id="big_reminder_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="big_reminder" targetRef="reminded" />
    <bpmn:endEvent id="reminded"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="small" name="small">
      <bpmn:incoming>to_small</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="big" targetRef="end" />
    <bpmn:sequenceFlow id="f5" sourceRef="small" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

BAND_DMN = """<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="band_defs" name="band"
    namespace="http://gridlink.example/test">
  <decision id="amount_band" name="amount band">
    <decisionTable id="amount_band_table" hitPolicy="UNIQUE">
      <input id="in_total" label="total">
        <inputExpression id="in_total_expr" typeRef="integer"><text>total</text></inputExpression>
      </input>
      <output id="out_band" label="band" name="band" typeRef="string" />
      <rule id="high">
        <inputEntry id="high_in"><text>&gt; 100</text></inputEntry>
        <outputEntry id="high_out"><text>"high"</text></outputEntry>
      </rule>
      <rule id="low">
        <inputEntry id="low_in"><text>&lt;= 100</text></inputEntry>
        <outputEntry id="low_out"><text>"low"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

SCRIPT_ONLY_BPMN = f"""<bpmn:definitions {SPIFF_NS}>
  <bpmn:process id="escape" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="evil" name="evil">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>ok = 1
shell = __import__('os').system('true')</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="evil" />
    <bpmn:sequenceFlow id="f2" sourceRef="evil" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def start_workflow(bpmn: str, process_id: str, data: dict, dmn: str | None = None) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(bpmn.encode("utf-8"), filename=f"{process_id}.bpmn")
    if dmn:
        parser.add_dmn_str(dmn.encode("utf-8"), filename="band.dmn")
    spec = parser.get_spec(process_id)
    subprocesses = parser.get_subprocess_specs(process_id)
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=SandboxScriptEngine(SandboxEnvironment()))
    workflow.task_tree.data.update(data)
    return workflow


@pytest.mark.parametrize(("amount", "expected"), [(60, "big"), (10, "small")])
def test_bpmn_script_gateway_dmn_and_timer_run_in_the_sandbox(amount, expected):
    workflow = start_workflow(CASE_BPMN, "sandboxed", {"amount": amount, "tags": ["b", "a"]}, BAND_DMN)
    workflow.do_engine_steps()

    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [task.task_spec.bpmn_id for task in ready] == [expected]
    data = ready[0].data
    assert data["total"] == amount * 2
    assert data["labels"] == ["A", "B"]
    assert data["band"] == ("high" if amount * 2 > 100 else "low")
    if expected == "big":
        assert data["flagged"] is True
        waiting = workflow.get_tasks(state=TaskState.WAITING)
        timer = next(t for t in waiting if t.task_spec.bpmn_id == "big_reminder")
        assert "event_value" in timer.internal_data  # "PT1H" was evaluated into a due time


def test_bpmn_script_importing_os_ends_as_a_task_error():
    workflow = start_workflow(SCRIPT_ONLY_BPMN, "escape", {})
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "refused by the script sandbox" in str(caught.value)
    assert "__import__" in str(caught.value)
    assert caught.value.line_number == 2
    failed = workflow.get_tasks(state=TaskState.ERROR)
    assert [task.task_spec.bpmn_id for task in failed] == ["evil"]
    assert "shell" not in failed[0].data


def test_dmn_cells_are_evaluated_in_the_sandbox():
    evil_dmn = BAND_DMN.replace('<text>"high"</text>', "<text>__import__('os').getcwd()</text>")
    workflow = start_workflow(CASE_BPMN, "sandboxed", {"amount": 60, "tags": []}, evil_dmn)
    with pytest.raises(WorkflowTaskException, match="refused by the script sandbox"):
        workflow.do_engine_steps()


def test_script_engine_reports_the_real_service_error():
    workflow = start_workflow(SCRIPT_ONLY_BPMN, "escape", {})
    task = workflow.get_tasks(state=TaskState.READY)[0]
    with pytest.raises(WorkflowTaskException, match="service tasks are not enabled"):
        workflow.script_engine.call_service(task, operation_name="x", operation_params={})


def test_script_engine_needs_a_sandbox_environment():
    from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

    with pytest.raises(TypeError):
        SandboxScriptEngine(TaskDataEnvironment())
