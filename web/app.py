"""Application factory: configuration from the environment, the back-end System, blueprints."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, jsonify

from workflows.system import build_system, default_database_url

from . import auth, errors, forms, i18n, limits, pages, security
from .blueprints import BLUEPRINTS
from .extensions import csrf, limiter
from .system import install


def load_config(app: Flask, test_config: dict | None) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        DATABASE_URL=default_database_url(instance),
        SECRET_KEY=os.environ.get("GRIDLINK_SECRET_KEY") or _instance_secret(instance),
        TIMER_INTERVAL=float(os.environ.get("GRIDLINK_TIMER_INTERVAL", "10")),
        UPLOAD_DIR=os.environ.get("GRIDLINK_UPLOAD_DIR") or str(instance / "uploads"),
        MAP_TILES=os.environ.get("GRIDLINK_MAP_TILES", ""),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=limits.FORM_MEMORY_BYTES,  # text fields are limited (and worded) by web/limits.py
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("GRIDLINK_SECURE_COOKIES", "") == "1",
        REMEMBER_COOKIE_SECURE=os.environ.get("GRIDLINK_SECURE_COOKIES", "") == "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_ENABLED=True,  # said per app: the limiter is one object, and init_app keeps a missing setting
        RATELIMIT_STORAGE_URI=os.environ.get("GRIDLINK_RATELIMIT_STORAGE")
        or f"sqlite:///{(instance / 'ratelimits.sqlite').resolve()}",
        TRUSTED_PROXIES=_proxy_count(os.environ.get("GRIDLINK_TRUSTED_PROXIES", "0")),
    )
    if test_config:
        app.config.update(test_config)
    app.config["MAP_TILES"] = map_tiles(app.config["MAP_TILES"])


def map_tiles(url: str | None) -> str:
    """The optional tile URL of the maps (GRIDLINK_MAP_TILES), checked; "" draws grid outlines only."""
    url = (url or "").strip()
    if url and (not url.startswith(("https://", "http://", "/")) or not all(f"{{{k}}}" in url for k in "zxy")):
        raise ValueError(f"GRIDLINK_MAP_TILES={url!r} is not a tile URL; give one like "
                         "https://tiles.example.org/{z}/{x}/{y}.png (or leave it empty for outlines only)")
    return url


def _proxy_count(value: str) -> int:
    """GRIDLINK_TRUSTED_PROXIES: how many reverse proxies stand in front of the app (0: none)."""
    try:
        count = int(value.strip() or "0")
    except ValueError:
        count = -1
    if count < 0:
        raise ValueError(f"GRIDLINK_TRUSTED_PROXIES={value!r} is not a count; give 0 (no proxy) or the "
                         "number of reverse proxies in front of gridlink, such as 1")
    return count


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in the instance folder when GRIDLINK_SECRET_KEY is not set."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("GRIDLINK_INSTANCE_DIR") or None,
                instance_relative_config=True)
    load_config(app, test_config)
    install(app, build_system(app.config["DATABASE_URL"], app.config["UPLOAD_DIR"]))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/favicon.ico")
    def favicon():  # pages link the SVG; this answers clients that ask the old address
        return app.send_static_file("favicon.svg")

    register_blueprints(app)
    init_web(app)
    return app


def init_web(app: Flask) -> None:
    """Sign-in, CSRF, languages, rate limits, error answers and the layout's context."""
    security.init_app(app)
    auth.init_app(app)
    csrf.init_app(app)
    limits.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    forms.init_app(app)
    errors.init_app(app)
    pages.init_app(app)


def register_blueprints(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
