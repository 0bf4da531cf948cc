"""Product code reaches the database through SQLAlchemy's public API only.

``ALLOWED`` lists the files that still use private names (or ``engine.prepared``, which is built
on them) today; it may only shrink: a listed file that no longer needs its entry fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("engine", "workflows", "web")
PRIVATE = re.compile(r"_returning|positiontup|identity_map\._|set_committed_value|instance_state"
                     r"|engine\.prepared|from engine import prepared")
ALLOWED = {
    "engine/prepared.py",
    "workflows/cases/lookups.py",
    "workflows/cases/models.py",
    "workflows/cases/reporting.py",
    "workflows/cases/timeline.py",
    "workflows/people/lookups.py",
    "workflows/people/tokens.py",
    "workflows/reference/sla.py",
}


def _users() -> set[str]:
    found = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if PRIVATE.search(path.read_text(encoding="utf-8")):
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_product_code_uses_no_private_sqlalchemy_names_outside_the_allow_list():
    offenders = sorted(_users() - ALLOWED)
    assert not offenders, (f"{offenders} use SQLAlchemy private names or engine.prepared: use Core statements "
                           "on session.execute (see engine/storage/store.py) or the ORM instead")


def test_the_allow_list_only_holds_files_that_still_need_it():
    stale = sorted(ALLOWED - _users())
    assert not stale, f"{stale} no longer use private names: remove them from ALLOWED in this test"


def test_the_engine_runs_without_engine_prepared():
    users = {name for name in _users() if name.startswith("engine/")}
    assert users == {"engine/prepared.py"}
