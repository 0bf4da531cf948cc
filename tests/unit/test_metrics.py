"""The pure parts of the evaluation: periods, months, ratios, grades and the composite score."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from workflows.clock import LOCAL_TZ
from workflows.errors import InvalidInput
from workflows.evaluation.metrics import DEFAULT_WEIGHTS, grade, month_period, ratio, resolve_period, score


def test_an_end_date_is_inclusive_and_dates_are_local_days():
    start, end = resolve_period(date(2026, 11, 1), date(2026, 11, 30))
    assert start == datetime(2026, 11, 1, tzinfo=LOCAL_TZ)
    assert end == datetime(2026, 12, 1, tzinfo=LOCAL_TZ)


def test_datetimes_and_iso_strings_are_taken_as_given():
    start, end = resolve_period("2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00Z")
    assert (end - start).days == 1


def test_the_last_representable_day_is_refused_not_overflowed():
    with pytest.raises(InvalidInput, match="out of range"):
        resolve_period("2026-01-01", "9999-12-31")


def test_a_naive_datetime_is_refused_with_advice():
    with pytest.raises(InvalidInput, match="time zone"):
        resolve_period(datetime(2026, 11, 1), date(2026, 11, 30))


def test_a_month_runs_from_its_first_local_midnight_to_the_next_month():
    label, start, end = month_period("2026-12")
    assert label == "2026-12"
    assert start == datetime(2026, 12, 1, tzinfo=LOCAL_TZ) and end == datetime(2027, 1, 1, tzinfo=LOCAL_TZ)
    assert month_period(date(2026, 2, 14))[2] == datetime(2026, 3, 1, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize("bad", ["2026-13", "November", "", 202611])
def test_a_bad_month_is_refused(bad):
    with pytest.raises(InvalidInput, match="month"):
        month_period(bad)


def test_a_ratio_without_denominator_is_none():
    assert ratio(0, 0) is None
    assert ratio(2, 3) == 0.6667


@pytest.mark.parametrize("value, letter", [(100, "A"), (90, "A"), (89.9, "B"), (75, "B"), (60, "C"),
                                           (40, "D"), (39.9, "E"), (0, "E"), (None, None)])
def test_grades_follow_the_bounds(value, letter):
    assert grade(value) == letter


def test_the_score_is_the_weighted_mean_of_the_parts():
    parts = {"closure": 1.0, "on_time": 0.5, "no_rework": 1.0, "registration": 1.0, "satisfaction": None}
    # (0.3 x 1 + 0.3 x 0.5 + 0.2 x 1 + 0.1 x 1) / 0.9 (satisfaction has no value and drops out)
    assert score(parts, DEFAULT_WEIGHTS["unit"]) == 83.3


def test_nothing_due_means_no_score():
    parts = {"closure": None, "on_time": None, "no_rework": None, "registration": 1.0, "satisfaction": None}
    assert score(parts, DEFAULT_WEIGHTS["unit"]) is None
