"""API routes of coordination documents (整改通知单, 督办单) and the small-matters fund, with their
schemas and OpenAPI paths (merged into the document by ``web/api/openapi.py``)."""

from __future__ import annotations

from flask import Response, request

from workflows.coordination import documents, fund

from . import bp, schemas
from .support import ApiError, actor, authenticated, check_schema, json_object, json_response, query_int, system

NULLABLE_TEXT = schemas.NULLABLE_TEXT
TEXT = {"type": "string", "minLength": 1}

ADDRESSEE = {
    "type": "object", "required": ["kind"], "additionalProperties": False,
    "description": "Who receives it: an org unit or department (`code`), a user (`username`), or an outside "
                   "party (`name`, e.g. the landlord 王某), with an optional `contact`.",
    "properties": {"kind": {"type": "string", "enum": ["org_unit", "department", "user", "outside"]},
                   "code": {"type": "string", "maxLength": 64}, "username": {"type": "string", "maxLength": 64},
                   "name": {"type": "string", "maxLength": 200}, "contact": {"type": "string", "maxLength": 200}},
}
DOCUMENT_CREATE = {
    "type": "object", "required": ["kind", "addressee", "requirement", "deadline"], "additionalProperties": False,
    "properties": {"kind": {"type": "string", "enum": ["notice", "supervision"],
                            "description": "`notice` 整改通知单 or `supervision` 督办单."},
                   "addressee": ADDRESSEE, "requirement": {"type": "string", "minLength": 1, "maxLength": 4000},
                   "deadline": {"type": "string", "format": "date-time", "description": "In the future, within a "
                                "year, with a time zone."}},
}
DOCUMENT_STATE = {
    "type": "object", "required": ["state"], "additionalProperties": False,
    "properties": {"state": {"type": "string", "enum": ["served", "answered", "complied"]},
                   "note": {"type": "string", "maxLength": 4000}},
}
DOCUMENT = {
    "type": "object",
    "required": ["id", "number", "kind", "case_number", "issuer", "addressee", "requirement", "deadline", "issued_at",
                 "state", "overdue", "pdf", "history"],
    "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "description": "e.g. 整改〔2026〕第 12 号"},
        "kind": {"type": "string", "enum": ["notice", "supervision"]}, "case_number": {"type": "string"},
        "issuer": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                    "level": {"type": "string"}}},
        "issued_by": NULLABLE_TEXT,
        "addressee": {"type": "object", "required": ["kind", "name"],
                      "properties": {"kind": {"type": "string"}, "name": {"type": "string"}, "contact": NULLABLE_TEXT,
                                     "code": {"type": "string"}, "username": {"type": "string"}}},
        "requirement": {"type": "string"}, "deadline": schemas.DATE_TIME, "issued_at": schemas.DATE_TIME,
        "state": {"type": "string", "enum": ["issued", "served", "answered", "complied"]},
        "overdue": {"type": "boolean", "description": "Past the deadline and not complied."},
        "pdf": {"type": "string", "description": "Path of the printable PDF."},
        "history": {"type": "array", "items": {"type": "object", "properties": {
            "state": {"type": "string"}, "at": schemas.DATE_TIME, "actor": NULLABLE_TEXT, "note": NULLABLE_TEXT}}},
    },
}
SPEND_CREATE = {
    "type": "object", "required": ["amount_cents", "payee", "purpose"], "additionalProperties": False,
    "properties": {"amount_cents": {"type": "integer", "minimum": 1, "maximum": 10**13},
                   "payee": {"type": "string", "minLength": 1, "maxLength": 200},
                   "purpose": {"type": "string", "minLength": 1, "maxLength": 2000}},
}
SPEND_DECISION = {
    "type": "object", "required": ["decision"], "additionalProperties": False,
    "properties": {"decision": {"type": "string", "enum": ["approve", "refuse"]},
                   "note": {"type": "string", "maxLength": 2000}},
}
SPEND = {
    "type": "object",
    "required": ["id", "case_number", "workstation", "amount_cents", "payee", "purpose", "status", "proposed_at"],
    "properties": {
        "id": {"type": "integer"}, "case_number": {"type": "string"}, "workstation": {"type": "string"},
        "amount_cents": {"type": "integer"}, "payee": NULLABLE_TEXT, "purpose": {"type": "string"},
        "status": {"type": "string", "enum": ["proposed", "approved", "refused"],
                   "description": "`proposed` waits for the station chief; only `approved` spends are paid."},
        "proposed_by": NULLABLE_TEXT, "proposed_at": schemas.DATE_TIME, "decided_by": NULLABLE_TEXT,
        "decided_at": schemas.NULLABLE_TIME, "decision_note": NULLABLE_TEXT, "receipt": {"type": "boolean"},
        "balance_cents": {"type": "integer", "description": "The fund's balance after this request."},
        "may_decide": {"type": "boolean"},
    },
}
RECEIPT_LIMIT = 9 * 1024 * 1024
CASE_READ_ERRORS = (400, 401, 403, 404, 405, 422)


