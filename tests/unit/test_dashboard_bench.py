"""`gridlink bench --dashboard`: a small run gives the full JSON shape (no timing assertions)."""

from __future__ import annotations

import json

from benchmarks.dashboard_bench import run_dashboard_bench


def test_a_small_dashboard_bench_reports_rows_and_timings_under_dashboard():
    result = run_dashboard_bench(2000, progress=False, repeat=1)
    assert set(result) == {"dashboard"}
    bench = result["dashboard"]
    assert json.loads(json.dumps(result)) == result
    assert bench["cases"] == 2000 and bench["rows"]["cases"] == 2000
    assert bench["rows"]["dispatches"] > 0 and bench["rows"]["overdue"] > 0
    assert set(bench["timings"]) >= {"dashboard_month_whole_street", "dashboard_month_workstation",
                                     "dashboard_today_whole_street"}
    assert any(key.startswith("monthly_report_") for key in bench["timings"])
    for timing in bench["timings"].values():
        assert timing["n"] == 1 and 0 < timing["median_ms"] <= timing["max_ms"]
    assert bench["target_ms"] == 1000 and isinstance(bench["within_target"], bool)
