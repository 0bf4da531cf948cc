"""An app of its own for the admin tests: they deploy versions and change reference data, which
must not leak into the other web tests sharing ``web_app``."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import PASSWORD, USERS, _fund_budgets

from .conftest import BPMN_DIR, Client


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory):
    from web.app import create_app, system_of
    from workflows.people import accounts
    from workflows.setup import bootstrap, schema

    instance = tmp_path_factory.mktemp("admin-instance")
    previous = os.environ.get("GRIDLINK_INSTANCE_DIR")
    os.environ["GRIDLINK_INSTANCE_DIR"] = str(instance)
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{instance / 'gridlink.db'}",
                          "UPLOAD_DIR": str(instance / "uploads"), "SECRET_KEY": "admin-tests",
                          "RATE_LIMITS": False})
    finally:
        if previous is None:
            os.environ.pop("GRIDLINK_INSTANCE_DIR", None)
        else:
            os.environ["GRIDLINK_INSTANCE_DIR"] = previous
    system = system_of(app)
    schema.upgrade(system.db)
    bootstrap.load_reference_data(system)
    bootstrap.deploy_shipped(system, BPMN_DIR)
    for username, role, unit, department, name in USERS:
        accounts.create_user(system, username, role, org=unit, department=department, password=PASSWORD,
                          display_name=name)
    _fund_budgets(system)
    return app


@pytest.fixture(scope="module")
def admin_system(admin_app):
    from web.app import system_of

    return system_of(admin_app)


class AdminClient(Client):
    """A signed-in admin that also sends JSON with the CSRF header, as the modeller page does."""

    def post_json(self, path: str, body, token: bool = True):
        headers = {"X-CSRFToken": self.token("/admin/processes")} if token else {}
        return self.flask.post(path, json=body, headers=headers)


@pytest.fixture
def admin(admin_app) -> AdminClient:
    return AdminClient(admin_app, "admin")