def _paged(items: list) -> dict:
    page, per_page = query_int("page", 1), query_int("per_page", 20)
    if not 1 <= page <= 10_000_000 or not 1 <= per_page <= 200:
        raise ApiError(422, f"page {page} / per_page {per_page} is not allowed; give page >= 1 and per_page 1..200",
                       details=[{"field": "per_page" if page >= 1 else "page", "message": "out of range"}])
    start = (page - 1) * per_page
    return {"items": items[start:start + per_page], "page": page, "per_page": per_page, "total": len(items)}


# --- documents ----------------------------------------------------------------------------------

@bp.get("/cases/<number>/documents")
@authenticated
def list_documents(number: str):
    return json_response(_paged(documents.case_documents(system(), actor(), number)))


@bp.post("/cases/<number>/documents")
@authenticated
def issue_document(number: str):
    body = json_object()
    check_schema(body, DOCUMENT_CREATE)
    issued = documents.issue_document(system(), actor(), number, body["kind"], body["addressee"],
                                      body["requirement"], body["deadline"])
    return json_response(issued, 201, {"Location": f"{request.script_root}/api/v1/documents/{issued['id']}"})


@bp.get("/documents/<int:document_id>")
@authenticated
def get_document(document_id: int):
    return json_response(documents.document_view(system(), actor(), document_id))


@bp.get("/documents/<int:document_id>.pdf")
@authenticated
def document_pdf(document_id: int):
    content, filename = documents.document_pdf(system(), actor(), document_id)
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/documents/<int:document_id>/state")
@authenticated
def record_document_state(document_id: int):
    body = json_object()
    check_schema(body, DOCUMENT_STATE)
    return json_response(documents.record_state(system(), actor(), document_id, body["state"], body.get("note")))


# --- the fund -----------------------------------------------------------------------------------

@bp.get("/cases/<number>/fund-spends")
@authenticated
def list_fund_spends(number: str):
    return json_response(_paged(fund.case_spends(system(), actor(), number)))


@bp.post("/cases/<number>/fund-spends")
@authenticated
def propose_fund_spend(number: str):
    """JSON, or multipart/form-data with the same fields and the receipt photo as part ``receipt``."""
    receipt = None
    if request.mimetype == "multipart/form-data":
        body = _form_spend()
        part = request.files.get("receipt")
        receipt = ((part.filename or "receipt").replace("\x00", ""), part.read()) if part else None
    else:
        body = json_object()
    check_schema(body, SPEND_CREATE)
    spent = fund.spend_fund(system(), actor(), number, body["amount_cents"], body["purpose"], body["payee"], receipt)
    return json_response(spent, 201)


def _form_spend() -> dict:
    body: dict = {key: request.form[key] for key in ("payee", "purpose") if key in request.form}
    text = request.form.get("amount_cents", "")
    if text:
        body["amount_cents"] = int(text) if text.isdigit() and len(text) < 16 else text
    return body


@bp.post("/fund-spends/<int:spend_id>/decision")
@authenticated
def decide_fund_spend(spend_id: int):
    body = json_object()
    check_schema(body, SPEND_DECISION)
    return json_response(fund.decide_spend(system(), actor(), spend_id, body["decision"], body.get("note")))


@bp.before_request
def allow_receipt_uploads():
    if request.endpoint == f"{bp.name}.propose_fund_spend" and request.mimetype == "multipart/form-data":
        request.max_content_length = RECEIPT_LIMIT


# --- the OpenAPI paths --------------------------------------------------------------------------

