"""The staff home's residents, units, vehicles and occupied units per estate come from
counts the database keeps (models/estate_counts.py): triggers on resident, vehicle, unit,
building and occupancy. Each count must follow every way its rows change — one at a time
through the ORM, many in one statement, moved from one estate or unit to another, an
occupancy ended or not yet begun — and equal a count of the rows themselves, on every
day: a unit is occupied on a day when someone lives there that day, and counts once.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, exists, func, insert, or_, select, update

from models import Building, EstateCount, Occupancy, Relation, Resident, Unit, Vehicle
from models.estate_count_sql import backfill
from models.estate_counts import FIGURES
from propadmin.services.backup_format import BackupError
from propadmin.services.backup_payload import check
from propadmin.services.dashboard import estate_overview

TODAY = date.today()
YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
SOON, LATER = TODAY + timedelta(days=10), TODAY + timedelta(days=40)
DAYS = (TODAY - timedelta(days=400), YESTERDAY, TODAY, TOMORROW, SOON, LATER, date(9999, 12, 31))


def kept(db_session, estate_id: int, day: date) -> dict[str, int]:
    """The figures as the counts give them on ``day``."""
    rows = db_session.execute(
        select(EstateCount.figure, func.sum(EstateCount.n))
        .where(EstateCount.estate_id == estate_id, EstateCount.since <= day)
        .group_by(EstateCount.figure)
    )
    return {figure: 0 for figure in FIGURES} | {figure: int(n) for figure, n in rows}


def counted(db_session, estate_id: int, day: date) -> dict[str, int]:
    """The same figures counted from the rows themselves."""
    units = select(func.count(Unit.id)).join(Unit.building).where(Building.estate_id == estate_id)
    lives_there = exists().where(
        Occupancy.unit_id == Unit.id,
        or_(Occupancy.start_date.is_(None), Occupancy.start_date <= day),
        or_(Occupancy.end_date.is_(None), Occupancy.end_date >= day),
    )
    return {
        "residents": db_session.scalar(
            select(func.count(Resident.id)).where(Resident.estate_id == estate_id)
        ),
        "units": db_session.scalar(units),
        "vehicles": db_session.scalar(
            select(func.count(Vehicle.id)).where(Vehicle.estate_id == estate_id)
        ),
        "occupied_units": db_session.scalar(units.where(lives_there)),
    }


def assert_counts(db_session, *estates, **today) -> None:
    """Every estate's kept figures equal the rows on every day; ``today`` pins some."""
    db_session.commit()
    for estate in estates:
        for day in DAYS:
            assert kept(db_session, estate.id, day) == counted(db_session, estate.id, day), day
    for figure, expected in today.items():
        assert [kept(db_session, e.id, TODAY)[figure] for e in estates] == expected, figure


def test_residents_and_vehicles_follow_inserts_moves_and_deletes(make, db_session):
    east, west = make.estate(), make.estate()
    people = [make.resident(east) for _ in range(3)]
    db_session.add_all(Vehicle(estate=east, plate=f"浙A{i}0001", owner=people[i]) for i in range(2))
    assert_counts(db_session, east, west, residents=[3, 0], vehicles=[2, 0])

    people[0].estate = west  # the ORM, one row
    db_session.execute(  # one statement, many rows
        update(Vehicle).where(Vehicle.estate_id == east.id).values(estate_id=west.id)
    )
    assert_counts(db_session, east, west, residents=[2, 1], vehicles=[0, 2])

    db_session.execute(delete(Vehicle).where(Vehicle.plate == "浙A00001"))
    db_session.execute(
        insert(Vehicle), [{"estate_id": east.id, "plate": f"浙B{i}0001"} for i in range(3)]
    )
    db_session.delete(people[1])
    assert_counts(db_session, east, west, residents=[1, 1], vehicles=[3, 1])


