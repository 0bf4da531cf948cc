"""The test apps, built in one place: ``create_app`` on a fresh instance folder (SQLite file and
uploads inside it), then the schema, the reference data and the shipped diagrams."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from web.app import create_app
from web.system import system_of
from workflows.setup import bootstrap, schema

BPMN_DIR = Path(__file__).resolve().parents[1] / "bpmn"


@contextmanager
def instance_dir(instance: Path) -> Iterator[None]:
    """``GRIDLINK_INSTANCE_DIR`` set to ``instance`` while the app is created, restored after."""
    previous = os.environ.get("GRIDLINK_INSTANCE_DIR")
    os.environ["GRIDLINK_INSTANCE_DIR"] = str(instance)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("GRIDLINK_INSTANCE_DIR", None)
        else:
            os.environ["GRIDLINK_INSTANCE_DIR"] = previous


def app_config(instance: Path, secret: str, **config) -> dict:
    return {"TESTING": True, "DATABASE_URL": f"sqlite:///{instance / 'gridlink.db'}",
            "UPLOAD_DIR": str(instance / "uploads"), "SECRET_KEY": secret, **config}


def make_app(instance: Path, secret: str, *, prepare: bool = True, diagrams: bool = True, **config) -> Flask:
    """An app on ``instance``; with ``prepare``, its schema upgraded and the reference data loaded,
    and with ``diagrams`` the shipped diagrams deployed."""
    with instance_dir(instance):
        app = create_app(app_config(instance, secret, **config))
    if prepare:
        system = system_of(app)
        schema.upgrade(system.db)
        bootstrap.load_reference_data(system)
        if diagrams:
            bootstrap.deploy_shipped(system, BPMN_DIR)
    return app
