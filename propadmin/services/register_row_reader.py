"""The register import's quick reader: ``read_row`` for the many rows of one import, at a
fraction of its cost (see RowReader). What it does not accept, register_rows.read_row
reads again and words; tests/test_register_import_speed.py holds the two to the same
answers."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from operator import mul

from sqlalchemy.orm import Session

from models import Resident, Vehicle

from . import ServiceError
from .fields import CONTROL_CHARACTERS_RE, clean_area, max_length
from .identifiers import EMAIL_RE, ID_CHECK, ID_WEIGHTS, PLATE_RE, normalize_plate
from .register_rows import (
    NO,
    RELATIONS,
    STORED_IN,
    YES,
    SheetRow,
    _date,
    building_name,
    read_row,
)
from .residents import ResidentDetails


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
