"""Administration use cases on a real database: users, passwords, tokens, SLA policies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workflows.errors import Conflict, InvalidInput, NotFound
from workflows.people import accounts, tokens
from workflows.people.models import ApiToken, User
from workflows.reference.models import SlaPolicy
from workflows.reference.sla import sla_data
from workflows.setup.bootstrap import load_reference_data
from workflows.system import build_system


@pytest.fixture
def system(db_engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "HASH_METHOD", "pbkdf2:sha256:1000")
    system = build_system(db_url, tmp_path / "uploads")
    load_reference_data(system)
    return system


def test_a_created_user_signs_in_with_the_generated_password(system):
    user, password = accounts.create_user(system, "coord-x", "coordinator", org="hq-c04", display_name="X")
    assert (user.role, len(password) >= 12) == ("coordinator", True)
    signed_in = accounts.authenticate(system, "coord-x", password)
    assert (signed_in.username, signed_in.org_unit.code, signed_in.org_unit.parent.code) == (
        "coord-x", "hq-c04", "hq-ws2")  # usable after the session is closed
    assert accounts.authenticate(system, "coord-x", "wrong-password") is None
    with system.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "coord-x"))
    assert password not in stored


@pytest.mark.parametrize(("values", "message"), [
    ({"role": "mayor"}, "'mayor'"),
    ({"role": "coordinator"}, "needs an org unit"),
    ({"role": "department"}, "need a department"),
    ({"role": "department", "department": "weather"}, "'weather'"),
    ({"role": "grid_worker", "org": "hq-c99-g01"}, "'hq-c99-g01'"),
    ({"role": "admin", "password": "short"}, "too short"),
])
def test_bad_user_values_are_refused_naming_the_value(system, values, message):
    with pytest.raises(InvalidInput, match=message):
        accounts.create_user(system, "someone", **values)
    with system.sessions() as session:
        assert session.scalar(select(User).where(User.username == "someone")) is None


def test_a_username_is_taken_once(system):
    accounts.create_user(system, "dup", "admin", password="long-enough")
    with pytest.raises(Conflict, match="'dup' already exists"):
        accounts.create_user(system, "dup", "leader", password="long-enough")


def test_a_token_is_stored_hashed_and_stops_working_when_revoked(system):
    accounts.create_user(system, "api-user", "admin", password="long-enough")
    token = tokens.create_token(system, "api-user", "ci")
    assert tokens.user_for_token(system, token).username == "api-user"
    with system.sessions() as session:
        assert token not in session.scalar(select(ApiToken.token_hash))
    tokens.revoke_token(system, token)
    assert tokens.user_for_token(system, token) is None
    assert tokens.user_for_token(system, "glk_made-up") is None
    with pytest.raises(NotFound):
        tokens.create_token(system, "ghost", "x")


def test_sla_policies_change_the_data_of_new_cases(system):
    accounts.set_sla(system, "grid", "PT5S")
    accounts.set_sla(system, "dispatch_result", "PT8H", category="illegal_parking")
    with system.sessions() as session:
        from workflows.reference.lookups import get_category

        parking = sla_data(session, get_category(session, "illegal_parking"))
        drain = sla_data(session, get_category(session, "drain_blocked"))
    assert parking["grid"] == {"limit": "PT5S", "remind": "PT4S"}
    assert parking["dispatch_result"] == {"limit": "PT8H", "remind": "PT6H"}
    assert drain["dispatch_result"] == {"limit": "P5D", "remind": "PT90H"}
    assert drain["community"] == {"limit": "PT72H", "remind": "PT54H"}
    assert drain["dispatch_accept"] == {"limit": "PT2H"}
    assert drain["duty"] == {"routine": "PT24H", "tough": "PT24H", "emergency": "PT30M"}


@pytest.mark.parametrize(("stage", "duration", "category", "message"), [
    ("grid", "24 hours", None, "'24 hours'"),
    ("lunch", "PT1H", None, "'lunch'"),
    ("grid", "PT1H", "weather", "'weather'"),
    ("grid", "P99999999Y", None, "'P99999999Y' is longer than 10 years"),
    ("grid", "P99999D", None, "longer than 10 years"),
    ("grid", "-PT1H", None, "'-PT1H' is not an ISO-8601 duration"),
    ("grid", "PT0S", None, "'PT0S' is zero"),
    ("duty_emergency", "P0D", None, "zero"),
])
def test_bad_sla_values_are_refused_and_nothing_changes(system, stage, duration, category, message):
    with pytest.raises(InvalidInput, match=message):
        accounts.set_sla(system, stage, duration, category=category)
    with system.sessions() as session:
        assert session.scalar(select(SlaPolicy.limit).where(SlaPolicy.stage == "grid",
                                                            SlaPolicy.category_id.is_(None))) == "PT24H"


def test_an_operator_lists_and_revokes_tokens_by_id_or_user_without_knowing_them(system):
    accounts.create_user(system, "api-a", "admin", password="long-enough")
    first, second = tokens.create_token(system, "api-a", "one"), tokens.create_token(system, "api-a", "two")
    listed = tokens.list_tokens(system, "api-a")
    assert [t["name"] for t in listed] == ["two", "one"] and first not in str(listed)
    assert tokens.revoke_tokens(system, token_id=listed[1]["id"]) == 1
    assert tokens.user_for_token(system, first) is None
    assert tokens.user_for_token(system, second).username == "api-a"
    assert tokens.revoke_tokens(system, username="api-a") == 1
    assert tokens.user_for_token(system, second) is None
    with pytest.raises(NotFound, match="no API token with id 999"):
        tokens.revoke_tokens(system, token_id=999)
    with pytest.raises(InvalidInput):
        tokens.revoke_tokens(system)


def test_a_policy_stored_out_of_bounds_before_the_check_is_named_instead_of_failing_new_cases(system):
    """A database written by an earlier version may hold P99999999Y: new cases get a clear conflict."""
    from sqlalchemy import update

    from workflows.reference.lookups import get_category

    with system.sessions() as session, session.begin():
        session.execute(update(SlaPolicy).where(SlaPolicy.stage == "community", SlaPolicy.category_id.is_(None))
                        .values(limit="P99999999Y"))
    with system.sessions() as session, pytest.raises(Conflict) as refused:
        sla_data(session, get_category(session, "drain_blocked"))
    assert "'community'" in refused.value.message and "gridlink sla set community" in refused.value.message


def test_an_admin_creating_a_user_writes_the_user_and_its_audit_entry_in_one_transaction(system):
    from benchmarks.engine_bench import StatementCounter
    from workflows.admin import settings
    from workflows.admin.audit import AdminAuditEntry

    AdminAuditEntry.__table__.create(system.db, checkfirst=True)  # (workflows.tables does not map it)
    with StatementCounter(system.db) as counted:
        settings.create_user(system, "admin", "audited-user", "leader", password="long-enough-1")
    assert counted.write_transactions == 1, counted.figures()
    with system.reads() as session:
        entry = session.scalar(select(AdminAuditEntry).where(AdminAuditEntry.action == "user.create"))
    assert entry.target == "audited-user"


def test_an_audit_entry_that_cannot_be_written_leaves_no_user_behind(system, monkeypatch):
    from workflows.admin import audit, settings

    def broken(*_args, **_kwargs):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError, match="audit trail unavailable"):
        settings.create_user(system, "admin", "unaudited-user", "leader", password="long-enough-1")
    with system.reads() as session:
        assert session.scalar(select(User).where(User.username == "unaudited-user")) is None


def test_setting_an_sla_and_its_audit_entry_are_one_write_transaction(system):
    from benchmarks.engine_bench import StatementCounter
    from workflows.admin import settings
    from workflows.admin.audit import AdminAuditEntry

    AdminAuditEntry.__table__.create(system.db, checkfirst=True)
    with StatementCounter(system.db) as counted:
        settings.set_sla(system, "admin", "grid", "PT30H")
    assert counted.write_transactions == 1, counted.figures()


def test_a_read_session_refuses_to_write(system):
    from sqlalchemy import update

    from engine import EngineError

    with system.reads() as session, pytest.raises(EngineError, match="read session tried to write"):
        session.execute(update(User).values(display_name="x"))
