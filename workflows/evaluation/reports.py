"""Published monthly reports (通报): publishing freezes a month's figures and red/black list.

``publish_month`` stores the month's report (``exports.live_report_data``) as a snapshot, version 1.
From then on the monthly report of that month and scope is the snapshot: a late event (a case closed
afterwards, an appeal upheld, a charge recorded late) does not move it. A re-issue needs a reason and
adds version n+1; earlier versions are kept and listed. Only a month that has ended can be
published: the current month stays live.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.admin.audit import record
from workflows.clock import LOCAL_TZ, now
from workflows.errors import Forbidden, InvalidInput
from workflows.evaluation.metrics import month_period
from workflows.evaluation.models import PublishedReport
from workflows.people.lookups import get_user

PUBLISHERS = ("coordinator", "leader", "admin")
WHOLE = "*"


def scope_key(scope_unit: str | None) -> str:
    return scope_unit or WHOLE


def latest(session: Session, month: str, scope_unit: str | None) -> PublishedReport | None:
    return session.scalar(select(PublishedReport)
                          .where(PublishedReport.month == month, PublishedReport.scope == scope_key(scope_unit))
                          .order_by(PublishedReport.version.desc()).limit(1))


def versions(session: Session, month: Any, scope_unit: str | None = None) -> list[dict]:
    """Every published version of the month's report, oldest first, with its frozen figures."""
    label = month_period(month)[0]
    rows = session.scalars(select(PublishedReport)
                           .where(PublishedReport.month == label, PublishedReport.scope == scope_key(scope_unit))
                           .order_by(PublishedReport.version))
    return [{**stamp(row), "report": row.snapshot} for row in rows]


def stamp(row: PublishedReport) -> dict:
    return {"version": row.version, "published_at": row.published_at.isoformat(), "reason": row.reason}


def publish_month(system, actor: Any, month: Any, scope_unit: str | None = None, reason: Any = None) -> dict:
    """Freeze ``month``'s report for ``scope_unit`` (None: the whole district); a re-issue needs ``reason``."""
    from workflows.evaluation.exports import live_report_data

    label, _, end = month_period(month)
    if end > now().astimezone(LOCAL_TZ):
        raise InvalidInput(f"month {label} has not ended: the current month stays live; publish it from the "
                           "first day of the next month", field="month")
    text = reason.strip() if isinstance(reason, str) and reason.strip() else None
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        if user.role not in PUBLISHERS:
            raise Forbidden(f"{user.username} may not publish the monthly report: the centre's coordinators, "
                            "leaders and admins do", reason="not_publisher")
        previous = session.scalar(select(func.max(PublishedReport.version))
                                  .where(PublishedReport.month == label,
                                         PublishedReport.scope == scope_key(scope_unit))) or 0
        if previous and text is None:
            raise InvalidInput(f"the report of {label} was already published (version {previous}); a re-issue "
                               "needs a reason", field="reason")
        snapshot = json.loads(json.dumps(live_report_data(session, label, scope_unit), default=str))
        row = PublishedReport(month=label, scope=scope_key(scope_unit), version=previous + 1, reason=text,
                              published_by_id=user.id, published_at=now(), snapshot=snapshot)
        session.add(row)
        session.flush()
        record(session, user.username, "report.publish", f"{label}/{scope_key(scope_unit)}", version=row.version,
               reason=text)
        return stamp(row)
