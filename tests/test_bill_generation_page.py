"""生成账单 in the admin: a preview with totals per fee item, then confirm."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import Bill, BillingMethod, Estate, MeterReading, Occupancy, Unit, User
from propadmin.services.bill_explain import yuan

from .helpers import csrf_from, post_form

URL = "/admin/bills/generate/"
PERIOD = "2026-11"


def demo_bills(db_session, demo, period=PERIOD):
    return db_session.scalar(
        select(func.count(Bill.id)).where(Bill.estate_id == demo, Bill.period == period)
    )


@pytest.fixture
def fee(db_session, make, demo):
    """An estate-wide fixed fee in the demo estate, and what it should bill."""
    estate = db_session.get(Estate, demo)
    make.fee_item(estate, method=BillingMethod.fixed, price="12.30", name="测试垃圾费")
    occupied = db_session.scalar(
        select(func.count(func.distinct(Occupancy.unit_id)))
        .join(Unit)
        .where(Unit.building.has(estate_id=demo))
    )
    return occupied


def test_finance_previews_then_confirms(login_as, db_session, demo, fee):
    finance = login_as("finance")
    page = finance.get(URL)
    assert page.status_code == 200 and "账期" in page.text
    preview = post_form(finance, URL, {"estate": str(demo), "period": PERIOD})
    assert preview.status_code == 200
    assert "测试垃圾费" in preview.text
    assert yuan(Decimal("12.30") * fee) in preview.text
    assert demo_bills(db_session, demo) == 0  # the preview wrote nothing
    token = csrf_from(preview.text, "confirm-form")
    done = finance.post(
        URL,
        data={"estate": str(demo), "period": PERIOD, "confirm": "1", "csrf_token": token},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert f"已生成 {fee} 张账单" in done.text
    assert demo_bills(db_session, demo) == fee
    again = post_form(
        finance,
        URL,
        {"estate": str(demo), "period": PERIOD, "confirm": "1"},
        follow_redirects=True,
    )
    assert "未新增" in again.text and demo_bills(db_session, demo) == fee


def test_confirming_accepts_flagged_readings_as_the_confirming_user(
    login_as, db_session, make, demo, fee
):
    from datetime import date

    estate = db_session.get(Estate, demo)
    item = make.fee_item(estate, method=BillingMethod.metered, price="3")
    unit = db_session.scalar(select(Occupancy.unit_id).join(Unit).order_by(Occupancy.id))
    meter = make.meter(item, db_session.get(Unit, unit), code="W-FLAG")
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
    finance = login_as("finance")
    preview = post_form(finance, URL, {"estate": str(demo), "period": PERIOD})
    assert "W-FLAG" in preview.text and "用量异常" in preview.text
    post_form(finance, URL, {"estate": str(demo), "period": PERIOD, "confirm": "1"})
    db_session.expire_all()
    reviewed = db_session.get(MeterReading, reading.id)
    assert reviewed.reviewed_at is not None
    assert reviewed.reviewed_by_id == db_session.scalar(
        select(User.id).where(User.username == "finance")
    )


def test_preview_lists_problems_and_offers_no_confirm(login_as, db_session, make, demo, fee):
    estate = db_session.get(Estate, demo)
    make.fee_item(estate, method=BillingMethod.per_area, price=None, name="无价费")
    finance = login_as("finance")
    preview = post_form(finance, URL, {"estate": str(demo), "period": PERIOD})
    assert preview.status_code == 200
    assert "无价费" in preview.text and 'id="confirm-form"' not in preview.text


def test_repair_may_not_generate_bills(login_as):
    assert login_as("repair").get(URL).status_code == 403


@pytest.mark.parametrize(
    "period",
    ["2026-11" * 20, "2031-13", "下个月", "<script>", "9999-01", "2026-Q5", ""],
)
def test_a_bad_period_is_a_form_error(login_as, db_session, demo, fee, period):
    finance = login_as("finance")
    response = post_form(finance, URL, {"estate": str(demo), "period": period})
    assert response.status_code == 200
    assert "invalid-feedback" in response.text
    assert demo_bills(db_session, demo, period=period[:7]) == 0


@pytest.mark.parametrize("estate", ["other", "abc", "99999999999999999999", "-1", ""])
def test_another_estates_id_is_a_form_error(login_as, db_session, make, demo, fee, estate):
    other = make.estate()
    make.fee_item(other, method=BillingMethod.fixed, price="10")
    finance = login_as("finance")
    value = str(other.id) if estate == "other" else estate
    for confirm in ("", "1"):
        response = post_form(finance, URL, {"estate": value, "period": PERIOD, "confirm": confirm})
        assert response.status_code == 200
        assert "invalid-feedback" in response.text
    assert db_session.scalar(select(func.count(Bill.id))) == 0
