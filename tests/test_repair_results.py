"""A job's result and what it leaves behind when the job is reopened: the resident is
never charged twice or for a job that ended cancelled, and the facility's history holds
one entry per job. One-line fields stay on one line in mail."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from models import MaintenanceRecord, RepairPayer, RepairStatus, UnitCharge
from propadmin.services import repairs
from propadmin.services.repairs import RepairError, RepairResult


@pytest.fixture
def job(app, make, db_session):
    """An owner's request on a lift (a facility), assigned and started."""
    estate = make.estate()
    unit = make.unit(make.building(estate))
    owner = make.resident(estate, unit=unit)
    boss = make.user(roles=["admin"], estates=[estate])
    worker = make.user(roles=["repair"], estates=[estate])
    lift = make.facility(estate)
    repair = make.repair(unit, reporter=owner, by=boss, facility=lift)
    with app.test_request_context():
        repairs.assign(db_session, repair, worker, by=boss)
        repairs.start(db_session, repair, by=worker)
        db_session.commit()
    return repair, worker, boss


def paid_by_resident(cost: str) -> RepairResult:
    return RepairResult(fixed=True, cost=Decimal(cost), paid_by=RepairPayer.resident)


def charges(db_session, repair):
    db_session.expire_all()
    return db_session.scalars(select(UnitCharge).where(UnitCharge.repair_id == repair.id)).all()


def history(db_session, repair):
    query = select(MaintenanceRecord).where(MaintenanceRecord.repair_id == repair.id)
    return db_session.scalars(query).all()


def test_a_reopened_job_resolved_again_charges_the_new_cost_once(app, job, db_session):
    repair, worker, boss = job
    with app.test_request_context():
        repairs.resolve(db_session, repair, paid_by_resident("50.00"), by=worker)
        repairs.reopen(db_session, repair, by=boss, note="还在漏")
        db_session.commit()
        assert charges(db_session, repair) == [] and history(db_session, repair) == []
        repairs.start(db_session, repair, by=worker)
        repairs.resolve(db_session, repair, paid_by_resident("30.00"), by=worker)
        db_session.commit()
    [charge] = charges(db_session, repair)
    assert charge.amount == Decimal("30.00") and charge.bill_id is None
    assert len(history(db_session, repair)) == 1


def test_a_job_reopened_then_cancelled_charges_nothing(app, job, db_session):
    repair, worker, boss = job
    with app.test_request_context():
        repairs.resolve(db_session, repair, paid_by_resident("80.00"), by=worker)
        repairs.reopen(db_session, repair, by=boss, note="住户说没修好")
        repairs.cancel(db_session, repair, by=boss, note="住户自行找人维修")
        db_session.commit()
    assert repair.status is RepairStatus.cancelled
    assert charges(db_session, repair) == [] and history(db_session, repair) == []


def test_a_job_already_billed_is_not_charged_again_after_a_reopen(app, make, job, db_session):
    repair, worker, boss = job
    with app.test_request_context():
        repairs.resolve(db_session, repair, paid_by_resident("60.00"), by=worker)
        db_session.commit()
    [charge] = charges(db_session, repair)
    charge.bill_id = make.bill(repair.unit, period="2026-10").id  # the next bill carried it
    db_session.commit()
    with app.test_request_context():
        repairs.reopen(db_session, repair, by=boss, note="又坏了")
        repairs.start(db_session, repair, by=worker)
        db_session.commit()
        with pytest.raises(RepairError) as refused:
            repairs.resolve(db_session, repair, paid_by_resident("20.00"), by=worker)
        assert "paid_by" in refused.value.errors and "¥60.00" in refused.value.errors["paid_by"]
        db_session.rollback()
        repairs.resolve(
            db_session, repair, RepairResult(fixed=True, cost=Decimal("20.00")), by=worker
        )
        db_session.commit()
    assert [c.amount for c in charges(db_session, repair)] == [Decimal("60.00")]
    assert repair.status is RepairStatus.resolved


def test_a_line_break_typed_into_the_place_does_not_reach_the_mail_headers(
    app, make, db_session, smtp
):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    boss = make.user(roles=["admin"], estates=[estate])
    worker = make.user(roles=["repair"], estates=[estate])
    worker.locale = "en"
    db_session.commit()
    repair = make.repair(unit, by=boss, location="kitchen\r\nBcc: evil@example.net")
    assert repair.location == "kitchen Bcc: evil@example.net"
    with app.test_request_context():
        repairs.assign(db_session, repair, worker, by=boss)
        db_session.commit()
    [mail] = smtp.mailbox.wait(1)
    assert mail["Bcc"] is None and mail["To"] == worker.email
    assert mail["Subject"] == f"Repair job #{repair.id}: kitchen Bcc: evil@example.net"
