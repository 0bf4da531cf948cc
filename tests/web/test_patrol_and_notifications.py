"""Grid workers' patrol form (report, or self-close with a photo) and the notification list."""

from __future__ import annotations

import re

from tests.web.conftest import PNG, report, task_of


def test_a_grid_worker_self_closes_a_small_matter_with_a_photo_and_the_community_verifies_it(client_for, system):
    grid = client_for("gw-hq-c04-g03")
    response = grid.post("/patrol", {"category": "exposed_rubbish", "title": "楼道口垃圾", "self_close": "1",
                                     "result": "已清运"}, token_from="/patrol", files={"photos": ("after.png", PNG)})
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[-1]
    assert task_of(system, number, "verify").org_unit == "hq-c04"
    page = grid.get(f"/cases/{number}").data.decode()
    assert "after.png" in page and "已清运" in page


def test_self_closing_without_a_photo_or_result_names_both_and_keeps_the_title(client_for):
    response = client_for("gw-hq-c04-g03").post("/patrol", {"category": "exposed_rubbish", "title": "楼道口垃圾",
                                                            "self_close": "1"}, token_from="/patrol")
    assert response.status_code == 422
    html = response.data.decode()
    assert 'data-testid="error-photos"' in html and 'data-testid="error-result"' in html
    assert 'value="楼道口垃圾"' in html


def test_a_patrol_report_lands_in_the_grid_workers_inbox_and_on_the_grid_list(client_for, system):
    grid = client_for("gw-hq-c04-g03")
    response = grid.post("/patrol", {"category": "illegal_parking", "title": "消防通道停车"}, token_from="/patrol")
    number = response.headers["Location"].rsplit("/", 1)[-1]
    assert task_of(system, number, "handle").org_unit == "hq-c04-g03"
    assert number in grid.get("/patrol").data.decode()
    assert number in grid.get("/inbox").data.decode()
    assert number not in client_for("gw-hq-c04-g01").get("/patrol").data.decode()


def test_new_tasks_show_as_unread_notifications_that_open_the_case_and_can_be_marked_read(client_for, system):
    client = client_for("gw-hq-c04-g01")
    client.post("/notifications/read", token_from="/notifications")
    assert 'data-testid="unread-count"' not in client.get("/inbox").data.decode()
    number = report(system, grid="hq-c04-g01")
    html = client.get("/inbox").data.decode()
    assert 'data-testid="unread-count">1<' in html
    notes = client.get("/notifications").data.decode()
    assert number in notes and 'class="unread"' in notes
    note_id = int(re.search(r"/notifications/(\d+)/open", notes).group(1))
    opened = client.post(f"/notifications/{note_id}/open", {"link": f"/cases/{number}"}, token_from="/notifications")
    assert opened.headers["Location"] == f"/cases/{number}"
    assert 'data-testid="unread-count"' not in client.get("/inbox").data.decode()
    elsewhere = client.post(f"/notifications/{note_id}/open", {"link": "https://evil.example"},
                            token_from="/notifications")
    assert elsewhere.status_code == 400 and "Location" not in elsewhere.headers
