"""Rectification notices and supervision orders: numbered per year and kind, on the timeline, in
the addressee's notifications, moving forward with who and when, and printable with Chinese text."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from io import BytesIO

import pytest
from freezegun import freeze_time
from pypdf import PdfReader
from sqlalchemy import select

from tests.engine.story_helpers import T0, make_world
from workflows.coordination import documents, printing
from workflows.coordination.models import CaseDocument
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.people import accounts as admin
from workflows.people.models import Notification, User


@pytest.fixture
def world(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(admin, "HASH_METHOD", "pbkdf2:sha256:1000")
    with freeze_time(T0) as clock:
        yield make_world(db_url, tmp_path / "uploads", False, clock)


def at_community(world) -> str:
    number = world.report(title="群租房电动车飞线充电", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "需社区发整改通知"})
    return number


DEADLINE = (T0 + timedelta(days=7)).isoformat()


def notice(world, number: str, user: str = "coord-c04", **addressee) -> dict:
    return documents.issue_document(world.system, user, number, "notice",
                                    addressee or {"kind": "outside", "name": "房东王某", "contact": "13900000000"},
                                    "拆除飞线，电动车进集中充电棚", DEADLINE)


def test_notices_are_numbered_per_year_and_kind_and_land_on_the_timeline(world):
    number = at_community(world)
    first = notice(world, number)
    second = notice(world, number, kind="outside", name="租户李某")
    order = documents.issue_document(world.system, "coord-ws2", number, "supervision",
                                     {"kind": "org_unit", "code": "hq-c04"}, "督促落实整改", DEADLINE)
    assert (first["number"], second["number"]) == ("整改〔2026〕第 1 号", "整改〔2026〕第 2 号")
    assert order["number"] == "督办〔2026〕第 1 号"
    assert first["state"] == "issued" and first["addressee"]["name"] == "房东王某"
    assert world.kinds(number)[-3:] == ["notice_issued", "notice_issued", "supervised"]
    listed = documents.case_documents(world.system, "coord-c04", number)
    assert [d["number"] for d in listed] == [first["number"], second["number"], order["number"]]


def test_a_supervision_order_reaches_the_addressee_units_inbox(world):
    number = at_community(world)
    documents.issue_document(world.system, "coord-ws2", number, "supervision",
                             {"kind": "org_unit", "code": "hq-c04"}, "三日内报送整改情况", DEADLINE)
    with world.system.sessions() as session:
        c04 = session.scalar(select(User).where(User.username == "coord-c04"))
        messages = session.scalars(select(Notification.message).where(Notification.user_id == c04.id,
                                                                       Notification.kind == "document")).all()
    assert len(messages) == 1 and "督办〔2026〕第 1 号" in messages[0]


def test_only_coordinators_at_the_cases_level_or_above_issue_documents(world):
    number = at_community(world)
    with pytest.raises(Forbidden, match="coord-c05 .* may not issue documents on case"):
        notice(world, number, user="coord-c05")
    with pytest.raises(Forbidden, match="only coordinators"):
        notice(world, number, user="gw")
    with pytest.raises(Forbidden, match="only coordinators"):
        notice(world, number, user="dept-urban")
    assert notice(world, number, user="coord-huqiu")["issuer"]["code"] == "huqiu"


def test_a_supervision_order_comes_from_above_its_addressee(world):
    number = at_community(world)
    with pytest.raises(Forbidden, match="from the level above"):
        documents.issue_document(world.system, "coord-c04", number, "supervision",
                                 {"kind": "org_unit", "code": "hq-c04"}, "自己督办自己", DEADLINE)


def test_bad_documents_are_refused_with_the_value_at_fault(world):
    number = at_community(world)
    with pytest.raises(InvalidInput, match="deadline .* has passed"):
        documents.issue_document(world.system, "coord-c04", number, "notice", {"kind": "outside", "name": "王某"},
                                 "整改", (T0 - timedelta(hours=1)).isoformat())
    with pytest.raises(InvalidInput, match="unknown addressee kind 'landlord'"):
        documents.issue_document(world.system, "coord-c04", number, "notice", {"kind": "landlord"}, "整改", DEADLINE)
    with pytest.raises(InvalidInput, match="unknown document kind 'memo'"):
        documents.issue_document(world.system, "coord-c04", number, "memo", {"kind": "outside", "name": "王某"},
                                 "整改", DEADLINE)
    with pytest.raises(InvalidInput, match="requirement is missing"):
        documents.issue_document(world.system, "coord-c04", number, "notice", {"kind": "outside", "name": "王某"},
                                 " ", DEADLINE)
    with world.system.sessions() as session:
        assert session.scalar(select(CaseDocument.id)) is None


def test_a_document_moves_forward_with_who_and_when(world):
    number = at_community(world)
    order = documents.issue_document(world.system, "coord-ws2", number, "supervision",
                                     {"kind": "department", "code": "urban"}, "拆除违建", DEADLINE)
    world.later(hours=2)
    documents.record_state(world.system, "coord-ws2", order["id"], "served", "当面送达")
    answered = documents.record_state(world.system, "dept-urban", order["id"], "answered", "已排期拆除")
    with pytest.raises(Forbidden, match="may not record document"):
        documents.record_state(world.system, "dept-urban", order["id"], "complied")
    with pytest.raises(Conflict, match="already answered"):
        documents.record_state(world.system, "coord-ws2", order["id"], "served")
    done = documents.record_state(world.system, "coord-ws2", order["id"], "complied")
    assert [(h["state"], h["actor"]) for h in done["history"]] == [
        ("issued", "COORD-WS2"), ("served", "COORD-WS2"), ("answered", "DEPT-URBAN"), ("complied", "COORD-WS2")]
    assert answered["history"][1]["note"] == "当面送达"
    assert world.kinds(number)[-3:] == ["document_served", "document_answered", "document_complied"]


def test_a_document_past_its_deadline_and_not_complied_is_overdue(world):
    number = at_community(world)
    issued = notice(world, number)
    world.later(days=8)
    assert documents.case_documents(world.system, "coord-c04", number)[0]["overdue"] is True
    documents.record_state(world.system, "coord-c04", issued["id"], "complied")
    assert documents.case_documents(world.system, "coord-c04", number)[0]["overdue"] is False


def test_documents_are_read_only_by_those_who_may_read_the_case(world):
    number = at_community(world)
    issued = notice(world, number)
    with pytest.raises(Forbidden, match="may not read case"):
        documents.case_documents(world.system, "coord-c05", number)
    with pytest.raises(Forbidden, match="may not read document"):
        documents.document_pdf(world.system, "coord-c05", issued["id"])


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


@pytest.mark.parametrize("kind, title", [("notice", "整改通知单"), ("supervision", "督办单")])
def test_each_document_kind_prints_its_number_addressee_and_deadline_in_chinese(world, kind, title, tmp_path):
    number = at_community(world)
    addressee = {"kind": "outside", "name": "房东王某"} if kind == "notice" else {"kind": "org_unit", "code": "hq-c04"}
    issuer = "coord-c04" if kind == "notice" else "coord-ws2"
    issued = documents.issue_document(world.system, issuer, number, kind, addressee, "拆除飞线，集中充电", DEADLINE)
    content, filename = documents.document_pdf(world.system, "coord-ws2", issued["id"])
    assert content.startswith(b"%PDF") and filename == f"document-{issued['id']}.pdf"
    text = pdf_text(content)
    deadline = "2026年11月09日 09:00"  # T0 + 7 days in Beijing time
    for expected in (title, issued["number"], issued["addressee"]["name"], deadline, "拆除飞线", number):
        assert expected in text, f"{expected!r} not in the PDF text"
    if shutil.which("pdftotext"):  # poppler agrees with pypdf
        path = tmp_path / filename
        path.write_bytes(content)
        poppler = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        assert issued["number"] in poppler and deadline in poppler


def test_a_missing_font_is_a_clear_error_naming_the_package(monkeypatch):
    printing.cjk_font.cache_clear()
    monkeypatch.setenv("GRIDLINK_PDF_FONT", "/nonexistent/font.ttf")
    try:
        with pytest.raises(printing.FontMissing, match="fonts-wqy-zenhei"):
            printing.cjk_font()
    finally:
        printing.cjk_font.cache_clear()


def test_the_hooks_can_have_the_level_above_supervise_an_overdue_unit(world):
    number = at_community(world)
    with world.system.sessions() as session, session.begin():
        from workflows.cases.lookups import get_case
        from workflows.org.lookups import get_unit

        order = documents.supervise_overdue_in(session, get_case(session, number), get_unit(session, "hq-c04"),
                                               T0 + timedelta(days=2))
        assert (order.number, order.issuer_unit.code, order.issued_by_id) == ("督办〔2026〕第 1 号", "hq-ws2", None)
    assert world.kinds(number)[-1] == "supervised"
