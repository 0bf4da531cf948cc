"""Web hardening: redirect targets, lone surrogates, sessions that end, constant-work sign-in,
security headers, Secure cookies over HTTPS and trusted proxies."""

from __future__ import annotations

import json

import pytest

from tests.web.conftest import PASSWORD, Client, at_community, task_of
from web.security import CONTENT_SECURITY_POLICY, is_local_path

OFF_SITE = ["https://evil.example/x", "//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
            "/\r\nSet-Cookie: x=1", "/x\nLocation: https://evil.example", "javascript:alert(1)", "evil.example",
            "/%0d%0a".replace("%0d%0a", "\r\n"), "http:/x", " /x"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_only_same_site_relative_paths_are_redirect_targets(target):
    assert not is_local_path(target)


@pytest.mark.parametrize("target", ["/", "/inbox", "/cases?q=a%20b&x=1#top", "/admin/processes/x", "/no/such page",
                                    "/案件"])
def test_ordinary_paths_of_this_site_are_redirect_targets(target):
    assert is_local_path(target)


@pytest.mark.parametrize("target", OFF_SITE)
def test_a_bad_next_on_sign_in_is_a_400_page_never_a_redirect(web_app, target):
    client = Client(web_app)
    token = client.token("/login")
    response = client.flask.post("/login", query_string={"next": target},
                                 data={"username": "coord-hq-c04", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400 and "Location" not in response.headers
    assert 'data-testid="error-message"' in response.data.decode()
    assert client.flask.get("/login", query_string={"next": target}).status_code == 400


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\n/evil.example", "//evil.example", "/\\evil.example"])
def test_a_bad_next_on_claiming_a_task_is_a_400_and_the_task_stays_open(client_for, system, target):
    number = at_community(system, title="重定向检查")
    task = task_of(system, number, "handle")
    coordinator = client_for("coord-hq-c04")
    response = coordinator.post(f"/inbox/tasks/{task.id}/claim", {"next": target}, token_from="/inbox")
    assert response.status_code == 400 and "Location" not in response.headers
    assert task_of(system, number, "handle").claimed_by is None  # refused before claiming
    good = coordinator.post(f"/inbox/tasks/{task.id}/claim", {"next": "/inbox"}, token_from="/inbox")
    assert good.status_code == 302 and good.headers["Location"] == "/inbox"


def test_a_bad_link_on_opening_a_notification_is_a_400(client_for):
    client = client_for("coord-hq-c04")
    response = client.post("/notifications/1/open", {"link": "/\t/evil.example"}, token_from="/inbox")
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("referrer", ["http://localhost/cases\r\nX: y", "http://localhost/\t/evil.example",
                                      "http://evil.example/x", "http://localhost//evil.example"])
def test_switching_language_never_follows_an_odd_or_foreign_referrer(anonymous, referrer):
    response = anonymous.flask.get("/lang/en", environ_base={"HTTP_REFERER": referrer})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_escaped_line_break_in_the_referrer_stays_escaped(anonymous):
    response = anonymous.flask.get("/lang/en", headers={"Referer": "http://localhost/cases%0d%0aX:%20y"})
    assert response.headers["Location"] == "/cases%0d%0aX:%20y" and "X" not in response.headers


def test_switching_language_returns_to_the_page_of_this_site_it_came_from(anonymous):
    response = anonymous.flask.get("/lang/en", headers={"Referer": "http://localhost/report?x=1"})
    assert response.headers["Location"] == "/report?x=1"


# --- lone surrogates --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/report", "/open311/v2/requests.json", "/login"])
def test_the_bytes_of_a_lone_surrogate_in_a_form_never_give_a_500(anonymous, path):
    body = "title=%ED%A0%80&description=%ED%B0&service_code=%ED%A0%80&username=%ED%A0%80&password=x"
    response = anonymous.flask.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500


def test_a_lone_surrogate_is_found_wherever_it_sits_in_a_document():
    from web.security import lone_surrogate_field

    assert lone_surrogate_field({"a": [{"b": "ok"}, {"c": "x\udc00"}]}) == "a[1].c"
    assert lone_surrogate_field({"\ud800": 1}) == "body"
    assert lone_surrogate_field({"a": ["\U0001F600", 1, None]}) is None


@pytest.mark.parametrize("body", ['{"title": "\\ud800"}', '{"title": "ok", "data": {"x": ["\\udfff"]}}',
                                  '{"\\ud83d": 1}', '{"title": "\\ud83d\\u0041"}'])
def test_a_lone_surrogate_anywhere_in_an_api_body_is_a_422_in_the_error_shape(api_client, body):
    response = api_client.post("/api/v1/cases", data=body, content_type="application/json",
                               headers=api_client.auth)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"status", "code", "message", "details"} and "surrogate" in error["message"]
    assert error["code"] == "invalid_input" and error["details"][0]["field"] is not None


@pytest.mark.parametrize("body", ['{"draft": "\\ud800"}', '{"files": {"a.bpmn": "\\udc00"}}'])
def test_a_lone_surrogate_in_a_page_json_body_is_a_400(client_for, body):
    admin = client_for("admin")
    response = admin.flask.post("/admin/modeller/validate", data=body, content_type="application/json",
                                headers={"X-CSRFToken": admin.token("/admin/modeller")})
    assert response.status_code == 400 and "UTF-16" in response.get_data(as_text=True)


def test_a_surrogate_pair_is_ordinary_text_in_an_api_body(api_client):
    response = api_client.post("/api/v1/cases", data='{"title": "\\ud83d\\ude00"}', content_type="application/json",
                               headers=api_client.auth)
    assert response.status_code == 422  # other fields are missing; the emoji itself is fine
    assert "surrogate" not in response.get_data(as_text=True)


@pytest.fixture
def api_client(web_app, system):
    from workflows.people.tokens import create_token

    client = web_app.test_client()
    client.auth = {"Authorization": f"Bearer {create_token(system, 'admin')}"}
    return client


# --- sessions end -----------------------------------------------------------------------------

def _copied_cookie(web_app, client: Client) -> Client:
    """A second browser holding a copy of ``client``'s session cookie."""
    cookie = client.flask.get_cookie("session")
    thief = Client(web_app)
    thief.flask.set_cookie("session", cookie.value)
    return thief


def test_signing_out_ends_a_copied_session_cookie_too(web_app):
    client = Client(web_app, "coord-hq-ws2")
    thief = _copied_cookie(web_app, client)
    assert thief.get("/inbox").status_code == 200
    assert client.post("/logout", token_from="/inbox").status_code == 302
    assert thief.get("/inbox").status_code == 302  # sent to sign in
    again = Client(web_app, "coord-hq-ws2")
    assert again.get("/inbox").status_code == 200


def test_a_password_reset_by_an_admin_ends_the_users_sessions(web_app, system):
    from workflows.admin.settings import reset_password
    from workflows.people.accounts import create_user

    create_user(system, "websec-reset", "leader", password="first-password")
    client = Client(web_app)
    client.login("websec-reset", "first-password")
    thief = _copied_cookie(web_app, client)
    assert client.get("/dashboard").status_code == 200
    admin = Client(web_app, "admin")
    assert admin.post("/admin/users/websec-reset/password", {"password": "second-password"},
                      token_from="/admin/users").status_code in (200, 302)
    assert client.get("/dashboard").status_code == 302
    assert thief.get("/dashboard").status_code == 302
    reset_password(system, "admin", "websec-reset", "third-password")
    Client(web_app).login("websec-reset", "third-password")


# --- sign-in does the same work for unknown users ---------------------------------------------

def test_unknown_and_known_usernames_both_cost_one_password_check(system, monkeypatch):
    from workflows.people import accounts as admin

    checked = []
    real = admin.check_password_hash

    def counting(stored, password):
        checked.append(stored.split("$")[0])
        return real(stored, password)

    monkeypatch.setattr(admin, "check_password_hash", counting)
    assert admin.authenticate(system, "coord-hq-c04", "wrong-password") is None
    assert admin.authenticate(system, "nobody-at-all", "wrong-password") is None
    assert admin.authenticate(system, "coord-hq-c04", PASSWORD) is not None
    assert len(checked) == 3
    assert checked[1] == admin.HASH_METHOD.split(":")[0] or checked[1].startswith(admin.HASH_METHOD)


# --- headers and cookies ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/report", "/api/v1/openapi.json", "/no/such/page"])
def test_every_answer_carries_the_content_security_policy_and_its_companions(anonymous, path):
    response = anonymous.get(path)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_template_has_an_inline_script_or_javascript_link():
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "web" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"{path}: inline script {tag}"
        assert "javascript:" not in text, path
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path}: inline event handler"


def test_the_session_cookie_is_secure_over_https_and_not_over_plain_http(web_app):
    plain = Client(web_app).flask.get("/login")
    assert "Secure" not in plain.headers.get("Set-Cookie", "")
    secure = web_app.test_client().get("/login", base_url="https://localhost")
    assert "; Secure" in secure.headers["Set-Cookie"]


def test_a_forged_forwarded_proto_does_not_make_cookies_secure_without_trusted_proxies(web_app):
    response = web_app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in response.headers.get("Set-Cookie", "")


def _app_in(instance, **config):
    from web.app import create_app

    return create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{instance / 'gridlink.db'}",
                       "UPLOAD_DIR": str(instance / "uploads"), "SECRET_KEY": "websec",
                       "RATELIMIT_STORAGE_URI": f"sqlite:///{instance / 'ratelimits.sqlite'}", **config})


