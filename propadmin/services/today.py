"""What day it is for an estate office: today in the estate's time zone (a bill is due,
overdue or reminded by the estate's calendar, not by the server's clock, which runs on
UTC). One place, so the worklist, the lists, the portal, reminders and late fees agree."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from models import Estate

DEFAULT_ZONE = "Asia/Shanghai"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (KeyError, ValueError):  # an unknown zone name: the default zone
        return ZoneInfo(DEFAULT_ZONE)


def estate_today(estate: Estate | None) -> date:
    """Today in ``estate``'s zone (the default zone, Asia/Shanghai, without one)."""
    return datetime.now(UTC).astimezone(_zone(estate.timezone if estate else None)).date()


# Built once (every bill list and the worklist read them): the estates' zones.
_ZONES = select(Estate.id, Estate.timezone)
_ZONES_IN = _ZONES.where(Estate.id.in_(bindparam("ids", expanding=True)))


def estate_todays(session: Session, estate_ids: set[int] | None) -> dict[int, date]:
    """Today's date in each of these estates' time zones (``None``: every estate). Estates
    the session has already loaded (the dashboard's) are not read again."""
    zones: dict[int, str] = {}
    missing = None if estate_ids is None else set()
    for estate_id in estate_ids or ():
        loaded = session.identity_map.get(identity_key(Estate, estate_id))
        if loaded is not None:
            zones[estate_id] = loaded.timezone
        else:
            missing.add(estate_id)
    if missing is None:
        zones.update(session.execute(_ZONES).all())
    elif missing:
        zones.update(session.execute(_ZONES_IN, {"ids": list(missing)}).all())
    now = datetime.now(UTC)
    return {estate_id: now.astimezone(_zone(name)).date() for estate_id, name in zones.items()}


def office_today(session: Session, estate_ids: Iterable[int] | None) -> date:
    """Today for work that spans ``estate_ids`` (None: every estate): their date, or,
    where their zones disagree, the earliest of them — so nothing is called overdue, or
    reminded, before its due date has passed in its own estate."""
    days = estate_todays(session, None if estate_ids is None else set(estate_ids))
    return min(days.values()) if days else estate_today(None)
