"""Schemathesis sends requests generated from /api/v1/openapi.json to the app in-process.

Every operation gets a bounded, deterministic set of generated requests (valid and invalid) as an
admin, who may call every operation; the reads also as a coordinator, department staff and a grid
worker, whose scopes take other query paths. The answers must never be a server error and must
match the document (status codes, content types, headers and response schemas).
"""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web import api_world
from web.api.openapi import openapi_document
from web.app import create_app
from web.system import system_of
from workflows.people.tokens import create_token

api_template = api_world.api_template

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(api_template, tmp_path_factory):
    """One app for all generated requests, with a few cases so reads find real records."""
    template, tokens = api_template
    instance = tmp_path_factory.mktemp("fuzz")
    shutil.copy(template, instance / "gridlink.db")
    mp = pytest.MonkeyPatch()
    mp.setenv("GRIDLINK_INSTANCE_DIR", str(instance))
    app = create_app(api_world._config(instance))
    seeded = api_world.Api(app=app, client=app.test_client(), tokens=tokens)
    seeded.dispatched("police")
    seeded.report(address="虎丘路 8 号", grid=None)
    yield app, tokens
    system_of(app).db.dispose()
    mp.undo()


SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
EXAMPLES = 20


CASES = [(label, mode, "admin") for label in sorted(OPERATIONS) for mode in GenerationMode
         if not (mode == GenerationMode.NEGATIVE and label == "GET /openapi.json")]  # nothing to get wrong there
# Scoped readers take other query paths (subtree and department conditions): their reads too.
CASES += [(label, GenerationMode.POSITIVE, user) for user in ("coord-ws2", "dept-police", "gw")
          for label in sorted(OPERATIONS) if label.startswith("GET ") and label != "GET /openapi.json"]


@pytest.mark.parametrize(("label", "mode", "user"), CASES,
                         ids=[f"{label} {mode.value} {user}" for label, mode, user in CASES])
def test_generated_requests_get_no_server_error_and_match_the_document(label, mode, user, fuzz_app):
    app, tokens = fuzz_app
    SCHEMA.app = app
    statuses = []

    def token() -> str:
        # Revoking must not take the shared token away from the other operations.
        return create_token(system_of(app), user, "fuzz") if label == "DELETE /tokens/current" else tokens[user]

    @given(OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES if user == "admin" else EXAMPLES // 2, deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token()}"}, checks=CHECKS, app=app)
        statuses.append(response.status_code)

    check()
    assert set(statuses) != {401}, "every generated request was refused as unauthenticated"
