"""``gridlink run``: gunicorn serving the app, and APScheduler sweeping timers in the master.

The sweep is safe to run from several processes at once (see engine/sweeper.py), so the
scheduler lives in the gunicorn master, which never serves requests.
"""

from __future__ import annotations

import gc
import logging
import os

from apscheduler.schedulers.background import BackgroundScheduler
from gunicorn.app.base import BaseApplication

from .app import create_app
from .system import system_of

log = logging.getLogger("gridlink.timers")


def start_scheduler(app) -> BackgroundScheduler:
    from workflows.timers import tick

    system = system_of(app)
    interval = float(app.config["TIMER_INTERVAL"])

    def sweep() -> None:
        report = tick(system)
        if report.timers_fired or report.failed:
            log.info("timers: %s fired, %s failed", report.timers_fired, len(report.failed))

    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(sweep, "interval", seconds=interval, max_instances=1, coalesce=True, id="timer-sweep")
    scheduler.start()
    return scheduler


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


def serve(host: str, port: int, workers: int, threads: int = 1) -> None:
    scheduler_app = {}

    def when_ready(server) -> None:
        app = create_app()
        scheduler_app["scheduler"] = start_scheduler(app)
        server.log.info("timer sweep every %ss", app.config["TIMER_INTERVAL"])

    def on_exit(server) -> None:
        if "scheduler" in scheduler_app:
            scheduler_app["scheduler"].shutdown(wait=False)

    GridlinkServer({
        "bind": f"{host}:{port}", "workers": workers, **worker_options(threads),
        "accesslog": "-", "when_ready": when_ready, "on_exit": on_exit, "timeout": 60,
        "post_worker_init": _after_worker_init,
    }).run()
