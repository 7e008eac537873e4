"""Every move of a repair request, for every kind of person: allowed exactly as
services/repairs.py::may says, refused otherwise with RepairError and the request left as
it was (status, version, timeline). Plus: the moves a status does not allow, two people
assigning the same page at once, the resident's reopen window, and hostile input."""

import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from models import Relation, RepairEvent, RepairRequest, RepairStatus, User
from propadmin.services import repairs
from propadmin.services.repairs import RepairError, RepairResult

S = RepairStatus
ROLES = ("admin", "assignee", "other_worker", "finance", "reporter", "other_owner", "tenant",
         "outsider")


@dataclass
class Office:
    app: object
    make: object
    session: object
    unit: object
    owner: object
    people: dict

    def __getattr__(self, name):
        return self.people[name]


@pytest.fixture
def office(app, make, db_session):
    estate, elsewhere = make.estate(), make.estate()
    unit = make.unit(make.building(estate))
    owner = make.resident(unit=unit, name="报修业主")
    tenant = make.resident(unit=unit, name="同住租户", relation=Relation.tenant)
    neighbour = make.resident(unit=make.unit(make.building(estate)), name="邻居业主")
    people = {
        "admin": make.user(roles=["admin"], estates=[estate]),
        "assignee": make.user(roles=["repair"], estates=[estate]),
        "other_worker": make.user(roles=["repair"], estates=[estate]),
        "finance": make.user(roles=["finance"], estates=[estate]),
        "reporter": make.user(roles=["owner"]),
        "other_owner": make.user(roles=["owner"]),
        "tenant": make.user(roles=["tenant"]),
        "outsider": make.user(roles=["admin"], estates=[elsewhere]),
    }
    owner.user, neighbour.user, tenant.user = (
        people["reporter"], people["other_owner"], people["tenant"])
    db_session.commit()
    return Office(app, make, db_session, unit, owner, people)


def at(office, status):
    """A fresh request reported by the owner, brought to ``status`` by the office (the
    assignee is the "assignee" worker)."""
    o = office
    repair = o.make.repair(o.unit, reporter=o.owner)
    steps = {
        S.assigned: lambda: repairs.assign(o.session, repair, o.assignee, by=o.admin),
        S.in_progress: lambda: repairs.start(o.session, repair, by=o.assignee),
        S.resolved: lambda: repairs.resolve(o.session, repair, RepairResult(fixed=True),
                                            by=o.assignee),
        S.closed: lambda: repairs.close(o.session, repair, by=o.admin),
    }
    with o.app.test_request_context():
        if status is S.cancelled:
            repairs.cancel(o.session, repair, by=o.admin, note="重复报修")
        for step, move in steps.items():
            if status is S.submitted or status is S.cancelled:
                break
            move()
            if step is status:
                break
        o.session.commit()
    assert repair.status is status
    return repair


def act(office, action, repair, user, **kwargs):
    o = office
    if action == "assign":
        # A worker can only take a job themselves; anyone else hands it to a worker.
        target = user if user in (o.assignee, o.other_worker) else (
            o.other_worker if repair.assignee_id == o.assignee.id else o.assignee)
        return repairs.assign(o.session, repair, target, by=user, **kwargs)
    if action == "resolve":
        return repairs.resolve(o.session, repair, RepairResult(fixed=True), by=user, **kwargs)
    if action in ("reopen", "cancel"):
        return getattr(repairs, action)(o.session, repair, by=user, note="没修好", **kwargs)
    if action == "rate":
        return repairs.rate(o.session, repair, 4, "师傅很细心", by=user, **kwargs)
    return getattr(repairs, action)(o.session, repair, by=user, **kwargs)


def snapshot(session, repair):
    session.expire_all()
    row = session.get(RepairRequest, repair.id)
    events = session.scalar(
        select(func.count()).select_from(RepairEvent).where(RepairEvent.repair_id == repair.id))
    return row.status, row.version, events, row.assignee_id


