"""Completing a task from a web form: the photos chosen in the form are stored and the task is
completed in one transaction, so a refused decision leaves no orphan attachment behind."""

from __future__ import annotations

from pathlib import Path

from workflows.cases.attachments import check_photo_count, photo_limit, photos_on, store_photo
from workflows.cases.decisions import check_may_act, complete_in
from workflows.cases.lookups import get_case
from workflows.checks import engine_errors
from workflows.errors import InvalidInput
from workflows.people.lookups import get_user

PHOTO_PURPOSE = {"handle": "result", "dept_result": "result", "carry_out_action": "result"}
MAX_PHOTOS = 10


def complete_with_photos(system, actor, task_id: str, data: dict, photos: list[tuple[str, bytes]]) -> dict:
    """Store ``photos`` on the task's case, add their references to ``data["photos"]`` and complete
    the task as ``actor``; all or nothing (files already written are removed on failure)."""
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"{len(photos)} photos is too many; send at most {MAX_PHOTOS}", field="photos")
    written: list[Path] = []
    try:
        with system.sessions() as session, session.begin():
            user = get_user(session, actor)
            if photos:
                with engine_errors():
                    task = system.runtime.task(session, task_id)
                check_may_act(user, task)
                case = get_case(session, task.business_key)
                purpose = PHOTO_PURPOSE.get((task.properties or {}).get("task_kind"), "result")
                check_photo_count(len(photos), photos_on(session, case), photo_limit(system), case.number)
                refs = []
                for filename, content in photos:
                    row = store_photo(session, system.upload_dir, case, filename, content, purpose, user)
                    written.append(Path(system.upload_dir) / row.stored_name)
                    refs.append(row.stored_name)
                data = {**data, "photos": list(data.get("photos") or []) + refs}
            return complete_in(session, system, actor, task_id, data)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
