"""Task forms rendered from their JSON Schema: errors beside the fields, what was typed kept,
photos uploaded, and the schema <-> form translation itself."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from tests.web.conftest import PNG, at_community, do, report, task_of


def test_a_handle_form_shows_every_decision_and_only_the_fields_of_the_chosen_one(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    html = client_for("coord-hq-c04").get(f"/inbox/tasks/{task.id}").data.decode()
    for decision in ("resolve", "escalate", "dispatch", "convene", "assign_down"):
        assert f'name="decision" value="{decision}"' in html
    assert 'data-decision="dispatch convene"' in html  # departments
    assert 'data-decision="convene"' in html and 'type="datetime-local"' in html
    assert 'name="org_unit"' in html and "hq-c04-g03" in html  # the grids below the community


def test_a_form_with_missing_fields_comes_back_with_errors_beside_them_and_the_typed_values(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    client = client_for("coord-hq-c04")
    response = client.post(f"/inbox/tasks/{task.id}", {"decision": "convene", "departments": ["fire", "urban"],
                                                       "place": "社区会议室", "scheduled_at": "not a time"},
                           token_from="/inbox")
    assert response.status_code == 422
    html = response.data.decode()
    assert 'data-testid="error-topic"' in html and 'data-testid="error-urgency"' in html
    assert 'data-testid="error-scheduled_at"' in html
    assert 'value="社区会议室"' in html and 'value="not a time"' in html
    assert 'value="fire" checked' in html and 'value="urban" checked' in html
    assert 'value="convene" checked' in html
    assert task_of(system, number, "handle").id == task.id, "nothing was completed"


def test_a_domain_refusal_is_shown_beside_its_field(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    response = client_for("coord-hq-c04").post(
        f"/inbox/tasks/{task.id}", {"decision": "dispatch", "departments": ["nosuchdept"], "instructions": "x"},
        token_from="/inbox")
    assert response.status_code == 422
    html = response.data.decode()
    assert 'data-testid="error-departments"' in html and "nosuchdept" in html


def test_a_decision_not_offered_at_this_level_is_refused_beside_the_decision(client_for, system):
    number = report(system)
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    task = task_of(system, number, "handle")
    response = client_for("gw-hq-c04-g03").post(f"/inbox/tasks/{task.id}",
                                                 {"decision": "assign_down", "org_unit": "hq-c04-g01"},
                                                 token_from="/inbox")
    assert response.status_code == 422
    assert 'data-testid="error-decision"' in response.data.decode()


def test_a_department_reports_its_result_with_a_photo_attached_to_the_case(client_for, system):
    number = at_community(system)
    do(system, "coord-hq-c04", number, "handle", {"decision": "dispatch", "departments": ["urban"],
                                                  "instructions": "请处理"})
    do(system, "dept-urban", number, "dept_accept", {"decision": "accept"})
    task = task_of(system, number, "dept_result")
    client = client_for("dept-urban")
    response = client.post(f"/inbox/tasks/{task.id}", {"result": "已清理"}, token_from="/inbox",
                           files={"photos": ("after.png", PNG)})
    assert response.status_code == 302
    page = client.get(f"/cases/{number}").data.decode()
    assert "after.png" in page and "已清理" in page


def test_a_file_that_is_not_an_image_is_refused_beside_the_photos(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    response = client_for("coord-hq-c04").post(f"/inbox/tasks/{task.id}", {"decision": "resolve", "result": "好了"},
                                               token_from="/inbox", files={"photos": ("x.exe", b"MZ\x90\x00evil")})
    assert response.status_code == 422
    assert 'data-testid="error-photos"' in response.data.decode()
    assert task_of(system, number, "handle").id == task.id


def test_claiming_and_releasing_a_task_shows_who_holds_it(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    client = client_for("coord-hq-c04")
    assert client.post(f"/inbox/tasks/{task.id}/claim", token_from="/inbox").status_code == 302
    assert 'data-testid="unclaim"' in client.get(f"/inbox/tasks/{task.id}").data.decode()
    mine = client.get("/inbox?mine=1").data.decode()
    assert number in mine
    other = client_for("coord-hq-c04-2")
    assert "coord-hq-c04" in other.get(f"/inbox/tasks/{task.id}").data.decode()
    assert number not in other.get("/inbox?mine=1").data.decode()
    assert client.post(f"/inbox/tasks/{task.id}/unclaim", token_from="/inbox").status_code == 302
    assert 'data-testid="claim"' in client.get(f"/inbox/tasks/{task.id}").data.decode()


def test_inbox_filters_by_level_category_and_overdue(client_for, system):
    number = at_community(system, category="exposed_rubbish", title="垃圾堆积")
    client = client_for("coord-hq-c04")
    assert number in client.get("/inbox?level=community&category=exposed_rubbish").data.decode()
    assert number not in client.get("/inbox?category=drain_blocked").data.decode()
    assert number not in client.get("/inbox?level=grid").data.decode()
    assert number not in client.get("/inbox?overdue=1").data.decode()


# --- the schema <-> form translation ---------------------------------------------------------

def test_parse_form_keeps_only_the_chosen_decisions_fields_and_turns_local_times_into_iso(web_app):
    from web.forms import parse_form

    schema = {"type": "object", "properties": {
        "decision": {"type": "string", "enum": ["escalate", "convene"]},
        "reason": {"type": "string"}, "scheduled_at": {"type": "string", "format": "date-time"},
        "departments": {"type": "array", "items": {"type": "string"}}},
        "allOf": [{"if": {"properties": {"decision": {"const": "escalate"}}}, "then": {"required": ["reason"]}},
                  {"if": {"properties": {"decision": {"const": "convene"}}},
                   "then": {"required": ["scheduled_at", "departments"]}}]}
    form = MultiDict([("decision", "convene"), ("reason", "leftover"), ("scheduled_at", "2026-12-01T14:00"),
                      ("departments", "fire"), ("departments", "police")])
    with web_app.test_request_context():
        data, shown = parse_form(schema, form)
    assert data == {"decision": "convene", "scheduled_at": "2026-12-01T14:00:00+08:00",
                    "departments": ["fire", "police"]}
    assert shown["scheduled_at"] == "2026-12-01T14:00"


def test_parse_form_reads_repeated_rows_and_skips_empty_ones(web_app):
    from web.forms import check_form, parse_form

    schema = {"type": "object", "required": ["actions"], "properties": {"actions": {
        "type": "array", "minItems": 1, "items": {"type": "object", "required": ["department", "due_at"],
                                                  "properties": {"department": {"type": "string"},
                                                                 "due_at": {"type": "string",
                                                                            "format": "date-time"}}}}}}
    form = MultiDict([("actions-0-department", "fire"), ("actions-0-due_at", "2026-12-05T17:00"),
                      ("actions-1-department", ""), ("actions-1-due_at", ""),
                      ("actions-2-department", "urban")])
    with web_app.test_request_context():
        data, _shown = parse_form(schema, form)
        errors = check_form(schema, data)
    assert data["actions"] == [{"department": "fire", "due_at": "2026-12-05T17:00:00+08:00"},
                               {"department": "urban"}]
    assert set(errors) == {"actions.1.due_at"}


def test_photos_of_a_refused_decision_leave_no_attachment_and_no_file_behind(system):
    import pytest
    from sqlalchemy import func, select

    from workflows.cases.models import Attachment, Case
    from workflows.cases.task_forms import complete_with_photos
    from workflows.errors import Forbidden, InvalidInput

    number = at_community(system)
    task = task_of(system, number, "handle")
    before = set(system.upload_dir.iterdir())
    with pytest.raises(InvalidInput):
        complete_with_photos(system, "coord-hq-c04", task.id, {"decision": "resolve", "result": "   "},
                             [("after.png", PNG)])
    with pytest.raises(Forbidden):
        complete_with_photos(system, "coord-hq-ws2", task.id, {"decision": "resolve", "result": "好了"},
                             [("after.png", PNG)])
    with system.sessions() as session:
        count = session.scalar(select(func.count()).select_from(Attachment).join(Case).where(Case.number == number))
    assert count == 0
    assert set(system.upload_dir.iterdir()) == before
    complete_with_photos(system, "coord-hq-c04", task.id, {"decision": "resolve", "result": "好了"},
                         [("after.png", PNG)])
    assert task_of(system, number, "verify")


def test_whoever_resolved_a_case_is_told_a_colleague_must_verify_it(client_for, system):
    number = report(system, grid="hq-c04-g03")
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    do(system, "gw-hq-c04-g03", number, "handle", {"decision": "escalate", "reason": "上报"})
    do(system, "coord-hq-c04", number, "handle", {"decision": "escalate", "reason": "上报"})
    do(system, "coord-hq-ws2", number, "handle", {"decision": "escalate", "reason": "上报"})
    do(system, "coord-huqiu", number, "handle", {"decision": "escalate", "reason": "上报"})
    do(system, "coord-district", number, "handle", {"decision": "resolve", "result": "区里协调解决"})
    task = task_of(system, number, "verify")
    assert 'data-testid="not-your-verification"' in client_for("coord-district").get(
        f"/inbox/tasks/{task.id}").data.decode()
    assert 'data-testid="submit-task"' in client_for("coord-district-2").get(f"/inbox/tasks/{task.id}").data.decode()


def test_reminded_and_overdue_tasks_are_highlighted_in_the_inbox(client_for, system):
    from datetime import timedelta

    from sqlalchemy import update

    from engine.storage.models import HumanTask
    from workflows.clock import now

    reminded, overdue = at_community(system, title="催办"), at_community(system, title="逾期")
    with system.sessions() as session, session.begin():
        session.execute(update(HumanTask).where(HumanTask.business_key == reminded).values(reminded_at=now()))
        session.execute(update(HumanTask).where(HumanTask.business_key == overdue)
                        .values(due_at=now() - timedelta(hours=1)))
    html = client_for("coord-hq-c04").get("/inbox").data.decode()
    assert f'<tr class="reminded" data-case="{reminded}"' in html
    assert f'<tr class="overdue" data-case="{overdue}"' in html
    only_overdue = client_for("coord-hq-c04").get("/inbox?overdue=1").data.decode()
    assert overdue in only_overdue and reminded not in only_overdue


def test_a_bad_or_too_large_fund_amount_is_refused_on_the_case_page_keeping_what_was_typed(client_for, system):
    number = at_community(system)
    client = client_for("coord-hq-c04")
    bad = client.post(f"/cases/{number}/fund", {"amount": "twelve", "purpose": "换水管"}, token_from="/inbox")
    assert bad.status_code == 422
    html = bad.data.decode()
    assert 'data-testid="fund-error"' in html and "twelve" in html and 'value="换水管"' in html
    too_much = client.post(f"/cases/{number}/fund", {"amount": "99999999", "purpose": "换水管", "payee": "王某"},
                           token_from="/inbox")
    assert too_much.status_code == 422 and 'data-testid="fund-error"' in too_much.data.decode()
    message = too_much.data.decode().split('data-testid="fund-error">')[1].split("<")[0]
    assert message.startswith("专项经费余额为 ") and message.endswith(" 元，无法支出 99999999.00 元。"), message
    assert "本工单尚无经费支出" in client.get(f"/cases/{number}").data.decode(), "nothing was paid"


def test_a_department_sees_the_instructions_and_a_summoned_one_the_meeting_on_its_task(client_for, system):
    from tests.web.conftest import with_meeting

    number = at_community(system)
    do(system, "coord-hq-c04", number, "handle", {"decision": "dispatch", "departments": ["urban"],
                                                  "instructions": "三日内清理占道摊点"})
    html = client_for("dept-urban").get(f"/inbox/tasks/{task_of(system, number, 'dept_accept').id}").data.decode()
    assert 'data-testid="instructions"' in html and "三日内清理占道摊点" in html
    number, _meeting = with_meeting(system, departments=("fire",), topic="车棚飞线")
    html = client_for("dept-fire").get(f"/inbox/tasks/{task_of(system, number, 'report_to_duty').id}").data.decode()
    assert 'data-testid="meeting-summary"' in html and "车棚飞线" in html and "社区会议室" in html


def test_the_district_centre_records_a_hotline_case_that_waits_for_its_registration(client_for, system):
    client = client_for("coord-district")
    assert 'data-testid="new-case"' in client.get("/cases").data.decode()
    refused = client.post("/cases/new", {"source": "hotline", "title": "", "category": "", "phone": "x1"},
                          token_from="/cases/new")
    assert refused.status_code == 422
    html = refused.data.decode()
    for field in ("title", "category", "grid", "phone"):
        assert f'data-testid="error-{field}"' in html
    response = client.post("/cases/new", {"source": "hotline", "title": "春节期间楼道漏水", "category": "drain_blocked",
                                          "address": "虎丘路88号3幢", "name": "李先生", "phone": "13900001111"},
                           token_from="/cases/new")
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[-1]
    assert task_of(system, number, "register").org_unit == "district"
    for who in ("gw-hq-c04-g03", "dept-urban", "leader"):
        assert client_for(who).get("/cases/new").status_code == 403, who
