"""The repair workflow: reporting a problem and every move of the request after it.

submitted → assigned → in_progress → resolved → closed, with reopen (back to assigned) and
cancel. Each move is one function here that checks who may make it (``may``), changes the
request with one conditional UPDATE on its status and version — so two people acting on
the same page cannot both win — and writes a ``RepairEvent`` with actor, time and note.
They flush; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import (
    Facility,
    RepairCategory,
    RepairEvent,
    RepairPayer,
    RepairRequest,
    RepairSource,
    RepairStatus,
    RepairUrgency,
    Resident,
    Unit,
    User,
    utcnow,
)

from . import ServiceError
from .fields import text_problem
from .repair_labels import STATUS_LABELS
from .repair_results import billed_charge_problem, record_result, withdraw_result
from .repair_rules import (  # noqa: F401 — the rules are part of this module's interface
    MOVES,
    REOPEN_DAYS,
    _staff,
    allowed_actions,
    is_reporter,
    may,
    may_see,
    may_work,
)
from .repair_sla import deadlines
from .today import estate_today

S = RepairStatus
PHONE_RE = re.compile(r"^\+?\d{7,15}$")


class RepairError(ServiceError):
    """Input or a move that the rules refuse; ``errors`` maps form field → message."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        if isinstance(errors, str):
            errors = {"": errors}
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field or None)
        self.errors = errors


# -- reporting ---------------------------------------------------------------------------


@dataclass
class NewRepair:
    estate_id: int
    location: str
    description: str
    urgency: RepairUrgency = RepairUrgency.normal
    category: RepairCategory = RepairCategory.other
    source: RepairSource = RepairSource.portal
    unit: Unit | None = None
    building_id: int | None = None
    facility: Facility | None = None
    reporter: Resident | None = None
    contact_name: str = ""
    contact_phone: str = ""


def clean_phone(value: str | None) -> str | None:
    digits = re.sub(r"[\s\-()（）]", "", value or "")
    if not digits:
        return None
    if not PHONE_RE.match(digits):
        raise RepairError({"contact_phone": _("A phone number has 7 to 15 digits.")})
    return digits


def _check_new(new: NewRepair) -> dict[str, str]:
    errors: dict[str, str] = {}
    columns = RepairRequest.__table__.c
    # One-line fields stay on one line (they end up in mail subjects): a pasted line
    # break becomes a space.
    new.location = " ".join((new.location or "").split())
    new.description = (new.description or "").strip()
    new.contact_name = " ".join((new.contact_name or "").split())
    for field in ("location", "description", "contact_name"):
        problem = text_problem(columns[field], getattr(new, field))
        if problem:
            errors[field] = problem
    if not new.location:
        errors["location"] = _("Say where the problem is (a room, a floor, a place).")
    if not new.description:
        errors["description"] = _("Describe the problem.")
    estates = {
        "unit": new.unit.building.estate_id if new.unit is not None else None,
        "facility": new.facility.estate_id if new.facility is not None else None,
        "reporter": new.reporter.estate_id if new.reporter is not None else None,
    }
    for field, estate_id in estates.items():
        if estate_id is not None and estate_id != new.estate_id:
            errors[field] = _("This belongs to another estate.")
    try:
        new.contact_phone = clean_phone(new.contact_phone) or ""
    except RepairError as exc:
        errors.update(exc.errors)
    return errors


def submit(session: Session, new: NewRepair, *, by: User, now: datetime | None = None):
    """Record a new request; its response and resolution targets are fixed now."""
    errors = _check_new(new)
    if errors:
        raise RepairError(errors)
    now = now or utcnow()
    respond_by, resolve_by = deadlines(session, new.estate_id, new.urgency, now)
    building_id = new.building_id
    if new.unit is not None:
        building_id = new.unit.building_id
    elif new.facility is not None and building_id is None:
        building_id = new.facility.building_id
    repair = RepairRequest(
        estate_id=new.estate_id,
        building_id=building_id,
        unit=new.unit,
        facility=new.facility,
        source=new.source,
        reporter=new.reporter,
        reported_by=by,
        contact_name=new.contact_name or (new.reporter.name if new.reporter else ""),
        contact_phone=new.contact_phone or None,  # its mask follows (models/masks.py)
        location=new.location,
        description=new.description,
        category=new.category,
        urgency=new.urgency,
        status=S.submitted,
        submitted_at=now,
        respond_by=respond_by,
        resolve_by=resolve_by,
    )
    session.add(repair)
    session.flush()
    _event(session, repair, by, "submit", None, S.submitted, "", now)
    return repair


