"""生成账单 in the admin: a preview with totals per fee item, then confirm.

The demo estate already has bills for its last months: the main test bills the demo's
next month (every demo meter read for it first); the others use an estate of their own,
billed for ``PERIOD``, so that nothing but what they set up is in the way."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import Bill, BillingMethod, Estate, FeeItem, Meter, MeterReading, Occupancy, Unit
from propadmin.services.bill_explain import yuan
from propadmin.services.periods import parse_period, period_of
from propadmin.services.readings import record_reading

from .factories import FACTORY_PASSWORD
from .helpers import csrf_from, login, post_form

URL = "/admin/bills/generate/"
PERIOD = "2026-11"


def bills(db_session, estate_id=None, period=None):
    query = select(func.count(Bill.id))
    if estate_id is not None:
        query = query.where(Bill.estate_id == estate_id)
    if period is not None:
        query = query.where(Bill.period == period)
    return db_session.scalar(query)


def lived_in(db_session, estate_id) -> list[int]:
    """The estate's units somebody lives in (each gets a bill)."""
    return db_session.scalars(
        select(func.distinct(Occupancy.unit_id))
        .join(Unit)
        .where(Unit.building.has(estate_id=estate_id))
        .order_by(Occupancy.unit_id)
    ).all()


# -- the demo estate, next month ---------------------------------------------------------
def read_demo_meters_for_next_month(app, db_session, demo) -> str:
    """Read every demo meter for the month after the demo's last bills (each using as
    much as in its quietest month so far, so nothing is flagged); returns that month."""
    latest = parse_period(
        db_session.scalar(select(func.max(Bill.period)).where(Bill.estate_id == demo))
    )
    period = period_of(latest.end, latest.cycle)
    meters = db_session.scalars(
        select(Meter).where(Meter.estate_id == demo, Meter.active.is_(True)).order_by(Meter.id)
    ).all()
    assert meters, "the demo estate has meters"
    with app.app_context():
        for meter in meters:
            readings = db_session.scalars(
                select(MeterReading)
                .where(MeterReading.meter_id == meter.id)
                .order_by(MeterReading.period)
            ).all()
            usage = min(r.usage for r in readings if r.usage > 0)
            value = readings[-1].value + usage
            record_reading(db_session, meter, period.key, value, period.start, actor=None)
    db_session.commit()
    return period.key


@pytest.fixture
def demo_next_month(app, db_session, make, demo) -> str:
    """The month after the demo's last bills, every demo meter read for it, and an
    estate-wide fixed fee of ¥12.30 added."""
    make.fee_item(
        db_session.get(Estate, demo), method=BillingMethod.fixed, price="12.30", name="测试垃圾费"
    )
    return read_demo_meters_for_next_month(app, db_session, demo)


def test_finance_previews_then_confirms(login_as, db_session, demo, demo_next_month):
    period, occupied = demo_next_month, len(lived_in(db_session, demo))
    finance = login_as("finance")
    page = finance.get(URL)
    assert page.status_code == 200 and "账期" in page.text
    preview = post_form(finance, URL, {"estate": str(demo), "period": period})
    assert preview.status_code == 200
    items = db_session.scalars(select(FeeItem.name).where(FeeItem.estate_id == demo)).all()
    assert "测试垃圾费" in items and len(items) > 1
    for name in items:  # a row of totals for each of the demo's fee items
        assert f"<td>{name}</td>" in preview.text
    assert yuan(Decimal("12.30") * occupied) in preview.text
    assert bills(db_session, demo, period) == 0  # the preview wrote nothing
    token = csrf_from(preview.text, "confirm-form")
    done = finance.post(
        URL,
        data={"estate": str(demo), "period": period, "confirm": "1", "csrf_token": token},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert f"已生成 {occupied} 张账单" in done.text
    assert bills(db_session, demo, period) == occupied
    again = post_form(
        finance,
        URL,
        {"estate": str(demo), "period": period, "confirm": "1"},
        follow_redirects=True,
    )
    assert "未新增" in again.text and bills(db_session, demo, period) == occupied


# -- an estate of the test's own -----------------------------------------------------------
@pytest.fixture
def estate(make) -> Estate:
    """Three units, two lived in, and an estate-wide fixed fee of ¥12.30."""
    estate = make.estate()
    building = make.building(estate)
    for _ in range(2):
        make.resident(unit=make.unit(building=building))
    make.unit(building=building)  # vacant
    make.fee_item(estate, method=BillingMethod.fixed, price="12.30", name="测试垃圾费")
    return estate


@pytest.fixture
def finance(app, make, estate):
    """A finance clerk of that estate alone, signed in; ``.user`` is the account."""
    user = make.user(roles=["finance"], estates=[estate])
    client = app.test_client()
    assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
    client.user_id = user.id
    return client


def test_confirming_accepts_flagged_readings_as_the_confirming_user(
    db_session, make, estate, finance
):
    item = make.fee_item(estate, method=BillingMethod.metered, price="3")
    unit = db_session.get(Unit, lived_in(db_session, estate.id)[0])
    meter = make.meter(item, unit, code="W-FLAG")
    reading = MeterReading(
        meter=meter,
        period=PERIOD,
        read_on=date(2026, 11, 28),
        value=Decimal("500"),
        previous=Decimal("100"),
        usage=Decimal("400"),
        flagged=True,
        flag_note="用量异常",
    )
    db_session.add(reading)
    db_session.commit()
    preview = post_form(finance, URL, {"estate": str(estate.id), "period": PERIOD})
    assert "W-FLAG" in preview.text and "用量异常" in preview.text
    post_form(finance, URL, {"estate": str(estate.id), "period": PERIOD, "confirm": "1"})
    db_session.expire_all()
    reviewed = db_session.get(MeterReading, reading.id)
    assert reviewed.reviewed_at is not None
    assert reviewed.reviewed_by_id == finance.user_id
    assert bills(db_session, estate.id, PERIOD) == len(lived_in(db_session, estate.id))


def test_preview_lists_problems_and_offers_no_confirm(db_session, make, estate, finance):
    make.fee_item(estate, method=BillingMethod.per_area, price=None, name="无价费")
    preview = post_form(finance, URL, {"estate": str(estate.id), "period": PERIOD})
    assert preview.status_code == 200
    assert "无价费" in preview.text and 'id="confirm-form"' not in preview.text


def test_repair_may_not_generate_bills(login_as):
    assert login_as("repair").get(URL).status_code == 403


@pytest.mark.parametrize(
    "period",
    ["2026-11" * 20, "2031-13", "下个月", "<script>", "9999-01", "2026-Q5", ""],
)
def test_a_bad_period_is_a_form_error(db_session, estate, finance, period):
    response = post_form(finance, URL, {"estate": str(estate.id), "period": period})
    assert response.status_code == 200
    assert "invalid-feedback" in response.text
    assert bills(db_session, estate.id) == 0


@pytest.mark.parametrize("other_id", ["other", "abc", "99999999999999999999", "-1", ""])
def test_another_estates_id_is_a_form_error(db_session, make, estate, finance, other_id):
    other = make.estate()
    make.fee_item(other, method=BillingMethod.fixed, price="10")
    make.resident(unit=make.unit(building=make.building(other)))
    value = str(other.id) if other_id == "other" else other_id
    before = bills(db_session)
    for confirm in ("", "1"):
        response = post_form(finance, URL, {"estate": value, "period": PERIOD, "confirm": confirm})
        assert response.status_code == 200
        assert "invalid-feedback" in response.text
    assert bills(db_session, other.id) == 0 and bills(db_session) == before
