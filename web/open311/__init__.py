"""Open311 GeoReport v2 at ``/open311/v2/`` (https://wiki.open311.org/GeoReport_v2), JSON and XML.

Resources end in ``.json`` or ``.xml``. Errors use the spec's ``errors``/``error`` format: 400 for
bad or missing arguments, 403 for a missing or invalid ``api_key`` (an API token, see ``gridlink
token create``), 404 for unknown services, requests, jurisdictions or paths. Reads without an
``api_key`` show public fields only; with a staff account's key they show what it may read. ``jurisdiction_id``
is optional (one jurisdiction is served); empty arguments count as absent.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from web.system import current_system
from workflows.cases import open311
from workflows.people.tokens import principal_for_token

from ..extensions import csrf, limiter

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)  # posts authenticate with api_key, not a cookie
limiter.exempt(bp)

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_JURISDICTION = "gridlink"
BODY_LIMIT = 256 * 1024
CHANGESET = "2026-11-21T00:00:00Z"
"""When the services or the API last changed in a way clients should notice."""


class Open311Error(Exception):
    def __init__(self, status: int, description: str, code: int | str | None = None):
        super().__init__(description)
        self.status, self.description, self.code = status, description, code or status


# --- rendering ------------------------------------------------------------------------------

XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot carry (they are dropped from XML output)."""


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return XML_ILLEGAL.sub("", str(value))


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


LIST_ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
              "errors": "error", "endpoints": "endpoint", "formats": "format"}


def _element(tag: str, value) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, list):
        child_tag = LIST_ITEMS.get(tag, "item")
        for item in value:
            element.append(_element(child_tag, item))
    else:
        element.text = _text(value)
    return element


def render(data, root: str, fmt: str, status: int = 200) -> Response:
    """``data`` as JSON, or as XML under ``root`` (lists become repeated child elements)."""
    if fmt == "json":
        body = json.dumps(_jsonable(data), ensure_ascii=False)
    else:
        body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(_element(root, data), encoding="unicode")
    return Response(body.encode("utf-8"), status=status, content_type=FORMATS[fmt])


def error_response(status: int, description: str, code=None, fmt: str | None = None) -> Response:
    fmt = fmt if fmt in FORMATS else _format_of_path()
    return render([{"code": code or status, "description": description}], "errors", fmt, status)


def _format_of_path() -> str:
    return "json" if request.path.endswith(".json") else "xml"


@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error):
    return error_response(exc.status, exc.description, exc.code)


# domain, engine, HTTP and unexpected errors answer in the Open311 format through web.errors

# --- arguments ------------------------------------------------------------------------------

def arg(name: str) -> str | None:
    """An argument from the query or the form; empty means absent (spec: "Optional Arguments")."""
    value = request.form.get(name) if request.method == "POST" else None
    if value is None:
        value = request.args.get(name)
    if value is not None and "\x00" in value:
        raise Open311Error(400, f"{name} contains a NUL character; remove it")
    return value if value not in (None, "") else None


def fmt_of(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(400, f"format {fmt!r} is not supported; end the path in .json or .xml")
    return fmt


def check_jurisdiction() -> None:
    jurisdiction = arg("jurisdiction_id")
    served = current_app.config.get("OPEN311_JURISDICTION_ID", DEFAULT_JURISDICTION)
    if jurisdiction is not None and jurisdiction != served:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction!r} was not found; this endpoint serves "
                           f"{served!r} (or leave jurisdiction_id out)")


def attributes() -> dict:
    """``attribute[code]=value`` and ``attribute[code][]=v1&...`` pairs of the form."""
    found: dict = {}
    for key in request.form:
        if key.startswith("attribute[") and "]" in key:
            code = key[len("attribute["):key.index("]")]
            values = [v for v in request.form.getlist(key) if v != ""]
            if values:
                found[code] = values if key.endswith("[]") else values[-1]
    return found


@bp.before_request
def _before():
    request.max_content_length = BODY_LIMIT
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            raise Open311Error(400, f"{name} contains a NUL character; remove it")
    if request.endpoint != f"{bp.name}.unknown":
        check_jurisdiction()


def system():
    return current_system()


# --- resources ------------------------------------------------------------------------------

@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    fmt = fmt_of(fmt)
    data = {
        "changeset": CHANGESET,
        "contact": current_app.config.get("OPEN311_CONTACT", "区联动中心 (district linkage centre)"),
        "key_service": "api_key is an API token; an administrator creates one with `gridlink token create USERNAME`",
        "endpoints": [{"specification": SPECIFICATION, "url": request.host_url.rstrip("/") + bp.url_prefix,
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }
    return render(data, "discovery", fmt)


@bp.get("/services.<fmt>")
def services(fmt: str):
    fmt = fmt_of(fmt)
    return render(open311.list_services(system()), "services", fmt)


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    fmt = fmt_of(fmt)
    return render(open311.service_definition(system(), code), "service_definition", fmt)


def reader_id() -> int | None:
    """The staff user of the ``api_key`` of a read (None without one); an invalid key is refused."""
    api_key = arg("api_key")
    if api_key is None:
        return None
    principal = principal_for_token(system(), api_key)
    if principal is None:
        raise Open311Error(403, "invalid api_key received; it is unknown or revoked -- leave it out to read "
                           "the public fields only")
    return principal.user_id


@bp.get("/requests.<fmt>")
def requests_list(fmt: str):
    fmt = fmt_of(fmt)
    filters = {name: arg(name) for name in ("service_request_id", "service_code", "start_date", "end_date",
                                            "status")}
    return render(open311.list_requests(system(), filters, reader_id()), "service_requests", fmt)


@bp.post("/requests.<fmt>")
def requests_create(fmt: str):
    fmt = fmt_of(fmt)
    api_key = arg("api_key")
    if api_key is None:
        raise Open311Error(403, "api_key is required to post a service request; ask the administrator for one")
    principal = principal_for_token(system(), api_key)
    if principal is None:
        raise Open311Error(403, "invalid api_key received; it is unknown or revoked -- can't create the request")
    params = {name: arg(name) for name in ("service_code", "lat", "long", "address_string", "address_id", "email",
                                           "device_id", "account_id", "first_name", "last_name", "phone",
                                           "description", "media_url")}
    created = open311.create_request(system(), principal.username, params, attributes())
    return render([created], "service_requests", fmt, 201)


@bp.get("/requests/<number>.<fmt>")
def request_one(number: str, fmt: str):
    fmt = fmt_of(fmt)
    return render(open311.get_request(system(), number, reader_id()), "service_requests", fmt)


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != f"{bp.name}.unknown":
            allowed.append(method)
    if allowed:
        response = error_response(405, f"{request.method} is not allowed on {request.path}; use "
                                  f"{', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return error_response(404, f"there is no Open311 resource at {request.path}; start from "
                          f"{bp.url_prefix}/discovery.xml or services.xml")
