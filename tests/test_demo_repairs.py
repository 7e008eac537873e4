"""The demo estate's facilities and repairs, as DESIGN.md's demo contract promises them:
equipment with one warranty ending within 30 days, plans and records, and repairs in
several states made through the real repair service, one of them submitted by `owner`."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from models import (
    Building,
    Estate,
    Facility,
    FacilityCategory,
    MaintenancePlan,
    MaintenanceRecord,
    OutboxMessage,
    RepairPayer,
    RepairRequest,
    RepairSkill,
    RepairStatus,
    RepairUrgency,
    UnitCharge,
    User,
    utcnow,
)
from propadmin.services.repair_sla import breach_clause
from propadmin.services.repairs import allowed_actions, may_see
from propadmin.services.today import estate_today


def _user(db_session, username):
    return db_session.scalar(select(User).where(User.username == username))


def _repairs(db_session, estate_id, *where):
    return db_session.scalars(
        select(RepairRequest).where(RepairRequest.estate_id == estate_id, *where)
    ).all()


def test_the_ledger_has_every_kind_of_equipment_and_a_warranty_ending_soon(demo, db_session):
    estate = db_session.get(Estate, demo)
    today = estate_today(estate)
    facilities = db_session.scalars(select(Facility).where(Facility.estate_id == demo)).all()
    kinds = {f.category for f in facilities}
    for kind in ("elevator", "water_pump", "street_light", "fitness", "fire"):
        assert FacilityCategory(kind) in kinds, kind
    buildings = db_session.scalars(select(Building.id).where(Building.estate_id == demo)).all()
    lifts = {f.building_id for f in facilities if f.category is FacilityCategory.elevator}
    assert lifts == set(buildings)  # a lift in every building
    ending = [f for f in facilities if f.warranty_end and today <= f.warranty_end
              <= today + timedelta(days=30)]
    assert ending, "no warranty ends within 30 days"
    assert any(f.warranty_end and f.warranty_end < today for f in facilities)


def test_plans_are_due_and_overdue_and_records_span_months(demo, db_session):
    today = estate_today(db_session.get(Estate, demo))
    plans = db_session.scalars(
        select(MaintenancePlan).join(Facility).where(Facility.estate_id == demo)
    ).all()
    lift_plans = [p for p in plans if p.facility.category is FacilityCategory.elevator]
    assert any(today <= p.next_due <= today + timedelta(days=7) for p in lift_plans)
    assert any(p.next_due < today for p in lift_plans)  # one overdue
    records = db_session.scalars(
        select(MaintenanceRecord).join(Facility).where(Facility.estate_id == demo)
    ).all()
    assert len({(r.done_on.year, r.done_on.month) for r in records}) >= 3
    assert all(r.done_on <= today for r in records)


def test_repairs_in_several_states_through_the_service(demo, db_session):
    repairs = _repairs(db_session, demo)
    statuses = {r.status for r in repairs}
    assert len(statuses) >= 4, statuses
    assert statuses == set(RepairStatus)
    for repair in repairs:
        actions = [e.action for e in repair.events]
        assert actions[0] == "submit", repair.id  # every one made by the service
        moved = [e for e in repair.events if e.to_status is not None]
        assert moved[-1].to_status is repair.status, repair.id
        assert repair.submitted_at <= utcnow()
    # Their assignment mails were not queued: the demo's jobs are history.
    assert not db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "repair_assigned")
    ).all()


def test_owner_has_an_open_request_and_a_closed_rated_one(app, demo, db_session):
    owner, owner2 = _user(db_session, "owner"), _user(db_session, "owner2")
    mine = _repairs(db_session, demo, RepairRequest.reporter_id == owner.resident.id)
    open_ = [r for r in mine if r.is_open]
    assert open_ and all(may_see(owner, r) and not may_see(owner2, r) for r in mine)
    rated = [r for r in mine if r.status is RepairStatus.closed and r.rating]
    assert rated and rated[0].rating_comment
    with app.test_request_context():
        assert "cancel" in allowed_actions(open_[0], owner)


def test_the_queue_has_a_breach_and_the_repair_account_has_work(demo, db_session):
    now = utcnow()
    breached = _repairs(db_session, demo, breach_clause(now))
    assert any(r.urgency is RepairUrgency.urgent and r.started_at is None for r in breached)
    worker = _user(db_session, "repair")
    theirs = _repairs(db_session, demo, RepairRequest.assignee_id == worker.id)
    assert {RepairStatus.assigned, RepairStatus.in_progress} <= {r.status for r in theirs}
    skills = select(RepairSkill.category).where(RepairSkill.user_id == worker.id)
    assert len(db_session.scalars(skills).all()) >= 3


def test_a_resident_paid_repair_waits_for_the_next_bill(demo, db_session):
    charges = db_session.scalars(
        select(UnitCharge).where(UnitCharge.estate_id == demo, UnitCharge.repair_id.is_not(None))
    ).all()
    assert charges and all(c.bill_id is None for c in charges)
    repair = db_session.get(RepairRequest, charges[0].repair_id)
    assert repair.paid_by is RepairPayer.resident and repair.cost == charges[0].amount > 0
    assert repair.status is RepairStatus.resolved and repair.unit_id == charges[0].unit_id


def test_a_repair_under_warranty_joins_its_facilitys_history(demo, db_session):
    repair = db_session.scalars(
        select(RepairRequest).where(
            RepairRequest.estate_id == demo, RepairRequest.under_warranty.is_(True)
        )
    ).first()
    assert repair is not None and repair.facility is not None
    record = db_session.scalar(
        select(MaintenanceRecord).where(MaintenanceRecord.repair_id == repair.id)
    )
    assert record.facility_id == repair.facility_id and record.under_warranty
    assert record.done_on == repair.resolved_at.date()


def test_seeding_again_adds_no_repairs(demo, db_session, runner):
    def count():
        return db_session.scalar(select(func.count()).select_from(RepairRequest))

    before = count()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0 and "already exists" in again.output
    db_session.expire_all()
    assert count() == before


def test_the_demo_writes_its_equipment_and_jobs_in_chinese(demo, db_session):
    """The Chinese UI shows these texts as they are (tests/test_no_english.py): no Latin
    words of three letters or more, codes like DT-01 and ZD-60W aside."""
    latin = re.compile(r"[A-Za-z]{3,}")
    texts = []
    for f in db_session.scalars(select(Facility).where(Facility.estate_id == demo)):
        texts += [f.name, f.location, f.model, f.serial_no, f.supplier, f.notes]
    for r in _repairs(db_session, demo):
        texts += [r.location, r.description, r.materials, r.rating_comment, r.contact_name]
        texts += [e.note for e in r.events]
    records = select(MaintenanceRecord).join(Facility).where(Facility.estate_id == demo)
    for m in db_session.scalars(records):
        texts += [m.work, m.parts, m.staff_name]
    assert [t for t in texts if latin.search(t or "")] == []
