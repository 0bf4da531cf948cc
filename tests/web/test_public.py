"""The residents' pages: report without signing in, the number on screen, tracking by number,
rating once closed, and the rate limit against floods."""

from __future__ import annotations

from tests.web.conftest import PNG, Client, at_community, do


def report_form(**overrides) -> dict:
    form = {"category": "drain_blocked", "description": "楼道下水管堵塞，污水外溢", "grid": "hq-c04-g03",
            "address": "", "name": "王阿姨", "phone": "13812345678"}
    form.update(overrides)
    return form


def test_a_resident_reports_with_a_photo_and_gets_the_case_number_on_screen(anonymous, system):
    response = anonymous.post("/report", report_form(), token_from="/report", files={"photo": ("drain.png", PNG)})
    assert response.status_code == 302
    page = anonymous.get(response.headers["Location"]).data.decode()
    assert 'data-testid="new-case-number"' in page
    number = page.split('data-testid="new-case-number">')[1].split("<")[0]
    assert number.startswith("GL")
    assert 'data-testid="new-query-code"' in page
    assert "王阿姨" not in page and "13812345678" not in page, "the public page shows no reporter data"


def test_a_report_without_category_description_or_place_names_each_and_keeps_the_rest(anonymous):
    response = anonymous.post("/report", report_form(category="", description="", grid="", phone="abc"),
                              token_from="/report")
    assert response.status_code == 422
    html = response.data.decode()
    for field in ("category", "description", "grid", "phone"):
        assert f'data-testid="error-{field}"' in html
    assert 'value="王阿姨"' in html


def test_an_address_alone_is_enough_and_the_case_goes_to_the_district_centre(anonymous):
    response = anonymous.post("/report", report_form(grid="", address="虎丘路88号"), token_from="/report")
    assert response.status_code == 302


def test_tracking_explains_a_malformed_or_unknown_number(anonymous):
    bad = anonymous.get("/track?number=hello")
    assert bad.status_code == 422 and "GL20261121-0001" in bad.data.decode()
    unknown = anonymous.post("/track", {"number": "GL20000101-9999", "code": "ABCD2345"}, token_from="/track")
    assert unknown.status_code == 404 and "GL20000101-9999" in unknown.data.decode()


def with_code(system, number: str, code: str = "ABCD2345") -> str:
    from workflows.cases.reporting import set_query_code

    set_query_code(system, number, code)
    return code


def track(client, number: str, code: str):
    """Look a case up with its number and code, then show it (the form posts, the page is a GET)."""
    found = client.post("/track", {"number": number, "code": code}, token_from="/track")
    assert found.status_code == 302, found.data.decode()[:500]
    return client.get(found.headers["Location"]).data.decode()


def test_the_receipt_shows_the_query_code_once_and_the_case_stays_open_in_that_browser(anonymous):
    response = anonymous.post("/report", report_form(), token_from="/report")
    receipt = anonymous.get(response.headers["Location"]).data.decode()
    number = receipt.split('data-testid="new-case-number">')[1].split("<")[0]
    code = receipt.split('data-testid="new-query-code">')[1].split("<")[0]
    assert len(code) == 8 and set(code) <= set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
    again = anonymous.get(response.headers["Location"]).data.decode()
    assert 'data-testid="track-result"' in again and code not in again, "shown once"
    stranger = Client(anonymous.flask.application).get(f"/track?number={number}").data.decode()
    assert 'data-testid="track-result"' not in stranger, "another browser needs the code"


def test_the_query_code_is_kept_only_as_a_hash(anonymous, system):
    from sqlalchemy import select

    from workflows.cases.models import Case

    response = anonymous.post("/report", report_form(), token_from="/report")
    receipt = anonymous.get(response.headers["Location"]).data.decode()
    code = receipt.split('data-testid="new-query-code">')[1].split("<")[0]
    with system.sessions() as session:
        stored = session.scalar(select(Case.query_code_hash).order_by(Case.id.desc()).limit(1))
    assert stored.startswith("pbkdf2_sha256$") and code not in stored


def test_a_case_number_alone_shows_nothing_and_a_wrong_code_is_answered_like_an_unknown_number(anonymous, system):
    number = at_community(system)
    with_code(system, number)
    alone = anonymous.get(f"/track?number={number}").data.decode()
    assert 'data-testid="track-result"' not in alone and 'name="code"' in alone
    wrong = anonymous.post("/track", {"number": number, "code": "ZZZZ2345"}, token_from="/track")
    unknown = anonymous.post("/track", {"number": "GL20000101-9999", "code": "ZZZZ2345"}, token_from="/track")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.data.decode().replace(number, "N") == unknown.data.decode().replace("GL20000101-9999", "N") \
        .replace(unknown.data.decode().split('name="csrf_token" value="')[1].split('"')[0],
                 wrong.data.decode().split('name="csrf_token" value="')[1].split('"')[0])
    assert 'data-testid="track-result"' in track(anonymous, number, "abcd-2345"), "typed loosely, it still works"


