"""The rest of administration through its pages: users, org tree, departments, categories, SLA, fund.

Every change is validated (the refusal names the value and what to do) and leaves an audit entry.
"""

from __future__ import annotations

import html
import re

import pytest

from .conftest import Client

pytest_plugins = ["tests.web.admin_world"]  # the admin, admin_app and admin_system fixtures


def send(admin, path: str, data: dict, follow: bool = True) -> str:
    response = admin.post(path, data, token_from="/admin/processes", follow_redirects=follow)
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def can_sign_in(app, username: str, password: str) -> bool:
    client = Client(app)
    response = client.flask.post("/login", data={"username": username, "password": password,
                                                 "csrf_token": client.token("/login")})
    return response.status_code == 302


def test_an_admin_creates_a_user_who_can_sign_in_with_the_password_shown_once(admin, admin_app):
    page = send(admin, "/admin/users", {"username": "coord-new", "role": "coordinator", "org": "hq-c05",
                                        "display_name": "新协调员"}, follow=False)
    password = re.search(r'class="secret">([^<]+)<', page).group(1)
    assert can_sign_in(admin_app, "coord-new", password)
    assert "coord-new" in admin.get("/admin/users?role=coordinator").get_data(as_text=True)
    assert "coord-new" not in admin.get("/admin/users?role=leader").get_data(as_text=True)


def test_bad_user_input_is_refused_with_the_value_named(admin):
    assert "unknown role 'boss'" in send(admin, "/admin/users", {"username": "x1", "role": "boss"})
    assert "needs an org unit" in send(admin, "/admin/users", {"username": "x2", "role": "grid_worker"})
    assert "already exists" in send(admin, "/admin/users", {"username": "admin", "role": "admin"})
    assert "'nowhere'" in send(admin, "/admin/users", {"username": "x3", "role": "coordinator", "org": "nowhere"})


def test_deactivating_a_user_stops_their_sign_in_and_reactivating_restores_it(admin, admin_app):
    send(admin, "/admin/users", {"username": "dept-temp", "role": "department", "department": "police",
                                 "password": "temp-pass-1"}, follow=False)
    send(admin, "/admin/users/dept-temp/active", {"active": "0"})
    assert not can_sign_in(admin_app, "dept-temp", "temp-pass-1")
    send(admin, "/admin/users/dept-temp/active", {"active": "1"})
    assert can_sign_in(admin_app, "dept-temp", "temp-pass-1")


def test_an_admin_cannot_lock_themselves_or_the_last_admin_out(admin):
    assert "cannot deactivate your own login" in send(admin, "/admin/users/admin/active", {"active": "0"})
    assert "last active admin" in send(admin, "/admin/users/admin/role", {"role": "leader"})


def test_a_reset_password_replaces_the_old_one(admin, admin_app):
    send(admin, "/admin/users", {"username": "gw-temp", "role": "grid_worker", "org": "hq-c04-g03",
                                 "password": "old-pass-1"}, follow=False)
    page = send(admin, "/admin/users/gw-temp/password", {}, follow=False)
    password = re.search(r'class="secret">([^<]+)<', page).group(1)
    assert can_sign_in(admin_app, "gw-temp", password)
    assert not can_sign_in(admin_app, "gw-temp", "old-pass-1")


def test_changing_a_role_checks_where_the_user_works(admin):
    send(admin, "/admin/users", {"username": "lead-temp", "role": "leader"}, follow=False)
    assert "need a department" in send(admin, "/admin/users/lead-temp/role", {"role": "department"})
    send(admin, "/admin/users/lead-temp/role", {"role": "department", "department": "fire"})
    assert 'data-user="lead-temp"' in admin.get("/admin/users?role=department").get_data(as_text=True)


def test_the_org_tree_grows_one_level_below_the_parent_and_units_can_be_renamed(admin):
    page = send(admin, "/admin/org", {"code": "hq-c05-g99", "name": "新网格", "level": "grid",
                                      "parent": "hq-c05"})
    assert 'data-unit="hq-c05-g99"' in page
    assert "belongs under a community" in send(admin, "/admin/org", {"code": "hq-x1", "name": "错", "level": "grid",
                                                                     "parent": "hq-ws2"})
    assert "新网格二" in send(admin, "/admin/org", {"code": "hq-c05-g99", "name": "新网格二"})
    assert "is not usable" in send(admin, "/admin/org", {"code": "Bad Code", "name": "x", "level": "grid"})


def test_departments_are_added_and_renamed(admin):
    assert "<code>water</code>" in send(admin, "/admin/departments", {"code": "water", "name": "水务局"})
    assert "水务集团" in send(admin, "/admin/departments", {"code": "water", "name": "水务集团"})


