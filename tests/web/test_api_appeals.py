"""Appeals over HTTP: POST /api/v1/cases/<number>/appeals by the charged party, decided by the centre."""

from __future__ import annotations

from tests.web import api_world
from tests.web.api_world import Api

api_template, api = api_world.api_template, api_world.api


def test_a_returned_dispatch_is_appealed_by_the_dispatcher_and_upheld_by_the_centre(api: Api):
    number, accept = api.dispatched("police")
    api.post(f"/api/v1/tasks/{accept['id']}/complete", "dept-police", json={"decision": "return", "reason": "非本部门"})
    charges = api.get(f"/api/v1/cases/{number}/charges", "gw").get_json()
    assert [c["kind"] for c in charges] == ["inaccurate_dispatch"]
    assert api.get(f"/api/v1/cases/{number}/charges", "dept-police").get_json() == []
    refused = api.post(f"/api/v1/cases/{number}/appeals", "dept-police", json={"charge": charges[0]["id"],
                                                                                "reason": "x"})
    assert refused.status_code == 403
    bad = api.post(f"/api/v1/cases/{number}/appeals", "gw", json={"charge": "one", "reason": "x"})
    assert bad.status_code in (400, 422)
    filed = api.post(f"/api/v1/cases/{number}/appeals", "gw", json={"charge": charges[0]["id"],
                                                                     "reason": "类别由热线指定"})
    assert filed.status_code == 201, filed.get_json()
    appeal = filed.get_json()
    assert [a["id"] for a in api.get("/api/v1/appeals", "coord-c04").get_json()] == [appeal["id"]]
    assert api.post(f"/api/v1/appeals/{appeal['id']}/decision", "coord-c05",
                    json={"decision": "upheld"}).status_code == 403
    decided = api.post(f"/api/v1/appeals/{appeal['id']}/decision", "coord-c04", json={"decision": "upheld"})
    assert decided.status_code == 200 and decided.get_json()["charge_status"] == "withdrawn"
    assert api.get(f"/api/v1/cases/{number}/charges", "gw").get_json()[0]["status"] == "withdrawn"
