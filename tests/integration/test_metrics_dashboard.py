"""The big screen's read model on a real database (SQLite and PostgreSQL), on the hand-built fixture."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from workflows.errors import InvalidInput
from workflows.evaluation.dashboard import dashboard_data, period_bounds
from workflows.evaluation.metrics import compute_metrics

from .metrics_fixture import NOW, build


@pytest.fixture
def session(sessions):
    with sessions() as session, session.begin():
        build(session)
    with freeze_time(NOW), sessions() as session:
        yield session


def test_live_counts_and_the_overdue_list_most_overdue_first(session):
    data = dashboard_data(session)
    assert data["live"]["by_status"] == {"reported": 0, "open": 4, "resolved": 1}
    assert data["live"]["open_past_due"] == 3 and data["live"]["open_total"] == 5
    assert [row["number"] for row in data["overdue"]] == ["GL-10", "GL-8", "GL-3"]
    assert data["overdue"][0]["overdue_hours"] == 9 * 24 + 3


def test_cases_per_local_day_over_the_last_30_days(session):
    days = dashboard_data(session)["per_day"]
    assert len(days) == 30 and days[0]["day"] == "2026-10-23" and days[-1]["day"] == "2026-11-21"
    assert sum(d["received"] for d in days) == 9 and sum(d["closed"] for d in days) == 3
    assert next(d for d in days if d["day"] == "2026-11-02") == {"day": "2026-11-02", "received": 1, "closed": 1}


def test_the_month_figures_are_compute_metrics_and_the_red_black_list_is_this_months(session):
    data = dashboard_data(session)
    expected = compute_metrics(session, start="2026-11-01", end="2026-11-21", group_by="department")
    assert data["metrics"] == expected["totals"]
    assert [g["key"] for g in data["departments"]] == ["police", "fire", "urban"]
    # the list is this month's, by the thresholds: no community has the 3 cases due it needs to be listed
    assert data["red_black"]["month"] == "2026-11" and data["red_black"]["red"] == data["red_black"]["black"] == []
    assert [r["key"] for r in data["red_black"]["ranked"]] == ["C2", "C1", "C3"]
    assert data["top_categories"][0] == {"code": "illegal_parking", "name": "违章停车", "received": 7}


def test_a_scope_narrows_the_big_screen(session):
    data = dashboard_data(session, scope_unit="C3")
    assert data["live"]["open_total"] == 2 and [r["number"] for r in data["overdue"]] == ["GL-8"]
    assert data["scope"]["code"] == "C3"


def test_periods_are_local_and_unknown_ones_refused(session):
    start, end = period_bounds("week")
    assert start.isoformat() == "2026-11-16T00:00:00+08:00" and end.isoformat() == "2026-11-22T00:00:00+08:00"
    with pytest.raises(InvalidInput, match="decade"):
        dashboard_data(session, period="decade")


def test_the_big_screen_reads_without_holding_sqlites_write_lock(sessions, db_engine, tmp_path):
    from sqlalchemy import text

    from engine import make_engine, make_read_sessionmaker
    from workflows.evaluation.dashboard import load_dashboard
    from workflows.reads.sessions import read_sessions

    if db_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never block writers")
    with sessions() as session, session.begin():
        build(session)

    class FakeSystem:
        db = db_engine
        read_sessions = make_read_sessionmaker(db_engine)

    with read_sessions(FakeSystem)() as reader:
        reader.execute(text("SELECT count(*) FROM cases")).scalar_one()  # a read transaction is open
        writer = make_engine(str(db_engine.url), connect_args={"timeout": 1, "check_same_thread": False})
        with writer.begin() as conn:  # BEGIN IMMEDIATE: would wait (and fail after 1 s) behind a writer
            conn.execute(text("UPDATE org_units SET name = name"))
        writer.dispose()
        with pytest.raises(Exception, match="read session tried to write"):
            reader.execute(text("UPDATE org_units SET name = name"))
    FakeSystem.sessions = sessions
    FakeSystem.upload_dir = tmp_path
    assert load_dashboard(FakeSystem, viewer_unit=None)["metrics"]["received"] >= 0
