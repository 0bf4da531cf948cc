"""The case page's documents and fund sections, the document page and its state changes, the chief's
decision on a spend, the receipt and the monthly fund statement, through the real app."""

from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import PNG, at_community
from workflows.clock import LOCAL_TZ, now
from workflows.coordination import fund


def local_deadline(days: int = 5) -> str:
    return (now() + timedelta(days=days)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def issue(client, number: str, **values):
    form = {"kind": "notice", "addressee_kind": "outside", "addressee": "房东王某", "contact": "13900000000",
            "requirement": "拆除楼道飞线", "deadline": local_deadline(), **values}
    return client.post(f"/cases/{number}/documents", form, token_from=f"/cases/{number}")


def test_a_coordinator_issues_a_notice_from_the_case_page_and_records_its_service(client_for, system):
    number = at_community(system)
    coordinator = client_for("coord-hq-c04")
    assert 'data-testid="document-form"' in coordinator.get(f"/cases/{number}").data.decode()
    issued = issue(coordinator, number)
    assert issued.status_code == 302
    page = coordinator.get(issued.headers["Location"]).data.decode()
    assert "整改通知单" in page and "房东王某" in page and "整改〔" in page
    document_path = issued.headers["Location"]
    recorded = coordinator.post(f"{document_path}/state", {"state": "served", "note": "当面送达"},
                                token_from=document_path)
    assert recorded.status_code == 302
    page = coordinator.get(document_path).data.decode()
    assert "已送达" in page and "当面送达" in page
    case_page = coordinator.get(f"/cases/{number}").data.decode()
    assert "整改〔" in case_page and "下发整改通知" in case_page
    pdf = coordinator.get(f"{document_path}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_a_bad_document_is_refused_on_the_case_page_keeping_what_was_typed(client_for, system):
    number = at_community(system)
    coordinator = client_for("coord-hq-c04")
    refused = issue(coordinator, number, deadline="2020-01-01T09:00", requirement="先拆飞线")
    assert refused.status_code == 422
    html = refused.data.decode()
    assert 'data-testid="document-error"' in html and "期限已过" in html and "先拆飞线" in html


def test_documents_are_issued_and_read_only_within_scope(client_for, system):
    number = at_community(system)
    assert issue(client_for("gw-hq-c04-g03"), number).status_code == 403
    assert 'data-testid="document-form"' not in client_for("gw-hq-c04-g03").get(f"/cases/{number}").data.decode()
    document_path = issue(client_for("coord-hq-c04"), number).headers["Location"]
    assert client_for("dept-urban").get(document_path).status_code == 403
    assert client_for("dept-urban").get(f"{document_path}.pdf").status_code == 403


def test_the_station_chief_approves_a_spend_above_the_threshold_on_the_case_page(client_for, system):
    fund.set_control(system, "admin", "hq-ws2", "100", chief="coord-hq-ws2")
    try:
        number = at_community(system)
        proposer = client_for("coord-hq-c04")
        proposed = proposer.post(f"/cases/{number}/fund", {"amount": "300", "purpose": "换整根落水管",
                                                           "payee": "虎丘水电维修部"},
                                 token_from=f"/cases/{number}", files={"receipt": ("r.png", PNG)})
        assert proposed.status_code == 302
        assert "待站长审批" in proposer.get(f"/cases/{number}").data.decode()
        spend_id = fund.case_spends(system, "coord-hq-ws2", number)[0]["id"]
        chief = client_for("coord-hq-ws2")
        assert f'data-testid="spend-decision-{spend_id}"' in chief.get(f"/cases/{number}").data.decode()
        decided = chief.post(f"/fund-spends/{spend_id}/decision", {"decision": "approve", "case": number},
                             token_from=f"/cases/{number}")
        assert decided.status_code == 302
        assert "已支付" in chief.get(f"/cases/{number}").data.decode()
        receipt = chief.get(f"/fund-spends/{spend_id}/receipt")
        assert receipt.status_code == 200 and receipt.data == PNG
        assert client_for("dept-urban").get(f"/fund-spends/{spend_id}/receipt").status_code == 403
    finally:
        fund.set_control(system, "admin", "hq-ws2", "5000")


def test_the_monthly_fund_statement_downloads_as_csv_and_xlsx(client_for, system):
    coordinator = client_for("coord-hq-ws2")
    csv_file = coordinator.get("/exports/fund-statement.csv")
    assert csv_file.status_code == 200 and "民生小事经费月度台账" in csv_file.data.decode("utf-8-sig")
    xlsx = coordinator.get("/exports/fund-statement.xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    assert coordinator.get("/exports/fund-statement.pdf").status_code == 422
    assert client_for("dept-urban").get("/exports/fund-statement.csv").status_code == 403


def test_an_admin_sets_the_approval_threshold_and_chief_on_the_fund_page(client_for, system):
    admin = client_for("admin")
    saved = admin.post("/admin/fund/controls", {"workstation": "hq-ws2", "threshold": "800", "chief": "coord-hq-ws2"},
                       token_from="/admin/fund")
    assert saved.status_code == 302
    page = admin.get("/admin/fund").data.decode()
    assert "800.00" in page and "coord-hq-ws2" in page
    refused = admin.post("/admin/fund/controls", {"workstation": "hq-ws2", "threshold": "800", "chief": "coord-hq-c04"},
                         token_from="/admin/fund", follow_redirects=True)
    assert "coord-hq-c04" in refused.data.decode()
    assert client_for("coord-hq-ws2").post("/admin/fund/controls", {"threshold": "1"},
                                           token_from="/inbox").status_code == 403
    fund.set_control(system, "admin", "hq-ws2", "5000")
