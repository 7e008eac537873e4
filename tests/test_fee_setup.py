"""Setting up charges on the screen: fee items, versioned rates with tiers, meters — each
rule a field error by its field, hostile input never a 500, and a rate that bills were
made with kept as it is."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import BillingMethod, Building, Estate, FeeItem, FeeKind, FeeRate, Meter

from .helpers import csrf_from, post_form


@pytest.fixture
def estate(db_session, demo):
    return db_session.get(Estate, demo)


@pytest.fixture
def other(make):
    """Another estate's fee item, building and unit (finance does not manage it)."""
    item = make.fee_item(method=BillingMethod.metered, kind=FeeKind.water, name="他处水费")
    building = make.building(item.estate)
    return {"item": item, "building": building, "unit": make.unit(building=building)}


def count(db_session, model, *where):
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def field_error(response) -> bool:
    return response.status_code == 200 and "invalid-feedback" in response.text


# -- fee items -----------------------------------------------------------------------------
def new_item(client, the_estate, **fields):
    data = {
        "estate": str(the_estate.id),
        "name": "二次供水费",
        "kind": "water",
        "method": "fixed",
        "cycle": "monthly",
        "due_days": "15",
        "active": "y",
    }
    return post_form(client, "/admin/fee_item/new/", {**data, **fields})


def test_a_fee_item_is_made_with_its_unit_by_kind(login_as, db_session, estate):
    response = new_item(login_as("finance"), estate, method="metered")
    assert response.status_code == 302, response.text[-3000:]
    item = db_session.scalar(select(FeeItem).where(FeeItem.name == "二次供水费"))
    assert (item.estate_id, item.method, item.quantity_unit) == (
        estate.id,
        BillingMethod.metered,
        "吨",
    )
    page = login_as("finance").get("/admin/fee_item/").text
    assert "按表计量" in page and "二次供水费" in page


def test_choices_are_in_chinese(login_as):
    form = login_as("finance").get("/admin/fee_item/new/").text
    for label in (
        "按面积",
        "固定",
        "按表计量",
        "阶梯价",
        "按车位",
        "公摊",
        "一次性",
        "月",
        "季",
        "年",
    ):
        assert label in form


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "x" * 300}, "64"),
        ({"name": "   "}, None),
        ({"method": "one_off"}, "一次性"),
        ({"method": "one_off", "one_off_period": "2026-Q4"}, "2026-Q4"),
        ({"method": "one_off", "one_off_period": "2031-13"}, None),
        ({"one_off_period": "2026-11"}, None),
        ({"due_days": "abc"}, None),
        ({"due_days": "99999999999"}, None),
        ({"method": "by_magic"}, None),
        ({"estate": "999999"}, None),
    ],
)
def test_a_bad_fee_item_is_a_field_error(login_as, db_session, estate, fields, message):
    response = new_item(login_as("finance"), estate, **fields)
    assert field_error(response), response.status_code
    if message:
        assert message in response.text
    assert count(db_session, FeeItem, FeeItem.name == "二次供水费") == 0


def test_a_name_is_used_once_per_estate(login_as, db_session, make, estate):
    make.fee_item(estate, name="二次供水费")
    response = new_item(login_as("finance"), estate)
    assert field_error(response) and "二次供水费" in response.text
    assert count(db_session, FeeItem, FeeItem.name == "二次供水费") == 1


def test_another_estates_building_is_refused(login_as, db_session, estate, other):
    response = new_item(login_as("finance"), estate, building=str(other["building"].id))
    assert field_error(response)
    assert count(db_session, FeeItem, FeeItem.name == "二次供水费") == 0


# -- rates -----------------------------------------------------------------------------------
def new_rate(client, item, **fields):
    data = {
        "fee_item": str(item.id),
        "effective_from": "2026-12-01",
        "unit_price": "2.80",
        "note": "",
    }
    return post_form(client, "/admin/fee_rate/new/", {**data, **fields})


def rates(db_session, item):
    return count(db_session, FeeRate, FeeRate.fee_item_id == item.id)


