"""GET /api/v1/metrics: the evaluation figures through the API, scoped like the dashboard."""

from __future__ import annotations

from tests.web import api_world
from tests.web.api_world import Api

api_template, api = api_world.api_template, api_world.api


def test_metrics_count_the_cases_of_the_period_and_group_them(api: Api):
    api.report()
    body = api.get("/api/v1/metrics?group_by=level", "leader").get_json()
    assert body["totals"]["received"] == 1
    assert [g["key"] for g in body["groups"]] == ["grid", "community", "workstation", "subcentre", "district"]
    assert body["period"]["from"].endswith("+08:00")


def test_metrics_for_a_period_that_holds_no_case_are_empty(api: Api):
    api.report()
    body = api.get("/api/v1/metrics?from=2020-01-01&to=2020-01-31&group_by=org_unit").get_json()
    assert body["totals"]["received"] == 0 and body["totals"]["closure_rate"] is None


def test_a_coordinator_sees_the_figures_of_their_own_subtree_only(api: Api):
    api.report()
    body = api.get("/api/v1/metrics", "coord-c04").get_json()
    assert body["scope"]["code"] == "hq-c04" and body["totals"]["received"] == 1
    assert api.get("/api/v1/metrics", "coord-c05").get_json()["totals"]["received"] == 0
    assert api.get("/api/v1/metrics?org_unit=hq-c04", "coord-c05").status_code == 403


def test_department_staff_get_403_and_bad_periods_or_groupings_422(api: Api):
    assert api.get("/api/v1/metrics", "dept-police").status_code == 403
    assert api.get("/api/v1/metrics?group_by=weather").status_code == 422
    assert api.get("/api/v1/metrics?from=yesterday").status_code == 422
    assert api.get("/api/v1/metrics?from=2026-11-10&to=2026-11-01").status_code == 422
    assert api.get("/api/v1/metrics?from=2026-11-10&to=9999-12-31").status_code == 422
