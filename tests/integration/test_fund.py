"""The small-matters fund with controls: payee and receipt, the station chief above the admin's
threshold, never on a closed case or outside scope, never below zero, and the monthly statement."""

from __future__ import annotations

import csv
import io

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from tests.engine.story_helpers import T0, make_world
from tests.integration.test_trust import png
from workflows.coordination import fund
from workflows.coordination.models import FundSpend
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.people import accounts as admin


@pytest.fixture
def world(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(admin, "HASH_METHOD", "pbkdf2:sha256:1000")
    with freeze_time(T0) as clock:
        yield make_world(db_url, tmp_path / "uploads", False, clock)


def at_workstation(world) -> str:
    number = world.report(title="落水管", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "经费"})
    return number


def spend(world, number: str, cents: int, user: str = "coord-c04", **extra) -> dict:
    return fund.spend_fund(world.system, user, number, cents, "更换落水管", "虎丘水电维修部", **extra)


def test_a_spend_up_to_the_threshold_is_paid_at_once_with_payee_and_receipt(world):
    fund.set_control(world.system, "admin", None, "1000")
    number = at_workstation(world)
    paid = spend(world, number, 100_000, receipt=("receipt.png", png()))
    assert (paid["status"], paid["payee"], paid["receipt"], paid["balance_cents"]) == \
        ("approved", "虎丘水电维修部", True, 200_000)
    assert world.kinds(number)[-1] == "fund_spent"
    receipt = fund.receipt_file(world.system, "coord-ws2", paid["id"])
    assert receipt["path"].read_bytes() == png() and receipt["content_type"] == "image/png"


def test_above_the_threshold_a_spend_waits_for_the_station_chief(world):
    fund.set_control(world.system, "admin", "hq-ws2", "500", chief="coord-ws2")
    number = at_workstation(world)
    proposed = spend(world, number, 80_000)
    assert (proposed["status"], proposed["balance_cents"]) == ("proposed", 300_000)
    assert world.kinds(number)[-1] == "fund_proposed"
    with pytest.raises(Forbidden, match="proposed spend .* may not approve it too"):
        fund.decide_spend(world.system, "coord-c04", proposed["id"], "approve")
    with pytest.raises(Forbidden, match="only the station chief of hq-ws2"):
        fund.decide_spend(world.system, "coord-huqiu", proposed["id"], "approve")
    approved = fund.decide_spend(world.system, "coord-ws2", proposed["id"], "approve", "同意")
    assert (approved["status"], approved["decided_by"], approved["balance_cents"]) == ("approved", "COORD-WS2", 220_000)
    with pytest.raises(Conflict, match="already approved"):
        fund.decide_spend(world.system, "coord-ws2", proposed["id"], "refuse")
    assert world.kinds(number)[-1] == "fund_spent"


def test_a_refused_spend_pays_nothing_and_frees_its_money(world):
    fund.set_control(world.system, "admin", "hq-ws2", "500", chief="coord-ws2")
    number = at_workstation(world)
    proposed = spend(world, number, 250_000)
    with pytest.raises(Conflict, match="has 50000 cents available"):
        spend(world, number, 60_000)
    refused = fund.decide_spend(world.system, "coord-ws2", proposed["id"], "refuse", "请先比价")
    assert (refused["status"], refused["balance_cents"]) == ("refused", 300_000)
    assert world.kinds(number)[-1] == "fund_refused"
    assert spend(world, number, 40_000)["status"] == "approved"


def test_a_spend_on_a_closed_case_is_refused(world):
    number = at_workstation(world)
    world.do("coord-c04", number, "handle", {"decision": "resolve", "result": "已修"})
    world.do("coord-ws2", number, "verify", {"decision": "approve"})
    with pytest.raises(Conflict, match=f"case {number} is closed; the fund pays for work on open cases only"):
        spend(world, number, 100, user="coord-ws2")


def test_a_spend_outside_the_spenders_scope_is_refused(world):
    number = at_workstation(world)
    with pytest.raises(Forbidden, match=f"coord-c05 may not spend the fund on case {number}: it is outside hq-c05"):
        spend(world, number, 100, user="coord-c05")
    with pytest.raises(Forbidden, match="only coordinators of that workstation or of its communities"):
        spend(world, number, 100, user="coord-c01")


def test_a_spend_needs_a_payee_and_a_real_receipt_photo(world):
    number = at_workstation(world)
    with pytest.raises(InvalidInput, match="payee is missing"):
        fund.spend_fund(world.system, "coord-c04", number, 100, "换管", " ")
    with pytest.raises(InvalidInput, match="is not an image"):
        spend(world, number, 100, receipt=("receipt.pdf", b"%PDF-1.4"))
    with world.system.sessions() as session:
        assert session.scalar(select(FundSpend.id)) is None
    assert not list(world.system.upload_dir.iterdir())


def test_the_chief_must_be_a_coordinator_of_the_workstation(world):
    with pytest.raises(InvalidInput, match="'coord-c04' is not a coordinator of hq-ws2"):
        fund.set_control(world.system, "admin", "hq-ws2", "500", chief="coord-c04")
    with pytest.raises(InvalidInput, match="threshold 'lots' is not a sum of money"):
        fund.set_control(world.system, "admin", "hq-ws2", "lots")
    with pytest.raises(InvalidInput, match="hq-c04 is a community"):
        fund.set_control(world.system, "admin", "hq-c04", "500")


def test_paying_never_takes_the_balance_below_zero_even_past_the_python_check(world, monkeypatch):
    number = at_workstation(world)
    monkeypatch.setattr(fund, "_check_available", lambda *args: None)  # only the SQL guard is left
    spend(world, number, 250_000)
    with pytest.raises(Conflict, match="the balance is too low"):
        spend(world, number, 60_000)
    assert fund.fund_balance(world.system, "hq-ws2")["balance_cents"] == 50_000


def test_the_monthly_fund_statement_lists_every_spend_formula_safe(world):
    fund.set_control(world.system, "admin", "hq-ws2", "500", chief="coord-ws2")
    number = at_workstation(world)
    spend(world, number, 10_000)
    fund.spend_fund(world.system, "coord-c04", number, 90_000, "=HYPERLINK(\"x\")", "王某")
    from workflows.evaluation.fund_statement import fund_statement_csv, fund_statement_xlsx

    with world.system.sessions() as session:
        rows = list(csv.reader(io.StringIO(fund_statement_csv(session, "2026-11").decode("utf-8-sig"))))
        book = fund_statement_xlsx(session, "2026-11")
    assert any(r[:1] == ["hq-ws2"] for r in rows)
    assert any("'=HYPERLINK" in cell for r in rows for cell in r)
    assert any("待审批" in cell for r in rows for cell in r)
    assert book.startswith(b"PK")
