"""Import the register from a sheet (see register_sheet for its format).

Every row is validated first and nothing is written unless every row is right; the
report names row, column, value and reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Building,
    Estate,
    Occupancy,
    Relation,
    Resident,
    Unit,
    UnitUse,
    Vehicle,
)

from ..crypto import mask_id_number, mask_mobile
from . import ServiceError
from .fields import clean_area, text_problem
from .identity import blind_index
from .register_sheet import COLUMN_LABEL, COLUMNS
from .residents import (
    RegisterError,
    ResidentDetails,
    check_details,
    check_occupancy,
    check_vehicle,
)

log = logging.getLogger(__name__)

RELATIONS = {
    "业主": Relation.owner,
    "owner": Relation.owner,
    "租户": Relation.tenant,
    "tenant": Relation.tenant,
    "家庭成员": Relation.family,
    "家属": Relation.family,
    "family": Relation.family,
}
YES = {"是", "y", "yes", "true", "1", "√"}
NO = {"否", "n", "no", "false", "0", ""}
SENSITIVE_KEYS = {
    "id_number": mask_id_number,
    "mobile": mask_mobile,
    "emergency_phone": mask_mobile,
}
# Text columns of the sheet that are stored as they are, and where.
STORED_IN = {
    "building": Building.__table__.c.name,
    "unit": Unit.__table__.c.number,
    "layout": Unit.__table__.c.layout,
}
MAX_REPORTED = 200  # problems listed in full; the rest are counted
MAX_SHOWN_VALUE = 40  # characters of a bad value repeated in the report


@dataclass
class RowError:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class ImportPlan:
    """The rows ready to write, or the problems that stop the import: the first
    MAX_REPORTED of them, and ``problems``, how many there are in all."""

    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    problems: int = 0
    new_units: int = 0
    residents: int = 0
    vehicles: int = 0

    @property
    def unreported(self) -> int:
        return self.problems - len(self.errors)

    def add_error(self, row: int, column: str, value: str, reason: str) -> None:
        self.problems += 1
        if len(self.errors) < MAX_REPORTED:
            if len(value) > MAX_SHOWN_VALUE:
                value = value[:MAX_SHOWN_VALUE] + "…"
            self.errors.append(RowError(row, column, value, reason))


@dataclass
class ImportResult:
    residents: int
    occupancies: int
    vehicles: int
    units: int


# -- validating -----------------------------------------------------------------------
def _date(value: str) -> date | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def plan_import(session: Session, estate: Estate, rows: Iterable[tuple[int, dict]]) -> ImportPlan:
    """Check every row against the rules and the estate's data; write nothing."""
    plan = ImportPlan()
    units = {
        (b_name, number): unit_id
        for unit_id, b_name, number in session.execute(
            select(Unit.id, Building.name, Unit.number)
            .join(Building, Building.id == Unit.building_id)
            .where(Building.estate_id == estate.id)
        )
    }
    buildings = {
        name: b_id
        for b_id, name in session.execute(
            select(Building.id, Building.name).where(Building.estate_id == estate.id)
        )
    }
    known_ids = set(
        session.scalars(
            select(Resident.id_number_index).where(
                Resident.estate_id == estate.id, Resident.id_number_index.is_not(None)
            )
        )
    )
    known_plates = set(session.scalars(select(Vehicle.plate).where(Vehicle.estate_id == estate.id)))
    sheet_ids: dict[str, tuple[int, str]] = {}
    sheet_plates: dict[str, int] = {}
    new_units: set[tuple[str, str]] = set()

    def err(row: int, key: str, value: str, reason: str) -> None:
        shown = SENSITIVE_KEYS[key](value) if key in SENSITIVE_KEYS and value else value
        plan.add_error(row, COLUMN_LABEL.get(key, key), shown, reason)

    count = 0
    for number, rec in rows:
        count += 1
        before = plan.problems
        for key, _zh, _en, required in COLUMNS:
            if required and not rec.get(key):
                err(number, key, "", _("This column is required."))
        building = _building_name(rec.get("building", ""), buildings)
        unit_key = (building, rec.get("unit", ""))
        for key, column in STORED_IN.items():
            value = building if key == "building" else rec.get(key, "")
            problem = text_problem(column, value)
            if problem:
                err(number, key, rec.get(key, ""), problem)
        area = None
        if rec.get("area"):
            try:
                area = clean_area(rec["area"])
            except ServiceError as exc:
                err(number, "area", rec["area"], exc.message)
        if all(unit_key) and unit_key not in units and unit_key not in new_units:
            if area is None and not rec.get("area"):
                err(
                    number,
                    "unit",
                    f"{building}-{unit_key[1]}",
                    _("There is no such unit; give its area to create it."),
                )
            elif area is not None:
                new_units.add(unit_key)
        relation = RELATIONS.get(rec.get("relation", "").lower())
        if rec.get("relation") and relation is None:
            err(number, "relation", rec["relation"], _("Write 业主, 租户 or 家庭成员."))
        dates = {}
        for key in ("start_date", "end_date"):
            try:
                dates[key] = _date(rec.get(key, ""))
            except ValueError:
                err(number, key, rec[key], _("Write dates as 2026-03-01."))
        try:
            # unit and resident are this estate's by construction: only the dates to check
            check_occupancy(None, None, dates.get("start_date"), dates.get("end_date"))
        except RegisterError as exc:
            for key, reason in exc.errors.items():
                err(number, key, rec.get(key, ""), reason)
        payer = rec.get("is_payer", "").lower()
        if payer not in YES | NO:
            err(number, "is_payer", rec["is_payer"], _("Write 是 or 否."))
        try:
            details = check_details(
                ResidentDetails(
                    name=rec.get("name", ""),
                    id_number=rec.get("id_number"),
                    mobile=rec.get("mobile"),
                    email=rec.get("email", ""),
                    emergency_contact=rec.get("emergency_contact", ""),
                    emergency_phone=rec.get("emergency_phone"),
                    notes=rec.get("notes", ""),
                )
            )
        except RegisterError as exc:
            for key, reason in exc.errors.items():
                if key != "name" or rec.get("name"):
                    err(number, key, rec.get(key, ""), reason)
            details = None
        id_index = None
        if details is not None and details.id_number:
            id_index = blind_index("id_number", details.id_number)
            if id_index in known_ids:
                err(
                    number,
                    "id_number",
                    details.id_number,
                    _("A resident with this ID-card number is already registered."),
                )
            elif id_index in sheet_ids and sheet_ids[id_index][1] != details.name:
                err(
                    number,
                    "id_number",
                    details.id_number,
                    _(
                        "Row %(row)d has this ID-card number with another name.",
                        row=sheet_ids[id_index][0],
                    ),
                )
            else:
                sheet_ids.setdefault(id_index, (number, details.name))
        plate = None
        if rec.get("plate"):
            try:
                plate = check_vehicle(
                    session,
                    estate.id,
                    rec["plate"],
                    brand=rec.get("brand", ""),
                    colour=rec.get("colour", ""),
                    registered_plates=known_plates,
                )
            except RegisterError as exc:
                for key, reason in exc.errors.items():
                    err(number, key, rec.get(key, ""), reason)
            else:
                if plate in sheet_plates:
                    err(
                        number,
                        "plate",
                        plate,
                        _("Row %(row)d has the same plate.", row=sheet_plates[plate]),
                    )
                else:
                    sheet_plates[plate] = number
        elif rec.get("brand") or rec.get("colour"):
            err(number, "plate", "", _("A vehicle needs its licence plate."))
        if plan.problems == before == 0:  # once a row is wrong, nothing will be written
            plan.rows.append(
                {
                    "row": number,
                    "unit_key": unit_key,
                    "area": area,
                    "layout": rec.get("layout", ""),
                    "details": details,
                    "id_index": id_index,
                    "relation": relation,
                    "start_date": dates.get("start_date"),
                    "end_date": dates.get("end_date"),
                    "is_payer": payer in YES and payer != "",
                    "plate": plate,
                    "brand": rec.get("brand", ""),
                    "colour": rec.get("colour", ""),
                }
            )
    plan.new_units = len(new_units)
    plan.residents = len({r["id_index"] or ("row", r["row"]) for r in plan.rows})
    plan.vehicles = sum(1 for r in plan.rows if r["plate"])
    if count == 0:
        plan.add_error(1, "", "", _("The sheet has a header but no rows."))
    return plan


