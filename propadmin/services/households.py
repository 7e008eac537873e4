"""Who lives where: the reads behind the unit page, the resident page and the portal's
household. Each takes a session and returns the rows a page lists, loaded in a few
queries; the views only render them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import Occupancy, ParkingSpace, Relation, Resident, Unit, Vehicle

# How a resident lives in a unit, as every page names it (staff and portal).
RELATION_LABELS = {
    Relation.owner: _l("Owner"),
    Relation.tenant: _l("Tenant"),
    Relation.family: _l("Family member"),
}


@dataclass
class ResidentHousehold:
    occupancies: list[Occupancy]  # every unit, now and before, newest first
    vehicles: list[Vehicle]
    spaces: list[ParkingSpace]  # the resident's own, and their current units'
    current: list[Occupancy] = field(default_factory=list)


@dataclass
class UnitHousehold:
    current: list[Occupancy]
    past: list[Occupancy]
    vehicles: list[Vehicle]  # the current occupants'
    spaces: list[ParkingSpace]
    upcoming: list[Occupancy] = field(default_factory=list)  # moving in on a later day


def resident_household(session: Session, resident: Resident) -> ResidentHousehold:
    """A resident's units (with history), vehicles and parking spaces."""
    occupancies = session.scalars(
        select(Occupancy)
        .where(Occupancy.resident_id == resident.id)
        .options(selectinload(Occupancy.unit))
        .order_by(Occupancy.start_date.desc().nulls_last(), Occupancy.id.desc())
    ).all()
    current = [o for o in occupancies if o.is_current]
    return ResidentHousehold(
        occupancies=list(occupancies),
        current=current,
        vehicles=resident_vehicles(session, resident),
        spaces=parking_spaces(session, resident, [o.unit_id for o in current]),
    )


def resident_vehicles(session: Session, resident: Resident) -> list[Vehicle]:
    return list(
        session.scalars(
            select(Vehicle).where(Vehicle.owner_id == resident.id).order_by(Vehicle.plate)
        )
    )


def parking_spaces(session: Session, resident: Resident, unit_ids: list[int]) -> list[ParkingSpace]:
    """The spaces a resident holds themselves or through one of ``unit_ids``."""
    return list(
        session.scalars(
            select(ParkingSpace)
            .where((ParkingSpace.resident_id == resident.id) | ParkingSpace.unit_id.in_(unit_ids))
            .order_by(ParkingSpace.code)
        )
    )


# The portal's homes with unit and building, in one statement: built once, the resident
# a bind parameter (the home screen, the repair form and the notices page ask each visit).
_HOMES = (
    select(Occupancy)
    .where(Occupancy.resident_id == bindparam("resident_id", type_=Integer))
    .options(joinedload(Occupancy.unit, innerjoin=True))
    .order_by(Occupancy.id)
)


def current_homes(
    session: Session, resident: Resident, *, household: bool = True
) -> list[Occupancy]:
    """Where a resident lives now, each unit with its building. With ``household``, also
    everyone who lives there (the household page); without, one statement (the home
    screen, the repair form and the notices page show only the units)."""
    if household:
        query = (
            select(Occupancy)
            .where(Occupancy.resident_id == resident.id)
            .options(
                selectinload(Occupancy.unit)
                .selectinload(Unit.occupancies)
                .selectinload(Occupancy.resident)
            )
            .order_by(Occupancy.id)
        )
        occupancies = session.scalars(query).all()
    else:
        occupancies = session.scalars(_HOMES, {"resident_id": resident.id}).all()
    return [o for o in occupancies if o.is_current]


def unit_household(session: Session, unit: Unit) -> UnitHousehold:
    """A unit's people (now and before), its current occupants' vehicles, its parking."""
    occupancies = session.scalars(
        select(Occupancy)
        .where(Occupancy.unit_id == unit.id)
        .options(selectinload(Occupancy.resident).selectinload(Resident.vehicles))
        .order_by(Occupancy.end_date.is_not(None), Occupancy.start_date.desc().nulls_last())
    ).all()
    today = date.today()
    current = [o for o in occupancies if o.is_current]
    upcoming = [o for o in occupancies if o.start_date and o.start_date > today]
    return UnitHousehold(
        current=current,
        upcoming=upcoming,
        past=[o for o in occupancies if not o.is_current and o not in upcoming],
        vehicles=[v for o in current for v in o.resident.vehicles],
        spaces=list(
            session.scalars(
                select(ParkingSpace)
                .where(ParkingSpace.unit_id == unit.id)
                .order_by(ParkingSpace.code)
            )
        ),
    )
