"""The ``gridlink`` command line (a Flask CLI group)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from engine import DeployError, deploy
from workflows.errors import DomainError

from .app import create_app, system_of

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """gridlink: case coordination for grid-based community governance."""


def _system():
    return system_of(current_app)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@main.command("init")
@click.option("--demo", is_flag=True, help="Also load the demo organisation, users and cases.")
@with_appcontext
def init_command(demo: bool) -> None:
    """Create or upgrade the schema and deploy changed definitions from bpmn/."""
    from workflows import bootstrap, schema

    system = _system()
    schema.upgrade(system.db)
    bootstrap.load_reference_data(system)
    versions = bootstrap.deploy_shipped(system, BPMN_DIR)
    for v in versions:
        click.echo(f"{'deployed' if v.created else 'unchanged'} {v.process_id} v{v.version}")
    if demo:
        summary = bootstrap.load_demo(system)
        _print_logins(summary)


def _print_logins(summary: dict) -> None:
    click.echo(f"demo: {summary.get('cases', 0)} cases; logins (password {summary.get('password')!r}):")
    for login in summary.get("logins", []):
        click.echo(f"  {login['username']:<22} {login['role']:<12} {login.get('unit') or ''}")


@main.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli", help="Who deploys (recorded on the version).")
@with_appcontext
def deploy_command(files: tuple[Path, ...], by: str) -> None:
    """Validate and deploy BPMN/DMN files (and their JSON forms) as new versions."""
    system = _system()
    bundle = {f.name: f.read_text(encoding="utf-8") for f in files}
    try:
        with system.sessions() as session, session.begin():
            versions = deploy(session, bundle, by)
    except DeployError as exc:
        _fail(f"nothing deployed.\n{exc.message}")
    for v in versions:
        click.echo(f"{'deployed' if v.created else 'unchanged'} {v.process_id} v{v.version}")


@main.group("timers")
def timers_group() -> None:
    """Timer sweeps."""


@timers_group.command("tick")
@with_appcontext
def tick_command() -> None:
    """Fire every due timer now; prints how many fired."""
    from workflows.timers import tick

    report = tick(_system())
    click.echo(f"{report.timers_fired} timer(s) fired in {report.instances} instance(s)"
               + (f"; {len(report.failed)} failed: {report.failed}" if report.failed else ""))


@main.group("user")
def user_group() -> None:
    """Users."""


@user_group.command("create")
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["admin", "coordinator", "grid_worker", "department", "leader"]))
@click.option("--org", "org", default=None, help="Org unit code (coordinators, grid workers, leaders).")
@click.option("--department", default=None, help="Department code (department staff).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_create_command(name, role, org, department, password_stdin) -> None:
    """Create a user; prints the generated password unless one was given on stdin."""
    from workflows.admin import create_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user, used = create_user(_system(), name, role, org=org, department=department, password=password)
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"created {user.username} ({role})" + ("" if password_stdin else f"; password: {used}"))


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.argument("name")
@click.option("--label", default="cli", help="What the token is for.")
@with_appcontext
def token_create_command(name: str, label: str) -> None:
    """Print a new API token for user NAME (shown once; stored hashed)."""
    from workflows.admin import create_token

    try:
        click.echo(create_token(_system(), name, label))
    except DomainError as exc:
        _fail(exc.message)


@token_group.command("list")
@click.argument("name", required=False)
@with_appcontext
def token_list_command(name: str | None) -> None:
    """List API tokens (id, user, label, created, last used, revoked); only NAME's when given."""
    from workflows.admin import list_tokens

    try:
        rows = list_tokens(_system(), name)
    except DomainError as exc:
        _fail(exc.message)
    for row in rows:
        times = [row[k].isoformat(timespec="seconds") if row[k] else "-"
                 for k in ("created_at", "last_used_at", "revoked_at")]
        click.echo("\t".join([str(row["id"]), row["user"], row["name"], *times]))


@token_group.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--user", "username", default=None, help="Revoke every active token of this user.")
@with_appcontext
def token_revoke_command(token_id: int | None, username: str | None) -> None:
    """Revoke token TOKEN_ID (see `gridlink token list`), or every token of --user NAME."""
    from workflows.admin import revoke_tokens

    try:
        count = revoke_tokens(_system(), token_id=token_id, username=username)
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"revoked {count} token(s)")


@main.group("sla")
def sla_group() -> None:
    """SLA policies."""


@sla_group.command("set")
@click.argument("level")
@click.argument("duration")
@click.option("--category", default=None, help="Category code (default: the level's default).")
@with_appcontext
def sla_set_command(level: str, duration: str, category: str | None) -> None:
    """Set the time limit of LEVEL (or SLA stage) to an ISO-8601 DURATION, e.g. PT24H or PT5S."""
    from workflows.admin import set_sla

    try:
        set_sla(_system(), level, duration, category=category)
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"SLA {level}{' / ' + category if category else ''} = {duration}")


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Worker processes (default: 2 per CPU).")
@click.option("--threads", default=1, type=click.IntRange(min=1), show_default=True,
              help="Threads per worker process.")
def run_command(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve with gunicorn and run the timer scheduler."""
    from .server import default_workers, serve

    serve(host, port, workers or default_workers(), threads)


@main.command("bench")
@click.option("--quick", is_flag=True, help="Fewer repetitions and smaller populations.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--dashboard", is_flag=True,
              help="Also fill a fresh database with 1,000,000 cases (--quick: 100,000) and time the dashboard "
                   "and the monthly report (key \"dashboard\").")
@click.option("--dashboard-cases", type=click.IntRange(min=1000), default=None, help="Cases for --dashboard.")
@click.option("--no-http", is_flag=True, help="Skip the HTTP part (gridlink run under load, key \"http\").")
@click.option("--no-engine", is_flag=True, help="Skip the engine part (key \"engine\").")
@click.option("--database-url", default=None,
              help="A PostgreSQL URL: the HTTP part serves it and the timer drain also runs on it. "
                   "Its database is EMPTIED.")
def bench_command(quick: bool, output: Path | None, dashboard: bool, dashboard_cases: int | None,
                  no_http: bool, no_engine: bool, database_url: str | None) -> None:
    """Run the benchmarks; prints one JSON object."""
    from engine.bench import run_engine_bench
    from workflows.bench_scenario import case_scenario

    if database_url and not database_url.startswith("postgresql"):
        raise click.BadParameter(f"{database_url!r} is not a PostgreSQL URL (postgresql+psycopg://...)",
                                 param_hint="--database-url")
    result = {}
    if not no_engine:
        result["engine"] = run_engine_bench(quick=quick, scenario=case_scenario(),
                                            database_url=database_url)["engine"]
    if dashboard or dashboard_cases:
        from workflows.bench_dashboard import run_dashboard_bench

        result.update(run_dashboard_bench(dashboard_cases or (100_000 if quick else 1_000_000)))
    if not no_http:
        from .bench_http import run_http_bench

        result.update(run_http_bench(quick=quick, database_url=database_url))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if output:
        output.write_text(text)
    click.echo(text)
