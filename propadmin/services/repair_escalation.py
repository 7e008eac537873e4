"""Escalation: an urgent request nobody has started past its response target goes to the
estate's administrators by mail, once.

``escalate_overdue`` is run by cron every minute (``flask repairs escalate``), maybe on two
hosts at once. One conditional UPDATE claims the requests (setting ``escalated_at`` only
where it is still NULL), so whichever run claims a request is the only one that writes its
timeline event and mails about it. The request's ``version`` is left alone: an escalation
is no move, and a worker's open page stays valid.

Who is told: the active staff members of the estate whose roles grant ``repairs.manage``
— and a superuser only if they are a member of that estate. Superusers run the whole
system, not an estate's office; a mail a minute from every estate would bury them.
Each gets one mail per run listing that estate's newly escalated requests, in their
own language.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, selectinload

from models import (
    OPEN_REPAIR_STATUSES,
    RepairEvent,
    RepairRequest,
    RepairUrgency,
    RolePermission,
    StaffEstate,
    User,
    utcnow,
)
from models.accounts import user_role

from ..mail import queue_mail


@dataclass
class Escalation:
    repair_ids: list[int] = field(default_factory=list)
    mails: int = 0
    # Estates (names) with an escalated request and nobody with an address to tell.
    nobody_told: list[str] = field(default_factory=list)


def _overdue(now: datetime, estate_ids):
    conditions = [
        RepairRequest.urgency == RepairUrgency.urgent,
        RepairRequest.status.in_(OPEN_REPAIR_STATUSES),
        RepairRequest.started_at.is_(None),
        RepairRequest.respond_by < now,
        RepairRequest.escalated_at.is_(None),
    ]
    if estate_ids is not None:
        conditions.append(RepairRequest.estate_id.in_(list(estate_ids)))
    return conditions


def claim(session: Session, now: datetime, estate_ids=None) -> list[int]:
    """Mark the overdue requests escalated; return the ids this call claimed (one UPDATE:
    a request claimed by a concurrent run is not matched again)."""
    result = session.execute(
        update(RepairRequest)
        .where(*_overdue(now, estate_ids))
        .values(escalated_at=now)
        .returning(RepairRequest.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars().all())


def estate_admins(session: Session, estate_ids) -> dict[int, list[User]]:
    """estate id → the people to tell (see the module's note), in one query."""
    manages = exists(
        select(1)
        .select_from(user_role.join(RolePermission, RolePermission.role_id == user_role.c.role_id))
        .where(user_role.c.user_id == User.id, RolePermission.permission == "repairs.manage")
    )
    rows = session.execute(
        select(StaffEstate.estate_id, User)
        .join(User, User.id == StaffEstate.user_id)
        .where(
            StaffEstate.estate_id.in_(list(estate_ids)),
            User.active.is_(True),
            or_(User.is_superuser.is_(True), manages),
        )
        .order_by(StaffEstate.estate_id, User.id)
    ).all()
    admins: dict[int, list[User]] = defaultdict(list)
    for estate_id, user in rows:
        admins[estate_id].append(user)
    return admins


def escalate_overdue(session: Session, now: datetime | None = None, estate_ids=None) -> Escalation:
    """Escalate every urgent request past its response target with no response yet.
    Flushes; the caller commits (the mail goes out after the commit)."""
    now = now or utcnow()
    outcome = Escalation(repair_ids=claim(session, now, estate_ids))
    if not outcome.repair_ids:
        return outcome
    repairs = session.scalars(
        select(RepairRequest)
        .where(RepairRequest.id.in_(outcome.repair_ids))
        .options(selectinload(RepairRequest.estate), selectinload(RepairRequest.assignee))
        .order_by(RepairRequest.respond_by, RepairRequest.id)
        .execution_options(populate_existing=True)
    ).all()
    by_estate: dict[int, list[RepairRequest]] = defaultdict(list)
    for repair in repairs:
        by_estate[repair.estate_id].append(repair)
        session.add(RepairEvent(
            repair_id=repair.id, at=now, actor_id=None, actor_name="", action="escalate",
            from_status=repair.status, to_status=repair.status, note="",
        ))
    admins = estate_admins(session, by_estate)
    for estate_id, estate_repairs in by_estate.items():
        estate = estate_repairs[0].estate
        told = 0
        for admin in admins.get(estate_id, ()):
            mail = queue_mail(
                session,
                admin,
                "repair_escalation",
                _l("%(estate)s: %(count)d urgent repairs without response",
                   estate=estate.name, count=len(estate_repairs)),
                estate=estate,
                repairs=estate_repairs,
                now=now,
            )
            told += mail is not None
        outcome.mails += told
        if not told:
            outcome.nobody_told.append(estate.name)
    session.flush()
    return outcome
