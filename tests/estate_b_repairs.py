"""Estate B's facilities and repairs for the cross-estate tests: one row of each kind,
keyed by the admin endpoint that lists it."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from models import (
    Facility,
    FacilityCategory,
    MaintenancePlan,
    MaintenanceRecord,
    RepairCategory,
    RepairEvent,
    RepairRequest,
    RepairSkill,
    RepairSlaPolicy,
    RepairStatus,
    RepairUrgency,
    UnitCharge,
)


def estate_b_repairs(db_session, estate, unit, resident, admin) -> dict:
    facility = Facility(
        estate=estate, code="CH-LIFT-1", name="翠湖1号梯", category=FacilityCategory.elevator,
        warranty_end=date(2030, 1, 1),
    )
    plan = MaintenancePlan(
        facility=facility, title="翠湖电梯月检", every=1, next_due=date(2026, 12, 1)
    )
    record = MaintenanceRecord(facility=facility, done_on=date(2026, 11, 1), work="翠湖年检")
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    repair = RepairRequest(
        estate=estate, building_id=unit.building_id, unit=unit, reporter=resident,
        location="翠湖7788厨房", description="翠湖漏水", category=RepairCategory.plumbing,
        urgency=RepairUrgency.urgent, status=RepairStatus.submitted, submitted_at=now,
        respond_by=now + timedelta(hours=1), resolve_by=now + timedelta(days=1),
        contact_name=resident.name,
    )
    repair.events.append(RepairEvent(action="submit", to_status=RepairStatus.submitted, at=now))
    sla = RepairSlaPolicy(
        estate=estate, urgency=RepairUrgency.urgent, respond_minutes=30, resolve_minutes=600
    )
    skill = RepairSkill(user=admin, category=RepairCategory.plumbing)
    charge = UnitCharge(
        estate=estate, unit=unit, payer=resident, amount=Decimal("77.88"), description="翠湖维修"
    )
    rows = (facility, plan, record, repair, sla, skill, charge)
    db_session.add_all(rows)
    db_session.commit()
    return {
        "facility": facility.id, "maintenance_plan": plan.id, "maintenance_record": record.id,
        "repair_sla": sla.id, "repair_skill": skill.id, "unit_charge": charge.id,
        # not model views: the repair pages are checked in test_repairs_admin.py
        "repair_request": repair.id,
    }
