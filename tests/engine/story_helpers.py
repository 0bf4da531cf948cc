"""A small world for the stories: the shipped diagrams, the Huqiu organisation, people and a clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from engine.storage.models import HumanTask
from workflows.cases import decisions, reporting
from workflows.cases.models import Case, TimelineEntry
from workflows.coordination.models import FundBudget
from workflows.org.models import OrgUnit
from workflows.people.accounts import create_user
from workflows.setup.bootstrap import deploy_shipped, load_reference_data
from workflows.system import System, build_system
from workflows.timers import tick

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
KNOWN_CODE = "ABCD2345"

PEOPLE = [
    ("gw", "grid_worker", "hq-c04-g03", None),
    ("gw-other", "grid_worker", "hq-c04-g01", None),
    ("coord-c04", "coordinator", "hq-c04", None),
    ("coord-c05", "coordinator", "hq-c05", None),
    ("coord-c01", "coordinator", "hq-c01", None),
    ("coord-ws2", "coordinator", "hq-ws2", None),
    ("coord-huqiu", "coordinator", "huqiu", None),
    ("coord-district", "coordinator", "district", None),
    ("coord-district-2", "coordinator", "district", None),
    ("admin", "admin", None, None),
    ("leader", "leader", None, None),
    *[(f"dept-{code}", "department", None, code)
      for code in ("police", "urban", "fire", "housing", "planning", "sanitation", "enforcement")],
]


@dataclass
class World:
    """The system under test; ``reload`` swaps in a fresh System on the same database when restoring."""

    db_url: str
    uploads: Path
    restore: bool
    clock: object
    system: System = field(init=False)

    def __post_init__(self):
        self.system = build_system(self.db_url, self.uploads)

    def reload(self) -> None:
        if self.restore:
            self.system = build_system(self.db_url, self.uploads)

    def later(self, **delta) -> None:
        self.clock.tick(timedelta(**delta))

    def tick(self):
        return tick(self.system)

    # --- reading --------------------------------------------------------------------------
    def case(self, number: str) -> Case:
        with self.system.sessions() as session:
            case = session.scalar(select(Case).where(Case.number == number))
            case.org_unit, case.grid  # noqa: B018 - load before the session closes
            return case

    def view(self, number: str, user: str = "admin") -> dict:
        with self.system.sessions() as session:
            from workflows.people.lookups import get_user

            return reporting.case_view(session, get_user(session, user), number)

    def public_view(self, number: str) -> dict:
        """What the reporter sees on /track (with a query code given to the case here)."""
        reporting.set_query_code(self.system, number, KNOWN_CODE)
        return reporting.public_case_view(self.system, number, KNOWN_CODE)

    def rate(self, number: str, rating, comment: str | None = None) -> dict:
        reporting.set_query_code(self.system, number, KNOWN_CODE)
        return reporting.rate_case(self.system, number, rating, comment, query_code=KNOWN_CODE)

    def kinds(self, number: str) -> list[str]:
        return [e["kind"] for e in self.view(number)["timeline"]]

    def tasks(self, number: str) -> list[HumanTask]:
        with self.system.sessions() as session:
            return list(session.scalars(select(HumanTask).where(HumanTask.business_key == number)
                                        .order_by(HumanTask.created_at, HumanTask.id)))

    def task(self, number: str, kind: str | None = None, department: str | None = None,
             org_unit: str | None = None) -> HumanTask:
        found = [t for t in self.tasks(number)
                 if (kind is None or t.properties.get("task_kind") == kind)
                 and (department is None or t.department == department)
                 and (org_unit is None or t.org_unit == org_unit)]
        assert len(found) >= 1, [(t.element_id, t.org_unit, t.department) for t in self.tasks(number)]
        return found[0]

    def count(self, model) -> int:
        with self.system.sessions() as session:
            return session.scalar(select(func.count()).select_from(model))

    def timeline_count(self) -> int:
        return self.count(TimelineEntry)

    # --- acting ---------------------------------------------------------------------------
    def report(self, **values) -> str:
        values.setdefault("description", "")
        values.setdefault("category", "drain_blocked")
        values.setdefault("source", "patrol")
        return reporting.report_case(self.system, **values)["number"]

    def do(self, user: str, number: str, kind: str, data: dict, **match) -> dict:
        return decisions.complete_task(self.system, user, self.task(number, kind, **match).id, data)


def make_world(db_url: str, uploads: Path, restore: bool, clock) -> World:
    world = World(db_url, uploads, restore, clock)
    deploy_shipped(world.system, BPMN_DIR)
    load_reference_data(world.system)
    for username, role, org, department in PEOPLE:
        create_user(world.system, username, role, org=org, department=department, password="secret-pass",
                    display_name=username.upper())
    with world.system.sessions() as session, session.begin():
        ws2 = session.scalar(select(OrgUnit).where(OrgUnit.code == "hq-ws2"))
        session.add(FundBudget(org_unit_id=ws2.id, year=2026, amount_cents=300_000))
    return world