def test_a_new_rate_from_a_later_date_is_added(login_as, db_session, make, estate):
    item = make.fee_item(estate, price="2.50")
    response = new_rate(login_as("finance"), item, unit_price="2.8125")
    assert response.status_code == 302, response.text[-3000:]
    db_session.expire_all()
    assert [r.unit_price for r in item.rates] == [Decimal("2.8125"), Decimal("2.5000")]


@pytest.mark.parametrize("price", ["abc", "-1", "0", "1e30", "2.123456", "NaN", "x" * 300])
def test_a_price_that_is_not_one_is_a_field_error(login_as, db_session, make, estate, price):
    item = make.fee_item(estate)
    response = new_rate(login_as("finance"), item, unit_price=price)
    assert field_error(response)
    assert rates(db_session, item) == 1


def test_two_rates_of_an_item_on_one_day_is_a_field_error(login_as, db_session, make, estate):
    item = make.fee_item(estate, effective_from=date(2026, 12, 1))
    response = new_rate(login_as("finance"), item)
    assert field_error(response) and "2026-12-01" in response.text
    assert rates(db_session, item) == 1


def test_another_estates_fee_item_is_refused(login_as, db_session, other):
    response = new_rate(login_as("finance"), other["item"])
    assert field_error(response)
    assert rates(db_session, other["item"]) == 1


def tiers(*steps):
    data = {}
    for i, (up_to, price) in enumerate(steps):
        data[f"tiers-{i}-up_to"] = up_to
        data[f"tiers-{i}-unit_price"] = price
    return data


def test_a_tiered_rate_is_saved_with_its_steps(login_as, db_session, make, estate):
    item = make.fee_item(estate, method=BillingMethod.tiered, kind=FeeKind.water, price=None)
    response = new_rate(
        login_as("finance"),
        item,
        unit_price="",
        **tiers(("180", "3.45"), ("260", "4.83"), ("", "7.96")),
    )
    assert response.status_code == 302, response.text[-3000:]
    rate = db_session.scalar(select(FeeRate).where(FeeRate.fee_item_id == item.id))
    assert [(t.position, t.up_to, t.unit_price) for t in rate.tiers] == [
        (0, Decimal("180.00"), Decimal("3.4500")),
        (1, Decimal("260.00"), Decimal("4.8300")),
        (2, None, Decimal("7.9600")),
    ]
    assert rate.unit_price == Decimal("3.4500")


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "至少一档"),  # a tiered rate without steps
        ((("260", "4.83"), ("180", "3.45"), ("", "7.96")), "逐档递增"),  # unordered
        ((("180", "3.45"), ("260", "4.83")), "最后一档不填上限"),
        ((("180", "3.45"), ("", "4.83"), ("", "7.96")), "只有最后一档"),
        ((("180", "abc"), ("", "7.96")), "单价"),
        ((("-5", "3.45"), ("", "7.96")), "大于零"),
    ],
)
def test_steps_that_do_not_fit_are_refused(login_as, db_session, make, estate, steps, message):
    item = make.fee_item(estate, method=BillingMethod.tiered, kind=FeeKind.water, price=None)
    response = new_rate(login_as("finance"), item, unit_price="3.45", **tiers(*steps))
    assert response.status_code == 200
    assert message in response.text
    assert rates(db_session, item) == 0


def test_a_non_tiered_rate_with_steps_is_refused(login_as, db_session, make, estate):
    item = make.fee_item(estate)
    response = new_rate(login_as("finance"), item, **tiers(("180", "3.45"), ("", "7.96")))
    assert response.status_code == 200 and "阶梯" in response.text
    assert rates(db_session, item) == 1


