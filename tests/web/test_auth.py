"""Signing in and out, where people land, the language they chose, and safe redirects."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Client


def test_a_wrong_password_is_refused_with_a_message_and_the_username_kept(anonymous):
    response = anonymous.post("/login", {"username": "coord-hq-c04", "password": "wrong-password"})
    assert response.status_code == 401
    html = response.data.decode()
    assert 'data-testid="login-error"' in html and 'value="coord-hq-c04"' in html


def test_signing_in_follows_a_local_next_address_but_never_another_site(web_app):
    for target, expected in (("/cases", 302), ("https://evil.example/x", 400), ("//evil.example", 400),
                             ("javascript:alert(1)", 400)):
        client = Client(web_app)
        token = client.token("/login")
        response = client.flask.post(f"/login?next={target}", data={"username": "coord-hq-c04",
                                                                    "password": PASSWORD, "csrf_token": token})
        assert response.status_code == expected, target
        assert response.headers.get("Location") == ("/cases" if expected == 302 else None), target


def test_signing_out_ends_the_session(client_for):
    client = client_for("coord-hq-c04")
    assert client.get("/inbox").status_code == 200
    assert client.post("/logout", token_from="/inbox").status_code == 302
    assert client.get("/inbox").status_code == 302


def test_the_session_cookie_is_http_only_and_same_site(web_app):
    client = Client(web_app)
    response = client.flask.get("/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_signed_in_users_language_is_remembered_for_the_next_session(web_app):
    first = Client(web_app, "coord-hq-c04-2")
    try:
        first.get("/lang/en")
        assert "Inbox" in first.get("/inbox").data.decode()
        second = Client(web_app, "coord-hq-c04-2")
        assert "<h1>Inbox" in second.get("/inbox").data.decode()
    finally:
        first.get("/lang/zh")
    assert "<h1>待办" in Client(web_app, "coord-hq-c04-2").get("/inbox").data.decode()


def test_a_residents_language_choice_lasts_for_the_session(anonymous):
    assert "反映身边的问题" in anonymous.get("/report").data.decode()
    anonymous.get("/lang/en")
    assert "Report a problem in your neighbourhood" in anonymous.get("/report").data.decode()
    assert anonymous.get("/lang/fr").status_code == 404


def test_the_root_address_sends_each_user_to_their_start(client_for):
    assert client_for().get("/").headers["Location"].endswith("/report")
    assert client_for("gw-hq-c04-g03").get("/").headers["Location"].endswith("/patrol")
    assert client_for("dept-urban").get("/").headers["Location"].endswith("/inbox")
