"""One handler per exception family, answering in the format of the address asked.

- domain errors (``workflows.errors``) and engine errors (``engine.errors``, mapped to the domain's
  family by ``workflows.checks.domain_error_of``) take their status from ``status_of``, the one
  status map of the pages and the JSON API;
- HTTP errors (Werkzeug's, CSRF refusals among them) keep their status;
- anything else is a 500, logged.

The format follows the request path: ``/api/`` answers the API's JSON shape
``{"error": {"status", "code", "message", "details"}}`` (docs/API.md), ``/open311/`` the Open311
error list (JSON or XML by the path's extension), page-side JSON endpoints (``*.json``, the
modeller's calls) the API's shape with the message in the reader's language, and pages an HTML
error page.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine import Busy, EngineError
from workflows.checks import domain_error_of
from workflows.errors import Conflict, DomainError, Forbidden, NotFound

from . import open311
from .api import support as api
from .i18n import error_text
from .limits import too_large_message

CLASS_STATUS = ((NotFound, 404), (Forbidden, 403), (Conflict, 409))
CODE_STATUS = {"conflict": 409, "process_error": 409, "too_large": 413}
"""A domain error's status: by its class, else by its code, else 422 (the input was refused)."""

JSON_PAGE_PREFIXES = ("/admin/modeller/",)

TITLES = {400: _l("The request was not understood"), 401: _l("Please sign in"), 403: _l("Not allowed"),
          404: _l("Not found"), 405: _l("Not allowed here"), 409: _l("Already changed"),
          413: _l("Too large"), 422: _l("Please check what you entered"), 429: _l("Too many requests"),
          500: _l("Something went wrong"), 503: _l("Busy")}


def status_of(error: DomainError) -> int:
    for kind, status in CLASS_STATUS:
        if isinstance(error, kind):
            return status
    return CODE_STATUS.get(error.code, 422)


def answer_format() -> str:
    """``api``, ``open311``, ``json`` (a page-side JSON endpoint) or ``html``, from the request path."""
    path = request.path
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/open311/"):
        return "open311"
    if path.endswith(".json") or path.startswith(JSON_PAGE_PREFIXES):
        return "json"
    return "html"


def error_page(status: int, message: str, details=()):
    """The HTML error page (or, on a page-side JSON endpoint, the same error as JSON)."""
    if answer_format() != "html":
        return jsonify(error={"status": status, "code": api.HTTP_CODES.get(status, "error"),
                              "message": message, "details": list(details)}), status
    title = TITLES.get(status, TITLES[400])
    return render_template("errors/error.html", status=status, title=title, message=message,
                           details=list(details)), status


def domain_error(error: DomainError):
    status, fmt = status_of(error), answer_format()
    if fmt == "api":
        return api.error_response(status, error.code, error.message, api.domain_details(error))
    if fmt == "open311":
        return open311.error_response(status if status in (403, 404) else 400, error.message)
    if fmt == "json":
        return jsonify(error={"status": status, "code": error.code, "message": error.message,
                              "details": error.details}), status
    return error_page(status, error_text(error), error.details)


def engine_error(error: EngineError):
    return domain_error(domain_error_of(error))


def busy(error: Busy):
    """The database's writers' queue stayed full for its whole wait: 503, try again in a second."""
    fmt, retry = answer_format(), {"Retry-After": "1"}
    if fmt == "api":
        return api.error_response(503, "busy", error.message, [], retry)
    if fmt == "open311":
        response = open311.error_response(503, error.message)
    else:
        response = make_response(error_page(503, _("The system is busy right now. Nothing was changed; "
                                                      "wait a moment and send it again.")))
    response.headers.update(retry)
    return response


def http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    fmt = answer_format()
    if fmt == "api":
        return api.handle_http_error(error)
    if fmt == "open311":
        if error.code == 413:
            return open311.error_response(413, f"the request is too large; send at most {open311.BODY_LIMIT} bytes")
        return open311.error_response(error.code, error.description or error.name)
    if fmt == "json" and isinstance(error, CSRFError):
        return jsonify(error={"status": 400, "code": "csrf", "message": _page_message(error), "details": []}), 400
    return error_page(error.code, _page_message(error))


def _page_message(error: HTTPException) -> str:
    message = error.description if isinstance(error.description, str) else ""
    if isinstance(error, CSRFError):
        return _("The form has expired or was not sent by this site (%(reason)s). "
                 "Reload the page and send it again.", reason=error.description)
    if error.code == 404 and not getattr(error, "_gridlink", False) and message.startswith("The requested URL"):
        return _("There is no page at %(path)s. Check the address.", path=request.path)
    if error.code == 429:
        return _("Too many requests from your address (%(limit)s). Wait a minute and try again.",
                 limit=rate_limit_text(message))
    if error.code == 413:
        return too_large_message(error)
    if error.code == 405:
        return _("This address does not accept that method.")
    if error.code == 500:
        return _("The server could not finish this request. Nothing was changed; "
                 "try again, and tell an administrator if it happens again.")
    return message


_LIMIT = re.compile(r"^\s*(\d+)\s+per\s+(\d+)\s+(second|minute|hour|day)s?\s*$")
_UNITS = {"second": (_l("second"), _l("seconds")), "minute": (_l("minute"), _l("minutes")),
          "hour": (_l("hour"), _l("hours")), "day": (_l("day"), _l("days"))}


def rate_limit_text(limit: str) -> str:
    """``5 per 1 minute`` (Flask-Limiter's description) in the reader's language: 每分钟最多 5 次."""
    found = _LIMIT.match(limit or "")
    if found is None:
        return limit
    count, amount, unit = int(found[1]), int(found[2]), found[3]
    if amount == 1:
        return _("at most %(count)s per %(unit)s", count=count, unit=_UNITS[unit][0])
    return _("at most %(count)s per %(amount)s %(units)s", count=count, amount=amount, units=_UNITS[unit][1])


def unexpected(error: Exception):
    """Machine clients get a 500 in their format; pages leave it to Flask (logged, then the 500 page
    through ``http_error``; raised in tests)."""
    fmt = answer_format()
    if fmt not in ("api", "open311"):
        raise error
    current_app.logger.exception("request failed: %s %s", request.method, request.path)
    if fmt == "api":
        return api.error_response(500, "internal_error", "the server failed to handle this request; it was "
                                  "logged, try again or tell the administrator", [])
    return open311.error_response(500, "the service failed to handle this request; it was logged, please tell us")


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(Busy, busy)
    app.register_error_handler(EngineError, engine_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
