"""JSON Schemas of the API's bodies and records: used to check requests and to build the OpenAPI document.

They are written in the JSON Schema subset that OpenAPI 3.0 understands (``nullable`` instead of
``type: [..., "null"]``); ``check_schema`` validates requests against the same dicts.
"""

from __future__ import annotations

from workflows.cases.models import CASE_SOURCES, CASE_STATUSES, TIMELINE_KINDS
from workflows.evaluation.figures import BY_KEY
from workflows.evaluation.figures import COUNT_KEYS as STANDARD_COUNT_KEYS
from workflows.evaluation.figures import RATE_KEYS as STANDARD_RATE_KEYS
from workflows.org.models import LEVELS

DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
NULLABLE_TEXT = {"type": "string", "nullable": True}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


CASE_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "category", "source"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "A short title."},
        "description": {"type": "string", "maxLength": 10000},
        "category": {"type": "string", "description": "A category code (GET /api/v1/categories)."},
        "source": {"type": "string", "enum": list(CASE_SOURCES)},
        "grid": {"type": "string", "description": "Grid code; or give lat+lon, or an address."},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "address": {"type": "string", "maxLength": 300},
        "reporter": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "maxLength": 100},
                           "phone": {"type": "string", "maxLength": 40},
                           "email": {"type": "string", "maxLength": 254}},
        },
        "self_closed": {
            "type": "object",
            "additionalProperties": False,
            "required": ["result"],
            "properties": {"result": {"type": "string", "minLength": 1}},
            "description": "A grid worker closed it on the spot: it enters at verification.",
        },
    },
}

CASE_CREATED = {
    "type": "object",
    "required": ["number", "status", "level", "org_unit", "due_at", "query_code"],
    "properties": {
        "number": {"type": "string"},
        "query_code": {"type": "string", "pattern": "^[2-9A-HJKMNP-Z]{8}$",
                       "description": "The reporter's query code (查询码), shown in this answer only (gridlink keeps "
                                      "just its hash): give it to the reporter with the number; /track and "
                                      "rating need both."},
        "status": {"type": "string", "enum": list(CASE_STATUSES)},
        "level": {"type": "string", "enum": list(LEVELS)},
        "org_unit": {"type": "string"},
        "due_at": NULLABLE_TIME,
        "duplicates": {"type": "array", "items": {"type": "string"},
                       "description": "Open cases that may report the same problem."},
    },
}

TASK = {
    "type": "object",
    "required": ["id", "name", "title", "case_number", "level", "org_unit", "department", "claimed_by",
                 "due_at", "overdue"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "title": NULLABLE_TEXT,
        "task_kind": NULLABLE_TEXT,
        "case_number": NULLABLE_TEXT,
        "level": nullable({"type": "string", "enum": list(LEVELS)}),
        "org_unit": NULLABLE_TEXT,
        "department": NULLABLE_TEXT,
        "claimed_by": NULLABLE_TEXT,
        "due_at": NULLABLE_TIME,
        "overdue": {"type": "boolean"},
        "created_at": NULLABLE_TIME,
        "action": NULLABLE_TEXT,
    },
}

TASK_DETAIL = {
    "allOf": [TASK, {
        "type": "object",
        "required": ["form"],
        "properties": {"form": {"type": "object", "nullable": True,
                                "description": "The JSON Schema the completion data must satisfy."}},
    }],
}

TIMELINE_ITEM = {
    "type": "object",
    "required": ["at", "kind", "actor", "level", "note"],
    "properties": {
        "at": DATE_TIME,
        "kind": {"type": "string", "description": "One of " + ", ".join(TIMELINE_KINDS) + " (more may be added)."},
        "actor": NULLABLE_TEXT,
        "level": NULLABLE_TEXT,
        "note": NULLABLE_TEXT,
        "note_key": {"type": "string", "nullable": True,
                     "description": "A note written by the system as data: its kind (e.g. deadline_near, "
                                    "level_overdue, migrated), worded by the reader; ``note`` is then null."},
        "note_params": {"type": "object", "description": "The values of a ``note_key`` note (codes, numbers)."},
        "org_unit": NULLABLE_TEXT,
        "department": NULLABLE_TEXT,
        "data": {"type": "object", "nullable": True},
    },
}

