"""Joint meetings (/meetings/<id>): who reported to duty and when, who is late, the resolution
and each action to its result. The forms themselves are the meeting's tasks in the inbox."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from workflows.reads import pages

from .app import system_of
from .auth import login_required

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


@bp.get("/<int:meeting_id>")
@login_required
def detail(meeting_id: int):
    view = pages.meeting_page(system_of(current_app), current_user.id, meeting_id)
    return render_template("meetings/detail.html", m=view)
