"""The modeller in a real browser: open, edit in the properties panel, validate, deploy, migrate.

These tests run their own live server (not the shared one): they deploy new versions of
``case_handling``, which must not leak into other browser tests.
"""

from __future__ import annotations

import os
import threading

import pytest
from lxml import etree
from sqlalchemy import select
from werkzeug.serving import make_server

from engine import validate_files
from engine.specs.specs import SERIALIZER, new_parser
from engine.storage.models import HumanTask, ProcessInstance, ProcessVersion

from .conftest import BPMN_DIR, LiveServer, _prepare, login, shot

pytestmark = pytest.mark.browser
IGNORED_CONSOLE = ("Inferno",)
PROCESSES = ["case_handling", "department_dispatch", "joint_meeting"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from web.app import create_app
    from web.system import system_of

    instance = tmp_path_factory.mktemp("modeller-instance")
    previous = os.environ.get("GRIDLINK_INSTANCE_DIR")
    os.environ["GRIDLINK_INSTANCE_DIR"] = str(instance)
    try:
        app = create_app({"DATABASE_URL": f"sqlite:///{instance / 'gridlink.db'}",
                          "UPLOAD_DIR": str(instance / "uploads"), "SECRET_KEY": "modeller-tests",
                          "RATE_LIMITS": False})
    finally:
        if previous is None:
            os.environ.pop("GRIDLINK_INSTANCE_DIR", None)
        else:
            os.environ["GRIDLINK_INSTANCE_DIR"] = previous
    system = system_of(app)
    _prepare(system)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, system, httpd)
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def admin_page(browser, server):
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    login(page, "admin")
    yield page
    context.close()


def open_modeller(page, query: str) -> dict:
    page.goto(f"/admin/modeller?{query}")
    page.wait_for_function("window.gridlinkModeller !== undefined")
    return page.evaluate("window.gridlinkModeller.ready")


def real_errors(page) -> list[str]:
    return [e for e in page.errors if not any(i in e for i in IGNORED_CONSOLE)]


def select_element(page, element_id: str) -> None:
    page.evaluate("id => { const m = window.gridlinkModeller.bpmn; "
                  "m.get('selection').select(m.get('elementRegistry').get(id)); }", element_id)


def open_group(page, group: str) -> None:
    header = page.locator(f"#bpmn-properties [data-group-id='{group}'] .bio-properties-panel-group-header")
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def edit_field(page, field_id: str, value: str) -> None:
    field = page.locator(f"#bio-properties-panel-{field_id}")
    field.fill(value)
    field.press("Tab")


def report(system, category: str = "drain_blocked") -> str:
    from workflows.cases.reporting import report_case

    return report_case(system, title="下水管道堵塞", description="楼道下水管堵塞", category=category,
                       source="snapshot", grid="hq-c04-g03")["number"]


def instance_of(system, number: str) -> tuple[int, int]:
    """(instance id, version number) of a case's process instance."""
    from workflows.cases.models import Case

    with system.sessions() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        row = session.get(ProcessInstance, case.instance_id)
        return row.id, session.get(ProcessVersion, row.process_version_id).version


def active_version(system, process_id: str = "case_handling") -> int:
    with system.sessions() as session:
        return session.scalar(select(ProcessVersion.version).where(ProcessVersion.process_id == process_id,
                                                                   ProcessVersion.active))


def version_count(system) -> int:
    with system.sessions() as session:
        return len(session.scalars(select(ProcessVersion)).all())


def open_tasks(system, instance_id: int) -> list[HumanTask]:
    with system.sessions() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)))


# ----- opening and round trip -----------------------------------------------------------------
@pytest.mark.parametrize("process_id", PROCESSES)
def test_every_shipped_diagram_opens_without_import_warnings_and_shows_its_elements(admin_page, process_id):
    opened = open_modeller(admin_page, f"process={process_id}")

    assert opened["warnings"] == []
    shapes = admin_page.locator("#bpmn-canvas .djs-shape").count()
    visible = admin_page.evaluate("""() => { const c = window.gridlinkModeller.bpmn.get('canvas');
        const box = c.viewbox(); return box.inner.width > 0 && box.inner.height > 0; }""")
    assert shapes > 10 and visible
    shot(admin_page, f"modeller-{process_id}", full_page=False)
    assert real_errors(admin_page) == []