CASE = {
    "type": "object",
    "required": ["number", "title", "description", "category", "source", "status", "level", "org_unit",
                 "due_at", "created_at", "closed_at"],
    "properties": {
        "number": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "category": {"type": "string"},
        "source": {"type": "string", "enum": list(CASE_SOURCES)},
        "status": {"type": "string", "enum": list(CASE_STATUSES)},
        "level": {"type": "string", "enum": list(LEVELS)},
        "org_unit": {"type": "string"},
        "grid": NULLABLE_TEXT,
        "lat": {"type": "number", "nullable": True},
        "lon": {"type": "number", "nullable": True},
        "address": NULLABLE_TEXT,
        "due_at": NULLABLE_TIME,
        "created_at": DATE_TIME,
        "closed_at": NULLABLE_TIME,
        "closed_level": NULLABLE_TEXT,
        "rating": {"type": "integer", "nullable": True},
        "self_closed": {"type": "boolean"},
        "reworked_count": {"type": "integer"},
        "merged_into": NULLABLE_TEXT,
    },
}

CASE_DETAIL = {
    "allOf": [CASE, {
        "type": "object",
        "required": ["timeline", "open_tasks"],
        "properties": {
            "timeline": {"type": "array", "items": TIMELINE_ITEM},
            "open_tasks": {"type": "array", "items": TASK},
            "reporter": {"type": "object", "properties": {"name": NULLABLE_TEXT, "phone": NULLABLE_TEXT},
                         "description": "Masked for department staff."},
            "attachments": {"type": "array", "items": {"type": "object"}},
            "dispatches": {"type": "array", "items": {"type": "object"}},
            "meetings": {"type": "array", "items": {"type": "integer"}},
            "duplicates": {"type": "array", "items": {"type": "string"}},
        },
    }],
}

MEETING = {
    "type": "object",
    "required": ["id", "case_number", "level", "org_unit", "urgency", "status", "summoned", "actions"],
    "properties": {
        "id": {"type": "integer"},
        "case_number": {"type": "string"},
        "level": {"type": "string", "enum": list(LEVELS)},
        "org_unit": {"type": "string"},
        "urgency": {"type": "string", "enum": ["routine", "tough", "emergency"]},
        "scheduled_at": NULLABLE_TIME,
        "place": NULLABLE_TEXT,
        "topic": {"type": "string"},
        "status": {"type": "string", "enum": ["summoned", "resolved", "confirmed"]},
        "duty_deadline": NULLABLE_TIME,
        "minutes": NULLABLE_TEXT,
        "lead_department": NULLABLE_TEXT,
        "outcome": NULLABLE_TEXT,
        "confirmed_at": NULLABLE_TIME,
        "summoned": {"type": "array", "items": {
            "type": "object",
            "required": ["department", "deadline", "reported_at", "delegate", "late"],
            "properties": {"department": {"type": "string"}, "deadline": NULLABLE_TIME,
                           "reported_at": NULLABLE_TIME, "delegate": NULLABLE_TEXT, "late": {"type": "boolean"}},
        }},
        "actions": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "department", "action", "due_at", "result", "done_at"],
            "properties": {"id": {"type": "integer"}, "department": NULLABLE_TEXT, "org_unit": NULLABLE_TEXT,
                           "party": NULLABLE_TEXT, "action": {"type": "string"},
                           "phase": nullable({"type": "string", "enum": ["survey", "preliminary",
                                                                         "concentrated"]}),
                           "due_at": NULLABLE_TIME, "result": NULLABLE_TEXT, "done_at": NULLABLE_TIME,
                           "overdue": {"type": "boolean"}},
        }},
    },
}

ORG_UNIT = {
    "type": "object",
    "required": ["code", "name", "level", "parent"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                   "level": {"type": "string", "enum": list(LEVELS)}, "parent": NULLABLE_TEXT,
                   "lat": {"type": "number", "nullable": True}, "lon": {"type": "number", "nullable": True}},
}

DEPARTMENT = {
    "type": "object",
    "required": ["code", "name"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
}

CATEGORY = {
    "type": "object",
    "required": ["code", "name", "parent", "department", "time_limit"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "name_en": NULLABLE_TEXT,
                   "kind": {"type": "string", "enum": ["component", "event"]}, "parent": NULLABLE_TEXT,
                   "department": NULLABLE_TEXT,
                   "time_limit": {"type": "string", "nullable": True, "description": "ISO-8601 duration."}},
}

PROCESS_VERSION = {
    "type": "object",
    "required": ["id", "process_id", "version", "active", "deployed_at", "files"],
    "properties": {"id": {"type": "integer"}, "process_id": {"type": "string"}, "version": {"type": "integer"},
                   "name": NULLABLE_TEXT, "active": {"type": "boolean"}, "deployed_by": NULLABLE_TEXT,
                   "deployed_at": DATE_TIME, "files": {"type": "array", "items": {"type": "string"}},
                   "created": {"type": "boolean", "description": "False when the content was already deployed."}},
}

DEPLOYED = {
    "type": "object",
    "required": ["versions"],
    "properties": {"versions": {"type": "array", "items": PROCESS_VERSION}},
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["status", "code", "message", "details"],
        "properties": {
            "status": {"type": "integer"},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {
                "type": "object",
                "description": "Per field: {field, message}; for definitions: {file, element_id, line, message}.",
            }},
        },
    }},
}


