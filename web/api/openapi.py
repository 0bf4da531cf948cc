"""The OpenAPI 3.0 document of ``/api/v1``, built from the same schemas the handlers validate with.

``tests/web/test_openapi_document.py`` validates it and checks that every API route is in it;
``tests/web/test_openapi_fuzz.py`` runs schemathesis against the app with it.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache

from workflows.cases.models import CASE_STATUSES
from workflows.org.models import LEVELS

from . import coordination, schemas

ERRORS = {
    400: "Malformed request: the body is not JSON or not an object, a query parameter has the wrong type, or a "
         "value contains a NUL character.",
    401: "No bearer token, or an unknown or revoked one.",
    403: "The caller may not do this (role or scope).",
    404: "No such resource.",
    405: "The path exists but not for this method.",
    409: "Conflict with the current state: the task is already completed or claimed by someone else.",
    413: "The body is too large (1 MB for JSON, 16 MB for definition uploads).",
    415: "The body is not in a supported media type.",
    422: "Invalid values; ``details`` lists ``{field, message}`` per problem.",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, "content": _json(schema)}


def _errors(*statuses: int) -> dict:
    """The error responses of an operation; 400 (malformed input, e.g. a NUL character) applies to all."""
    return {str(s): {"$ref": f"#/components/responses/Error{s}"} for s in sorted({400, *statuses})}


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


PAGING = [
    _param("page", "query", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    _param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
           "Items per page (at most 200)."),
]
OVERDUE = _param("overdue", "query", {"type": "boolean"}, "Only overdue (true) or only not overdue (false).")
READ_ERRORS = (400, 401, 405, 422)


def _list(summary: str, item: str, params: list, description: str = "", errors: tuple = READ_ERRORS) -> dict:
    return {"get": {
        "summary": summary, "description": description, "operationId": f"list_{item.lower()}s",
        "parameters": params + PAGING,
        "responses": {"200": _ok("One page of the list.", _ref(f"{item}Page")), **_errors(*errors)},
    }}


def _paths() -> dict:
    task_id = _param("task_id", "path", {"type": "string"}, "The task id (from GET /tasks).")
    number = _param("number", "path", {"type": "string"}, "The case number.")
    return {
        "/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi", "security": [],
            "responses": {"200": _ok("The OpenAPI 3 document.", {"type": "object"}), **_errors(405)},
        }},
        "/cases": {
            "post": {
                "summary": "Report a new case",
                "description": "Starts the case's process. Where it is: `grid`, or `lat`+`lon`, or `address` "
                               "(then it is registered at the district centre). The answer carries the reporter's "
                               "`query_code`, shown only here: /track and rating need the number and this code.",
                "operationId": "create_case",
                "requestBody": {"required": True, "content": _json(_ref("CaseCreate"))},
                "responses": {
                    "201": {**_ok("The case was created.", _ref("CaseCreated")),
                            "headers": {"Location": {"schema": {"type": "string"},
                                                     "description": "The new case's URL."}}},
                    **_errors(400, 401, 403, 405, 413, 415, 422),
                },
            },
            **_list("Cases the caller may read, newest first", "Case", [
                _param("status", "query", {"type": "string", "enum": list(CASE_STATUSES)}, "Only this status."),
                _param("q", "query", {"type": "string"}, "The case number, or a part of the title or address."),
                _param("level", "query", {"type": "string", "enum": list(LEVELS)}, "Only cases at this level."),
                _param("org_unit", "query", {"type": "string"}, "Only cases held by or reported in this unit "
                       "or any unit below it."),
                OVERDUE,
            ]),
        },
        "/cases/{number}": {"get": {
            "summary": "One case with its timeline and open tasks", "operationId": "get_case",
            "description": "The reporter's phone is masked for department staff.",
            "parameters": [_param("number", "path", {"type": "string"}, "The case number, e.g. GL20261121-0001.")],
            "responses": {"200": _ok("The case.", _ref("CaseDetail")), **_errors(401, 403, 404, 405)},
        }},
        "/cases/{number}/photos": {"post": {
            "summary": "Attach photos to a case; the answer's references go into a form's `photos` list",
            "operationId": "upload_photos",
            "parameters": [_param("number", "path", {"type": "string"}, "The case number.")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                                        "description": "JPEG, PNG, GIF or WebP, at most 8 MB each; a case "
                                                       "holds at most 30 photos (setting "
                                                       "`GRIDLINK_MAX_PHOTOS_PER_CASE`), more is a 422 "
                                                       "`too_many_photos`."},
                               "purpose": {"type": "string", "enum": ["result", "report", "self_close"]}},
            }}}},
            "responses": {"201": _ok("The references of the stored photos.", {
                "type": "object", "required": ["photos"],
                "properties": {"photos": {"type": "array", "items": {"type": "string"}}}}),
                **_errors(400, 401, 403, 404, 405, 413, 415, 422)},
        }},
        "/tasks": _list("Open tasks the caller may act on, due first", "Task", [
            _param("case_number", "query", {"type": "string"}, "Only tasks of this case."),
            _param("org_unit", "query", {"type": "string"}, "Only tasks of this org unit."),
            _param("department", "query", {"type": "string"}, "Only tasks of this department."),
            _param("claimed_by", "query", {"type": "string"}, "Only tasks claimed by this username."),
            OVERDUE,
            _param("level", "query", {"type": "string", "enum": list(LEVELS)},
                   "Only tasks of cases at this level (a level the caller sees: theirs and below)."),
            _param("category", "query", {"type": "string"}, "Only tasks of cases of this category code."),
            _param("q", "query", {"type": "string"}, "Search the case number, title or address."),
            _param("below", "query", {"type": "boolean"},
                   "Coordinators: the tasks waiting in the units below theirs instead of their own."),
            _param("sort", "query", {"type": "string", "enum": ["due", "newest", "level"]},
                   "Order: soonest due (default), newest, or highest level first."),
        ]),
        "/tasks/{task_id}": {"get": {
            "summary": "One open task with its form (JSON Schema)", "operationId": "get_task",
            "parameters": [task_id],
            "responses": {"200": _ok("The task.", _ref("TaskDetail")), **_errors(401, 403, 404, 405, 409)},
        }},
        "/tasks/{task_id}/claim": {"post": {
            "summary": "Claim a task (others cannot complete it until it is released)", "operationId": "claim_task",
            "parameters": [task_id],
            "responses": {"200": _ok("The claimed task.", _ref("Task")), **_errors(401, 403, 404, 405, 409)},
        }},
        "/tasks/{task_id}/complete": {"post": {
            "summary": "Complete a task with its decision fields",
            "description": "The fields are those of the task's form (PRODUCT.md, task decisions), checked against "
                           "its JSON Schema. A second completion answers 409.",
            "operationId": "complete_task",
            "parameters": [task_id],
            "requestBody": {"required": True, "content": _json(_ref("TaskCompletion"))},
            "responses": {"200": _ok("The case after the step, with its open tasks.", _ref("CaseAfterStep")),
                          **_errors(400, 401, 403, 404, 405, 409, 413, 415, 422)},
        }},
        "/meetings/{meeting_id}": {"get": {
            "summary": "A joint meeting: summoned departments, report-to-duty status, resolution, actions",
            "operationId": "get_meeting",
            "parameters": [_param("meeting_id", "path", {"type": "integer"}, "The meeting id (listed on its case).")],
            "responses": {"200": _ok("The meeting.", _ref("Meeting")), **_errors(401, 403, 404, 405)},
        }},
        "/process-definitions": {
            **_list("Deployed process versions (admins)", "ProcessVersion", [
                _param("process_id", "query", {"type": "string"}, "Only versions of this process."),
                _param("active", "query", {"type": "boolean"}, "Only the active (or inactive) versions."),
            ], errors=(*READ_ERRORS, 403)),
            "post": {
                "summary": "Deploy BPMN/DMN files (and JSON form schemas) as new versions (admins)",
                "description": "Either one raw BPMN or DMN document (`application/xml`, optional query "
                               "`filename`), or `multipart/form-data` with one or more parts named `file`. "
                               "Invalid definitions answer 422 with `details` of `{file, element_id, line, "
                               "message}`; nothing is deployed then.",
                "operationId": "deploy_definitions",
                "parameters": [_param("filename", "query", {"type": "string"},
                                      "File name of a raw XML body, e.g. case_handling.bpmn.")],
                "requestBody": {"required": True, "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["file"],
                        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    }},
                }},
                "responses": {
                    "201": _ok("New versions were stored.", _ref("Deployed")),
                    "200": _ok("The content was already deployed: no new version.", _ref("Deployed")),
                    **_errors(400, 401, 403, 405, 413, 415, 422),
                },
            },
        },
        "/org-units": _list("The org tree (district centre, sub-centre, workstations, communities, grids)",
                            "OrgUnit", [
                                _param("level", "query", {"type": "string", "enum": list(LEVELS)}, "Only this level."),
                                _param("parent", "query", {"type": "string"}, "Only the children of this unit."),
                            ]),
        "/departments": _list("Departments", "Department", []),
        "/categories": _list("Categories (the two groups, then their kinds)", "Category", [
            _param("parent", "query", {"type": "string"}, "Only the kinds of this group (component or event)."),
        ]),
        "/metrics": {"get": {
            "summary": "Evaluation figures for a period: closure, on-time, rework, self-closed share, overdues, "
                       "department handling, report to duty, satisfaction, score and grade",
            "description": "Coordinators and grid workers see their own subtree; department staff get 403.",
            "operationId": "get_metrics",
            "parameters": [
                _param("from", "query", {"type": "string"}, "First day (2026-11-01, local) or an ISO date-time; "
                       "default 29 days before today."),
                _param("to", "query", {"type": "string"}, "Last day (inclusive) or an ISO date-time (exclusive); "
                       "default today."),
                _param("group_by", "query", {"type": "string", "enum": ["org_unit", "department", "level",
                                                                         "category"]}, "How to group."),
                _param("org_unit", "query", {"type": "string"}, "Only this unit's subtree."),
                _param("unit_level", "query", {"type": "string", "enum": list(LEVELS)},
                       "With group_by=org_unit: the level of the groups."),
            ],
            "responses": {"200": _ok("The figures.", _ref("Metrics")), **_errors(400, 401, 403, 405, 422)},
        }},
        **coordination.paths(_ok, _ref, _errors, _param, _list, _json),
        "/cases/{number}/charges": {"get": {
            "summary": "The case's charges (扣分) that this user may see: the charged party's, or all for the "
                       "registering centre", "operationId": "list_case_charges", "parameters": [number],
            "responses": {"200": _ok("The charges.", {"type": "array", "items": _ref("Charge")}),
                          **_errors(401, 404, 405)},
        }},
        "/cases/{number}/appeals": {"post": {
            "summary": "Appeal (申诉) a charge of the case, by the charged unit or department",
            "operationId": "file_appeal", "parameters": [number],
            "requestBody": {"required": True, "content": _json(_ref("AppealCreate"))},
            "responses": {"201": _ok("The appeal, pending.", _ref("Appeal")),
                          **_errors(400, 401, 403, 404, 405, 409, 413, 415, 422)},
        }},
        "/appeals": {"get": {
            "summary": "The pending appeals this user's centre decides", "operationId": "list_appeals",
            "responses": {"200": _ok("The appeals.", {"type": "array", "items": _ref("Appeal")}),
                          **_errors(401, 405)},
        }},
        "/appeals/{appeal_id}/decision": {"post": {
            "summary": "Uphold (the charge is withdrawn from every figure) or reject an appeal",
            "operationId": "decide_appeal",
            "parameters": [_param("appeal_id", "path", {"type": "integer"}, "The appeal id.", required=True)],
            "requestBody": {"required": True, "content": _json(_ref("AppealDecision"))},
            "responses": {"200": _ok("The decided appeal.", _ref("Appeal")),
                          **_errors(400, 401, 403, 404, 405, 409, 413, 415, 422)},
        }},
        "/tokens/current": {"delete": {
            "summary": "Revoke the token of this request", "operationId": "revoke_current_token",
            "responses": {"204": {"description": "Revoked: the token no longer works."}, **_errors(401, 405)},
        }},
    }


def _components() -> dict:
    items = {"Case": schemas.CASE, "Task": schemas.TASK, "OrgUnit": schemas.ORG_UNIT,
             "Department": schemas.DEPARTMENT, "Category": schemas.CATEGORY,
             "ProcessVersion": schemas.PROCESS_VERSION}
    components = {
        "CaseCreate": schemas.CASE_CREATE,
        "CaseCreated": schemas.CASE_CREATED,
        "CaseDetail": schemas.CASE_DETAIL,
        "CaseAfterStep": {"allOf": [schemas.CASE, {"type": "object", "required": ["open_tasks"],
                                                   "properties": {"open_tasks": {"type": "array",
                                                                                 "items": schemas.TASK}}}]},
        "TaskDetail": schemas.TASK_DETAIL,
        "TaskCompletion": {"type": "object", "description": "The decision fields of the task's form, e.g. "
                           "{\"decision\": \"escalate\", \"reason\": \"...\"}."},
        "Meeting": schemas.MEETING,
        "Deployed": schemas.DEPLOYED,
        "Error": schemas.ERROR,
        "Metrics": schemas.METRICS,
        "AppealCreate": schemas.APPEAL_CREATE,
        "AppealDecision": schemas.APPEAL_DECISION,
        "Appeal": schemas.APPEAL,
        "Charge": schemas.CHARGE,
        **items,
        **{f"{name}Page": schemas.page_of(_ref(name)) for name in items},
        **coordination.COMPONENTS,
        **{f"{name}Page": schemas.page_of(_ref(name)) for name in ("Document", "FundSpend")},
    }
    return deepcopy(components)


def _responses() -> dict:
    return {f"Error{status}": {"description": text, "content": _json(_ref("Error"))}
            for status, text in ERRORS.items()}


@cache
def _document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridlink API",
            "version": "1.0.0",
            "description": "Cases, tasks, meetings, process definitions and reference data of gridlink. Every "
                           "error is {\"error\": {\"status\", \"code\", \"message\", \"details\"}}. Lists are "
                           "{\"items\", \"page\", \"per_page\", \"total\"}. Times are ISO 8601 with a time zone.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "Create a token with `gridlink token create NAME`."}},
            "schemas": _components(),
            "responses": _responses(),
        },
    }


def openapi_document(base_url: str | None = None) -> dict:
    """The document; with ``base_url`` the server URL is absolute (as served)."""
    document = deepcopy(_document())
    if base_url:
        document["servers"] = [{"url": f"{base_url}/api/v1"}]
    return document
