"""Helpers shared by the admin views: the acting admin, JSON answers for the modeller's calls."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from workflows.errors import DomainError

from ..errors import status_of
from ..system import current_system


def system():
    return current_system()


def actor() -> str:
    return current_user.username


def json_body() -> dict:
    """The request's JSON object; a DomainError-shaped 400 answer when it is not one."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadJson("send a JSON object (Content-Type: application/json)")
    return data


class BadJson(DomainError):
    code = "bad_request"


def json_error(error: DomainError):
    status = 400 if isinstance(error, BadJson) else status_of(error)
    return jsonify(error={"status": status, "code": error.code, "message": error.message,
                          "details": error.details}), status