def test_categories_need_a_department_and_a_valid_time_limit(admin):
    page = send(admin, "/admin/categories", {"code": "noise", "name": "噪声扰民", "parent": "event",
                                             "department": "police", "time_limit": "P2D"})
    assert 'data-category="noise"' in page
    assert "time_limit：“5 days”不是 ISO-8601 时长" in send(admin, "/admin/categories", {
        "code": "noise2", "name": "x", "parent": "event", "department": "police", "time_limit": "5 days"})
    assert "needs a default department" in send(admin, "/admin/categories", {
        "code": "noise3", "name": "x", "parent": "event", "time_limit": "P1D"})
    assert "two levels deep" in send(admin, "/admin/categories", {
        "code": "noise4", "name": "x", "parent": "noise", "department": "police", "time_limit": "P1D"})


def test_sla_limits_are_set_per_stage_and_category_and_bad_durations_refused(admin):
    page = send(admin, "/admin/sla", {"stage": "grid", "limit": "PT12H", "category": "illegal_parking",
                                      "reminder_share": "0.5"})
    assert 'data-stage="grid" data-category="illegal_parking"' in page and "PT12H" in page
    assert "SLA grid：“12 hours”不是 ISO-8601 时长" in send(admin, "/admin/sla", {"stage": "grid",
                                                                                 "limit": "12 hours"})
    assert "unknown SLA stage 'lunch'" in send(admin, "/admin/sla", {"stage": "lunch", "limit": "PT1H"})


@pytest.mark.parametrize(("limit", "says"), [
    ("P99999999Y", "“P99999999Y”超过 10 年"), ("P99999D", "“P99999D”超过 10 年"),
    ("-PT1H", "“-PT1H”不是 ISO-8601 时长"), ("PT0S", "“PT0S”为零"),
])
def test_an_sla_or_time_limit_out_of_bounds_is_refused_and_nothing_is_saved(admin, limit, says):
    page = send(admin, "/admin/sla", {"stage": "grid", "limit": limit, "category": "illegal_parking"})
    assert "SLA grid：" + says in page
    assert limit not in page.split("</form>")[-1], "the refused value is not listed as a policy"
    page = send(admin, "/admin/categories", {"code": "noise9", "name": "x", "parent": "event",
                                             "department": "police", "time_limit": limit})
    assert "time_limit：" + says in page and 'data-category="noise9"' not in page


def test_an_sla_out_of_bounds_is_refused_in_english_when_asked(admin):
    with admin.flask.session_transaction() as session:
        session["lang"] = "en"
    page = send(admin, "/admin/sla", {"stage": "grid", "limit": "P99999999Y"})
    assert "SLA grid: 'P99999999Y' is longer than 10 years: write at most 10 years" in page


def test_fund_budgets_belong_to_workstations(admin):
    send(admin, "/admin/fund", {"workstation": "hq-ws2", "year": "2031", "amount": "12345.5"})
    page = admin.get("/admin/fund?year=2031").get_data(as_text=True)
    assert "12345.50" in page.split('data-workstation="hq-ws2"')[1].split("</tr>")[0]
    assert "the fund belongs to a workstation" in send(admin, "/admin/fund", {"workstation": "hq-c04",
                                                                              "year": "2031", "amount": "1"})
    assert "must be numbers" in send(admin, "/admin/fund", {"workstation": "hq-ws2", "year": "2031",
                                                            "amount": "lots"})


def test_every_change_is_in_the_audit_trail(admin):
    send(admin, "/admin/departments", {"code": "gas", "name": "燃气公司"})
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "department.create" in page and "gas" in page


def test_an_admin_sets_a_time_limit_as_a_number_and_a_unit_and_reads_it_in_words(admin):
    page = send(admin, "/admin/sla", {"stage": "dispatch_accept", "amount": "3", "unit": "days"})
    row = page.split('data-stage="dispatch_accept" data-category=""')[1].split("</tr>")[0]
    assert 'data-limit="P3D"' in row and "3 天" in row and "部门签收" in row
    assert "部门签收 的时限已设为 3 天" in page
    page = send(admin, "/admin/sla", {"stage": "grid", "amount": "24", "unit": "hours"})
    assert 'data-limit="PT24H"' in page.split('data-stage="grid" data-category=""')[1].split("</tr>")[0]
    assert "duty_tough" not in page.split('name="stage"')[1].split("</select>")[0].split('value="duty_tough">')[1]


@pytest.mark.parametrize(("amount", "unit", "says"), [
    ("0", "hours", "“PT0H”为零"), ("-1", "hours", "“-PT1H”不是 ISO-8601 时长"),
    ("99999", "days", "“P99999D”超过 10 年"), ("lots", "days", "lots"), ("3", "fortnights", "fortnights"),
])
def test_a_time_limit_picked_out_of_bounds_is_refused_with_the_same_messages(admin, amount, unit, says):
    before = admin.get("/admin/sla").get_data(as_text=True).split('data-testid="sla"')[1]
    page = send(admin, "/admin/sla", {"stage": "grid", "amount": amount, "unit": unit,
                                      "category": "illegal_parking"})
    assert says in page.split("<section")[0], "the refusal is flashed above the form"
    assert html.unescape(before) == page.split('data-testid="sla"')[1], "nothing was saved"
