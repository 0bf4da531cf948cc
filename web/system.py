"""The back end as a request sees it: ``current_system()``, without importing the app factory.

``create_app`` stores the System in ``app.extensions`` (``install``); views, the CLI and helpers
read it through the current app, the way flaskr's ``get_db`` reads its database.
"""

from __future__ import annotations

from flask import Flask, current_app

from workflows.system import System

KEY = "gridlink"


def install(app: Flask, system: System) -> None:
    app.extensions[KEY] = system


def system_of(app: Flask) -> System:
    return app.extensions[KEY]


def current_system() -> System:
    """The System of the app handling the current request or CLI command."""
    return system_of(current_app)
