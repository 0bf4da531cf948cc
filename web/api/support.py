"""What every API handler shares: the one error shape, JSON in and out, query parameters, auth.

Every error leaves as ``{"error": {"status", "code", "message", "details"}}``: ``ApiError`` here,
domain, engine, HTTP and unexpected errors through ``web.errors`` (one status map with the pages);
HTTP errors raised by Flask/Werkzeug (bad JSON, too large, wrong method) keep their status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any

from flask import Response, g, request
from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException

from web.system import current_system
from workflows.errors import DomainError
from workflows.people.actor import Actor
from workflows.people.tokens import Principal, principal_for_token

JSON_LIMIT = 1024 * 1024
"""Largest JSON body accepted (process-definition uploads have their own, larger limit)."""

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid_input", 429: "too_many_requests", 503: "busy"}


class ApiError(Exception):
    """An error the API answers directly, with its status."""

    def __init__(self, status: int, message: str, code: str | None = None, details: list | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or HTTP_CODES.get(status, "error")
        self.details = details or []
        self.headers = headers or {}


# --- output ---------------------------------------------------------------------------------

def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 with their zone; containers walked."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(jsonable(data), ensure_ascii=False, separators=(",", ":"))
    response = Response(body, status=status, mimetype="application/json")
    response.headers.update(headers or {})
    return response


def error_response(status: int, code: str, message: str, details: list | None = None,
                   headers: dict | None = None) -> Response:
    error = {"status": status, "code": code, "message": message, "details": details or []}
    return json_response({"error": error}, status, headers)


def domain_details(exc: DomainError) -> list:
    if exc.details:
        return exc.details
    return [{"field": exc.field, "message": exc.message}] if exc.field else []


def handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def handle_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 413:
        message = f"the request body is too large; send at most {request.max_content_length or JSON_LIMIT} bytes"
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(status, HTTP_CODES.get(status, "error"), message, [], headers)


# --- input ----------------------------------------------------------------------------------

def json_body() -> Any:
    """The request's JSON document; 415 for another media type, 400 when it does not parse."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, f"send the body as application/json (got {mimetype or 'no Content-Type'!r})")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON object")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not UTF-8; send UTF-8 encoded JSON") from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}", code="malformed_json") from None
    _check_text(body, "")
    return body


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number; send finite numbers only")


def _check_text(value: Any, path: str) -> None:
    """No NUL characters anywhere (databases refuse them in text); iterative, so depth cannot overflow."""
    pending = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ApiError(422, f"{where or 'the body'} contains a NUL character; remove it",
                               code="invalid_input", details=[{"field": where, "message": "contains a NUL character"}])
            if not _encodable(item):
                raise ApiError(422, f"{where or 'the body'} contains a lone UTF-16 surrogate (such as \\ud800), "
                               "which is not text; send valid Unicode", code="invalid_input",
                               details=[{"field": where, "message": "contains a lone UTF-16 surrogate"}])
        elif isinstance(item, dict):
            for key, child in item.items():
                pending.append((key, where))
                pending.append((child, f"{where}.{key}" if where else str(key)))
        elif isinstance(item, list):
            pending.extend((child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(item))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_object() -> dict:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, f"the request body must be a JSON object, not {type(body).__name__}")
    return body


_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(key: int, schema: dict) -> Draft202012Validator:
    validator = _VALIDATORS.get(key)
    if validator is None:
        validator = _VALIDATORS[key] = Draft202012Validator(schema)
    return validator


def check_schema(data: Any, schema: dict) -> None:
    """422 with one ``{field, message}`` per problem when ``data`` does not fit ``schema``."""
    validator = _validator(id(schema), schema)
    details = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    field = f"{path}.{name}" if path else name
                    details.append({"field": field, "message": f"{field} is required"})
        elif error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for name in extra:
                field = f"{path}.{name}" if path else name
                details.append({"field": field, "message": f"{field} is not a known field; remove it"})
        else:
            details.append({"field": path, "message": f"{path or 'the body'}: {error.message}"})
    if details:
        raise ApiError(422, f"{len(details)} field(s) are invalid: " + "; ".join(d["message"] for d in details),
                       code="invalid_input", details=details)


def query_text(name: str) -> str | None:
    """A query parameter; an empty value counts as absent."""
    value = request.args.get(name)
    return value if value not in (None, "") else None


def query_int(name: str, default: int) -> int:
    value = query_text(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"query parameter {name}={value!r} is not a whole number",
                       details=[{"field": name, "message": "give a whole number"}]) from None


def query_bool(name: str) -> bool | None:
    value = query_text(name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ApiError(400, f"query parameter {name}={value!r} is not a boolean; use true or false",
                   details=[{"field": name, "message": "use true or false"}])


# --- authentication -------------------------------------------------------------------------

def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate() -> Principal:
    """The caller behind ``Authorization: Bearer <token>``; 401 otherwise."""
    challenge = {"WWW-Authenticate": 'Bearer realm="gridlink"'}
    token = bearer_token()
    if token is None:
        raise ApiError(401, "authentication required: send Authorization: Bearer <token> "
                       "(create one with `gridlink token create USERNAME`)", headers=challenge)
    principal = principal_for_token(current_system(), token)
    if principal is None:
        raise ApiError(401, "the API token is unknown, revoked, or its user is disabled; create a new one "
                       "with `gridlink token create USERNAME`", code="invalid_token",
                       headers={"WWW-Authenticate": 'Bearer realm="gridlink", error="invalid_token"'})
    return principal


def authenticated(view: Callable) -> Callable:
    """Run ``view`` with ``g.principal`` set from the bearer token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.principal = authenticate()
        return view(*args, **kwargs)

    return wrapper


def actor() -> Actor:
    """Who acts: resolved once from the bearer token (``authenticate``)."""
    return g.principal.actor


def system():
    return current_system()
