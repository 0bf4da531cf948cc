"""Admins see the incidents (element, message, time) and retry them after a fix; so does the CLI."""

from __future__ import annotations

import html
import time

from engine import Runtime, deploy
from engine.incidents import open_incidents
from engine.isolation import Limits
from engine.storage.models import ProcessInstance
from engine.sweeper import sweep
from web.cli import main

from ..engine.test_isolation import SEGFAULT, diagram

pytest_plugins = ["tests.web.admin_world"]


def quarantined_instance(system) -> int:
    runtime = Runtime(time_budget=5.0, limits=Limits(timeout=5.0))
    try:
        with system.sessions() as session, session.begin():
            deploy(session, diagram(SEGFAULT), "tester")
        with system.sessions() as session, session.begin():
            instance = runtime.start(session, "risky").instance_id
        time.sleep(1.1)
        sweep(runtime, system.sessions)
    finally:
        runtime.pool.close()
    return instance


def test_an_admin_sees_an_incident_and_retries_it(admin, admin_system):
    instance = quarantined_instance(admin_system)
    page = html.unescape(admin.get("/admin/incidents").get_data(as_text=True))
    assert "payload" in page and "SIGSEGV" in page and "crash" in page
    with admin_system.sessions() as session:
        [incident] = [i for i in open_incidents(session) if i.instance_id == instance]
    response = admin.post(f"/admin/incidents/{incident.id}/retry", {}, token_from="/admin/incidents",
                          follow_redirects=True)
    assert response.status_code == 200
    with admin_system.sessions() as session:
        assert session.get(ProcessInstance, instance).status == "waiting"
        assert all(i.id != incident.id for i in open_incidents(session))
    again = admin.post(f"/admin/incidents/{incident.id}/retry", {}, token_from="/admin/incidents",
                       follow_redirects=True)
    assert "already resolved" in html.unescape(again.get_data(as_text=True))


def test_the_cli_lists_and_retries_incidents(admin_app, admin_system):
    instance = quarantined_instance(admin_system)
    runner = admin_app.test_cli_runner()
    listed = runner.invoke(cli=main, args=["incidents", "list"])
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.output.splitlines() if "\tcrash\tpayload\t" in x)
    retried = runner.invoke(cli=main, args=["incidents", "retry", line.split("\t")[0]])
    assert retried.exit_code == 0 and "waiting" in retried.output, retried.output
    with admin_system.sessions() as session:
        assert session.get(ProcessInstance, instance).status == "waiting"
    refused = runner.invoke(cli=main, args=["incidents", "retry", "999999"])
    assert refused.exit_code != 0 and "999999" in refused.output