def test_the_modeller_speaks_chinese_in_its_palette_context_pad_panel_and_decision_table(admin_page):
    open_modeller(admin_page, "process=case_handling")
    palette = admin_page.locator(".djs-palette .entry[data-action='create.task']")
    assert palette.get_attribute("aria-label") == "创建任务"
    task = admin_page.evaluate("() => window.gridlinkModeller.bpmn.get('elementRegistry')"
                               ".filter(e => e.type === 'bpmn:UserTask')[0].id")
    select_element(admin_page, task)
    pad = admin_page.locator(".djs-context-pad .entry[data-action='append.end-event']")
    pad.wait_for()
    assert pad.get_attribute("title") == "追加结束事件"
    assert admin_page.locator(".djs-context-pad .entry[data-action='delete']").get_attribute("title") == "删除"
    headers = admin_page.locator("#bpmn-properties .bio-properties-panel-group-header-title").all_inner_texts()
    assert "常规" in headers and "文档" in headers and "gridlink 流程属性（SpiffWorkflow）" in headers, headers
    assert "General" not in headers
    assert admin_page.locator("#bpmn-properties .bio-properties-panel-header-type").inner_text().strip().lower() \
        == "用户任务"
    labels = admin_page.locator("#bpmn-properties .bio-properties-panel-label").all_inner_texts()
    assert "名称" in labels, labels
    admin_page.locator(".djs-context-pad .entry[data-action='replace']").click()
    admin_page.locator(".djs-popup").wait_for()
    assert "手工任务" in admin_page.locator(".djs-popup").inner_text()
    shot(admin_page, "modeller-zh-context-pad-and-panel", full_page=False)
    admin_page.keyboard.press("Escape")
    admin_page.click("#file-tabs button[data-file='category_routing.dmn']")
    admin_page.wait_for_selector("#dmn-canvas .tjs-table")
    table = admin_page.locator("#dmn-canvas").inner_text()
    assert "命中策略" in table and "Hit policy" not in table, table[:400]
    shot(admin_page, "modeller-zh-decision-table", full_page=False)
    assert real_errors(admin_page) == []


def test_the_routing_table_opens_in_dmn_js(admin_page):
    open_modeller(admin_page, "process=case_handling")
    admin_page.click("#file-tabs button[data-file='category_routing.dmn']")
    admin_page.wait_for_selector("#dmn-canvas .tjs-table")
    assert admin_page.locator("#dmn-canvas td[data-element-id='rule_1_department']").inner_text().strip() == '"housing"'
    shot(admin_page, "modeller-category_routing-dmn", full_page=False)
    assert real_errors(admin_page) == []


def spec_summary(files: dict[str, str]) -> dict:
    """Every task spec of every process in ``files``, serialized (elements, scripts, properties, timers...)."""
    parser = new_parser()
    for name, text in files.items():
        root = etree.fromstring(text.encode("utf-8"))
        if name.endswith(".dmn"):
            parser.add_dmn_xml(root, filename=name)
    for name, text in files.items():
        if name.endswith(".bpmn"):
            parser.add_bpmn_xml(etree.fromstring(text.encode("utf-8")), filename=name)
    out = {}
    for pid in parser.get_process_ids():
        spec = parser.get_spec(pid)
        out[pid] = {name: SERIALIZER.registry.convert(ts) for name, ts in spec.task_specs.items()}
    return out


def test_each_shipped_diagram_saved_without_edits_deploys_to_the_same_spec(admin_page, server):
    open_modeller(admin_page, "process=case_handling")
    exported = admin_page.evaluate("window.gridlinkModeller.exportAll()")
    originals = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.iterdir()
                 if p.suffix in (".bpmn", ".dmn")}

    assert set(exported) == set(originals)
    assert all(item["warnings"] == [] for item in exported.values())
    saved = {name: item["xml"] for name, item in exported.items()}
    assert "spiffworkflow:preScript" in saved["case_handling.bpmn"]
    forms = {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.glob("*.json")}
    with server.system.sessions() as session:
        assert validate_files(session, {**saved, **forms}) == []
    before, after = spec_summary(originals), spec_summary(saved)
    assert set(before) == set(after) >= set(PROCESSES)
    for pid in before:
        assert before[pid].keys() == after[pid].keys(), pid
        for name in before[pid]:
            assert before[pid][name] == after[pid][name], (pid, name)