def refused(office, action, repair, user, field=None, **kwargs):
    before = snapshot(office.session, repair)
    with office.app.test_request_context(), pytest.raises(RepairError) as error:
        act(office, action, repair, user, **kwargs)
    office.session.rollback()
    assert snapshot(office.session, repair) == before, f"{action} changed the request"
    if field is not None:
        assert field in error.value.errors, error.value.errors
    return error.value


# (action, the status it starts from) → who may make it; everyone else is refused.
MATRIX = [
    ("assign", S.submitted, {"admin", "assignee", "other_worker"}),
    ("assign", S.assigned, {"admin"}),  # handing it to someone else: the dispatcher only
    ("start", S.assigned, {"admin", "assignee"}),
    ("resolve", S.in_progress, {"admin", "assignee"}),
    ("close", S.resolved, {"admin", "reporter"}),
    ("reopen", S.resolved, {"admin", "reporter"}),
    ("reopen", S.closed, {"admin", "reporter"}),
    ("cancel", S.submitted, {"admin", "reporter"}),
    ("cancel", S.assigned, {"admin", "reporter"}),
    ("cancel", S.in_progress, {"admin"}),  # the worker is on the way: ask the office
    ("rate", S.closed, {"reporter"}),
]


@pytest.mark.parametrize("action, status, allowed", MATRIX,
                         ids=[f"{a}-from-{s}" for a, s, _ in MATRIX])
def test_who_may_make_each_move(office, action, status, allowed):
    for role in ROLES:
        repair = at(office, status)
        user = office.people[role]
        with office.app.test_request_context():
            shown = repairs.may(action, repair, user)
        assert shown is (role in allowed), f"may({action}) for {role}"
        if role in allowed:
            version = repair.version
            with office.app.test_request_context():
                event = act(office, action, repair, user)
                office.session.commit()
            assert event.action == action and repair.version == version + 1
            assert event.actor_id == user.id
        else:
            refused(office, action, repair, user)


STATUSES = list(S)


@pytest.mark.parametrize("status", STATUSES, ids=[s.value for s in STATUSES])
def test_moves_a_status_does_not_allow_are_refused_to_everyone(office, status):
    illegal = [a for a, (sources, _t) in repairs.MOVES.items() if status not in sources]
    assert illegal, status
    for action in illegal:
        for role in ("admin", "assignee", "reporter"):
            repair = at(office, status)
            refused(office, action, repair, office.people[role])


def test_a_job_is_rated_once(office):
    repair = at(office, S.closed)
    with office.app.test_request_context():
        repairs.rate(office.session, repair, 5, by=office.reporter)
        office.session.commit()
    refused(office, "rate", repair, office.reporter)


def test_the_resident_may_reopen_within_seven_days_only(office):
    repair = at(office, S.resolved)
    late = repair.resolved_at + timedelta(days=repairs.REOPEN_DAYS, minutes=1)
    refused(office, "reopen", repair, office.reporter, now=late)
    with office.app.test_request_context():
        assert not repairs.may("reopen", repair, office.reporter, late)
        assert repairs.may("reopen", repair, office.admin, late)  # the office still can
    closed = at(office, S.closed)
    late = closed.resolved_at + timedelta(days=repairs.REOPEN_DAYS + 1)
    refused(office, "reopen", closed, office.reporter, now=late)
    in_time = closed.resolved_at + timedelta(days=repairs.REOPEN_DAYS - 1)
    with office.app.test_request_context():
        repairs.reopen(office.session, closed, by=office.reporter, note="又漏了", now=in_time)
        office.session.commit()
    assert closed.status is S.assigned and closed.assignee_id == office.assignee.id
    assert closed.reopen_count == 1 and closed.resolved_at is None


def test_a_reopened_job_whose_worker_left_goes_back_to_the_queue(office):
    repair = at(office, S.resolved)
    office.assignee.active = False
    office.session.commit()
    with office.app.test_request_context():
        event = repairs.reopen(office.session, repair, by=office.reporter, note="还是坏的")
        office.session.commit()
    assert repair.status is S.submitted and repair.assignee_id is None
    assert event.to_status is S.submitted


