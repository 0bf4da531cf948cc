"""Joint meetings (/meetings/<id>): who reported to duty and when, who is late, the resolution
and each action to its result. The forms themselves are the meeting's tasks in the inbox."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from workflows.reads import pages

from .auth import login_required
from .system import current_system

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


@bp.get("/<int:meeting_id>")
@login_required
def detail(meeting_id: int):
    view = pages.meeting_page(current_system(), current_user.actor, meeting_id)
    return render_template("meetings/detail.html", m=view)
