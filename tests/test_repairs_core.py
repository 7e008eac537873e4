"""The repair state machine's main path, on both databases (the foundation's smoke test;
the per-role refusals live in test_repair_transitions.py)."""

from decimal import Decimal

import pytest

from models import RepairPayer, RepairStatus, UnitCharge
from propadmin.services import repairs
from propadmin.services.repairs import RepairError, RepairResult


def test_report_to_rated_closure(app, make, db_session):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    owner_user = make.user(roles=["owner"])
    owner = make.resident(estate, unit=unit)
    owner.user = owner_user
    db_session.commit()
    worker = make.user(roles=["repair"], estates=[estate])
    boss = make.user(roles=["admin"], estates=[estate])
    repair = make.repair(unit, reporter=owner)
    assert repair.status is RepairStatus.submitted
    assert repair.respond_by > repair.submitted_at
    with app.test_request_context():
        repairs.assign(db_session, repair, worker, by=boss)
        repairs.start(db_session, repair, by=worker)
        repairs.resolve(
            db_session, repair,
            RepairResult(fixed=True, cost=Decimal("35.50"), paid_by=RepairPayer.resident),
            by=worker,
        )
        repairs.close(db_session, repair, by=owner_user)
        repairs.rate(db_session, repair, 5, "很快", by=owner_user)
        db_session.commit()
    assert repair.status is RepairStatus.closed and repair.rating == 5
    assert [e.action for e in repair.events] == [
        "submit", "assign", "start", "resolve", "close", "rate"
    ]
    charge = db_session.query(UnitCharge).filter_by(repair_id=repair.id).one()
    assert charge.amount == Decimal("35.50") and charge.unit_id == unit.id
    with app.test_request_context(), pytest.raises(RepairError):
        repairs.rate(db_session, repair, 4, by=owner_user)
