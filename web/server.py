"""``gridlink run``: gunicorn serving the app, and APScheduler sweeping timers in the master.

The sweep is safe to run from several processes at once (see engine/sweeper.py), so the
scheduler lives in the gunicorn master, which never serves requests.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from gunicorn.app.base import BaseApplication

from .app import create_app, system_of

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


def serve(host: str, port: int, workers: int) -> None:
    scheduler_app = {}

    def when_ready(server) -> None:
        app = create_app()
        scheduler_app["scheduler"] = start_scheduler(app)
        server.log.info("timer sweep every %ss", app.config["TIMER_INTERVAL"])

    def on_exit(server) -> None:
        if "scheduler" in scheduler_app:
            scheduler_app["scheduler"].shutdown(wait=False)

    GridlinkServer({
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": 4,
        "accesslog": "-", "when_ready": when_ready, "on_exit": on_exit, "timeout": 60,
    }).run()