def test_the_spiffworkflow_entries_edit_properties_scripts_and_conditions_and_a_draft_is_saved(admin_page):
    open_modeller(admin_page, "process=case_handling")
    assert admin_page.locator("[data-testid=unsaved]").is_hidden()

    select_element(admin_page, "register")
    open_group(admin_page, "group-gridlink-spiff")
    assert admin_page.locator("#bio-properties-panel-gl-prop-formJsonSchemaFilename").input_value() == \
        "register.schema.json"
    edit_field(admin_page, "gl-prop-new", "sla_note=registration within a day")
    edit_field(admin_page, "gl-prescript", 'registered_by = "gridlink"')
    edit_field(admin_page, "gl-prop-assignee", "org_unit")
    select_element(admin_page, "flow_register_accept")
    open_group(admin_page, "group-gridlink-spiff")
    assert admin_page.locator("#bio-properties-panel-gl-condition").input_value() == 'decision == "accept"'
    edit_field(admin_page, "gl-condition", 'decision in ("accept", "ok")')
    select_element(admin_page, "self_closed_verify_level")
    open_group(admin_page, "group-gridlink-spiff")
    assert admin_page.locator("#bio-properties-panel-gl-script").input_value().startswith("verify_level = ")
    shot(admin_page, "modeller-spiff-entries", full_page=False)
    xml = admin_page.evaluate("window.gridlinkModeller.bpmn.saveXML({format: true}).then(r => r.xml)")

    register = xml.split('<bpmn:userTask id="register"')[1].split("</bpmn:userTask>")[0]
    assert '<spiffworkflow:property name="sla_note" value="registration within a day" />' in register
    assert "<spiffworkflow:preScript>registered_by = \"gridlink\"</spiffworkflow:preScript>" in register
    assert 'decision in ("accept", "ok")' in xml.split('id="flow_register_accept"')[1].split("</bpmn:sequenceFlow>")[0]
    admin_page.evaluate("window.gridlinkModeller.bpmn.get('commandStack').undo()")
    xml = admin_page.evaluate("window.gridlinkModeller.bpmn.saveXML({format: true}).then(r => r.xml)")
    assert 'decision == "accept"' in xml.split('id="flow_register_accept"')[1].split("</bpmn:sequenceFlow>")[0]

    assert admin_page.locator("[data-testid=unsaved]").is_visible()
    admin_page.click("#btn-save")
    admin_page.wait_for_url("**/admin/modeller?draft=*")
    assert admin_page.locator("[data-testid=unsaved]").is_hidden()
    admin_page.reload()
    admin_page.wait_for_function("window.gridlinkModeller !== undefined")
    admin_page.evaluate("window.gridlinkModeller.ready")
    xml = admin_page.evaluate("window.gridlinkModeller.bpmn.saveXML({format: true}).then(r => r.xml)")
    assert "sla_note" in xml
    assert real_errors(admin_page) == []


def test_a_form_schema_is_edited_beside_the_diagram_and_checked_on_validation(admin_page):
    open_modeller(admin_page, "process=case_handling")
    admin_page.click("#file-tabs button[data-file='register.schema.json']")
    assert '"decision"' in admin_page.locator("#json-text").input_value()
    admin_page.fill("#json-text", '{"type": "object", "properties": ')
    admin_page.click("#btn-validate")
    admin_page.wait_for_selector("#problems:not([hidden])")
    assert "register.schema.json" in admin_page.locator("#problem-list").inner_text()
    assert "not valid JSON" in admin_page.locator("#problem-list").inner_text()
    assert admin_page.locator("#file-tabs button[data-file='register.schema.json'].has-problems").count() == 1


