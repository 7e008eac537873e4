"""The bill list and a bill's page, as the estate's finance staff use them: filters that
narrow the list, search by unit and payer, exports with plain amounts, lines that explain
themselves, nothing of another estate, and a list whose query count does not grow."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import (
    Bill,
    BillingMethod,
    BillLine,
    BillStatus,
    Building,
    Estate,
    Payment,
    PaymentMethod,
    Unit,
)

from .factories import FACTORY_PASSWORD
from .helpers import login

FAR_FUTURE = date(2099, 1, 1)
LONG_AGO = date(2020, 1, 1)


# -- data -----------------------------------------------------------------------------------
@pytest.fixture
def estate(demo, make) -> Estate:
    """An estate of the test's own: two buildings of three units, and no bills yet. It sits
    beside the demo estate, whose bills (of the same months) are another estate's here."""
    estate = make.estate()
    for _ in range(2):
        building = make.building(estate)
        for _ in range(3):
            make.unit(building)
    return estate


@pytest.fixture
def staff(app, make, estate):
    """``staff("finance")`` → a client signed in as a new user with that built-in role in
    the test's estate (and only there)."""

    def _sign_in(role: str):
        user = make.user(roles=[role], estates=[estate])
        client = app.test_client()
        assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
        return client

    return _sign_in


def estate_units(db_session, estate_id: int, building_index: int = 0,
                 count: int = 2) -> list[Unit]:
    """The first ``count`` units of the estate's building number ``building_index``."""
    buildings = db_session.scalars(
        select(Building).where(Building.estate_id == estate_id).order_by(Building.name)
    ).all()
    building = buildings[building_index]
    return db_session.scalars(
        select(Unit).where(Unit.building_id == building.id).order_by(Unit.number).limit(count)
    ).all()


def per_area_bill(make, db_session, unit, *, period="2026-10", **fields) -> Bill:
    """A bill with a property-fee line per m² of the unit (89.50 m² × ¥2.50)."""
    item = make.fee_item(unit.building.estate, method=BillingMethod.per_area, price="2.50")
    bill = make.bill(unit, period=period, amounts=(), **fields)
    bill.lines.append(
        BillLine(
            fee_item=item,
            rate=item.rates[0],
            method=BillingMethod.per_area,
            quantity=Decimal("89.50"),
            quantity_unit="m²",
            unit_price=Decimal("2.50"),
            amount=Decimal("223.75"),
        )
    )
    bill.amount = Decimal("223.75")
    db_session.commit()
    return bill


@pytest.fixture
def bills(estate, db_session, make):
    """Four bills of the test's estate: two buildings, two periods, each status."""
    first = estate_units(db_session, estate.id, 0)
    second = estate_units(db_session, estate.id, 1)
    payer = make.resident(estate, name="钱多多")
    return {
        "overdue": make.bill(first[0], period="2026-09", amounts=("120.00",), due_date=LONG_AGO,
                             payer=payer),
        "open": make.bill(first[1], period="2026-10", amounts=("80.00", "20.00"),
                          due_date=FAR_FUTURE),
        "paid": make.bill(second[0], period="2026-10", amounts=("50.00",), paid=Decimal("50.00"),
                          status=BillStatus.paid, due_date=LONG_AGO),
        "partial": make.bill(second[1], period="2026-09", amounts=("60.00",),
                             paid=Decimal("10.00"), status=BillStatus.partial, due_date=LONG_AGO),
    }


@pytest.fixture
def other_estate_bill(make):
    unit = make.unit(make.building(make.estate(name="远方小区"), name="远9栋"), number="9901")
    return make.bill(unit, period="2026-10", amounts=("999.00",), due_date=LONG_AGO)


def listed(response) -> set[str]:
    """The unit labels in the list's rows."""
    assert response.status_code == 200, response.status_code
    return set(re.findall(r'class="row-link" href="[^"]*">([^<]+)</a>', response.text))


def label(bill: Bill) -> str:
    return bill.unit.label


FILTERS = {
    "period": "PeriodFilter",
    "building": "BuildingFilter",
    "fee item": "FeeItemFilter",
    "status": "StatusFilter",
    "overdue": "OverdueFilter",
}


def filter_arg(app, which: str) -> str:
    """The list's URL argument for one of its filters (as Flask-Admin names it)."""
    view = next(v for v in app.extensions["propadmin.admin"]._views if v.endpoint == "bill")
    for index, flt in enumerate(view._filters):
        if type(flt).__name__ == FILTERS[which]:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise LookupError(which)


