"""Rectification notices (整改通知单) and supervision orders (督办单) issued on a case.

Each is numbered per year and kind (``整改〔2026〕第 12 号``, ``督办〔2026〕第 3 号``), names its
addressee (an org unit, a department, a user, or an outside party such as a landlord or a
tenant), what must be done and by when, and moves forward through issued -> served -> answered
-> complied, each change recorded with who and when; a document past its deadline and not
complied is overdue. Issuing writes the timeline (``notice_issued`` or ``supervised``) and
notifies the addressee's users in the same transaction.

Coordinators of the unit holding the case, or of a unit above it, issue; a supervision order
comes from above its addressee. ``issue_in`` runs in the caller's transaction, for the process
hooks (an overdue level supervised by the level above).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.lookups import get_case
from workflows.cases.models import Case, allocate_counter
from workflows.cases.timeline import add_entry, notify, user_ids_of
from workflows.checks import invalid, require_text
from workflows.clock import LOCAL_TZ, now, parse_time
from workflows.coordination.models import (
    ADDRESSEE_KINDS,
    DOCUMENT_KINDS,
    DOCUMENT_STATES,
    CaseDocument,
    DocumentEvent,
)
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.org.lookups import get_department, get_unit, is_within
from workflows.org.models import OrgUnit
from workflows.people.lookups import find_user, get_user
from workflows.people.models import User
from workflows.reads.queries import may_read_case

NUMBER_PREFIX = {"notice": "整改", "supervision": "督办"}
KIND_NAMES = {"notice": "整改通知单", "supervision": "督办单"}
TIMELINE_KIND = {"notice": "notice_issued", "supervision": "supervised"}
STATE_TIMELINE_KIND = {"served": "document_served", "answered": "document_answered",
                       "complied": "document_complied"}
MAX_AHEAD = timedelta(days=366)


def document_number(kind: str, year: int, serial: int) -> str:
    """``整改〔2026〕第 12 号``."""
    return f"{NUMBER_PREFIX[kind]}〔{year}〕第 {serial} 号"


# --- issuing ----------------------------------------------------------------------------------

def issue_document(system, actor, case_number: str, kind: str, addressee: dict, requirement: str,
                   deadline) -> dict:
    """Issue a notice or supervision order on a case as ``actor``; one transaction."""
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        case = get_case(session, case_number)
        issuer = issuer_unit(session, user, case)
        document = issue_in(session, case, kind=kind, addressee=addressee, requirement=requirement,
                            deadline=deadline, issuer=issuer, actor=user)
        return document_item(document)


def issuer_unit(session: Session, user: User, case: Case) -> OrgUnit:
    """The unit a user issues documents for on this case: their own, when it holds the case or
    lies above the unit that does (an admin issues for the holding unit)."""
    holder = case.org_unit
    if user.role == "admin":
        return holder
    if user.role != "coordinator" or user.org_unit is None:
        raise Forbidden(f"{user.username} ({user.role}) may not issue documents: only coordinators of the unit "
                        f"holding case {case.number} or of a unit above it may", reason="document_not_coordinator")
    if not is_within(holder, user.org_unit):
        raise Forbidden(f"{user.username} ({user.org_unit.code}) may not issue documents on case {case.number}: "
                        f"it is held by {holder.code}, which is not {user.org_unit.code} or below it",
                        reason="document_out_of_scope", params={"number": case.number})
    return user.org_unit


def issue_in(session: Session, case: Case, *, kind: str, addressee: dict, requirement: str, deadline,
             issuer: OrgUnit, actor: User | None = None) -> CaseDocument:
    """Issue a document inside the caller's transaction (``actor`` None: issued by the system)."""
    if kind not in DOCUMENT_KINDS:
        raise invalid(f"unknown document kind {kind!r}; use one of: {', '.join(DOCUMENT_KINDS)}", field="kind")
    requirement = require_text(requirement, "requirement", "what the addressee must do")[:4000]
    moment = now()
    due = check_deadline(deadline, moment)
    target = resolve_addressee(session, addressee)
    if kind == "supervision":
        check_supervisor(session, issuer, target)
    year = moment.astimezone(LOCAL_TZ).year
    serial = allocate_counter(session, f"{kind}-{year}")
    document = CaseDocument(case_id=case.id, kind=kind, year=year, serial=serial,
                            number=document_number(kind, year, serial), issuer_unit_id=issuer.id,
                            issued_by_id=actor.id if actor else None, requirement=requirement, deadline=due,
                            state="issued", issued_at=moment, **target)
    document.events.append(DocumentEvent(state="issued", at=moment, actor_id=actor.id if actor else None,
                                         actor_name=actor.display_name if actor else None))
    session.add(document)
    session.flush()
    add_entry(session, case, TIMELINE_KIND[kind], actor=actor, level=issuer.level, unit=issuer,
              note=f"{document.number} → {document.addressee_name}: {requirement}",
              data={"document_id": document.id, "number": document.number, "deadline": due.isoformat()})
    _notify_addressee(session, case, document)
    return document


