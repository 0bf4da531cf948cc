"""The evidence is where the decision is made: the verifier sees the handler's result and result
photos, a reworked task opens with the rework comment, and /track shows the handling unit and the
result photos (never the reporter's own)."""

from __future__ import annotations

import html
import re

from tests.web.conftest import Client, do, make_png, report, task_of


def resolved_with_photo(client_for, system, **report_fields) -> str:
    number = report(system, **report_fields)
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    task = task_of(system, number, "handle")
    worker = client_for("gw-hq-c04-g03")
    response = worker.post(f"/inbox/tasks/{task.id}", {"decision": "resolve", "result": "已疏通下水管，清理污水"},
                           token_from=f"/inbox/tasks/{task.id}", files={"photos": ("after.png", make_png())})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return number


def test_the_verifier_sees_the_handlers_result_and_result_photos_on_the_task(client_for, system):
    number = resolved_with_photo(client_for, system)
    task = task_of(system, number, "verify")
    page = html.unescape(client_for("coord-hq-c04").get(f"/inbox/tasks/{task.id}").get_data(as_text=True))
    block = page.split('data-testid="handler-result"')[1].split("</section>")[0]
    assert "已疏通下水管，清理污水" in block and "陈雪琴" in block
    photo = re.search(r'src="(/cases/[^"]+/attachments/\d+)"', block).group(1)
    assert client_for("coord-hq-c04").get(photo).status_code == 200


def test_the_task_api_answers_the_evidence_too(client_for, system, web_app):
    from workflows.people.tokens import create_token

    number = resolved_with_photo(client_for, system)
    task = task_of(system, number, "verify")
    token = create_token(system, "coord-hq-c04", "test")
    body = web_app.test_client().get(f"/api/v1/tasks/{task.id}", headers={"Authorization": f"Bearer {token}"}).json
    assert body["evidence"]["result"]["text"] == "已疏通下水管，清理污水"
    assert [p["filename"] for p in body["evidence"]["photos"]] == ["after.png"]
    assert body["evidence"]["rework"] is None


def test_the_latest_rework_comment_sits_at_the_top_of_the_redone_task(client_for, system):
    number = report(system)
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    do(system, "gw-hq-c04-g03", number, "handle", {"decision": "resolve", "result": "已清理"})
    do(system, "coord-hq-c04", number, "verify", {"decision": "rework", "comment": "第一次：没有清干净"})
    do(system, "gw-hq-c04-g03", number, "handle", {"decision": "resolve", "result": "再次清理"})
    do(system, "coord-hq-c04", number, "verify", {"decision": "rework", "comment": "第二次：井盖未复位"})
    task = task_of(system, number, "handle")
    page = html.unescape(client_for("gw-hq-c04-g03").get(f"/inbox/tasks/{task.id}").get_data(as_text=True))
    form = page.split('data-testid="task-form"')[1]
    assert form.index('data-testid="rework-comment"') < form.index("<form")
    comment = form.split('data-testid="rework-comment"')[1].split("</div>")[0]
    assert "第二次：井盖未复位" in comment and "第一次" not in comment


def test_a_first_handling_task_shows_no_rework_block(client_for, system):
    number = report(system)
    do(system, "gw-hq-c04-g03", number, "register", {"decision": "accept"})
    task = task_of(system, number, "handle")
    page = client_for("gw-hq-c04-g03").get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="rework-comment"' not in page and 'data-testid="handler-result"' not in page


def tracked(web_app, system, number: str) -> tuple[Client, str]:
    from workflows.cases.reporting import set_query_code

    set_query_code(system, number, "ABCD2345")
    resident = Client(web_app)
    resident.post("/track", {"number": number, "code": "ABCD2345"}, token_from="/track")
    return resident, html.unescape(resident.get(f"/track?number={number}").get_data(as_text=True))


def test_track_shows_the_handling_unit_and_only_the_result_photos(client_for, system, web_app):
    number = resolved_with_photo(client_for, system, photos=[("mine.png", make_png(40, 30))])
    resident, page = tracked(web_app, system, number)
    from workflows.cases.lookups import get_case

    with system.sessions() as session:
        unit = get_case(session, number).org_unit.name
    assert page.split('data-testid="handling-unit">')[1].split("</dd>")[0] == unit
    links = re.findall(r'src="(/track/[^"]+/photos/(\d+))"', page.split('data-testid="track-photos"')[1])
    assert len(links) == 1, "the handler's result photo only, not the reporter's"
    assert resident.get(links[0][0]).status_code == 200
    with system.sessions() as session:
        from sqlalchemy import select

        from workflows.cases.models import Attachment
        own = session.scalar(select(Attachment.id).where(Attachment.filename == "mine.png"))
    assert resident.get(f"/track/{number}/photos/{own}").status_code == 404
    assert Client(web_app).get(links[0][0]).status_code == 404, "no photo without the query code"
