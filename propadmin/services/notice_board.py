"""A resident's notice board in the portal (公告): the list, the page by id, the unread
count and the home screen's headlines.

Which notices a resident sees is ``notice_targets.visible_to`` and nothing else, so the
board, the mails and the office's read figures cannot disagree. What this module adds is
the order a resident reads them in: pinned first (urgent, then important), then the ones
they have not opened, then the newest. Each function runs a fixed number of queries
however many notices there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Date, Integer, bindparam, case, func, select
from sqlalchemy.orm import Session, joinedload

from models import PINNED_PRIORITIES, Notice, NoticeCategory, NoticePriority, Resident, utcnow

from .notice_targets import unread, visible_to
from .today import estate_today

PAGE_SIZE = 20
MAX_ID = 2**31 - 1  # an id beyond the column's range is no notice (not a database error)


@dataclass(frozen=True)
class Headline:
    """What the home screen shows of a notice: read as plain columns, since loading full
    ``Notice`` objects cost more than the query."""

    id: int
    title: str
    priority: NoticePriority
    category: NoticeCategory

    @property
    def pinned(self) -> bool:
        return self.priority in PINNED_PRIORITIES


@dataclass(frozen=True)
class Item:
    notice: Notice | Headline
    unread: bool


@dataclass(frozen=True)
class Page:
    items: list[Item]
    number: int  # 1-based, within 1..pages
    pages: int
    total: int
    unread: int  # of all the resident sees, not only this page


def reader_clock(resident: Resident, now: datetime | None = None) -> dict:
    """The bind parameters of the statements below: who reads, today in the resident's
    estate (whose homes are current) and the moment (what is live)."""
    return {
        "seen_by": resident.id,
        "seen_on": estate_today(resident.estate),
        "seen_at": now or utcnow(),
    }


# Every portal page asks for notices, so the statements are built once, with bind
# parameters for the resident and the clock (``reader_clock``): building them per request cost
# more than running them.
_SEEN_BY = bindparam("seen_by", type_=Integer)
_SEEN_ON = bindparam("seen_on", type_=Date)
_SEEN_AT = bindparam("seen_at", type_=Notice.__table__.c.published_at.type)


def _visible():
    return visible_to(_SEEN_BY, _SEEN_ON, _SEEN_AT)


def _pinned_first():
    return case(
        (Notice.priority == NoticePriority.urgent, 0),
        (Notice.priority == NoticePriority.important, 1),
        else_=2,
    )


def _is_unread():
    return case((unread(_SEEN_BY), 1), else_=0).label("is_unread")


@cache
def _listing(*, unread_first: bool):
    """The notices in reading order with whether each is unread. Callers add LIMIT and
    OFFSET."""
    is_unread = _is_unread()
    order = [_pinned_first()]
    if unread_first:
        order.append(is_unread.desc())
    order += [Notice.published_at.desc(), Notice.id.desc()]
    return (
        select(Notice, is_unread)
        .where(_visible())
        .options(joinedload(Notice.estate))
        .order_by(*order)
    )


def headline_rows(n: int):
    """The home screen's ``n`` notices as plain columns: id, title, priority, category,
    is_unread, ``unread`` (of every notice the resident sees, taken before LIMIT) and
    ``pos`` (1 for the first), for ``portal_home`` to read with the rest of the page."""
    is_unread = _is_unread()
    order = (_pinned_first(), Notice.published_at.desc(), Notice.id.desc())
    return (
        select(
            Notice.id.label("id"),
            Notice.title.label("title"),
            Notice.priority.label("priority"),
            Notice.category.label("category"),
            is_unread,
            func.sum(is_unread).over().label("unread"),
            func.row_number().over(order_by=order).label("pos"),
        )
        .where(_visible())
        .order_by(*order)
        .limit(n)
    )


@cache
def _counting():
    """(notices the resident sees, of which unread): one pass over them."""
    return select(func.count(Notice.id), func.count(case((unread(_SEEN_BY), 1)))).where(_visible())


@cache
def _one():
    return (
        select(Notice)
        .where(Notice.id == bindparam("notice_id"), _visible())
        .options(joinedload(Notice.estate))
    )


def _items(session: Session, clock: dict, *, unread_first: bool, limit, offset=0):
    query = _listing(unread_first=unread_first).limit(limit).offset(offset)
    return [Item(notice, bool(flag)) for notice, flag in session.execute(query, clock)]


def board(
    session: Session, resident: Resident, page: int = 1, *, now: datetime | None = None
) -> Page:
    """One page of the notices ``resident`` sees: pinned, then unread, then newest. A page
    number out of range (or nonsense) gives the nearest page there is."""
    clock = reader_clock(resident, now)
    total, unread_total = _counts(session, clock)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    number = min(max(page, 1), pages)
    items = []
    if total:
        items = _items(
            session,
            clock,
            unread_first=True,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
    return Page(items, number, pages, total, unread_total)


def _counts(session: Session, clock: dict) -> tuple[int, int]:
    total, unread_total = session.execute(_counting(), clock).one()
    return total or 0, unread_total or 0


def unread_count(session: Session, resident: Resident, *, now: datetime | None = None) -> int:
    """How many of the notices ``resident`` sees they have not opened: the figure on the
    home screen and on the notices tab."""
    return _counts(session, reader_clock(resident, now))[1]


def find(
    session: Session, resident: Resident, notice_id: int, *, now: datetime | None = None
) -> Notice | None:
    """The notice if ``resident`` sees it now, else None: a draft, a notice not yet out,
    withdrawn, expired, for other homes or another estate is as absent as no notice."""
    if not 0 < notice_id <= MAX_ID:
        return None
    return session.scalar(_one(), {**reader_clock(resident, now), "notice_id": notice_id})
