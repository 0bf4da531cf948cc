"""`gridlink bench` HTTP part: it starts `gridlink run`, drives it from load processes, reports figures."""

from __future__ import annotations

from web.bench_http import run_http_bench

TINY = {"intake": (4, 16), "open311": (2, 8), "complete": (4, 16), "baseline": 16, "seconds": 20}


def test_the_http_bench_drives_the_real_server_and_reports_throughput_and_percentiles():
    http = run_http_bench(plan=TINY, log=lambda message: None)["http"]
    for part in ("case_intake", "open311_post", "task_completion"):
        for clients in ("1", "8"):
            run = http[part][clients]
            assert run["clients"] == int(clients) and run["errors"] == 0, run
            assert run["requests"] == TINY[{"case_intake": "intake", "open311_post": "open311",
                                            "task_completion": "complete"}[part]][clients == "8"]
            assert run["per_second"] > 0 and run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert set(http["met"]) == set(http["targets"])
    assert http["baseline_8_clients"]["healthz"]["errors"] == 0
    assert http["baseline_8_clients"]["api_read"]["errors"] == 0
