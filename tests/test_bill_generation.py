"""Bill generation: exact lines from rates and readings, one bill per unit per period,
and nothing at all when something is wrong."""

import gc
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import AuditLog, Bill, BillingMethod, BillLine, MeterReading, Occupancy, Relation
from propadmin.services import ServiceError
from propadmin.services.bill_explain import explain
from propadmin.services.bill_generation import generate_bills, preview_bills

PERIOD = "2026-11"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def estate(make):
    return make.estate()


def units(make, estate, n, area="89.50", building=None):
    """``n`` units, each with an owner who pays."""
    building = building or make.building(estate)
    made = []
    for _ in range(n):
        unit = make.unit(building, area=Decimal(area))
        make.resident(unit=unit)
        made.append(unit)
    return made


def read(db_session, meter, value, previous, period=PERIOD, **fields):
    reading = MeterReading(
        meter=meter,
        period=period,
        read_on=date(2026, 11, 28),
        value=Decimal(value),
        previous=None if previous is None else Decimal(previous),
        usage=Decimal(value) - Decimal(previous or 0),
        **fields,
    )
    db_session.add(reading)
    db_session.commit()
    return reading


def generate(db_session, estate, period=PERIOD, **kwargs):
    result = generate_bills(db_session, estate.id, period, actor=None, **kwargs)
    db_session.commit()
    return result


def bills(db_session, estate):
    return db_session.scalars(
        select(Bill).where(Bill.estate_id == estate.id).order_by(Bill.unit_id)
    ).all()


def bill_count(db_session, estate=None):
    query = select(func.count(Bill.id))
    if estate is not None:
        query = query.where(Bill.estate_id == estate.id)
    return db_session.scalar(query)


# -- money is exact ----------------------------------------------------------------------
def test_a_line_rounds_half_up_to_the_fen(ctx, db_session, make, estate):
    make.fee_item(estate, method=BillingMethod.per_area, price="1.5", quantity_unit="m²")
    units(make, estate, 1, area="0.67")  # 0.67 × 1.5 = 1.005
    generate(db_session, estate)
    (bill,) = bills(db_session, estate)
    assert [line.amount for line in bill.lines] == [Decimal("1.01")]
    assert bill.amount == Decimal("1.01")
    assert bill.lines[0].quantity == Decimal("0.67")
    assert bill.lines[0].days is None  # lived there the whole month: not pro-rated
    assert bill.issued_at.tzinfo is not None and bill.status.value == "unpaid"


def test_three_units_share_a_meter_to_the_fen(ctx, db_session, make, estate):
    item = make.fee_item(estate, method=BillingMethod.shared, price="1", quantity_unit="度")
    made = units(make, estate, 3, area="80.00")
    meter = make.meter(item, None, location="电梯")
    read(db_session, meter, "1100", "1000")  # 100 度 × ¥1 = ¥100.00
    generate(db_session, estate)
    amounts = sorted((b.amount for b in bills(db_session, estate)), reverse=True)
    assert amounts == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(amounts) == Decimal("100.00")
    line = bills(db_session, estate)[0].lines[0]
    assert (line.share_area, line.share_total_area) == (Decimal("80.00"), Decimal("240.00"))
    assert line.meter_id == meter.id and line.quantity == Decimal("100")
    assert len(made) == 3


def test_tiered_steps_add_up_to_the_line(ctx, db_session, make, estate):
    item = make.fee_item(
        estate,
        method=BillingMethod.tiered,
        price="0.4883",
        tiers=[("180", "0.4883"), (None, "0.5383")],
        quantity_unit="度",
    )
    (unit,) = units(make, estate, 1)
    read(db_session, make.meter(item, unit), "1250", "1000")  # 250 度
    generate(db_session, estate)
    (line,) = bills(db_session, estate)[0].lines
    steps = json.loads(line.detail)
    # 180 × 0.4883 = 87.894 → 87.89; 70 × 0.5383 = 37.681 → 37.68
    assert [s["amount"] for s in steps] == ["87.89", "37.68"]
    assert [s["quantity"] for s in steps] == ["180", "70"]
    assert line.amount == Decimal("125.57") == sum(Decimal(s["amount"]) for s in steps)
    assert (line.reading_previous, line.reading_current) == (Decimal("1000"), Decimal("1250"))
    explained = " ".join(explain(line))  # what the payer reads under the line
    assert "¥87.89" in explained and "¥37.68" in explained and "1250" in explained


