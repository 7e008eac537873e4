"""Figures for the staff dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from models import (
    OPEN_STATUSES,
    Bill,
    Building,
    Estate,
    MailStatus,
    Occupancy,
    OutboxMessage,
    ParkingSpace,
    Relation,
    Resident,
    Unit,
    Vehicle,
)
from propadmin.permissions import scoped

from .today import estate_todays


@dataclass
class EstateFigures:
    estate: Estate
    buildings: int = 0
    units: int = 0
    occupied_units: int = 0
    residents: int = 0
    vehicles: int = 0
    parking_spaces: int = 0
    parking_assigned: int = 0
    # Money, for those who may see bills (None otherwise).
    owed: Decimal | None = None
    overdue_bills: int = 0

    @property
    def occupancy_rate(self) -> int:
        return round(100 * self.occupied_units / self.units) if self.units else 0


def estate_overview(session: Session, estate_ids: set[int] | None) -> list[EstateFigures]:
    """Counts per estate: one grouped query per figure, whatever the number of estates."""
    estates = select(Estate).order_by(Estate.name)
    if estate_ids is not None:
        estates = estates.where(Estate.id.in_(estate_ids))
    figures = {e.id: EstateFigures(e) for e in session.scalars(estates)}
    if not figures:
        return []
    ids = list(figures)
    today = date.today()

    def fill(attr: str, stmt) -> None:
        for estate_id, count in session.execute(stmt):
            setattr(figures[estate_id], attr, count)

    fill(
        "buildings",
        select(Building.estate_id, func.count())
        .where(Building.estate_id.in_(ids))
        .group_by(Building.estate_id),
    )
    fill(
        "units",
        select(Building.estate_id, func.count(Unit.id))
        .join(Unit.building)
        .where(Building.estate_id.in_(ids))
        .group_by(Building.estate_id),
    )
    fill(
        "occupied_units",
        select(Building.estate_id, func.count(distinct(Occupancy.unit_id)))
        .join(Occupancy.unit)
        .join(Unit.building)
        .where(
            Building.estate_id.in_(ids),
            or_(Occupancy.start_date.is_(None), Occupancy.start_date <= today),
            or_(Occupancy.end_date.is_(None), Occupancy.end_date >= today),
        )
        .group_by(Building.estate_id),
    )
    for attr, model in (
        ("residents", Resident),
        ("vehicles", Vehicle),
        ("parking_spaces", ParkingSpace),
    ):
        fill(
            attr,
            select(model.estate_id, func.count())
            .where(model.estate_id.in_(ids))
            .group_by(model.estate_id),
        )
    fill(
        "parking_assigned",
        select(ParkingSpace.estate_id, func.count())
        .where(
            ParkingSpace.estate_id.in_(ids),
            or_(ParkingSpace.unit_id.is_not(None), ParkingSpace.resident_id.is_not(None)),
        )
        .group_by(ParkingSpace.estate_id),
    )
    return list(figures.values())


def failed_mail(session: Session, user) -> int:
    """Messages that could not be delivered after every retry, in the user's scope."""
    stmt = select(func.count(OutboxMessage.id)).where(OutboxMessage.status == MailStatus.failed)
    return session.scalar(scoped(stmt, OutboxMessage, user)) or 0


LEASE_WARNING_DAYS = 30


def _lease_window() -> tuple[date, date]:
    today = date.today()
    return today, today + timedelta(days=LEASE_WARNING_DAYS)


def lease_window_text() -> str:
    """The window as the occupancy list's date filter reads it."""
    start, end = _lease_window()
    return f"{start.isoformat()} to {end.isoformat()}"


def leases_ending(session: Session, user) -> int:
    """Tenants whose lease ends within the next 30 days, in the user's scope: the office
    calls them about renewing or moving out."""
    start, end = _lease_window()
    stmt = select(func.count(Occupancy.id)).where(
        Occupancy.relation == Relation.tenant,
        Occupancy.end_date.between(start, end),
    )
    return session.scalar(scoped(stmt, Occupancy, user)) or 0


def add_money(session: Session, figures: list[EstateFigures]) -> None:
    """What the estates' open bills still ask for, and how many are past their due date
    in the estate's own calendar: one grouped query (the owed sum in integer fen, exact on
    every database)."""
    if not figures:
        return
    by_id = {f.estate.id: f for f in figures}
    for f in figures:
        f.owed = Decimal("0.00")
    todays = estate_todays(session, set(by_id))
    overdue = or_(
        *(and_(Bill.estate_id == e, Bill.due_date < day) for e, day in todays.items())
    )
    owed_fen = Bill.__table__.c
    stmt = (
        select(
            Bill.estate_id,
            func.sum(owed_fen.amount - owed_fen.discount + owed_fen.late_fee - owed_fen.paid),
            func.sum(case((overdue, 1), else_=0)),
        )
        .where(Bill.estate_id.in_(list(by_id)), Bill.status.in_(OPEN_STATUSES))
        .group_by(Bill.estate_id)
    )
    for estate_id, fen, late in session.execute(stmt):
        by_id[estate_id].owed = Decimal(int(fen or 0)).scaleb(-2).quantize(Decimal("0.01"))
        by_id[estate_id].overdue_bills = int(late or 0)
