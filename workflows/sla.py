"""The ``sla`` data a case starts with, computed from the SLA policies and the category.

Shape (docs/CONVENTIONS.md): one ``{"limit", "remind"}`` per level, ``dispatch_accept.limit``,
``dispatch_result.{limit, remind}`` (the category's time limit unless a policy overrides it) and
``duty.{routine, tough, emergency}``. Reminders are ``limit * reminder_share`` as ISO durations.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.common import duration_seconds, format_duration
from workflows.errors import Conflict
from workflows.models import DEFAULT_REMINDER_SHARE, LEVELS, URGENCIES, Category, SlaPolicy


def policy(session: Session, stage: str, category: Category | None) -> SlaPolicy | None:
    """The category's own policy for ``stage`` if there is one, else the default."""
    if category is not None:
        own = session.scalar(select(SlaPolicy).where(SlaPolicy.stage == stage,
                                                     SlaPolicy.category_id == category.id))
        if own is not None:
            return own
    return session.scalar(select(SlaPolicy).where(SlaPolicy.stage == stage, SlaPolicy.category_id.is_(None)))


def _required(session: Session, stage: str, category: Category | None) -> SlaPolicy:
    found = policy(session, stage, category)
    if found is None:
        raise Conflict(f"no SLA policy for stage {stage!r}: run `gridlink init` or `gridlink sla set {stage} PT24H`")
    return found


def _with_reminder(limit: str, share: float | None) -> dict:
    share = share if share is not None else DEFAULT_REMINDER_SHARE
    return {"limit": limit, "remind": format_duration(duration_seconds(limit) * share)}


def _dispatch_result(session: Session, category: Category) -> dict:
    own = session.scalar(select(SlaPolicy).where(SlaPolicy.stage == "dispatch_result",
                                                 SlaPolicy.category_id == category.id))
    default = _required(session, "dispatch_result", None)
    if own is not None:
        return _with_reminder(own.limit, own.reminder_share)
    return _with_reminder(category.time_limit or default.limit, default.reminder_share)


def sla_data(session: Session, category: Category) -> dict:
    """The ``sla`` dict for a new case of ``category``."""
    data: dict = {}
    for level in LEVELS:
        found = _required(session, level, category)
        data[level] = _with_reminder(found.limit, found.reminder_share)
    data["dispatch_accept"] = {"limit": _required(session, "dispatch_accept", category).limit}
    data["dispatch_result"] = _dispatch_result(session, category)
    data["duty"] = {urgency: _required(session, f"duty_{urgency}", category).limit for urgency in URGENCIES}
    return data
