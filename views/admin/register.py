"""What the estate register's admin screens share: the labels of relations and parking
kinds, and the unit page's household (the unit view lives in property.py)."""

from flask_babel import lazy_gettext as _l

from models import ParkingKind, Relation, Unit
from propadmin.extensions import db
from propadmin.permissions import can
from propadmin.services.households import RELATION_LABELS, unit_household

PARKING_LABELS = {ParkingKind.owned: _l("Owned"), ParkingKind.rented: _l("Rented")}


def unit_page_context(unit: Unit) -> dict:
    """What the unit page shows: its people (now and before), vehicles and parking."""
    household = unit_household(db.session, unit)
    # Whom repair staff call at the door: the payer, else an owner (masked number).
    contact = next(
        (o for o in household.current if o.is_payer),
        next((o for o in household.current if o.relation is Relation.owner), None),
    )
    return {
        "contact": contact.resident if contact else None,
        "contact_mobile": contact.resident.mobile_masked if contact else "",
        "can_move": can("residents.edit"),
        "can_edit_unit": can("property.edit"),
        "current": household.current,
        "upcoming": household.upcoming,
        "past": household.past,
        "vehicles": household.vehicles,
        "spaces": household.spaces,
        "relation_labels": RELATION_LABELS,
        "parking_labels": PARKING_LABELS,
        "can_see_people": can("residents.view"),
    }
