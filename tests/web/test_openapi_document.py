"""The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3, and complete for every API route."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.web import api_world
from tests.web.api_world import Api

api_template, api = api_world.api_template, api_world.api

IMPLICIT = {"HEAD", "OPTIONS"}


def test_the_document_is_served_without_a_token_and_is_valid_openapi_3(api: Api):
    response = api.get("/api/v1/openapi.json", None)
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_api_route_and_method_is_documented(api: Api):
    paths = api.get("/api/v1/openapi.json", None).get_json()["paths"]
    routes = set()
    for rule in api.app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.unknown":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - IMPLICIT:
            routes.add((path, method.lower()))
    documented = {(path, method) for path, item in paths.items() for method in item}
    assert routes == documented


def test_every_operation_documents_its_errors_with_the_one_error_shape(api: Api):
    document = api.get("/api/v1/openapi.json", None).get_json()
    error_ref = "#/components/schemas/Error"
    for status, response in document["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"]["$ref"] == error_ref, status
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), (path, method)
            if operation.get("security") != []:
                assert "401" in statuses, (path, method)
            if "requestBody" in operation:
                assert {"413", "415"} <= statuses, (path, method)


def test_the_product_shapes_are_in_the_document(api: Api):
    schemas = api.get("/api/v1/openapi.json", None).get_json()["components"]["schemas"]
    assert set(schemas["CasePage"]["required"]) == {"items", "page", "per_page", "total"}
    assert {"number", "status", "level", "org_unit", "due_at"} <= set(schemas["CaseCreated"]["required"])
    assert set(schemas["Error"]["properties"]["error"]["required"]) == {"status", "code", "message", "details"}
    assert {"code", "name", "parent", "department", "time_limit"} <= set(schemas["Category"]["required"])
