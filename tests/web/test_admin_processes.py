"""Process versions, the modeller's JSON endpoints, drafts and case migration through the admin pages."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine.storage.models import HumanTask, ProcessInstance, ProcessVersion
from tests.apps import BPMN_DIR

from .conftest import report

pytest_plugins = ["tests.web.admin_world"]  # the admin, admin_app and admin_system fixtures


def shipped_bundle() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in BPMN_DIR.iterdir()
            if p.suffix in (".bpmn", ".dmn", ".json")}


def case_handling(old: str, new: str) -> dict[str, str]:
    text = (BPMN_DIR / "case_handling.bpmn").read_text(encoding="utf-8")
    assert old in text
    return {"case_handling.bpmn": text.replace(old, new, 1)}


def versions_of(system, process_id: str = "case_handling") -> list[tuple[int, bool]]:
    with system.sessions() as session:
        return [(v, a) for v, a in session.execute(select(ProcessVersion.version, ProcessVersion.active)
                                                   .where(ProcessVersion.process_id == process_id)
                                                   .order_by(ProcessVersion.version))]


def version_of_case(system, number: str) -> int:
    from workflows.cases.models import Case

    with system.sessions() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        row = session.get(ProcessInstance, case.instance_id)
        return session.get(ProcessVersion, row.process_version_id).version


def test_the_process_list_shows_every_process_with_its_versions_and_running_cases(admin, admin_system):
    report(admin_system)
    page = admin.get("/admin/processes").get_data(as_text=True)
    for process_id in ("case_handling", "department_dispatch", "joint_meeting"):
        assert f'data-process="{process_id}"' in page
    assert 'data-testid="active"' in page and ">init<" in page
    detail = admin.get("/admin/processes/case_handling").get_data(as_text=True)
    assert 'data-version="1"' in detail


def test_any_version_file_downloads_and_an_unknown_one_is_named_in_the_error(admin):
    response = admin.get("/admin/processes/case_handling/versions/1/files/case_handling.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert b'<bpmn:process id="case_handling"' in response.data
    assert "attachment" in response.headers["Content-Disposition"]
    missing = admin.get("/admin/processes/case_handling/versions/1/files/nope.bpmn")
    assert missing.status_code == 404 and "nope.bpmn" in missing.get_data(as_text=True)
    assert admin.get("/admin/processes/case_handling/versions/99/files/case_handling.bpmn").status_code == 404


def test_validate_returns_every_problem_with_file_element_and_line(admin):
    files = case_handling('sla["grid"]["limit"]</bpmn:timeDuration>', "PT1H</bpmn:timeDuration>")
    answer = admin.post_json("/admin/modeller/validate", {"files": files})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["valid"] is False
    problem = body["problems"][0]
    assert problem["file"] == "case_handling.bpmn" and problem["line"] > 0
    assert "unquoted literal" in problem["message"] and problem["element_id"].startswith("timer_escalate_grid")
    assert admin.post_json("/admin/modeller/validate", {"files": shipped_bundle()}).get_json() == \
        {"valid": True, "problems": []}


def test_an_invalid_bundle_is_refused_with_its_problems_and_nothing_is_deployed(admin, admin_system):
    before = versions_of(admin_system)
    files = case_handling("<bpmn:script>verify_level = ", "<bpmn:script>import os\nverify_level = ")
    answer = admin.post_json("/admin/modeller/deploy", {"files": files})
    assert answer.status_code == 422
    assert answer.get_json()["deployed"] is False
    assert "import" in answer.get_json()["problems"][0]["message"]
    assert versions_of(admin_system) == before


def test_bad_requests_get_clear_json_errors(admin):
    assert admin.post_json("/admin/modeller/validate", ["not", "an", "object"]).status_code == 400
    bad_name = admin.post_json("/admin/modeller/validate", {"files": {"../etc/passwd.bpmn": "<x/>"}})
    assert bad_name.status_code == 422
    assert "../etc/passwd.bpmn" in bad_name.get_json()["error"]["message"]
    empty = admin.post_json("/admin/modeller/deploy", {"files": {}})
    assert empty.status_code == 422 and "no files" in empty.get_json()["error"]["message"]
    malformed = admin.post_json("/admin/modeller/validate", {"files": {"x.bpmn": "<bpmn:definitions"}})
    assert malformed.get_json()["problems"][0]["message"].startswith("XML 格式错误：")  # (zh, the default)
    refused = admin.post_json("/admin/modeller/validate", {"files": {"x.bpmn": "<a/>"}}, token=False)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf"


def test_a_saved_draft_reopens_and_deploying_it_creates_a_version_and_an_audit_entry(admin, admin_system):
    files = case_handling('name="网格处置"', 'name="网格先行处置"')
    saved = admin.post_json("/admin/modeller/drafts", {"files": files, "title": "rename grid task",
                                                       "process_id": "case_handling", "base_version": 1})
    draft = saved.get_json()["draft"]
    assert saved.status_code == 200 and draft["status"] == "open"
    page = admin.get(f"/admin/modeller?draft={draft['id']}").get_data(as_text=True)
    bundle = json.loads(page.split('id="modeller-bundle">')[1].split("</script>")[0])["bundle"]
    assert "网格先行处置" in bundle["files"]["case_handling.bpmn"] and bundle["title"] == "rename grid task"
    resaved = admin.post_json("/admin/modeller/drafts", {"files": files, "draft_id": draft["id"]})
    assert resaved.get_json()["draft"]["id"] == draft["id"]

    answer = admin.post_json("/admin/modeller/deploy", {"files": files, "draft_id": draft["id"]})

    assert answer.status_code == 200
    created = [v for v in answer.get_json()["versions"] if v["created"]]
    assert [v["process_id"] for v in created] == ["case_handling"]
    assert versions_of(admin_system)[-1] == (created[0]["version"], True)
    drafts_page = admin.get("/admin/drafts").get_data(as_text=True)
    assert "deployed" in drafts_page
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "process.deploy" in audit and "draft.create" in audit
    again = admin.post_json("/admin/modeller/drafts", {"files": files, "draft_id": draft["id"]})
    assert again.status_code == 409


def test_an_older_version_can_be_made_active_again_and_new_cases_use_it(admin, admin_system):
    admin.post_json("/admin/modeller/deploy", {"files": case_handling('name="登记立案"', 'name="登记受理"')})
    latest = versions_of(admin_system)[-1][0]
    running = report(admin_system)
    assert version_of_case(admin_system, running) == latest

    response = admin.post("/admin/processes/case_handling/versions/1/activate", token_from="/admin/processes")

    assert response.status_code == 302
    assert dict(versions_of(admin_system))[1] is True
    assert version_of_case(admin_system, report(admin_system)) == 1
    assert version_of_case(admin_system, running) == latest
    admin.post(f"/admin/processes/case_handling/versions/{latest}/activate", token_from="/admin/processes")


def test_migration_through_the_forms_moves_ticked_cases_logs_them_and_reverses(admin, admin_system):
    from workflows.cases.models import Case, TimelineEntry

    old = versions_of(admin_system)[-1][0]
    numbers = [report(admin_system) for _ in range(2)]
    admin.post_json("/admin/modeller/deploy", {"files": case_handling('name="网格处置"', 'name="网格第一处置"')})
    new = versions_of(admin_system)[-1][0]

    preview = admin.get(f"/admin/processes/case_handling/migrate?from={old}&to={new}").get_data(as_text=True)
    assert all(f'data-case="{n}" data-movable="yes"' in preview for n in numbers)
    with admin_system.sessions() as session:
        ids = [session.scalar(select(Case.instance_id).where(Case.number == n)) for n in numbers]
    moved = admin.post("/admin/processes/case_handling/migrate",
                       {"from": str(old), "to": str(new), "instance": [str(i) for i in ids]},
                       token_from="/admin/processes")
    assert moved.status_code == 302
    assert [version_of_case(admin_system, n) for n in numbers] == [new, new]
    with admin_system.sessions() as session:
        entries = session.scalars(select(TimelineEntry).join(Case).where(Case.number.in_(numbers),
                                                                        TimelineEntry.kind == "migrated")).all()
        assert len(entries) == 2 and all(e.data["note_key"] == "migrated" and e.data["note_params"]["to_version"] == new
                                       for e in entries)
        tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(ids))).all()
        assert {t.name for t in tasks} <= {"登记受理", "登记立案"}
    page = admin.get("/admin/processes/case_handling").get_data(as_text=True)
    assert all(n in page for n in numbers)
    batch = page.split('data-batch="')[1].split('"')[0]

    refused = admin.post(f"/admin/migrations/{batch}/reverse", {"next": "https://evil.example/"},
                         token_from="/admin/processes")
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert [version_of_case(admin_system, n) for n in numbers] == [new, new]  # refused before acting
    reversed_ = admin.post(f"/admin/migrations/{batch}/reverse", {"next": "/cases"}, token_from="/admin/processes")

    assert reversed_.headers["Location"] == "/admin/processes"  # only admin pages are followed
    assert [version_of_case(admin_system, n) for n in numbers] == [old, old]
    assert admin.post("/admin/migrations/nope/reverse", token_from="/admin/processes").status_code == 404


def test_a_migration_with_nothing_ticked_changes_nothing(admin):
    response = admin.post("/admin/processes/case_handling/migrate", {"from": "1", "to": "2"},
                          token_from="/admin/processes")
    assert response.status_code == 302 and "migrate?" in response.headers["Location"]


def test_a_draft_can_be_deleted_and_an_unknown_one_is_named(admin):
    saved = admin.post_json("/admin/modeller/drafts", {"files": case_handling('name="网格处置"', 'name="草稿"'),
                                                       "title": "throwaway draft"}).get_json()["draft"]
    assert "throwaway draft" in admin.get("/admin/drafts").get_data(as_text=True)

    admin.post(f"/admin/drafts/{saved['id']}/delete", token_from="/admin/drafts")

    assert "throwaway draft" not in admin.get("/admin/drafts").get_data(as_text=True)
    missing = admin.get(f"/admin/modeller?draft={saved['id']}")
    assert missing.status_code == 404 and f"draft '{saved['id']}'" in missing.get_data(as_text=True).replace(
        "&#39;", "'")


def test_deploy_problems_read_in_chinese_with_their_codes_kept(admin):
    files = {**shipped_bundle(), **case_handling('value="register.schema.json"', 'value="nope.schema.json"')}
    problems = admin.post_json("/admin/modeller/validate", {"files": files}).get_json()["problems"]
    assert [p["message"] for p in problems] == ["表单 nope.schema.json 不在本次文件中：请添加该 JSON 文件"]
    assert problems[0]["file"] == "case_handling.bpmn" and problems[0]["line"] > 0
    deploy = admin.post_json("/admin/modeller/deploy", {"files": files})
    assert deploy.status_code == 422 and deploy.get_json()["problems"][0]["message"].startswith("表单 nope.schema.json")