# -- the list -------------------------------------------------------------------------------
def status_cells(page) -> dict[str, str]:
    """Each row's unit label → its status cell, as the list shows it."""
    rows = re.findall(
        r'class="row-link" href="[^"]*">([^<]+)</a>.*?<td class="col-status">(.*?)</td>',
        page.text,
        re.S,
    )
    return {unit: cell.strip() for unit, cell in rows}


@pytest.mark.parametrize("fast_rows", [True, False], ids=["rows written in Python", "loop"])
def test_each_rows_status_says_overdue_only_when_it_is(staff, bills, monkeypatch, fast_rows):
    """The status cell, row by row: an open bill past its due date in its estate says so
    with a badge; a paid one, or one not yet due, does not."""
    from views.admin.listing import FastList

    monkeypatch.setattr(FastList, "fast_rows", fast_rows)
    cells = status_cells(staff("finance").get("/admin/bill/"))
    badge = ' <span class="badge badge-danger">逾期</span>'
    assert cells == {
        label(bills["overdue"]): "未缴" + badge,
        label(bills["partial"]): "部分已缴" + badge,
        label(bills["open"]): "未缴",
        label(bills["paid"]): "已缴清",
    }, cells


def test_list_shows_units_payers_money_and_overdue_in_chinese(staff, bills):
    page = staff("finance").get("/admin/bill/")
    assert listed(page) == {label(b) for b in bills.values()}
    assert "钱多多" in page.text
    assert "¥120.00" in page.text and "¥50.00" in page.text
    assert "逾期" in page.text and "已缴清" in page.text and "部分已缴" in page.text


@pytest.mark.parametrize(
    ("title", "value", "expected"),
    [
        ("period", "2026-09", {"overdue", "partial"}),
        ("status", "open", {"overdue", "open", "partial"}),
        ("status", "paid", {"paid"}),
        ("overdue", "1", {"overdue", "partial"}),
        ("overdue", "0", {"open", "paid"}),
    ],
)
def test_filters_narrow_the_list(app, staff, bills, title, value, expected):
    client = staff("finance")
    page = client.get(f"/admin/bill/?{filter_arg(app, title)}={value}")
    assert listed(page) == {label(bills[k]) for k in expected}


def test_building_filter_offers_only_own_buildings_and_narrows(app, staff, bills,
                                                               other_estate_bill):
    client = staff("finance")
    page = client.get("/admin/bill/")
    assert "远9栋" not in page.text  # not among the building filter's choices
    building_id = bills["paid"].building_id
    page = client.get(f"/admin/bill/?{filter_arg(app, 'building')}={building_id}")
    assert listed(page) == {label(bills["paid"]), label(bills["partial"])}
    page = client.get(f"/admin/bill/?{filter_arg(app, 'building')}={other_estate_bill.building_id}")
    assert listed(page) == set()


def test_fee_item_filter_finds_bills_having_a_line_of_it(app, staff, bills):
    item_id = bills["open"].lines[1].fee_item_id
    page = staff("finance").get(f"/admin/bill/?{filter_arg(app, 'fee item')}={item_id}")
    assert listed(page) == {label(bills["open"])}


@pytest.mark.parametrize("value", ["2031-13", "x" * 500, "'; drop table bill; --", "-1"])
def test_hostile_filter_values_are_refused_not_a_500(app, staff, bills, value):
    client = staff("finance")
    for title in FILTERS:
        page = client.get(f"/admin/bill/?{filter_arg(app, title)}={value}")
        assert page.status_code == 200


def test_search_by_unit_label_and_by_payer(staff, bills):
    client = staff("finance")
    unit = bills["open"].unit
    page = client.get(f"/admin/bill/?search={unit.building.name}{unit.number}")
    assert listed(page) == {label(bills["open"])}
    assert listed(client.get("/admin/bill/?search=钱多")) == {label(bills["overdue"])}


def test_newest_period_first(staff, bills):
    text = staff("finance").get("/admin/bill/").text
    assert text.index(label(bills["open"])) < text.index(label(bills["overdue"]))


def test_nobody_creates_edits_or_deletes_a_bill_from_the_screen(staff, bills):
    client = staff("admin")
    bill = bills["open"]
    assert client.get("/admin/bill/new/").status_code == 403
    assert client.get(f"/admin/bill/edit/?id={bill.id}").status_code == 403
    assert 'action="/admin/bill/delete/' not in client.get("/admin/bill/").text


