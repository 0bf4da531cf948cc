"""The inbox: search, sort, filters scoped to what the user sees, the work waiting below a
supervisor's unit, and claims shown by the person's name."""

from __future__ import annotations

import re
import uuid

from tests.web.conftest import at_community, task_of


def _cases_listed(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-case="([^"]+)"', html)


def test_the_inbox_finds_a_case_by_number_title_or_address(client_for, system):
    marker = uuid.uuid4().hex[:8]
    wanted = at_community(system, title=f"路灯不亮 {marker}", address=f"虎丘路 {marker[::-1]} 号")
    other = at_community(system, title="井盖松动")
    coordinator = client_for("coord-hq-c04")
    for text in (marker, wanted, marker[::-1]):
        listed = _cases_listed(coordinator.get(f"/inbox?q={text}").data.decode())
        assert wanted in listed and other not in listed, text
    assert other in _cases_listed(coordinator.get("/inbox").data.decode())


def test_the_inbox_sorts_by_newest_first_when_asked(client_for, system):
    marker = uuid.uuid4().hex[:8]
    first = at_community(system, title=f"早 {marker}")
    second = at_community(system, title=f"晚 {marker}")
    coordinator = client_for("coord-hq-c04")
    assert _cases_listed(coordinator.get(f"/inbox?q={marker}&sort=newest").data.decode()) == [second, first]
    assert _cases_listed(coordinator.get(f"/inbox?q={marker}&sort=due").data.decode())[0] == first


def test_the_level_filter_offers_only_the_levels_the_user_sees(client_for, system):
    page = client_for("coord-hq-c04").get("/inbox").data.decode()
    offered = re.findall(r'<select id="level".*?</select>', page, re.S)[0]
    assert 'value="grid"' in offered and 'value="community"' in offered
    assert 'value="workstation"' not in offered and 'value="district"' not in offered
    refused = client_for("coord-hq-c04").get("/inbox?level=district")
    assert refused.status_code in (400, 422) and "district" in refused.data.decode()
    assert 'value="district"' in client_for("dept-urban").get("/inbox").data.decode()


def test_a_sub_centre_sees_the_work_waiting_below_it_without_acting_on_it(client_for, system):
    marker = uuid.uuid4().hex[:8]
    number = at_community(system, title=f"楼道堆物 {marker}")
    subcentre = client_for("coord-huqiu")
    own = subcentre.get(f"/inbox?q={marker}").data.decode()
    assert number not in _cases_listed(own) and 'data-testid="below-filter"' in own
    below = subcentre.get(f"/inbox?q={marker}&below=1").data.decode()
    assert _cases_listed(below) == [number]
    assert f"/cases/{number}" in below and "新庄社区" in below
    assert f"/inbox/tasks/{task_of(system, number).id}/claim" not in below
    assert 'data-testid="below-filter"' not in client_for("gw-hq-c04-g03").get("/inbox").data.decode()


def test_a_claim_shows_the_name_of_the_person_not_the_username(client_for, system):
    marker = uuid.uuid4().hex[:8]
    number = at_community(system, title=f"噪音扰民 {marker}")
    claimer = client_for("coord-hq-c04")
    task_id = task_of(system, number).id
    assert claimer.post(f"/inbox/tasks/{task_id}/claim", token_from="/inbox").status_code == 302
    page = client_for("coord-hq-c04-2").get(f"/inbox?q={marker}").data.decode()
    assert ">李秀英</span>" in page and ">coord-hq-c04</span>" not in page