def test_metered_parking_and_one_off_lines(ctx, db_session, make, estate):
    from models import ParkingSpace

    water = make.fee_item(estate, method=BillingMethod.metered, price="3.2", quantity_unit="吨")
    make.fee_item(estate, method=BillingMethod.per_space, price="150")
    make.fee_item(estate, method=BillingMethod.one_off, price="20", one_off_period=PERIOD)
    make.fee_item(estate, method=BillingMethod.one_off, price="99", one_off_period="2026-12")
    a, b = units(make, estate, 2)
    read(db_session, make.meter(water, a), "112.5", "100")
    db_session.add_all(
        [ParkingSpace(estate_id=estate.id, code=f"P{n}{a.id}", unit_id=a.id) for n in (1, 2)]
    )
    db_session.commit()
    generate(db_session, estate)
    first, second = bills(db_session, estate)
    assert sorted(line.amount for line in first.lines) == [
        Decimal("20.00"),
        Decimal("40.00"),
        Decimal("300.00"),
    ]
    assert first.amount == Decimal("360.00")
    assert [line.amount for line in second.lines] == [Decimal("20.00")]  # no meter, no space


# -- rates are versioned ---------------------------------------------------------------------
def test_a_new_rate_leaves_old_bills_alone_and_applies_next_period(ctx, db_session, make, estate):
    item = make.fee_item(estate, method=BillingMethod.per_area, price="2.50")
    units(make, estate, 2, area="100.00")
    generate(db_session, estate, "2026-10")
    make.rate(item, "3.00", effective_from=date(2026, 11, 1))
    make.rate(item, "9.00", effective_from=date(2026, 11, 15))  # mid-period: not for 2026-11
    again = generate(db_session, estate, "2026-10")
    assert again.nothing_added and again.existing == 2
    october = [b for b in bills(db_session, estate) if b.period == "2026-10"]
    assert [b.amount for b in october] == [Decimal("250.00")] * 2
    assert {line.unit_price for b in october for line in b.lines} == {Decimal("2.50")}
    generate(db_session, estate, "2026-11")
    november = [b for b in bills(db_session, estate) if b.period == "2026-11"]
    assert [b.amount for b in november] == [Decimal("300.00")] * 2


def test_generating_twice_adds_nothing_the_second_time(ctx, db_session, make, estate):
    make.fee_item(estate, method=BillingMethod.per_area, price="2.50")
    make.fee_item(estate, method=BillingMethod.fixed, price="30")
    units(make, estate, 3)
    first = generate(db_session, estate)
    before = [(b.unit_id, b.amount, len(b.lines)) for b in bills(db_session, estate)]
    second = generate(db_session, estate)
    assert (first.bills, first.total) == (3, Decimal("761.25"))
    assert second.nothing_added and second.existing == 3 and second.bill_ids == []
    assert [(b.unit_id, b.amount, len(b.lines)) for b in bills(db_session, estate)] == before
    runs = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "generate", AuditLog.estate_id == estate.id)
    ).all()
    assert [r.changes["bills"] for r in runs] == [3, 0]
    assert runs[0].changes["total"] == "761.25" and runs[0].changes["period"] == PERIOD


