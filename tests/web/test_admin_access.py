"""Only admins reach the admin pages and endpoints: everyone else is sent to sign in or refused."""

from __future__ import annotations

import pytest

ROLES = ["leader", "coord-hq-c04", "gw-hq-c04-g03", "dept-police", "coord-district"]


def admin_rules(app) -> list[tuple[str, str]]:
    """Every (method, concrete path) of the admin blueprint, with sample values for its arguments."""
    samples = {"process_id": "case_handling", "version": "1", "filename": "case_handling.bpmn", "batch": "abc",
               "draft_id": "1", "username": "admin", "webhook_id": "1", "incident_id": "1"}
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", samples[name]).replace(f"<int:{name}>", samples[name]) \
                .replace(f"<path:{name}>", samples[name])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def test_the_admin_blueprint_has_the_pages_the_issue_asks_for(web_app):
    paths = {path for _, path in admin_rules(web_app)}
    for wanted in ("/admin/processes", "/admin/modeller", "/admin/modeller/validate", "/admin/modeller/deploy",
                   "/admin/modeller/drafts", "/admin/org", "/admin/departments", "/admin/users", "/admin/categories",
                   "/admin/sla", "/admin/fund", "/admin/audit", "/admin/drafts", "/admin/deliveries",
                   "/admin/webhooks", "/admin/incidents"):
        assert wanted in paths


def test_signed_out_visitors_are_sent_to_sign_in_from_every_admin_endpoint(web_app, anonymous):
    for method, path in admin_rules(web_app):
        response = anonymous.flask.open(path, method=method)
        assert response.status_code in (302, 400, 401), (method, path, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ROLES)
def test_other_roles_are_refused_every_admin_page_and_endpoint(web_app, client_for, username):
    client = client_for(username)
    token = client.token("/admin/processes")  # the 403 page carries the sign-out form and its token
    for method, path in admin_rules(web_app):
        kwargs = {"headers": {"X-CSRFToken": token}} if method == "POST" else {}
        response = client.flask.open(path, method=method, **kwargs)
        assert response.status_code == 403, (username, method, path, response.status_code)


def test_admins_reach_every_admin_page(client_for):
    admin = client_for("admin")
    for path in ("/admin/processes", "/admin/processes/case_handling", "/admin/modeller?process=case_handling",
                 "/admin/modeller", "/admin/drafts", "/admin/org", "/admin/departments", "/admin/users",
                 "/admin/categories", "/admin/sla", "/admin/fund", "/admin/audit", "/admin/deliveries",
                 "/admin/deliveries?status=pending", "/admin/webhooks", "/admin/incidents"):
        response = admin.get(path)
        assert response.status_code == 200, (path, response.status_code)
    assert admin.get("/admin/").status_code == 302
