"""Languages: Simplified Chinese by default, English complete; the labels of every enumeration.

Message ids are English. Catalogues live in ``web/translations/<lang>/LC_MESSAGES/messages.po``;
``compile_catalogs`` turns them into ``.mo`` files whenever one is missing or older than its
``.po`` (called by ``create_app``), so a fresh checkout needs no extra build step.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from workflows.clock import LOCAL_TZ
from workflows.reads.pages import departments
from workflows.setup import reference_data

from .extensions import babel
from .system import current_system

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LOCALE = "zh"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

LABELS = {
    "role": {"admin": _l("Administrator"), "coordinator": _l("Coordinator"), "grid_worker": _l("Grid worker"),
             "department": _l("Department staff"), "leader": _l("Leader")},
    "level": {"grid": _l("Grid"), "community": _l("Community"), "workstation": _l("Linkage workstation"),
              "subcentre": _l("Street sub-centre"), "district": _l("District centre")},
    "status": {"reported": _l("Reported"), "open": _l("In progress"), "resolved": _l("Resolved, being verified"),
               "closed": _l("Closed"), "rejected": _l("Not accepted"), "merged": _l("Merged as duplicate")},
    "source": {"patrol": _l("Patrol"), "hotline": _l("12345 hotline"), "platform": _l("Urban management platform"),
               "forum": _l("Online forum"), "inspection": _l("Inspection"), "snapshot": _l("Snap and report"),
               "sensor": _l("Sensor alarm"), "walk_in": _l("Walk-in")},
    "urgency": {"routine": _l("Routine"), "tough": _l("Tough case"), "emergency": _l("Emergency")},
    "phase": {"survey": _l("Survey the facts"), "preliminary": _l("Preliminary rectification"),
              "concentrated": _l("Concentrated remediation")},
    "decision": {"accept": _l("Accept"), "reject": _l("Reject"), "resolve": _l("Resolve"),
                 "escalate": _l("Escalate to the next level"), "dispatch": _l("Dispatch departments"),
                 "convene": _l("Blow the whistle (joint meeting)"), "assign_down": _l("Assign down"),
                 "approve": _l("Approve and close"), "rework": _l("Send back for rework"),
                 "return": _l("Return (not our work)")},
    "task_kind": {"register": _l("Register"), "handle": _l("Handle"), "verify": _l("Verify and close"),
                  "dept_accept": _l("Accept dispatch"), "dept_result": _l("Report result"),
                  "report_to_duty": _l("Report to duty"), "resolution": _l("Record resolution"),
                  "carry_out_action": _l("Carry out action"), "confirm_outcome": _l("Confirm outcome")},
    "kind": {"reported": _l("Reported"), "registered": _l("Registered"), "rejected": _l("Not accepted"),
             "merged": _l("Merged"), "escalated": _l("Escalated"), "reminded": _l("Reminder"),
             "overdue": _l("Overdue"), "assigned_down": _l("Assigned down"), "dispatched": _l("Dispatched"),
             "accepted": _l("Accepted by department"), "returned": _l("Returned by department"),
             "result_reported": _l("Result reported"), "whistle": _l("Whistle blown"),
             "reported_to_duty": _l("Reported to duty"), "resolution": _l("Meeting resolution"),
             "action_done": _l("Action done"), "meeting_confirmed": _l("Meeting outcome confirmed"),
             "resolved": _l("Resolved"), "rework": _l("Rework"),
             "closed": _l("Closed"), "rated": _l("Rated"), "fund_spent": _l("Fund spent"),
             "migrated": _l("Migrated")},
    "meeting_status": {"summoned": _l("Summoned"), "resolved": _l("Resolution recorded"),
                       "confirmed": _l("Confirmed")},
    "notification": {"new_task": _l("New task"), "reminder": _l("Reminder"), "overdue": _l("Overdue"),
                     "returned_dispatch": _l("Returned dispatch"), "meeting": _l("Meeting"),
                     "rework": _l("Rework"), "closed": _l("Closed")},
    "channel": {"email": _l("E-mail"), "sms": _l("SMS"), "webhook": _l("Webhook")},
    "event": {"new_task": _l("New task"), "reminder": _l("Reminder"), "overdue": _l("Overdue"),
              "returned_dispatch": _l("Returned dispatch"), "rework": _l("Rework"), "closed": _l("Closed"),
              "case_reported": _l("Report received (to the reporter)"),
              "case_closed": _l("Case closed (to the reporter)"),
              "case_rejected": _l("Report not accepted (to the reporter)")},
}

DEPARTMENT_NAMES_EN = {item["code"]: item["name_en"] for item in reference_data.departments()}

ERROR_REASONS = {
    "bad_email": _l("The e-mail address %(value)s is not usable: write it as name@example.org."),
    "bad_phone": _l("The phone number %(value)s is not usable: give 5 to 20 digits, e.g. 13800001234."),
    "bad_url": _l("The address %(value)s is not usable: give an http:// or https:// URL."),
    "delivery_not_dead": _l("Delivery %(ids)s is no longer dead-lettered (sent or queued again): reload the list."),
    "webhook_gone": _l("Webhook %(id)s is already switched off: reload the list."),
    "photo_empty": _l("The photo %(name)s is empty: choose a JPEG, PNG, GIF or WebP image."),
    "photo_too_large": _l("The photo %(name)s is %(size)s MB; the limit is %(limit)s MB. Send a smaller photo."),
    "photo_not_image": _l("%(name)s is not an image: send a JPEG, PNG, GIF or WebP photo."),
    "no_location": _l("Where is it? Choose a grid, share your position or give an address."),
    "point_outside_grids": _l("That position lies outside every grid of this area: check it or give an address."),
    "already_rated": _l("This case was already rated (%(rating)s): a case is rated once."),
    "fund_overdrawn": _l("The fund has %(balance)s yuan left; %(amount)s yuan cannot be spent."),
    "no_workstation": _l("The case is not under a linkage workstation yet: assign it down first."),
    "verify_own_work": _l("You resolved this case: a colleague must verify it (supervision is kept separate "
                          "from handling)."),
    "not_below": _l("%(unit)s is not below your unit: assign down to a unit under yours."),
    "department_twice": _l("A department is chosen twice: choose each department once."),
    "date_out_of_range": _l("Give a date between the years %(first)s and %(last)s."),
    "duration_malformed": _l("%(setting)s: '%(value)s' is not an ISO-8601 duration: write a positive duration of "
                             "at most 10 years, e.g. PT24H, P5D or P1Y."),
    "duration_zero": _l("%(setting)s: '%(value)s' is zero: a time limit must be longer than zero, e.g. PT24H or "
                        "P5D."),
    "duration_too_long": _l("%(setting)s: '%(value)s' is longer than 10 years: write at most 10 years, e.g. "
                            "PT24H, P5D or P1Y."),
    "too_many_photos": _l("A case holds at most %(limit)s photos and this one has %(existing)s: send fewer photos."),
    "fund_out_of_scope": _l("Case %(number)s is outside your area: the fund pays only for cases you may read."),
    "fund_case_finished": _l("Case %(number)s is finished: the fund pays for work on open cases only."),
    "case_unknown": _l("There is no case %(number)s: check the number (e.g. GL20261121-0001)."),
    "meeting_unknown": _l("There is no meeting %(id)s: open it from its case page."),
    "process_unknown": _l("The process %(process)s is not deployed: pick one from the process list."),
    "version_unknown": _l("The process %(process)s has no version %(version)s."),
    "no_active_version": _l("The process %(process)s has no active version: deploy it first."),
    "format_unknown": _l("The format %(format)s is not offered: use xlsx or csv."),
    "role_watches": _l("Your role watches cases and does not act on tasks."),
    "task_not_yours": _l("The task %(task)s of case %(number)s is for %(holder)s, not for you: it stays in their "
                         "inbox."),
    "task_claimed": _l("%(holder)s has claimed this task: ask them to release it, or ask a coordinator to."),
    "task_gone": _l("This task is no longer open: someone completed it or the case moved on. Reload the case."),
    "task_done": _l("This task was already completed by %(holder)s at %(at)s. Reload the case."),
    "instance_changed": _l("Someone changed this case at the same moment: reload it and try again."),
    "case_or_code_unknown": _l("There is no case %(number)s with this query code. Check the number and the code "
                               "on your receipt."),
}


NOTES = {
    "source": _l("Source: %(source)s"),
    "deadline_near": _l("%(stage)s: the time limit is near, please handle it soon"),
    "level_timed_out": _l("%(level)s did not handle it in time"),
    "level_overdue": _l("%(level)s is overdue"),
    "auto_escalated": _l("Escalated automatically to %(level)s after the time limit"),
    "dispatch_accept_overdue": _l("%(department)s did not accept the dispatch in time"),
    "dispatch_result_overdue": _l("%(department)s did not report a result in time"),
    "duty_late": _l("%(department)s did not report to duty in time"),
    "action_overdue": _l("Resolution action overdue: %(action)s"),
    "closed": _l("Case closed"),
    "merged_into": _l("Merged into %(number)s"),
    "merged_from": _l("%(number)s merged in as a duplicate"),
    "departments": "%(departments)s",
    "migrated": _l("Process %(process)s moved from version %(from_version)s to %(to_version)s"),
    "migration_reversed": _l("Migration %(batch)s reversed: process %(process)s back to version %(version)s"),
}
"""Timeline notes the system writes as data (``workflows.cases.timeline.worded``), worded here."""

STAGE_LABELS = {"dispatch_accept": _l("Department acceptance"), "dispatch_result": _l("Department result"),
                "duty": _l("Reporting to duty"), "action": _l("Resolution action")}


def timeline_note(entry: dict) -> str:
    """An entry's note in the reader's language: worded from its key and parameters when it was
    written as data, else the free text it was written with."""
    template = NOTES.get(entry.get("note_key") or "")
    if template is None:
        return entry.get("note") or ""
    params = {name: _note_param(name, value) for name, value in (entry.get("note_params") or {}).items()}
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return entry.get("note") or ""


def _note_param(name: str, value) -> str:
    if name == "level":
        return label("level", value)
    if name == "stage":
        return label("level", value) if value in LABELS["level"] else str(STAGE_LABELS.get(value, value))
    if name == "source":
        return label("source", value)
    if name == "department":
        return department_name(value)
    if name == "departments":
        return "、".join(department_name(code) for code in value or [])
    return str(value)


PREVIEW_LINES = {
    "call_missing": _l("The called process %(process)s it is running is not part of version %(version)s"),
    "active_missing": _l("The active element %(element)s does not exist in version %(version)s"),
    "active_type": _l("The active element %(element)s changed its type in version %(version)s"),
    "active_changed": _l("%(element)s: its %(aspects)s changed"),
    "done_missing": _l("The completed element %(element)s no longer exists in version %(version)s"),
    "done_type": _l("The completed element %(element)s changed its type in version %(version)s"),
    "done_code": _l("The completed element %(element)s changed its %(aspects)s in version %(version)s: its data "
                    "came from the old code"),
    "call_removed": _l("The called process %(process)s was removed"),
    "call_added": _l("The called process %(process)s was added"),
    "added": _l("Added %(element)s"),
    "removed": _l("Removed %(element)s"),
    "changed": _l("Changed %(element)s: %(aspects)s"),
    "malformed_xml": _l("Malformed XML: %(detail)s"),
    "process_without_id": _l("The process has no id: give it an id attribute"),
    "unsupported_element": _l("Unsupported element %(tag)s: gridlink cannot run it; remove or replace it"),
    "called_process_unknown": _l("The called process %(process)s is neither deployed nor in this bundle: deploy it "
                                 "with this file"),
    "flow_ref_unknown": _l("The sequence flow's %(attr)s %(ref)s names no element of this process"),
    "decision_unknown": _l("The called decision %(decision)s is neither in this bundle nor deployed"),
    "form_unknown": _l("The form schema %(form)s is not in the bundle: add the JSON file"),
    "empty_expression": _l("%(what)s is empty"),
    "expression_problem": _l("%(what)s: %(detail)s"),
    "timer_problem": _l("Timer %(what)s: %(detail)s"),
}
"""Lines of a migration preview and deploy problems (``engine.errors.Line``), worded here."""

ASPECTS = {
    "bpmn_name": _l("name"), "description": _l("name"), "event_definition": _l("event or timer"),
    "extensions": _l("properties"), "script": _l("script"), "prescript": _l("pre-script"),
    "postscript": _l("post-script"), "cond_task_specs": _l("conditions"), "default_task_spec": _l("default flow"),
    "outputs": _l("outgoing flows"), "inputs": _l("incoming flows"), "decision_table": _l("decision table"),
    "spec": _l("called process"), "documentation": _l("documentation"), "lane": _l("lane"), "typename": _l("type"),
    "cancel_activity": _l("interrupting"), "preScript": _l("pre-script"), "postScript": _l("post-script"),
    "conditionExpression": _l("condition"), "completionCondition": _l("completion condition"),
    "loopCardinality": _l("loop cardinality"), "loopCondition": _l("loop condition"),
    "timeDuration": _l("duration"), "timeDate": _l("date"), "timeCycle": _l("cycle"),
}


def preview_line(line) -> str:
    """A line of a migration preview or a deploy problem in the reader's language (its English text
    when not keyed)."""
    template = PREVIEW_LINES.get(getattr(line, "key", None) or "")
    if template is None:
        return str(line)
    params = dict(line.params)
    if "element" in params:
        name = params.pop("name", "")
        params["element"] = f"{params['element']}（{name}）" if name else str(params["element"])
    if "aspects" in params:
        params["aspects"] = "、".join(dict.fromkeys(str(ASPECTS.get(a, a)) for a in params["aspects"]))
    if "what" in params:
        params["what"] = str(ASPECTS.get(params["what"], params["what"]))
    try:
        text = str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(line)
    return f"{params['within']}: {text}" if params.get("within") else text


ERROR_CODES = {
    "not_found": _l("It was not found: it may have been removed or the address is wrong."),
    "forbidden": _l("Your role or unit may not do this."),
    "conflict": _l("This clashes with the current state of the case: reload the page and try again."),
    "invalid_input": _l("A value is not usable: check what you entered."),
    "invalid_task_data": _l("A value is not usable: check what you entered."),
    "invalid_definition": _l("The definition has problems: see the list below."),
    "process_error": _l("The process could not continue; nothing was changed. Ask an administrator to check the "
                        "deployed definition."),
}
"""Chinese wording by error code for errors without a known reason (their English detail follows)."""


def error_text(error) -> str:
    """A domain error in the reader's language: worded by its reason when known; else, in Chinese,
    the wording of its code followed by its own (English) detail; in English its own message."""
    template = ERROR_REASONS.get(getattr(error, "reason", None) or "")
    if template is not None:
        try:
            return str(template) % {k: _param_text(v) for k, v in error.params.items()}
        except (KeyError, TypeError, ValueError):
            pass
    if current_language() == "en":
        return error.message
    lead = ERROR_CODES.get(getattr(error, "code", "") or "")
    return f"{lead}（{error.message}）" if lead is not None else error.message


def _param_text(value) -> str:
    return local_time(value) if isinstance(value, datetime) else str(value)


def label(group: str, value) -> str:
    """The translated label of an enumeration value (the value itself when unknown)."""
    if value is None:
        return ""
    found = LABELS.get(group, {}).get(value)
    return str(found) if found is not None else str(value)


def current_language() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def department_name(code: str | None, name: str | None = None) -> str:
    """The department's name in the current language (looked up once per request when not given)."""
    if current_language() == "en" and code in DEPARTMENT_NAMES_EN:
        return DEPARTMENT_NAMES_EN[code]
    if name:
        return name
    return _department_names().get(code, code or "")