def page_of(item: dict) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {"items": {"type": "array", "items": item}, "page": {"type": "integer", "minimum": 1},
                       "per_page": {"type": "integer", "minimum": 1}, "total": {"type": "integer", "minimum": 0}},
    }


RATE = {"type": "number", "nullable": True, "minimum": 0, "maximum": 1}
FIGURES = {
    "type": "object",
    "description": "The standard figures (workflows/evaluation/figures.py, one definition each) and their "
                   "detail: counts, and rates in 0..1 (null when the denominator is 0).",
    "required": [*STANDARD_COUNT_KEYS, *STANDARD_RATE_KEYS, "overdue_by_level", "overdue_by_department"],
    "properties": {
        **{name: {"type": "integer", "description": BY_KEY[name].name + ": " + BY_KEY[name].formula}
           for name in STANDARD_COUNT_KEYS},
        **{name: {**RATE, "description": BY_KEY[name].name + ": " + BY_KEY[name].formula}
           for name in STANDARD_RATE_KEYS},
        **{name: {"type": "integer"} for name in (
            "received", "rejected", "merged", "open", "open_past_due", "overdue_total", "accepted", "returned",
            "handled", "due_for_handling", "duty_summoned", "duty_due", "duty_on_time", "rated",
            "fund_spent_cents")},
        **{name: RATE for name in ("handling_rate", "returned_rate")},
        "closed_by_level": {"type": "object", "additionalProperties": {"type": "integer"}},
        "closed_share_by_level": {"type": "object", "additionalProperties": RATE},
        "overdue_by_level": {"type": "object", "additionalProperties": {"type": "integer"}},
        "overdue_by_department": {"type": "object", "additionalProperties": {"type": "integer"}},
        "avg_handling_hours": {"type": "number", "nullable": True},
        "avg_rating": {"type": "number", "nullable": True, "minimum": 1, "maximum": 5},
        "score": {"type": "number", "nullable": True},
        "grade": {"type": "string", "nullable": True, "enum": ["A", "B", "C", "D", "E", None]},
    },
}

METRICS = {
    "type": "object",
    "required": ["period", "scope", "group_by", "totals", "groups", "weights"],
    "properties": {
        "period": {"type": "object", "required": ["from", "to", "as_of"],
                   "properties": {"from": DATE_TIME, "to": DATE_TIME, "as_of": DATE_TIME}},
        "scope": {"type": "object", "nullable": True, "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string"}}},
        "group_by": {"type": "string", "nullable": True},
        "totals": FIGURES,
        "groups": {"type": "array", "items": {"allOf": [FIGURES, {
            "type": "object", "required": ["key", "name"],
            "properties": {"key": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string"}},
        }]}},
        "weights": {"type": "object", "additionalProperties": {"type": "object",
                                                               "additionalProperties": {"type": "number"}}},
    },
}


APPEAL_CREATE = {
    "type": "object", "additionalProperties": False, "required": ["charge", "reason"],
    "properties": {"charge": {"type": "integer", "description": "The charge's id (GET /cases/{number}/charges)."},
                   "reason": {"type": "string", "minLength": 1, "maxLength": 2000}},
}
APPEAL_DECISION = {
    "type": "object", "additionalProperties": False, "required": ["decision"],
    "properties": {"decision": {"type": "string", "enum": ["upheld", "rejected"]},
                   "note": {"type": "string", "maxLength": 2000, "description": "Required when rejecting."}},
}
APPEAL = {
    "type": "object",
    "required": ["id", "case", "charge", "kind", "party", "charge_status", "reason", "status", "filed_at"],
    "properties": {
        "id": {"type": "integer"}, "case": {"type": "string"}, "charge": {"type": "integer"},
        "kind": {"type": "string"}, "stage": {"type": "string", "nullable": True},
        "party": {"type": "string", "nullable": True}, "party_name": {"type": "string", "nullable": True},
        "charge_status": {"type": "string", "enum": ["active", "withdrawn"]}, "reason": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "upheld", "rejected"]}, "filed_at": DATE_TIME,
        "decided_at": {**DATE_TIME, "nullable": True}, "note": {"type": "string", "nullable": True},
    },
}
CHARGE = {
    "type": "object", "required": ["id", "kind", "status", "recorded_at"],
    "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                   "stage": {"type": "string", "nullable": True}, "level": {"type": "string", "nullable": True},
                   "status": {"type": "string", "enum": ["active", "withdrawn"]}, "recorded_at": DATE_TIME},
}
