"""One row of the register sheet on its own: its text read into typed values and
checked against the register's rules. What needs the other rows or the estate's data
(does the unit exist, is an ID-card number already registered) is checked by
``plan_import`` in register_import.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import mul

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from models import Building, Relation, Resident, Unit, Vehicle

from . import ServiceError
from .fields import CONTROL_CHARACTERS_RE, clean_area, max_length, text_problem
from .identifiers import EMAIL_RE, ID_CHECK, ID_WEIGHTS, PLATE_RE, normalize_plate
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


class RowReader:
    """``read_row`` for the many rows of one import, at a fraction of its cost: a row
    is read by precompiled checks that only accept (each accepts exactly what
    ``read_row``'s check accepts, and gives the same value), and a row any of them does
    not accept is read again by ``read_row``, which finds and words its problems. Values
    that repeat down a sheet (buildings, areas, dates) are read once."""

    CACHED = 4096  # distinct building, area and date texts remembered

    def __init__(self, session: Session, estate_id: int, building_names: set[str]) -> None:
        self.session = session
        self.estate_id = estate_id
        self.building_names = building_names
        self.today = date.today()
        self.buildings: dict[str, str] = {}
        self.areas: dict[str, Decimal] = {}
        self.dates: dict[str, date | None] = {"": None}
        limit = {
            key: max_length(column)
            for key, column in (
                *STORED_IN.items(),
                *((k, Resident.__table__.c[k]) for k in RESIDENT_TEXT),
                *((k, Vehicle.__table__.c[k]) for k in ("brand", "colour")),
            )
        }
        self.limits = tuple(limit.get(key) or MAX_TEXT for key in LIMITED)

    def new_batch(self) -> None:
        self.today = date.today()  # as id_number_problem reads it

    def read(self, number: int, rec: dict[str, str], registered_plates: set[str]) -> SheetRow:
        """Sheet row ``number`` read and checked on its own, as ``read_row`` reads it."""
        row = self._quick(number, rec, registered_plates)
        if row is None:
            row = read_row(
                self.session, self.estate_id, number, rec, self.building_names, registered_plates
            )
        return row

    def _quick(self, number: int, rec: dict[str, str], plates: set[str]) -> SheetRow | None:
        """The row when every value is plainly right, else None."""
        get = rec.get
        if CONTROL_CHARACTERS_RE.search("".join(rec.values())):
            return None
        building, unit = get("building", ""), get("unit", "")
        name = get("name", "")
        relation = RELATIONS.get(get("relation", "").lower())
        if not (building and unit and name and relation):
            return None
        building = self._building(building)  # "" when it is not plainly right
        name = name.strip()
        layout, brand, colour = get("layout", ""), get("brand", ""), get("colour", "")
        email = get("email", "")
        if email:
            email = email.strip().lower()
            if not EMAIL_RE.match(email):
                return None
        contact = get("emergency_contact", "").strip()
        notes = get("notes", "").strip()
        plate = get("plate")
        for value, limit in zip(
            (building, unit, layout, name, contact, notes, email, brand, colour),
            self.limits,
            strict=True,
        ):
            if len(value) > limit:
                return None
        if not building or not name:
            return None
        if plate:
            plate = normalize_plate(plate)
            if not PLATE_RE.match(plate) or plate in plates:
                return None
        elif brand or colour:
            return None
        else:
            plate = None
        area = get("area")
        if area:
            area = self._area(area)
            if area is None:
                return None
        else:
            area = None
        payer = get("is_payer", "").lower()
        if payer not in YES and payer not in NO:
            return None
        start = self._date(get("start_date", ""))
        end = self._date(get("end_date", ""))
        if start is False or end is False or (start and end and end < start):
            return None
        id_number = get("id_number") or None
        if id_number is not None and not self._id_number(id_number):
            return None
        mobile = get("mobile") or None
        if mobile is not None and not QUICK_MOBILE_RE.fullmatch(mobile):
            return None
        phone = get("emergency_phone") or None
        if phone is not None and not QUICK_MOBILE_RE.fullmatch(phone):
            return None
        return SheetRow(
            number=number,
            building=building,
            unit=unit,
            layout=layout,
            brand=brand,
            colour=colour,
            area=area,
            details=ResidentDetails(
                name=name,
                id_number=id_number,
                mobile=mobile,
                email=email,
                emergency_contact=contact,
                emergency_phone=phone,
                notes=notes,
            ),
            relation=relation,
            start_date=start,
            end_date=end,
            is_payer=payer in YES,
            plate=plate,
        )

    def _building(self, value: str) -> str:
        """The building's name, or "" when it has a control character."""
        name = self.buildings.get(value)
        if name is None:
            name = building_name(value, self.building_names)
            if CONTROL_CHARACTERS_RE.search(name):
                name = ""
            if len(self.buildings) < self.CACHED:
                self.buildings[value] = name
        return name

    def _area(self, value: str) -> Decimal | None:
        area = self.areas.get(value)
        if area is None:
            try:
                area = clean_area(value)
            except ServiceError:
                return None
            if len(self.areas) < self.CACHED:
                self.areas[value] = area
        return area

    def _date(self, value: str) -> date | None | bool:
        """The date, None when blank, False when it is not one."""
        try:
            return self.dates[value]
        except KeyError:
            pass
        try:
            day = _date(value)
        except ValueError:
            return False
        if len(self.dates) < self.CACHED:
            self.dates[value] = day
        return day

    def _id_number(self, value: str) -> bool:
        """Whether ``value`` is a valid ID-card number as it is (normalized already)."""
        if not QUICK_ID_RE.fullmatch(value):
            return False
        try:
            born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        except ValueError:
            return False
        if born.year < 1900 or born > self.today:
            return False
        total = sum(map(mul, map(int, value[:17]), ID_WEIGHTS))
        return ID_CHECK[total % 11] == value[17]


# The text columns RowReader checks the length of, in the order it reads them.
RESIDENT_TEXT = ("name", "emergency_contact", "notes", "email")
LIMITED = ("building", "unit", "layout", *RESIDENT_TEXT, "brand", "colour")
MAX_TEXT = 2**31  # a column without a length
# Stricter than the checks they stand in for (ASCII digits only; nothing to normalize):
# what they refuse is read again by read_row.
QUICK_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
QUICK_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


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
