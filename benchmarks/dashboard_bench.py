"""`gridlink bench --dashboard`: 1,000,000 cases over a year, then time the big screen and the report.

The cases are written straight into the domain tables with chunked SQLAlchemy core inserts
(executemany), over the demo organisation (Huqiu street: 156 grids), with realistic shares:
most cases closed, a few rejected or merged, recent ones still open (some past due), closures
spread over the levels with most at grid level, overdue records for the cases that ran late,
dispatches (accepted, returned, late), reworks, ratings, joint meetings and fund spends. No
process instances are created: the figures read only the domain tables.

Then it times ``dashboard_data`` (the JSON behind ``/dashboard``) for the whole street and for
one workstation, and the monthly evaluation report (``exports.monthly_report_data``) for the
last full month, each several times (median and max in milliseconds).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time as clock
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from workflows.cases.models import Case, OverdueRecord
from workflows.clock import LOCAL_TZ, now
from workflows.coordination.models import Dispatch, FundBudget, FundSpend, Meeting, MeetingSummons
from workflows.evaluation.models import Charge
from workflows.org.models import LEVELS, Department, OrgUnit
from workflows.reference.models import Category

CHUNK = 20_000
CLOSED_LEVEL_SHARES = (("grid", 0.55), ("community", 0.24), ("workstation", 0.12), ("subcentre", 0.06),
                       ("district", 0.03))
LEVEL_LIMIT_HOURS = {"grid": 24, "community": 72, "workstation": 168, "subcentre": 720, "district": 720}
SOURCES = (("patrol", 0.45), ("hotline", 0.2), ("snapshot", 0.12), ("platform", 0.08), ("inspection", 0.06),
           ("sensor", 0.04), ("forum", 0.03), ("walk_in", 0.02))


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int, enabled: bool = True) -> None:
        self.label, self.total, self.enabled, self.last = label, total, enabled, -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        percent = int(100 * done / self.total) if self.total else 100
        if percent != self.last:
            self.last = percent
            bar = "#" * (percent // 4) + "-" * (25 - percent // 4)
            sys.stderr.write(f"\r{self.label} [{bar}] {percent:3d}% ({done:,}/{self.total:,})")
            if done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def _pick(rng: random.Random, shares) -> str:
    roll, acc = rng.random(), 0.0
    for value, share in shares:
        acc += share
        if roll < acc:
            return value
    return shares[-1][0]


class Generator:
    """Builds the rows of one chunk of cases and their overdue records, dispatches, meetings, spends."""

    def __init__(self, session, total: int, end: datetime, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.total, self.end = total, end
        self.start = end - timedelta(days=365)
        units = session.execute(select(OrgUnit.id, OrgUnit.level, OrgUnit.parent_id)).all()
        parent = {uid: p for uid, _, p in units}
        level_of = {uid: lv for uid, lv, _ in units}
        self.grids = [uid for uid, lv, _ in units if lv == "grid"]
        self.up: dict[int, dict[str, int]] = {}
        for grid in self.grids:
            chain, current = {}, grid
            while current is not None:
                chain[level_of[current]] = current
                current = parent[current]
            self.up[grid] = chain
        self.district = next(uid for uid, lv, _ in units if lv == "district")
        cats = session.execute(select(Category.id, Category.department_id, Category.time_limit)
                               .where(Category.parent_id.is_not(None))).all()
        self.categories = [(cid, dept) for cid, dept, _ in cats]
        self.departments = list(session.scalars(select(Department.id)))
        self.budgets = {ws: bid for bid, ws in session.execute(select(FundBudget.id, FundBudget.org_unit_id))}
        self.next_id = (session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
        self.next_meeting = (session.scalar(select(Meeting.id).order_by(Meeting.id.desc()).limit(1)) or 0) + 1

    def chunk(self, first: int, size: int) -> dict[str, list[dict[str, Any]]]:
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ("cases", "overdue", "charges", "dispatches",
                                                                        "meetings", "summons", "spends")}
        span = (self.end - self.start).total_seconds()
        for index in range(first, first + size):
            created = self.start + timedelta(seconds=span * (index + self.rng.random()) / self.total)
            self._case(rows, created)
        return rows

    def _case(self, rows: dict, created: datetime) -> None:
        rng, cid = self.rng, self.next_id
        self.next_id += 1
        grid = rng.choice(self.grids)
        category, department = rng.choice(self.categories)
        age_hours = (self.end - created).total_seconds() / 3600
        roll = rng.random()
        level = _pick(rng, CLOSED_LEVEL_SHARES)
        late = rng.random() < 0.08
        limit = timedelta(hours=LEVEL_LIMIT_HOURS[level])
        case = {"id": cid, "number": f"BN{cid:08d}", "title": "批量演练工单", "description": "",
                "category_id": category, "source": _pick(rng, SOURCES), "grid_id": grid, "status": "closed",
                "level": level, "org_unit_id": self.up[grid].get(level, self.district), "due_at": None,
                "created_at": created, "registered_at": created + timedelta(minutes=20), "resolved_at": None,
                "closed_at": None, "closed_level": None, "self_closed": False,
                "reworked_count": 1 if rng.random() < 0.04 else 0, "rating": None}
        open_share = 0.004 if age_hours > 24 * 45 else (0.03 if age_hours > 24 * 7 else 0.25)
        spent = limit * (rng.random() * (0.9 if not late else 1.6) + (0.2 if late else 0.05))
        if roll < 0.03:
            case.update(status="rejected", level="grid", org_unit_id=grid)
        elif roll < 0.04:
            case.update(status="merged", level="grid", org_unit_id=grid)
        elif roll < 0.04 + open_share or created + spent > self.end:
            case["status"] = "resolved" if rng.random() < 0.15 else "open"
            case["due_at"] = None if case["status"] == "resolved" else created + limit * (0.6 if late else 1.2)
        else:
            case.update(closed_at=created + spent, closed_level=level, resolved_at=created + spent * 0.9,
                        self_closed=level == "grid" and rng.random() < 0.3,
                        rating=rng.choice((5, 5, 5, 4, 4, 3, 2)) if rng.random() < 0.4 else None)
            if case["self_closed"]:
                case["registered_at"] = None
        rows["cases"].append(case)
        if late and case["status"] in ("closed", "open"):
            charged = LEVELS[max(0, LEVELS.index(level) - 1)] if level != "grid" else "grid"
            unit = self.up[grid].get(charged, self.district)
            rows["overdue"].append({"case_id": cid, "stage": charged, "level": charged,
                                    "org_unit_id": unit, "department_id": None,
                                    "due_at": created + limit, "recorded_at": min(created + limit, self.end)})
            rows["charges"].append({"case_id": cid, "kind": "overdue", "stage": charged, "level": charged,
                                    "org_unit_id": unit, "department_id": None, "scope_unit_id": unit,
                                    "recorded_at": min(created + limit, self.end), "status": "active", "note": None})
        if level in ("workstation", "subcentre", "district") or rng.random() < 0.05:
            self._dispatch(rows, case, department or rng.choice(self.departments))
        if level in ("subcentre", "district") and rng.random() < 0.1:
            self._meeting(rows, case)
        if level == "workstation" and case["status"] == "closed" and rng.random() < 0.1:
            workstation = self.up[grid]["workstation"]
            if workstation in self.budgets:
                rows["spends"].append({"budget_id": self.budgets[workstation], "case_id": cid,
                                       "amount_cents": rng.randrange(5_000, 300_000), "purpose": "民生小事",
                                       "spent_at": case["closed_at"]})

    def _dispatch(self, rows: dict, case: dict, department: int) -> None:
        rng = self.rng
        at = case["created_at"] + timedelta(hours=rng.random() * 24)
        returned = rng.random() < 0.05
        accept_late, result_late = rng.random() < 0.04, rng.random() < 0.07
        result_due = at + timedelta(days=5)
        done = case["status"] == "closed" and not returned
        level = case["level"] if case["level"] in LEVELS else "workstation"
        rows["dispatches"].append({
            "case_id": case["id"], "department_id": department, "level": level, "org_unit_id": case["org_unit_id"],
            "instructions": "请处置", "dispatched_at": at, "accept_due": at + timedelta(hours=2),
            "accepted_at": None if returned else at + timedelta(hours=3 if accept_late else 1),
            "returned_at": at + timedelta(hours=1) if returned else None,
            "return_reason": "非本部门职责" if returned else None, "result": "已处置" if done else None,
            "result_due": None if returned else result_due,
            "result_at": (result_due + timedelta(days=1) if result_late else at + timedelta(days=2)) if done else None,
            "accept_overdue": accept_late, "result_overdue": result_late and done})
        if result_late and done:
            rows["overdue"].append({"case_id": case["id"], "stage": "dispatch_result", "level": level,
                                    "org_unit_id": case["org_unit_id"], "department_id": department,
                                    "due_at": result_due, "recorded_at": min(result_due, self.end)})

    def _meeting(self, rows: dict, case: dict) -> None:
        rng, mid = self.rng, self.next_meeting
        self.next_meeting += 1
        at = case["created_at"] + timedelta(hours=6)
        rows["meetings"].append({"id": mid, "case_id": case["id"], "level": case["level"],
                                 "org_unit_id": case["org_unit_id"], "urgency": "routine", "topic": "联席会议",
                                 "duty_deadline": at + timedelta(hours=24), "status": "confirmed",
                                 "created_at": at})
        for department in rng.sample(self.departments, 3):
            late = rng.random() < 0.1
            rows["summons"].append({"meeting_id": mid, "department_id": department,
                                    "deadline": at + timedelta(hours=24),
                                    "reported_at": at + timedelta(hours=30 if late else 5), "late": late})


def populate(system, total: int, *, progress: bool = True, seed: int = 7) -> dict[str, int]:
    """Insert ``total`` generated cases (and their rows) over the year before now, in chunks."""
    tables = {"cases": Case.__table__, "overdue": OverdueRecord.__table__, "charges": Charge.__table__,
              "dispatches": Dispatch.__table__,
              "meetings": Meeting.__table__, "summons": MeetingSummons.__table__, "spends": FundSpend.__table__}
    counts = dict.fromkeys(tables, 0)
    with system.sessions() as session:
        generator = Generator(session, total, now(), seed)
    bar = Progress("generating cases", total, progress)
    done = 0
    while done < total:
        size = min(CHUNK, total - done)
        rows = generator.chunk(done, size)
        with system.db.begin() as conn:
            for name, table in tables.items():
                if rows[name]:
                    conn.execute(insert(table), rows[name])
                    counts[name] += len(rows[name])
        done += size
        bar.update(done)
    return counts


def _time(fn, repeat: int) -> dict[str, float]:
    """Wall time (median, max) and this process's CPU time (median): SQLite runs in-process, so the
    CPU time is the queries' own cost even when other programs compete for the processors."""
    samples, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = clock.perf_counter(), clock.process_time()
        fn()
        samples.append((clock.perf_counter() - began) * 1000)
        cpu.append((clock.process_time() - began_cpu) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1),
            "cpu_median_ms": round(statistics.median(cpu), 1), "n": repeat}


