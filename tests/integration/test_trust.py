"""Trust and safety in the use cases: the fund pays only for open cases the spender may read; a
case holds a bounded number of photos; the query code opens a case and nothing else does."""

from __future__ import annotations

import zlib

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from tests.engine.story_helpers import T0, make_world
from workflows.cases import query_codes
from workflows.cases import reporting as cases
from workflows.cases.attachments import attach_photos
from workflows.cases.models import Attachment
from workflows.coordination.fund import spend_fund
from workflows.coordination.models import FundSpend
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.people import accounts as admin
from workflows.system import max_photos_setting


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (1).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00")
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture
def world(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(admin, "HASH_METHOD", "pbkdf2:sha256:1000")
    with freeze_time(T0) as clock:
        yield make_world(db_url, tmp_path / "uploads", False, clock)


def at_workstation(world) -> str:
    number = world.report(title="落水管", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "escalate", "reason": "经费"})
    return number


def test_a_community_coordinator_cannot_spend_the_fund_on_a_neighbouring_communitys_case(world):
    number = at_workstation(world)  # community hq-c04, under workstation hq-ws2 like hq-c05
    with pytest.raises(Forbidden, match=f"coord-c05 may not spend the fund on case {number}: it is outside hq-c05"):
        spend_fund(world.system, "coord-c05", number, 100, "不属本社区", "水电维修部")
    assert spend_fund(world.system, "coord-c04", number, 100, "本社区", "水电维修部")["amount_cents"] == 100
    assert spend_fund(world.system, "coord-ws2", number, 100, "本站", "水电维修部")["amount_cents"] == 100
    with world.system.sessions() as session:
        assert session.scalar(select(func.count(FundSpend.id))) == 2


def test_the_fund_pays_for_open_cases_only(world):
    number = at_workstation(world)
    world.do("coord-c04", number, "handle", {"decision": "resolve", "result": "已修"})
    world.do("coord-ws2", number, "verify", {"decision": "approve"})
    assert world.case(number).status == "closed"
    with pytest.raises(Conflict, match=f"case {number} is closed; the fund pays for work on open cases only"):
        spend_fund(world.system, "coord-ws2", number, 100, "事后补钱", "水电维修部")


def test_a_case_holds_at_most_the_configured_number_of_photos(world):
    world.system.settings["max_photos_per_case"] = 3
    number = world.report(title="落水管", grid="hq-c04-g03", actor="gw", photos=[("a.png", png())] * 2)
    with pytest.raises(InvalidInput, match="exceed the limit of 3 photos per case") as refused:
        attach_photos(world.system, number, [("b.png", png()), ("c.png", png())], actor="gw")
    assert refused.value.code == "too_many_photos"
    attach_photos(world.system, number, [("b.png", png())], actor="gw")
    with pytest.raises(InvalidInput, match="case .* has 3 photos"):
        attach_photos(world.system, number, [("d.png", png())], actor="gw")
    with pytest.raises(InvalidInput, match="exceed the limit"):
        world.report(title="另一处", grid="hq-c04-g03", actor="gw", photos=[("a.png", png())] * 4)
    with world.system.sessions() as session:
        assert session.scalar(select(func.count(Attachment.id))) == 3
    assert len(list(world.system.upload_dir.iterdir())) == 3, "no file left behind"


def test_the_photo_limit_setting_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.delenv("GRIDLINK_MAX_PHOTOS_PER_CASE", raising=False)
    assert max_photos_setting() == 30
    monkeypatch.setenv("GRIDLINK_MAX_PHOTOS_PER_CASE", "5")
    assert max_photos_setting() == 5
    monkeypatch.setenv("GRIDLINK_MAX_PHOTOS_PER_CASE", "lots")
    with pytest.raises(ValueError, match="GRIDLINK_MAX_PHOTOS_PER_CASE='lots'"):
        max_photos_setting()


def test_a_report_answers_its_query_code_once_and_keeps_only_its_hash(world):
    created = cases.report_case(world.system, title="落水管", category="drain_blocked", source="hotline",
                                grid="hq-c04-g03", actor="coord-district")
    code = created["query_code"]
    assert len(code) == 8 and set(code) <= set(query_codes.ALPHABET)
    stored = world.case(created["number"]).query_code_hash
    assert code not in stored and query_codes.matches(stored, code)
    assert cases.public_case_view(world.system, created["number"], code.lower())["number"] == created["number"]
    for wrong in ("", None, "ZZZZZZZZ", code[:-1]):
        with pytest.raises(NotFound, match="with this query code"):
            cases.public_case_view(world.system, created["number"], wrong)
    with pytest.raises(NotFound, match="with this query code"):
        cases.public_case_view(world.system, "GL20000101-9999", code)


def test_rating_needs_the_query_code(world):
    number = world.report(title="噪音", category="neighbour_dispute", grid="hq-c04-g03", actor="gw")
    world.do("gw", number, "handle", {"decision": "resolve", "result": "调解"})
    world.do("coord-c04", number, "verify", {"decision": "approve"})
    cases.set_query_code(world.system, number, "ABCD2345")
    with pytest.raises(NotFound):
        cases.rate_case(world.system, number, 5, query_code="ABCD2346")
    assert world.case(number).rating is None
    cases.rate_case(world.system, number, 5, query_code="abcd-2345")
    assert world.case(number).rating == 5


def test_demo_codes_are_stable_and_differ_between_cases():
    assert query_codes.demo_code("GL20261121-0001") == query_codes.demo_code("GL20261121-0001")
    assert query_codes.demo_code("GL20261121-0001") != query_codes.demo_code("GL20261121-0002")
    assert set(query_codes.demo_code("GL20261121-0001")) <= set(query_codes.ALPHABET)