def test_units_follow_units_and_buildings_moving_between_estates(make, db_session):
    east, west = make.estate(), make.estate()
    tower, annex = make.building(east), make.building(east)
    units = [make.unit(tower) for _ in range(3)] + [make.unit(annex) for _ in range(2)]
    make.resident(east, unit=units[0])
    make.resident(east, unit=units[3])
    assert_counts(db_session, east, west, units=[5, 0], occupied_units=[2, 0])

    units[0].building = make.building(west)  # a lived-in unit to another estate's building
    assert_counts(db_session, east, west, units=[4, 1], occupied_units=[1, 1])

    annex.estate = west  # a building with a lived-in unit to another estate
    assert_counts(db_session, east, west, units=[2, 3], occupied_units=[0, 2])

    db_session.delete(units[1])
    db_session.execute(
        insert(Unit),
        [
            {"building_id": tower.id, "number": f"9{i}01", "floor": 9, "area": Decimal("80.00")}
            for i in range(4)
        ],
    )
    assert_counts(db_session, east, west, units=[5, 3], occupied_units=[0, 2])


def lease(unit, resident, start=None, end=None, relation=Relation.tenant) -> Occupancy:
    return Occupancy(
        unit=unit, resident=resident, relation=relation, start_date=start, end_date=end
    )


def test_occupied_units_count_a_unit_once_while_someone_lives_there(make, db_session):
    east, west = make.estate(), make.estate()
    building = make.building(east)
    shared, rented, empty = (make.unit(building) for _ in range(3))
    elsewhere = make.unit(make.building(west))
    owner = make.resident(east, unit=shared)
    family = make.resident(east, unit=shared, relation=Relation.family)
    tenant, next_tenant = make.resident(east), make.resident(east)
    assert_counts(db_session, east, west, occupied_units=[1, 0])

    # Leases one after the other, overlapping, with a gap: counted on their days only.
    db_session.add_all(
        [
            lease(rented, tenant, YESTERDAY, TOMORROW),
            lease(rented, next_tenant, TOMORROW, SOON),  # overlaps a day
            lease(rented, next_tenant, SOON + timedelta(days=1), LATER - timedelta(days=5)),
            lease(empty, tenant, LATER),  # not yet begun
            lease(empty, next_tenant, LATER, TODAY),  # ends before it starts: no day
        ]
    )
    assert_counts(db_session, east, west, occupied_units=[2, 0])
    assert kept(db_session, east.id, LATER)["occupied_units"] == 2  # empty, then shared

    # Ending an occupancy: the unit stays occupied while the other occupant lives there.
    shared_ones = {o.resident_id: o for o in shared.occupancies}
    shared_ones[owner.id].end_date = YESTERDAY
    assert_counts(db_session, east, west, occupied_units=[2, 0])
    shared_ones[family.id].end_date = YESTERDAY
    assert_counts(db_session, east, west, occupied_units=[1, 0])

    # Moving an occupancy to another estate's unit; a set-based change of dates.
    first = db_session.scalar(select(Occupancy).where(Occupancy.start_date == YESTERDAY))
    first.unit = elsewhere
    db_session.execute(
        update(Occupancy)
        .where(Occupancy.unit_id == rented.id)
        .values(start_date=YESTERDAY - timedelta(days=3))
    )
    assert_counts(db_session, east, west, occupied_units=[1, 1])

    # Many occupancies in one statement, overlapping and alone, in two estates; deletes.
    spare = make.unit(elsewhere.building)
    db_session.execute(  # one INSERT with many VALUES: one statement
        insert(Occupancy).values(
            [
                {"unit_id": unit.id, "resident_id": r.id, "relation": Relation.tenant}
                | {"start_date": start, "end_date": end}
                for unit, r, start, end in (
                    (empty, tenant, None, YESTERDAY),
                    (empty, next_tenant, None, SOON),
                    (empty, owner, None, None),
                    (spare, family, SOON, LATER),  # these two overlap; the third is alone
                    (spare, tenant, LATER, None),
                    (spare, next_tenant, None, YESTERDAY),
                )
            ]
        )
    )
    assert_counts(db_session, east, west, occupied_units=[2, 1])
    db_session.execute(delete(Occupancy).where(Occupancy.unit_id == empty.id))
    db_session.delete(first)
    assert_counts(db_session, east, west, occupied_units=[1, 0])


