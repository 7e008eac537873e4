"""One row of the register sheet on its own: its text read into typed values and
checked against the register's rules. What needs the other rows or the estate's data
(does the unit exist, is an ID-card number already registered) is checked by
``plan_import`` in register_import.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from models import Building, Relation, Unit

from . import ServiceError
from .fields import clean_area, text_problem
from .register_sheet import COLUMNS
from .residents import (
    RegisterError,
    ResidentDetails,
    check_details,
    check_occupancy,
    check_vehicle,
)

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
# Text the import stores as it is (the resident's and the vehicle's are checked by
# check_details and check_vehicle), and the column it goes to.
STORED_IN = {
    "building": Building.__table__.c.name,
    "unit": Unit.__table__.c.number,
    "layout": Unit.__table__.c.layout,
}


@dataclass
class Problem:
    key: str  # the sheet column, as in register_sheet.COLUMNS
    value: str
    reason: str


@dataclass
class SheetRow:
    """One row's values, typed; ``problems`` lists what is wrong with it."""

    number: int
    building: str
    unit: str
    layout: str
    brand: str
    colour: str
    area: Decimal | None = None
    details: ResidentDetails | None = None
    id_index: str | None = None
    relation: Relation | None = None
    start_date: date | None = None
    end_date: date | None = None
    is_payer: bool = False
    plate: str | None = None
    problems: list[Problem] = field(default_factory=list)
    unit_key: tuple[str, str] = field(init=False, repr=False)  # (building, unit)

    def __post_init__(self) -> None:
        self.unit_key = (self.building, self.unit)

    def problem(self, key: str, value: str, reason: str) -> None:
        self.problems.append(Problem(key, value, reason))


def read_row(
    session: Session,
    estate_id: int,
    number: int,
    rec: dict[str, str],
    building_names: set[str],
    registered_plates: set[str],
) -> SheetRow:
    """Read sheet row ``number`` (``rec``: column key → text) and check it on its own."""
    row = SheetRow(
        number=number,
        building=building_name(rec.get("building", ""), building_names),
        unit=rec.get("unit", ""),
        layout=rec.get("layout", ""),
        brand=rec.get("brand", ""),
        colour=rec.get("colour", ""),
    )
    _check_required_and_stored_text(rec, row)
    if rec.get("area"):
        try:
            row.area = clean_area(rec["area"])
        except ServiceError as exc:
            row.problem("area", rec["area"], exc.message)
    row.relation = RELATIONS.get(rec.get("relation", "").lower())
    if rec.get("relation") and row.relation is None:
        row.problem("relation", rec["relation"], _("Choose 业主, 租户 or 家属 from the list."))
    _read_dates(rec, row)
    payer = rec.get("is_payer", "").lower()
    if payer not in YES | NO:
        row.problem("is_payer", rec["is_payer"], _("Write 是 or 否."))
    row.is_payer = payer in YES
    _read_details(rec, row)
    _read_vehicle(session, estate_id, rec, row, registered_plates)
    return row


def building_name(value: str, buildings: set[str]) -> str:
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


def _check_required_and_stored_text(rec: dict[str, str], row: SheetRow) -> None:
    for key, _zh, _en, required in COLUMNS:
        if required and not rec.get(key):
            row.problem(key, "", _("This column is required."))
    for key, column in STORED_IN.items():
        problem = text_problem(column, row.building if key == "building" else rec.get(key, ""))
        if problem:
            row.problem(key, rec.get(key, ""), problem)


def _read_dates(rec: dict[str, str], row: SheetRow) -> None:
    dates = {}
    for key in ("start_date", "end_date"):
        try:
            dates[key] = _date(rec.get(key, ""))
        except ValueError:
            row.problem(key, rec[key], _("Write dates as 2026-03-01."))
    row.start_date, row.end_date = dates.get("start_date"), dates.get("end_date")
    try:
        # unit and resident are this estate's by construction: only the dates to check
        check_occupancy(None, None, row.start_date, row.end_date)
    except RegisterError as exc:
        for key, reason in exc.errors.items():
            row.problem(key, rec.get(key, ""), reason)


def _date(value: str) -> date | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _read_details(rec: dict[str, str], row: SheetRow) -> None:
    try:
        row.details = check_details(
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
            if key != "name" or rec.get("name"):  # a missing name is reported once
                reason = excel_number_problem(rec.get(key, ""), key) or reason
                row.problem(key, rec.get(key, ""), reason)


NUMBER_KEYS = ("id_number", "mobile", "emergency_phone")
SCIENTIFIC_RE = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$")
DECIMAL_RE = re.compile(r"^\d+\.\d+$")
# 15 significant digits kept: an 18-digit number ends in 000 (17 when one more was lost).
ROUNDED_ID_RE = re.compile(r"^\d{13,15}000$")


def excel_number_problem(value: str, key: str) -> str | None:
    """Why an invalid ID-card or mobile number looks like Excel's doing, and how to fix
    it; ``None`` when it does not. Excel keeps 15 significant digits of a number: an
    ID-card number typed into a General cell shows as 1.10105E+17 and its last digits
    become 000 (read back as 110105194912310000, or 11010519491231000 when a digit was
    dropped too); a mobile comes back as 13812345678.0."""
    value = (value or "").strip()
    if key not in NUMBER_KEYS or not value:
        return None
    if SCIENTIFIC_RE.match(value) or (
        key == "id_number" and ROUNDED_ID_RE.match(value)
    ):
        return _(
            "Excel turned this number into a figure and lost its last digits (it shows as "
            "1.10105E+17 or ends in zeros). Format the column as Text, type the number "
            "again and upload the sheet again."
        )
    if DECIMAL_RE.match(value):
        return _(
            "Excel turned this number into a figure (it ends in .0). Format the column as "
            "Text, type the number again and upload the sheet again."
        )
    return None


def _read_vehicle(
    session: Session,
    estate_id: int,
    rec: dict[str, str],
    row: SheetRow,
    registered_plates: set[str],
) -> None:
    if not rec.get("plate"):
        if row.brand or row.colour:
            row.problem("plate", "", _("A vehicle needs its licence plate."))
        return
    try:
        row.plate = check_vehicle(
            session,
            estate_id,
            rec["plate"],
            brand=row.brand,
            colour=row.colour,
            registered_plates=registered_plates,
        )
    except RegisterError as exc:
        for key, reason in exc.errors.items():
            row.problem(key, rec.get(key, ""), reason)
