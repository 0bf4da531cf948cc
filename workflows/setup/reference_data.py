"""The reference data an installation starts with, read from the JSON files in ``setup/data/``.

- ``departments.json``: ``code, name, name_en, units`` (the org units each department serves);
- ``categories.json``: parents first, ``code, parent, name, name_en, kind, department, time_limit``
  (docs/CONVENTIONS.md);
- ``sla_defaults.json``: the default SLA policies (no category), ``stage, limit, reminder_share``
  (PRODUCT.md "SLA defaults");
- ``evaluation_weights.json``: the default composite-score weights, ``key, weight``
  (PRODUCT.md "Evaluation").

``bootstrap.load_reference_data`` upserts them by code; each call returns a fresh list.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


@cache
def _text(name: str) -> str:
    return (DATA / f"{name}.json").read_text(encoding="utf-8")


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads(_text(name))


def departments() -> list[dict[str, Any]]:
    return _load("departments")


def categories() -> list[dict[str, Any]]:
    return _load("categories")


def sla_defaults() -> list[dict[str, Any]]:
    return _load("sla_defaults")


def evaluation_weights() -> list[dict[str, Any]]:
    return _load("evaluation_weights")
