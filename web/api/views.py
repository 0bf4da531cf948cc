"""The JSON API's routes: parse, call one use case, return JSON (see PRODUCT.md "JSON API")."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from workflows.cases.decisions import claim, complete_task
from workflows.cases.reporting import report_case
from workflows.evaluation import appeals
from workflows.people.tokens import revoke_token_id
from workflows.reads import queries

from . import bp, schemas
from .openapi import openapi_document
from .support import (
    JSON_LIMIT,
    ApiError,
    actor,
    authenticated,
    check_schema,
    json_object,
    json_response,
    query_bool,
    query_int,
    query_text,
    system,
)

DEFINITION_LIMIT = 16 * 1024 * 1024
"""Largest process-definition upload."""
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DEFINITION_SUFFIXES = (".bpmn", ".dmn", ".json")


def page() -> queries.Page:
    return queries.Page(query_int("page", 1), query_int("per_page", 20))


# --- the document ---------------------------------------------------------------------------

@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API (no authentication needed)."""
    return json_response(openapi_document(request.host_url.rstrip("/")))


# --- cases ----------------------------------------------------------------------------------

@bp.post("/cases")
@authenticated
def create_case():
    body = {key: value for key, value in json_object().items() if value is not None}  # null = not given
    check_schema(body, schemas.CASE_CREATE)
    created = report_case(system(), actor=actor(), **body)
    return json_response(created, 201, {"Location": f"{request.script_root}/api/v1/cases/{created['number']}"})


@bp.get("/cases")
@authenticated
def list_cases():
    filters = {"status": query_text("status"), "level": query_text("level"), "org_unit": query_text("org_unit"),
               "overdue": query_bool("overdue"), "q": query_text("q")}
    return json_response(queries.list_cases(system(), actor(), filters, page()))


@bp.get("/cases/<number>")
@authenticated
def get_case(number: str):
    return json_response(queries.get_case_detail(system(), actor(), number))


