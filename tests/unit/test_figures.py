"""The standard figures, one at a time, on hand-worked raw sums (workflows/evaluation/figures.py)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from workflows.evaluation.figures import COUNT_KEYS, RATE_KEYS, STANDARD, standard_figures

# A hand-built cohort: 10 reports; 2 self-closed on the spot, 1 rejected, 7 registered (5 within 2 h);
# of the 7: 4 closed (1 of them late), 2 open past due (1 suspended), 1 open in time; 1 reworked;
# 4 dispatches, 1 returned, 3 results reported (1 late) + 1 unhandled past due; 5 call-backs, 4 satisfied;
# 3 summoned to duty, 2 on time, 1 late.
COHORT = Counter({"received": 10, "registered_all": 7, "registered_on_time": 5, "reg_closed": 4, "reg_closed_late": 1,
                  "reg_past_due": 2, "suspended": 1, "suspended_past_due": 1, "reg_reworked": 1,
                  "self_closed_on_spot": 2, "dispatched": 4, "returned": 1, "handled": 3, "handled_on_time": 2,
                  "dispatch_past_due": 1, "extended": 1, "callbacks": 5, "satisfied": 4, "duty_due": 3,
                  "duty_on_time": 2})


def test_every_figure_has_one_definition_with_a_chinese_name_formula_and_example():
    keys = [figure.key for figure in STANDARD]
    assert len(keys) == len(set(keys))
    for figure in STANDARD:
        assert figure.name and figure.formula and "Example" in figure.doc


def test_the_product_keys_are_all_there():
    assert set(COUNT_KEYS) == {"reported", "registered", "registered_on_time", "dispatched", "dispatched_accurately",
                               "handled_on_time", "due_for_closure", "closed", "closed_on_time", "reworked",
                               "extended", "suspended", "self_closed", "callbacks", "satisfied"}
    assert set(RATE_KEYS) == {"registration_on_time_rate", "dispatch_accuracy_rate", "handling_on_time_rate",
                              "closure_rate", "on_time_closure_rate", "rework_rate", "self_closed_rate",
                              "satisfaction_rate", "duty_on_time_rate"}


def test_counts_of_the_hand_built_cohort():
    f = standard_figures(COHORT)
    assert f["reported"] == 10
    assert f["registered"] == 6  # 7 registered less the suspended one
    assert f["registered_on_time"] == 5
    assert f["dispatched"] == 4 and f["dispatched_accurately"] == 3  # the returned one was inaccurate
    assert f["handled_on_time"] == 2
    assert f["due_for_closure"] == 5  # 4 closed + 2 past due - 1 suspended
    assert f["closed"] == 4 and f["closed_on_time"] == 3
    assert f["reworked"] == 1 and f["extended"] == 1 and f["suspended"] == 1
    assert f["self_closed"] == 2  # the on-the-spot orders, never in closed
    assert f["callbacks"] == 5 and f["satisfied"] == 4


def test_rates_of_the_hand_built_cohort():
    f = standard_figures(COHORT)
    assert f["registration_on_time_rate"] == round(5 / 7, 4)
    assert f["dispatch_accuracy_rate"] == 0.75
    assert f["handling_on_time_rate"] == 0.5  # 2 / (3 reported + 1 past due)
    assert f["closure_rate"] == 0.8  # 4 / 5
    assert f["on_time_closure_rate"] == 0.6  # 3 / 5
    assert f["rework_rate"] == 0.2
    assert f["self_closed_rate"] == 0.2  # 2 / 10 reports
    assert f["satisfaction_rate"] == 0.8
    assert f["duty_on_time_rate"] == 0.6667


def test_the_lianyungang_example_gives_its_published_proportions():
    # Lianyungang 12345, April 2017: due 24,932, closed 23,974 (96.16 %), on time 22,345 (89.62 %)
    sums = Counter({"registered_all": 24_932, "reg_closed": 23_974, "reg_past_due": 24_932 - 23_974,
                    "reg_closed_late": 23_974 - 22_345})
    f = standard_figures(sums)
    assert f["due_for_closure"] == 24_932 and f["closed"] == 23_974 and f["closed_on_time"] == 22_345
    assert f["closure_rate"] == 0.9616 and f["on_time_closure_rate"] == 0.8962


def test_rates_are_none_when_nothing_is_in_the_denominator():
    f = standard_figures(Counter())
    assert all(f[key] is None for key in RATE_KEYS)
    assert all(f[key] == 0 for key in COUNT_KEYS)


@st.composite
def consistent_sums(draw):
    """Raw sums that a real cohort could produce (each part no larger than its whole)."""
    n = st.integers(0, 50)
    registered = draw(n)
    closed = draw(st.integers(0, registered))
    past_due = draw(st.integers(0, registered - closed))
    suspended_past_due = draw(st.integers(0, past_due))
    suspended = draw(st.integers(suspended_past_due, registered - closed))
    dispatched = draw(n)
    handled = draw(st.integers(0, dispatched))
    callbacks = draw(n)
    duty_due = draw(n)
    on_spot = draw(n)
    return Counter({
        "received": registered + on_spot + draw(n), "registered_all": registered,
        "registered_on_time": draw(st.integers(0, registered)), "reg_closed": closed,
        "reg_closed_late": draw(st.integers(0, closed)), "reg_past_due": past_due,
        "suspended": suspended, "suspended_past_due": suspended_past_due,
        "reg_reworked": draw(st.integers(0, closed + past_due - suspended_past_due)),
        "self_closed_on_spot": on_spot, "dispatched": dispatched,
        "returned": draw(st.integers(0, dispatched - handled)), "handled": handled,
        "handled_on_time": draw(st.integers(0, handled)),
        "dispatch_past_due": draw(st.integers(0, dispatched - handled)), "callbacks": callbacks,
        "satisfied": draw(st.integers(0, callbacks)), "duty_due": duty_due,
        "duty_on_time": draw(st.integers(0, duty_due)), "extended": draw(n)})


@given(consistent_sums())
def test_every_rate_lies_between_0_and_1_and_counts_are_never_negative(sums):
    f = standard_figures(sums)
    for key in RATE_KEYS:
        assert f[key] is None or 0 <= f[key] <= 1, key
    for key in COUNT_KEYS:
        assert f[key] >= 0, key
    assert f["registered"] >= f["closed"] >= f["closed_on_time"]
