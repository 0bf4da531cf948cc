"""Publishing a month freezes its report; a re-issue with a reason keeps the earlier version."""

from __future__ import annotations

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from workflows.cases.models import Case
from workflows.errors import Forbidden, InvalidInput
from workflows.evaluation import reports
from workflows.evaluation.exports import monthly_report_csv, monthly_report_data
from workflows.evaluation.models import Charge
from workflows.people import accounts

from .metrics_fixture import at, build

DECEMBER_2 = at(12, 2, 9)


class Sys:
    def __init__(self, sessions):
        self.sessions = sessions


@pytest.fixture
def system(sessions, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")
    with sessions() as session, session.begin():
        build(session)
    system = Sys(sessions)
    accounts.create_user(system, "centre", "coordinator", org="D", password="password-1")
    accounts.create_user(system, "fire1", "department", department="fire", password="password-1")
    return system


def report(system, month="2026-11"):
    with freeze_time(DECEMBER_2), system.sessions() as session:
        return monthly_report_data(session, month)


def close_case_3_late(system):
    """A late event: case 3 (open past due in November) is closed on 1 December."""
    with system.sessions() as session, session.begin():
        case = session.scalar(select(Case).where(Case.number == "GL-3"))
        case.status, case.closed_at, case.closed_level, case.due_at = "closed", at(12, 1), "grid", None


def test_a_published_month_does_not_move_after_a_late_event(system):
    live = report(system)
    assert live["published"] is None and live["totals"]["closed"] == 2
    with freeze_time(DECEMBER_2):
        stamp = reports.publish_month(system, "centre", "2026-11")
    assert stamp["version"] == 1
    close_case_3_late(system)
    with system.sessions() as session, session.begin():
        session.query(Charge).update({"status": "withdrawn"})
    frozen = report(system)
    assert frozen["published"]["version"] == 1
    assert frozen["totals"] == live["totals"]  # closed still 2, overdues unchanged
    assert [r["key"] for r in frozen["black"]] == [r["key"] for r in live["black"]]
    with freeze_time(DECEMBER_2), system.sessions() as session:
        assert "已发布并冻结（第1版" in monthly_report_csv(session, "2026-11").decode("utf-8-sig")


def test_a_reissue_needs_a_reason_and_both_versions_are_kept(system):
    with freeze_time(DECEMBER_2):
        reports.publish_month(system, "centre", "2026-11")
        close_case_3_late(system)
        with pytest.raises(InvalidInput, match="needs a reason"):
            reports.publish_month(system, "centre", "2026-11")
        second = reports.publish_month(system, "centre", "2026-11", reason="GL-3 结案补录")
    assert second == {**second, "version": 2, "reason": "GL-3 结案补录"}
    now_report = report(system)
    assert now_report["published"]["version"] == 2 and now_report["totals"]["closed"] == 3
    assert [v["version"] for v in now_report["published"]["earlier"]] == [1]
    with system.sessions() as session:
        both = reports.versions(session, "2026-11")
    assert [(v["version"], v["report"]["totals"]["closed"]) for v in both] == [(1, 2), (2, 3)]


def test_the_current_month_stays_live_and_only_the_centre_publishes(system):
    with freeze_time(at(11, 21, 12)), pytest.raises(InvalidInput, match="has not ended"):
        reports.publish_month(system, "centre", "2026-11")
    with freeze_time(DECEMBER_2), pytest.raises(Forbidden):
        reports.publish_month(system, "fire1", "2026-11")
