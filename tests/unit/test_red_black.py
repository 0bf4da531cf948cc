"""The red/black list rules on hand-built rows: thresholds, inspections, ties, minimum cases, grade A."""

from __future__ import annotations

from workflows.evaluation.metrics import grade, rank_red_black, stars


def row(key, score, due=5):
    return {"key": key, "score": score, "grade": grade(score), "due_for_closure": due}


def test_red_needs_90_and_black_is_below_60_never_a_grade_a():
    groups = [row("a", 95.0), row("b", 80.0), row("c", 50.0), row("d", 91.0)]
    result = rank_red_black(groups, 3)
    assert [r["key"] for r in result["red"]] == ["a", "d"]
    assert [r["key"] for r in result["black"]] == ["c"]  # b (80) is on neither list


def test_inspections_blend_in_and_a_case_grade_a_is_never_black():
    groups = [row("a", 92.0), row("b", 70.0)]
    # a: 0.7 x 92 + 0.3 x 10 = 67.4 (under 90: off the red list; case grade A: never black)
    # b: 0.7 x 70 + 0.3 x 20 = 55.0 (black)
    result = rank_red_black(groups, 3, {"a": 10.0, "b": 20.0})
    assert {r["key"]: r["final_score"] for r in result["ranked"]} == {"a": 67.4, "b": 55.0}
    assert result["red"] == [] and [r["key"] for r in result["black"]] == ["b"]


def test_ties_share_a_rank_and_both_stay_on_a_list_at_its_end():
    groups = [row("a", 95.0), row("b", 93.0), row("c", 93.0), row("d", 30.0), row("e", 30.0)]
    result = rank_red_black(groups, 2)
    assert {r["key"]: r["rank"] for r in result["ranked"]} == {"a": 1, "b": 2, "c": 2, "d": 4, "e": 4}
    assert [r["key"] for r in result["red"]] == ["a", "b", "c"]
    assert {r["key"] for r in result["black"]} == {"d", "e"}


def test_a_community_with_few_cases_is_ranked_but_never_listed():
    result = rank_red_black([row("a", 100.0, due=2), row("b", 10.0, due=1)], 3)
    assert len(result["ranked"]) == 2 and result["red"] == [] and result["black"] == []


def test_volume_never_raises_a_community_score():
    from workflows.evaluation.metrics import DEFAULT_WEIGHTS, components, score

    figures = {"closure_rate": 1.0, "on_time_closure_rate": 1.0, "rework_rate": 0.0,
               "registration_on_time_rate": 1.0, "satisfaction_rate": None, "self_closed_rate": 0.1,
               "reported": 5}
    small = score(components(figures, "unit"), DEFAULT_WEIGHTS["unit"])
    large = score(components({**figures, "reported": 500}, "unit"), DEFAULT_WEIGHTS["unit"])
    assert small == large == 100.0


def test_grid_leaders_get_one_to_five_stars_from_the_grid_score():
    assert [stars(s) for s in (95, 90, 80, 60, 45, 10)] == [5, 5, 4, 3, 2, 1]
    assert stars(None) is None
