"""Size limits of what the pages accept, each refused in its own words.

Two limits meet on a form post: the whole request (``MAX_CONTENT_LENGTH``, 16 MB: photos) and each
text field (``FORM_TEXT_LIMIT`` characters). Werkzeug parses a form field up to ``MAX_FORM_MEMORY_SIZE``
bytes; that is set well above the text limit so an over-long comment is parsed and then refused here
*as text*, naming the field and the limit, instead of as an upload that is too large ("send smaller
photos"). A text field longer even than ``MAX_FORM_MEMORY_SIZE`` still gets the text wording from the
413 handler (``too_large_message``), since photos under 16 MB never hit that limit.

The JSON API and Open311 have their own limits and answers (docs/API.md) and are left alone.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

FORM_TEXT_LIMIT = 20_000
"""Characters one text field of a page form may hold (a report's description has its own, lower one)."""

FORM_MEMORY_BYTES = 4 * 1024 * 1024
"""Bytes Werkzeug reads into memory for one form field: room for ``FORM_TEXT_LIMIT`` characters of any
script, URL-encoded, many times over."""

FIELD_LABELS = {
    "comment": _l("Comment"), "description": _l("Description"), "address": _l("Address"),
    "result": _l("Result"), "note": _l("Note"), "name": _l("Name"), "title": _l("Title"),
    "reason": _l("Reason"), "resolution": _l("Resolution"),
}

SKIPPED_PREFIXES = ("/api/", "/open311/")


class TextTooLong(RequestEntityTooLarge):
    """A form's text field is over ``FORM_TEXT_LIMIT``; the description names the field and the limit."""


def field_label(name: str) -> str:
    found = FIELD_LABELS.get(name)
    return f"{found}（{name}）" if found is not None else name


def check_form_text() -> None:
    """Before a page's form post is handled: refuse any text field longer than the limit."""
    if request.method != "POST" or request.path.startswith(SKIPPED_PREFIXES):
        return
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return
    for name, value in request.form.items(multi=True):
        if len(value) > FORM_TEXT_LIMIT:
            raise TextTooLong(_("The field %(field)s holds %(count)s characters; the limit is %(limit)s. "
                                "Shorten the text and send it again (photos are not the problem).",
                                field=field_label(name), count=f"{len(value):,}", limit=f"{FORM_TEXT_LIMIT:,}"))


def too_large_message(error: RequestEntityTooLarge) -> str:
    """The words of a 413 on a page: the text field named when it is one, else the upload's limit."""
    if isinstance(error, TextTooLong):
        return str(error.description)
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if request.content_length is not None and request.content_length <= limit:
        return _("A text field of this form is far too long (over %(limit)s characters). Shorten the text "
                 "and send it again (photos are not the problem).", limit=f"{FORM_TEXT_LIMIT:,}")
    return _("The upload is too large; the limit is 16 MB. Send smaller photos.")


def init_app(app: Flask) -> None:
    app.before_request(check_form_text)