# -- moves -------------------------------------------------------------------------------


def _event(session, repair, actor, action, before, after, note, now) -> RepairEvent:
    event = RepairEvent(
        repair_id=repair.id,
        at=now,
        actor_id=actor.id if actor else None,
        actor_name=(actor.display_name or actor.username) if actor else "",
        action=action,
        from_status=before,
        to_status=after,
        note=note,
    )
    session.add(event)
    return event


def _note(note: str | None, *, required: bool = False) -> str:
    note = (note or "").strip()
    problem = text_problem(RepairEvent.__table__.c.note, note)
    if problem:
        raise RepairError({"note": problem})
    if required and not note:
        raise RepairError({"note": _("Give a reason.")})
    return note


def _move(
    session: Session,
    repair: RepairRequest,
    action: str,
    by: User,
    *,
    note: str = "",
    now: datetime,
    expected_version: int | None = None,
    **values,
) -> RepairEvent:
    """Check the rule, then change the row only if nobody changed it since it was read."""
    if not may(action, repair, by, now):
        raise RepairError(_("You cannot do this to a request that is %(status)s.",
                            status=status_label(repair.status)))
    version = repair.version if expected_version is None else expected_version
    sources, target = MOVES[action]
    before = repair.status
    if target is not None:
        values.setdefault("status", target)  # reopen picks its own (assigned or submitted)
    result = session.execute(
        update(RepairRequest)
        .where(
            RepairRequest.id == repair.id,
            RepairRequest.version == version,
            RepairRequest.status.in_(sources),
        )
        .values(version=RepairRequest.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(repair)
        raise RepairError(
            _("Someone else changed this request a moment ago; look at it again and retry.")
        )
    session.refresh(repair)
    return _event(session, repair, by, action, before, target, note, now)


def assign(session, repair, assignee: User, *, by: User, note="", now=None, expected_version=None):
    """Give the job to ``assignee`` (by hand, or a repair worker taking it themselves)."""
    from .repair_mail import notify_assignee

    now = now or utcnow()
    note = _note(note)
    if not may_work(assignee, repair.estate_id):
        raise RepairError({"assignee": _("%(name)s does not do repairs in this estate.",
                                         name=assignee.display_name or assignee.username)})
    if not _staff(by, repair, "repairs.assign") and assignee.id != by.id:
        raise RepairError({"assignee": _("You may only take a job yourself.")})
    if repair.assignee_id == assignee.id and repair.status is S.assigned:
        raise RepairError({"assignee": _("The job is already theirs.")})
    event = _move(session, repair, "assign", by, note=note, now=now,
                  expected_version=expected_version, assignee_id=assignee.id, assigned_at=now)
    notify_assignee(session, repair)
    return event


def start(session, repair, *, by: User, note="", now=None, expected_version=None):
    now = now or utcnow()
    values = {} if repair.started_at else {"started_at": now}
    return _move(session, repair, "start", by, note=_note(note), now=now,
                 expected_version=expected_version, **values)


@dataclass
class RepairResult:
    fixed: bool
    minutes_spent: int | None = None
    materials: str = ""
    cost: Decimal = Decimal("0.00")
    paid_by: RepairPayer = RepairPayer.estate
    note: str = ""


def _check_result(repair: RepairRequest, result: RepairResult) -> dict[str, str]:
    errors: dict[str, str] = {}
    result.materials = (result.materials or "").strip()
    problem = text_problem(RepairRequest.__table__.c.materials, result.materials)
    if problem:
        errors["materials"] = problem
    minutes = result.minutes_spent
    if minutes is not None and (
        isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 100_000
    ):
        errors["minutes_spent"] = _("Give the time spent in minutes, 0 to 100000.")
    try:  # a form may hand over text; NaN, infinity and fractions of a fen are refused
        result.cost = Decimal(str(result.cost if result.cost is not None else "0"))
        fits = result.cost.is_finite() and Decimal(0) <= result.cost <= Decimal("1000000")
        fits = fits and result.cost == result.cost.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        fits = False
    if not fits:
        errors["cost"] = _("The cost must be between 0 and 1,000,000 yuan.")
        result.cost = Decimal(0)
    if result.paid_by is RepairPayer.resident and result.cost > 0 and repair.unit_id is None:
        errors["paid_by"] = _("Only a repair in a unit can be charged to its resident.")
    return errors


def resolve(session, repair, result: RepairResult, *, by: User, now=None, expected_version=None):
    """Record the result. A resident-paid cost waits as a charge for the unit's next bill;
    a repair on a facility joins its maintenance history, under warranty or not."""
    now = now or utcnow()
    note = _note(result.note)
    errors = _check_result(repair, result)
    billed = None if errors else billed_charge_problem(session, repair, result)
    if billed:
        errors["paid_by"] = billed
    if errors:
        raise RepairError(errors)
    today = estate_today(repair.estate)
    warranty = repair.facility.under_warranty(today) if repair.facility else None
    event = _move(
        session, repair, "resolve", by, note=note, now=now, expected_version=expected_version,
        resolved_at=now, fixed=result.fixed, minutes_spent=result.minutes_spent,
        materials=result.materials, cost=result.cost, paid_by=result.paid_by,
        under_warranty=warranty,
    )
    record_result(session, repair, result, note=note, today=today, warranty=warranty)
    session.flush()
    return event


def close(session, repair, *, by: User, note="", now=None, expected_version=None):
    now = now or utcnow()
    return _move(session, repair, "close", by, note=_note(note), now=now,
                 expected_version=expected_version, closed_at=now)


def reopen(session, repair, *, by: User, note="", now=None, expected_version=None):
    """Back to the person who did it, who is told by mail — or to the queue when they
    can no longer take it (account gone or disabled, moved to another estate, role
    changed): a job must not wait on someone who will never see it."""
    from .repair_mail import notify_assignee

    now = now or utcnow()
    note = _note(note, required=True)
    worker = repair.assignee
    back = worker is not None and may_work(worker, repair.estate_id)
    back_to = S.assigned if back else S.submitted
    event = _move(session, repair, "reopen", by, note=note, now=now,
                  expected_version=expected_version, resolved_at=None, closed_at=None,
                  rating=None, rating_comment="", rated_at=None,
                  reopen_count=RepairRequest.reopen_count + 1, status=back_to,
                  assignee_id=worker.id if back else None)
    event.to_status = back_to
    withdraw_result(session, repair)
    if back:
        notify_assignee(session, repair)
    return event


def cancel(session, repair, *, by: User, note="", now=None, expected_version=None):
    now = now or utcnow()
    note = _note(note, required=not is_reporter(by, repair))
    return _move(session, repair, "cancel", by, note=note, now=now,
                 expected_version=expected_version, cancelled_at=now)


def rate(session, repair, rating, comment="", *, by: User, now=None, expected_version=None):
    now = now or utcnow()
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise RepairError({"rating": _("Choose 1 to 5 stars.")})
    comment = (comment or "").strip()
    problem = text_problem(RepairRequest.__table__.c.rating_comment, comment)
    if problem:
        raise RepairError({"comment": problem})
    return _move(session, repair, "rate", by, note=comment[:500], now=now,
                 expected_version=expected_version, rating=rating, rating_comment=comment,
                 rated_at=now)


def status_label(status: RepairStatus) -> str:
    return str(STATUS_LABELS[status])
