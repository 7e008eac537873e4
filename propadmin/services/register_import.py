"""Import the register from a sheet (see register_sheet for its format).

Every row is checked first (register_rows checks a row on its own, ``plan_import`` what
needs the other rows and the estate's data) and nothing is written unless every row is
right; the report names row, column, value and reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Building, Estate, Occupancy, Resident, Unit, UnitUse, Vehicle

from ..crypto import mask_id_number, mask_mobile
from . import ServiceError
from .identifiers import blind_index
from .register_rows import Problem, SheetRow, read_row
from .register_sheet import MAX_REPORTED, RowError, SheetReport
from .register_template import is_template_example
from .residents import ResidentDetails

log = logging.getLogger(__name__)

SENSITIVE_KEYS = {
    "id_number": mask_id_number,
    "mobile": mask_mobile,
    "emergency_phone": mask_mobile,
}
__all__ = ["MAX_REPORTED", "ImportPlan", "RowError", "apply_import", "plan_import"]


@dataclass
class ImportPlan(SheetReport):
    """The rows ready to write, or the problems that stop the import (a SheetReport,
    with ID-card and mobile numbers masked)."""

    rows: list[SheetRow] = field(default_factory=list)
    new_units: int = 0
    residents: int = 0
    vehicles: int = 0
    examples: list[int] = field(default_factory=list)  # rows that are the template's example
    masks: dict = field(default_factory=lambda: SENSITIVE_KEYS, repr=False)


@dataclass
class ImportResult:
    residents: int
    occupancies: int
    vehicles: int
    units: int


@dataclass
class _Known:
    """What the estate already has, read once: its units, buildings, residents' ID-card
    numbers (as blind indexes) and vehicles' plates."""

    units: set[tuple[str, str]]
    buildings: set[str]
    id_indexes: set[str]
    plates: set[str]

    @classmethod
    def load(cls, session: Session, estate: Estate) -> _Known:
        return cls(
            units={
                (building, number)
                for building, number in session.execute(
                    select(Building.name, Unit.number)
                    .join(Building, Building.id == Unit.building_id)
                    .where(Building.estate_id == estate.id)
                )
            },
            buildings=set(
                session.scalars(select(Building.name).where(Building.estate_id == estate.id))
            ),
            id_indexes=set(
                session.scalars(
                    select(Resident.id_number_index).where(
                        Resident.estate_id == estate.id, Resident.id_number_index.is_not(None)
                    )
                )
            ),
            plates=set(
                session.scalars(select(Vehicle.plate).where(Vehicle.estate_id == estate.id))
            ),
        )


@dataclass
class _SheetSoFar:
    """What the rows read so far bring: ID-card numbers (index → row, name), plates
    (→ row) and the units they create."""

    ids: dict[str, tuple[int, str]] = field(default_factory=dict)
    plates: dict[str, int] = field(default_factory=dict)
    new_units: set[tuple[str, str]] = field(default_factory=set)


def plan_import(session: Session, estate: Estate, rows: Iterable[tuple[int, dict]]) -> ImportPlan:
    """Check every row against the rules and the estate's data; write nothing.

    Problems are counted in full but listed only up to MAX_REPORTED, and once one is
    found no more rows are kept, so a bad sheet costs little memory however long it is.
    The template's example row, left as it was, is skipped (listed in ``examples``).
    """
    plan = ImportPlan()
    known = _Known.load(session, estate)
    seen = _SheetSoFar()
    count = 0
    for number, rec in rows:
        if is_template_example(rec):
            plan.examples.append(number)
            continue
        count += 1
        row = read_row(session, estate.id, number, rec, known.buildings, known.plates)
        row.problems += _unit_problems(row, rec, known, seen)
        row.problems += _id_number_problems(row, known, seen)
        row.problems += _plate_problems(row, seen)
        for problem in row.problems:
            plan.add_error(number, problem.key, problem.value, problem.reason)
        if not plan.problems:
            plan.rows.append(row)
    if count == 0 and plan.examples:
        plan.add_error(
            plan.examples[0],
            "",
            "",
            _("This is the template's example row, which is not imported: add your own rows."),
        )
    elif count == 0:
        plan.add_error(1, "", "", _("The sheet has a header but no rows."))
    plan.new_units = len(seen.new_units)
    plan.residents = len({r.id_index or ("row", r.number) for r in plan.rows})
    plan.vehicles = sum(1 for r in plan.rows if r.plate)
    return plan


