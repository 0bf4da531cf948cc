"""The inbox (/inbox): the tasks of my unit or department, claiming, and each task's form."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflows.cases import decisions
from workflows.cases.task_forms import complete_with_photos
from workflows.errors import Conflict, DomainError, Forbidden, NotFound
from workflows.org.models import LEVELS
from workflows.reads import pages
from workflows.reads.tasks import SORTS

from .auth import roles_required
from .forms import build_form, check_form, domain_error_field, parse_form
from .i18n import error_text, label
from .security import redirect_target
from .system import current_system

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
ACTING_ROLES = ("coordinator", "grid_worker", "department", "admin")


def _filters() -> dict:
    args = request.args
    level = args.get("level") or None
    sort = args.get("sort") or "due"
    return {"level": level if level in LEVELS else None, "category": (args.get("category") or None),
            "overdue": args.get("overdue") == "1", "mine": args.get("mine") == "1",
            "q": (args.get("q") or "").strip()[:100] or None, "below": args.get("below") == "1",
            "sort": sort if sort in SORTS else "due"}


@bp.get("")
@roles_required(*ACTING_ROLES)
def index():
    system = current_system()
    filters = _filters()
    data = pages.inbox(system, current_user.actor, filters)
    return render_template("inbox/index.html", items=data["items"], filters=filters, levels=data["levels"],
                           sorts=data["sorts"], may_look_below=data["may_look_below"],
                           categories=pages.categories(system))


@bp.post("/tasks/<task_id>/claim")
@roles_required(*ACTING_ROLES)
def claim(task_id: str):
    target = _back(task_id)
    decisions.claim(current_system(), current_user.actor, task_id)
    flash(_("You claimed the task; colleagues see that you are on it."), "success")
    return redirect(target)


@bp.post("/tasks/<task_id>/unclaim")
@roles_required(*ACTING_ROLES)
def unclaim(task_id: str):
    target = _back(task_id)
    decisions.unclaim(current_system(), current_user.actor, task_id)
    flash(_("You released the task."), "success")
    return redirect(target)


def _back(task_id: str) -> str:
    return redirect_target(request.form.get("next")) or url_for("inbox.task", task_id=task_id)


def _task_page(task_id: str) -> dict | None:
    """The task page's data, or None (with a message) when the task is no longer open."""
    try:
        return pages.task_page(current_system(), current_user.actor, task_id)
    except (NotFound, Conflict):
        flash(_("Task %(id)s is no longer open: someone completed it or the case moved on.", id=task_id[:40]),
              "warning")
        return None


@bp.get("/tasks/<task_id>")
@roles_required(*ACTING_ROLES)
def task(task_id: str):
    page = _task_page(task_id)
    if page is None:
        return redirect(url_for("inbox.index"))
    form = build_form(page["form"], page["options"], values=_initial_values(page))
    return render_template("inbox/task.html", page=page, form=form)


def _initial_values(page: dict) -> dict:
    values: dict = {}
    decisions = ((page["form"] or {}).get("properties", {}).get("decision") or {}).get("enum", [])
    if request.args.get("decision") in decisions:
        values["decision"] = request.args["decision"]
    if page["task"]["task_kind"] == "report_to_duty":
        values["delegate"] = current_user.display_name
    return values


@bp.post("/tasks/<task_id>")
@roles_required(*ACTING_ROLES)
def complete(task_id: str):
    system = current_system()
    page = _task_page(task_id)
    if page is None:
        return redirect(url_for("inbox.index"))
    schema = page["form"]
    data, shown = parse_form(schema, request.form)
    errors = check_form(schema, data)
    photos = [f for f in request.files.getlist("photos") if f and f.filename]
    if photos and "photos" not in (schema or {}).get("properties", {}):
        errors["photos"] = _("This task takes no photos.")
    if not errors:
        try:
            complete_with_photos(system, current_user.actor, task_id, data,
                                 [(f.filename, f.read()) for f in photos])
        except (Forbidden, NotFound):
            raise
        except DomainError as error:
            errors.update(_domain_errors(error))
    if errors:
        form = build_form(schema, page["options"], values=shown, errors=errors)
        flash(_("The task was not completed: please correct the fields marked below.") if set(errors) - {""}
              else _("The task was not completed: see the message below."), "error")
        return render_template("inbox/task.html", page=page, form=form), 422
    flash(_("Done: %(task)s for case %(number)s.", task=task_label(page["task"]), number=page["task"]["case_number"]),
          "success")
    return redirect(_after(page))


def _domain_errors(error: DomainError) -> dict:
    text = error_text(error)
    found = {}
    for item in error.details or []:
        if isinstance(item, dict) and item.get("field") is not None:
            own = error.reason is not None and item["field"] == error.field
            found.setdefault(item["field"], text if own else item.get("message") or text)
    key = domain_error_field(error)
    if key or not found:
        found.setdefault(key, text)
    return found


def _after(page: dict) -> str:
    number = page["task"]["case_number"]
    if number and current_user.role != "department":
        return url_for("cases.detail", number=number)
    return url_for("inbox.index")


@bp.app_template_filter("task_label")
def task_label(item: dict) -> str:
    kind = item.get("task_kind")
    return label("task_kind", kind) if kind else item.get("name") or ""
