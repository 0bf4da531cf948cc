"""What every HTML page shares: error pages for the domain's exceptions and HTTP errors, and the
layout's context (navigation by role, unread notifications)."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine import Busy
from workflows import notifications
from workflows.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound

from .app import system_of
from .i18n import error_text

DOMAIN_STATUS = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (InvalidInput, 422))
MACHINE_PREFIXES = ("/api/", "/open311/")

TITLES = {400: _l("The request was not understood"), 401: _l("Please sign in"), 403: _l("Not allowed"),
          404: _l("Not found"), 405: _l("Not allowed here"), 409: _l("Already changed"),
          413: _l("Too large"), 422: _l("Please check what you entered"), 429: _l("Too many requests"),
          500: _l("Something went wrong"), 503: _l("Busy")}

# (endpoint, label, roles or None for every signed-in user)
NAV = (
    ("inbox.index", _l("Inbox"), ("coordinator", "grid_worker", "department", "admin")),
    ("patrol.index", _l("Patrol"), ("grid_worker",)),
    ("cases.index", _l("Cases"), ("coordinator", "grid_worker", "department", "leader", "admin")),
    ("dashboard.index", _l("Dashboard"), ("leader", "admin", "coordinator")),
    ("admin.processes", _l("Admin"), ("admin",)),
)


def status_of(error: DomainError) -> int:
    for kind, status in DOMAIN_STATUS:
        if isinstance(error, kind):
            return status
    return 400


def wants_json() -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


def error_page(status: int, message: str, details=()):
    if wants_json():
        return jsonify(error={"status": status, "code": _code(status),
                              "message": message, "details": list(details)}), status
    title = TITLES.get(status, TITLES[400])
    return render_template("errors/error.html", status=status, title=title, message=message,
                           details=list(details)), status


def _code(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            409: "conflict", 413: "too_large", 422: "invalid_input", 429: "too_many_requests",
            503: "busy"}.get(status, "error")


def nav_items() -> list[dict]:
    """The links the signed-in user's role may follow, for the endpoints this app has."""
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, text, roles in NAV:
        if endpoint in current_app.view_functions and current_user.role in roles:
            items.append({"endpoint": endpoint, "url": url_for(endpoint), "label": str(text),
                          "active": request.endpoint == endpoint or
                          (request.blueprint and request.blueprint == endpoint.split(".")[0])})
    return items


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def unread() -> int:
    if not current_user.is_authenticated:
        return 0
    try:
        return notifications.unread_count(system_of(current_app), current_user.id)
    except DomainError:
        return 0


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return error_page(status_of(error), error_text(error), error.details)

    @app.errorhandler(Busy)
    def busy(error: Busy):
        page, status = error_page(503, _("The system is busy right now. Nothing was changed; "
                                         "wait a moment and send it again."))
        return page, status, {"Retry-After": "1"}

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_page(400, _("The form has expired or was not sent by this site (%(reason)s). "
                                 "Reload the page and send it again.", reason=error.description))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        message = error.description if isinstance(error.description, str) else ""
        if error.code == 404 and not getattr(error, "_gridlink", False) and message.startswith("The requested URL"):
            message = _("There is no page at %(path)s. Check the address.", path=request.path)
        elif error.code == 429:
            message = _("Too many requests from your address (%(limit)s). Wait a minute and try again.",
                        limit=message)
        elif error.code == 413:
            message = _("The upload is too large; the limit is 16 MB. Send smaller photos.")
        elif error.code == 405:
            message = _("This address does not accept that method.")
        return error_page(error.code, message)

    @app.errorhandler(500)
    def server_error(error):
        return error_page(500, _("The server could not finish this request. Nothing was changed; "
                                 "try again, and tell an administrator if it happens again."))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.context_processor
    def layout_context():
        return {"nav_items": nav_items, "has_endpoint": has_endpoint, "unread_notifications": unread}
