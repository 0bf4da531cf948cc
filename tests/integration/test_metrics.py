"""compute_metrics and red_black_list against the hand-computed fixture (tests/integration/metrics_fixture.py)."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from workflows.errors import InvalidInput
from workflows.evaluation.metrics import compute_metrics, red_black_list, set_weights

from .metrics_fixture import NOW, build

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def session(sessions):
    with sessions() as session, session.begin():
        build(session)
    with freeze_time(NOW), sessions() as session:
        yield session


def by_key(result):
    return {g["key"]: g for g in result["groups"]}


def test_totals_count_open_past_due_cases_in_the_denominator(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    # registered 2, 3, 5, 7, 8, 10; closed among them 2 and 5; open past due 3, 8 and 10
    assert (t["reported"], t["registered"], t["closed"], t["closed_on_time"]) == (9, 6, 2, 1)
    assert t["due_for_closure"] == 5  # 2 closed + 3 open past due; case 4 is not registered
    assert t["closure_rate"] == 0.4
    assert t["on_time_closure_rate"] == 0.2  # 1 / 5: case 2 ran late at the grid
    assert t["rework_rate"] == 0.4  # cases 3 (past due) and 5 (closed) were reworked


def test_registered_at_least_due_at_least_closed(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert t["registered"] >= t["due_for_closure"] >= t["closed"] >= t["closed_on_time"]


def test_registration_on_time_means_within_two_hours(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert t["registered_on_time"] == 4  # 2 (1 h), 3, 7 (1 h), 8; not 5 (3 h) nor 10 (4 h)
    assert t["registration_on_time_rate"] == 0.6667


def test_dispatch_accuracy_counts_returned_dispatches_as_inaccurate(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert (t["dispatched"], t["dispatched_accurately"], t["dispatch_accuracy_rate"]) == (4, 3, 0.75)


def test_totals_count_statuses_levels_and_self_closed_orders(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert (t["open"], t["rejected"], t["merged"]) == (5, 1, 0)
    assert t["self_closed"] == 1 and t["self_closed_rate"] == 0.1111  # case 1 of 9 reports
    assert t["closed_by_level"] == {"grid": 1, "community": 1, "workstation": 1, "subcentre": 0, "district": 0}
    assert t["closed_share_by_level"]["community"] == 0.3333
    assert t["closed_share_by_level"]["district"] == 0.0


def test_extensions_suspensions_and_callbacks_count_their_timeline_kinds(session, sessions):
    from workflows.cases.models import Case, TimelineEntry

    with sessions() as other, other.begin():
        ids = {c.number: c.id for c in other.query(Case)}
        other.add_all([
            TimelineEntry(case_id=ids["GL-10"], kind="suspended", at=NOW),
            TimelineEntry(case_id=ids["GL-3"], kind="extension_granted", at=NOW),
            TimelineEntry(case_id=ids["GL-3"], kind="extension_granted", at=NOW),
            TimelineEntry(case_id=ids["GL-2"], kind="callback", at=NOW, data={"satisfied": True}),
            TimelineEntry(case_id=ids["GL-5"], kind="callback", at=NOW, data={"satisfied": False}),
        ])
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert (t["extended"], t["suspended"]) == (1, 1)
    assert t["registered"] == 5 and t["due_for_closure"] == 4  # case 10 is suspended: out of both
    assert (t["callbacks"], t["satisfied"], t["satisfaction_rate"]) == (2, 1, 0.5)


def test_totals_average_handling_time_rating_and_fund(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert t["avg_handling_hours"] == round((10 + 72 + 120) / 3, 2)
    assert t["rated"] == 3 and t["avg_rating"] == 4.0
    assert t["fund_spent_cents"] == 12_000


def test_every_figure_is_plain_json_on_either_database(session):
    import json

    for group_by in (None, "department", "level"):
        result = compute_metrics(session, **NOVEMBER, group_by=group_by)
        assert json.loads(json.dumps(result)) == result
        for row in [result["totals"], *result["groups"]]:
            assert row["avg_handling_hours"] is None or isinstance(row["avg_handling_hours"], float)


def test_overdues_are_those_recorded_in_the_period_by_level_and_department(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert t["overdue_total"] == 4  # 3 limits run out + fire's late report to duty
    assert t["overdue_by_level"] == {"grid": 1, "community": 3, "workstation": 0, "subcentre": 0, "district": 0}
    assert t["overdue_by_department"] == {"fire": 2}


def test_charges_land_on_the_party_that_caused_them(session):
    communities = by_key(compute_metrics(session, **NOVEMBER, group_by="org_unit", unit_level="community"))
    departments = by_key(compute_metrics(session, **NOVEMBER, group_by="department"))
    # C3 dispatched case 8 to the police, who returned it: an inaccurate dispatch by C3
    assert communities["C3"]["charges_to_units"]["inaccurate_dispatch"] == 1
    # fire was late to duty at C3's meeting: fire is charged, C3 is not
    assert departments["fire"]["charges_to_departments"]["duty_late"] == 1
    assert communities["C3"]["charges_to_units"]["duty_late"] == 0
    # the police's own result on case 5 was rejected; fire's cases had no rework of its own
    assert departments["police"]["charges_to_departments"]["rework"] == 1
    assert departments["fire"]["charges_to_departments"]["rework"] == 0
    assert communities["C1"]["charges_to_units"] == {"overdue": 2, "duty_late": 0, "rework": 1,
                                                     "inaccurate_dispatch": 0}


def test_a_withdrawn_charge_counts_in_no_figure(session, sessions):
    from workflows.evaluation.models import Charge

    with sessions() as other, other.begin():
        for charge in other.query(Charge).filter_by(kind="overdue", stage="grid"):
            charge.status = "withdrawn"
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert t["closed_on_time"] == 2  # case 2 is no longer late
    assert t["overdue_by_level"]["grid"] == 0


def test_department_handling_and_returned_rates(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert (t["dispatched"], t["accepted"], t["returned"], t["handled"], t["handled_on_time"]) == (4, 2, 1, 1, 1)
    assert t["due_for_handling"] == 2  # one result reported + one result past its limit
    assert t["handling_rate"] == 0.5 and t["handling_on_time_rate"] == 0.5
    assert t["returned_rate"] == 0.25


def test_report_to_duty_on_time_rate_counts_only_summons_already_due(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert (t["duty_summoned"], t["duty_due"], t["duty_on_time"]) == (3, 2, 1)
    assert t["duty_on_time_rate"] == 0.5


def test_composite_score_uses_the_default_weights_and_grades(session):
    t = compute_metrics(session, **NOVEMBER)["totals"]
    # community formula, no volume part; satisfaction has no call-backs, so its 0.1 drops out:
    # 100 x (0.3 x closure 0.4 + 0.3 x on-time 0.2 + 0.2 x (1 - rework 0.4) + 0.1 x registration 4/6) / 0.9
    assert t["score"] == 40.7 and t["grade"] == "D"


def test_a_scope_limits_every_figure_to_the_subtree(session):
    t = compute_metrics(session, **NOVEMBER, scope_unit="C1")["totals"]
    assert (t["received"], t["closed"], t["closed_on_time"], t["open_past_due"]) == (4, 1, 0, 1)
    assert t["closure_rate"] == 0.5  # case 2 closed (late) of 2 and 3 due; case 1 is a self-closed order
    assert t["overdue_total"] == 2 and t["dispatched"] == 1 and t["fund_spent_cents"] == 0


def test_grouping_by_org_unit_rolls_each_subtree_into_its_unit(session):
    groups = by_key(compute_metrics(session, **NOVEMBER, group_by="org_unit", scope_unit="W1"))
    assert list(groups) == ["C1", "C2"]
    assert groups["C1"]["received"] == 4 and groups["C1"]["due_for_closure"] == 2
    c2 = groups["C2"]
    assert (c2["received"], c2["closed"], c2["closure_rate"], c2["rework_rate"]) == (2, 1, 1.0, 1.0)


def test_grouping_by_org_unit_without_scope_starts_where_the_tree_branches(session):
    result = compute_metrics(session, **NOVEMBER, group_by="org_unit")
    groups = by_key(result)
    assert list(groups) == ["W1", "W2"]  # D and S have one child each
    assert groups["W2"]["received"] == 3  # cases 7, 8 and 10 (held at W2 without a grid)
    assert groups["W2"]["due_for_closure"] == 2 and groups["W2"]["closure_rate"] == 0.0
    assert sum(g["received"] for g in result["groups"]) == result["totals"]["received"]


def test_grouping_by_level_and_category(session):
    levels = by_key(compute_metrics(session, **NOVEMBER, group_by="level"))
    assert list(levels) == ["grid", "community", "workstation", "subcentre", "district"]
    assert levels["workstation"]["received"] == 2 and levels["workstation"]["open_past_due"] == 1
    assert levels["district"]["received"] == 0 and levels["district"]["closure_rate"] is None
    categories = by_key(compute_metrics(session, **NOVEMBER, group_by="category"))
    assert categories["fire_hazard"]["received"] == 2 and categories["fire_hazard"]["name"] == "消防安全隐患"
    assert categories["illegal_parking"]["received"] == 7
    assert categories["illegal_parking"]["overdue_total"] == 2 and categories["fire_hazard"]["overdue_total"] == 2
    assert levels["community"]["overdue_total"] == 3 and levels["grid"]["overdue_total"] == 1
    assert categories["fire_hazard"]["dispatched"] == 3 and categories["fire_hazard"]["fund_spent_cents"] == 12_000


def test_grouping_by_department_scores_handling(session):
    groups = by_key(compute_metrics(session, **NOVEMBER, group_by="department"))
    police, fire = groups["police"], groups["fire"]
    assert (police["dispatched"], police["handled"], police["returned"], police["due_for_handling"]) == (3, 1, 1, 1)
    # 100 x (0.3 x handling 1 + 0.3 x on time 1 + 0.2 x (1 - 1 own rework / 3 dispatched) + 0.2 x duty 1)
    assert police["handling_rate"] == 1.0 and police["score"] == 93.3 and police["grade"] == "A"
    assert (fire["dispatched"], fire["handling_rate"], fire["overdue_total"]) == (1, 0.0, 2)
    # fire had no rework of its own: 100 x (0 + 0 + 0.2 x 1 + 0.2 x duty 0)
    assert fire["score"] == 20.0 and fire["grade"] == "E"
    assert police["duty_on_time_rate"] == 1.0 and fire["duty_on_time_rate"] == 0.0


def test_a_case_dispatched_twice_to_one_department_counts_once_among_its_cases(session, sessions):
    from workflows.cases.models import Case
    from workflows.coordination.models import Dispatch
    from workflows.org.models import Department, OrgUnit

    with sessions() as other, other.begin():
        case = other.query(Case).filter_by(number="GL-5").one()
        other.add(Dispatch(case=case, department=other.query(Department).filter_by(code="police").one(),
                           level="workstation", org_unit=other.query(OrgUnit).filter_by(code="W1").one(),
                           dispatched_at=case.created_at, returned_at=case.created_at))
    police = by_key(compute_metrics(session, **NOVEMBER, group_by="department"))["police"]
    assert police["dispatched"] == 4 and police["returned"] == 2
    assert police["received"] == 3 and police["closed"] == 1 and police["closed_on_time"] == 1


def test_several_groupings_at_once_give_the_same_figures_as_one_at_a_time(session):
    from workflows.evaluation.metrics import compute_many

    together = compute_many(session, **NOVEMBER, groupings=[("level", None), ("department", None),
                                                            ("org_unit", "community")])
    alone = [compute_metrics(session, **NOVEMBER, group_by=g, unit_level=u)
             for g, u in (("level", None), ("department", None), ("org_unit", "community"))]
    assert together == alone


def test_admin_weights_change_the_score(session, sessions):
    class FakeSystem:
        pass

    system = FakeSystem()
    system.sessions = sessions
    set_weights(system, "unit", {"closure": 100, "on_time": 0, "no_rework": 0, "registration": 0,
                                 "satisfaction": 0})
    t = compute_metrics(session, **NOVEMBER)["totals"]
    assert t["score"] == 40.0 and t["grade"] == "D"


def test_red_black_list_ranks_communities_by_score(session, monkeypatch):
    result = red_black_list(session, "2026-11", 1)
    scores = {row["key"]: row["score"] for row in result["ranked"]}
    # C2: (0.3 + 0.3 + 0 + 0) / 0.9; C1: (0.15 + 0 + 0.1 + 0.1) / 0.9; C3: (0 + 0 + 0.2 + 0.1) / 0.9
    assert scores == {"C2": 66.7, "C1": 38.9, "C3": 33.3}
    assert result["red"] == [] and result["black"] == []  # no community has 3 cases due yet
    monkeypatch.setattr("workflows.evaluation.metrics.MIN_CASES", 1)
    result = red_black_list(session, "2026-11", 5)
    assert result["red"] == []  # nobody reaches 90
    assert [r["key"] for r in result["black"]] == ["C3", "C1"]  # worst first; C2 (66.7) is above 60
    assert result["month"] == "2026-11"


def test_wrong_weights_name_the_component(session, sessions):
    class FakeSystem:
        pass

    system = FakeSystem()
    system.sessions = sessions
    with pytest.raises(InvalidInput, match="volume"):
        set_weights(system, "unit", {"volume": 50})


@pytest.mark.parametrize("kwargs, field", [
    ({"start": "2026-13-01", "end": "2026-11-30"}, "from"),
    ({"start": "2026-11-30", "end": "2026-11-01"}, "to"),
    ({"start": "2026-11-01", "end": "2026-11-30", "group_by": "street"}, "group_by"),
    ({"start": "2026-11-01", "end": "2026-11-30", "scope_unit": "nowhere"}, "org_unit"),
])
def test_bad_arguments_name_the_value(session, kwargs, field):
    with pytest.raises(InvalidInput) as error:
        compute_metrics(session, **kwargs)
    assert error.value.field == field