def test_behind_a_trusted_proxy_its_forwarded_https_makes_cookies_secure(tmp_path):
    app = _app_in(tmp_path, TRUSTED_PROXIES=1)
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" in response.headers["Set-Cookie"]


def test_secure_cookies_can_still_be_forced(tmp_path):
    app = _app_in(tmp_path, SESSION_COOKIE_SECURE=True)
    assert "; Secure" in app.test_client().get("/login").headers["Set-Cookie"]


def test_the_trusted_proxy_count_must_be_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDLINK_TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="GRIDLINK_TRUSTED_PROXIES"):
        _app_in(tmp_path)


# --- rate limits shared by every worker --------------------------------------------------------

WORKER = """
import json, sys
from pathlib import Path
from web.app import create_app
from workflows.setup import schema
instance = Path(sys.argv[1])
app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{instance / 'gridlink.db'}",
                  "UPLOAD_DIR": str(instance / "uploads"), "SECRET_KEY": "websec", "RATE_LIMITS": True,
                  "WTF_CSRF_ENABLED": False, "TRUSTED_PROXIES": int(sys.argv[3])})
from web.system import system_of
schema.upgrade(system_of(app).db)
client = app.test_client()
statuses = []
for i in range(int(sys.argv[2])):
    forwarded = {"X-Forwarded-For": f"203.0.113.{i}"}
    statuses.append(client.post("/login", data={"username": "nobody", "password": "x"},
                                headers=forwarded).status_code)
print(json.dumps(statuses))
"""