def test_hostile_input_is_refused_naming_the_field(office):
    o = office
    submitted = at(o, S.submitted)
    before = snapshot(o.session, submitted)
    with o.app.test_request_context(), pytest.raises(RepairError) as error:
        repairs.cancel(o.session, submitted, by=o.admin, note="长" * 501)
    assert "note" in error.value.errors and snapshot(o.session, submitted) == before
    with o.app.test_request_context(), pytest.raises(RepairError) as error:
        repairs.cancel(o.session, submitted, by=o.admin, note="   ")  # staff give a reason
    assert "note" in error.value.errors
    with o.app.test_request_context(), pytest.raises(RepairError) as error:
        repairs.reopen(o.session, at(o, S.resolved), by=o.reporter, note="")
    assert "note" in error.value.errors

    closed = at(o, S.closed)
    for stars in (0, 6, "x", None, 4.5, True):
        before = snapshot(o.session, closed)
        with o.app.test_request_context(), pytest.raises(RepairError) as error:
            repairs.rate(o.session, closed, stars, by=o.reporter)
        assert "rating" in error.value.errors, stars
        assert snapshot(o.session, closed) == before
    with o.app.test_request_context(), pytest.raises(RepairError) as error:
        repairs.rate(o.session, closed, 5, "好" * 501, by=o.reporter)
    assert "comment" in error.value.errors

    working = at(o, S.in_progress)
    bad_results = {
        "cost": RepairResult(fixed=True, cost=Decimal("-0.01")),
        "cost ": RepairResult(fixed=True, cost="abc"),
        "cost  ": RepairResult(fixed=True, cost=Decimal("NaN")),
        "cost   ": RepairResult(fixed=True, cost=Decimal("1.005")),
        "minutes_spent ": RepairResult(fixed=True, minutes_spent="30"),
        "minutes_spent": RepairResult(fixed=True, minutes_spent=-5),
        "materials": RepairResult(fixed=True, materials="管" * 501),
        "note": RepairResult(fixed=True, note="x" * 501),
    }
    for field, result in bad_results.items():
        before = snapshot(o.session, working)
        with o.app.test_request_context(), pytest.raises(RepairError) as error:
            repairs.resolve(o.session, working, result, by=o.assignee)
        assert field.strip() in error.value.errors, field
        assert snapshot(o.session, working) == before


def test_a_stale_page_is_refused(office):
    repair = at(office, S.assigned)
    shown = repair.version
    with office.app.test_request_context():
        repairs.start(office.session, repair, by=office.assignee, expected_version=shown)
        office.session.commit()
    refused(office, "resolve", repair, office.assignee, expected_version=shown)


# -- two dispatchers at the same moment ---------------------------------------------------
@pytest.mark.committed  # two sessions on two connections
def test_two_assigns_of_the_same_version_one_wins(office, app):
    from propadmin.extensions import db

    repair = at(office, S.submitted)
    ids = (repair.id, repair.version, office.admin.id, office.assignee.id, office.other_worker.id)
    with app.app_context():
        engine = db.engine
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def dispatcher(i):
        repair_id, version, boss_id, *workers = ids
        with app.test_request_context(), sa.orm.Session(engine) as session:
            try:
                repair = session.get(RepairRequest, repair_id)
                boss, worker = session.get(User, boss_id), session.get(User, workers[i])
                barrier.wait(timeout=30)
                repairs.assign(session, repair, worker, by=boss, expected_version=version)
                session.commit()
                outcomes[i] = worker.id
            except RepairError as exc:
                session.rollback()
                outcomes[i] = exc

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2, "a thread died without an outcome"
    winners = [o for o in outcomes.values() if not isinstance(o, RepairError)]
    losers = [o for o in outcomes.values() if isinstance(o, RepairError)]
    assert len(winners) == 1 and len(losers) == 1
    assert "其他人修改了这张报修单" in losers[0].message
    status, version, events, assignee_id = snapshot(office.session, repair)
    assert (status, version, assignee_id) == (S.assigned, ids[1] + 1, winners[0])
    assert events == 2  # submit, one assign
