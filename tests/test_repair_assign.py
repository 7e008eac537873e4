"""Automatic assignment: the least busy repair worker of the estate gets the job (those
skilled in its category first); never someone of another estate, an inactive account,
a person without repairs.work, or the estate's dispatchers; nobody → a clear refusal."""

from collections import Counter

import pytest
from sqlalchemy import select

from models import OutboxMessage, RepairCategory, RepairSkill, RepairStatus
from propadmin.services.repair_assign import auto_assign, pick_worker
from propadmin.services.repairs import RepairError


def staff(make, estate, n, roles=("repair",), active=True):
    people = [make.user(roles=list(roles), estates=[estate]) for _ in range(n)]
    for person in people:
        person.active = active
    make.session.commit()
    return people


def give(app, make, db_session, repair, boss):
    with app.test_request_context():
        worker = auto_assign(db_session, repair, by=boss)
        db_session.commit()
    return worker


def test_nine_requests_go_three_to_each_of_three_workers(app, make, db_session):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    workers = staff(make, estate, 3)
    boss = make.user(roles=["admin"], estates=[estate])
    given = [give(app, make, db_session, make.repair(unit, by=boss), boss) for _ in range(9)]
    assert Counter(w.id for w in given) == {w.id: 3 for w in workers}
    # Deterministic: the same order every round (fewest jobs, least recently, then id).
    assert [w.id for w in given[:3]] == sorted(w.id for w in workers)
    assert [w.id for w in given[3:6]] == [w.id for w in given[:3]]
    # Through repairs.assign: each worker was told of each job by mail.
    mails = db_session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.kind == "repair_assigned")
    ).all()
    assert Counter(mails) == {w.email: 3 for w in workers}


def test_closed_jobs_do_not_count_as_load(app, make, db_session):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    busy, idle = staff(make, estate, 2)
    boss = make.user(roles=["admin"], estates=[estate])
    from propadmin.services import repairs

    with app.test_request_context():
        for _ in range(2):
            done = make.repair(unit, by=boss)
            repairs.assign(db_session, done, busy, by=boss)
            repairs.cancel(db_session, done, by=boss, note="重复报修")
        open_job = make.repair(unit, by=boss)
        repairs.assign(db_session, open_job, idle, by=boss)
        db_session.commit()
    # busy: 0 open (2 cancelled); idle: 1 open → busy gets the next one.
    assert give(app, make, db_session, make.repair(unit, by=boss), boss).id == busy.id


def test_skilled_workers_first_and_balanced_among_themselves(app, make, db_session):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    plumber1, plumber2, electrician = staff(make, estate, 3)
    db_session.add_all([
        RepairSkill(user=plumber1, category=RepairCategory.plumbing),
        RepairSkill(user=plumber2, category=RepairCategory.plumbing),
        RepairSkill(user=electrician, category=RepairCategory.electrical),
    ])
    db_session.commit()
    boss = make.user(roles=["admin"], estates=[estate])
    pipes = [
        give(app, make, db_session, make.repair(unit, by=boss, category=RepairCategory.plumbing),
             boss)
        for _ in range(4)
    ]
    assert Counter(w.id for w in pipes) == {plumber1.id: 2, plumber2.id: 2}
    # Nobody is skilled in doors: the least busy of all gets it (the electrician, 0 jobs).
    door = make.repair(unit, by=boss, category=RepairCategory.door_window)
    assert give(app, make, db_session, door, boss).id == electrician.id


def test_never_another_estate_an_inactive_account_or_no_repairs_work(app, make, db_session):
    estate, other = make.estate(), make.estate()
    unit = make.unit(make.building(estate))
    staff(make, other, 2)  # idle, but another estate's
    staff(make, estate, 1, active=False)
    staff(make, estate, 2, roles=("finance",))
    boss = make.user(roles=["admin"], estates=[estate])  # holds everything, dispatches
    repair = make.repair(unit, by=boss)
    with app.test_request_context(), pytest.raises(RepairError) as refused:
        auto_assign(db_session, repair, by=boss)
    assert refused.value.errors.keys() == {"assignee"}
    db_session.refresh(repair)
    assert repair.status is RepairStatus.submitted and repair.assignee_id is None
    worker = staff(make, estate, 1)[0]
    assert give(app, make, db_session, repair, boss).id == worker.id


def test_one_query_whatever_the_number_of_workers(app, make, db_session, count_queries):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    boss = make.user(roles=["admin"], estates=[estate])
    staff(make, estate, 2)
    repair = make.repair(unit, by=boss)
    db_session.expire_all()
    repair = db_session.get(type(repair), repair.id)
    with count_queries() as few:
        pick_worker(db_session, repair)
    staff(make, estate, 12)
    db_session.expire_all()
    repair = db_session.get(type(repair), repair.id)
    with count_queries() as many:
        pick_worker(db_session, repair)
    # One query picks; the rest load the chosen account (roles, estates) once.
    assert len(many) == len(few) <= 6
    assert sum("ORDER BY" in q for q in many) == 1
