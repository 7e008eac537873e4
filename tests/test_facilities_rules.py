"""The rules behind the facility pages, as plain functions: a plan moves on by days or by
calendar months (the 31st safely), warranty and due windows by each estate's own today."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from models import Facility, FacilityStatus, IntervalUnit, MaintenancePlan
from propadmin.services.facilities import (
    FacilityError,
    Maintenance,
    add_interval,
    advance,
    due_state,
    interval_problem,
    maintenance_due,
    record_maintenance,
    warranties_ending,
    warranty_of,
)

D, M = IntervalUnit.days, IntervalUnit.months


@pytest.mark.parametrize(
    "start, every, unit, expected",
    [
        (date(2026, 11, 20), 15, D, date(2026, 12, 5)),
        (date(2026, 12, 25), 10, D, date(2027, 1, 4)),
        (date(2026, 11, 20), 1, M, date(2026, 12, 20)),
        (date(2026, 12, 15), 1, M, date(2027, 1, 15)),
        (date(2027, 1, 31), 1, M, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, M, date(2028, 2, 29)),  # a leap year
        (date(2026, 8, 31), 1, M, date(2026, 9, 30)),
        (date(2026, 12, 31), 2, M, date(2027, 2, 28)),
        (date(2026, 3, 31), 12, M, date(2027, 3, 31)),
        (date(2024, 2, 29), 12, M, date(2025, 2, 28)),
        (date(2026, 1, 31), 120, M, date(2036, 1, 31)),
    ],
)
def test_a_plan_moves_on_by_its_interval(start, every, unit, expected):
    assert add_interval(start, every, unit) == expected


def plan(**fields):
    fields.setdefault("title", "保养")
    fields.setdefault("every", 1)
    fields.setdefault("every_unit", M)
    fields.setdefault("next_due", date(2027, 1, 31))
    return MaintenancePlan(**fields)


def test_recording_moves_the_plan_on_from_the_day_it_was_done():
    p = plan()
    advance(p, date(2027, 1, 31))
    assert (p.last_done, p.next_due) == (date(2027, 1, 31), date(2027, 2, 28))
    advance(p, date(2027, 3, 3))  # done late: the next one is a month after that
    assert (p.last_done, p.next_due) == (date(2027, 3, 3), date(2027, 4, 3))


def test_work_typed_in_late_for_an_earlier_day_leaves_the_plan_as_it_is():
    p = plan(last_done=date(2027, 3, 3), next_due=date(2027, 4, 3))
    advance(p, date(2027, 2, 1))
    assert (p.last_done, p.next_due) == (date(2027, 3, 3), date(2027, 4, 3))


@pytest.mark.parametrize(
    "every, unit, ok",
    [
        (1, D, True), (3660, D, True), (120, M, True),
        (0, D, False), (-1, M, False), (10000, D, False), (121, M, False),
        (None, D, False), ("3", D, False), (True, D, False), (1, "weeks", False),
    ],
)
def test_a_plans_interval_is_sensible(every, unit, ok):
    assert (interval_problem(every, unit) is None) is ok


TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    "ends, state, days",
    [
        (None, "none", None),
        (TODAY - timedelta(days=1), "expired", 1),
        (TODAY, "ending", 0),
        (TODAY + timedelta(days=30), "ending", 30),
        (TODAY + timedelta(days=31), "valid", 31),
    ],
)
def test_the_warranty_window(ends, state, days):
    w = warranty_of(Facility(warranty_end=ends), TODAY)
    assert (w.state, w.days) == (state, days)


@pytest.mark.parametrize(
    "due, expected",
    [
        (TODAY - timedelta(days=3), ("overdue", 3)),
        (TODAY, ("due", 0)),
        (TODAY + timedelta(days=3), ("due", 3)),
        (TODAY + timedelta(days=4), ("later", 4)),
    ],
)
def test_when_maintenance_is_due(due, expected):
    assert due_state(plan(next_due=due), TODAY) == expected


def test_the_lists_judge_each_estate_by_its_own_today(make, db_session):
    east, west = make.estate(), make.estate()
    f_east = make.facility(east, warranty_end=date(2026, 12, 31))  # day 30 from east's today
    make.facility(west, warranty_end=date(2026, 12, 31))  # day 31 from west's today
    make.facility(east, warranty_end=date(2026, 11, 30))  # ended yesterday: not listed
    make.facility(east, warranty_end=date(2026, 12, 5), status=FacilityStatus.retired)
    todays = {east.id: date(2026, 12, 1), west.id: date(2026, 11, 30)}
    assert [f.id for f in warranties_ending(db_session, todays)] == [f_east.id]
    west_pump = make.facility(west)
    p_east = plan(facility=f_east, next_due=date(2026, 12, 4))
    p_west = plan(facility=west_pump, next_due=date(2026, 12, 4))
    paused = plan(facility=f_east, next_due=date(2026, 11, 1), active=False)
    db_session.add_all([p_east, p_west, paused])
    db_session.commit()
    assert [p.id for p in maintenance_due(db_session, todays)] == [p_east.id]
    assert maintenance_due(db_session, {}) == [] and warranties_ending(db_session, {}) == []


def test_record_maintenance_refuses_a_plan_of_another_facility(app, make, db_session):
    lift, pump = make.facility(), make.facility()
    pump_plan = plan(facility=pump, next_due=TODAY)
    db_session.add(pump_plan)
    db_session.commit()
    with app.test_request_context(), pytest.raises(FacilityError) as refused:
        record_maintenance(
            db_session, lift, Maintenance(done_on=TODAY, work="保养"), today=TODAY, plan=pump_plan
        )
    assert "" in refused.value.errors
    with app.test_request_context():
        record = record_maintenance(
            db_session, pump, Maintenance(done_on=TODAY, work="保养", cost="１２０"),
            today=TODAY, plan=pump_plan,
        )
    assert record.cost == Decimal("120.00") and pump_plan.next_due == date(2027, 1, 1)
