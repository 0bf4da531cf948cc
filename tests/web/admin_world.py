"""An app of its own for the admin tests: they deploy versions and change reference data, which
must not leak into the other web tests sharing ``web_app``."""

from __future__ import annotations

import pytest

from tests.apps import make_app
from tests.browser.conftest import PASSWORD, USERS, _fund_budgets
from web.system import system_of
from workflows.people import accounts

from .conftest import Client


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("admin-instance"), "admin-tests", RATE_LIMITS=False)
    system = system_of(app)
    for username, role, unit, department, name in USERS:
        accounts.create_user(system, username, role, org=unit, department=department, password=PASSWORD,
                          display_name=name)
    _fund_budgets(system)
    return app


@pytest.fixture(scope="module")
def admin_system(admin_app):
    from web.system import system_of

    return system_of(admin_app)


class AdminClient(Client):
    """A signed-in admin that also sends JSON with the CSRF header, as the modeller page does."""

    def post_json(self, path: str, body, token: bool = True):
        headers = {"X-CSRFToken": self.token("/admin/processes")} if token else {}
        return self.flask.post(path, json=body, headers=headers)


@pytest.fixture
def admin(admin_app) -> AdminClient:
    return AdminClient(admin_app, "admin")