def test_export_has_plain_amounts_and_chinese_status(staff, bills, other_estate_bill):
    response = staff("finance").get("/admin/bill/export/csv/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["房屋", "缴费人", "账期"]
    by_unit = {row[0]: row for row in body}
    assert label(other_estate_bill) not in by_unit
    overdue = by_unit[label(bills["overdue"])]
    assert overdue[3] == "120.00" and overdue[5] == "120.00"
    assert "逾期" in overdue[7]
    assert by_unit[label(bills["partial"])][4] == "10.00"


# -- another estate -------------------------------------------------------------------------
def test_other_estates_bill_is_nowhere(app, staff, bills, other_estate_bill):
    client = staff("finance")
    assert label(other_estate_bill) not in client.get("/admin/bill/").text
    assert "远方小区" not in client.get("/admin/bill/?search=9901").text
    details = client.get(f"/admin/bill/details/?id={other_estate_bill.id}", follow_redirects=True)
    assert "¥999.00" not in details.text
    assert "记录不存在" in details.text


# -- a bill's page ----------------------------------------------------------------------------
def test_bill_page_explains_each_line_and_lists_payments(estate, db_session, make, staff):
    unit = estate_units(db_session, estate.id)[0]
    bill = per_area_bill(make, db_session, unit, due_date=LONG_AGO)
    bill.paid = Decimal("100.00")
    bill.status = BillStatus.partial
    db_session.add(
        Payment(estate_id=estate.id, unit_id=unit.id, bill=bill, amount=Decimal("100.00"),
                method=PaymentMethod.wechat, reference="WX-778899", receipt_no=42)
    )
    db_session.commit()
    page = staff("finance").get(f"/admin/bill/details/?id={bill.id}")
    assert page.status_code == 200
    text = page.text
    assert "建筑面积 89.5 m² × 每平方米 ¥2.50" in text
    assert "单价自 2020-01-01 起执行" in text
    assert unit.label in text and "2026-10" in text
    assert "¥223.75" in text and "¥123.75" in text  # amount, owed
    assert "00000042" in text and "微信支付" in text and "WX-778899" in text
    assert "逾期" in text


# -- no query per row -----------------------------------------------------------------------
def many_bills(make, db_session, demo, n: int, first_year: int) -> None:
    """``n`` bills over the demo's units, a period after another."""
    units = db_session.scalars(
        select(Unit).join(Unit.building).where(Building.estate_id == demo).order_by(Unit.id)
    ).all()
    for i in range(n):
        make.bill(units[i % len(units)], period=f"{first_year + i // len(units)}-01",
                  amounts=("10.00",), due_date=LONG_AGO + timedelta(days=i))


def test_list_query_count_does_not_grow_with_rows_or_page(demo, db_session, make, login_as,
                                                          count_queries):
    client = login_as("finance")
    client.get("/admin/bill/")  # warm up: the session's user and roles
    many_bills(make, db_session, demo, 10, 2000)
    with count_queries() as few:
        assert client.get("/admin/bill/").status_code == 200
    many_bills(make, db_session, demo, 140, 2010)
    with count_queries() as many:
        assert client.get("/admin/bill/").status_code == 200
    with count_queries() as deep:
        assert client.get("/admin/bill/?page=2").status_code == 200
    # The first page reads its rows at once; a later page reads its keys first.
    assert len(few) == len(many) == len(deep) - 1, (len(few), len(many), len(deep))


def test_a_huge_list_is_counted_only_up_to_a_point(monkeypatch, staff, bills,
                                                   other_estate_bill):
    monkeypatch.setattr("views.admin.bills.BillView.count_cap", 3)
    client = staff("finance")
    page = client.get("/admin/bill/")
    assert "(3+)" in page.text
    assert len(listed(page)) == 4
    page = client.get(f"/admin/bill/?{filter_arg(client.application, 'period')}=2026-10")
    assert "(2)" in page.text  # the other estate's bill is not counted


def test_list_rows_have_a_cell_under_each_heading(app, staff, bills):
    """The list's rows (written by FastList.rows_html): the cells follow the headings."""
    view = next(v for v in app.extensions["propadmin.admin"]._views if v.endpoint == "bill")
    text = staff("finance").get("/admin/bill/").text
    start = text.index('<td class="col-')
    first_row = text[start : text.index("</tr>", start)]
    assert re.findall(r'<td class="col-([a-z_]+)"', first_row) == list(view.column_list)
    headings = re.findall(r'<th class="column-header col-([a-z_]+)"', text)
    assert headings == list(view.column_list)


def test_every_sortable_column_sorts_the_page(staff, bills):
    client = staff("finance")
    for index in range(8):
        for desc in ("0", "1"):
            page = client.get(f"/admin/bill/?sort={index}&desc={desc}")
            assert listed(page) == {label(b) for b in bills.values()}
    by_amount = client.get("/admin/bill/?sort=3&desc=1").text
    assert by_amount.index(label(bills["overdue"])) < by_amount.index(label(bills["paid"]))
