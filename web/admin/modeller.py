"""The BPMN/DMN modeller: open a version or a draft, save drafts, validate and deploy (JSON calls)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflows.admin import drafts, versions
from workflows.errors import DomainError

from ..i18n import preview_line
from . import bp
from .common import actor, json_body, json_error, system


@bp.get("/modeller")
def modeller():
    """Open the active (or a given) version of a process, a draft, or an empty bundle."""
    draft_id, process_id = request.args.get("draft"), request.args.get("process")
    if draft_id:
        draft = drafts.get_draft(system(), draft_id)
        bundle = {"files": draft["files"], "process_id": draft["process_id"], "version": draft["base_version"],
                  "draft_id": draft["id"], "title": draft["title"], "status": draft["status"],
                  "main": versions.main_file(draft["files"], draft["process_id"])}
    elif process_id:
        found = versions.version_files(system(), process_id, request.args.get("version"))
        bundle = {**found, "draft_id": None, "title": process_id, "status": "open"}
    else:
        bundle = {"files": {}, "process_id": None, "version": None, "draft_id": None, "title": "", "main": None,
                  "status": "open"}
    return render_template("modeller/modeller.html", bundle=bundle, descriptor=_descriptor(), messages=_messages())


def _messages() -> dict[str, str]:
    """The modeller script's messages in the page's language (placeholders: %(name)s)."""
    return {
        "validating": _("Validating…"), "saving": _("Saving the draft…"), "deploying": _("Validating and deploying…"),
        "valid": _("Valid: ready to deploy."),
        "invalid": _("%(n)s problem(s): fix them before deploying.", n="%(n)s"),
        "not_deployed": _("Not deployed: %(n)s problem(s). Fix them and deploy again.", n="%(n)s"),
        "unchanged": _("Nothing changed: every process already has this content deployed."),
        "deployed": _("Deployed: %(versions)s.", versions="%(versions)s"),
        "saved": _("Draft %(id)s saved at %(time)s.", id="%(id)s", time="%(time)s"),
        "imported": _("Imported %(names)s.", names="%(names)s"),
        "bad_files": _("%(names)s: only .bpmn, .dmn and .json files can be imported.", names="%(names)s"),
        "open_failed": _("Could not open %(name)s: %(error)s", name="%(name)s", error="%(error)s"),
        "warnings": _("%(name)s: %(n)s import warning(s): %(list)s", name="%(name)s", n="%(n)s", list="%(list)s"),
        "server": _("The server answered %(status)s.", status="%(status)s"),
        "panel_script": _("Script (Python)"), "panel_prescript": _("Pre-script (Python, before the task)"),
        "panel_postscript": _("Post-script (Python, after the task)"), "panel_decision": _("Called decision id"),
        "panel_called": _("Called process id"), "panel_condition": _("Condition (Python expression)"),
        "panel_property": _("Property %(name)s", name="%(name)s"),
        "panel_add_property": _("Add property (name=value)"),
        "panel_group": _("gridlink process properties (SpiffWorkflow)"),
    }


def _descriptor() -> str:
    """The moddle descriptor of the spiffworkflow namespace (read once)."""
    global _DESCRIPTOR
    if _DESCRIPTOR is None:
        _DESCRIPTOR = (Path(current_app.static_folder) / "modeller" / "spiffworkflow.json").read_text(encoding="utf-8")
    return _DESCRIPTOR


_DESCRIPTOR: str | None = None





@bp.post("/modeller/validate")
def validate():
    try:
        problems = versions.validate_files(system(), json_body().get("files"))
    except DomainError as error:
        return json_error(error)
    return jsonify(valid=not problems, problems=worded_problems(problems))


@bp.post("/modeller/drafts")
def save_draft():
    try:
        body = json_body()
        draft = drafts.save_draft(system(), actor(), body.get("files"), body.get("draft_id"), body.get("title"),
                                  body.get("process_id"), _int_or_none(body.get("base_version")))
    except DomainError as error:
        return json_error(error)
    return jsonify(draft={k: v for k, v in draft.items() if k != "files"})


@bp.post("/modeller/deploy")
def deploy():
    try:
        body = json_body()
        result = versions.deploy_files(system(), actor(), body.get("files"), body.get("draft_id"))
    except DomainError as error:
        return json_error(error)
    return jsonify(dict(result, problems=worded_problems(result["problems"]))), (200 if result["deployed"] else 422)


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@bp.get("/drafts")
def drafts_list():
    return render_template("admin/drafts.html", drafts=drafts.list_drafts(system(), status=None))


@bp.post("/drafts/<int:draft_id>/delete")
def delete_draft(draft_id: int):
    drafts.delete_draft(system(), actor(), draft_id)
    flash(_("Draft %(id)s was deleted.", id=draft_id), "success")
    return redirect(url_for("admin.drafts_list"))


def worded_problems(problems: list[dict]) -> list[dict]:
    """Deploy problems with their messages in the reader's language (their codes and lines kept)."""
    return [dict(p, message=preview_line(p["message"])) for p in problems]