# ----- edit, validate, deploy -----------------------------------------------------------------
def test_renaming_a_task_and_changing_a_timer_deploys_a_new_version_used_by_new_cases_only(admin_page, server):
    system = server.system
    old_case = report(system)
    old_instance, old_version = instance_of(system, old_case)
    count = version_count(system)
    open_modeller(admin_page, "process=case_handling")

    select_element(admin_page, "register")
    open_group(admin_page, "group-general")
    edit_field(admin_page, "name", "登记受理")
    select_element(admin_page, "timer_escalate_grid")
    open_group(admin_page, "group-timer")
    edit_field(admin_page, "timerEventDefinitionValue", '"PT48H"')
    admin_page.click("#btn-validate")
    admin_page.wait_for_selector("#modeller-status.flash-success")
    admin_page.click("#btn-deploy")
    admin_page.wait_for_selector("[data-deployed^='case_handling:']")
    shot(admin_page, "modeller-deployed", full_page=False)

    new_version = active_version(system)
    assert new_version == old_version + 1 and version_count(system) == count + 1
    new_case = report(system)
    new_instance, used = instance_of(system, new_case)
    assert used == new_version
    assert [t.name for t in open_tasks(system, new_instance)] == ["登记受理"]
    assert instance_of(system, old_case)[1] == old_version
    assert [t.name for t in open_tasks(system, old_instance)] == ["登记立案"]
    with system.sessions() as session:
        files = session.scalar(select(ProcessVersion.files).where(ProcessVersion.process_id == "case_handling",
                                                                  ProcessVersion.version == new_version))
    assert '"PT48H"' in files["case_handling.bpmn"] and "spiffworkflow:preScript" in files["case_handling.bpmn"]
    assert real_errors(admin_page) == []


def broken_case_handling() -> str:
    text = (BPMN_DIR / "case_handling.bpmn").read_text(encoding="utf-8")
    text = text.replace('sla["grid"]["limit"]</bpmn:timeDuration>', "PT1H</bpmn:timeDuration>", 1)
    text = text.replace('<bpmn:script>verify_level = ', '<bpmn:script>import os\nverify_level = ', 1)
    text = text.replace('sourceRef="gw_register" targetRef="end_rejected"',
                        'sourceRef="gw_register" targetRef="nowhere"')
    assert 'targetRef="nowhere"' in text and "import os" in text and ">PT1H<" in text
    return text


def test_a_broken_diagram_shows_its_errors_on_the_right_elements_and_deploys_nothing(admin_page, server, tmp_path):
    broken = tmp_path / "case_handling.bpmn"
    broken.write_text(broken_case_handling(), encoding="utf-8")
    count = version_count(server.system)
    open_modeller(admin_page, "process=case_handling")

    admin_page.set_input_files("#file-input", str(broken))
    admin_page.wait_for_selector("#modeller-status:not([hidden])")
    admin_page.click("#btn-validate")
    admin_page.wait_for_selector("#problems:not([hidden])")

    problems = admin_page.locator("#problem-list li")
    texts = problems.all_inner_texts()
    assert any("timer_escalate_grid" in t and "unquoted literal" in t for t in texts), texts
    assert any("self_closed_verify_level" in t and "import" in t for t in texts), texts
    assert any("flow_register_reject" in t for t in texts), texts
    for element in ("timer_escalate_grid", "self_closed_verify_level", "gw_register"):
        assert admin_page.locator(f".djs-element.gl-error[data-element-id='{element}']").count() == 1, element
    assert admin_page.locator(".gl-error-note[data-element='timer_escalate_grid']").inner_text().count("unquoted") == 1
    shot(admin_page, "modeller-broken-diagram", full_page=False)

    admin_page.click("#btn-deploy")
    admin_page.wait_for_selector("#modeller-status.flash-error")
    assert admin_page.locator("#deployed").is_hidden()
    assert version_count(server.system) == count


def test_a_routing_rule_changed_in_dmn_js_takes_effect_for_new_cases(admin_page, server):
    system = server.system
    before = report(system)
    open_modeller(admin_page, "process=case_handling")
    admin_page.click("#file-tabs button[data-file='category_routing.dmn']")
    cell = admin_page.locator("#dmn-canvas td[data-element-id='rule_1_department']")
    cell.click()
    admin_page.keyboard.press("Control+A")
    admin_page.keyboard.type('"civil"')
    admin_page.click("#dmn-canvas .tjs-table th")  # leave the cell
    shot(admin_page, "modeller-dmn-edited", full_page=False)
    admin_page.click("#btn-deploy")
    admin_page.wait_for_selector("[data-deployed^='case_handling:']")

    after = report(system)
    old_instance, new_instance = instance_of(system, before)[0], instance_of(system, after)[0]
    with system.sessions() as session:
        old_data = system.runtime.data(session, old_instance)
        new_data = system.runtime.data(session, new_instance)
    assert old_data["suggested_department"] == "housing"
    assert new_data["suggested_department"] == "civil"


