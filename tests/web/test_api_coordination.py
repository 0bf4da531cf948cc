"""The API of documents and the fund: issue and list documents, fetch their PDF (scoped), propose,
list and decide fund spends, each refusal with the one error shape and a clear message."""

from __future__ import annotations

import io
from datetime import timedelta

from tests.integration.test_trust import png
from tests.web import api_world
from tests.web.api_world import Api
from workflows.admin.settings import set_budget
from workflows.clock import local_today, now
from workflows.coordination import fund

api_template, api = api_world.api_template, api_world.api


def at_community(api: Api) -> str:
    number = api.report()
    api.complete(number, "gw", decision="accept")
    api.complete(number, "gw", decision="escalate", reason="需社区处理")
    return number


def deadline() -> str:
    return (now() + timedelta(days=5)).isoformat()


def test_a_coordinator_issues_a_notice_lists_it_and_prints_it(api: Api):
    number = at_community(api)
    body = {"kind": "notice", "addressee": {"kind": "outside", "name": "房东王某"}, "requirement": "拆除飞线",
            "deadline": deadline()}
    issued = api.post(f"/api/v1/cases/{number}/documents", "coord-c04", json=body)
    assert issued.status_code == 201, issued.get_json()
    document = issued.get_json()
    assert document["number"].startswith("整改〔") and document["state"] == "issued"
    listed = api.get(f"/api/v1/cases/{number}/documents", "coord-ws2").get_json()
    assert (listed["total"], listed["items"][0]["id"]) == (1, document["id"])
    pdf = api.get(f"/api/v1/documents/{document['id']}.pdf", "coord-c04")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    served = api.post(f"/api/v1/documents/{document['id']}/state", "coord-c04", json={"state": "served"})
    assert served.get_json()["state"] == "served"


def test_documents_are_refused_outside_scope_and_with_bad_values(api: Api):
    number = at_community(api)
    body = {"kind": "notice", "addressee": {"kind": "outside", "name": "王某"}, "requirement": "整改",
            "deadline": deadline()}
    outside = api.post(f"/api/v1/cases/{number}/documents", "coord-c05", json=body)
    assert outside.status_code == 403 and "may not issue documents" in outside.get_json()["error"]["message"]
    past = api.post(f"/api/v1/cases/{number}/documents", "coord-c04",
                    json={**body, "deadline": (now() - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and "has passed" in past.get_json()["error"]["message"]
    wrong = api.post(f"/api/v1/cases/{number}/documents", "coord-c04", json={**body, "kind": "memo"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["details"][0]["field"] == "kind"
    issued = api.post(f"/api/v1/cases/{number}/documents", "coord-c04", json=body).get_json()
    assert api.get(f"/api/v1/documents/{issued['id']}.pdf", "coord-c05").status_code == 403
    assert api.get(f"/api/v1/cases/{number}/documents", "coord-c05").status_code == 403
    assert api.get("/api/v1/documents/999999.pdf", "coord-c04").status_code == 404


def test_fund_spends_through_the_api_with_approval_above_the_threshold(api: Api):
    set_budget(api.system, "admin", "hq-ws2", local_today().year, "3000")
    fund.set_control(api.system, "admin", "hq-ws2", "1000", chief="coord-ws2")
    number = at_community(api)
    small = api.post(f"/api/v1/cases/{number}/fund-spends", "coord-c04",
                     data={"amount_cents": "20000", "payee": "水电维修部", "purpose": "换阀门",
                           "receipt": (io.BytesIO(png()), "r.png")})
    assert small.status_code == 201, small.get_json()
    assert (small.get_json()["status"], small.get_json()["receipt"]) == ("approved", True)
    big = api.post(f"/api/v1/cases/{number}/fund-spends", "coord-c04",
                   json={"amount_cents": 150_000, "payee": "水电维修部", "purpose": "换整根落水管"}).get_json()
    assert big["status"] == "proposed"
    own = api.post(f"/api/v1/fund-spends/{big['id']}/decision", "coord-c04", json={"decision": "approve"})
    assert own.status_code == 403 and "may not approve it too" in own.get_json()["error"]["message"]
    approved = api.post(f"/api/v1/fund-spends/{big['id']}/decision", "coord-ws2", json={"decision": "approve"})
    assert approved.status_code == 200 and approved.get_json()["balance_cents"] == 130_000
    again = api.post(f"/api/v1/fund-spends/{big['id']}/decision", "coord-ws2", json={"decision": "refuse"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    listed = api.get(f"/api/v1/cases/{number}/fund-spends", "coord-ws2").get_json()
    assert [s["status"] for s in listed["items"]] == ["approved", "approved"]


def test_fund_spends_are_refused_outside_scope_overdrawn_or_malformed(api: Api):
    set_budget(api.system, "admin", "hq-ws2", local_today().year, "100")
    number = at_community(api)
    body = {"amount_cents": 500, "payee": "王某", "purpose": "修"}
    outside = api.post(f"/api/v1/cases/{number}/fund-spends", "coord-c05", json=body)
    assert outside.status_code == 403 and "outside hq-c05" in outside.get_json()["error"]["message"]
    too_much = api.post(f"/api/v1/cases/{number}/fund-spends", "coord-c04", json={**body, "amount_cents": 20_000})
    assert too_much.status_code == 409 and "cannot be spent" in too_much.get_json()["error"]["message"]
    no_payee = api.post(f"/api/v1/cases/{number}/fund-spends", "coord-c04", json={"amount_cents": 5, "purpose": "x"})
    assert no_payee.status_code == 422 and no_payee.get_json()["error"]["details"][0]["field"] == "payee"