def supervise_overdue_in(session: Session, case: Case, overdue_unit: OrgUnit, deadline: datetime,
                         requirement: str | None = None) -> CaseDocument:
    """The level above ``overdue_unit`` supervises it (for the hooks, when a level's limit ran out and the
    level's ``on_timeout`` is ``supervise``): a system-issued order in the caller's transaction."""
    issuer = overdue_unit.parent
    if issuer is None:
        raise Conflict(f"{overdue_unit.code} has no unit above it to supervise it", reason="supervision_not_above")
    text = requirement or f"工单 {case.number} 在{overdue_unit.name}已超出处置时限，请于期限内办结并书面回复督办结果。"
    return issue_in(session, case, kind="supervision", addressee={"kind": "org_unit", "code": overdue_unit.code},
                    requirement=text, deadline=deadline, issuer=issuer, actor=None)


def check_deadline(value, moment: datetime) -> datetime:
    due = parse_time(value, "deadline")
    if due <= moment:
        raise invalid(f"deadline {value!s} has passed; give a time in the future", field="deadline",
                      reason="deadline_passed")
    if due - moment > MAX_AHEAD:
        raise invalid(f"deadline {value!s} is more than a year away; give a date within a year", field="deadline",
                      reason="deadline_too_far")
    return due


def resolve_addressee(session: Session, addressee) -> dict:
    """The addressee columns from ``{"kind": ..., "code" | "username" | "name", "contact"}``."""
    if not isinstance(addressee, dict):
        raise invalid(f"addressee {addressee!r} must be an object with kind and code or name", field="addressee")
    kind = addressee.get("kind")
    contact = _optional_text(addressee.get("contact"), "addressee.contact", 200)
    if kind == "org_unit":
        unit = get_unit(session, str(addressee.get("code") or ""), field="addressee.code")
        return {"addressee_kind": kind, "addressee_unit_id": unit.id, "addressee_name": unit.name,
                "addressee_contact": contact}
    if kind == "department":
        department = get_department(session, str(addressee.get("code") or ""), field="addressee.code")
        return {"addressee_kind": kind, "addressee_department_id": department.id, "addressee_name": department.name,
                "addressee_contact": contact}
    if kind == "user":
        user = find_user(session, str(addressee.get("username") or addressee.get("code") or ""))
        if user is None or not user.active:
            raise invalid(f"there is no active user {addressee.get('username') or addressee.get('code')!r}; "
                          "give an existing username", field="addressee.username")
        return {"addressee_kind": kind, "addressee_user_id": user.id, "addressee_name": user.display_name,
                "addressee_contact": contact, "addressee_unit_id": user.org_unit_id,
                "addressee_department_id": user.department_id}
    if kind == "outside":
        name = require_text(addressee.get("name"), "addressee.name",
                            "who receives it, e.g. the landlord 王某 or 某某物业公司")[:200]
        return {"addressee_kind": kind, "addressee_name": name, "addressee_contact": contact}
    raise invalid(f"unknown addressee kind {kind!r}; use one of: {', '.join(ADDRESSEE_KINDS)}",
                  field="addressee.kind")


