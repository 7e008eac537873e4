"""The estate register: residents, their identity and contact details, and search.

ID-card and mobile numbers are validated and normalized here, stored encrypted, and
indexed by keyed HMAC so that exact lookups and uniqueness never need the plain value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Resident, Unit, Vehicle

from .. import audit
from . import ServiceError
from .fields import text_problem
from .identifiers import (
    EMAIL_RE,
    blind_index,
    id_number_problem,
    mobile_problem,
    normalize_id_number,
    normalize_mobile,
    normalize_plate,
    plate_problem,
)
from .resident_search import (
    matching_resident_ids,  # noqa: F401  (register_export imports it here)
    search_clause,
)

log = logging.getLogger(__name__)

REVEALABLE = ("id_number", "mobile", "emergency_phone")


class RegisterError(ServiceError):
    """Several fields can be wrong at once: ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


def id_number_message(value: str, problem: str) -> str:
    return {
        "length": _("An ID-card number has 18 characters: 17 digits, then a digit or X."),
        "birth_date": _("The date of birth in this ID-card number is not a real date."),
        "check_digit": _("The last character of this ID-card number does not match the others."),
    }[problem]


def clean_id_number(value: str | None) -> str | None:
    """Normalized ID number, ``None`` when blank; raises ServiceError when invalid."""
    value = normalize_id_number(value or "")
    if not value:
        return None
    problem = id_number_problem(value)
    if problem:
        raise ServiceError(id_number_message(value, problem), field="id_number")
    return value


def clean_mobile(value: str | None, field: str = "mobile") -> str | None:
    value = normalize_mobile(value or "")
    if not value:
        return None
    if mobile_problem(value):
        raise ServiceError(_("A mobile number has 11 digits and starts with 13–19."), field=field)
    return value


def clean_plate(value: str | None) -> str:
    plate = normalize_plate(value or "")
    if not plate or plate_problem(plate):
        raise ServiceError(
            _("%(value)s is not a licence plate such as 沪A12345 or 沪AD12345.", value=value),
            field="plate",
        )
    return plate


def clean_email(value: str | None) -> str:
    value = (value or "").strip().lower()
    if value and not EMAIL_RE.match(value):
        raise ServiceError(_("%(value)s is not an e-mail address.", value=value), field="email")
    return value


@dataclass
class ResidentDetails:
    name: str
    id_number: str | None = None
    mobile: str | None = None
    email: str = ""
    emergency_contact: str = ""
    emergency_phone: str | None = None
    notes: str = ""


def check_details(details: ResidentDetails) -> ResidentDetails:
    """Validate and normalize every field; raise RegisterError naming each bad one."""
    errors: dict[str, str] = {}
    clean = ResidentDetails(
        name=(details.name or "").strip(),
        email="",
        emergency_contact=(details.emergency_contact or "").strip(),
        notes=(details.notes or "").strip(),
    )
    if not clean.name:
        errors["name"] = _("Give the resident's name.")
    for field in ("name", "emergency_contact", "notes"):
        problem = text_problem(Resident.__table__.c[field], getattr(clean, field))
        if problem and field not in errors:
            errors[field] = problem
    for field, cleaner in (
        ("id_number", clean_id_number),
        ("mobile", clean_mobile),
        ("emergency_phone", lambda v: clean_mobile(v, "emergency_phone")),
        ("email", clean_email),
    ):
        try:
            setattr(clean, field, cleaner(getattr(details, field)))
        except ServiceError as exc:
            errors[field] = exc.message
    email_problem = text_problem(Resident.__table__.c.email, clean.email)
    if email_problem and "email" not in errors:
        errors["email"] = email_problem
    if errors:
        raise RegisterError(errors)
    return clean


def resident_with_id_number(
    session: Session, estate_id: int | None, id_number: str | None, resident_id: int | None
) -> int | None:
    """The id of another resident of the estate with this (normalized) ID number — found
    through the blind index, without decrypting anything."""
    index = blind_index("id_number", id_number)
    if index is None:
        return None
    query = select(Resident.id).where(
        Resident.estate_id == estate_id, Resident.id_number_index == index
    )
    if resident_id is not None:
        query = query.where(Resident.id != resident_id)
    with session.no_autoflush:  # a half-filled new resident must not be written early
        return session.scalar(query.limit(1))


def id_number_taken(
    session: Session, estate_id: int | None, id_number: str | None, resident_id: int | None
) -> bool:
    """Whether another resident of the estate has this ID number."""
    return resident_with_id_number(session, estate_id, id_number, resident_id) is not None


