"""Process versions: list, download, make active, and migrate running cases between versions."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflows.admin import drafts, incidents, versions

from ..security import redirect_target
from . import bp
from .common import actor, system


@bp.get("/processes")
def processes():
    return render_template("admin/processes.html", processes=versions.list_processes(system()),
                           drafts=drafts.list_drafts(system()))


@bp.get("/processes/<process_id>")
def process(process_id: str):
    info = versions.process_versions(system(), process_id)
    return render_template("admin/process.html", process=info,
                           batches=versions.migration_batches(system(), process_id))


@bp.get("/processes/<process_id>/versions/<int:version>/files/<path:filename>")
def download(process_id: str, version: int, filename: str):
    text = versions.version_file(system(), process_id, version, filename)
    kind = "application/json" if filename.endswith(".json") else "application/xml"
    safe = "".join(c for c in filename if c.isalnum() or c in "._-") or "file"
    return Response(text, mimetype=kind, headers={"Content-Disposition": f'attachment; filename="v{version}-{safe}"'})


@bp.post("/processes/<process_id>/versions/<int:version>/activate")
def activate(process_id: str, version: int):
    result = versions.activate_version(system(), actor(), process_id, version)
    flash(_("Version %(version)s of %(process)s is now active: new cases use it; running cases stay on "
            "their version.", version=result["version"], process=process_id), "success")
    return redirect(url_for("admin.process", process_id=process_id))


@bp.get("/processes/<process_id>/migrate")
def migrate_preview(process_id: str):
    source, target = request.args.get("from"), request.args.get("to")
    if not source or not target:
        flash(_("Choose the version to move cases from and the version to move them to."), "error")
        return redirect(url_for("admin.process", process_id=process_id))
    plan = versions.preview_migration(system(), process_id, source, target)
    return render_template("admin/migrate.html", plan=plan, process_id=process_id)


@bp.post("/processes/<process_id>/migrate")
def migrate(process_id: str):
    chosen = request.form.getlist("instance")
    if not chosen:
        flash(_("No case was ticked: tick the cases to move, or none moves."), "error")
        return redirect(url_for("admin.migrate_preview", process_id=process_id, **{
            "from": request.form.get("from"), "to": request.form.get("to")}))
    result = versions.migrate_cases(system(), actor(), process_id, request.form.get("from"),
                                    request.form.get("to"), chosen)
    flash(_("Moved %(n)s case(s) (migration %(batch)s); %(skipped)s could not move.", n=len(result["moved"]),
            batch=result["batch"], skipped=len(result["skipped"])), "success")
    return redirect(url_for("admin.process", process_id=process_id) + "#migrations")


@bp.post("/migrations/<batch>/reverse")
def reverse(batch: str):
    target = redirect_target(request.form.get("next")) or ""  # a bad target is refused before acting
    result = versions.reverse_migration(system(), actor(), batch)
    flash(_("Reversed migration %(batch)s: %(n)s case(s) back on their old version; %(refused)s refused.",
            batch=batch, n=len(result["restored"]), refused=len(result["refused"])), "success")
    for item in result["refused"]:
        flash(f"{item['case_number']}: {item['reason']}", "warning")
    return redirect(target if target.startswith("/admin/") else url_for("admin.processes"))


@bp.get("/incidents")
def incidents_list():
    return render_template("admin/incidents.html", incidents=incidents.list_incidents(system()))


@bp.post("/incidents/<int:incident_id>/retry")
def incident_retry(incident_id: int):
    status = incidents.retry_incident(system(), actor(), incident_id)
    flash(_("Incident %(id)s retried: the case is %(status)s again.", id=incident_id, status=status), "success")
    return redirect(url_for("admin.incidents_list"))