def _building_name(value: str, buildings: dict[str, int]) -> str:
    """Offices write 3, 3栋 or 3号楼; match the estate's own naming."""
    value = value.strip()
    for candidate in (
        value,
        f"{value}栋",
        value.removesuffix("号楼") + "栋",
        value.removesuffix("栋"),
    ):
        if candidate in buildings:
            return candidate
    return value if value.endswith("栋") or not value.isdigit() else f"{value}栋"


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
        b_name, number = row["unit_key"]
        unit = units.get((b_name, number))
        if unit is None:
            building = buildings.get(b_name)
            if building is None:
                building = buildings[b_name] = Building(estate=estate, name=b_name)
                session.add(building)
            unit = units[(b_name, number)] = Unit(
                building=building,
                number=number,
                area=row["area"],
                layout=row["layout"],
                use=UnitUse.residential,
            )
            session.add(unit)
            made_units += 1
        d: ResidentDetails = row["details"]
        key = row["id_index"]
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
                relation=row["relation"],
                start_date=row["start_date"],
                end_date=row["end_date"],
                is_payer=row["is_payer"],
            )
        )
        if row["plate"]:
            session.add(
                Vehicle(
                    estate=estate,
                    plate=row["plate"],
                    brand=row["brand"],
                    colour=row["colour"],
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