def _unit_problems(row: SheetRow, rec: dict, known: _Known, seen: _SheetSoFar) -> list[Problem]:
    """A unit must exist, or be created from the area given in its first row."""
    key = row.unit_key
    if not all(key) or key in known.units or key in seen.new_units:
        return []
    if row.area is not None:
        seen.new_units.add(key)
    elif not rec.get("area"):
        return [
            Problem(
                "unit",
                f"{row.building}-{row.unit}",
                _("There is no such unit; give its area to create it."),
            )
        ]
    return []


def _id_number_problems(row: SheetRow, known: _Known, seen: _SheetSoFar) -> list[Problem]:
    """An ID-card number is new to the estate, and within the sheet it is one person's
    (several rows of one person, one per unit, are fine)."""
    if row.details is None or not row.details.id_number:
        return []
    value = row.details.id_number
    row.id_index = blind_index("id_number", value)
    if row.id_index in known.id_indexes:
        return [
            Problem(
                "id_number",
                value,
                _("A resident with this ID-card number is already registered."),
            )
        ]
    first = seen.ids.setdefault(row.id_index, (row.number, row.details.name))
    if first[1] != row.details.name:
        return [
            Problem(
                "id_number",
                value,
                _("Row %(row)d has this ID-card number with another name.", row=first[0]),
            )
        ]
    return []


def _plate_problems(row: SheetRow, seen: _SheetSoFar) -> list[Problem]:
    if row.plate is None:
        return []
    first = seen.plates.setdefault(row.plate, row.number)
    if first != row.number:
        return [Problem("plate", row.plate, _("Row %(row)d has the same plate.", row=first))]
    return []


def apply_import(session: Session, estate: Estate, plan: ImportPlan, progress=None) -> ImportResult:
    """Write a plan that has no errors, in batches. Raises ServiceError if it has any."""
    if plan.errors:
        raise ServiceError(_("The sheet has errors; nothing was imported."))
    buildings = {
        b.name: b for b in session.scalars(select(Building).where(Building.estate_id == estate.id))
    }
    units = {
        (u.building.name, u.number): u
        for u in session.scalars(select(Unit).join(Building).where(Building.estate_id == estate.id))
    }
    residents: dict[str, Resident] = {}
    made_units = made_residents = vehicles = 0
    for i, row in enumerate(plan.rows, start=1):
        b_name, number = row.unit_key
        unit = units.get((b_name, number))
        if unit is None:
            building = buildings.get(b_name)
            if building is None:
                building = buildings[b_name] = Building(estate=estate, name=b_name)
                session.add(building)
            unit = units[(b_name, number)] = Unit(
                building=building,
                number=number,
                area=row.area,
                layout=row.layout,
                use=UnitUse.residential,
            )
            session.add(unit)
            made_units += 1
        d: ResidentDetails = row.details
        key = row.id_index
        resident = residents.get(key) if key else None
        if resident is None:
            resident = Resident(
                estate=estate,
                name=d.name,
                id_number=d.id_number,
                id_number_index=key,
                mobile=d.mobile,
                mobile_index=blind_index("mobile", d.mobile),
                email=d.email,
                emergency_contact=d.emergency_contact,
                emergency_phone=d.emergency_phone,
                notes=d.notes,
            )
            session.add(resident)
            made_residents += 1
            if key:
                residents[key] = resident
        session.add(
            Occupancy(
                unit=unit,
                resident=resident,
                relation=row.relation,
                start_date=row.start_date,
                end_date=row.end_date,
                is_payer=row.is_payer,
            )
        )
        if row.plate:
            session.add(
                Vehicle(
                    estate=estate,
                    plate=row.plate,
                    brand=row.brand,
                    colour=row.colour,
                    owner=resident,
                )
            )
            vehicles += 1
        if i % 1000 == 0:
            session.flush()
        if progress:
            progress(1)
    session.flush()
    log.info("imported %d residents into %s", made_residents, estate.name)
    return ImportResult(made_residents, len(plan.rows), vehicles, made_units)
