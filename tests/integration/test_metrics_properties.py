"""Property: on any cohort, every rate lies in [0, 1] and every count of a grouping sums to the scope's total."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.cases.models import Case, TimelineEntry
from workflows.evaluation.figures import COUNT_KEYS, RATE_KEYS
from workflows.evaluation.metrics import compute_many
from workflows.reference.models import Category

from .metrics_fixture import NOW, at, build

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}
HOMES = ("G1a", "G1b", "G2", "G3", None)

a_case = st.fixed_dictionaries({
    "home": st.sampled_from(HOMES),
    "category": st.sampled_from(("illegal_parking", "fire_hazard")),
    "status": st.sampled_from(("reported", "open", "resolved", "closed", "rejected", "merged")),
    "level": st.sampled_from(("grid", "community", "workstation")),
    "registered_after_hours": st.none() | st.integers(0, 6),
    "day": st.integers(1, 20),
    "due_in_days": st.integers(-10, 10),
    "self_closed": st.booleans(),
    "reworked": st.integers(0, 2),
    "timeline": st.lists(st.sampled_from(("suspended", "extension_granted", "callback")), max_size=2),
})


@pytest.fixture
def org(sessions):
    with sessions() as session, session.begin():
        built = build(session)
        return {"units": {code: u.id for code, u in built["units"].items()},
                "categories": {c.code: c.id for c in session.query(Category)}}


def add_cases(session, org, specs) -> None:
    for i, spec in enumerate(specs):
        created = at(11, spec["day"])
        closed = spec["status"] == "closed"
        registered = spec["registered_after_hours"]
        home = org["units"][spec["home"]] if spec["home"] else None
        case = Case(number=f"P-{i}", title="p", category_id=org["categories"][spec["category"]], source="patrol",
                    grid_id=home, org_unit_id=home or org["units"]["W2"], status=spec["status"], level=spec["level"],
                    created_at=created, registered_at=created + timedelta(hours=registered) if registered is not None
                    else None, closed_at=created + timedelta(days=1) if closed else None,
                    closed_level=spec["level"] if closed else None, self_closed=spec["self_closed"] and closed,
                    due_at=None if closed else created + timedelta(days=spec["due_in_days"]),
                    reworked_count=spec["reworked"])
        session.add(case)
        session.flush()
        for n, kind in enumerate(spec["timeline"]):
            session.add(TimelineEntry(case_id=case.id, kind=kind, at=created, data={"satisfied": n % 2 == 0}))
    session.flush()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(a_case, max_size=25))
def test_rates_lie_in_0_1_and_grouped_counts_sum_to_the_total(org, sessions, specs):
    with freeze_time(NOW), sessions() as session:
        session.begin()
        add_cases(session, org, specs)
        results = compute_many(session, **NOVEMBER, groupings=[("org_unit", None), ("level", None),
                                                                ("category", None)])
        session.rollback()
    for result in results:
        for row in [result["totals"], *result["groups"]]:
            for key in RATE_KEYS:
                assert row[key] is None or 0 <= row[key] <= 1, key
        for key in COUNT_KEYS:
            assert sum(g[key] for g in result["groups"]) == result["totals"][key], (result["group_by"], key)
    totals = results[0]["totals"]
    assert totals["registered"] >= totals["closed"] >= totals["closed_on_time"]
    assert totals["due_for_closure"] >= totals["closed"]
