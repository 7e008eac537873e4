"""What a repair's result leaves elsewhere, and taking it back when the job is reopened:
a resident-paid cost waiting for the unit's next bill, and the facility's maintenance
history."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import (
    FacilityStatus,
    MaintenanceKind,
    MaintenanceRecord,
    RepairPayer,
    RepairRequest,
    UnitCharge,
)

from .bill_explain import yuan


def billed_charge_problem(session: Session, repair: RepairRequest, result) -> str | None:
    """Why this result cannot charge the resident: they were billed for the job already
    (before it was reopened), and one job is billed once."""
    if result.paid_by is not RepairPayer.resident or result.cost <= 0:
        return None
    billed = session.scalar(select(UnitCharge).where(UnitCharge.repair_id == repair.id))
    if billed is None:
        return None
    return _(
        "The resident was already billed %(amount)s for this job; record this visit as paid"
        " by the estate, or adjust that bill.",
        amount=yuan(billed.amount),
    )


def record_result(
    session: Session, repair: RepairRequest, result, *, note: str, today: date, warranty
) -> None:
    if result.paid_by is RepairPayer.resident and result.cost > 0:
        session.add(UnitCharge(
            estate_id=repair.estate_id, unit_id=repair.unit_id, payer_id=repair.reporter_id,
            amount=result.cost, repair_id=repair.id,
            description=_("Repair #%(id)d: %(location)s", id=repair.id,
                          location=repair.location)[:255],
        ))
    if repair.facility is not None:
        session.add(MaintenanceRecord(
            facility_id=repair.facility_id, repair_id=repair.id, done_on=today,
            kind=MaintenanceKind.repair, staff_id=repair.assignee_id,
            work=(note or repair.description)[:1000], parts=result.materials,
            cost=result.cost, under_warranty=bool(warranty),
        ))
        if result.fixed and repair.facility.status is FacilityStatus.under_repair:
            repair.facility.status = FacilityStatus.in_service


def withdraw_result(session: Session, repair: RepairRequest) -> None:
    """The job is open again: its result no longer stands. A charge not yet on a bill is
    dropped (a billed one stays on its bill, for the office to adjust), and the facility's
    history loses the entry until the job is resolved again."""
    session.execute(
        delete(UnitCharge)
        .where(UnitCharge.repair_id == repair.id, UnitCharge.bill_id.is_(None))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(MaintenanceRecord)
        .where(MaintenanceRecord.repair_id == repair.id)
        .execution_options(synchronize_session=False)
    )