def _department_names() -> dict:




    if "department_names" not in g:
        g.department_names = {d["code"]: d["name"] for d in departments(current_system())}
    return g.department_names


def category_name(category: dict | None) -> str:
    if not category:
        return ""
    if current_language() == "en" and category.get("name_en"):
        return category["name_en"]
    return category.get("name") or category.get("code") or ""


def category_group_name(category: dict) -> str:
    """The name of a leaf category's group (component or event) in the current language."""
    if current_language() == "en" and category.get("group_name_en"):
        return category["group_name_en"]
    return category.get("group_name") or category.get("group") or ""


def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime (or ISO string) shown in China Standard Time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        return value.strftime(fmt)
    return value.astimezone(LOCAL_TZ).strftime(fmt)


def select_locale() -> str:
    from flask_login import current_user

    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    asked = request.args.get("lang")
    return asked if asked in LANGUAGES else DEFAULT_LOCALE


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or stale; returns the files written."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        try:
            with mo_path.open("wb") as handle:
                write_mo(handle, catalog)
        except OSError:
            continue  # a read-only install keeps the shipped .mo files
        written.append(mo_path)
    return written


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(label=label, localtime=local_time, timeline_note=timeline_note,
                                preview_line=preview_line,
                                 department_name=department_name,
                                 category_name=category_name, category_name_of_group=category_group_name)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language, label=label,
                                 time_zone=str(LOCAL_TZ))
