"""Response and resolution targets per urgency (editable per estate), and the timers the
queue shows against them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import RepairRequest, RepairSlaPolicy, RepairStatus, RepairUrgency

# Minutes to respond (start work) and to resolve, when the estate has set nothing.
DEFAULT_TARGETS: dict[RepairUrgency, tuple[int, int]] = {
    RepairUrgency.urgent: (60, 24 * 60),
    RepairUrgency.normal: (4 * 60, 3 * 24 * 60),
    RepairUrgency.low: (24 * 60, 7 * 24 * 60),
}


def targets(session: Session, estate_id: int) -> dict[RepairUrgency, tuple[int, int]]:
    """(respond, resolve) minutes per urgency for an estate: its own, else the defaults."""
    found = dict(DEFAULT_TARGETS)
    rows = session.scalars(select(RepairSlaPolicy).where(RepairSlaPolicy.estate_id == estate_id))
    for row in rows:
        found[row.urgency] = (row.respond_minutes, row.resolve_minutes)
    return found


def deadlines(
    session: Session, estate_id: int, urgency: RepairUrgency, submitted_at: datetime
) -> tuple[datetime, datetime]:
    respond, resolve = targets(session, estate_id)[urgency]
    return submitted_at + timedelta(minutes=respond), submitted_at + timedelta(minutes=resolve)


@dataclass(frozen=True)
class Timers:
    """Where a request stands against its targets at ``now``."""

    respond_breached: bool
    resolve_breached: bool
    respond_left: timedelta | None  # time left to respond; None once responded
    resolve_left: timedelta | None  # time left to resolve; None once resolved

    @property
    def breached(self) -> bool:
        return self.respond_breached or self.resolve_breached


def timers(repair: RepairRequest, now: datetime) -> Timers:
    responded = repair.started_at
    resolved = repair.resolved_at
    live = repair.status not in (RepairStatus.cancelled,)
    respond_breached = live and (
        (responded or (now if repair.is_open else repair.resolved_at or now)) > repair.respond_by
    )
    resolve_breached = live and ((resolved or now) > repair.resolve_by)
    return Timers(
        respond_breached=bool(respond_breached),
        resolve_breached=bool(resolve_breached),
        respond_left=None if responded or not repair.is_open else repair.respond_by - now,
        resolve_left=None if resolved or not repair.is_open else repair.resolve_by - now,
    )


def breach_clause(now: datetime):
    """Open requests past a target, as a where-clause (the queue's 超时 filter)."""
    return (
        RepairRequest.status.in_(
            (RepairStatus.submitted, RepairStatus.assigned, RepairStatus.in_progress)
        )
    ) & (
        (RepairRequest.started_at.is_(None) & (RepairRequest.respond_by < now))
        | (RepairRequest.resolve_by < now)
    )