def _optional_text(value, field: str, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(f"{field} must be text of at most {limit} characters", field=field)
    return value.strip() or None


def check_supervisor(session: Session, issuer: OrgUnit, target: dict) -> None:
    """A supervision order goes down: to a unit strictly below the issuer, a department or an outside party."""
    unit_id = target.get("addressee_unit_id")
    if unit_id is None:
        return
    unit = session.get(OrgUnit, unit_id)
    if unit_id == issuer.id or not is_within(unit, issuer):
        raise Forbidden(f"{issuer.code} may not supervise {target['addressee_name']}: a supervision order comes "
                        "from the level above the unit it supervises", reason="supervision_not_above")


def _notify_addressee(session: Session, case: Case, document: CaseDocument) -> None:
    if document.addressee_kind == "user":
        users = [document.addressee_user_id]
    elif document.addressee_kind == "org_unit":
        users = user_ids_of(session, org_unit=document.addressee_unit.code)
    elif document.addressee_kind == "department":
        users = user_ids_of(session, department=document.addressee_department.code)
    else:
        return
    deadline = document.deadline.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    message = f"{KIND_NAMES[document.kind]} {document.number}（工单 {case.number}）：{document.requirement}，" \
              f"限 {deadline} 前完成"
    notify(session, users, "document", case, message, {"number": document.number, "document_id": document.id})


# --- state changes ----------------------------------------------------------------------------

def record_state(system, actor, document_id: int, state: str, note: str | None = None) -> dict:
    """Record that a document was served, answered or complied with; forward only, one transaction."""
    if state not in DOCUMENT_STATES[1:]:
        raise invalid(f"unknown state {state!r}; use one of: {', '.join(DOCUMENT_STATES[1:])}", field="state")
    note = _optional_text(note, "note", 4000)
    with system.sessions() as session, session.begin():
        user = get_user(session, actor)
        document = _document(session, document_id, lock=True)
        check_may_record(session, user, document, state)
        if DOCUMENT_STATES.index(state) <= DOCUMENT_STATES.index(document.state):
            raise Conflict(f"document {document.number} is already {document.state}; it can only move on to a "
                           "later state", field="state", reason="document_state_backwards",
                           params={"number": document.number, "state": document.state})
        moment = now()
        document.state = state
        document.events.append(DocumentEvent(state=state, at=moment, actor_id=user.id, actor_name=user.display_name,
                                             note=note))
        add_entry(session, document.case, STATE_TIMELINE_KIND[state], actor=user, unit=document.issuer_unit,
                  level=document.issuer_unit.level, note=f"{document.number}" + (f": {note}" if note else ""),
                  data={"document_id": document.id, "number": document.number})
        session.flush()
        return document_item(document)


def check_may_record(session: Session, user: User, document: CaseDocument, state: str) -> None:
    """The issuing side records any state; the addressee's own staff may record their answer."""
    if user.role == "admin":
        return
    if user.role == "coordinator" and user.org_unit is not None and is_within(document.issuer_unit, user.org_unit):
        return
    if state == "answered" and _is_addressee(user, document):
        return
    raise Forbidden(f"{user.username} may not record document {document.number} as {state}: the issuing unit "
                    f"{document.issuer_unit.code} (or a unit above it) records it; the addressee may only answer",
                    reason="document_not_recorder")


def _is_addressee(user: User, document: CaseDocument) -> bool:
    if document.addressee_kind == "user":
        return user.id == document.addressee_user_id
    if document.addressee_kind == "org_unit":
        return user.role == "coordinator" and user.org_unit_id == document.addressee_unit_id
    if document.addressee_kind == "department":
        return user.role == "department" and user.department_id == document.addressee_department_id
    return False


# --- reading ----------------------------------------------------------------------------------

def _document(session: Session, document_id, lock: bool = False) -> CaseDocument:
    if not isinstance(document_id, int) or isinstance(document_id, bool) or not 0 < document_id < 2**63:
        raise NotFound(f"document {document_id!r} does not exist; open it from its case page")
    query = select(CaseDocument).where(CaseDocument.id == document_id)
    document = session.scalar(query.with_for_update() if lock else query)
    if document is None:
        raise NotFound(f"document {document_id} does not exist; open it from its case page")
    return document


def readable_document(session: Session, user: User, document_id) -> CaseDocument:
    """A document for someone who may read its case or to whom it is addressed."""
    document = _document(session, document_id)
    if not (_is_addressee(user, document) or may_read_case(session, user, document.case)):
        raise Forbidden(f"{user.username} ({user.role}) may not read document {document_id}: its case "
                        f"{document.case.number} is outside your area or department")
    return document


def is_overdue(document: CaseDocument, moment: datetime | None = None) -> bool:
    return document.state != "complied" and document.deadline <= (moment or now())


def document_item(document: CaseDocument, moment: datetime | None = None) -> dict:
    """A document as plain data (the API's shape)."""
    addressee = {"kind": document.addressee_kind, "name": document.addressee_name,
                 "contact": document.addressee_contact}
    if document.addressee_kind == "org_unit" and document.addressee_unit is not None:
        addressee["code"] = document.addressee_unit.code
    if document.addressee_kind == "department" and document.addressee_department is not None:
        addressee["code"] = document.addressee_department.code
    if document.addressee_kind == "user" and document.addressee_user is not None:
        addressee["username"] = document.addressee_user.username
    return {"id": document.id, "number": document.number, "kind": document.kind, "case_number": document.case.number,
            "issuer": {"code": document.issuer_unit.code, "name": document.issuer_unit.name,
                       "level": document.issuer_unit.level},
            "issued_by": document.issued_by.display_name if document.issued_by else None,
            "addressee": addressee, "requirement": document.requirement, "deadline": document.deadline.isoformat(),
            "issued_at": document.issued_at.isoformat(), "state": document.state,
            "overdue": is_overdue(document, moment), "pdf": f"/api/v1/documents/{document.id}.pdf",
            "history": [{"state": e.state, "at": e.at.isoformat(), "actor": e.actor_name, "note": e.note}
                        for e in document.events]}


def case_documents(system, actor, case_number: str) -> list[dict]:
    """The documents issued on a case, oldest first, for someone who may read the case."""
    with system.sessions() as session:
        user = get_user(session, actor)
        case = get_case(session, case_number)
        if not may_read_case(session, user, case):
            raise Forbidden(f"{user.username} ({user.role}) may not read case {case_number}: it is outside your "
                            "area or department")
        rows = session.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id).order_by(CaseDocument.id))
        moment = now()
        return [document_item(row, moment) for row in rows]


