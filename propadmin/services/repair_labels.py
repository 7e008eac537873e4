"""What the repair and facility choices are called, in the reader's language: one place for
the admin, the portal, the mails and the reports."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from models import (
    FacilityCategory,
    FacilityStatus,
    IntervalUnit,
    MaintenanceKind,
    RepairCategory,
    RepairPayer,
    RepairSource,
    RepairStatus,
    RepairUrgency,
)

from ..i18n import in_language

STATUS_LABELS = {
    RepairStatus.submitted: _l("Submitted"),
    RepairStatus.assigned: _l("Assigned"),
    RepairStatus.in_progress: _l("In progress"),
    RepairStatus.resolved: _l("Resolved"),
    RepairStatus.closed: _l("Closed"),
    RepairStatus.cancelled: _l("Cancelled"),
}

URGENCY_LABELS = {
    RepairUrgency.urgent: _l("Urgent"),
    RepairUrgency.normal: _l("Normal"),
    RepairUrgency.low: _l("Not urgent"),
}

CATEGORY_LABELS = {
    RepairCategory.plumbing: _l("Plumbing and drains"),
    RepairCategory.electrical: _l("Electrical"),
    RepairCategory.door_window: _l("Doors and windows"),
    RepairCategory.leak: _l("Leaks (walls, roof)"),
    RepairCategory.elevator: _l("Lift"),
    RepairCategory.public: _l("Shared facilities"),
    RepairCategory.gas: _l("Gas"),
    RepairCategory.other: _l("Other"),
}

SOURCE_LABELS = {
    RepairSource.portal: _l("Resident portal"),
    RepairSource.office: _l("Phone or walk-in"),
    RepairSource.patrol: _l("Found on patrol"),
}

PAYER_LABELS = {
    RepairPayer.estate: _l("The estate"),
    RepairPayer.resident: _l("The resident (added to their next bill)"),
}

# What each move is called on its button and in the timeline.
ACTION_LABELS = {
    "submit": _l("Reported"),
    "assign": _l("Assign"),
    "start": _l("Start work"),
    "resolve": _l("Record the result"),
    "close": _l("Confirm and close"),
    "reopen": _l("Reopen"),
    "cancel": _l("Cancel the request"),
    "rate": _l("Rate"),
    "escalate": _l("Escalated to the administrators"),
}

FACILITY_CATEGORY_LABELS = {
    FacilityCategory.elevator: _l("Lift"),
    FacilityCategory.water_pump: _l("Water pump"),
    FacilityCategory.street_light: _l("Street light"),
    FacilityCategory.fitness: _l("Fitness equipment"),
    FacilityCategory.fire: _l("Fire equipment"),
    FacilityCategory.security: _l("Security and door entry"),
    FacilityCategory.power: _l("Power supply"),
    FacilityCategory.hvac: _l("Heating and air conditioning"),
    FacilityCategory.other: _l("Other"),
}

FACILITY_STATUS_LABELS = {
    FacilityStatus.in_service: _l("In service"),
    FacilityStatus.under_repair: _l("Under repair"),
    FacilityStatus.out_of_service: _l("Out of service"),
    FacilityStatus.retired: _l("Retired"),
}

MAINTENANCE_KIND_LABELS = {
    MaintenanceKind.inspection: _l("Inspection"),
    MaintenanceKind.maintenance: _l("Maintenance"),
    MaintenanceKind.repair: _l("Repair"),
}

INTERVAL_UNIT_LABELS = {
    IntervalUnit.days: _l("days"),
    IntervalUnit.months: _l("months"),
}


def _lookup(labels):
    by_value = {member.value: label for member, label in labels.items()}

    def label(value) -> str:
        found = in_language(by_value).get(getattr(value, "value", value), value or "")
        return str(found)

    return label


# Template helpers: ``{{ repair_status(repair.status) }}`` and so on, in every template.
JINJA_GLOBALS = {
    "repair_status": _lookup(STATUS_LABELS),
    "repair_urgency": _lookup(URGENCY_LABELS),
    "repair_category": _lookup(CATEGORY_LABELS),
    "repair_source": _lookup(SOURCE_LABELS),
    "repair_payer": _lookup(PAYER_LABELS),
    "repair_action": lambda action: str(ACTION_LABELS.get(action, action)),
    "facility_category": _lookup(FACILITY_CATEGORY_LABELS),
    "facility_status": _lookup(FACILITY_STATUS_LABELS),
    "maintenance_kind": _lookup(MAINTENANCE_KIND_LABELS),
    "interval_unit": _lookup(INTERVAL_UNIT_LABELS),
}
