"""Who may make which move on a repair request: the rules behind every button of the
repair pages and every call of ``services/repairs.py`` (which checks them again).

The estate's staff act by permission within their estates (``repairs.work`` on jobs given
to them, ``repairs.assign`` to hand jobs out, ``repairs.manage`` for everything); the
resident who reported a request follows it from the portal: cancels it before work
starts, confirms or reopens it (within ``REOPEN_DAYS`` of its resolution) and rates it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models import RepairRequest, RepairStatus, User, utcnow

from ..permissions import estate_scope, permissions_for

S = RepairStatus
# How long after it was resolved the resident may still reopen a job.
REOPEN_DAYS = 7

# action → (statuses it may start from, status it leads to; None = unchanged)
MOVES: dict[str, tuple[tuple[RepairStatus, ...], RepairStatus | None]] = {
    "assign": ((S.submitted, S.assigned), S.assigned),
    "start": ((S.assigned,), S.in_progress),
    "resolve": ((S.in_progress,), S.resolved),
    "close": ((S.resolved,), S.closed),
    "reopen": ((S.resolved, S.closed), S.assigned),
    "cancel": ((S.submitted, S.assigned, S.in_progress), S.cancelled),
    "rate": ((S.closed,), None),
}



# -- who may do what ---------------------------------------------------------------------


def _staff(user: User, repair: RepairRequest, permission: str) -> bool:
    if permission not in permissions_for(user):
        return False
    scope = estate_scope(user)
    return scope is None or repair.estate_id in scope


def is_reporter(user: User, repair: RepairRequest) -> bool:
    resident = getattr(user, "resident", None)
    return (
        resident is not None
        and repair.reporter_id == resident.id
        and "portal.use" in permissions_for(user)
    )


def may_see(user: User, repair: RepairRequest) -> bool:
    return is_reporter(user, repair) or _staff(user, repair, "repairs.view")


def may(action: str, repair: RepairRequest, user: User, now: datetime | None = None) -> bool:
    """Whether ``user`` may make this move on ``repair`` now. The pages show a button only
    when this says yes, and every move checks it again."""
    now = now or utcnow()
    sources, _target = MOVES[action]
    if repair.status not in sources:
        return False
    reporter = is_reporter(user, repair)
    manage = _staff(user, repair, "repairs.manage")
    mine = repair.assignee_id == user.id and _staff(user, repair, "repairs.work")
    if action == "assign":
        return _staff(user, repair, "repairs.assign") or (
            repair.status is S.submitted and _staff(user, repair, "repairs.work")
        )
    if action in ("start", "resolve"):
        return mine or manage
    if action == "close":
        return reporter or manage
    if action == "reopen":
        if manage:
            return True
        return reporter and repair.resolved_at is not None and (
            now - repair.resolved_at <= timedelta(days=REOPEN_DAYS)
        )
    if action == "cancel":
        return manage or (reporter and repair.status in (S.submitted, S.assigned))
    if action == "rate":
        return reporter and repair.rating is None
    return False


def allowed_actions(repair: RepairRequest, user: User, now: datetime | None = None) -> list[str]:
    return [action for action in MOVES if may(action, repair, user, now)]


def may_work(user: User, estate_id: int) -> bool:
    """Whether ``user`` can be given repair jobs in this estate."""
    if not user.active or "repairs.work" not in permissions_for(user):
        return False
    return user.is_superuser or estate_id in user.estate_ids