# -- who pays, for how long, and when -------------------------------------------------------
def test_a_move_in_mid_month_is_pro_rated_by_days(ctx, db_session, make, estate):
    make.fee_item(estate, method=BillingMethod.per_area, price="2.50")
    unit = make.unit(make.building(estate), area=Decimal("89.50"))
    tenant = make.resident(unit=unit, relation=Relation.tenant)
    occupancy = db_session.scalar(select(Occupancy).where(Occupancy.resident_id == tenant.id))
    occupancy.start_date = date(2026, 11, 16)
    db_session.commit()
    generate(db_session, estate)
    (bill,) = bills(db_session, estate)
    (line,) = bill.lines
    assert (line.days, line.period_days) == (15, 30)
    assert line.amount == Decimal("111.88")  # 223.75 × 15 / 30 = 111.875
    assert "15" in " ".join(explain(line)) and "30" in " ".join(explain(line))
    assert bill.payer_id == tenant.id and bill.payer_name == tenant.name


def test_the_payer_is_the_marked_occupant_else_the_owner(ctx, db_session, make, estate):
    make.fee_item(estate, method=BillingMethod.fixed, price="10", due_days=10)
    make.fee_item(estate, method=BillingMethod.fixed, price="5", due_days=20)
    unit = make.unit(make.building(estate))
    owner = make.resident(unit=unit, relation=Relation.owner, name="房东")
    make.resident(unit=unit, relation=Relation.tenant, name="租客")
    db_session.execute(
        Occupancy.__table__.update().where(Occupancy.unit_id == unit.id).values(is_payer=False)
    )
    db_session.commit()
    generate(db_session, estate)
    (bill,) = bills(db_session, estate)
    assert bill.payer_name == "房东" and bill.payer_id == owner.id
    # the period's last day + the shortest payment term of its items
    assert bill.due_date == date(2026, 12, 10)


def test_vacant_units_get_no_bill_and_the_preview_says_so(ctx, db_session, make, estate):
    make.fee_item(estate, method=BillingMethod.fixed, price="10")
    building = make.building(estate)
    units(make, estate, 2, building=building)
    make.unit(building)  # nobody lives there
    preview = preview_bills(db_session, estate.id, PERIOD)
    assert (preview.bills, preview.vacant, preview.total) == (2, 1, Decimal("20.00"))
    assert bill_count(db_session, estate) == 0  # a preview writes nothing
    assert generate(db_session, estate).bills == 2


# -- errors: a clear message, and no bills ---------------------------------------------------
def test_a_bad_period_is_refused(ctx, db_session, estate):
    with pytest.raises(ServiceError) as exc:
        generate_bills(db_session, estate.id, "2031-13", actor=None)
    assert "2031-13" in exc.value.message


def test_a_missing_rate_is_refused_by_name(ctx, db_session, make, estate):
    make.fee_item(estate, method=BillingMethod.fixed, price="10")
    make.fee_item(estate, method=BillingMethod.per_area, price=None, name="电梯费")
    units(make, estate, 2)
    with pytest.raises(ServiceError) as exc:
        generate_bills(db_session, estate.id, PERIOD, actor=None)
    assert "电梯费" in exc.value.message and PERIOD in exc.value.message
    db_session.rollback()
    assert bill_count(db_session, estate) == 0
    assert preview_bills(db_session, estate.id, PERIOD).errors  # the preview lists it


def test_a_backwards_reading_is_refused_naming_meter_unit_and_values(ctx, db_session, make, estate):
    item = make.fee_item(estate, method=BillingMethod.metered, price="3.2")
    (unit,) = units(make, estate, 1)
    meter = make.meter(item, unit, code="W-0001")
    read(db_session, meter, "95.00", "100.00")
    with pytest.raises(ServiceError) as exc:
        generate_bills(db_session, estate.id, PERIOD, actor=None)
    for part in ("W-0001", unit.label, "95.00", "100.00"):
        assert part in exc.value.message
    db_session.rollback()
    assert bill_count(db_session, estate) == 0


def test_a_replaced_meter_is_not_backwards(ctx, db_session, make, estate):
    item = make.fee_item(estate, method=BillingMethod.metered, price="1")
    (unit,) = units(make, estate, 1)
    read(
        db_session,
        make.meter(item, unit),
        "5",
        "100",
        replaced=True,
        old_final=Decimal("110"),
        new_start=Decimal("0"),
    )
    generate(db_session, estate)
    assert bills(db_session, estate)[0].amount == Decimal("15.00")  # 10 old + 5 new


