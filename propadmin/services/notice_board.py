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
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from models import Notice, NoticePriority, Resident, utcnow

from .notice_targets import unread, visible_to
from .today import estate_today

PAGE_SIZE = 20
MAX_ID = 2**31 - 1  # an id beyond the column's range is no notice (not a database error)


@dataclass(frozen=True)
class Item:
    notice: Notice
    unread: bool


@dataclass(frozen=True)
class Page:
    items: list[Item]
    number: int  # 1-based, within 1..pages
    pages: int
    total: int
    unread: int  # of all the resident sees, not only this page


def _clock(resident: Resident, now: datetime | None) -> tuple[date, datetime]:
    """Today in the resident's estate (whose homes are current) and the moment (what is live)."""
    return estate_today(resident.estate), now or utcnow()


def _pinned_first():
    return case(
        (Notice.priority == NoticePriority.urgent, 0),
        (Notice.priority == NoticePriority.important, 1),
        else_=2,
    )


def _items(session: Session, resident: Resident, now, *, unread_first: bool, limit, offset=0):
    today, now = _clock(resident, now)
    is_unread = case((unread(resident.id), 1), else_=0).label("is_unread")
    order = [_pinned_first()]
    if unread_first:
        order.append(is_unread.desc())
    order += [Notice.published_at.desc(), Notice.id.desc()]
    rows = session.execute(
        select(Notice, is_unread)
        .where(visible_to(resident.id, today, now))
        .options(joinedload(Notice.estate))
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).all()
    return [Item(notice, bool(flag)) for notice, flag in rows]


def board(
    session: Session, resident: Resident, page: int = 1, *, now: datetime | None = None
) -> Page:
    """One page of the notices ``resident`` sees: pinned, then unread, then newest. A page
    number out of range (or nonsense) gives the nearest page there is."""
    today, now = _clock(resident, now)
    total, unread_total = _counts(session, resident, today, now)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    number = min(max(page, 1), pages)
    items = []
    if total:
        items = _items(
            session,
            resident,
            now,
            unread_first=True,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
    return Page(items, number, pages, total, unread_total)


def headlines(
    session: Session, resident: Resident, n: int = 3, *, now: datetime | None = None
) -> list[Item]:
    """The newest few notices for the home screen, pinned ones first."""
    return _items(session, resident, now, unread_first=False, limit=n)


def _counts(session: Session, resident: Resident, today, now) -> tuple[int, int]:
    """(notices the resident sees, of which unread): one pass over them."""
    total, unread_total = session.execute(
        select(func.count(Notice.id), func.count(case((unread(resident.id), 1)))).where(
            visible_to(resident.id, today, now)
        )
    ).one()
    return total or 0, unread_total or 0


def unread_count(session: Session, resident: Resident, *, now: datetime | None = None) -> int:
    """How many of the notices ``resident`` sees they have not opened: the figure on the
    home screen and on the notices tab."""
    today, now = _clock(resident, now)
    return _counts(session, resident, today, now)[1]


def find(
    session: Session, resident: Resident, notice_id: int, *, now: datetime | None = None
) -> Notice | None:
    """The notice if ``resident`` sees it now, else None: a draft, a notice not yet out,
    withdrawn, expired, for other homes or another estate is as absent as no notice."""
    if not 0 < notice_id <= MAX_ID:
        return None
    today, now = _clock(resident, now)
    return session.scalar(
        select(Notice)
        .where(Notice.id == notice_id, visible_to(resident.id, today, now))
        .options(joinedload(Notice.estate))
    )
