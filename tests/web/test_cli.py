"""The `gridlink` commands an operator runs, on the web tests' database."""

from __future__ import annotations

import click
import pytest

from tests.web.conftest import report
from web.cli import main
from workflows.people import tokens


def run(web_app, *args, input=None):
    return web_app.test_cli_runner().invoke(cli=main, args=list(args), input=input)


def test_user_and_token_commands_create_list_and_revoke(web_app, system):
    made = run(web_app, "user", "create", "cli-ops", "--role", "leader", "--org", "huqiu",
               "--password-stdin", input="long-enough-pw\n")
    assert made.exit_code == 0 and "created cli-ops (leader)" in made.output
    token = run(web_app, "token", "create", "cli-ops").output.strip()
    assert tokens.user_for_token(system, token).username == "cli-ops"
    listed = run(web_app, "token", "list", "cli-ops")
    assert listed.exit_code == 0 and token not in listed.output
    token_id = listed.output.split("\t")[0]
    revoked = run(web_app, "token", "revoke", token_id)
    assert revoked.exit_code == 0 and "revoked 1 token(s)" in revoked.output
    assert tokens.user_for_token(system, token) is None


def test_cli_errors_name_the_value_and_exit_non_zero(web_app):
    result = run(web_app, "user", "create", "cli-bad", "--role", "coordinator", "--org", "no-such-unit")
    assert result.exit_code != 0 and "no-such-unit" in result.output
    result = run(web_app, "token", "revoke", "424242")
    assert result.exit_code != 0 and "424242" in result.output
    result = run(web_app, "sla", "set", "grid", "PT1H-bad")
    assert result.exit_code != 0 and "PT1H-bad" in result.output


def test_cli_refuses_an_sla_out_of_bounds_and_says_what_to_write(web_app):
    for duration, says in (("P99999999Y", "longer than 10 years"), ("-PT1H", "not an ISO-8601 duration"),
                           ("PT0S", "is zero"), ("P99999D", "longer than 10 years")):
        result = run(web_app, "sla", "set", "--", "grid", duration)  # "--": -PT1H is not an option
        assert result.exit_code != 0 and duration in result.output and says in result.output, result.output
        assert "e.g. PT24H" in result.output


def _audited(system) -> list[tuple]:
    from workflows.admin import audit

    with system.sessions() as session:
        return [(e.actor, e.action, e.target) for e in audit.recent(session)]


def test_cli_changes_are_written_to_the_admin_audit_trail_with_the_cli_as_actor(web_app, system, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    assert run(web_app, "user", "create", "cli-audited", "--role", "leader", "--org", "huqiu",
               "--password-stdin", input="long-enough-pw\n").exit_code == 0
    assert run(web_app, "token", "create", "cli-audited").exit_code == 0
    assert run(web_app, "token", "revoke", "--user", "cli-audited").exit_code == 0
    assert run(web_app, "sla", "set", "grid", "PT30H").exit_code == 0
    assert run(web_app, "sla", "set", "grid", "PT0S").exit_code != 0
    entries = _audited(system)
    for expected in (("cli:ops", "user.create", "cli-audited"), ("cli:ops", "token.create", "cli-audited"),
                     ("cli:ops", "token.revoke", "cli-audited"), ("cli:ops", "sla.set", "grid/default")):
        assert expected in entries, entries
    assert sum(1 for e in entries if e[1] == "sla.set") == 1, "a refused change leaves no entry"


def test_cli_deploy_is_audited_with_the_given_actor(web_app, system, tmp_path):
    from pathlib import Path

    bpmn = Path("bpmn")
    source = next(p for p in sorted(bpmn.glob("*.bpmn")))
    copy = tmp_path / source.name
    copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    result = run(web_app, "deploy", str(copy), "--by", "release-bot")
    assert result.exit_code == 0, result.output
    assert any(a == "release-bot" and act == "process.deploy" for a, act, _ in _audited(system))


def test_timers_tick_reports_how_many_fired(web_app, system):
    report(system)
    result = run(web_app, "timers", "tick")
    assert result.exit_code == 0 and "fired" in result.output


def test_bench_loads_the_benchmarks_from_the_checkout_and_says_so_when_there_is_none(monkeypatch, tmp_path):
    from web import cli

    assert cli.load_benchmark("scenario").case_scenario() is not None
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "web" / "cli.py"))
    with pytest.raises(click.ClickException, match="checkout of the repository.*pip install -e"):
        cli.load_benchmark("engine_bench")
