"""Open311 reads show what a public notice board would: no description, reporter, point or address
of a case unless its category is public; a staff api_key reads what that account may read. A
POST's answer gives the reporter's query code."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from tests.web import api_world
from tests.web.api_world import Api
from workflows.admin.settings import save_category
from workflows.cases.reporting import public_case_view

api_template, api = api_world.api_template, api_world.api

PRIVATE = ("隔壁王家疑似发热", "虎丘路88号3幢201", "王阿姨", "13812345678")


def exposure(api: Api, category: str = "drain_blocked") -> str:
    """A neighbour's suspected epidemic exposure, reported by phone in grid hq-c04-g03."""
    return api.report(title="发热排查", description="隔壁王家疑似发热，请上门排查", category=category,
                      address="虎丘路88号3幢201", reporter={"name": "王阿姨", "phone": "13812345678"})


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_anonymous_reads_show_category_status_times_and_grid_but_nothing_private(api: Api, fmt: str):
    number = exposure(api)
    for path in (f"/open311/v2/requests.{fmt}", f"/open311/v2/requests/{number}.{fmt}"):
        response = api.client.get(path)
        assert response.status_code == 200
        body = response.data.decode()
        assert number in body
        for private in PRIVATE:
            assert private not in body, (path, private)
    if fmt == "json":
        [item] = api.client.get(f"/open311/v2/requests/{number}.json").get_json()
        assert item["service_code"] == "drain_blocked" and item["status"] == "open"
        assert item["description"] is None and item["lat"] is None and item["long"] is None
        assert item["address"] and item["requested_datetime"] and item["status_notes"]
    else:
        request = ET.fromstring(api.client.get(f"/open311/v2/requests/{number}.xml").data).find("request")
        assert (request.findtext("description"), request.findtext("lat"), request.findtext("long")) == ("", "", "")


def test_a_public_category_shows_its_cases_description_and_place(api: Api):
    system = api.system
    save_category(system, "admin", "drain_blocked", "下水管道堵塞", "component", "housing", "P5D", public=True)
    number = exposure(api)
    [item] = api.client.get(f"/open311/v2/requests/{number}.json").get_json()
    assert item["description"] == "隔壁王家疑似发热，请上门排查" and item["address"] == "虎丘路88号3幢201"
    assert "王阿姨" not in str(item) and "13812345678" not in str(item), "never the reporter"


def test_a_staff_api_key_reads_the_private_fields_of_its_own_cases_only(api: Api):
    number = exposure(api)  # in grid hq-c04-g03
    for user, sees in (("gw", True), ("coord-c04", True), ("coord-c05", False), ("admin", True)):
        [item] = api.client.get(f"/open311/v2/requests/{number}.json?api_key={api.tokens[user]}").get_json()
        assert (item["description"] == "隔壁王家疑似发热，请上门排查") is sees, user
        listed = [i for i in api.client.get(f"/open311/v2/requests.json?api_key={api.tokens[user]}").get_json()
                  if i["service_request_id"] == number]
        assert len(listed) == 1 and (listed[0]["address"] == "虎丘路88号3幢201") is sees, user
    refused = api.client.get(f"/open311/v2/requests/{number}.json?api_key=glk_wrong")
    assert refused.status_code == 403 and refused.get_json()[0]["code"] == 403


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_posting_a_request_answers_the_reporters_query_code_once(api: Api, fmt: str):
    response = api.client.post(f"/open311/v2/requests.{fmt}", data={
        "api_key": api.tokens["admin"], "service_code": "drain_blocked", "address_string": "虎丘路88号",
        "description": "楼道下水管堵塞"})
    assert response.status_code == 201
    if fmt == "json":
        [created] = response.get_json()
    else:
        element = ET.fromstring(response.data).find("request")
        created = {child.tag: child.text for child in element}
    code, number = created["query_code"], created["service_request_id"]
    assert code in created["service_notice"] and "token" not in created  # the spec: token XOR id
    assert public_case_view(api.system, number, code)["number"] == number
    again = api.client.get(f"/open311/v2/requests/{number}.{fmt}").data.decode()
    assert code not in again