def _worker(instance, count: int, proxies: int = 0) -> list[int]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WORKER, str(instance), str(count), str(proxies)],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "GRIDLINK_INSTANCE_DIR": str(instance)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_worker_processes_share_one_sign_in_budget_and_ignore_forged_forwarded_for(tmp_path):
    first = _worker(tmp_path, 12)
    second = _worker(tmp_path, 12)
    assert first == [401] * 12  # each request forged a different X-Forwarded-For: all one client
    assert second == [401] * 8 + [429] * 4  # the login limit is 20 a minute across both workers


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(tmp_path):
    assert _worker(tmp_path, 25, proxies=1) == [401] * 25


def test_the_sqlite_rate_limit_storage_counts_expires_and_clears(tmp_path):
    import time

    from web.ratelimit_storage import SQLiteStorage

    uri = f"sqlite:///{tmp_path / 'limits.sqlite'}"
    one, two = SQLiteStorage(uri), SQLiteStorage(uri)
    assert one.incr("k", 60) == 1 and two.incr("k", 60) == 2 and one.get("k") == 2
    assert time.time() < two.get_expiry("k") <= time.time() + 60
    assert one.incr("short", 0.05) == 1
    time.sleep(0.1)
    assert two.get("short") == 0 and two.incr("short", 60) == 1
    one.clear("k")
    assert two.get("k") == 0 and one.check()
    with pytest.raises(ValueError, match="names no file"):
        SQLiteStorage("sqlite://")
