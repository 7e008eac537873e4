"""The staff home at a company's scale: every figure is one aggregate read (or a counter
the database keeps), so the page sends the same statements however many estates, units,
residents and bills there are; and the figures stay right.

Occupied units count a unit once however many people live there, and leave out ended
and future occupancies. What open bills owe and how many are overdue come from a counter
kept by triggers on ``bill`` (models/figures.py), so it must follow every way a bill's
money changes: generation or creation, payments, voiding, set-based updates, deletion.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update

from models import OPEN_STATUSES, Bill, BillDueTotal, Occupancy, Relation
from propadmin.services.adjustments import void_bill
from propadmin.services.dashboard import add_money, estate_overview
from propadmin.services.finance_figures import overdue_bills
from propadmin.services.payments import record_payment

from .factories import FACTORY_PASSWORD
from .helpers import login

TODAY = date.today()
PAST, FUTURE = TODAY - timedelta(days=40), TODAY + timedelta(days=40)


@pytest.fixture
def boss(app, make):
    """A superuser's client: the home shows every estate, every figure and every tile."""
    user = make.user(superuser=True)
    client = app.test_client()
    assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
    return client


def home_statements(client, count_queries) -> int:
    client.get("/admin/")  # the first request of a client loads more (menus, catalog)
    with count_queries() as queries:
        page = client.get("/admin/")
    assert page.status_code == 200
    return len(queries)


def grow(make, estates: int) -> None:
    """Estates with buildings, units, residents living there and bills, some overdue."""
    for _ in range(estates):
        estate = make.estate()
        for _ in range(2):
            building = make.building(estate)
            for _ in range(3):
                unit = make.unit(building)
                make.resident(estate, unit=unit)
                make.bill(unit, period="2025-01", due_date=PAST)
                make.bill(unit, period="2025-02", due_date=FUTURE)


def test_home_statements_do_not_grow_with_estates_units_and_bills(boss, make, count_queries):
    grow(make, 1)
    few = home_statements(boss, count_queries)
    grow(make, 3)
    assert home_statements(boss, count_queries) == few


def figures_of(db_session, estate):
    (figures,) = estate_overview(db_session, {estate.id})
    add_money(db_session, [figures])
    return figures


def test_a_unit_counts_as_occupied_once_and_only_while_someone_lives_there(make, db_session, boss):
    estate = make.estate(name="入住率小区")
    building = make.building(estate)
    shared, ended, coming, empty = (make.unit(building) for _ in range(4))
    make.resident(estate, unit=shared)
    make.resident(estate, unit=shared, relation=Relation.family)
    for unit, start, end in ((ended, None, TODAY - timedelta(days=1)), (coming, FUTURE, None)):
        tenant = make.resident(estate, relation=Relation.tenant)
        db_session.add(
            Occupancy(
                unit=unit, resident=tenant, relation=Relation.tenant, start_date=start, end_date=end
            )
        )
    db_session.commit()

    figures = figures_of(db_session, estate)
    assert (figures.buildings, figures.units, figures.occupied_units) == (1, 4, 1)
    assert (figures.residents, figures.occupancy_rate) == (4, 25)
    page = boss.get("/admin/").text
    card = page[page.index("入住率小区") :]
    assert '<span class="n">25%</span>' in card[: card.index("</section>")]


def owed_by_bills(db_session, estate) -> tuple[Decimal, int]:
    bills = db_session.scalars(
        select(Bill).where(Bill.estate_id == estate.id, Bill.status.in_(OPEN_STATUSES))
    ).all()
    return sum((b.owed for b in bills), Decimal("0.00")), sum(b.due_date < TODAY for b in bills)


def test_owed_and_overdue_follow_every_change_to_the_bills(make, db_session, app):
    estate = make.estate(timezone="Asia/Shanghai")
    building = make.building(estate)
    units = [make.unit(building) for _ in range(4)]
    late = [
        make.bill(u, period="2025-01", amounts=("100.00", "20.50"), due_date=PAST) for u in units
    ]
    make.bill(units[0], period="2025-02", amounts=("80.00",), due_date=FUTURE)
    other = make.bill(make.unit(make.building()), period="2025-01", due_date=PAST)

    def check(owed: str, overdue: int) -> None:
        db_session.expire_all()
        figures = figures_of(db_session, estate)
        assert (figures.owed, figures.overdue_bills) == (Decimal(owed), overdue)
        assert (figures.owed, figures.overdue_bills) == owed_by_bills(db_session, estate)

    check("562.00", 4)
    with app.app_context():
        record_payment(db_session, late[0], "20.50", "cash", "", actor=None)  # partly paid
        record_payment(db_session, late[1], "120.50", "cash", "", actor=None)  # paid off
        void_bill(db_session, late[2], "开错了", actor=None)
    db_session.commit()
    check("300.50", 2)
    # Set-based writes (late fees, corrections) count too: a late fee on every open bill,
    # a due date moved into the future, a bill deleted.
    db_session.execute(
        update(Bill)
        .where(Bill.estate_id == estate.id, Bill.status.in_(OPEN_STATUSES))
        .values(late_fee=Bill.late_fee + Decimal("5.00"))
    )
    db_session.execute(update(Bill).where(Bill.id == late[3].id).values(due_date=FUTURE))
    db_session.commit()
    check("315.50", 1)
    db_session.execute(delete(Bill).where(Bill.id == late[3].id))
    db_session.commit()
    check("190.00", 1)
    assert (
        db_session.scalar(
            select(func.sum(BillDueTotal.open_bills)).where(
                BillDueTotal.estate_id == other.estate_id
            )
        )
        == 1
    )


def test_the_overdue_tile_counts_the_users_estates_only(make, db_session, app):
    mine, theirs = make.estate(), make.estate()
    for estate, overdue in ((mine, 2), (theirs, 3)):
        building = make.building(estate)
        for _ in range(overdue):
            make.bill(make.unit(building), due_date=PAST)
        make.bill(make.unit(building), due_date=FUTURE)
    user = make.user(roles=["finance"], estates=[mine])
    with app.test_request_context():
        assert overdue_bills(db_session, user) == 2
