"""Flask extensions created unbound and bound to the app in ``create_app``.

Rate-limit counters live where every worker process sees them: by default a SQLite file in the
instance folder (``RATELIMIT_STORAGE_URI``, set from GRIDLINK_RATELIMIT_STORAGE). Client addresses
come from the connection, or from trusted proxies' X-Forwarded-For when GRIDLINK_TRUSTED_PROXIES
is set (see web/security.py).

API blueprints that authenticate with bearer tokens exempt themselves from CSRF with
``csrf.exempt(bp)`` and from the form rate limits with ``limiter.exempt(bp)``.
"""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from . import ratelimit_storage  # noqa: F401 - registers the sqlite:// rate-limit storage

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def limits_off() -> bool:
    """Rate limits apply unless the app's RATE_LIMITS is off; test apps (TESTING) need RATE_LIMITS
    set explicitly, so suites that sign in many times a minute are not slowed down."""
    from flask import current_app

    setting = current_app.config.get("RATE_LIMITS")
    if setting is None:
        return bool(current_app.testing)
    return not setting
