"""What the estate register's admin screens share: the labels of relations and parking
kinds, and the unit page's household (the unit view lives in property.py)."""

from flask_babel import lazy_gettext as _l

from models import ParkingKind, Relation, Unit
from propadmin.extensions import db
from propadmin.permissions import can
from propadmin.services.households import unit_household

RELATION_LABELS = {
    Relation.owner: _l("Owner"),
    Relation.tenant: _l("Tenant"),
    Relation.family: _l("Family member"),
}
PARKING_LABELS = {ParkingKind.owned: _l("Owned"), ParkingKind.rented: _l("Rented")}


def unit_page_context(unit: Unit) -> dict:
    """What the unit page shows: its people (now and before), vehicles and parking."""
    household = unit_household(db.session, unit)
    return {
        "current": household.current,
        "past": household.past,
        "vehicles": household.vehicles,
        "spaces": household.spaces,
        "relation_labels": RELATION_LABELS,
        "parking_labels": PARKING_LABELS,
        "can_see_people": can("residents.view"),
    }
