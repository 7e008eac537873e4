"""The staff list of notices: the user's estates, newest first, with the office's filters,
one page at a time. A page costs the same few queries however many rows it shows: the
count, the rows (estate joined), their chosen buildings, their chosen units, and the
read counts of the page in one grouped query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import (
    Notice,
    NoticeBuilding,
    NoticeCategory,
    NoticePriority,
    NoticeStatus,
    NoticeUnit,
    Unit,
    User,
)
from propadmin.permissions import scoped
from propadmin.services.notice_targets import read_counts
from propadmin.services.today import estate_today

PAGE_SIZE = 20
MAX_PAGE = 100_000
EXPIRED = "expired"  # published, but past its expiry: off the portal
STATUSES = (*(s.value for s in NoticeStatus), EXPIRED)


def _small_id(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def is_expired(notice: Notice, now: datetime) -> bool:
    return (
        notice.status is NoticeStatus.published
        and notice.expires_at is not None
        and notice.expires_at <= now
    )


@dataclass
class NoticeFilters:
    """What the list's filter form asks for; anything unreadable is left out."""

    status: str = ""
    category: NoticeCategory | None = None
    priority: NoticePriority | None = None
    estate_id: int | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> NoticeFilters:
        found = cls()
        status = (args.get("status") or "")[:16]
        if status in STATUSES:
            found.status = status
        category = (args.get("category") or "")[:16]
        if category in NoticeCategory.__members__:
            found.category = NoticeCategory(category)
        priority = (args.get("priority") or "")[:16]
        if priority in NoticePriority.__members__:
            found.priority = NoticePriority(priority)
        found.estate_id = _small_id(args.get("estate"))
        found.page = min(max(_small_id(args.get("page")) or 1, 1), MAX_PAGE)
        return found

    def args(self, **changes) -> dict[str, str]:
        values = {
            "status": self.status,
            "category": self.category.value if self.category else "",
            "priority": self.priority.value if self.priority else "",
            "estate": str(self.estate_id or ""),
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


@dataclass
class NoticePage:
    rows: list[Notice]
    reads: dict[int, int]
    total: int
    page: int
    pages: int
    filters: NoticeFilters = field(default_factory=NoticeFilters)


def _status_clause(status: str, now: datetime):
    not_expired = (Notice.expires_at.is_(None)) | (Notice.expires_at > now)
    if status == EXPIRED:
        return and_(Notice.status == NoticeStatus.published, Notice.expires_at <= now)
    if status == NoticeStatus.published.value:
        return and_(Notice.status == NoticeStatus.published, not_expired)
    if status:
        return Notice.status == NoticeStatus(status)
    return None


def _filtered(stmt, filters: NoticeFilters, now: datetime):
    clauses = []
    status = _status_clause(filters.status, now)
    if status is not None:
        clauses.append(status)
    if filters.category is not None:
        clauses.append(Notice.category == filters.category)
    if filters.priority is not None:
        clauses.append(Notice.priority == filters.priority)
    if filters.estate_id is not None:
        clauses.append(Notice.estate_id == filters.estate_id)
    return stmt.where(*clauses)


def notice_page(
    session: Session,
    user: User,
    filters: NoticeFilters,
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> NoticePage:
    """One page of the user's notices, newest first."""
    total = (
        session.scalar(_filtered(scoped(select(func.count(Notice.id)), Notice, user), filters, now))
        or 0
    )
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(filters.page, pages)
    stmt = _filtered(scoped(select(Notice), Notice, user), filters, now).options(
        joinedload(Notice.estate),
        selectinload(Notice.buildings).joinedload(NoticeBuilding.building),
        selectinload(Notice.units).joinedload(NoticeUnit.unit).joinedload(Unit.building),
    )
    stmt = stmt.order_by(Notice.created_at.desc(), Notice.id.desc())
    rows = list(session.scalars(stmt.offset((page - 1) * page_size).limit(page_size)).unique())
    return NoticePage(rows, _read_counts(session, rows), total, page, pages, filters)


def _read_counts(session: Session, rows: list[Notice]) -> dict[int, int]:
    """Readers still reached, per notice: one query per estate calendar day on the page
    (one, unless the page mixes estates in different time zones)."""
    by_day: dict = {}
    for notice in rows:
        by_day.setdefault(estate_today(notice.estate), []).append(notice.id)
    counts: dict[int, int] = {}
    for today, ids in by_day.items():
        counts |= read_counts(session, ids, today)
    return counts
