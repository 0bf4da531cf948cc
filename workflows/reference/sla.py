"""The ``sla`` data a case starts with, computed from the SLA policies and the category.

Shape (docs/CONVENTIONS.md): one ``{"limit", "remind"}`` per level, ``dispatch_accept.limit``,
``dispatch_result.{limit, remind}`` (the category's time limit unless a policy overrides it) and
``duty.{routine, tough, emergency}``. Reminders are ``limit * reminder_share`` as ISO durations.
"""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from engine import TimerValueError, duration_span
from workflows.clock import duration_seconds, format_duration
from workflows.errors import Conflict
from workflows.org.models import LEVELS
from workflows.reference.models import DEFAULT_REMINDER_SHARE, URGENCIES, Category, SlaPolicy

_POLICIES = (select(SlaPolicy.stage, SlaPolicy.category_id, SlaPolicy.limit, SlaPolicy.reminder_share)
             .where(or_(SlaPolicy.category_id.is_(None), SlaPolicy.category_id == bindparam("category_id"))))


class _Policies:
    """Every policy that can apply to one category, read in one query: the category's own
    policy for a stage wins over the default."""

    def __init__(self, session: Session, category: Category | None):
        self.own: dict = {}  # stage -> row (stage, category_id, limit, reminder_share)
        self.default: dict = {}
        rows = session.execute(_POLICIES, {"category_id": category.id if category is not None else None}).all()
        for row in rows:
            (self.default if row.category_id is None else self.own)[row.stage] = row

    def required(self, stage: str, own: bool = True):
        found = (self.own.get(stage) if own else None) or self.default.get(stage)
        if found is None:
            raise Conflict(f"no SLA policy for stage {stage!r}: run `gridlink init` or "
                           f"`gridlink sla set {stage} PT24H`")
        return found


def _usable(stage: str, limit: str) -> str:
    """A stored limit within bounds; one saved before the bounds were checked is named, not run."""
    try:
        duration_span(limit)
    except TimerValueError as exc:
        raise Conflict(f"the SLA policy of stage {stage!r} is unusable ({exc}): fix it on the SLA page or with "
                       f"`gridlink sla set {stage} PT24H`") from None
    return limit


def _with_reminder(limit: str, share: float | None) -> dict:
    share = share if share is not None else DEFAULT_REMINDER_SHARE
    return {"limit": limit, "remind": format_duration(duration_seconds(limit) * share)}


def _dispatch_result(policies: _Policies, category: Category) -> dict:
    own = policies.own.get("dispatch_result")
    if own is not None:
        return _with_reminder(_usable("dispatch_result", own.limit), own.reminder_share)
    default = policies.required("dispatch_result", own=False)
    limit = _usable("dispatch_result", category.time_limit or default.limit)
    return _with_reminder(limit, default.reminder_share)


def sla_data(session: Session, category: Category) -> dict:
    """The ``sla`` dict for a new case of ``category``."""
    policies = _Policies(session, category)
    data: dict = {}
    for level in LEVELS:
        found = policies.required(level)
        data[level] = _with_reminder(_usable(level, found.limit), found.reminder_share)
    data["dispatch_accept"] = {"limit": _usable("dispatch_accept", policies.required("dispatch_accept").limit)}
    data["dispatch_result"] = _dispatch_result(policies, category)
    data["duty"] = {urgency: _usable(f"duty_{urgency}", policies.required(f"duty_{urgency}").limit)
                    for urgency in URGENCIES}
    return data
