"""Meter readings: usage from one reading to the next, backwards readings refused, meter
replacements, corrections, spikes flagged for review — by the service and on the screen."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import BillingMethod, BillLine, Building, Estate, FeeKind, MeterReading
from propadmin.services import ServiceError
from propadmin.services.readings import (
    correct_reading,
    delete_reading,
    first_reading_notice,
    record_reading,
    review_reading,
)

from .helpers import csrf_from, post_form


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def meter(make):
    """A water meter of a unit in a new estate, read monthly."""
    item = make.fee_item(method=BillingMethod.metered, kind=FeeKind.water, price="3.50")
    unit = make.unit(building=make.building(item.estate))
    return make.meter(item, unit, code="W-0101")


def read(session, meter, period, value, **kwargs):
    year, month = (int(x) for x in period.split("-"))
    reading = record_reading(
        session, meter, period, Decimal(value), date(year, month, 28), actor=None, **kwargs
    )
    session.commit()
    return reading


def readings(session, meter):
    return session.scalar(select(func.count(MeterReading.id)).where(MeterReading.meter == meter))


def test_the_first_reading_has_no_usage_and_says_so(ctx, db_session, meter):
    first = read(db_session, meter, "2026-09", "100")
    assert (first.previous, first.usage) == (None, Decimal("0.00"))
    assert "W-0101" in first_reading_notice(first) and "100" in first_reading_notice(first)
    second = read(db_session, meter, "2026-10", "112.5")
    assert (second.previous, second.usage) == (Decimal("100.00"), Decimal("12.50"))
    assert first_reading_notice(second) is None


def test_a_backwards_reading_is_refused_with_the_numbers_and_nothing_is_saved(
    ctx, db_session, meter
):
    read(db_session, meter, "2026-09", "100")
    with pytest.raises(ServiceError) as refused:
        read(db_session, meter, "2026-10", "80")
    message = refused.value.message
    assert refused.value.field == "value"
    assert "W-0101" in message and meter.unit.label in message
    assert "80" in message and "100" in message
    assert "换表" in message  # tells the clerk to record a meter replacement
    db_session.rollback()
    assert readings(db_session, meter) == 1


def test_a_meter_replacement_counts_both_meters(ctx, db_session, meter):
    read(db_session, meter, "2026-09", "100")
    replaced = read(
        db_session, meter, "2026-10", "25", replaced=True, old_final="130", new_start="0"
    )
    assert replaced.usage == Decimal("55.00")  # (130 − 100) + (25 − 0)
    nxt = read(db_session, meter, "2026-11", "40")
    assert nxt.usage == Decimal("15.00")


@pytest.mark.parametrize(
    ("old_final", "new_start", "value", "field"),
    [("90", "0", "25", "old_final"), ("130", "30", "25", "value"), ("", "0", "25", "old_final")],
)
def test_a_replacement_whose_numbers_do_not_add_up_is_refused(
    ctx, db_session, meter, old_final, new_start, value, field
):
    read(db_session, meter, "2026-09", "100")
    with pytest.raises(ServiceError) as refused:
        read(
            db_session,
            meter,
            "2026-10",
            value,
            replaced=True,
            old_final=old_final,
            new_start=new_start,
        )
    assert refused.value.field == field


def test_one_reading_per_meter_and_period_and_a_correction_recomputes(ctx, db_session, meter):
    read(db_session, meter, "2026-09", "100")
    october = read(db_session, meter, "2026-10", "120")
    november = read(db_session, meter, "2026-11", "150")
    with pytest.raises(ServiceError) as twice:
        read(db_session, meter, "2026-10", "125")
    assert twice.value.field == "period" and "2026-10" in twice.value.message
    db_session.rollback()
    correct_reading(db_session, october, "130", date(2026, 10, 30), actor=None)
    db_session.commit()
    assert october.usage == Decimal("30.00")
    assert (november.previous, november.usage) == (Decimal("130.00"), Decimal("20.00"))
    with pytest.raises(ServiceError):  # November would now go backwards
        correct_reading(db_session, october, "160", date(2026, 10, 30), actor=None)
    db_session.rollback()


def test_a_reading_entered_late_for_an_earlier_period_fits_between(ctx, db_session, meter):
    read(db_session, meter, "2026-08", "100")
    october = read(db_session, meter, "2026-10", "160")
    september = read(db_session, meter, "2026-09", "130")
    db_session.refresh(october)
    assert september.usage == Decimal("30.00")
    assert (october.previous, october.usage) == (Decimal("130.00"), Decimal("30.00"))
    delete_reading(db_session, september)
    db_session.commit()
    db_session.refresh(october)
    assert (october.previous, october.usage) == (Decimal("100.00"), Decimal("60.00"))


def test_a_billed_reading_cannot_be_corrected_or_deleted(ctx, db_session, make, meter):
    read(db_session, meter, "2026-09", "100")
    october = read(db_session, meter, "2026-10", "120")
    bill = make.bill(meter.unit, period="2026-10")
    bill.lines[0].meter = meter
    db_session.commit()
    with pytest.raises(ServiceError) as refused:
        correct_reading(db_session, october, "125", date(2026, 10, 30), actor=None)
    assert "2026-10" in refused.value.message
    db_session.rollback()
    with pytest.raises(ServiceError):
        delete_reading(db_session, october)
    db_session.rollback()
    assert readings(db_session, meter) == 2


def test_a_period_of_another_cycle_or_a_bad_period_is_refused(ctx, db_session, meter):
    for period in ("2026-Q4", "2031-13", "十月"):
        with pytest.raises(ServiceError) as refused:
            record_reading(db_session, meter, period, "10", date(2026, 10, 1), actor=None)
        assert refused.value.field == "period"


@pytest.mark.parametrize("value", ["abc", "-1", "1e30", "1.234", "NaN"])
def test_a_value_that_is_not_a_reading_is_refused(ctx, db_session, meter, value):
    with pytest.raises(ServiceError) as refused:
        record_reading(db_session, meter, "2026-10", value, date(2026, 10, 30), actor=None)
    assert refused.value.field == "value"


def test_a_spike_is_flagged_with_its_note_and_review_clears_it(ctx, db_session, make, meter):
    for period, value in (("2026-05", "0"), ("2026-06", "20"), ("2026-07", "40")):
        read(db_session, meter, period, value)
    # two usages so far: not enough to know the meter's usual
    early = read(db_session, meter, "2026-08", "160")
    assert not early.flagged
    correct_reading(db_session, early, "60", date(2026, 8, 28), actor=None)
    spike = read(db_session, meter, "2026-09", "156")
    assert spike.usage == Decimal("96.00")
    assert spike.flagged and spike.needs_review
    assert "96" in spike.flag_note and "4.8" in spike.flag_note and "20" in spike.flag_note
    reviewer = make.user(roles=["finance"])
    review_reading(db_session, spike, actor=reviewer)
    db_session.commit()
    assert spike.flagged and not spike.needs_review and spike.reviewed_by == reviewer
    normal = read(db_session, meter, "2026-10", "180")  # usage 24: the usual
    assert not normal.flagged


def test_a_small_absolute_rise_is_not_a_spike(ctx, db_session, meter):
    for period, value in (("2026-05", "0"), ("2026-06", "2"), ("2026-07", "4"), ("2026-08", "6")):
        read(db_session, meter, period, value)
    assert not read(db_session, meter, "2026-09", "14").flagged  # 8 is 4× but only 6 more


# -- the screen ------------------------------------------------------------------------------
@pytest.fixture
def demo_meter(db_session, demo, make):
    estate = db_session.get(Estate, demo)
    item = make.fee_item(
        estate, method=BillingMethod.metered, kind=FeeKind.water, price="3.50", name="测试水费"
    )
    building = db_session.scalar(select(Building).where(Building.estate == estate))
    unit = make.unit(building=building, number="9901")
    return make.meter(item, unit, code="W-DEMO")


def new_reading(client, the_meter, **fields):
    data = {
        "meter": str(the_meter.id),
        "period": "2026-10",
        "read_on": "2026-10-30",
        "value": "100",
    }
    return post_form(client, "/admin/meter_reading/new/", {**data, **fields})


def test_a_reading_entered_on_the_screen_goes_through_the_rules(login_as, db_session, demo_meter):
    finance = login_as("finance")
    first = new_reading(finance, demo_meter, period="2026-09", read_on="2026-09-30", value="100")
    assert first.status_code == 302, first.text[-3000:]
    refused = new_reading(finance, demo_meter, value="80")
    assert refused.status_code == 200
    assert "80" in refused.text and "100" in refused.text and "W-DEMO" in refused.text
    assert readings(db_session, demo_meter) == 1
    form = finance.get("/admin/meter_reading/new/").text
    for computed in ('name="previous"', 'name="usage"', 'name="flagged"'):
        assert computed not in form


@pytest.mark.parametrize(
    "fields",
    [
        {"value": "abc"},
        {"value": "1e30"},
        {"value": "-1"},
        {"period": "2031-13"},
        {"period": "x" * 300},
        {"read_on": "yesterday"},
        {"meter": "999999999"},
        {"meter": "abc"},
    ],
)
def test_hostile_reading_input_is_a_field_error(login_as, db_session, demo_meter, fields):
    response = new_reading(login_as("finance"), demo_meter, **fields)
    assert response.status_code == 200
    assert "invalid-feedback" in response.text or "is-invalid" in response.text
    assert readings(db_session, demo_meter) == 0


def test_another_estates_meter_is_not_found(login_as, db_session, make, meter):
    response = new_reading(login_as("finance"), meter, period="2026-10")
    assert response.status_code == 200
    assert readings(db_session, meter) == 0


def test_flagged_readings_are_reviewed_from_the_list(login_as, app, db_session, demo_meter):
    for period, value in (
        ("2026-05", "0"),
        ("2026-06", "20"),
        ("2026-07", "40"),
        ("2026-08", "60"),
        ("2026-09", "156"),
    ):
        with app.app_context():
            read(db_session, demo_meter, period, value)
    spike = db_session.scalar(
        select(MeterReading).where(
            MeterReading.meter == demo_meter, MeterReading.period == "2026-09"
        )
    )
    assert spike.needs_review
    finance = login_as("finance")
    home = finance.get("/admin/").text
    assert "待审核的抄表" in home
    link = re.search(r'href="(/admin/meter_reading/\?[^"]+)"', home).group(1)
    listed = finance.get(link.replace("&amp;", "&")).text
    assert "2026-09" in listed and "2026-08" not in listed
    response = finance.post(
        "/admin/meter_reading/action/",
        data={
            "action": "review",
            "rowid": [str(spike.id)],
            "csrf_token": csrf_from(listed, "action_form"),
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert not spike.needs_review and spike.reviewed_by.username == "finance"


def test_a_billed_reading_is_shown_but_not_edited(app, login_as, db_session, make, demo_meter):
    with app.app_context():
        read(db_session, demo_meter, "2026-09", "100")
        october = read(db_session, demo_meter, "2026-10", "120")
    bill = make.bill(demo_meter.unit, period="2026-10")
    db_session.add(
        BillLine(
            bill=bill,
            fee_item=demo_meter.fee_item,
            method=BillingMethod.metered,
            quantity=Decimal(20),
            unit_price=Decimal("3.5"),
            amount=Decimal(70),
            meter=demo_meter,
        )
    )
    db_session.commit()
    finance = login_as("finance")
    page = finance.get(f"/admin/meter_reading/edit/?id={october.id}", follow_redirects=True)
    assert page.status_code == 200 and "2026-10" in page.text
    assert 'name="value"' not in page.text


def test_a_reading_is_corrected_on_the_screen_through_the_rules(
    app, login_as, db_session, demo_meter
):
    with app.app_context():
        read(db_session, demo_meter, "2026-09", "100")
        october = read(db_session, demo_meter, "2026-10", "120")
    finance = login_as("finance")
    url = f"/admin/meter_reading/edit/?id={october.id}"
    page = finance.get(url).text
    assert 'name="meter"' not in page and 'name="usage"' not in page
    data = {"read_on": "2026-10-30", "value": "135", "csrf_token": csrf_from(page)}
    assert finance.post(url, data=data).status_code == 302
    backwards = finance.post(url, data={**data, "value": "90"})
    assert backwards.status_code == 200 and "90" in backwards.text and "100" in backwards.text
    db_session.expire_all()
    assert (october.value, october.usage) == (Decimal("135.00"), Decimal("35.00"))


def filter_arg(app, name: str) -> str:
    """The list's query argument of one of its filters, by the filter's label."""
    view = next(
        v for v in app.extensions["propadmin.admin"]._views if v.endpoint == "meter_reading"
    )
    for index, flt in enumerate(view._filters):
        if str(flt.name) == name:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise LookupError(name)


def test_the_list_filters_by_building_and_fee_item(app, login_as, db_session, make, demo_meter):
    estate = demo_meter.fee_item.estate
    power = make.fee_item(estate, method=BillingMethod.metered, name="测试电费")
    other_building = make.building(estate, name="测试楼")
    power_meter = make.meter(power, make.unit(building=other_building, number="9905"), code="E-X")
    with app.app_context():
        read(db_session, demo_meter, "2026-10", "100")
        read(db_session, power_meter, "2026-10", "7")
    finance = login_as("finance")
    with app.test_request_context():
        by_item, by_building = filter_arg(app, "收费项目"), filter_arg(app, "楼栋")
    water_only = finance.get(f"/admin/meter_reading/?{by_item}=测试水费").text
    assert "W-DEMO" in water_only and "E-X" not in water_only
    in_building = finance.get(f"/admin/meter_reading/?{by_building}=测试楼").text
    assert "E-X" in in_building and "W-DEMO" not in in_building


def test_the_list_sends_as_many_queries_for_many_readings_as_for_few(
    app, login_as, db_session, make, demo_meter, count_queries
):
    finance = login_as("finance")
    item, building = demo_meter.fee_item, demo_meter.unit.building

    def list_queries():
        finance.get("/admin/meter_reading/")  # warm: the session's own loads
        with count_queries() as queries:
            assert finance.get("/admin/meter_reading/").status_code == 200
        return len(queries)

    with app.app_context():
        read(db_session, demo_meter, "2026-10", "1")
    few = list_queries()
    for n in range(8):
        unit = make.unit(building=building, number=f"98{n:02d}")
        with app.app_context():
            read(db_session, make.meter(item, unit, code=f"W-98{n:02d}"), "2026-10", "5")
    assert list_queries() == few
