"""The JSON API, ``/api/v1``: bearer tokens, one error shape, documented by ``/api/v1/openapi.json``.

Requests authenticate with ``Authorization: Bearer <token>`` (``gridlink token create NAME``);
no cookies are read, so the blueprint is exempt from CSRF protection.
"""

from __future__ import annotations

from flask import Blueprint

from ..extensions import csrf, limiter
from .support import ApiError, handle_api_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")

bp.register_error_handler(ApiError, handle_api_error)  # domain, engine, HTTP and other errors: web.errors

# Token-authenticated requests carry no cookie a forger could ride on, and integrations are not
# throttled like the sign-in form.
csrf.exempt(bp)
limiter.exempt(bp)


from . import coordination, views  # noqa: E402,F401  (routes register on bp)