def document_view(system, actor, document_id) -> dict:
    """One document with its history and what the viewer may record next."""
    with system.sessions() as session:
        user = get_user(session, actor)
        document = readable_document(session, user, document_id)
        view = document_item(document)
        view["case_title"] = document.case.title
        view["may_record"] = [state for state in DOCUMENT_STATES[DOCUMENT_STATES.index(document.state) + 1:]
                              if _may_record_quietly(session, user, document, state)]
        return view


def _may_record_quietly(session: Session, user: User, document: CaseDocument, state: str) -> bool:
    try:
        check_may_record(session, user, document, state)
    except Forbidden:
        return False
    return True


def document_pdf(system, actor, document_id) -> tuple[bytes, str]:
    """The printable PDF of a document and its file name."""
    from workflows.coordination.printing import render_document

    with system.sessions() as session:
        user = get_user(session, actor)
        document = readable_document(session, user, document_id)
        item = document_item(document)
        item["case_title"] = document.case.title
        item["case_address"] = document.case.address
        return render_document(item), f"document-{document.id}.pdf"


def may_issue(session: Session, user: User, case: Case) -> bool:
    try:
        issuer_unit(session, user, case)
    except Forbidden:
        return False
    return True


def case_coordination(system, actor, case_number: str) -> dict:
    """What the case page shows of documents and the fund, and what the viewer may do there."""
    from workflows.coordination import fund

    with system.sessions() as session:
        user = get_user(session, actor)
        case = get_case(session, case_number)
        if not may_read_case(session, user, case):
            raise Forbidden(f"{user.username} ({user.role}) may not read case {case_number}")
        rows = session.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id).order_by(CaseDocument.id))
        moment = now()
        return {"documents": [document_item(row, moment) for row in rows], "may_issue": may_issue(session, user, case),
                "spends": fund.spends_for_page(session, user, case)}
