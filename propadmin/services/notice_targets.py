"""Whom a notice reaches. One condition, ``reaches``, ties a notice to a current
occupancy; everything else is built on it, so the portal, the mail push, the editor's count
and the read statistics cannot disagree:

- ``recipients(notice)`` — the residents a notice reaches (the mail, the count, the stats);
- ``visible_to(resident)`` — the notices a resident sees in the portal (the list, the page by
  id, the unread count).

A notice reaches a resident who lives, today, in a unit of the notice's estate that the
notice covers (the whole estate, a chosen building, a chosen unit) in the relation it asks
for: everyone living there (owners, tenants, family members), the owners only, or the
tenants only. A resident who moved out no longer sees it; one who moved in does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from models import (
    Building,
    Notice,
    NoticeAudience,
    NoticeBuilding,
    NoticeReach,
    NoticeRead,
    NoticeStatus,
    NoticeUnit,
    Occupancy,
    Relation,
    Resident,
    Unit,
    User,
)

from .today import estate_today


def current(today: date):
    """The occupancy is in force today."""
    return and_(
        or_(Occupancy.start_date.is_(None), Occupancy.start_date <= today),
        or_(Occupancy.end_date.is_(None), Occupancy.end_date >= today),
    )


def reaches(today: date):
    """The condition tying ``Notice`` to an ``Occupancy`` (with its ``Unit`` and
    ``Building``) that the notice reaches. Used inside a select that has all four."""
    # Both correlate to the notice and the unit of whichever selects enclose them: in
    # ``visible_to`` the notice is two levels up, where auto-correlation does not reach,
    # and an uncorrelated ``notice`` made any building's notice reach every building.
    in_building = (
        exists()
        .where(
            NoticeBuilding.notice_id == Notice.id, NoticeBuilding.building_id == Unit.building_id
        )
        .correlate_except(NoticeBuilding)
    )
    in_unit = (
        exists()
        .where(NoticeUnit.notice_id == Notice.id, NoticeUnit.unit_id == Unit.id)
        .correlate_except(NoticeUnit)
    )
    return and_(
        Occupancy.unit_id == Unit.id,
        Unit.building_id == Building.id,
        Building.estate_id == Notice.estate_id,
        current(today),
        or_(
            Notice.audience == NoticeAudience.everyone,
            and_(Notice.audience == NoticeAudience.owners, Occupancy.relation == Relation.owner),
            and_(Notice.audience == NoticeAudience.tenants, Occupancy.relation == Relation.tenant),
        ),
        or_(
            Notice.reach == NoticeReach.estate,
            and_(Notice.reach == NoticeReach.buildings, in_building),
            and_(Notice.reach == NoticeReach.units, in_unit),
        ),
    )


def homes(notice_id: int, today: date, *columns):
    """A select of ``columns`` (of Occupancy, Unit, Building) over every home through
    which the notice reaches someone: one row per resident and unit."""
    return (
        select(*columns)
        .select_from(Notice)
        .join(Occupancy, literal(True))
        .join(Unit, Occupancy.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(Notice.id == notice_id, reaches(today))
    )


def recipients(notice_id: int, today: date):
    """A select of the ids of the residents the notice reaches (each once)."""
    return homes(notice_id, today, Occupancy.resident_id).distinct()


def live(now: datetime):
    """The notice is out and not past its expiry: what the portal shows."""
    return and_(
        Notice.status == NoticeStatus.published,
        or_(Notice.expires_at.is_(None), Notice.expires_at > now),
    )


def visible_to(resident_id: int, today: date, now: datetime):
    """The condition on ``Notice`` for the notices this resident sees in the portal."""
    reached = (
        select(Occupancy.id)
        .join(Unit, Occupancy.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(Occupancy.resident_id == resident_id, reaches(today))
        .correlate(Notice)
        .exists()
    )
    return and_(live(now), reached)


def unread(resident_id: int):
    """The condition on ``Notice``: this resident has not opened it."""
    return ~exists().where(NoticeRead.notice_id == Notice.id, NoticeRead.resident_id == resident_id)


def notice_today(notice: Notice) -> date:
    return estate_today(notice.estate)


def mail_address():
    """A resident's mail address: their account's, else the one in the register."""
    return func.lower(func.coalesce(func.nullif(User.email, ""), func.nullif(Resident.email, "")))


def addressed(resident_ids):
    """Select (address, user id, locale) once per address for these residents (a select
    of ids), leaving out those with no address. Two residents sharing a mailbox get one
    mail; it carries the account of one of them."""
    address = mail_address()
    return (
        select(
            address.label("address"),
            func.max(User.id).label("user_id"),
            func.max(User.locale).label("locale"),
        )
        .select_from(Resident)
        .outerjoin(User, Resident.user_id == User.id)
        .where(Resident.id.in_(resident_ids), address.is_not(None))
        .group_by(address)
    )


@dataclass(frozen=True)
class Reach:
    residents: int  # residents the notice reaches
    accounts: int  # of them, with a portal account (they see it in the portal)
    addresses: int  # distinct mail addresses among them (mails a push would send)


def count(session: Session, notice: Notice, today: date | None = None) -> Reach:
    """How many residents, portal accounts and mail addresses ``notice`` reaches."""
    today = today or notice_today(notice)
    ids = recipients(notice.id, today)
    residents, accounts = session.execute(
        select(func.count(Resident.id), func.count(Resident.user_id)).where(Resident.id.in_(ids))
    ).one()
    addresses = session.scalar(select(func.count()).select_from(addressed(ids).subquery()))
    return Reach(residents, accounts, addresses or 0)


@dataclass(frozen=True)
class ReadFigures:
    recipients: int
    read: int

    @property
    def unread(self) -> int:
        return self.recipients - self.read


def read_figures(session: Session, notice: Notice, today: date | None = None) -> ReadFigures:
    """Of the residents the notice reaches now, how many have opened it."""
    today = today or notice_today(notice)
    ids = recipients(notice.id, today).subquery()
    total, read = session.execute(
        select(func.count(), func.count(NoticeRead.id))
        .select_from(ids)
        .outerjoin(
            NoticeRead,
            and_(NoticeRead.notice_id == notice.id, NoticeRead.resident_id == ids.c.resident_id),
        )
    ).one()
    return ReadFigures(total, read)


def read_counts(session: Session, notice_ids: list[int], today: date) -> dict[int, int]:
    """For a page of notices, how many of the residents each reaches now have opened it
    (one grouped query; the same figure as ``read_figures`` gives one notice)."""
    if not notice_ids:
        return {}
    still_reached = (
        select(Occupancy.id)
        .join(Unit, Occupancy.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(Occupancy.resident_id == NoticeRead.resident_id, reaches(today))
        .correlate(Notice, NoticeRead)
        .exists()
    )
    return dict(
        session.execute(
            select(NoticeRead.notice_id, func.count(NoticeRead.id))
            .join(Notice, Notice.id == NoticeRead.notice_id)
            .where(NoticeRead.notice_id.in_(notice_ids), still_reached)
            .group_by(NoticeRead.notice_id)
        ).all()
    )


def unread_recipients(notice_id: int, today: date):
    """A select of the ids of the residents the notice reaches who have not opened it."""
    ids = recipients(notice_id, today).subquery()
    opened = exists().where(
        NoticeRead.notice_id == notice_id, NoticeRead.resident_id == ids.c.resident_id
    )
    return select(ids.c.resident_id).where(~opened)