# ----- bulk migration -------------------------------------------------------------------------
def register_with_prescript() -> dict[str, str]:
    text = (BPMN_DIR / "case_handling.bpmn").read_text(encoding="utf-8")
    anchor = '<spiffworkflow:property name="task_kind" value="register" />'
    at = text.rindex("<spiffworkflow:properties>", 0, text.index(anchor))
    return {"case_handling.bpmn": text[:at] + "<spiffworkflow:preScript>registered_in_v2 = True"
            "</spiffworkflow:preScript>\n          " + text[at:]}


def test_bulk_migration_previews_moves_several_running_cases_and_reverses(admin_page, server):
    from workflows.admin import versions
    from workflows.cases import decisions
    from workflows.cases.models import Case, TimelineEntry

    system = server.system
    source = active_version(system)
    waiting = [report(system) for _ in range(3)]
    registered = report(system)
    task = open_tasks(system, instance_of(system, registered)[0])[0]
    decisions.register_case(system, "admin", task.id, "accept")
    deployed = versions.deploy_files(system, "admin", register_with_prescript())
    target = next(v["version"] for v in deployed["versions"] if v["process_id"] == "case_handling")

    admin_page.goto("/admin/processes/case_handling")
    admin_page.select_option("select[name=from]", str(source))
    admin_page.select_option("select[name=to]", str(target))
    admin_page.click("[data-testid=preview-migration]")
    for number in waiting:
        assert admin_page.locator(f"tr[data-case='{number}']").get_attribute("data-movable") == "yes"
    blocked = admin_page.locator(f"tr[data-case='{registered}']")
    assert blocked.get_attribute("data-movable") == "no"
    assert "已完成的环节 register（" in blocked.inner_text()  # (zh preview, with the element's name)
    shot(admin_page, "migration-preview")

    admin_page.once("dialog", lambda dialog: dialog.accept())
    admin_page.click("[data-testid=run-migration]")
    admin_page.wait_for_selector("[data-testid=batches]")
    shot(admin_page, "migration-done")

    for number in waiting:
        assert instance_of(system, number)[1] == target
    assert instance_of(system, registered)[1] == source
    with system.sessions() as session:
        logged = set(session.scalars(select(Case.number).join(TimelineEntry, TimelineEntry.case_id == Case.id)
                                     .where(TimelineEntry.kind == "migrated")))
    assert set(waiting) <= logged and registered not in logged

    admin_page.once("dialog", lambda dialog: dialog.accept())
    admin_page.locator("[data-testid=reverse]").first.click()
    admin_page.wait_for_selector(".flash-success")
    for number in waiting:
        assert instance_of(system, number)[1] == source
    assert real_errors(admin_page) == []


@pytest.mark.parametrize("path", ["/admin/processes", "/admin/processes/case_handling", "/admin/org", "/admin/users",
                                  "/admin/categories", "/admin/sla", "/admin/fund", "/admin/departments",
                                  "/admin/audit", "/admin/drafts"])
def test_every_admin_page_renders_cleanly(admin_page, path):
    response = admin_page.goto(path)
    assert response.status == 200
    assert admin_page.locator(".admin-nav a.active").count() == 1 or path.startswith("/admin/processes/")
    shot(admin_page, "admin" + path.replace("/admin", "").replace("/", "-"))
    assert real_errors(admin_page) == []


def test_a_broken_rule_cell_is_marked_in_the_decision_table(admin_page):
    open_modeller(admin_page, "process=case_handling")
    admin_page.click("#file-tabs button[data-file='category_routing.dmn']")
    cell = admin_page.locator("#dmn-canvas td[data-element-id='rule_2_category']")
    cell.click()
    admin_page.keyboard.press("Control+A")
    admin_page.keyboard.type("road damage")
    admin_page.click("#dmn-canvas .tjs-table th")
    admin_page.click("#btn-validate")
    admin_page.wait_for_selector("#problems:not([hidden])")

    assert "rule_2_category" in admin_page.locator("#problem-list").inner_text()
    assert admin_page.locator("#dmn-canvas td.gl-error-cell[data-element-id='rule_2_category']").count() == 1
    shot(admin_page, "modeller-dmn-broken-cell", full_page=False)
