"""Appeals (申诉) as use cases on the hand-built fixture: an upheld appeal leaves every figure."""

from __future__ import annotations

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from workflows.admin.audit import AdminAuditEntry
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.evaluation import appeals
from workflows.evaluation.metrics import compute_metrics
from workflows.evaluation.models import Charge
from workflows.people import accounts

from .metrics_fixture import NOW, build

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


class Sys:
    def __init__(self, sessions):
        self.sessions = sessions


@pytest.fixture
def system(sessions, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")
    with sessions() as session, session.begin():
        build(session)
    system = Sys(sessions)
    for name, role, org, department in (("fire1", "department", None, "fire"), ("police1", "department", None,
                                                                                 "police"),
                                        ("centre", "coordinator", "D", None), ("w1", "coordinator", "W1", None)):
        accounts.create_user(system, name, role, org=org, department=department, password="password-1")
    return system


def fire_overdue(system) -> int:
    with system.sessions() as session:
        return session.scalar(select(Charge.id).where(Charge.kind == "overdue", Charge.stage == "dispatch_result"))


def figures(system):
    with freeze_time(NOW), system.sessions() as session:
        communities = {g["key"]: g for g in compute_metrics(session, **NOVEMBER, group_by="org_unit",
                                                             unit_level="community")["groups"]}
        departments = {g["key"]: g for g in compute_metrics(session, **NOVEMBER, group_by="department")["groups"]}
        return communities["C3"], departments["fire"]


def test_an_upheld_appeal_removes_the_charge_from_the_community_and_the_department(system):
    community, fire = figures(system)
    assert community["overdue_total"] == 2 and fire["overdue_total"] == 2  # the dispatch result and late duty
    appeal = appeals.file_appeal(system, "fire1", "GL-8", fire_overdue(system), "现场被封闭，无法进入")
    assert appeal["status"] == "pending" and appeal["party"] == "fire"
    decided = appeals.decide_appeal(system, "centre", appeal["id"], "upheld", "情况属实")
    assert (decided["status"], decided["charge_status"]) == ("upheld", "withdrawn")
    community, fire = figures(system)
    assert community["overdue_total"] == 1 and fire["overdue_total"] == 1
    assert fire["overdue_by_level"]["community"] == 1
    with system.sessions() as session:
        actions = [e.action for e in session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.id))
                   if e.action.startswith("appeal.")]
    assert actions == ["appeal.file", "appeal.upheld"]


def test_a_rejected_appeal_keeps_the_charge_and_needs_a_note(system):
    appeal = appeals.file_appeal(system, "fire1", "GL-8", fire_overdue(system), "理由")
    with pytest.raises(InvalidInput, match="note"):
        appeals.decide_appeal(system, "centre", appeal["id"], "rejected")
    decided = appeals.decide_appeal(system, "centre", appeal["id"], "rejected", "证据不足")
    assert decided["charge_status"] == "active"
    with pytest.raises(Conflict, match="already rejected"):
        appeals.decide_appeal(system, "centre", appeal["id"], "upheld", "改判")


def test_only_the_charged_party_appeals_and_only_the_registering_centre_decides(system):
    charge = fire_overdue(system)
    with pytest.raises(Forbidden, match="not the party charged"):
        appeals.file_appeal(system, "police1", "GL-8", charge, "不是我们")
    with pytest.raises(InvalidInput, match="reason"):
        appeals.file_appeal(system, "fire1", "GL-8", charge, "  ")
    appeal = appeals.file_appeal(system, "fire1", "GL-8", charge, "理由")
    with pytest.raises(Conflict, match="already has an appeal"):
        appeals.file_appeal(system, "fire1", "GL-8", charge, "再次")
    with pytest.raises(Forbidden, match="not of the centre"):
        appeals.decide_appeal(system, "w1", appeal["id"], "upheld", "")  # W1 is not above C3
    assert [a["id"] for a in appeals.pending_appeals(system, "centre")] == [appeal["id"]]
    assert appeals.pending_appeals(system, "w1") == []
