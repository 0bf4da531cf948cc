"""Photos attached to a case: checked (size, real image, how many a case holds) and stored under the
upload folder."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.cases.lookups import get_case
from workflows.cases.models import ATTACHMENT_PURPOSES, Attachment, Case
from workflows.checks import invalid
from workflows.clock import now
from workflows.people.lookups import find_user
from workflows.people.models import User

MAX_PHOTO_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PHOTOS_PER_CASE = 30
"""Photos one case may hold (all purposes together); ``GRIDLINK_MAX_PHOTOS_PER_CASE`` changes it."""
SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
              b"GIF87a": ("image/gif", ".gif"), b"GIF89a": ("image/gif", ".gif")}


def image_type(content: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes, or None when it is not an image we take."""
    for magic, kind in SIGNATURES.items():
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def check_photo(filename: str, content: bytes) -> tuple[str, str]:
    if not isinstance(content, bytes | bytearray) or not content:
        raise invalid(f"photo {filename!r} is empty; choose a JPEG, PNG, GIF or WebP image", field="photos",
                      reason="photo_empty", name=filename)
    if len(content) > MAX_PHOTO_BYTES:
        raise invalid(f"photo {filename!r} is {len(content) / 1048576:.1f} MB; the limit is "
                           f"{MAX_PHOTO_BYTES // 1048576} MB: send a smaller photo", field="photos",
                           code="too_large", reason="photo_too_large", name=filename,
                           size=f"{len(content) / 1048576:.1f}", limit=MAX_PHOTO_BYTES // 1048576)
    kind = image_type(bytes(content[:16]))
    if kind is None:
        raise invalid(f"file {filename!r} is not an image; send a JPEG, PNG, GIF or WebP photo",
                           field="photos", reason="photo_not_image", name=filename)
    return kind


def photo_limit(system) -> int:
    return system.settings.get("max_photos_per_case", DEFAULT_MAX_PHOTOS_PER_CASE)


def photos_on(session: Session, case: Case) -> int:
    return session.scalar(select(func.count(Attachment.id)).where(Attachment.case_id == case.id)) or 0


def check_photo_count(adding: int, existing: int, limit: int, number: str | None = None) -> None:
    """Refuse ``adding`` photos when the case would then hold more than ``limit``."""
    if existing + adding <= limit:
        return
    where = f"case {number} has {existing} photos" if number else "a new case"
    raise invalid(f"{adding} more photo(s) would exceed the limit of {limit} photos per case ({where}); "
                  "send fewer photos or remove some first", field="photos", code="too_many_photos",
                  reason="too_many_photos", limit=limit, existing=existing, adding=adding)


def store_photo(session: Session, upload_dir: Path, case: Case, filename: str, content: bytes,
                purpose: str = "report", uploader: User | None = None) -> Attachment:
    """Check and store one photo; the file is written only after every check passed."""
    if purpose not in ATTACHMENT_PURPOSES:
        raise invalid(f"unknown purpose {purpose!r}; use one of: {', '.join(ATTACHMENT_PURPOSES)}",
                           field="purpose")
    content_type, extension = check_photo(filename, content)
    stored = f"{case.number}-{secrets.token_hex(8)}{extension}"
    row = Attachment(case=case, filename=Path(filename or "photo").name[:255], stored_name=stored,
                     content_type=content_type, size=len(content), purpose=purpose,
                     uploaded_by_id=uploader.id if uploader else None, created_at=now())
    session.add(row)
    session.flush()
    (Path(upload_dir) / stored).write_bytes(bytes(content))
    return row


def attach_photo(system, case_number: str, filename: str, content: bytes, purpose: str = "result",
                 actor=None) -> str:
    """Attach a photo to a case; returns its reference for a form's ``photos`` list."""
    return attach_photos(system, case_number, [(filename, content)], purpose, actor)[0]


def attach_photos(system, case_number: str, files: list[tuple[str, bytes]], purpose: str = "result",
                  actor=None) -> list[str]:
    """Attach photos to a case, all or none (within the per-case limit); returns their references."""
    written: list[Path] = []
    try:
        with system.sessions() as session, session.begin():
            case = get_case(session, case_number)
            check_photo_count(len(files), photos_on(session, case), photo_limit(system), case.number)
            uploader = find_user(session, actor)
            refs = []
            for filename, content in files:
                row = store_photo(session, system.upload_dir, case, filename, content, purpose, uploader)
                written.append(Path(system.upload_dir) / row.stored_name)
                refs.append(row.stored_name)
            return refs
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def check_photo_refs(session: Session, case: Case, refs) -> None:
    """Every reference in a form's ``photos`` must be a photo of this case."""
    if not refs:
        return
    if not isinstance(refs, list):
        raise invalid(f"photos must be a list of photo references, not {refs!r}", field="photos")
    known = set(session.scalars(select(Attachment.stored_name).where(Attachment.case_id == case.id)))
    for ref in refs:
        if not isinstance(ref, str) or ref not in known:
            raise invalid(f"photo {ref!r} is not attached to case {case.number}; upload it first",
                               field="photos")
