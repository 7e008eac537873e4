"""Resident-paid repairs on the next bill: the unit's pending charges become one line of
its next generated bill (the preview shows it), the charges point at that bill, a second
run adds nothing, and the line names each repair and place in the reader's language on
the admin and portal bill pages. Finance reads the charges in a list of their own."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import Bill, BillingMethod, FeeItem, RepairPayer, UnitCharge
from propadmin.services import repairs
from propadmin.services.bill_charges import ITEM_NAME
from propadmin.services.bill_generation import generate_bills, preview_bills
from propadmin.services.repairs import RepairResult

from .factories import FACTORY_PASSWORD
from .helpers import login

PERIOD, NEXT = "2026-11", "2026-12"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def home(make, estate, *, building=None, account=False, locale=None):
    unit = make.unit(building or make.building(estate))
    owner = make.resident(unit=unit)
    if account:
        owner.user = make.user(roles=["owner"])
        owner.user.locale = locale
        make.session.commit()
    return unit, owner


def charged(app, make, db_session, unit, owner, cost, location="卫生间地漏"):
    """A repair of ``unit`` resolved with ``cost`` paid by the resident."""
    estate = unit.building.estate
    boss = make.user(roles=["admin"], estates=[estate])
    repair = make.repair(unit, reporter=owner, by=boss, location=location)
    with app.test_request_context():
        repairs.assign(db_session, repair, boss, by=boss)
        repairs.start(db_session, repair, by=boss)
        repairs.resolve(db_session, repair, RepairResult(
            fixed=True, cost=Decimal(cost), paid_by=RepairPayer.resident), by=boss)
        db_session.commit()
    return repair


def generate(db_session, estate, period=PERIOD):
    result = generate_bills(db_session, estate.id, period, actor=None)
    db_session.commit()
    return result


def charges(db_session, unit):
    db_session.expire_all()
    return db_session.scalars(
        select(UnitCharge).where(UnitCharge.unit_id == unit.id).order_by(UnitCharge.id)
    ).all()


def test_pending_charges_become_one_line_of_the_next_bill_once(ctx, app, make, db_session):
    estate = make.estate()
    make.fee_item(estate, method=BillingMethod.fixed, price="100.00")
    unit, owner = home(make, estate)
    other, _ = home(make, estate)
    first = charged(app, make, db_session, unit, owner, "35.50", "厨房水槽")
    second = charged(app, make, db_session, unit, owner, "20.00", "阳台推拉门")

    preview = preview_bills(db_session, estate.id, PERIOD)
    repair_total = next(t for t in preview.items.values() if t.name == ITEM_NAME)
    assert (repair_total.lines, repair_total.amount) == (1, Decimal("55.50"))
    assert preview.total == Decimal("255.50") and preview.bills == 2
    assert all(c.bill_id is None for c in charges(db_session, unit))  # a preview writes nothing
    assert db_session.scalar(select(func.count(FeeItem.id)).where(
        FeeItem.estate_id == estate.id, FeeItem.name == ITEM_NAME)) == 0

    result = generate(db_session, estate)
    assert (result.bills, result.total) == (2, Decimal("255.50"))
    bill = db_session.scalars(select(Bill).where(Bill.unit_id == unit.id)).one()
    assert bill.amount == Decimal("155.50")
    line = next(x for x in bill.lines if x.fee_item.name == ITEM_NAME)
    assert (line.quantity, line.amount) == (Decimal(2), Decimal("55.50"))
    item = line.fee_item
    assert item.method is BillingMethod.one_off and item.one_off_period is None
    assert [c.bill_id for c in charges(db_session, unit)] == [bill.id, bill.id]
    assert [c.repair_id for c in charges(db_session, unit)] == [first.id, second.id]
    other_bill = db_session.scalars(select(Bill).where(Bill.unit_id == other.id)).one()
    assert other_bill.amount == Decimal("100.00") and len(other_bill.lines) == 1

    again = generate(db_session, estate)
    assert again.bills == 0 and again.existing == 2
    assert [c.bill_id for c in charges(db_session, unit)] == [bill.id, bill.id]
    # The next month: the fee again, the repairs not again; the item was made once.
    following = generate(db_session, estate, NEXT)
    assert following.total == Decimal("200.00")
    assert db_session.scalar(select(func.count(FeeItem.id)).where(
        FeeItem.estate_id == estate.id, FeeItem.name == ITEM_NAME)) == 1


def test_a_charge_after_the_bill_waits_for_the_next_one(ctx, app, make, db_session):
    estate = make.estate()
    make.fee_item(estate, method=BillingMethod.fixed, price="80.00")
    unit, owner = home(make, estate)
    generate(db_session, estate)
    repair = charged(app, make, db_session, unit, owner, "12.30")
    assert generate(db_session, estate).bills == 0  # this period is billed already
    assert charges(db_session, unit)[0].bill_id is None
    result = generate(db_session, estate, NEXT)
    assert result.total == Decimal("92.30")
    [charge] = charges(db_session, unit)
    assert charge.bill.period == NEXT and charge.repair_id == repair.id


def test_units_with_only_a_charge(ctx, app, make, db_session):
    """Generation bills units somebody lives in: an occupied unit that no fee item applies
    to gets a bill of the charge alone; a vacant unit gets none and its charge waits."""
    estate = make.estate()
    unit, owner = home(make, estate)
    charged(app, make, db_session, unit, owner, "48.00")
    empty = make.unit(make.building(estate))
    db_session.add(UnitCharge(estate_id=estate.id, unit_id=empty.id, amount=Decimal("9.00"),
                              description="门禁卡补办"))
    db_session.commit()
    result = generate(db_session, estate)
    assert (result.bills, result.total, result.vacant) == (1, Decimal("48.00"), 1)
    bill = db_session.scalars(select(Bill).where(Bill.unit_id == unit.id)).one()
    assert bill.due_date.isoformat() == "2026-12-15"
    assert charges(db_session, empty)[0].bill_id is None


def test_the_line_explains_itself_to_finance_and_to_the_resident(app, make, db_session):
    estate = make.estate()
    make.fee_item(estate, method=BillingMethod.fixed, price="100.00")
    unit, owner = home(make, estate, account=True, locale="en")
    repair = charged(app, make, db_session, unit, owner, "35.50", "厨房<script>x</script>")
    with app.app_context():
        generate(db_session, estate)
    bill = db_session.scalars(select(Bill).where(Bill.unit_id == unit.id)).one()

    finance = make.user(roles=["finance"], estates=[estate])
    staff = app.test_client()
    login(staff, finance.username, FACTORY_PASSWORD)
    page = staff.get(f"/admin/bill/details/?id={bill.id}").text
    assert f"维修单 #{repair.id}（厨房&lt;script&gt;x&lt;/script&gt;）：¥35.50" in page
    assert "<script>x" not in page and "¥135.50" in page

    resident = app.test_client()
    login(resident, owner.user.username, FACTORY_PASSWORD)
    portal = resident.get(f"/portal/bills/{bill.id}").text
    assert f"repair #{repair.id} at 厨房&lt;script&gt;x&lt;/script&gt;: ¥35.50" in portal


def test_finance_reads_pending_and_billed_charges(app, make, db_session):
    estate = make.estate()
    make.fee_item(estate, method=BillingMethod.fixed, price="100.00")
    unit, owner = home(make, estate)
    billed = charged(app, make, db_session, unit, owner, "35.50", "已计入账单的维修")
    with app.app_context():
        generate(db_session, estate)
    waiting = charged(app, make, db_session, unit, owner, "8.80", "尚未计入的维修")
    finance = make.user(roles=["finance"], estates=[estate])
    client = app.test_client()
    login(client, finance.username, FACTORY_PASSWORD)
    page = client.get("/admin/unit_charge/")
    assert page.status_code == 200
    assert f"#{billed.id}" in page.text and f"#{waiting.id}" in page.text
    assert "¥35.50" in page.text and "¥8.80" in page.text and PERIOD in page.text
    assert client.get("/admin/unit_charge/new/").status_code in (302, 403, 404)
    charge_id = charges(db_session, unit)[0].id
    assert client.get(f"/admin/unit_charge/edit/?id={charge_id}").status_code in (302, 403, 404)


def test_a_voided_bill_gives_its_charges_to_the_next_bill(ctx, app, make, db_session):
    from propadmin.services.adjustments import void_bill

    estate = make.estate()
    make.fee_item(estate, method=BillingMethod.fixed, price="100.00")
    unit, owner = home(make, estate)
    charged(app, make, db_session, unit, owner, "35.50")
    generate(db_session, estate)
    bill = db_session.scalars(select(Bill).where(Bill.unit_id == unit.id)).one()
    void_bill(db_session, bill, "开错了", actor=None)
    db_session.commit()
    assert charges(db_session, unit)[0].bill_id is None
    assert generate(db_session, estate, NEXT).total == Decimal("135.50")
