"""Open311 GeoReport v2: every response, JSON and XML, errors included, validates against the
GeoReport v2 JSON Schemas published by the Open311 project (../shared/open311/georeport-v2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.web import api_world
from tests.web.api_world import Api
from workflows.people.tokens import revoke_token

api_template, api = api_world.api_template, api_world.api

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "open311" / "georeport-v2"
if not SHARED.is_dir():
    pytest.skip(f"the published GeoReport v2 schemas are not beside the repository ({SHARED})",
                allow_module_level=True)

SCHEMAS = {p.name: json.loads(p.read_text()) for p in SHARED.glob("*.json") if p.name != "swagger.json"}
SWAGGER = json.loads((SHARED / "swagger.json").read_text())
SCHEMAS["request-response.json"] = {"type": "array", "items": SWAGGER["definitions"]["RequestResponse"]}
# The spec's Errors section ("errors" of "error" with code and description); the project publishes no file for it.
SCHEMAS["errors.json"] = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["code", "description"],
    "properties": {"code": {"type": ["integer", "string"]}, "description": {"type": "string", "minLength": 1}}}}
# The Service Discovery document (wiki.open311.org/Service_Discovery).
SCHEMAS["discovery.json"] = {"type": "object", "required": ["changeset", "contact", "key_service", "endpoints"],
                             "properties": {"endpoints": {"type": "array", "minItems": 1, "items": {
                                 "type": "object",
                                 "required": ["specification", "url", "changeset", "type", "formats"],
                                 "properties": {"formats": {"type": "array", "items": {"type": "string"}},
                                                "type": {"enum": ["production", "test"]}}}}}}
REGISTRY = Registry().with_resources(
    (name, Resource.from_contents(schema, default_specification=DRAFT7)) for name, schema in SCHEMAS.items())

ROOTS = {"services.json": "services", "requests.json": "service_requests", "request-response.json":
         "service_requests", "service-definition.json": "service_definition", "errors.json": "errors",
         "discovery.json": "discovery"}


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"]]
    return schema


def scalar_type(schema: dict) -> str | None:
    schema = resolve(schema)
    if "anyOf" in schema:
        return next((s.get("type") for s in schema["anyOf"] if s.get("type") != "null"), None)
    kind = schema.get("type")
    return next((k for k in kind if k != "string"), "string") if isinstance(kind, list) else kind


def from_xml(element: ET.Element, schema: dict):
    """The JSON value an XML element stands for, typed by the (JSON) schema it must satisfy."""
    schema = resolve(schema)
    kind = schema.get("type")
    if kind == "array":
        return [from_xml(child, schema.get("items", {})) for child in element]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {child.tag: from_xml(child, props.get(child.tag, {})) for child in element}
    kind = scalar_type(schema)
    text = element.text or ""
    if text == "" and len(element) == 0:
        return None if kind != "string" or "anyOf" in schema else ""
    if kind == "boolean":
        assert text in ("true", "false"), f"{element.tag}: {text!r} is not a boolean"
        return text == "true"
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    return text


def check(response, schema_name: str, status: int = 200):
    """Validate a JSON or XML response against ``schema_name``; returns the (JSON) data."""
    assert response.status_code == status, response.get_data(as_text=True)
    schema = SCHEMAS[schema_name]
    if response.mimetype == "application/json":
        assert response.content_type == "application/json; charset=utf-8"
        data = response.get_json()
    else:
        assert response.content_type == "text/xml; charset=utf-8"
        text = response.get_data(as_text=True)
        assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
        root = ET.fromstring(response.get_data())
        assert root.tag == ROOTS[schema_name]
        data = from_xml(root, schema)
    errors = list(Draft7Validator(schema, registry=REGISTRY).iter_errors(data))
    assert not errors, [e.message for e in errors]
    check_times(data)
    return data


def check_times(data) -> None:
    """Every *_datetime is ISO 8601 with a time zone (the spec's w3 format)."""
    items = data if isinstance(data, list) else [data]
    for item in items:
        for key, value in (item.items() if isinstance(item, dict) else ()):
            if key.endswith("_datetime") and value is not None:
                assert datetime.fromisoformat(value).tzinfo is not None, (key, value)


def post(api: Api, fmt: str = "json", user: str = "admin", **fields):
    data = {"api_key": api.tokens[user] if user else "", "service_code": "drain_blocked", "lat": "31.3300",
            "long": "120.5900", "description": "楼道下水管道堵塞\n污水外溢", "first_name": "三", "last_name": "张",
            "phone": "13812345678", **fields}
    return api.client.post(f"/open311/v2/requests.{fmt}", data={k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery_names_the_georeport_v2_endpoint_and_both_formats(api: Api, fmt: str):
    data = check(api.client.get(f"/open311/v2/discovery.{fmt}"), "discovery.json")
    endpoint = data["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_are_the_categories_with_their_group(api: Api, fmt: str):
    services = check(api.client.get(f"/open311/v2/services.{fmt}"), "services.json")
    by_code = {s["service_code"]: s for s in services}
    assert {"drain_blocked", "illegal_parking", "neighbour_dispute"} <= set(by_code)
    assert "component" not in by_code
    assert by_code["drain_blocked"]["metadata"] is True and by_code["drain_blocked"]["type"] == "realtime"
    assert by_code["drain_blocked"]["group"] == "部件"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_service_definition_lists_its_attributes(api: Api, fmt: str):
    definition = check(api.client.get(f"/open311/v2/services/illegal_parking.{fmt}"), "service-definition.json")
    assert definition["service_code"] == "illegal_parking"
    assert {a["code"] for a in definition["attributes"]} == {"notice", "title", "grid"}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_posting_a_request_creates_a_platform_case_numbered_as_the_request(api: Api, fmt: str):
    created = check(post(api, fmt, **{"attribute[title]": "下水道堵了"}), "request-response.json", 201)
    number = created[0]["service_request_id"]
    case = api.get(f"/api/v1/cases/{number}").get_json()
    assert (case["source"], case["category"], case["title"]) == ("platform", "drain_blocked", "下水道堵了")
    assert case["reporter"] == {"name": "张 三", "phone": "13812345678"}
    assert case["grid"] is not None and case["lat"] == pytest.approx(31.33)


def test_a_request_with_only_an_address_string_goes_to_the_district_centre(api: Api):
    created = post(api, lat=None, long=None, address_string="虎丘路 18 号").get_json()
    case = api.get(f"/api/v1/cases/{created[0]['service_request_id']}").get_json()
    assert (case["level"], case["address"]) == ("district", "虎丘路 18 号")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_posting_without_a_valid_api_key_answers_403_in_the_errors_format(api: Api, fmt: str):
    check(post(api, fmt, user=None), "errors.json", 403)
    check(api.client.post(f"/open311/v2/requests.{fmt}", data={"api_key": "glk_wrong", "service_code": "x"}),
          "errors.json", 403)
    revoke_token(api.system, api.tokens["gw"])
    check(post(api, fmt, user="gw"), "errors.json", 403)


@pytest.mark.parametrize("fields, status", [
    ({"service_code": None}, 400),
    ({"service_code": "unicorns"}, 404),
    ({"lat": None, "long": None}, 400),
    ({"long": None}, 400),
    ({"lat": "north"}, 400),
    ({"lat": "89.9", "long": "0"}, 400),
    ({"description": "x" * 4001}, 400),
    ({"jurisdiction_id": "elsewhere.gov"}, 404),
])
def test_bad_requests_answer_the_spec_status_in_the_errors_format(api: Api, fields: dict, status: int):
    errors = check(post(api, "xml", **fields), "errors.json", status)
    assert errors[0]["code"] == status and errors[0]["description"]


def test_an_empty_jurisdiction_id_is_the_same_as_none(api: Api):
    check(post(api, jurisdiction_id=""), "request-response.json", 201)
    assert api.client.get("/open311/v2/services.json?jurisdiction_id=").get_json() == \
        api.client.get("/open311/v2/services.json").get_json()
    check(api.client.get("/open311/v2/services.json?jurisdiction_id=gridlink"), "services.json")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_reports_open_with_agency_and_expected_time(api: Api, fmt: str):
    number = post(api).get_json()[0]["service_request_id"]
    api.complete(number, "admin", decision="accept")
    [request] = check(api.client.get(f"/open311/v2/requests/{number}.{fmt}"), "requests.json")
    assert (request["service_request_id"], request["status"]) == (number, "open")
    assert request["status_notes"] and request["agency_responsible"]
    assert request["expected_datetime"] is not None
    assert request["service_code"] == "drain_blocked"


def test_a_closed_case_is_a_closed_request_updated_when_it_closed(api: Api):
    number = api.report()
    api.complete(number, "gw", decision="accept")
    api.complete(number, "gw", decision="resolve", result="已疏通")
    api.complete(number, "admin", decision="approve", comment="核查通过")
    [request] = check(api.client.get(f"/open311/v2/requests/{number}.json"), "requests.json")
    case = api.get(f"/api/v1/cases/{number}").get_json()
    assert case["status"] == "closed" and request["status"] == "closed"
    assert request["updated_datetime"] == case["closed_at"] and request["expected_datetime"] is None
    closed = check(api.client.get("/open311/v2/requests.xml?status=closed"), "requests.json")
    assert [r["service_request_id"] for r in closed] == [number]


def test_an_unknown_request_answers_404(api: Api):
    check(api.client.get("/open311/v2/requests/GL19990101-0001.json"), "errors.json", 404)
    check(api.client.get("/open311/v2/requests/GL19990101-0001.xml"), "errors.json", 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_request_list_filters_by_ids_service_code_status_and_dates(api: Api, fmt: str):
    drain = post(api).get_json()[0]["service_request_id"]
    parking = post(api, service_code="illegal_parking").get_json()[0]["service_request_id"]

    def ids(query: str) -> list[str]:
        return [r["service_request_id"] for r in check(api.client.get(f"/open311/v2/requests.{fmt}?{query}"),
                                                       "requests.json")]

    assert ids("") == [parking, drain]
    assert ids(f"service_request_id={drain},{parking}&service_code=nothing") == [parking, drain]
    assert ids("service_code=drain_blocked") == [drain]
    assert ids("service_code=drain_blocked,illegal_parking&status=open") == [parking, drain]
    assert ids("status=closed") == []
    today = datetime.now(UTC)
    start = (today - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"start_date={start}") == [parking, drain]
    old = (today - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    assert ids(f"start_date={quote(old)}") == []
    assert ids(f"start_date={old}") == []  # an unencoded '+' arrives as a space and is still understood


@pytest.mark.parametrize("query", [
    "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
    "start_date=2026-06-01T00:00:00Z&end_date=2026-05-01T00:00:00Z",
    "start_date=2026-06-01",
    "start_date=2026-06-01T00:00:00",
    "status=pending",
    "start_date=9999-12-30T00:00:00Z",
    "end_date=0001-01-01T00:00:00Z",
])
def test_bad_request_list_arguments_answer_400(api: Api, query: str):
    check(api.client.get(f"/open311/v2/requests.json?{query}"), "errors.json", 400)


def test_unknown_paths_formats_and_methods_answer_in_the_errors_format(api: Api):
    check(api.client.get("/open311/v2/nothing.xml"), "errors.json", 404)
    check(api.client.get("/open311/v2/"), "errors.json", 404)
    check(api.client.get("/open311/v2/services.csv"), "errors.json", 400)
    response = api.client.delete("/open311/v2/requests.json")
    check(response, "errors.json", 405)
    assert response.headers["Allow"] == "GET, POST"
    check(api.client.post("/open311/v2/requests.json", data={"description": "x" * 300_000}), "errors.json", 413)


def test_the_public_request_list_shows_no_reporter(api: Api):
    post(api)
    body = api.client.get("/open311/v2/requests.json").get_data(as_text=True)
    assert "13812345678" not in body and "张" not in body


def test_a_nul_character_in_an_argument_answers_400(api: Api):
    check(post(api, description="a\u0000b"), "errors.json", 400)


def test_control_characters_never_break_the_xml(api: Api):
    created = post(api, description="beep\x07 here").get_json()
    number = created[0]["service_request_id"]
    staff = f"api_key={api.tokens['admin']}"  # the description is not public: a staff key reads it
    [request] = check(api.client.get(f"/open311/v2/requests/{number}.xml?{staff}"), "requests.json")
    assert request["description"] == "beep here"
    check(api.client.get("/open311/v2/services/%00.xml"), "errors.json", 400)
