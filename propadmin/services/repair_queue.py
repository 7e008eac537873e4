"""The staff repair queue: requests in the user's estates, the most urgent first and then
the oldest, with the office's filters, one page at a time.

A page costs the same few queries however many rows it shows: one count, one select of
the rows with everything a row shows joined in (unit and its building, the building, the
assignee). "My jobs" is the same query for the jobs assigned to the user and not done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, contains_eager, joinedload, lazyload

from models import (
    Building,
    RepairCategory,
    RepairRequest,
    RepairStatus,
    RepairUrgency,
    StaffEstate,
    Unit,
    User,
    utcnow,
)
from propadmin.permissions import estate_scope, scoped

from .naming import normalize_query
from .repair_sla import breach_clause
from .repairs import may_work

PAGE_SIZE = 20
MAX_PAGE = 100_000
OPEN = "open"  # the status filter's default: submitted, assigned or in progress
ALL = "all"
UNASSIGNED = "none"
OPEN_STATUSES = (RepairStatus.submitted, RepairStatus.assigned, RepairStatus.in_progress)
DONE_STATUSES = (RepairStatus.closed, RepairStatus.cancelled)

URGENCY_ORDER = case(
    {RepairUrgency.urgent.value: 0, RepairUrgency.normal.value: 1, RepairUrgency.low.value: 2},
    value=RepairRequest.urgency,
    else_=3,
)


def _small_id(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


@dataclass
class QueueFilters:
    """What the queue page's filter form asks for; anything unreadable is left out."""

    status: str = OPEN
    urgency: RepairUrgency | None = None
    category: RepairCategory | None = None
    building_id: int | None = None
    assignee: str = ""  # "" any, "none" unassigned, or a user id
    breached: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilters:
        found = cls()
        status = (args.get("status") or OPEN)[:16]
        if status in (OPEN, ALL) or status in RepairStatus.__members__:
            found.status = status
        urgency = (args.get("urgency") or "")[:16]
        if urgency in RepairUrgency.__members__:
            found.urgency = RepairUrgency(urgency)
        category = (args.get("category") or "")[:16]
        if category in RepairCategory.__members__:
            found.category = RepairCategory(category)
        found.building_id = _small_id(args.get("building"))
        assignee = (args.get("assignee") or "")[:10]
        if assignee == UNASSIGNED or _small_id(assignee) is not None:
            found.assignee = assignee
        found.breached = args.get("breached") in ("1", "on", "y")
        found.q = normalize_query((args.get("q") or "")[:64])
        page = _small_id(args.get("page"))
        found.page = min(max(page or 1, 1), MAX_PAGE)
        return found

    def args(self, **changes) -> dict[str, str]:
        """The filters as address arguments (for the pager's links)."""
        values = {
            "status": self.status if self.status != OPEN else "",
            "urgency": self.urgency.value if self.urgency else "",
            "category": self.category.value if self.category else "",
            "building": str(self.building_id or ""),
            "assignee": self.assignee,
            "breached": "1" if self.breached else "",
            "q": self.q,
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


@dataclass
class QueuePage:
    rows: list[RepairRequest]
    total: int
    page: int
    pages: int
    filters: QueueFilters = field(default_factory=QueueFilters)


def _status_clause(status: str):
    if status == OPEN:
        return RepairRequest.status.in_(OPEN_STATUSES)
    if status == ALL:
        return None
    return RepairRequest.status == RepairStatus(status)


def _filtered(stmt, filters: QueueFilters, now: datetime, *, mine_of: User | None):
    clauses = []
    if mine_of is not None:
        clauses += [
            RepairRequest.assignee_id == mine_of.id,
            RepairRequest.status.not_in(DONE_STATUSES),
        ]
    else:
        status = _status_clause(filters.status)
        if status is not None:
            clauses.append(status)
    if filters.urgency is not None:
        clauses.append(RepairRequest.urgency == filters.urgency)
    if filters.category is not None:
        clauses.append(RepairRequest.category == filters.category)
    if filters.building_id is not None:
        clauses.append(RepairRequest.building_id == filters.building_id)
    if filters.assignee == UNASSIGNED:
        clauses.append(RepairRequest.assignee_id.is_(None))
    elif filters.assignee:
        clauses.append(RepairRequest.assignee_id == int(filters.assignee))
    if filters.breached:
        clauses.append(breach_clause(now))
    if filters.q:
        clauses.append(RepairRequest.location.contains(filters.q, autoescape=True))
    return stmt.where(*clauses)


def queue_page(
    session: Session,
    user: User,
    filters: QueueFilters,
    *,
    mine: bool = False,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue (or of the user's own jobs): two queries."""
    now = now or utcnow()
    mine_of = user if mine else None
    count = _filtered(
        scoped(select(func.count(RepairRequest.id)), RepairRequest, user), filters, now,
        mine_of=mine_of,
    )
    total = session.scalar(count) or 0
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(filters.page, pages)
    unit_building = Building.__table__.alias("unit_building")
    stmt = (
        scoped(select(RepairRequest), RepairRequest, user)
        .outerjoin(RepairRequest.unit)
        .outerjoin(unit_building, unit_building.c.id == Unit.building_id)
        .options(
            contains_eager(RepairRequest.unit).contains_eager(
                Unit.building, alias=unit_building
            ),
            joinedload(RepairRequest.building),
            joinedload(RepairRequest.estate),
            joinedload(RepairRequest.assignee).options(
                lazyload(User.roles), lazyload(User.memberships)
            ),
        )
    )
    stmt = _filtered(stmt, filters, now, mine_of=mine_of)
    stmt = stmt.order_by(URGENCY_ORDER, RepairRequest.submitted_at, RepairRequest.id)
    stmt = stmt.offset((page - 1) * page_size).limit(page_size)
    rows = list(session.scalars(stmt).unique())
    return QueuePage(rows, total, page, pages, filters)


# -- what the filter form offers ---------------------------------------------------------


def buildings_for(session: Session, user: User) -> list[Building]:
    return list(
        session.scalars(scoped(select(Building), Building, user).order_by(Building.name))
    )


def workers_for(session: Session, user: User, estate_id: int | None = None) -> list[User]:
    """Repair staff who may be given jobs in the user's estates (or in one of them)."""
    scope = estate_scope(user)
    estates = {estate_id} if estate_id is not None else scope
    if estate_id is not None and scope is not None and estate_id not in scope:
        return []
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name, User.username)
    if estates is not None:
        stmt = stmt.where(
            User.id.in_(select(StaffEstate.user_id).where(StaffEstate.estate_id.in_(estates)))
        )
    found = []
    for worker in session.scalars(stmt):
        targets = estates if estates is not None else worker.estate_ids or {None}
        if any(e is not None and may_work(worker, e) for e in targets) or (
            estates is None and worker.is_superuser
        ):
            found.append(worker)
    return found


def count_breached(session: Session, user: User, now: datetime | None = None) -> int:
    """Open requests past a target, in the user's estates (a worklist tile)."""
    stmt = select(func.count(RepairRequest.id)).where(breach_clause(now or utcnow()))
    return session.scalar(scoped(stmt, RepairRequest, user)) or 0


def count_unassigned(session: Session, user: User) -> int:
    """Submitted requests nobody has been given yet (a worklist tile)."""
    stmt = select(func.count(RepairRequest.id)).where(
        RepairRequest.status == RepairStatus.submitted, RepairRequest.assignee_id.is_(None)
    )
    return session.scalar(scoped(stmt, RepairRequest, user)) or 0
