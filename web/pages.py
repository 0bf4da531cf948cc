"""What every HTML page shares: the layout's context (navigation by role, unread notifications) and
the security headers. Errors are answered by ``web.errors``."""

from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workflows.errors import DomainError
from workflows.people import notifications

from .system import current_system

# (endpoint, label, roles or None for every signed-in user)
NAV = (
    ("inbox.index", _l("Inbox"), ("coordinator", "grid_worker", "department", "admin")),
    ("patrol.index", _l("Patrol"), ("grid_worker",)),
    ("cases.index", _l("Cases"), ("coordinator", "grid_worker", "department", "leader", "admin")),
    ("dashboard.index", _l("Dashboard"), ("leader", "admin", "coordinator")),
    ("admin.processes", _l("Admin"), ("admin",)),
)


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
        return notifications.unread_count(current_system(), current_user.id)
    except DomainError:
        return 0


def init_app(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.context_processor
    def layout_context():
        return {"nav_items": nav_items, "has_endpoint": has_endpoint, "unread_notifications": unread}