def test_a_rate_a_bill_uses_cannot_be_edited_or_deleted_and_an_unused_one_can(
    login_as, db_session, make, estate
):
    unit = make.unit(
        building=db_session.scalar(select(Building).where(Building.estate == estate)),
        number="9902",
    )
    bill = make.bill(unit, amounts=("100.00",))
    used = bill.lines[0].rate
    finance = login_as("finance")
    opened = finance.get(f"/admin/fee_rate/edit/?id={used.id}", follow_redirects=True)
    assert "请改为新增一条从以后日期起执行的单价" in opened.text
    assert 'name="unit_price"' not in opened.text
    token = csrf_from(finance.get("/admin/fee_rate/").text)
    finance.post("/admin/fee_rate/delete/", data={"id": str(used.id), "csrf_token": token})
    db_session.expire_all()
    assert db_session.get(FeeRate, used.id).unit_price == Decimal("100.0000")

    unused = make.rate(used.fee_item, "120.00", effective_from=date(2027, 1, 1))
    page = finance.get(f"/admin/fee_rate/edit/?id={unused.id}")
    assert page.status_code == 200 and 'name="unit_price"' in page.text
    saved = finance.post(
        f"/admin/fee_rate/edit/?id={unused.id}",
        data={
            "fee_item": str(used.fee_item_id),
            "effective_from": "2027-01-01",
            "unit_price": "110",
            "note": "",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert saved.status_code == 302, saved.text[-3000:]
    db_session.expire_all()
    assert db_session.get(FeeRate, unused.id).unit_price == Decimal("110.0000")


# -- meters ----------------------------------------------------------------------------------
@pytest.fixture
def unit(db_session, make, estate):
    building = db_session.scalar(select(Building).where(Building.estate == estate))
    return make.unit(building=building, number="9903")


def new_meter(client, item, **fields):
    data = {"fee_item": str(item.id), "code": "E-9903", "location": "", "active": "y"}
    return post_form(client, "/admin/meter/new/", {**data, **fields})


def test_a_units_meter_and_a_shared_meter(login_as, db_session, make, estate, unit):
    power = make.fee_item(estate, method=BillingMethod.metered, kind=FeeKind.electricity)
    lifts = make.fee_item(estate, method=BillingMethod.shared, kind=FeeKind.electricity)
    finance = login_as("finance")
    assert new_meter(finance, power, unit=str(unit.id)).status_code == 302
    # GT-1 is the demo's own lift meter: take a code the estate does not use yet.
    shared = new_meter(finance, lifts, code="GT-9", building=str(unit.building_id), location="电梯")
    assert shared.status_code == 302
    meter = db_session.scalar(select(Meter).where(Meter.estate == estate, Meter.code == "GT-9"))
    assert meter.shared and meter.estate_id == estate.id and meter.building_id == unit.building_id


@pytest.mark.parametrize(
    ("method", "with_unit"),
    [("metered", False), ("shared", True), ("per_area", True), ("per_area", False)],
)
def test_a_meter_that_does_not_fit_its_item_is_refused(
    login_as, db_session, make, estate, unit, method, with_unit
):
    item = make.fee_item(estate, method=BillingMethod(method))
    fields = {"unit": str(unit.id)} if with_unit else {}
    assert field_error(new_meter(login_as("finance"), item, **fields))
    assert count(db_session, Meter, Meter.code == "E-9903") == 0


@pytest.mark.parametrize("hostile", ["unit", "building", "fee_item", "code", "duplicate"])
def test_hostile_meter_input_is_a_field_error(
    login_as, db_session, make, estate, unit, other, hostile
):
    item = make.fee_item(estate, method=BillingMethod.metered)
    fields = {"unit": str(unit.id)}
    if hostile == "duplicate":
        make.meter(item, unit, code="E-9903")
    elif hostile == "code":
        fields["code"] = "码" * 300
    elif hostile == "fee_item":
        fields["fee_item"] = str(other["item"].id)
    else:
        fields[hostile] = str(other[hostile].id)
    response = new_meter(login_as("finance"), item, **fields)
    assert field_error(response)
    assert count(db_session, Meter, Meter.unit_id == unit.id) == (hostile == "duplicate")
    assert count(db_session, Meter, Meter.unit_id == other["unit"].id) == 0


def test_setup_lists_open_for_finance_and_not_for_repair(login_as):
    finance, repair = login_as("finance"), login_as("repair")
    for url in ("/admin/fee_item/", "/admin/fee_rate/", "/admin/meter/", "/admin/meter_reading/"):
        assert finance.get(url).status_code == 200
        assert repair.get(url).status_code == 403


def test_a_fee_items_page_lists_its_rates_newest_first(login_as, make, estate):
    item = make.fee_item(estate, price="2.50")
    make.rate(item, "2.80", effective_from=date(2027, 1, 1))
    page = login_as("finance").get(f"/admin/fee_item/details/?id={item.id}").text
    assert "2027-01-01 起 ¥2.80；2020-01-01 起 ¥2.50" in page
