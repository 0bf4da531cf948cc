"""Lighthouse-style figures for the resident's /report page on a throttled phone (docs/PERFORMANCE.md).

Chromium's DevTools protocol throttles the network to Lighthouse's "slow 4G" as applied in DevTools
mode (562.5 ms round trip, 1,474.56 kbit/s down, 675 kbit/s up) and the CPU 4x, on a 390 px phone
viewport, with the cache off (a first visit). Page weight is the bytes transferred (headers and
compressed bodies, ``Network.loadingFinished.encodedDataLength``) up to the load event; load time is
the navigation's ``loadEventEnd``. The figures go to test-artifacts/perf-report.json; the test fails
only when the page grows past a budget that leaves room for a slow machine.
"""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ROOT, shot

pytestmark = pytest.mark.browser

SLOW_4G = {"offline": False, "latency": 562.5, "downloadThroughput": 1474.56 * 1024 / 8,
           "uploadThroughput": 675 * 1024 / 8}
CPU_SLOWDOWN = 4
WEIGHT_BUDGET = 600 * 1024
LOAD_BUDGET_MS = 15_000


def measure(page, path: str) -> dict:
    session = page.context.new_cdp_session(page)
    transferred: dict[str, float] = {}
    urls: dict[str, str] = {}
    session.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    session.on("Network.loadingFinished",
               lambda e: transferred.__setitem__(e["requestId"], e["encodedDataLength"]))
    session.send("Network.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": True})
    session.send("Network.emulateNetworkConditions", SLOW_4G)
    session.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.goto(path, wait_until="load")
    timing = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        return {ttfb: n.responseStart, dom: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }""")
    fcp = page.evaluate("""() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null""")
    at_load = int(sum(transferred.values()))
    page.wait_for_load_state("networkidle")  # the grid outlines (/map/grids.json) come after the load event
    session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    by_url = sorted(((urls.get(k, k), int(v)) for k, v in transferred.items()), key=lambda item: -item[1])
    return {"path": path, "requests": len(transferred), "bytes": at_load,
            "bytes_after_idle": int(sum(transferred.values())),
            "ttfb_ms": round(timing["ttfb"]), "fcp_ms": round(fcp) if fcp else None,
            "dom_content_loaded_ms": round(timing["dom"]), "load_ms": round(timing["load"]),
            "largest": [{"url": u.split("/", 3)[-1], "bytes": b} for u, b in by_url[:8]]}


def test_the_report_page_on_slow_4g_and_a_4x_slower_cpu(new_page):
    phone = new_page(phone=True)
    figures = measure(phone, "/report")
    shot(phone, "84-phone-report-zh", full_page=False)
    out = ROOT / "test-artifacts" / "perf-report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(figures, indent=2))
    assert figures["bytes"] <= WEIGHT_BUDGET, figures
    assert figures["load_ms"] <= LOAD_BUDGET_MS, figures
