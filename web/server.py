"""``gridlink run``: gunicorn serving the app, and the timer sweep in a supervised child process.

The gunicorn master never runs a step: the sweep runs in its own process (``sweep_forever``),
started by the master once it is ready and started again (after a second) whenever it ends, so
nothing a diagram does can take the master down. The sweep itself runs every step in an isolated
pool child (engine/isolation.py) and quarantines what crashes (engine/sweeper.py). gunicorn's
control socket lives in the instance folder, so two servers on one machine do not share it.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from gunicorn.app.base import BaseApplication

from .app import create_app
from .system import system_of

log = logging.getLogger("gridlink.timers")


def sweep_forever() -> None:
    """The sweeper process: sweep every TIMER_INTERVAL seconds until SIGTERM."""
    from workflows.timers import tick

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [sweeper %(process)d] %(message)s")
    app = create_app()
    system = system_of(app)
    interval = float(app.config["TIMER_INTERVAL"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("timer sweep every %ss", interval)
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:  # ends with the server that started it
        try:
            report = tick(system)
            if report.timers_fired or report.failed:
                log.info("timers: %s fired, %s failed, %s quarantined", report.timers_fired, len(report.failed),
                         len(report.quarantined))
        except Exception:  # noqa: BLE001 - a database hiccup: try again at the next interval
            log.exception("timer sweep failed")
        stop.wait(interval)


class SweeperSupervisor:
    """Runs ``sweep_forever`` in a child process and starts it again whenever it ends."""

    def __init__(self, restart_delay: float = 1.0):
        self.restart_delay = restart_delay
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.process = subprocess.Popen([sys.executable, "-c", "from web.server import sweep_forever; "
                                             "sweep_forever()"])
            code = self.process.wait()
            if self._stopping.is_set():
                return
            log.error("the sweeper process ended (exit status %s): starting it again", code)
            self._stopping.wait(self.restart_delay)

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


class GridlinkServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def default_workers() -> int:
    """Two single-threaded workers per CPU.

    A request is mostly Python work plus a short SQLite write. Threads of one process take turns on
    the interpreter lock, and a thread that holds the database's write lock gives the interpreter
    up on every statement and may wait a whole switch interval to get it back, so everyone queues
    behind it. Processes do not share that lock; a worker costs about 90 MB. On the 2-CPU bench
    machine two to eight single-threaded workers served alike within noise, 20-30 % more than two
    workers of four threads."""
    return 2 * (os.cpu_count() or 1)


def _after_worker_init(worker) -> None:
    # The app, its specs and caches live as long as the worker: keep them out of the collector's
    # full passes, which would otherwise walk them all again and again under load.
    gc.freeze()


def worker_options(threads: int) -> dict:
    """gunicorn's gthread worker; a single-threaded one takes one connection at a time, without keep-alive.

    A worker that keeps connections alive, or accepts more while it is busy, queues requests behind
    its own: under load one single-threaded worker ended up serving six keep-alive clients on one
    CPU while the other three sat idle (2-CPU bench machine, same measurement: 32 % of the CPU time
    idle, against 7 % with sync workers, which take one connection at a time). With one connection
    at a time, closed after the response, the kernel hands each new connection to a free worker.
    This measured the same as sync workers, which however wait without limit for a request on a
    connection a browser opened ahead (a worker lost until the 60 s timeout kills it) and cannot
    report to the master during a long request; gthread waits at most 5 s for a request's first
    bytes and reports every second. Several threads keep gunicorn's defaults (1,000 connections,
    2 s keep-alive)."""
    if threads == 1:
        return {"worker_class": "gthread", "threads": 1, "worker_connections": 1, "keepalive": 0}
    return {"worker_class": "gthread", "threads": threads}


def control_socket(instance_dir: Path) -> str:
    """gunicorn's control socket, in the instance folder (its default is one path per user)."""
    return str(Path(instance_dir) / "gunicorn.ctl")


def serve(host: str, port: int, workers: int, threads: int = 1) -> None:
    os.environ.setdefault("GRIDLINK_STEP_WORKERS", str(threads))  # an isolated child per request thread
    supervisor = SweeperSupervisor()
    instance_dir = Path(create_app().instance_path)

    def when_ready(server) -> None:
        supervisor.start()
        server.log.info("timer sweep in a supervised process")

    def on_exit(server) -> None:
        supervisor.stop()

    GridlinkServer({
        "bind": f"{host}:{port}", "workers": workers, **worker_options(threads),
        "accesslog": "-", "when_ready": when_ready, "on_exit": on_exit, "timeout": 60,
        "post_worker_init": _after_worker_init, "control_socket": control_socket(instance_dir),
    }).run()
