"""Hostile and odd input: never a 500, scripts always shown escaped, no form without its CSRF token."""

from __future__ import annotations

import pytest

from tests.web.conftest import Client, at_community, do, report, task_of, with_meeting

SCRIPT = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert("


def test_a_script_in_a_description_and_title_is_shown_escaped_on_every_page_that_shows_it(client_for, anonymous,
                                                                                             system):
    number, meeting_id = with_meeting(system, departments=("fire", "housing"), topic=f"议题{SCRIPT}")
    from sqlalchemy import update

    from workflows.cases.models import Case
    from workflows.cases.reporting import set_query_code
    from workflows.reference.models import Category

    with system.sessions() as session, session.begin():
        session.execute(update(Case).where(Case.number == number)
                        .values(title=f"标题{SCRIPT}", description=f"描述{SCRIPT}"))
        session.execute(update(Category).where(Category.code == "dangerous_wiring").values(public=True))
    set_query_code(system, number, "ABCD2345")  # a public category's title shows on /track
    anonymous.post("/track", {"number": number, "code": "ABCD2345"}, token_from="/track")
    coordinator = client_for("coord-hq-c04")
    pages = {
        "case page": coordinator.get(f"/cases/{number}"),
        "case list": coordinator.get("/cases"),
        "inbox": client_for("dept-fire").get("/inbox"),
        "task page": client_for("dept-fire").get(f"/inbox/tasks/{task_of(system, number, 'report_to_duty').id}"),
        "meeting page": coordinator.get(f"/meetings/{meeting_id}"),
        "patrol page": client_for("gw-hq-c04-g03").get("/patrol"),
        "public tracking": anonymous.get(f"/track?number={number}"),
    }
    for name, response in pages.items():
        html = response.data.decode()
        assert response.status_code == 200, name
        assert SCRIPT not in html, f"unescaped script on the {name}"
        assert ESCAPED in html, f"the {name} does not show the text at all"


def test_a_script_typed_into_a_form_comes_back_escaped(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    response = client_for("coord-hq-c04").post(f"/inbox/tasks/{task.id}", {"decision": "convene", "place": SCRIPT},
                                               token_from="/inbox")
    assert response.status_code == 422
    assert SCRIPT not in response.data.decode() and ESCAPED in response.data.decode()


@pytest.mark.parametrize("path", ["/report", "/track/GL20261121-0001/rate", "/logout", "/inbox/tasks/x/claim",
                                  "/notifications/read", "/patrol", "/cases/GL20261121-0001/fund", "/login"])
def test_a_post_without_a_csrf_token_is_refused(client_for, path):
    client = client_for("gw-hq-c04-g03")
    response = client.flask.post(path, data={"anything": "1"})
    assert response.status_code == 400
    assert "CSRF" in response.data.decode() or "表单已过期" in response.data.decode()


def test_a_task_is_not_completed_by_a_post_without_its_csrf_token(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    response = client_for("coord-hq-c04").flask.post(f"/inbox/tasks/{task.id}",
                                                     data={"decision": "resolve", "result": "好了"})
    assert response.status_code == 400
    assert task_of(system, number, "handle").id == task.id


ODD = ["", " ", "x" * 5000, "%00", "../../etc/passwd", SCRIPT, "'; DROP TABLE cases; --", "１２３", "NaN", "-1",
       "1e309", "GL20261121-0001\n", "😀", "\u202e"]


def test_odd_values_in_addresses_and_queries_never_give_a_500(client_for, anonymous, system):
    coordinator = client_for("coord-hq-c04")
    for value in ODD:
        for client, path in ((anonymous, f"/track?number={value}"), (coordinator, f"/cases/{value}"),
                             (coordinator, f"/inbox/tasks/{value}"), (coordinator, f"/cases?q={value}&status={value}"),
                             (coordinator, f"/inbox?level={value}&category={value}&overdue={value}"),
                             (coordinator, f"/lang/{value}"), (coordinator, f"/cases?page={value}"),
                             (coordinator, f"/notifications?unread={value}")):
            response = client.get(path)
            assert response.status_code < 500, (path, response.status_code)
    for path in ("/meetings/0", "/meetings/99999999999999999999", "/cases/x/attachments/1"):
        assert coordinator.get(path).status_code in (404, 403), path


def test_odd_values_in_every_form_never_give_a_500(client_for, anonymous, system):
    number = at_community(system)
    coordinator = client_for("coord-hq-c04")
    handle = task_of(system, number, "handle")
    grid = client_for("gw-hq-c04-g03")
    for value in ODD:
        forms = [
            (anonymous, "/report", {"category": value, "description": value, "grid": value, "address": value,
                                    "phone": value, "name": value}, "/report"),
            (anonymous, f"/track/{number}/rate", {"rating": value, "comment": value}, "/report"),
            (coordinator, f"/inbox/tasks/{handle.id}", {"decision": value, "result": value}, "/inbox"),
            (coordinator, f"/inbox/tasks/{handle.id}", {
                "decision": "convene", "departments": [value, "fire"], "scheduled_at": value, "place": value,
                "topic": value, "urgency": value}, "/inbox"),
            (coordinator, f"/inbox/tasks/{handle.id}", {"decision": "assign_down", "org_unit": value}, "/inbox"),
            (coordinator, f"/inbox/tasks/{handle.id}", {"decision": "dispatch", "departments": value,
                                                         "instructions": value}, "/inbox"),
            (coordinator, f"/cases/{number}/fund", {"amount": value, "purpose": value}, "/inbox"),
            (grid, "/patrol", {"category": value, "title": value, "self_close": "1", "result": value}, "/patrol"),
            (anonymous, "/login", {"username": value, "password": value}, "/login"),
        ]
        for client, path, data, token_from in forms:
            response = client.post(path, data, token_from=token_from)
            assert response.status_code < 500, (path, value, response.status_code, response.data[-500:])
    assert task_of(system, number, "handle").id == handle.id, "no odd value completed the task"


def test_a_resolution_with_broken_action_rows_is_refused_beside_them(client_for, system):
    number, _meeting = with_meeting(system, departments=("fire",))
    do(system, "dept-fire", number, "report_to_duty", {"delegate": "张科长"})
    task = task_of(system, number, "resolution")
    response = client_for("coord-hq-c04").post(f"/inbox/tasks/{task.id}", {
        "minutes": "纪要", "lead_department": "fire", "actions-0-department": "nosuch", "actions-0-action": "做",
        "actions-0-due_at": "2026-13-45T99:00", "actions-1-action": "只有内容"}, token_from="/inbox")
    assert response.status_code == 422
    html = response.data.decode()
    assert 'data-testid="error-actions.0.due_at"' in html
    assert 'data-testid="error-actions.1.department"' in html
    assert 'value="2026-13-45T99:00"' in html, "what was typed is kept"


def test_a_too_large_upload_is_a_413_page_not_a_500(web_app):
    client = Client(web_app)
    token = client.token("/report")
    response = client.flask.post("/report", data={"csrf_token": token, "photo": (__import__("io").BytesIO(
        b"\xff\xd8\xff" + b"0" * (17 * 1024 * 1024)), "big.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 413


def test_report_then_refused_verification_by_the_resolver_is_a_403_page(client_for, system):
    number = report(system)
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    do(system, "gw-hq-c04-g03", number, "handle", {"decision": "resolve", "result": "已清理"})
    task = task_of(system, number, "verify")
    response = client_for("coord-hq-c04").get(f"/inbox/tasks/{task.id}")
    assert response.status_code == 200


@pytest.mark.parametrize("script", ["x", "意"])
def test_a_200000_character_comment_is_refused_as_text_naming_the_field_and_the_limit(client_for, system, script):
    number = report(system)
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    task = task_of(system, number, "handle")
    worker = client_for("gw-hq-c04-g03")
    response = worker.post(f"/inbox/tasks/{task.id}", {"decision": "resolve", "result": script * 200_000},
                           token_from=f"/inbox/tasks/{task.id}")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "result" in page and "200,000" in page and "20,000" in page
    assert "Send smaller photos" not in page and "压缩" not in page
    assert task_of(system, number, "handle").id == task.id, "nothing was completed"


def test_a_photo_too_large_is_still_refused_as_an_upload(web_app):
    client = Client(web_app)
    token = client.token("/report")
    response = client.flask.post("/report", data={"csrf_token": token, "description": "楼道堵塞" * 3,
                                                   "photo": (__import__("io").BytesIO(
        b"\xff\xd8\xff" + b"0" * (17 * 1024 * 1024)), "big.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 413 and "16 MB" in response.get_data(as_text=True)
