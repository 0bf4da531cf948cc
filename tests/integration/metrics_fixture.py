"""A small hand-built organisation and ten cases whose figures are worked out by hand in the tests.

Tree: district D > sub-centre S > workstations W1, W2 > communities C1, C2 (W1), C3 (W2) >
grids G1a, G1b (C1), G2 (C2), G3 (C3). "Now" is 2026-11-21 12:00 in Suzhou; the period is November.
Registered (立案): cases 2, 3, 5, 7, 8 and 10 (5 and 10 more than 2 h after the report); case 1 is an
on-the-spot self-closed order, 4 waits for registration, 6 was rejected, 9 was reported in October.
"""

from __future__ import annotations

from datetime import datetime

from workflows.cases.models import Case, OverdueRecord
from workflows.clock import LOCAL_TZ
from workflows.coordination.models import Dispatch, FundBudget, FundSpend, Meeting, MeetingSummons
from workflows.evaluation.models import Charge
from workflows.org.models import Department, OrgUnit
from workflows.reference.models import Category

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=LOCAL_TZ)


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=LOCAL_TZ)


def build(session) -> dict:
    units = {}

    def unit(code, level, parent=None):
        units[code] = OrgUnit(code=code, name=f"单位{code}", level=level, parent=units.get(parent))
        session.add(units[code])

    unit("D", "district")
    unit("S", "subcentre", "D")
    unit("W1", "workstation", "S")
    unit("W2", "workstation", "S")
    unit("C1", "community", "W1")
    unit("C2", "community", "W1")
    unit("C3", "community", "W2")
    unit("G1a", "grid", "C1")
    unit("G1b", "grid", "C1")
    unit("G2", "grid", "C2")
    unit("G3", "grid", "C3")
    depts = {code: Department(code=code, name=name) for code, name in
             (("police", "公安"), ("fire", "消防"), ("urban", "城管"))}
    session.add_all(depts.values())
    event = Category(code="event", name="事件", kind="event")
    parking = Category(code="illegal_parking", name="违章停车", kind="event", parent=event,
                       department=depts["police"], time_limit="P1D")
    hazard = Category(code="fire_hazard", name="消防安全隐患", kind="event", parent=event,
                      department=depts["fire"], time_limit="P3D")
    session.add_all([event, parking, hazard])
    session.flush()

    def new(key, grid, category=parking, **values):
        g = units[grid] if grid else None
        values.setdefault("status", "open")
        values.setdefault("level", "grid")
        values.setdefault("org_unit", g or units["W2"])
        c = Case(number=f"GL-{key}", title=f"case {key}", category=category, source="patrol", grid=g, **values)
        session.add(c)
        return c

    cases = {
        1: new(1, "G1a", status="closed", created_at=at(11, 2, 8), closed_at=at(11, 2, 18), closed_level="grid",
               self_closed=True, rating=5),
        2: new(2, "G1a", status="closed", created_at=at(11, 3), closed_at=at(11, 6), closed_level="community",
               level="community", rating=3, registered_at=at(11, 3, 10)),
        3: new(3, "G1b", created_at=at(11, 4), due_at=at(11, 20), reworked_count=1, registered_at=at(11, 4)),
        4: new(4, "G1b", created_at=at(11, 18), due_at=at(11, 25)),
        5: new(5, "G2", category=hazard, status="closed", created_at=at(11, 5), closed_at=at(11, 10),
               closed_level="workstation", level="workstation", reworked_count=1, rating=4,
               registered_at=at(11, 5, 12)),
        6: new(6, "G2", status="rejected", created_at=at(11, 6)),
        7: new(7, "G3", status="resolved", created_at=at(11, 7), registered_at=at(11, 7, 10)),
        8: new(8, "G3", category=hazard, created_at=at(11, 8), due_at=at(11, 15), registered_at=at(11, 8),
               level="community"),
        9: new(9, "G3", status="closed", created_at=at(10, 20), closed_at=at(10, 22), closed_level="grid"),
        10: new(10, None, created_at=at(11, 9), due_at=at(11, 12), level="workstation", registered_at=at(11, 9, 13)),
    }
    session.flush()
    session.add_all([
        OverdueRecord(case_id=cases[2].id, stage="grid", level="grid", org_unit_id=units["G1a"].id,
                      recorded_at=at(11, 4)),
        OverdueRecord(case_id=cases[3].id, stage="community", level="community", org_unit_id=units["C1"].id,
                      recorded_at=at(11, 19)),
        OverdueRecord(case_id=cases[8].id, stage="dispatch_result", level="community", org_unit_id=units["C3"].id,
                      department_id=depts["fire"].id, recorded_at=at(11, 16)),
        OverdueRecord(case_id=cases[9].id, stage="grid", level="grid", org_unit_id=units["G3"].id,
                      recorded_at=at(10, 21)),
    ])
    u, d = units, depts
    session.add_all([  # the charges the hooks write with those records (and for reworks and returns)
        Charge(case_id=cases[2].id, kind="overdue", stage="grid", level="grid", org_unit_id=u["G1a"].id,
               scope_unit_id=u["G1a"].id, recorded_at=at(11, 4)),
        Charge(case_id=cases[3].id, kind="overdue", stage="community", level="community", org_unit_id=u["C1"].id,
               scope_unit_id=u["C1"].id, recorded_at=at(11, 19)),
        Charge(case_id=cases[8].id, kind="overdue", stage="dispatch_result", level="community",
               department_id=d["fire"].id, scope_unit_id=u["C3"].id, recorded_at=at(11, 16)),
        Charge(case_id=cases[9].id, kind="overdue", stage="grid", level="grid", org_unit_id=u["G3"].id,
               scope_unit_id=u["G3"].id, recorded_at=at(10, 21)),
        Charge(case_id=cases[3].id, kind="rework", stage="grid", level="grid", org_unit_id=u["G1b"].id,
               scope_unit_id=u["G1b"].id, recorded_at=at(11, 10)),
        Charge(case_id=cases[5].id, kind="rework", stage="workstation", level="workstation",
               department_id=d["police"].id, scope_unit_id=u["W1"].id, recorded_at=at(11, 9)),
        Charge(case_id=cases[8].id, kind="inaccurate_dispatch", stage="dispatch_accept", level="community",
               org_unit_id=u["C3"].id, scope_unit_id=u["C3"].id, recorded_at=at(11, 8, 10)),
        Charge(case_id=cases[8].id, kind="duty_late", stage="duty", level="community", department_id=d["fire"].id,
               scope_unit_id=u["C3"].id, recorded_at=at(11, 10)),
    ])
    session.add_all([
        Dispatch(case=cases[5], department=depts["police"], level="workstation", org_unit=units["W1"],
                 dispatched_at=at(11, 5), accept_due=at(11, 5, 11), accepted_at=at(11, 5, 10),
                 result_due=at(11, 9), result_at=at(11, 8), result="done"),
        Dispatch(case=cases[8], department=depts["fire"], level="community", org_unit=units["C3"],
                 dispatched_at=at(11, 8), accept_due=at(11, 8, 11), accepted_at=at(11, 8, 10),
                 result_due=at(11, 14), result_overdue=True),
        Dispatch(case=cases[8], department=depts["police"], level="community", org_unit=units["C3"],
                 dispatched_at=at(11, 8), accept_due=at(11, 8, 11), returned_at=at(11, 8, 10),
                 return_reason="not ours"),
        Dispatch(case=cases[4], department=depts["police"], level="grid", org_unit=units["G1b"],
                 dispatched_at=at(11, 21, 10), accept_due=at(11, 25)),
    ])
    meeting = Meeting(case=cases[8], level="community", org_unit=units["C3"], topic="消防隐患",
                      urgency="routine", created_at=at(11, 9))
    meeting.summons = [
        MeetingSummons(department=depts["police"], deadline=at(11, 10), reported_at=at(11, 9, 15)),
        MeetingSummons(department=depts["fire"], deadline=at(11, 10), reported_at=at(11, 11), late=True),
        MeetingSummons(department=depts["urban"], deadline=at(11, 30)),
    ]
    session.add(meeting)
    budget = FundBudget(org_unit=units["W1"], year=2026, amount_cents=5_000_000)
    session.add(FundSpend(budget=budget, case=cases[5], amount_cents=12_000, purpose="换管", spent_at=at(11, 9)))
    session.flush()
    return {"units": units, "cases": cases, "departments": depts}