@bp.post("/cases/<number>/photos")
@authenticated
def upload_photos(number: str):
    """Attach photos (multipart ``file`` parts) to a case; answers their references for ``photos`` fields."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, f"send the photos as multipart/form-data parts named 'file' (got "
                       f"{request.mimetype or 'no Content-Type'!r})")
    files = [((part.filename or "photo").replace("\x00", ""), part.read()) for part in request.files.getlist("file")]
    purpose = request.form.get("purpose") or "result"
    refs = queries.upload_photos(system(), actor(), number, files, purpose)
    return json_response({"photos": refs}, 201)


# --- tasks ----------------------------------------------------------------------------------

@bp.get("/tasks")
@authenticated
def list_tasks():
    filters = {"case_number": query_text("case_number"), "org_unit": query_text("org_unit"),
               "department": query_text("department"), "claimed_by": query_text("claimed_by"),
               "overdue": query_bool("overdue"), "level": query_text("level"), "category": query_text("category"),
               "q": query_text("q"), "below": query_bool("below"), "sort": query_text("sort")}
    return json_response(queries.list_tasks(system(), actor(), filters, page()))


@bp.get("/tasks/<task_id>")
@authenticated
def get_task(task_id: str):
    return json_response(queries.get_task_detail(system(), actor(), task_id))


@bp.post("/tasks/<task_id>/claim")
@authenticated
def claim_task(task_id: str):
    return json_response(claim(system(), actor(), task_id))


@bp.post("/tasks/<task_id>/complete")
@authenticated
def complete(task_id: str):
    data = json_object()
    return json_response(complete_task(system(), actor(), task_id, data))


# --- meetings -------------------------------------------------------------------------------

@bp.get("/meetings/<int:meeting_id>")
@authenticated
def get_meeting(meeting_id: int):
    return json_response(queries.get_meeting_detail(system(), actor(), meeting_id))


# --- process definitions --------------------------------------------------------------------

@bp.get("/process-definitions")
@authenticated
def list_definitions():
    require_admin("list process definitions")
    filters = {"process_id": query_text("process_id"), "active": query_bool("active")}
    return json_response(queries.list_process_versions(system(), filters, page()))


@bp.post("/process-definitions")
@authenticated
def deploy_definitions():
    require_admin("deploy process definitions")
    versions = queries.deploy_definitions(system(), actor(), uploaded_files())
    status = 201 if any(v["created"] for v in versions) else 200
    return json_response({"versions": versions}, status)


def require_admin(what: str) -> None:
    if g.principal.role != "admin":
        raise ApiError(403, f"{g.principal.username} is a {g.principal.role}: only admins {what}")


def uploaded_files() -> dict[str, str]:
    """The files of a deploy request: one raw XML body, or multipart ``file`` parts."""
    mimetype = request.mimetype
    if mimetype in ("application/xml", "text/xml"):
        return {_raw_filename(): _text(request.get_data(), "the request body")}
    if mimetype == "multipart/form-data":
        parts = request.files.getlist("file")
        if not parts:
            raise ApiError(400, "no file parts: send each BPMN, DMN or JSON form file as a part named 'file'")
        files = {}
        for part in parts:
            name = (part.filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
            if not name:
                raise ApiError(400, "a 'file' part has no filename; give each part its file name, e.g. case.bpmn")
            if name in files:
                raise ApiError(400, f"file {name!r} is sent twice; send each file once")
            if "\x00" in name:
                raise ApiError(400, "a file name contains a NUL character; rename the file")
            files[name] = _text(part.read(), f"file {name!r}")
        return files
    raise ApiError(415, f"send one BPMN/DMN document as application/xml, or files as multipart/form-data "
                   f"parts named 'file' (got {mimetype or 'no Content-Type'!r})")


def _raw_filename() -> str:
    name = query_text("filename")
    if name is not None:
        if not name.lower().endswith(DEFINITION_SUFFIXES) or "/" in name or "\\" in name:
            raise ApiError(400, f"filename {name!r} is not usable; give a plain name ending in .bpmn or .dmn")
        return name
    head = request.get_data()[:4096]
    return "upload.bpmn" if BPMN_NS.encode() in head else "upload.dmn" if b"DMN" in head else "upload.bpmn"


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, f"{what} is not UTF-8 text; save it as UTF-8") from None


# --- reference data -------------------------------------------------------------------------

@bp.get("/org-units")
@authenticated
def list_org_units():
    filters = {"level": query_text("level"), "parent": query_text("parent")}
    return json_response(queries.list_org_units(system(), filters, page()))


@bp.get("/departments")
@authenticated
def list_departments():
    return json_response(queries.list_departments(system(), page()))


@bp.get("/categories")
@authenticated
def list_categories():
    return json_response(queries.list_categories(system(), {"parent": query_text("parent")}, page()))


# --- tokens ---------------------------------------------------------------------------------

@bp.delete("/tokens/current")
@authenticated
def revoke_current_token():
    """Revoke the token this request was made with; it stops working at once."""
    revoke_token_id(system(), g.principal.token_id)
    return "", 204


# --- anything else under /api/v1 -------------------------------------------------------------

@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    """A JSON 404 for unknown paths, or 405 when the path exists for other methods."""
    allowed = _methods_for(request.path)
    if allowed:
        raise ApiError(405, f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                       headers={"Allow": ", ".join(allowed)})
    raise ApiError(404, f"there is no API resource at {request.path}; see {request.script_root}/api/v1/openapi.json")


def _methods_for(path: str) -> list[str]:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != f"{bp.name}.unknown":
            allowed.append(method)
    return allowed


@bp.before_request
def limit_body_size():
    """JSON bodies up to 1 MB; process-definition and photo uploads up to 16 MB."""

    uploading = request.endpoint in (f"{bp.name}.deploy_definitions", f"{bp.name}.upload_photos")
    request.max_content_length = DEFINITION_LIMIT if uploading else JSON_LIMIT
    for name, value in [*(request.view_args or {}).items(), *request.args.items(multi=True)]:
        if isinstance(value, str) and "\x00" in value:
            raise ApiError(400, f"{name} contains a NUL character; remove it",
                           details=[{"field": name, "message": "contains a NUL character"}])


# --- appeals (申诉) ---------------------------------------------------------------------------

@bp.get("/cases/<number>/charges")
@authenticated
def list_case_charges(number: str):
    return json_response(appeals.case_charges(system(), actor(), number))


@bp.post("/cases/<number>/appeals")
@authenticated
def file_appeal(number: str):
    body = json_object()
    check_schema(body, schemas.APPEAL_CREATE)
    return json_response(appeals.file_appeal(system(), actor(), number, body["charge"], body["reason"]), 201)


@bp.get("/appeals")
@authenticated
def list_appeals():
    return json_response(appeals.pending_appeals(system(), actor()))


@bp.post("/appeals/<int:appeal_id>/decision")
@authenticated
def decide_appeal(appeal_id: int):
    body = json_object()
    check_schema(body, schemas.APPEAL_DECISION)
    return json_response(appeals.decide_appeal(system(), actor(), appeal_id, body["decision"], body.get("note")))


# --- metrics --------------------------------------------------------------------------------

@bp.get("/metrics")
@authenticated
def get_metrics():
    """Evaluation figures for a period (``from``, ``to``: dates or ISO date-times), grouped by ``group_by``."""
    return json_response(queries.get_metrics(system(), actor(), query_text("from"), query_text("to"),
                                             query_text("group_by"), query_text("org_unit"),
                                             query_text("unit_level")))
