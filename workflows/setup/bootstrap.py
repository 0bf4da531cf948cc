"""Setting up an installation: deploy the shipped diagrams, load reference data, load the demo.

Everything here is idempotent: run it again and nothing changes (identical diagrams are a no-op
deploy; reference rows are upserted by code; demo users and cases are created once).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import VersionInfo, deploy
from workflows.cases.models import Case
from workflows.clock import local_today
from workflows.coordination.models import FundBudget
from workflows.demo import huqiu
from workflows.evaluation.models import EvaluationWeight
from workflows.org.models import Department, OrgUnit
from workflows.people.accounts import add_user, hash_password
from workflows.people.models import User
from workflows.reference.models import Category, SlaPolicy
from workflows.setup import reference_data

SHIPPED_SUFFIXES = (".bpmn", ".dmn", ".json")


def deploy_shipped(system, bpmn_dir: Path, deployed_by: str = "init") -> list[VersionInfo]:
    """Deploy every .bpmn/.dmn/.json file of ``bpmn_dir`` in one bundle (unchanged content: no new version)."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(bpmn_dir).iterdir())
             if p.suffix in SHIPPED_SUFFIXES}
    with system.sessions() as session, session.begin():
        return deploy(session, files, deployed_by)


def load_reference_data(system) -> None:
    """Org units, departments, categories, default SLA policies and evaluation weights, by code."""
    with system.sessions() as session, session.begin():
        _load_units(session)
        _load_departments(session)
        _load_categories(session)
        _load_sla(session)
        _load_weights(session)


def _by_code(session: Session, model, code: str):
    return session.scalar(select(model).where(model.code == code))


def _load_units(session: Session) -> None:
    for item in huqiu.org_units():
        parent = _by_code(session, OrgUnit, item["parent"]) if item["parent"] else None
        unit = _by_code(session, OrgUnit, item["code"]) or OrgUnit(code=item["code"])
        unit.name, unit.level, unit.parent = item["name"], item["level"], parent
        unit.polygon, unit.lat, unit.lon = item["polygon"], item["lat"], item["lon"]
        session.add(unit)
        session.flush()


def _load_departments(session: Session) -> None:
    for item in reference_data.departments():
        department = _by_code(session, Department, item["code"]) or Department(code=item["code"])
        department.name = item["name"]
        department.units = [u for u in (_by_code(session, OrgUnit, c) for c in item["units"]) if u]
        session.add(department)
    session.flush()


def _load_categories(session: Session) -> None:
    for item in reference_data.categories():
        parent = _by_code(session, Category, item["parent"]) if item["parent"] else None
        department = _by_code(session, Department, item["department"]) if item["department"] else None
        category = _by_code(session, Category, item["code"]) or Category(code=item["code"])
        category.name, category.name_en, category.kind = item["name"], item["name_en"], item["kind"]
        category.parent, category.department = parent, department
        category.time_limit = item["time_limit"]
        session.add(category)
        session.flush()


def _load_sla(session: Session) -> None:
    """Default policies are only created, never overwritten: an admin may have changed them."""
    for item in reference_data.sla_defaults():
        exists = session.scalar(select(SlaPolicy).where(SlaPolicy.stage == item["stage"],
                                                        SlaPolicy.category_id.is_(None)))
        if exists is None:
            session.add(SlaPolicy(stage=item["stage"], limit=item["limit"], reminder_share=item["reminder_share"]))
    session.flush()


def _load_weights(session: Session) -> None:
    for item in reference_data.evaluation_weights():
        if session.scalar(select(EvaluationWeight).where(EvaluationWeight.key == item["key"])) is None:
            session.add(EvaluationWeight(key=item["key"], weight=item["weight"]))
    session.flush()


# --- demo -----------------------------------------------------------------------------------------

def load_demo(system) -> dict:
    """Demo users, fund budgets and cases (replayed through the use cases); safe to run again.

    Returns ``{"cases", "created", "password", "logins": [{username, role, unit}], "notes", "track"}``;
    ``track`` lists a few demo cases with their query codes, to try /track and rating.
    """
    from workflows.demo import loader  # the loader imports the use cases

    _load_demo_people(system)
    scripts = loader.demo_scripts()
    notes: list[str] = []
    created = 0
    for script in scripts:
        if not _demo_case_exists(system, script["title"]):
            loader.replay(system, script, notes)
            created += 1
    return {"cases": len(scripts), "created": created, "password": huqiu.DEMO_PASSWORD,
            "logins": _logins(), "notes": notes, "track": _trackable(system)}


def _trackable(system) -> list[dict]:
    """An open demo case and a closed one not yet rated (to try rating), with their query codes."""
    from workflows.cases.query_codes import demo_code

    found = []
    with system.sessions() as session:
        for condition in (Case.status.in_(("reported", "open")), (Case.status == "closed") & Case.rating.is_(None)):
            number = session.scalar(select(Case.number).where(condition, Case.query_code_hash.is_not(None))
                                    .order_by(Case.created_at.desc(), Case.id.desc()).limit(1))
            if number is not None:
                found.append({"number": number, "query_code": demo_code(number)})
    return found


def _load_demo_people(system) -> None:
    password_hash = hash_password(huqiu.DEMO_PASSWORD)  # one hash for every demo login (same password)
    with system.sessions() as session, session.begin():
        for item in huqiu.users():
            if session.scalar(select(User).where(User.username == item["username"])) is None:
                add_user(session, item["username"], item["role"], item["org_unit"], item["department"],
                         password_hash, item["display_name"])
        for item in huqiu.fund_budgets(local_today().year):
            unit = _by_code(session, OrgUnit, item["org_unit"])
            exists = session.scalar(select(FundBudget).where(FundBudget.org_unit_id == unit.id,
                                                             FundBudget.year == item["year"]))
            if exists is None:
                session.add(FundBudget(org_unit_id=unit.id, year=item["year"], amount_cents=item["amount_cents"]))


def _demo_case_exists(system, title: str) -> bool:
    with system.sessions() as session:
        return session.scalar(select(Case.id).where(Case.title == title).limit(1)) is not None


def _logins() -> list[dict]:
    return [{"username": u["username"], "role": u["role"], "unit": u["org_unit"] or u["department"]}
            for u in huqiu.users() if u["featured"]]
