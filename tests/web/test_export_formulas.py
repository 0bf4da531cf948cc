"""Exports never carry a live formula (OWASP CSV injection): an anonymous report whose description
starts with ``=`` reaches the leader's Excel file as text and the CSV behind a single quote."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.web.conftest import Client
from tests.web.test_public import report_form
from workflows.evaluation import exports

PAYLOAD = '=HYPERLINK("http://evil.example","点击")'
TRIGGERS = ["=1+1", "+1+1", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1", "＝1+1", "＋1", "－1", "＠SUM(1)", "  =1+1"]


def reported(anonymous: Client, description: str) -> str:
    response = anonymous.post("/report", report_form(description=description), token_from="/report")
    assert response.status_code == 302, response.data[:500]
    page = anonymous.get(response.headers["Location"]).data.decode()
    return page.split('data-testid="new-case-number">')[1].split("<")[0]


@pytest.fixture(scope="module")
def formula_case(web_app) -> str:
    return reported(Client(web_app), PAYLOAD)


def test_a_formula_in_an_anonymous_report_is_plain_text_in_the_leaders_xlsx(client_for, formula_case):
    response = client_for("leader").get(f"/exports/cases.xlsx?q={formula_case}&status=all")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    [row] = [r for r in sheet.iter_rows(min_row=2) if r[0].value == formula_case]
    title = row[1]
    assert title.value == PAYLOAD and title.data_type == "s", (title.value, title.data_type)
    assert all(cell.data_type != "f" for r in sheet.iter_rows() for cell in r)


def test_a_formula_in_an_anonymous_report_is_escaped_in_the_leaders_csv(client_for, formula_case):
    response = client_for("leader").get(f"/exports/cases.csv?q={formula_case}&status=all")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    [row] = [r for r in rows[1:] if r[0] == formula_case]
    assert row[1] == "'" + PAYLOAD


@pytest.mark.parametrize("text", TRIGGERS)
def test_every_formula_trigger_is_recognised(text):
    assert exports.formula_like(text) and exports.csv_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["下水管道堵塞", "A=B", "3-1", "", "PT24H", "e-mail"])
def test_ordinary_text_and_numbers_are_left_alone(text):
    assert not exports.formula_like(text) and exports.csv_safe(text) == text
    assert exports.csv_safe(-3) == -3 and exports.csv_safe(0.5) == 0.5


@pytest.fixture
def hostile_names(monkeypatch):
    """The month's real report, with admin-given names that look like formulas."""
    real = exports.monthly_report_data

    def data(session, month, scope_unit=None):
        found = real(session, month, scope_unit)
        names = iter(TRIGGERS * 20)
        for table in ("communities", "departments", "red", "black"):
            found[table] = [{**row, "name": next(names)} for row in found[table]]
        found["scope"] = {**(found["scope"] or {}), "name": "=cmd|' /C calc'!A0"}
        return found

    monkeypatch.setattr(exports, "monthly_report_data", data)


def test_the_monthly_report_xlsx_holds_no_formula(client_for, hostile_names):
    response = client_for("leader").get("/exports/monthly-report.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c for c in book["社区考核"]["C"][1:] if c.value in TRIGGERS and c.data_type == "s"]
    assert book["总体指标"]["A1"].value.startswith("=cmd") and book["总体指标"]["A1"].data_type == "s"


def test_the_monthly_report_csv_escapes_every_formula_like_field(client_for, hostile_names):
    response = client_for("leader").get("/exports/monthly-report.csv")
    fields = [f for row in csv.reader(io.StringIO(response.data.decode("utf-8-sig"))) for f in row]
    assert fields[0].startswith("'=cmd")
    assert not [f for f in fields if exports.formula_like(f)]
    assert sum(f in ("'" + t for t in TRIGGERS) for f in fields) > 0
