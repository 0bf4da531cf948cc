"""Product code reaches the database through SQLAlchemy's public API only.

Nothing is allowed: no private SQLAlchemy name, and no ``engine.prepared`` (the driver-cursor
detour it named was removed; Core statements run on ``session.execute`` so every statement reaches
SQLAlchemy's events and logging).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("engine", "workflows", "web")
PRIVATE = re.compile(r"_returning|positiontup|identity_map\._|set_committed_value|instance_state"
                     r"|engine\.prepared|from engine import prepared")


def _users() -> set[str]:
    found = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if PRIVATE.search(path.read_text(encoding="utf-8")):
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_product_code_uses_no_private_sqlalchemy_names():
    offenders = sorted(_users())
    assert not offenders, (f"{offenders} use SQLAlchemy private names or engine.prepared: use Core statements "
                           "on session.execute (see engine/storage/store.py) or the ORM instead")


def test_engine_prepared_is_gone():
    assert not (ROOT / "engine" / "prepared.py").exists()
