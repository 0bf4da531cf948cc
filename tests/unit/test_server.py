"""`gridlink run`: the gunicorn settings it serves with."""

import gc

from click.testing import CliRunner

from web import server
from web.cli import main


def _captured(monkeypatch) -> dict:
    seen: dict = {}
    monkeypatch.delenv("GRIDLINK_STEP_WORKERS", raising=False)  # serve() sets it for its workers
    monkeypatch.setattr(server.GridlinkServer, "run", lambda self: seen.update(self.options))
    return seen


def test_run_serves_single_threaded_workers_two_per_cpu_by_default(monkeypatch):
    seen = _captured(monkeypatch)
    monkeypatch.setattr(server.os, "cpu_count", lambda: 3)
    result = CliRunner().invoke(main, ["run", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert (seen["workers"], seen["threads"], seen["worker_class"]) == (6, 1, "gthread")
    assert (seen["worker_connections"], seen["keepalive"]) == (1, 0)  # one connection at a time, no keep-alive
    assert seen["bind"] == "127.0.0.1:5099"


def test_run_takes_workers_and_threads_and_refuses_zero(monkeypatch):
    seen = _captured(monkeypatch)
    assert CliRunner().invoke(main, ["run", "--workers", "3", "--threads", "2"]).exit_code == 0
    assert (seen["workers"], seen["threads"], seen["worker_class"]) == (3, 2, "gthread")
    assert "worker_connections" not in seen and "keepalive" not in seen  # gunicorn's defaults
    refused = CliRunner().invoke(main, ["run", "--workers", "0"])
    assert refused.exit_code == 2 and "--workers" in refused.output


def test_a_worker_freezes_what_it_loaded_at_start(monkeypatch):
    seen = _captured(monkeypatch)
    CliRunner().invoke(main, ["run"])
    try:
        seen["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_two_servers_keep_their_control_sockets_in_their_own_instance_folders(monkeypatch, tmp_path):
    seen = _captured(monkeypatch)
    sockets = []
    for name in ("one", "two"):
        monkeypatch.setenv("GRIDLINK_INSTANCE_DIR", str(tmp_path / name))
        assert CliRunner().invoke(main, ["run", "--port", "5099"]).exit_code == 0
        sockets.append(seen["control_socket"])
    assert sockets == [str(tmp_path / "one" / "gunicorn.ctl"), str(tmp_path / "two" / "gunicorn.ctl")]


def test_the_master_runs_no_sweep_itself_but_supervises_a_sweeper_process(monkeypatch):
    started = []
    monkeypatch.setattr(server.SweeperSupervisor, "start", lambda self: started.append(self))
    seen = _captured(monkeypatch)
    CliRunner().invoke(main, ["run"])
    seen["when_ready"](type("Server", (), {"log": type("Log", (), {"info": lambda *a: None})()})())
    assert len(started) == 1
    assert "start_scheduler" not in vars(server)
