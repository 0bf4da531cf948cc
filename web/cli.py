"""The ``gridlink`` command line (a Flask CLI group)."""

from __future__ import annotations

import getpass
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import click
from flask.cli import FlaskGroup, with_appcontext

from engine import DeployError, deploy
from workflows.errors import DomainError

from .app import create_app
from .system import current_system

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """gridlink: case coordination for grid-based community governance."""


def _system():
    return current_system()


def cli_actor() -> str:
    """Who acts from the command line, for the audit trail: ``cli:<OS user>`` (``cli`` when unknown)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _audit(action: str, target: str | None, **details) -> None:
    """Append a command's change to the admin audit trail, like the admin pages do."""
    from workflows.admin import audit

    with _system().sessions() as session, session.begin():
        audit.record(session, cli_actor(), action, target, **details)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@main.command("init")
@click.option("--demo", is_flag=True, help="Also load the demo organisation, users and cases.")
@with_appcontext
def init_command(demo: bool) -> None:
    """Create or upgrade the schema and deploy changed definitions from bpmn/."""
    from workflows.setup import bootstrap, schema

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
    for case in summary.get("track", []):
        click.echo(f"track a demo case at /track: number {case['number']}  query code {case['query_code']}")


@main.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default=None, help="Who deploys (recorded on the version and in the audit trail; "
              "default cli:<OS user>).")
@with_appcontext
def deploy_command(files: tuple[Path, ...], by: str | None) -> None:
    """Validate and deploy BPMN/DMN files (and their JSON forms) as new versions."""
    from workflows.admin import audit

    system, by = _system(), by or cli_actor()
    bundle = {f.name: f.read_text(encoding="utf-8") for f in files}
    try:
        with system.sessions() as session, session.begin():
            versions = deploy(session, bundle, by)
            created = {v.process_id: v.version for v in versions if v.created}
            audit.record(session, by, "process.deploy", ", ".join(sorted(created)) or "(no change)",
                         versions=created, files=sorted(bundle), via="cli")
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


@main.group("notifications")
def notifications_group() -> None:
    """Outgoing notifications (e-mail, SMS, webhooks)."""


@notifications_group.command("deliver")
@with_appcontext
def deliver_command() -> None:
    """Send the due e-mails, SMS and webhook events now (the timer sweep does it too)."""
    from workflows.messaging.worker import deliver_due

    try:
        report = deliver_due(_system())
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"{report.sent} sent, {report.retried} to retry, {report.dead} dead-lettered")
    for error in report.errors:
        click.echo(f"  {error}", err=True)


@main.group("incidents")
def incidents_group() -> None:
    """Instances put aside by the engine (crashed, timed out, out of memory, kept failing)."""


@incidents_group.command("list")
@with_appcontext
def incidents_list_command() -> None:
    """The open incidents: id, when, case, kind, element, message."""
    from workflows.admin.incidents import list_incidents

    found = list_incidents(_system())
    for i in found:
        click.echo(f"{i.id}\t{i.at.isoformat(timespec='seconds')}\t{i.case_number or i.instance_id}\t{i.kind}\t"
                   f"{i.element_id or '-'}\t{i.message}")
    if not found:
        click.echo("no open incident")


@incidents_group.command("retry")
@click.argument("incident_id", type=int)
@click.option("--by", default=None, help="Who retries (recorded in the audit trail; default cli:<OS user>).")
@with_appcontext
def incidents_retry_command(incident_id: int, by: str | None) -> None:
    """Resolve incident ID and put its case back to work (after fixing the cause)."""
    from workflows.admin.incidents import retry_incident

    try:
        status = retry_incident(_system(), by or cli_actor(), incident_id)
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"incident {incident_id} retried: the instance is {status}")


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
    from workflows.admin.settings import create_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user = create_user(_system(), cli_actor(), name, role, org, department, None, password)
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"created {user['username']} ({role})" + ("" if password_stdin else f"; password: {user['password']}"))


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.argument("name")
@click.option("--label", default="cli", help="What the token is for.")
@with_appcontext
def token_create_command(name: str, label: str) -> None:
    """Print a new API token for user NAME (shown once; stored hashed)."""
    from workflows.people.tokens import create_token

    try:
        token = create_token(_system(), name, label)
    except DomainError as exc:
        _fail(exc.message)
    _audit("token.create", name, label=label)
    click.echo(token)


@token_group.command("list")
@click.argument("name", required=False)
@with_appcontext
def token_list_command(name: str | None) -> None:
    """List API tokens (id, user, label, created, last used, revoked); only NAME's when given."""
    from workflows.people.tokens import list_tokens

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
    from workflows.people.tokens import revoke_tokens

    try:
        count = revoke_tokens(_system(), token_id=token_id, username=username)
    except DomainError as exc:
        _fail(exc.message)
    _audit("token.revoke", username or f"token {token_id}", token_id=token_id, count=count)
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
    """Set the time limit of LEVEL (or SLA stage) to an ISO-8601 DURATION, e.g. PT24H or PT5S
    (longer than zero, at most 10 years)."""
    from workflows.admin.settings import set_sla

    try:
        set_sla(_system(), cli_actor(), level, duration, category=category)
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
    """Serve with gunicorn; the timer sweep runs in a supervised process of its own."""
    from .server import default_workers, serve

    serve(host, port, workers or default_workers(), threads)


def load_benchmark(name: str) -> ModuleType:
    """A module of the ``benchmarks`` folder of the checkout this gridlink runs from.

    The benchmarks are not installed with the product packages; ``gridlink bench`` finds the folder
    beside ``web/`` (an editable install or a run from the repository) and imports from there.
    """
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "__init__.py").is_file():
        raise click.ClickException(
            f"gridlink bench runs from a checkout of the repository: there is no benchmarks/ folder in {root}; "
            "clone the repository and install it with `pip install -e .` to run the benchmarks")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(f"benchmarks.{name}")


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
    """Run the benchmarks (from a checkout: they are not installed); prints one JSON object."""
    if database_url and not database_url.startswith("postgresql"):
        raise click.BadParameter(f"{database_url!r} is not a PostgreSQL URL (postgresql+psycopg://...)",
                                 param_hint="--database-url")
    result = {}
    if not no_engine:
        scenario = load_benchmark("scenario").case_scenario()
        result["engine"] = load_benchmark("engine_bench").run_engine_bench(
            quick=quick, scenario=scenario, database_url=database_url)["engine"]
    if dashboard or dashboard_cases:
        cases = dashboard_cases or (100_000 if quick else 1_000_000)
        result.update(load_benchmark("dashboard_bench").run_dashboard_bench(cases))
    if not no_http:
        result.update(load_benchmark("http_bench").run_http_bench(quick=quick, database_url=database_url))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if output:
        output.write_text(text)
    click.echo(text)
