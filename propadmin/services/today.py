"""What day it is for an estate office: today in the estate's time zone (a bill is due,
overdue or reminded by the estate's calendar, not by the server's clock, which runs on
UTC). One place, so the worklist, the lists, the portal, reminders and late fees agree."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models import Estate

from .finance_figures import DEFAULT_ZONE, estate_todays


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (KeyError, ValueError):  # an unknown zone name: the default zone
        return ZoneInfo(DEFAULT_ZONE)


def estate_today(estate: Estate | None) -> date:
    """Today in ``estate``'s zone (the default zone, Asia/Shanghai, without one)."""
    return datetime.now(UTC).astimezone(_zone(estate.timezone if estate else None)).date()


def office_today(session: Session, estate_ids: Iterable[int] | None) -> date:
    """Today for work that spans ``estate_ids`` (None: every estate): their date, or,
    where their zones disagree, the earliest of them — so nothing is called overdue, or
    reminded, before its due date has passed in its own estate."""
    days = estate_todays(session, None if estate_ids is None else set(estate_ids))
    return min(days.values()) if days else estate_today(None)