def test_a_meter_without_reading_is_listed(ctx, db_session, make, estate):
    item = make.fee_item(estate, method=BillingMethod.metered, price="3.2")
    (unit,) = units(make, estate, 1)
    make.meter(item, unit, code="W-0002")
    preview = preview_bills(db_session, estate.id, PERIOD)
    assert any("W-0002" in e for e in preview.errors)
    with pytest.raises(ServiceError):
        generate_bills(db_session, estate.id, PERIOD, actor=None)


def test_lines_match_bills(ctx, db_session, make, estate):
    make.fee_item(estate, method=BillingMethod.per_area, price="2.50")
    make.fee_item(estate, method=BillingMethod.fixed, price="30")
    units(make, estate, 3)
    result = generate(db_session, estate)
    assert gc.isenabled()  # switched off for the run only
    assert len(result.bill_ids) == 3
    for bill in bills(db_session, estate):
        assert bill.id in result.bill_ids
        assert bill.amount == sum(line.amount for line in bill.lines)
    assert db_session.scalar(select(func.count(BillLine.id))) >= 6


@pytest.mark.parametrize(
    "spans, days",
    [
        ([(None, None)], 30),
        ([(date(2026, 11, 16), None)], 15),
        ([(None, date(2026, 11, 10))], 10),
        ([(date(2026, 11, 5), date(2026, 11, 10)), (date(2026, 11, 8), date(2026, 11, 20))], 16),
        ([(date(2026, 11, 1), date(2026, 11, 3)), (date(2026, 11, 28), None)], 6),
        ([(date(2026, 10, 1), date(2026, 12, 31)), (None, None)], 30),
    ],
)
def test_days_lived_in_count_each_day_once(spans, days):
    from propadmin.services.bill_lines import covered_days

    assert covered_days(spans, date(2026, 11, 1), date(2026, 12, 1)) == days


# -- which items apply -----------------------------------------------------------------------
def test_items_apply_by_cycle_building_and_use(ctx, db_session, make, estate):
    from models import Cycle, UnitUse

    first, second = make.building(estate), make.building(estate)
    shop = make.unit(first, use=UnitUse.commercial)
    make.resident(unit=shop)
    flat = units(make, estate, 1, building=second)[0]
    make.fee_item(estate, method=BillingMethod.fixed, price="1", name="全体")
    make.fee_item(estate, method=BillingMethod.fixed, price="2", name="一栋", building=first)
    make.fee_item(
        estate, method=BillingMethod.fixed, price="4", name="商铺", unit_use=UnitUse.commercial
    )
    make.fee_item(estate, method=BillingMethod.fixed, price="8", name="季度", cycle=Cycle.quarterly)
    make.fee_item(estate, method=BillingMethod.fixed, price="16", name="停用", active=False)
    generate(db_session, estate)
    amounts = {b.unit_id: b.amount for b in bills(db_session, estate)}
    assert amounts == {shop.id: Decimal("7.00"), flat.id: Decimal("1.00")}
    quarter = generate(db_session, estate, "2026-Q4")
    assert quarter.bills == 2 and quarter.total == Decimal("16.00")


def test_a_shared_meter_of_one_building_is_split_over_that_building(ctx, db_session, make, estate):
    item = make.fee_item(estate, method=BillingMethod.shared, price="0.5")
    first, second = make.building(estate), make.building(estate)
    small, large = (units(make, estate, 1, area=a, building=first)[0] for a in ("50", "150"))
    other = units(make, estate, 1, building=second)[0]
    read(db_session, make.meter(item, None, building=first), "300", "100")  # 200 × 0.5 = 100
    generate(db_session, estate)
    amounts = {b.unit_id: b.amount for b in bills(db_session, estate)}
    assert amounts == {small.id: Decimal("25.00"), large.id: Decimal("75.00")}
    assert other.id not in amounts
