"""Automatic assignment: the job goes to the estate's repair worker with the fewest open jobs.

Workers are the active staff of the request's estate whose roles grant ``repairs.work``
and not ``repairs.assign``: the people who hand jobs out (the estate's administrators,
who hold every permission) are not in the pool themselves — they take a job by hand when
they mean to. When someone's skills (``RepairSkill``) cover the request's category, only
such people are considered. Ties go to the one with fewer open jobs, then the one who was
given a job least recently (never = first), then the lowest id, so the choice is
repeatable. One query finds the worker; ``repairs.assign`` then moves the request and
mails them.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from models import (
    OPEN_REPAIR_STATUSES,
    RepairRequest,
    RepairSkill,
    RolePermission,
    StaffEstate,
    User,
)
from models.accounts import user_role

from .repairs import RepairError, assign, may_work


def _holds(permission: str):
    """The condition "the user's roles grant ``permission``" as one correlated EXISTS."""
    return exists(
        select(1)
        .select_from(user_role.join(RolePermission, RolePermission.role_id == user_role.c.role_id))
        .where(user_role.c.user_id == User.id, RolePermission.permission == permission)
    )


def pick_worker(session: Session, repair: RepairRequest) -> User | None:
    """The worker the next job of this estate goes to, or None when there is nobody."""
    job = aliased(RepairRequest)
    open_jobs = (
        select(func.count(job.id))
        .where(job.assignee_id == User.id, job.status.in_(OPEN_REPAIR_STATUSES))
        .correlate(User)
        .scalar_subquery()
    )
    last_given = (
        select(func.max(job.assigned_at)).where(job.assignee_id == User.id).correlate(User)
        .scalar_subquery()
    )
    skilled = exists(
        select(1).where(RepairSkill.user_id == User.id, RepairSkill.category == repair.category)
    )
    query = (
        select(User.id)
        .join(StaffEstate, and_(StaffEstate.user_id == User.id,
                                StaffEstate.estate_id == repair.estate_id))
        .where(User.active.is_(True), _holds("repairs.work"), ~_holds("repairs.assign"))
        .order_by(
            case((skilled, 0), else_=1),
            open_jobs,
            last_given.asc().nulls_first(),
            User.id,
        )
    )
    if repair.assignee_id is not None:
        query = query.where(User.id != repair.assignee_id)
    for user_id in session.scalars(query.limit(5)):
        user = session.get(User, user_id)
        if may_work(user, repair.estate_id):  # the same rule assign checks
            return user
    return None


def auto_assign(
    session: Session,
    repair: RepairRequest,
    *,
    by: User,
    now: datetime | None = None,
    expected_version: int | None = None,
):
    """Give the job to the least busy worker (see the module's note) and tell them by mail.
    Raises RepairError (field ``assignee``) when nobody in the estate can take it."""
    worker = pick_worker(session, repair)
    if worker is None:
        raise RepairError({"assignee": _("Nobody in this estate does repairs: assign it by hand.")})
    assign(session, repair, worker, by=by, now=now, expected_version=expected_version)
    return worker
