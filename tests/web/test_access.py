"""Who may open which page: every page for every role, allowed or denied, and tasks, cases,
meetings and photos of someone else opened by id."""

from __future__ import annotations

import pytest

from tests.web.conftest import PNG, at_community, report, task_of, with_meeting

ROLES = ["anonymous", "admin", "leader", "coord-hq-c04", "gw-hq-c04-g03", "dept-urban"]

# path -> the roles that may open it (everyone else: 403, or the sign-in page when anonymous)
PAGES = {
    "/report": set(ROLES),
    "/track": set(ROLES),
    "/inbox": {"admin", "coord-hq-c04", "gw-hq-c04-g03", "dept-urban"},
    "/patrol": {"gw-hq-c04-g03"},
    "/cases": {"admin", "leader", "coord-hq-c04", "gw-hq-c04-g03", "dept-urban"},
    "/notifications": {"admin", "leader", "coord-hq-c04", "gw-hq-c04-g03", "dept-urban"},
    "/cases/new": {"admin", "coord-hq-c04"},
}


@pytest.fixture(scope="module")
def clients(web_app):
    from tests.web.conftest import Client

    return {name: Client(web_app, None if name == "anonymous" else name) for name in ROLES}


def expect(response, allowed: bool, who: str) -> None:
    if allowed:
        assert response.status_code == 200, (who, response.status_code)
    elif who == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"], who
    else:
        assert response.status_code == 403, (who, response.status_code)


@pytest.mark.parametrize("path", sorted(PAGES))
@pytest.mark.parametrize("who", ROLES)
def test_every_page_is_open_to_its_roles_and_closed_to_the_others(clients, path, who):
    expect(clients[who].get(path), who in PAGES[path], who)


def test_the_sign_in_page_sends_signed_in_users_to_their_start_page(clients):
    starts = {"admin": "/inbox", "leader": "/dashboard", "coord-hq-c04": "/inbox", "gw-hq-c04-g03": "/patrol",
              "dept-urban": "/inbox"}
    assert clients["anonymous"].get("/login").status_code == 200
    for who, start in starts.items():
        response = clients[who].get("/login")
        assert response.status_code == 302 and response.headers["Location"].endswith(start), who


def test_a_case_page_is_open_to_its_grid_its_chain_of_units_leaders_and_admins_only(client_for, system):
    number = report(system)
    allowed = {"gw-hq-c04-g03", "coord-hq-c04", "coord-hq-ws2", "coord-huqiu", "coord-district", "leader", "admin"}
    denied = {"gw-hq-c04-g01", "dept-urban", "dept-police"}
    for who in allowed | denied:
        expect(client_for(who).get(f"/cases/{number}"), who in allowed, who)
    expect(client_for().get(f"/cases/{number}"), False, "anonymous")


def test_a_department_sees_a_case_once_it_is_dispatched_to_it_without_the_reporters_phone(client_for, system):
    from tests.web.conftest import do

    number = at_community(system, reporter={"name": "王阿姨", "phone": "13812345678"})
    urban = client_for("dept-urban")
    assert urban.get(f"/cases/{number}").status_code == 403
    do(system, "coord-hq-c04", number, "handle", {"decision": "dispatch", "departments": ["urban"],
                                                  "instructions": "请处理"})
    page = urban.get(f"/cases/{number}")
    assert page.status_code == 200
    task_page = urban.get(f"/inbox/tasks/{task_of(system, number, 'dept_accept').id}")
    for html in (page.data.decode(), task_page.data.decode()):
        assert "13812345678" not in html and "王阿姨" not in html
        assert "138****5678" in html
    assert "13812345678" in client_for("coord-hq-c04").get(f"/cases/{number}").data.decode()


def test_another_departments_task_opened_by_id_is_refused_and_nothing_changes(client_for, system):
    number, _meeting = with_meeting(system, departments=("fire", "housing"))
    fire_task = next(t for t in [task_of(system, number, "report_to_duty")] if t.department in ("fire", "housing"))
    owner = f"dept-{fire_task.department}"
    for who in ("dept-police", "dept-urban", "coord-hq-c04", "gw-hq-c04-g03", "leader"):
        client = client_for(who)
        assert client.get(f"/inbox/tasks/{fire_task.id}").status_code == 403, who
        refused = client.post(f"/inbox/tasks/{fire_task.id}", {"delegate": "冒名顶替"}, token_from="/cases")
        assert refused.status_code == 403, who
        assert client.post(f"/inbox/tasks/{fire_task.id}/claim", token_from="/cases").status_code == 403, who
    assert task_of(system, number, "report_to_duty").id == fire_task.id, "the task is still open"
    assert client_for(owner).get(f"/inbox/tasks/{fire_task.id}").status_code == 200


