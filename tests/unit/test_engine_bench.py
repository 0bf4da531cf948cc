"""`gridlink bench`, engine part: a small run gives the full JSON shape (no timing assertions)."""

from __future__ import annotations

import json

import pytest

from benchmarks.engine_bench import _Progress, run_engine_bench

STATS = (
    "raw_start_to_first_task_ms", "raw_default_engine_start_ms", "raw_complete_task_ms",
    "gridlink_start_to_first_task_ms", "gridlink_complete_task_ms", "gridlink_complete_task_cold_ms",
    "sweep_1000_due_with_1000_waiting_ms", "sweep_1000_due_with_100000_waiting_ms", "inbox_query_ms",
)
RATIOS = ("overhead_ratio_start", "overhead_ratio_complete", "overhead_ratio_complete_cold", "overhead_ratio_start_cpu",
          "overhead_ratio_complete_cpu", "sweep_ratio_100k_vs_1k", "sweep_ratio_100k_vs_1k_cpu")


@pytest.fixture(scope="module")
def result():
    return run_engine_bench(quick=True, progress=False, due=50, waiting_small=100, waiting_large=2000,
                            idle_sizes=(20, 200), drain_due=60)


def test_the_result_is_one_json_object_under_engine(result):
    assert set(result) == {"engine"}
    assert json.loads(json.dumps(result)) == result


def test_every_timing_has_a_positive_median_and_p95(result):
    engine = result["engine"]
    assert engine["repetitions"] == 30
    for key in STATS:
        stats = engine[key]
        assert set(stats) == {"median", "p95", "n"}, key
        assert 0 < stats["median"] <= stats["p95"], key
        assert stats["n"] > 0
        assert stats["median"] == round(stats["median"], 3)
    assert engine["raw_start_to_first_task_ms"]["n"] == 30
    assert engine["sweep_1000_due_with_1000_waiting_ms"]["n"] == 1
    for key in RATIOS:
        assert engine[key] > 0, key


def test_sizes_follow_the_overrides(result):
    engine = result["engine"]
    assert engine["sweep"] == {"due": 50, "waiting_small": 100, "waiting_large": 2000, "runs": 1}
    assert engine["inbox"] == {"open_tasks": 2000, "org_units": 200, "limit": 50}
    assert 0 < engine["state_bytes"] < engine["stored_bytes_per_waiting_instance"]
    assert engine["stored_bytes_per_waiting_instance"] == engine["state_bytes"] + engine["human_task_row_bytes"]
    assert engine["db_file_bytes_per_waiting_instance"] > engine["state_bytes"]
    assert engine["wall_time_s"] > 0


def test_the_environment_is_recorded(result):
    env = result["engine"]["environment"]
    assert env["spiffworkflow"] == "3.2.0"
    assert env["python"].startswith("3.") and env["sqlite"] and env["cpu_count"] >= 1
    assert env["timestamp"].endswith("+00:00")
    assert len(env["load_average_1m"]) == 2


def test_sizes_must_nest():
    with pytest.raises(ValueError):
        run_engine_bench(quick=True, progress=False, due=200, waiting_small=100)


def test_the_progress_bar_draws_on_stderr_only_when_enabled(capsys):
    _Progress(True, width=10).update(45, 100, "cloning instances")
    _Progress(False).update(1, 2, "silent")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("\r[####......]  45% cloning instances")
    assert "silent" not in captured.err


def test_statements_and_transactions_per_step_are_counted_through_sqlalchemy_events(result):
    counts = result["engine"]["sql_per_step"]
    for step in ("start", "complete_task"):
        assert counts[step]["transactions"] == 1, step
        assert 3 <= counts[step]["statements"] <= 12, step


def test_idle_sweeps_and_the_timer_drain_are_reported(result):
    engine = result["engine"]
    assert set(engine["idle_sweep_ms_by_waiting"]) == {"20", "200"}
    for figures in engine["idle_sweep_ms_by_waiting"].values():
        assert figures["wall_ms"]["median"] > 0
    [drain] = engine["timer_drain"]
    assert drain["due"] == 60 and drain["database"] == "sqlite"
    assert drain["1_process"]["timers_per_s"] > 0 and drain["2_process"]["timers_per_s"] > 0