def test_tracking_shows_no_reporter_no_description_and_no_address(anonymous, system):
    number = at_community(system, title="王家发热", description="隔壁王家疑似发热，请上门排查",
                          address="虎丘路88号3幢201", reporter={"name": "王阿姨", "phone": "13812345678"})
    html = track(anonymous, number, with_code(system, number))
    for private in ("王阿姨", "13812345678", "138****5678", "隔壁王家疑似发热", "虎丘路88号", "王家发热"):
        assert private not in html
    assert "hq-c04-g03" in html or "网格" in html


def test_the_public_timeline_shows_no_staff_names(anonymous, system):
    number = at_community(system)
    html = track(anonymous, number, with_code(system, number))
    assert "陈雪琴" not in html  # the grid worker who registered and escalated it
    assert "已上报" in html


def test_a_closed_case_is_rated_once_from_the_tracking_page(anonymous, system):
    number = at_community(system)
    code = with_code(system, number)
    stranger = Client(anonymous.flask.application)
    assert 'data-testid="rate-form"' not in track(anonymous, number, code)
    refused = anonymous.post(f"/track/{number}/rate", {"rating": "5"}, token_from="/report")
    assert refused.status_code == 422
    do(system, "coord-hq-c04", number, "handle", {"decision": "resolve", "result": "已疏通"})
    do(system, "coord-hq-ws2", number, "verify", {"decision": "approve"})
    assert stranger.post(f"/track/{number}/rate", {"rating": "1"}, token_from="/report").status_code == 404
    assert stranger.post(f"/track/{number}/rate", {"rating": "1", "code": "ZZZZ2345"},
                         token_from="/report").status_code == 404
    assert 'data-testid="rate-form"' in anonymous.get(f"/track?number={number}").data.decode()
    assert anonymous.post(f"/track/{number}/rate", {"rating": "9"}, token_from="/report").status_code == 422
    assert anonymous.post(f"/track/{number}/rate", {"rating": "4", "comment": "满意"},
                          token_from="/report").status_code == 302
    page = anonymous.get(f"/track?number={number}").data.decode()
    assert 'data-testid="rated"' in page and "★★★★☆" in page
    again = anonymous.post(f"/track/{number}/rate", {"rating": "1"}, token_from="/report")
    assert again.status_code == 422


def test_a_resident_with_the_code_rates_from_another_browser(anonymous, system):
    number = at_community(system)
    code = with_code(system, number)
    do(system, "coord-hq-c04", number, "handle", {"decision": "resolve", "result": "已疏通"})
    do(system, "coord-hq-ws2", number, "verify", {"decision": "approve"})
    assert anonymous.post(f"/track/{number}/rate", {"rating": "5", "code": code},
                          token_from="/report").status_code == 302


def test_a_flood_of_reports_from_one_address_is_slowed_down(web_app):
    from web.extensions import limiter

    web_app.config["RATE_LIMITS"] = True
    was_enabled, limiter.enabled = limiter.enabled, True  # another test app may have switched it off
    limiter.reset()
    try:
        client = Client(web_app)
        token = client.token("/report")
        statuses = [client.flask.post("/report", data={**report_form(category=""), "csrf_token": token}).status_code
                    for _ in range(7)]
        refused = client.flask.post("/report", data={"csrf_token": token}).data.decode()
    finally:
        web_app.config["RATE_LIMITS"] = False
        limiter.enabled = was_enabled
        limiter.reset()
    assert statuses[:5] == [422] * 5
    assert statuses[5:] == [429, 429]
    assert "稍候" in refused


def test_a_position_from_the_phone_finds_the_grid(anonymous, system):
    from workflows.demo.huqiu import grids

    grid = next(g for g in grids() if g["code"] == "hq-c04-g03")
    response = anonymous.post("/report", report_form(grid="", lat=str(grid["lat"]), lon=str(grid["lon"])),
                              token_from="/report")
    assert response.status_code == 302
    number = response.headers["Location"].split("number=")[1].split("&")[0]
    from tests.web.conftest import task_of

    assert task_of(system, number, "register").org_unit == "hq-c04-g03"
    outside = anonymous.post("/report", report_form(grid="", lat="10", lon="10"), token_from="/report")
    assert outside.status_code == 422 and 'data-testid="error-grid"' in outside.data.decode()


def test_refusals_from_the_domain_are_worded_in_the_readers_language(anonymous, web_app):
    outside = anonymous.post("/report", report_form(grid="", lat="10", lon="10"), token_from="/report")
    assert "该位置不在本辖区任何网格内" in outside.data.decode()
    not_image = anonymous.post("/report", report_form(), token_from="/report",
                               files={"photo": ("notes.txt", b"just some text, not a picture")})
    assert not_image.status_code == 422 and "notes.txt 不是图片" in not_image.data.decode()
    english = Client(web_app)
    english.get("/lang/en")
    refused = english.post("/report", report_form(grid="", lat="10", lon="10"), token_from="/report")
    assert "That position lies outside every grid of this area" in refused.data.decode()


def test_pages_link_the_icon_and_the_old_icon_address_answers(anonymous):
    page = anonymous.get("/report").data.decode()
    assert 'rel="icon" type="image/svg+xml" href="/static/favicon.svg' in page
    for path in ("/static/favicon.svg", "/favicon.ico"):
        response = anonymous.get(path)
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert response.data.startswith(b"<svg")