def test_the_migration_fills_what_the_triggers_keep(make, db_session):
    """The migration counts the rows already there: the same figures as the triggers."""
    estate = make.estate()
    building = make.building(estate)
    for n in range(3):
        resident = make.resident(estate, unit=make.unit(building))
        db_session.add(lease(make.unit(building), resident, YESTERDAY, SOON - timedelta(n)))
    db_session.add(Vehicle(estate=estate, plate="浙C00001"))
    db_session.commit()
    before = {day: kept(db_session, estate.id, day) for day in DAYS}
    db_session.execute(delete(EstateCount))
    for statement in backfill(db_session.get_bind().dialect.name == "postgresql"):
        db_session.execute(sa.text(statement))
    assert {day: kept(db_session, estate.id, day) for day in DAYS} == before
    assert before[TODAY] == counted(db_session, estate.id, TODAY)


def test_the_cards_show_the_counts_of_the_users_estates(make, db_session):
    mine, theirs = make.estate(), make.estate()
    make.resident(mine, unit=make.unit(make.building(mine)))
    for _ in range(2):
        make.resident(theirs, unit=make.unit(make.building(theirs)))
    (figures,) = estate_overview(db_session, {mine.id})
    assert (figures.estate, figures.units, figures.occupied_units, figures.residents) == (
        mine,
        1,
        1,
        1,
    )


@pytest.mark.committed
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite payloads
def test_a_backup_payload_may_hold_the_counts_triggers_word_for_word(app, tmp_path):
    """The backup check accepts an SQLite payload with the counts' triggers as the
    migration wrote them, and refuses one where a trigger of that name was altered."""
    source = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    payload = tmp_path / "payload.db"
    live, copy = sqlite3.connect(source), sqlite3.connect(payload)
    live.backup(copy)
    live.close()
    copy.close()
    check(Path("good.zip"), "sqlite", payload)

    copy = sqlite3.connect(payload)
    copy.execute("DROP TRIGGER estate_count_vehicle_insert")
    copy.execute(
        "CREATE TRIGGER estate_count_vehicle_insert AFTER INSERT ON vehicle"
        " BEGIN UPDATE user SET is_superuser = 1; END"
    )
    copy.commit()
    copy.close()
    with pytest.raises(BackupError, match="trigger estate_count_vehicle_insert"):
        check(Path("evil.zip"), "sqlite", payload)


def test_the_migrations_create_the_triggers_the_models_know(db_session, backend):
    """Migrations copy their trigger SQL (so an old one never changes): what they made
    is what models/ describe, which the backup check relies on."""
    from models import estate_count_pg, figures
    from propadmin.services.backup_payload import known_triggers

    if backend == "sqlite":
        made = dict(
            db_session.execute(
                sa.text(
                    "SELECT name, tbl_name || ':' || sql FROM sqlite_master WHERE type = 'trigger'"
                )
            ).all()
        )
        assert made == {name: f"{t}:{sql}" for name, (t, sql) in known_triggers().items()}
    else:
        made = set(
            db_session.scalars(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
        )
        bills = {f"bill_due_total_{event}" for event in figures.PG_TRIGGERS}
        assert made == bills | set(estate_count_pg.PG_TRIGGERS)
        # and each function does what the model says (a later migration replaced one)
        bodies = dict(
            db_session.execute(
                sa.text("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'estate_count_%'")
            ).all()
        )
        assert bodies == {
            name: function.split("$$")[1]
            for name, (_table, function, _trigger) in estate_count_pg.PG_TRIGGERS.items()
        }
