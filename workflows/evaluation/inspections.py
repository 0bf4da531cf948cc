"""Inspection scores (自查, 月度检查, 第三方测评, 随机抽查) of communities, entered by the centre.

A score is 0..100 for one community, month and kind; entering it again replaces it (audited). The
red/black list blends their mean into the community's final score (``metrics.INSPECTION_WEIGHT``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from workflows.admin.audit import record
from workflows.clock import now
from workflows.errors import Forbidden, InvalidInput
from workflows.evaluation.metrics import month_period
from workflows.evaluation.models import INSPECTION_KINDS, InspectionScore
from workflows.org.lookups import get_unit, is_within
from workflows.org.models import OrgUnit
from workflows.people.lookups import get_user

KIND_NAMES = {"self_check": "自查", "monthly_inspection": "月度检查", "third_party": "第三方测评",
              "spot_check": "随机抽查"}
ENTERERS = ("coordinator", "leader", "admin")


def _score(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"score {value!r} is not a number; give 0 to 100", field="score") from None
    if not 0 <= number <= 100:
        raise InvalidInput(f"score {value!r} is out of range; give 0 to 100", field="score")
    return round(number, 1)


def set_inspection_score(system, actor: Any, month: Any, community: str, kind: str, value: Any) -> dict:
    """Enter (or replace) one inspection score of ``community`` for ``month``."""
    label = month_period(month)[0]
    if kind not in INSPECTION_KINDS:
        raise InvalidInput(f"kind {kind!r} is not an inspection; use one of: {', '.join(INSPECTION_KINDS)}",
                           field="kind")
    number = _score(value)
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        unit = get_unit(session, community, field="community")
        if unit.level != "community":
            raise InvalidInput(f"{community!r} is a {unit.level}, not a community: inspection scores are for "
                               "communities", field="community")
        whole = user.role == "admin" or (user.role == "leader" and user.org_unit is None)
        if user.role not in ENTERERS or not (whole or (user.org_unit is not None
                                                       and is_within(unit, user.org_unit))):
            raise Forbidden(f"{user.username} may not enter inspection scores for {community}: the centre above "
                            "the community does", reason="not_centre")
        row = session.scalar(select(InspectionScore).where(InspectionScore.month == label,
                                                           InspectionScore.org_unit_id == unit.id,
                                                           InspectionScore.kind == kind))
        if row is None:
            row = InspectionScore(month=label, org_unit_id=unit.id, kind=kind)
            session.add(row)
        row.score, row.entered_by_id, row.entered_at = number, user.id, now()
        record(session, user.username, "inspection.set", f"{label}/{community}/{kind}", score=number)
        return {"month": label, "community": community, "kind": kind, "score": number}


def scores_for(system, month: Any, communities: list[str]) -> dict[str, dict[str, float]]:
    """``{community code: {kind: score}}`` for ``month``."""
    label = month_period(month)[0]
    with system.sessions() as session:
        rows = session.execute(select(OrgUnit.code, InspectionScore.kind, InspectionScore.score)
                               .join(OrgUnit, OrgUnit.id == InspectionScore.org_unit_id)
                               .where(InspectionScore.month == label, OrgUnit.code.in_(communities)))
        out: dict[str, dict[str, float]] = {}
        for code, kind, score in rows:
            out.setdefault(code, {})[kind] = score
        return out