def test_a_task_that_is_no_longer_open_sends_back_to_the_inbox_saying_so(client_for, system):
    from tests.web.conftest import do

    client = client_for("coord-hq-c04")
    response = client.get("/inbox/tasks/no-such-task", follow_redirects=True)
    assert response.request.path == "/inbox" and "no-such-task" in response.data.decode()
    number = at_community(system)
    task = task_of(system, number, "handle")
    do(system, "coord-hq-c04-2", number, "handle", {"decision": "resolve", "result": "同事已办结"})
    late = client.post(f"/inbox/tasks/{task.id}", {"decision": "resolve", "result": "我也办结"}, token_from="/inbox")
    assert late.status_code == 302 and late.headers["Location"] == "/inbox"
    assert "已不再待办" in client.get("/inbox").data.decode()


def test_a_meeting_is_open_to_its_summoned_departments_and_the_case_scope_only(client_for, system):
    _number, meeting_id = with_meeting(system, departments=("fire", "housing"))
    allowed = {"dept-fire", "dept-housing", "coord-hq-c04", "coord-hq-ws2", "leader", "admin"}
    denied = {"dept-police", "gw-hq-c04-g01"}
    for who in allowed | denied:
        expect(client_for(who).get(f"/meetings/{meeting_id}"), who in allowed, who)
    assert client_for("admin").get("/meetings/999999").status_code == 404


def test_photos_are_served_only_to_those_who_may_read_the_case(client_for, system):
    from sqlalchemy import select

    from workflows.cases.models import Attachment, Case

    number = report(system, photos=[("drain.png", PNG)])
    with system.sessions() as session:
        attachment_id = session.scalar(select(Attachment.id).join(Case).where(Case.number == number))
    path = f"/cases/{number}/attachments/{attachment_id}"
    ok = client_for("coord-hq-c04").get(path)
    assert ok.status_code == 200 and ok.data == PNG and ok.mimetype == "image/png"
    assert ok.headers["X-Content-Type-Options"] == "nosniff"
    assert client_for("gw-hq-c04-g01").get(path).status_code == 403
    assert client_for("dept-urban").get(path).status_code == 403
    assert client_for().get(path).status_code == 302
    other = report(system)
    assert client_for("coord-hq-c04").get(f"/cases/{other}/attachments/{attachment_id}").status_code == 404


def test_only_coordinators_of_the_cases_workstation_or_community_may_spend_the_fund(client_for, system):
    number = at_community(system)
    form = {"amount": "120.50", "purpose": "更换下水管", "payee": "虎丘水电维修部"}
    assert client_for("dept-urban").post(f"/cases/{number}/fund", form, token_from="/cases").status_code == 403
    assert client_for("gw-hq-c04-g03").post(f"/cases/{number}/fund", form, token_from="/cases").status_code == 403
    refused = client_for("coord-huqiu").post(f"/cases/{number}/fund", form, token_from="/cases")
    assert refused.status_code == 403
    paid = client_for("coord-hq-ws2").post(f"/cases/{number}/fund", form, token_from="/cases")
    assert paid.status_code == 302
    page = client_for("coord-hq-c04").get(f"/cases/{number}").data.decode()
    assert "¥120.50" in page and "更换下水管" in page


def test_every_form_is_refused_to_roles_that_may_not_send_it(client_for, system):
    number = at_community(system)
    task = task_of(system, number, "handle")
    refused = {
        "/patrol": ("coord-hq-c04", "dept-urban", "leader", "admin"),
        f"/inbox/tasks/{task.id}": ("leader", "dept-urban", "gw-hq-c04-g03", "coord-hq-ws2"),
        f"/inbox/tasks/{task.id}/claim": ("leader", "dept-urban", "gw-hq-c04-g03"),
        f"/inbox/tasks/{task.id}/unclaim": ("leader", "dept-urban"),
        f"/cases/{number}/fund": ("leader", "dept-urban", "gw-hq-c04-g03"),
    }
    for path, people in refused.items():
        for who in people:
            response = client_for(who).post(path, {"decision": "resolve", "result": "x", "amount": "1",
                                                   "purpose": "x", "category": "drain_blocked", "title": "x"},
                                            token_from="/cases")
            assert response.status_code == 403, (path, who, response.status_code)
        anonymous = client_for().post(path, {}, token_from="/report")
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], path
    assert task_of(system, number, "handle").id == task.id and task_of(system, number, "handle").claimed_by is None
