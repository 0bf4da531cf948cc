"""Web hardening shared by every page and API: where redirects may go, text that cannot be stored
(lone UTF-16 surrogates), the security headers (Content-Security-Policy and companions), cookies
marked ``Secure`` over HTTPS, and client addresses from trusted proxies only.

``redirect_target`` is the one check for every redirect target that comes from the request
(``next`` parameters, form fields, the Referer header): only same-site relative paths pass.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    # bpmn-js, dmn-js, echarts and a few templates set style attributes; styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
"""No inline or remote script runs: templates keep their scripts in web/static."""

JSON_TYPES = ("application/json",)
MACHINE_PREFIXES = ("/api/", "/open311/")
"""Machine clients read English messages, as in the rest of the API."""


# --- redirect targets -------------------------------------------------------------------------

def is_local_path(target: str) -> bool:
    """True for a same-site relative path such as ``/inbox?x=1``: it starts with one ``/``, has no
    scheme or host, no backslash and no control character (browsers drop tabs and newlines, so
    ``/\\t/evil.example`` would become ``//evil.example``)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if _has_control(target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def _has_control(text: str) -> bool:
    """Control characters (C0, DEL, C1) or lone surrogates."""
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 or 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def redirect_target(target: str | None, field: str = "next") -> str | None:
    """The request's redirect target when it is a same-site relative path, None when it is empty;
    anything else is refused with 400 naming the value, so no one can send users elsewhere."""
    if not target:
        return None
    if is_local_path(target):
        return target
    with _reader_locale():
        message = _("%(field)s=%(value)s is not a page of this site; give a path that starts with a single /, "
                    "without tabs, line breaks, other control characters or backslashes.",
                    field=field, value=ascii(target[:200]))
    raise BadRequest(description=message)


def _reader_locale():
    """English for API and Open311 clients, the reader's language for pages."""
    if request.path.startswith(MACHINE_PREFIXES):
        return force_locale("en")
    return nullcontext()


def referrer_target() -> str | None:
    """The page the user came from, when it is a page of this site (None otherwise)."""
    referrer = request.referrer
    if not referrer or _has_control(referrer):  # urlsplit would silently drop tabs and line breaks
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if is_local_path(path) else None


# --- text that cannot be stored ---------------------------------------------------------------

def lone_surrogate_field(value: Any, path: str = "") -> str | None:
    """Where ``value`` (a JSON document or form values) holds a lone UTF-16 surrogate, or None.
    Such text cannot be encoded as UTF-8, so no database can keep it."""
    pending = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _has_surrogate(key):
                    return where or "body"
                pending.append((child, f"{where}.{key}" if where else str(key)))
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def refuse_unstorable_text() -> None:
    """Before every page request: 400 when the JSON body, the form or the query holds a lone
    surrogate (a ``\\ud800`` escape in JSON); bodies that are not valid JSON are left to the handler.
    The API and Open311 read their bodies under their own size limits and check them there
    (web/api/support.py refuses surrogates with the NUL characters), so their bodies are not read here."""
    if request.path.startswith(MACHINE_PREFIXES):
        return
    sources = [("query", request.args.to_dict(flat=False))]
    if request.mimetype in JSON_TYPES or request.mimetype.endswith("+json"):
        document = _json_document()
        if document is not None:
            sources.append(("", document))
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(("form", request.form.to_dict(flat=False)))
    for name, values in sources:
        field = lone_surrogate_field(values, name)
        if field is not None:
            with _reader_locale():
                message = _("%(field)s contains a lone UTF-16 surrogate (such as \\ud800), which is not "
                            "text; send valid Unicode.", field=field)
            raise BadRequest(description=message)


def _json_document() -> Any:
    raw = request.get_data(cache=True)
    if not raw or b"\\u" not in raw:  # a lone surrogate can only arrive as a \u escape
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


# --- headers and cookies ----------------------------------------------------------------------

def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie marked ``Secure`` whenever the request came
    over HTTPS (directly, or through a trusted proxy's X-Forwarded-Proto) or the configuration
    forces it (GRIDLINK_SECURE_COOKIES=1)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or _over_https())


def _over_https() -> bool:
    try:
        return request.is_secure
    except RuntimeError:  # outside a request
        return False


def trust_proxies(app: Flask, count: int) -> None:
    """Behind ``count`` reverse proxies, take the client's address, scheme and host from their
    X-Forwarded-* headers; with 0 those headers are ignored (a client could forge them)."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    trust_proxies(app, app.config.get("TRUSTED_PROXIES", 0))
    app.before_request(refuse_unstorable_text)
    app.after_request(security_headers)