def time_queries(system, repeat: int = 5) -> dict[str, Any]:
    """Median and max wall time of the dashboard data and the monthly report data."""
    from workflows.evaluation.dashboard import dashboard_data
    from workflows.evaluation.exports import monthly_report_data

    today = now().astimezone(LOCAL_TZ).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    from workflows.reads.sessions import read_sessions

    with read_sessions(system)() as session:  # as the web app reads them
        workstation = session.scalar(select(OrgUnit.code).where(OrgUnit.level == "workstation").order_by(OrgUnit.code))
        community = session.scalar(select(OrgUnit.code).where(OrgUnit.level == "community").order_by(OrgUnit.code))
        dashboard_data(session)  # warm the caches once, as a running server would be
        return {
            "dashboard_month_whole_street": _time(lambda: dashboard_data(session), repeat),
            "dashboard_month_workstation": _time(lambda: dashboard_data(session, scope_unit=workstation), repeat),
            "dashboard_month_community": _time(lambda: dashboard_data(session, scope_unit=community), repeat),
            "dashboard_today_whole_street": _time(lambda: dashboard_data(session, period="today"), repeat),
            "monthly_report_" + last_month: _time(lambda: monthly_report_data(session, last_month), repeat),
        }


def run_dashboard_bench(cases: int = 1_000_000, *, database_url: str | None = None, progress: bool = True,
                        repeat: int = 5) -> dict[str, Any]:
    """Fill a fresh database (SQLite in a temp folder unless ``database_url``) and time the queries."""
    from workflows.setup import bootstrap, schema
    from workflows.system import build_system

    began = clock.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gridlink-bench-") as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        system = build_system(url, Path(folder) / "uploads")
        schema.upgrade(system.db)
        bootstrap.load_reference_data(system)
        _budgets(system)
        load_began = clock.perf_counter()
        counts = populate(system, cases, progress=progress)
        if system.db.dialect.name == "sqlite":  # fold the bulk load's write-ahead log into the database
            raw = system.db.raw_connection()  # outside a transaction: a checkpoint cannot run inside one
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        load_seconds = clock.perf_counter() - load_began
        if progress:
            sys.stderr.write("timing the dashboard and the monthly report ...\n")
        timings = time_queries(system, repeat)
        size = Path(url.removeprefix("sqlite:///")).stat().st_size if url.startswith("sqlite:///") else None
        system.db.dispose()
    worst = max(t["median_ms"] for t in timings.values())
    return {"dashboard": {
        "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
        "database": url.split(":", 1)[0], "cases": counts["cases"], "rows": counts,
        "database_bytes": size, "load_seconds": round(load_seconds, 1),
        "load_rows_per_second": round(sum(counts.values()) / load_seconds) if load_seconds else None,
        "timings": timings, "target_ms": 1000, "within_target": worst <= 1000,
        "wall_seconds": round(clock.perf_counter() - began, 1),
    }}


def _budgets(system) -> None:
    year = now().astimezone(LOCAL_TZ).year
    with system.sessions() as session, session.begin():
        for ws in session.scalars(select(OrgUnit.id).where(OrgUnit.level == "workstation")):
            exists = session.scalar(select(FundBudget.id).where(FundBudget.org_unit_id == ws, FundBudget.year == year))
            if exists is None:
                session.add(FundBudget(org_unit_id=ws, year=year, amount_cents=5_000_000))