def save_resident(session: Session, resident: Resident, details: ResidentDetails) -> Resident:
    """Validate ``details`` and write them to ``resident`` (new or existing).

    An ID-card number may belong to one resident per estate; the blind index finds a
    duplicate without decrypting anything. Raises RegisterError.
    """
    clean = check_details(details)
    estate_id = resident.estate_id if resident.estate_id is not None else resident.estate.id
    if id_number_taken(session, estate_id, clean.id_number, resident.id):
        raise RegisterError(
            {"id_number": _("A resident with this ID-card number is already registered.")}
        )
    id_index = blind_index("id_number", clean.id_number)
    resident.name = clean.name
    resident.id_number, resident.id_number_index = clean.id_number, id_index
    resident.mobile, resident.mobile_index = clean.mobile, blind_index("mobile", clean.mobile)
    resident.email = clean.email
    resident.emergency_contact = clean.emergency_contact
    resident.emergency_phone = clean.emergency_phone
    resident.notes = clean.notes
    session.add(resident)
    session.flush()
    return resident


def update_contact(
    session: Session,
    resident: Resident,
    *,
    mobile: str | None,
    email: str,
    emergency_contact: str,
    emergency_phone: str | None,
) -> Resident:
    """What a resident may change themselves: how to reach them."""
    details = ResidentDetails(
        name=resident.name,
        id_number=resident.id_number,
        mobile=mobile,
        email=email,
        emergency_contact=emergency_contact,
        emergency_phone=emergency_phone,
        notes=resident.notes,
    )
    return save_resident(session, resident, details)


def check_vehicle(
    session: Session,
    estate_id: int,
    plate: str | None,
    owner: Resident | None = None,
    *,
    brand: str = "",
    colour: str = "",
    vehicle_id: int | None = None,
    registered_plates: set[str] | None = None,
) -> str:
    """The normalized plate of a vehicle that may be registered in the estate: a real
    plate that no other vehicle there has, an owner living in the same estate, and a
    brand and colour that fit their columns. Raises RegisterError naming each bad field.

    A caller checking many vehicles (the import) passes the estate's plates, read once,
    as ``registered_plates`` instead of one query per vehicle.
    """
    errors: dict[str, str] = {}
    try:
        plate = clean_plate(plate)
    except ServiceError as exc:
        errors["plate"] = exc.message
    else:
        if registered_plates is not None:
            taken = plate in registered_plates
        else:
            query = select(Vehicle.id).where(Vehicle.estate_id == estate_id, Vehicle.plate == plate)
            if vehicle_id is not None:
                query = query.where(Vehicle.id != vehicle_id)
            with session.no_autoflush:
                taken = session.scalar(query.limit(1)) is not None
        if taken:
            errors["plate"] = _("This plate is already registered.")
    if owner is not None and owner.estate_id != estate_id:
        errors["owner"] = _("The resident is registered in another estate.")
    for field, value in (("brand", brand), ("colour", colour)):
        problem = text_problem(Vehicle.__table__.c[field], value)
        if problem:
            errors[field] = problem
    if errors:
        raise RegisterError(errors)
    return plate


def check_occupancy(
    unit: Unit | None, resident: Resident | None, start: date | None, end: date | None
) -> None:
    """A resident may live in a unit of their own estate, from ``start`` to ``end``
    (either open). ``unit`` or ``resident`` is None when it is being created in the same
    estate. Raises RegisterError naming each bad field."""
    errors: dict[str, str] = {}
    if start and end and end < start:
        errors["end_date"] = _("The end date is before the start date.")
    if unit is not None and resident is not None:
        if unit.building.estate_id != resident.estate_id:
            errors["resident"] = _("The resident is registered in another estate.")
    if errors:
        raise RegisterError(errors)


def reveal(session: Session, resident: Resident, field: str) -> str:
    """The full value of an encrypted field; the read goes into the audit log."""
    if field not in REVEALABLE:
        raise ServiceError(f"{field} cannot be revealed", field="field")
    audit.record(
        session, "read", "Resident", resident.id, estate_id=resident.estate_id, field=field
    )
    session.flush()
    return getattr(resident, field) or ""


def find_residents(
    session: Session, query: str, estate_ids: set[int] | None, limit: int = 50
) -> list[Resident]:
    # Trusted callers only (the benchmarks): full numbers are searched unchecked.
    clause = search_clause(query, estate_ids, exact_numbers=True)
    return list(
        session.scalars(select(Resident).where(clause).order_by(Resident.name).limit(limit))
    )