def paths(ok, ref, errors, param, listing, json) -> dict:
    """The paths of this module, built with openapi.py's helpers (passed in to avoid a cycle)."""
    number = param("number", "path", {"type": "string"}, "The case number.")
    document_id = param("document_id", "path", {"type": "integer"}, "The document id (listed on its case).")
    spend_id = param("spend_id", "path", {"type": "integer"}, "The spend id (listed on its case).")
    return {
        "/cases/{number}/documents": {
            "get": {**listing("Rectification notices and supervision orders issued on a case, oldest first",
                              "Document", [number], errors=CASE_READ_ERRORS)["get"],
                    "operationId": "list_documents"},
            "post": {
                "summary": "Issue a rectification notice (整改通知单) or supervision order (督办单)",
                "description": "Coordinators of the unit holding the case or a unit above it; a supervision order "
                               "comes from above the unit it supervises. Numbered per year and kind, on the "
                               "timeline (`notice_issued`, `supervised`), notified to the addressee's users.",
                "operationId": "issue_document", "parameters": [number],
                "requestBody": {"required": True, "content": json(ref("DocumentCreate"))},
                "responses": {"201": ok("The issued document.", ref("Document")),
                              **errors(401, 403, 404, 405, 413, 415, 422)},
            },
        },
        "/documents/{document_id}": {"get": {
            "summary": "One document with its state history", "operationId": "get_document",
            "parameters": [document_id],
            "responses": {"200": ok("The document.", ref("Document")), **errors(401, 403, 404, 405)},
        }},
        "/documents/{document_id}.pdf": {"get": {
            "summary": "The printable PDF of a document (for those who may read its case, or its addressee)",
            "operationId": "document_pdf", "parameters": [document_id],
            "responses": {"200": {"description": "The PDF.", "content": {"application/pdf": {
                "schema": {"type": "string", "format": "binary"}}}}, **errors(401, 403, 404, 405)},
        }},
        "/documents/{document_id}/state": {"post": {
            "summary": "Record that a document was served, answered or complied with (forward only)",
            "description": "The issuing unit (or one above) records any state; the addressee's own staff may "
                           "record `answered`. A state that is not later than the current one is a 409.",
            "operationId": "record_document_state", "parameters": [document_id],
            "requestBody": {"required": True, "content": json(ref("DocumentState"))},
            "responses": {"200": ok("The document.", ref("Document")),
                          **errors(401, 403, 404, 405, 409, 413, 415, 422)},
        }},
        "/cases/{number}/fund-spends": {
            "get": {**listing("Spends from the small-matters fund on a case", "FundSpend", [number],
                            errors=CASE_READ_ERRORS)["get"],
                    "operationId": "list_fund_spends"},
            "post": {
                "summary": "Propose a spend from the workstation's small-matters fund",
                "description": "Coordinators of the case's workstation or of its communities, on an open case they "
                               "may read. Up to the approval threshold it is paid at once (`approved`); above it, "
                               "it waits (`proposed`) for the station chief. 409 `fund_case_finished` on a closed "
                               "case, 409 `fund_overdrawn` past the balance, 403 outside the spender's scope. "
                               "Send JSON, or multipart/form-data with the receipt photo as part `receipt`.",
                "operationId": "propose_fund_spend", "parameters": [number],
                "requestBody": {"required": True, "content": {
                    **json(ref("FundSpendCreate")),
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["amount_cents", "payee", "purpose"],
                        "properties": {"amount_cents": {"type": "integer", "minimum": 1},
                                       "payee": {"type": "string"}, "purpose": {"type": "string"},
                                       "receipt": {"type": "string", "format": "binary",
                                                   "description": "JPEG, PNG, GIF or WebP, at most 8 MB."}}}},
                }},
                "responses": {"201": ok("The spend and the balance.", ref("FundSpend")),
                              **errors(401, 403, 404, 405, 409, 413, 415, 422)},
            },
        },
        "/fund-spends/{spend_id}/decision": {"post": {
            "summary": "The station chief approves (pays) or refuses a proposed spend",
            "description": "Never the proposer. A spend already decided is a 409 `fund_already_decided`.",
            "operationId": "decide_fund_spend", "parameters": [spend_id],
            "requestBody": {"required": True, "content": json(ref("FundSpendDecision"))},
            "responses": {"200": ok("The decided spend and the balance.", ref("FundSpend")),
                          **errors(401, 403, 404, 405, 409, 413, 415, 422)},
        }},
    }


COMPONENTS = {"Document": DOCUMENT, "DocumentCreate": DOCUMENT_CREATE, "DocumentState": DOCUMENT_STATE,
              "FundSpend": SPEND, "FundSpendCreate": SPEND_CREATE, "FundSpendDecision": SPEND_DECISION}
