"""The domain tables on a real (in-memory) SQLite database: constraints, helpers, round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import Base, make_engine, make_sessionmaker
from workflows.cases.models import Case, TimelineEntry, format_case_number, next_case_number
from workflows.coordination.models import FundBudget, FundSpend, Meeting, MeetingAction, budget_spent_cents
from workflows.errors import InvalidInput
from workflows.org.models import LEVELS, Department, OrgUnit, level_above, unit_at_level
from workflows.people.models import ApiToken, User
from workflows.reference.models import Category, SlaPolicy

DOMAIN_TABLES = {
    "org_units",
    "departments",
    "department_units",
    "users",
    "api_tokens",
    "categories",
    "sla_policies",
    "cases",
    "case_counters",
    "timeline_entries",
    "attachments",
    "dispatches",
    "meetings",
    "meeting_summons",
    "meeting_actions",
    "overdue_records",
    "fund_budgets",
    "fund_spends",
    "notifications",
    "evaluation_weights",
}


@pytest.fixture
def engine():
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def tree(session):
    """district > huqiu > hq-ws2 > hq-c04 > hq-c04-g03, plus a category."""
    district = OrgUnit(code="district", name="姑苏区联动中心", level="district")
    subcentre = OrgUnit(code="huqiu", name="虎丘街道联动分中心", level="subcentre", parent=district)
    station = OrgUnit(code="hq-ws2", name="第二联动工作站", level="workstation", parent=subcentre)
    community = OrgUnit(code="hq-c04", name="新庄社区", level="community", parent=station)
    grid = OrgUnit(code="hq-c04-g03", name="新庄社区第3网格", level="grid", parent=community)
    component = Category(code="component", name="部件", kind="component")
    drain = Category(
        code="drain_blocked", name="下水管道堵塞", kind="component", parent=component, time_limit="P5D"
    )
    session.add_all([district, grid, drain])
    session.commit()
    return {
        "district": district,
        "huqiu": subcentre,
        "station": station,
        "community": community,
        "grid": grid,
        "category": drain,
    }


def _case(tree, **values) -> Case:
    fields = {
        "number": "GL20261121-0001",
        "title": "落水管堵塞",
        "category": tree["category"],
        "source": "patrol",
        "level": "grid",
        "org_unit": tree["grid"],
        "grid": tree["grid"],
    }
    fields.update(values)
    return Case(**fields)


def _fails(session, *objects) -> None:
    session.add_all(objects)
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_every_domain_table_is_created(engine):
    from sqlalchemy import inspect

    assert DOMAIN_TABLES <= set(inspect(engine).get_table_names())


def test_org_unit_codes_are_unique(session, tree):
    _fails(session, OrgUnit(code="hq-c04", name="重复", level="community"))


def test_org_unit_level_must_be_one_of_the_five(session):
    _fails(session, OrgUnit(code="x", name="x", level="province"))


def test_unit_at_level_walks_up_the_parent_chain(session, tree):
    grid = tree["grid"]
    assert unit_at_level(session, grid, "grid") is grid
    assert unit_at_level(session, grid, "community") is tree["community"]
    assert unit_at_level(session, grid, "workstation") is tree["station"]
    assert unit_at_level(session, grid, "district") is tree["district"]
    assert unit_at_level(session, tree["huqiu"], "grid") is None


def test_unit_at_level_names_an_unknown_level(session, tree):
    with pytest.raises(InvalidInput, match="'street'") as raised:
        unit_at_level(session, tree["grid"], "street")
    assert raised.value.field == "level"


def test_level_above_follows_the_escalation_chain():
    assert [level_above(level) for level in LEVELS] == [*LEVELS[1:], None]


def test_department_codes_are_unique(session):
    session.add(Department(code="police", name="派出所"))
    session.flush()
    _fails(session, Department(code="police", name="另一个派出所"))


def test_department_serves_org_units(session, tree):
    police = Department(code="police", name="派出所", units=[tree["huqiu"]])
    session.add(police)
    session.commit()
    assert tree["huqiu"].departments == [police]


def test_user_role_must_be_known(session):
    _fails(session, User(username="x", display_name="x", password_hash="h", role="mayor"))


def test_department_user_needs_a_department(session):
    _fails(session, User(username="dept-x", display_name="x", password_hash="h", role="department"))


def test_coordinator_needs_an_org_unit(session):
    _fails(session, User(username="coord-x", display_name="x", password_hash="h", role="coordinator"))


def test_usernames_are_unique(session):
    session.add(User(username="admin", display_name="管理员", password_hash="h", role="admin"))
    session.flush()
    _fails(session, User(username="admin", display_name="管理员2", password_hash="h", role="admin"))


def test_user_defaults_and_login_helpers(session):
    user = User(username="leader", display_name="领导", password_hash="h", role="leader")
    session.add(user)
    session.commit()
    assert (user.active, user.locale, user.is_active, user.get_id()) == (True, "zh", True, str(user.id))
    assert user.created_at.tzinfo is not None


def test_api_token_hashes_are_unique(session):
    user = User(username="admin", display_name="管理员", password_hash="h", role="admin")
    session.add(ApiToken(user=user, name="cli", token_hash="a" * 64))
    session.flush()
    _fails(session, ApiToken(user=user, name="again", token_hash="a" * 64))


def test_category_kind_must_be_component_or_event(session):
    _fails(session, Category(code="x", name="x", kind="other"))


def test_sla_policy_allows_one_default_per_stage(session):
    session.add(SlaPolicy(stage="grid", limit="PT24H"))
    session.flush()
    _fails(session, SlaPolicy(stage="grid", limit="PT12H"))


def test_sla_policy_allows_one_override_per_stage_and_category(session, tree):
    session.add_all(
        [
            SlaPolicy(stage="grid", limit="PT24H"),
            SlaPolicy(stage="grid", limit="PT48H", category=tree["category"]),
        ]
    )
    session.flush()
    _fails(session, SlaPolicy(stage="grid", limit="PT12H", category=tree["category"]))


def test_sla_policy_stage_must_be_known(session):
    _fails(session, SlaPolicy(stage="weekly", limit="P7D"))


def test_sla_reminder_share_must_be_a_fraction(session):
    _fails(session, SlaPolicy(stage="grid", limit="PT24H", reminder_share=1.5))


def test_sla_reminder_share_defaults_to_three_quarters_and_may_be_absent(session):
    grid = SlaPolicy(stage="grid", limit="PT24H")
    accept = SlaPolicy(stage="dispatch_accept", limit="PT2H", reminder_share=None)
    session.add_all([grid, accept])
    session.commit()
    assert (grid.reminder_share, accept.reminder_share) == (0.75, None)


def test_case_defaults(session, tree):
    case = _case(tree)
    session.add(case)
    session.commit()
    assert (case.status, case.self_closed, case.reworked_count, case.rating) == ("reported", False, 0, None)
    assert case.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "values",
    [
        {"status": "pending"},
        {"level": "street"},
        {"source": "email"},
        {"rating": 6},
        {"rating": 0},
        {"closed_level": "nowhere"},
        {"reworked_count": -1},
    ],
)
def test_case_rejects_values_outside_its_enumerations(session, tree, values):
    _fails(session, _case(tree, **values))


def test_case_numbers_are_unique(session, tree):
    session.add(_case(tree))
    session.flush()
    _fails(session, _case(tree))


def test_case_timestamps_come_back_in_utc(session, tree):
    local = datetime(2026, 11, 21, 9, 30, tzinfo=UTC) + timedelta(hours=8)
    case = _case(tree, due_at=local.astimezone(UTC))
    session.add(case)
    session.commit()
    session.expire_all()
    loaded = session.execute(select(Case)).scalar_one()
    assert loaded.due_at == local
    assert loaded.due_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(session, tree):
    session.add(_case(tree, due_at=datetime(2026, 11, 21, 9, 30)))
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()
    session.rollback()


def test_timeline_is_read_in_time_order(session, tree):
    case = _case(tree)
    start = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    session.add_all(
        [
            TimelineEntry(case=case, at=start + timedelta(hours=2), kind="escalated", level="community"),
            TimelineEntry(case=case, at=start, kind="reported", level="grid", public=True),
        ]
    )
    session.commit()
    session.expire_all()
    assert [entry.kind for entry in session.get(Case, case.id).timeline] == ["reported", "escalated"]


def test_case_can_be_merged_into_another(session, tree):
    first = _case(tree)
    second = _case(tree, number="GL20261121-0002", status="merged", merged_into=first)
    session.add_all([first, second])
    session.commit()
    assert second.merged_into_id == first.id


def test_case_numbers_count_per_day(session):
    day = date(2026, 11, 21)
    numbers = [next_case_number(session, day) for _ in range(3)]
    assert numbers == ["GL20261121-0001", "GL20261121-0002", "GL20261121-0003"]
    assert next_case_number(session, day + timedelta(days=1)) == "GL20261122-0001"


def test_case_numbers_on_the_suite_database(sessions):
    """The same allocation on the shared fixture (PostgreSQL's upsert when the suite runs there)."""
    with sessions.begin() as session:
        first = next_case_number(session, date(2026, 1, 2))
    with sessions.begin() as session:
        second = next_case_number(session, date(2026, 1, 2))
    assert (first, second) == ("GL20260102-0001", "GL20260102-0002")


def test_case_number_grows_past_four_digits():
    assert format_case_number("20261121", 12345) == "GL20261121-12345"


def test_fund_spend_amount_must_be_positive(session, tree):
    budget = FundBudget(org_unit=tree["station"], year=2026, amount_cents=5_000_000)
    case = _case(tree)
    for amount in (0, -100):
        _fails(session, FundSpend(budget=budget, case=case, amount_cents=amount, purpose="更换落水管"))


def test_fund_budget_is_unique_per_unit_and_year(session, tree):
    session.add(FundBudget(org_unit=tree["station"], year=2026, amount_cents=5_000_000))
    session.flush()
    _fails(session, FundBudget(org_unit=tree["station"], year=2026, amount_cents=1))


def test_budget_spent_sums_the_spends(session, tree):
    budget = FundBudget(org_unit=tree["station"], year=2026, amount_cents=5_000_000)
    case = _case(tree)
    session.add_all(
        [
            FundSpend(budget=budget, case=case, amount_cents=260_000, purpose="落水管"),
            FundSpend(budget=budget, case=case, amount_cents=40_000, purpose="人工"),
        ]
    )
    session.commit()
    assert budget_spent_cents(session, budget) == 300_000


def test_meeting_enumerations_are_checked(session, tree):
    case = _case(tree)
    _fails(
        session, Meeting(case=case, level="subcentre", org_unit=tree["huqiu"], topic="研判", urgency="soon")
    )
    _fails(
        session,
        Meeting(case=_case(tree), level="subcentre", org_unit=tree["huqiu"], topic="研判", status="held"),
    )


def test_meeting_action_needs_an_owner(session, tree):
    meeting = Meeting(case=_case(tree), level="subcentre", org_unit=tree["huqiu"], topic="研判")
    _fails(session, MeetingAction(meeting=meeting, action="施划停车位"))


def test_meeting_action_may_belong_to_an_outside_party(session, tree):
    meeting = Meeting(case=_case(tree), level="subcentre", org_unit=tree["huqiu"], topic="研判")
    meeting.actions.append(MeetingAction(party="停车场管理方", action="免费停车延长至30分钟", phase=None))
    session.add(meeting)
    session.commit()
    assert meeting.status == "summoned"
    assert meeting.actions[0].overdue is False
