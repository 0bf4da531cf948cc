"""The command centre over HTTP: who may see it, what area they see, and that the page, its JSON
and the exports carry exactly the figures of ``compute_metrics``."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.apps import make_app
from tests.web.conftest import Client
from workflows.clock import LOCAL_TZ, now
from workflows.evaluation.figures import STANDARD
from workflows.evaluation.metrics import compute_metrics

PASSWORD = "password-1"
PEOPLE = [
    ("admin", "admin", None, None),
    ("leader", "leader", None, None),
    ("leader-ws1", "leader", "hq-ws1", None),
    ("coord-c04", "coordinator", "hq-c04", None),
    ("dept-police", "department", None, "police"),
    ("gw", "grid_worker", "hq-c04-g03", None),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """An app whose database holds the Huqiu organisation and 400 generated cases over the last year."""
    from benchmarks.dashboard_bench import populate
    from web.system import system_of
    from workflows.people import accounts

    app = make_app(tmp_path_factory.mktemp("dashboard-instance"), "dashboard-tests", diagrams=False,
                   RATELIMIT_ENABLED=False)
    system = system_of(app)
    for username, role, unit, department in PEOPLE:
        accounts.create_user(system, username, role, org=unit, department=department, password=PASSWORD)
    populate(system, 3000, progress=False, seed=11)
    return app


@pytest.fixture
def as_(app):
    def make(username: str | None) -> Client:
        client = Client(app)
        if username:
            client.login(username, PASSWORD)
        return client

    return make


def month_start():
    return now().astimezone(LOCAL_TZ).date().replace(day=1)


def metrics(app, **kwargs):
    from web.system import system_of

    with system_of(app).sessions() as session:
        return compute_metrics(session, start=month_start(), end=now().astimezone(LOCAL_TZ).date(), **kwargs)


def test_a_leader_sees_the_big_screen_with_the_months_figures(as_, app):
    response = as_("leader").get("/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "网格化联动指挥中心" in html and "echarts.min.js" in html and "js/dashboard.js" in html
    expected = metrics(app)["totals"]
    assert f'data-testid="kpi-due">{expected["due_for_closure"]}<' in html


def test_the_json_carries_the_same_figures_as_compute_metrics(as_, app):
    data = as_("leader").get("/dashboard/data.json").get_json()
    expected = metrics(app, group_by="department")
    assert data["metrics"] == expected["totals"]
    assert sorted(data["departments"], key=lambda g: g["key"]) == sorted(expected["groups"], key=lambda g: g["key"])
    assert data["metrics"]["received"] > 0
    assert len(data["per_day"]) == 30 and data["live"]["open_total"] >= data["live"]["open_past_due"]
    assert data["red_black"]["red"] and data["top_categories"]


def test_a_leader_of_a_workstation_sees_only_its_subtree(as_, app):
    client = as_("leader-ws1")
    data = client.get("/dashboard/data.json").get_json()
    assert data["scope"]["code"] == "hq-ws1"
    assert data["metrics"] == metrics(app, scope_unit="hq-ws1")["totals"]
    assert data["metrics"]["received"] < metrics(app)["totals"]["received"]
    assert {c["code"] for c in data["choices"]} >= {"hq-ws1"} and "hq-ws2" not in {c["code"] for c in data["choices"]}


def test_narrowing_to_a_unit_outside_the_viewers_area_is_forbidden(as_):
    response = as_("leader-ws1").get("/dashboard/data.json?unit=hq-ws2")
    assert response.status_code == 403
    assert "hq-ws2" in response.get_data(as_text=True)


def test_a_leader_of_the_whole_district_may_narrow_to_a_community(as_, app):
    data = as_("leader").get("/dashboard/data.json?unit=hq-c04&period=year").get_json()
    assert data["scope"]["code"] == "hq-c04" and data["period"]["key"] == "year"


def test_an_unknown_period_is_refused_with_the_choices_in_the_json_error_shape(as_):
    response = as_("leader").get("/dashboard/data.json?period=decade")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["status"] == 422 and "decade" in error["message"] and "month" in error["message"]
    page = as_("leader").get("/dashboard?period=decade")
    assert page.status_code == 422 and "decade" in page.get_data(as_text=True)


@pytest.mark.parametrize("user", ["dept-police", "gw"])
def test_departments_and_grid_workers_may_not_open_the_dashboard_or_exports(as_, user):
    client = as_(user)
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/data.json").status_code == 403
    assert client.get("/exports/cases.csv").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(as_):
    response = as_(None).get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_cases_export_opens_in_openpyxl_with_chinese_headers_and_the_filtered_rows(as_, app):
    first = month_start().isoformat()
    response = as_("leader").get(f"/exports/cases.xlsx?from={first}&status=closed")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(book["工单列表"].iter_rows(values_only=True))
    assert rows[0][:5] == ("工单编号", "标题", "类别", "来源", "状态")
    # every closed case, self-closed orders too (结案数 counts only registered ones)
    assert len(rows) - 1 == sum(metrics(app)["totals"]["closed_by_level"].values())
    assert {row[4] for row in rows[1:]} == {"已结案"}


def test_the_cases_csv_has_a_bom_and_respects_the_viewers_area(as_):
    response = as_("leader-ws1").get("/exports/cases.csv?overdue=true")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "工单编号" and "超期未结" in rows[0]
    assert len(rows) > 1 and all(row[15] == "是" for row in rows[1:])
    everything = as_("leader").get("/exports/cases.csv?overdue=true&org_unit=hq-ws1")
    assert everything.data == response.data


def test_the_cases_export_takes_the_case_lists_filters(as_):
    client = as_("leader")
    everything = client.get("/exports/cases.csv?status=all&page=3").data.decode("utf-8-sig").splitlines()
    assert len(everything) - 1 == len(client.get("/exports/cases.csv").data.decode("utf-8-sig").splitlines()) - 1
    number = everything[1].split(",")[0]
    found = client.get(f"/exports/cases.csv?q={number}").data.decode("utf-8-sig").splitlines()
    assert len(found) == 2 and found[1].startswith(number)
    assert len(client.get("/exports/cases.csv?q=100%25_").data.decode("utf-8-sig").splitlines()) == 1


def test_a_cases_export_outside_the_area_or_with_a_bad_filter_is_refused(as_):
    client = as_("coord-c04")
    assert client.get("/exports/cases.csv?org_unit=hq-c05").status_code == 403
    response = client.get("/exports/cases.csv?status=done")
    assert response.status_code in (400, 422) and "done" in response.get_data(as_text=True)
    assert client.get("/exports/cases.pdf").status_code in (400, 404, 422)


def test_the_monthly_report_holds_the_same_figures_as_the_page(as_, app):
    client = as_("leader")
    page = client.get("/dashboard/data.json").get_json()["metrics"]
    month = month_start().strftime("%Y-%m")
    response = client.get(f"/exports/monthly-report.xlsx?month={month}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["总体指标", "社区考核", "部门考核", "层级分布", "红黑榜"]
    summary = {row[0]: row[1] for row in book["总体指标"].iter_rows(min_row=5, values_only=True) if row[0]}
    for figure in STANDARD:  # every standard figure, under its one Chinese name, as on the page
        assert summary[figure.name] == page[figure.key], figure.key
    assert summary["综合得分"] == page["score"]
    rate_row = 5 + [f.key for f in STANDARD].index("closure_rate")
    assert book["总体指标"][f"B{rate_row}"].number_format == "0.00%"
    header = [cell.value for cell in book["社区考核"][1]]
    assert header[:3] == ["排名", "编码", "社区"] and book["社区考核"]["A1"].font.bold


def test_the_monthly_report_csv_and_a_bad_month(as_):
    client = as_("leader")
    response = client.get("/exports/monthly-report.csv")
    text = response.data.decode("utf-8-sig")
    assert response.status_code == 200 and "总体指标" in text and "社区考核" in text and "黑榜" in text
    bad = client.get("/exports/monthly-report.xlsx?month=2026-13")
    assert bad.status_code in (400, 422) and "2026-13" in bad.get_data(as_text=True)


def test_an_admin_changes_the_score_weights_and_others_may_not(as_):
    admin = as_("admin")
    assert admin.get("/dashboard/weights").status_code == 200
    values = {"subject": "unit", "unit.registration": "0", "unit.closure": "100", "unit.on_time": "0",
              "unit.no_rework": "0", "unit.satisfaction": "0"}
    response = admin.post("/dashboard/weights", values, token_from="/dashboard/weights")
    assert response.status_code == 302
    data = admin.get("/dashboard/data.json").get_json()
    assert data["weights"]["unit"]["closure"] == 1.0
    assert data["metrics"]["score"] == round(100 * data["metrics"]["closure_rate"], 1)
    bad = admin.post("/dashboard/weights", {**values, "unit.closure": "lots"}, token_from="/dashboard/weights")
    assert bad.status_code == 422 and "lots" in bad.get_data(as_text=True)
    assert as_("leader").get("/dashboard/weights").status_code == 403
    admin.post("/dashboard/weights", {**values, "unit.registration": "10", "unit.closure": "30",
                                      "unit.on_time": "30", "unit.no_rework": "20", "unit.satisfaction": "10"},
               token_from="/dashboard/weights")


def test_the_big_screen_speaks_english_when_asked(as_):
    client = as_("leader")
    client.get("/lang/en")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Grid linkage command centre" in html and "Department league table" in html
    assert "网格化联动指挥中心" not in html


@pytest.mark.parametrize("username", ["leader", "leader-ws1", "coord-c04"])
def test_the_api_metrics_are_the_dashboards_figures_for_the_same_viewer_and_period(as_, app, username):
    from web.system import system_of
    from workflows.people import tokens

    data = as_(username).get("/dashboard/data.json").get_json()
    token = tokens.create_token(system_of(app), username, "compare")
    query = {"from": data["period"]["from"], "to": data["period"]["to"], "group_by": "department"}
    response = app.test_client().get("/api/v1/metrics", query_string=query,
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["scope"] == data["scope"]
    assert body["totals"] == data["metrics"]
    by_key = sorted(data["departments"], key=lambda g: g["key"])
    assert sorted(body["groups"], key=lambda g: g["key"]) == by_key


def test_the_period_and_update_time_are_shown_in_china_time_with_today_as_the_last_day(as_):
    data = as_("leader").get("/dashboard/data.json?period=week").get_json()
    today = now().astimezone(LOCAL_TZ)
    assert data["period"]["last_day"] == today.date().isoformat()
    assert data["period"]["first_day"] <= data["period"]["last_day"]
    assert len(data["generated_local"]) == 8
    html = as_("leader").get("/dashboard?period=week").get_data(as_text=True)
    assert f'{data["period"]["first_day"]} — {today.date().isoformat()}' in html and " UTC<" not in html


def test_publishing_last_month_shows_the_frozen_state_and_a_reissue_needs_a_reason(as_, app):
    client = as_("leader")
    last = (month_start() - __import__("datetime").timedelta(days=1)).strftime("%Y-%m")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="report-live"' in page
    response = client.post("/dashboard/publish", {"month": last}, token_from="/dashboard")
    assert response.status_code == 302
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="report-published"' in page and ("第1版" in page or "version 1" in page)
    again = client.post("/dashboard/publish", {"month": last}, token_from="/dashboard", follow_redirects=True)
    assert "needs a reason" in again.get_data(as_text=True) or "原因" in again.get_data(as_text=True)
    client.post("/dashboard/publish", {"month": last, "reason": "补录结案"}, token_from="/dashboard")
    csv_text = client.get(f"/exports/monthly-report.csv?month={last}").data.decode("utf-8-sig")
    assert "已发布并冻结（第2版" in csv_text and "补录结案" in csv_text and "此前版本：第1版" in csv_text
    this_month = client.post("/dashboard/publish", {"month": month_start().strftime("%Y-%m")},
                             token_from="/dashboard", follow_redirects=True)
    assert "has not ended" in this_month.get_data(as_text=True) or "尚未结束" in this_month.get_data(as_text=True)


def test_the_centre_enters_inspection_scores_that_the_red_black_list_blends_in(as_, app):
    from web.system import system_of
    from workflows.evaluation.metrics import inspection_scores
    from workflows.reads.sessions import read_sessions

    client = as_("leader")
    page = client.get("/evaluation/inspections?month=2026-10")
    assert page.status_code == 200 and b'name="hq-c01.self_check"' in page.data
    bad = client.post("/evaluation/inspections", {"month": "2026-10", "hq-c01.self_check": "120"},
                      token_from="/evaluation/inspections")
    assert bad.status_code == 422 and b"out of range" in bad.data
    saved = client.post("/evaluation/inspections", {"month": "2026-10", "hq-c01.self_check": "80",
                                                    "hq-c01.spot_check": "60"},
                        token_from="/evaluation/inspections")
    assert saved.status_code == 302
    with read_sessions(system_of(app))() as session:
        assert inspection_scores(session, "2026-10")["hq-c01"] == 70.0


def test_the_weights_page_offers_each_subject_its_own_parts(as_):
    page = as_("admin").get("/dashboard/weights").get_data(as_text=True)
    assert 'name="unit.closure"' in page and 'name="department.duty"' in page and 'name="grid.self_closed"' in page
    assert 'name="unit.volume"' not in page
