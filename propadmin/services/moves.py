"""Moving in and out (办理入住 / 办理退房): the office's everyday register work in one step.

``move_in`` registers a person in a unit — a new resident or one already on the register —
with their relation, dates, whether they pay the bills, their vehicles and a parking space,
through the rules the single screens use (``save_resident``, ``check_occupancy``,
``check_vehicle``). ``move_out`` ends an occupancy, the parking held through it and, when
the person lives nowhere else in the estate, their portal access. Both check everything
first and raise ``RegisterError`` naming each bad field, so nothing is half-applied; they
flush, the caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Occupancy, ParkingKind, ParkingSpace, Relation, Resident, Unit, Vehicle

from .accounts import end_sessions
from .residents import (
    RegisterError,
    ResidentDetails,
    check_details,
    check_occupancy,
    check_vehicle,
    id_number_taken,
    save_resident,
)

log = logging.getLogger(__name__)


@dataclass
class MoveIn:
    unit: Unit
    relation: Relation
    resident: Resident | None = None  # someone already on the register...
    details: ResidentDetails | None = None  # ...or a new person
    start_date: date | None = None
    end_date: date | None = None  # a lease's last day
    is_payer: bool = False
    plates: list[str] = field(default_factory=list)
    space: ParkingSpace | None = None


def free_spaces(session: Session, estate_id: int) -> list[ParkingSpace]:
    """The estate's parking spaces that nobody holds."""
    return list(
        session.scalars(
            select(ParkingSpace)
            .where(
                ParkingSpace.estate_id == estate_id,
                ParkingSpace.unit_id.is_(None),
                ParkingSpace.resident_id.is_(None),
            )
            .order_by(ParkingSpace.code)
        )
    )


def _check(session: Session, move: MoveIn, estate_id: int) -> dict[str, str]:
    errors: dict[str, str] = {}
    if (move.resident is None) == (move.details is None):
        errors["resident"] = _("Choose a resident on the register, or enter a new person.")
        return errors
    if move.details is not None:
        try:
            move.details = check_details(move.details)
        except RegisterError as exc:
            errors.update(exc.errors)
        else:
            if id_number_taken(session, estate_id, move.details.id_number, None):
                errors["id_number"] = _(
                    "A resident with this ID-card number is already registered: choose them "
                    "from the register instead."
                )
    resident = move.resident
    try:
        check_occupancy(move.unit, resident, move.start_date, move.end_date)
    except RegisterError as exc:
        errors.update(exc.errors)
    if resident is not None and any(
        o.is_current for o in resident.occupancies if o.unit_id == move.unit.id
    ):
        errors["resident"] = _("%(name)s already lives in this unit.", name=resident.name)
    seen: set[str] = set()
    for plate in move.plates:
        try:
            clean = check_vehicle(session, estate_id, plate, resident)
        except RegisterError as exc:
            message = exc.errors.get("plate") or next(iter(exc.errors.values()))
            errors["plates"] = f"{plate}: {message}"
            break
        if clean in seen:
            errors["plates"] = _("%(plate)s is listed twice.", plate=clean)
            break
        seen.add(clean)
    if move.space is not None and (
        move.space.estate_id != estate_id
        or move.space.unit_id is not None
        or move.space.resident_id is not None
    ):
        errors["space"] = _("Parking space %(code)s is not free.", code=move.space.code)
    return errors


def move_in(session: Session, move: MoveIn) -> Occupancy:
    """Register ``move`` in one step; raise RegisterError naming each bad field."""
    estate_id = move.unit.building.estate_id
    errors = _check(session, move, estate_id)
    if errors:
        raise RegisterError(errors)
    resident = move.resident
    if resident is None:
        resident = save_resident(session, Resident(estate_id=estate_id), move.details)
    if move.is_payer:
        # One payer per unit: the bills go to whoever the office named last.
        for other in move.unit.occupancies:
            if other.is_current and other.is_payer:
                other.is_payer = False
    occupancy = Occupancy(
        unit=move.unit,
        resident=resident,
        relation=move.relation,
        start_date=move.start_date,
        end_date=move.end_date,
        is_payer=move.is_payer,
    )
    session.add(occupancy)
    for plate in move.plates:
        clean = check_vehicle(session, estate_id, plate)
        session.add(Vehicle(estate_id=estate_id, plate=clean, owner=resident))
    if move.space is not None:
        move.space.unit_id = move.unit.id
        move.space.resident = resident
        if move.relation is Relation.tenant:
            move.space.kind = ParkingKind.rented
    session.flush()
    log.info("%r moved into %r as %s", resident, move.unit, move.relation.value)
    return occupancy


@dataclass
class MoveOut:
    occupancy: Occupancy
    spaces_released: list[ParkingSpace]
    account_closed: bool


def move_out(session: Session, occupancy: Occupancy, last_day: date) -> MoveOut:
    """End ``occupancy`` on ``last_day``, release the parking the person held through the
    unit, and — once that day has come — close their portal account if they live nowhere
    else in the estate."""
    if occupancy.start_date and last_day < occupancy.start_date:
        raise RegisterError({"end_date": _("The end date is before the start date.")})
    if not occupancy.is_current:
        raise RegisterError({"end_date": _("This person has already moved out.")})
    occupancy.end_date = last_day
    occupancy.is_payer = False
    resident = occupancy.resident
    spaces = list(
        session.scalars(
            select(ParkingSpace).where(
                ParkingSpace.unit_id == occupancy.unit_id,
                ParkingSpace.resident_id == resident.id,
            )
        )
    )
    for space in spaces:
        space.unit_id = None
        space.resident_id = None
        space.rented_until = None
    still_lives_here = any(
        o.is_current for o in resident.occupancies if o.id != occupancy.id
    )
    closed = False
    gone = last_day <= date.today()
    if gone and resident.user is not None and resident.user.active and not still_lives_here:
        resident.user.active = False
        end_sessions(session, resident.user)
        closed = True
    session.flush()
    log.info("%r moved out of unit %s on %s", resident, occupancy.unit_id, last_day)
    return MoveOut(occupancy, spaces, closed)


def assign_space(
    session: Session, unit: Unit, space: ParkingSpace, resident: Resident | None = None
) -> ParkingSpace:
    """分配车位: give a free parking space of the unit's estate to the unit (and to one of
    the people living there). Raises RegisterError naming the bad field."""
    estate_id = unit.building.estate_id
    if space.estate_id != estate_id or space.unit_id is not None or space.resident_id:
        raise RegisterError({"space": _("Parking space %(code)s is not free.", code=space.code)})
    if resident is not None and not any(
        o.is_current for o in resident.occupancies if o.unit_id == unit.id
    ):
        raise RegisterError({"resident": _("%(name)s does not live here.", name=resident.name)})
    space.unit_id = unit.id
    space.resident = resident
    session.flush()
    log.info("parking space %s assigned to %r", space.code, unit)
    return space
