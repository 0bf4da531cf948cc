#!/usr/bin/env python3
"""Add up the JUnit reports of one `make test` run and print one closing line.

Usage: python3 scripts/test_summary.py [test-artifacts]

Reads test-artifacts/junit-*.xml (written by scripts/run_pytest.sh --label),
prints one line per run and then `total: N passed, N failed, N skipped`.
Exits 0: the build's status comes from the runs themselves. Standard library only.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def counts(path: Path) -> tuple[int, int, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failed - skipped, failed, skipped


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "test-artifacts")
    reports = sorted(folder.glob("junit-*.xml"), key=lambda p: p.stat().st_mtime)
    total = [0, 0, 0]
    print("==> test summary")
    for report in reports:
        label = report.stem.removeprefix("junit-")
        try:
            passed, failed, skipped = counts(report)
        except (ET.ParseError, OSError, ValueError) as exc:
            print(f"  {label}: unreadable report ({exc})")
            continue
        print(f"  {label}: {passed} passed, {failed} failed, {skipped} skipped")
        total[0] += passed
        total[1] += failed
        total[2] += skipped
    if not reports:
        print("  no test reports found")
    print(f"total: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
