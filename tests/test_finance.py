"""Arrears per building and the collection dashboard: figures that add up, tables beside
the charts, ECharts from our own static folder, and nothing of another estate."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import OPEN_STATUSES, Bill, BillStatus, Building

from . import test_bills_admin
from .test_bills_admin import FAR_FUTURE, LONG_AGO, estate_units

# An estate of the test's own (beside the demo estate, whose bills are another estate's
# here) and its staff: ``staff("finance")`` is a client signed in to that estate only.
estate = test_bills_admin.estate
staff = test_bills_admin.staff

TAGS = re.compile(r"<[^>]+>")


def cells(html: str, row_selector: str) -> list[str]:
    """The text of the cells of the first table row whose opening tag contains
    ``row_selector``."""
    start = html.index(row_selector)
    row = html[start : html.index("</tr>", start)]
    return [TAGS.sub("", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


@pytest.fixture
def money(estate, db_session, make):
    """Bills of the test's estate in two buildings and two periods, and one of another
    estate (the demo estate's own bills, of the same months, are of a third)."""
    first = estate_units(db_session, estate.id, 0, count=3)
    second = estate_units(db_session, estate.id, 1, count=2)
    made = {
        # 2026-09: billed 300, collected 150
        "a": make.bill(first[0], period="2026-09", amounts=("100.00",), due_date=LONG_AGO),
        "b": make.bill(first[1], period="2026-09", amounts=("150.00",), paid=Decimal("150.00"),
                       status=BillStatus.paid, due_date=LONG_AGO),
        "c": make.bill(second[0], period="2026-09", amounts=("50.00",), due_date=FAR_FUTURE),
        # 2026-10: billed 200 (+ a void bill left out), collected 50
        "d": make.bill(first[0], period="2026-10", amounts=("120.00", "80.00"),
                       paid=Decimal("50.00"), status=BillStatus.partial, due_date=FAR_FUTURE),
        "void": make.bill(first[2], period="2026-10", amounts=("70.00",),
                          status=BillStatus.void, due_date=LONG_AGO),
    }
    other = make.unit(make.building(make.estate(name="远方小区"), name="远9栋"), number="9901")
    made["other"] = make.bill(other, period="2026-10", amounts=("999.00",), due_date=LONG_AGO)
    return made


# -- arrears ----------------------------------------------------------------------------------
def test_arrears_per_building_add_up_to_what_open_bills_owe(estate, db_session, staff, money):
    page = staff("finance").get("/admin/arrears/")
    assert page.status_code == 200
    open_bills = db_session.scalars(
        select(Bill).where(Bill.estate_id == estate.id, Bill.status.in_(OPEN_STATUSES))
    ).all()
    assert sum(b.owed for b in open_bills) == Decimal("300.00")  # a 100 + c 50 + d 150
    first = money["a"].building
    second = money["c"].building
    # building, units owing, open bills, overdue bills, amount owed, oldest due date (the
    # estate column shows only for staff of several estates)
    assert cells(page.text, f'data-building="{first.id}"') == [
        first.name, "1", "2", "1", "¥250.00", LONG_AGO.isoformat(),
    ]
    assert cells(page.text, f'data-building="{second.id}"') == [
        second.name, "1", "1", "0", "¥50.00", FAR_FUTURE.isoformat(),
    ]
    assert cells(page.text, 'class="font-weight-bold arrears-total"') == [
        "合计", "2", "3", "1", "¥300.00", LONG_AGO.isoformat(),
    ]
    assert "远9栋" not in page.text and "999" not in page.text


def test_each_arrears_number_opens_the_bills_behind_it(staff, money):
    client = staff("finance")
    page = client.get("/admin/arrears/").text
    building = money["a"].building_id
    row = page[page.index(f'data-building="{building}"') :]
    links = re.findall(r'href="([^"]+)"', row[: row.index("</tr>")])
    overdue_link = next(link for link in links if "1" in link.rsplit("=", 1)[-1])
    listed = client.get(overdue_link.replace("&amp;", "&")).text
    assert money["a"].unit.label in listed
    assert money["d"].unit.label in listed or money["d"].unit_id == money["a"].unit_id
    assert money["b"].unit.label not in listed  # paid


def test_buildings_without_arrears_are_listed_with_zeros(estate, db_session, make, staff):
    """A building whose bills are all paid and one never billed, beside one that owes."""
    paid_up = estate_units(db_session, estate.id, 0, count=1)[0]
    make.bill(paid_up, amounts=("50.00",), paid=Decimal("50.00"), status=BillStatus.paid,
              due_date=LONG_AGO)
    owing = make.unit(make.building(estate))
    make.bill(owing, amounts=("80.00",), due_date=FAR_FUTURE)
    page = staff("finance").get("/admin/arrears/").text
    buildings = db_session.scalars(
        select(Building.id).where(Building.estate_id == estate.id,
                                  Building.id != owing.building_id)
    ).all()
    assert len(buildings) == 2
    for building in buildings:
        assert cells(page, f'data-building="{building}"')[1:5] == ["0", "0", "0", "¥0.00"]
    assert cells(page, f'data-building="{owing.building_id}"')[1:5] == ["1", "1", "0", "¥80.00"]


# -- the dashboard ------------------------------------------------------------------------------
def chart_data(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="finance-data">(.*?)</script>', html, re.S
    )
    assert found, "the charts' data is missing"
    return json.loads(found[1])


def test_dashboard_has_charts_tables_and_the_same_numbers(staff, money):
    page = staff("finance").get("/admin/finance/")
    assert page.status_code == 200
    html = page.text
    assert 'id="chart-months"' in html and 'id="chart-items"' in html
    data = chart_data(html)
    assert data["locale"] == "ZH"
    assert data["months"]["labels"] == ["2026-09", "2026-10"]
    assert data["months"]["billed"] == ["300.00", "200.00"]
    assert data["months"]["collected"] == ["150.00", "50.00"]
    assert data["months"]["rate"] == ["50.0", "25.0"]
    assert cells(html, 'data-period="2026-09"') == ["2026-09", "¥300.00", "¥150.00", "50.0%"]
    assert cells(html, 'data-period="2026-10"') == ["2026-10", "¥200.00", "¥50.00", "25.0%"]
    # per fee item, the latest period: d's lines 120 and 80 share its 50 paid (30 and 20)
    assert sorted(zip(data["items"]["billed"], data["items"]["collected"], strict=True)) == [
        ("120.00", "30.00"), ("80.00", "20.00"),
    ]
    assert "999" not in html and "远方小区" not in html
    assert "实收指" in html  # what "collected" means, said once on the page


def test_dashboard_period_choice_and_a_bad_period(staff, money):
    client = staff("finance")
    data = chart_data(client.get("/admin/finance/?period=2026-09").text)
    assert sorted(data["items"]["billed"]) == ["100.00", "150.00", "50.00"]
    for bad in ("2031-13", "<script>", "x" * 5000):
        page = client.get("/admin/finance/", query_string={"period": bad})
        assert page.status_code == 200
        assert chart_data(page.text)["items"]["labels"]  # the latest period instead
    assert "请按 2026-11" in client.get("/admin/finance/?period=2031-13").text


def test_dashboard_in_english_draws_english_charts(staff, money):
    client = staff("finance")
    page = client.get("/admin/finance/", headers={"Accept-Language": "en"})
    assert page.status_code == 200


def test_dashboard_without_bills_says_so(staff):
    page = staff("finance").get("/admin/finance/")
    assert page.status_code == 200
    assert "尚无账单" in page.text
    assert chart_data(page.text)["months"]["labels"] == []


def test_echarts_comes_from_our_static_folder(client, staff, money):
    html = staff("finance").get("/admin/finance/").text
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert "/static/vendor/echarts/echarts.min.js" in scripts
    assert "/static/js/finance-charts.js" in scripts
    assert all(src.startswith("/") and not src.startswith("//") for src in scripts), scripts
    assert "cdn" not in html.lower()
    for src in ("/static/vendor/echarts/echarts.min.js", "/static/js/finance-charts.js"):
        response = client.get(src)
        assert response.status_code == 200
        response.close()


def test_no_inline_script_on_the_finance_pages(staff, money):
    client = staff("finance")
    for url in ("/admin/finance/", "/admin/arrears/"):
        html = client.get(url).text
        inline = [s for s in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
                  if "src=" not in s[0] and s[1].strip() and "application/json" not in s[0]]
        # Flask-Admin's own pages carry none of their own either (filters come as JSON).
        assert inline == [], url


# -- the to-do tile -------------------------------------------------------------------------------
def test_overdue_tile_counts_and_opens_overdue_bills(staff, money):
    client = staff("finance")
    home = client.get("/admin/").text
    tile = re.search(r'<a class="tile[^"]*" href="([^"]+)" data-tile="overdue_bills">\s*'
                     r'<span class="n">(\d+)</span>', home)
    assert tile, "no overdue tile for finance"
    assert tile[2] == "1"  # bill a; b is paid, c and d are not due, the void one is void
    listed = client.get(tile[1].replace("&amp;", "&")).text
    assert money["a"].unit.label in listed and "远9栋" not in listed


def test_repair_staff_see_no_overdue_tile(staff, money):
    assert 'data-tile="overdue_bills"' not in staff("repair").get("/admin/").text


def test_overdue_counts_from_today_in_the_estates_zone(estate, db_session, staff, make):
    """An estate in Shanghai: after 16:00 UTC its today is the server's tomorrow."""
    estate.timezone = "Asia/Shanghai"
    db_session.commit()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    units = estate_units(db_session, estate.id)
    make.bill(units[0], period="2026-08", amounts=("10.00",), due_date=today)
    client = staff("finance")
    total = 'class="font-weight-bold arrears-total"'
    assert cells(client.get("/admin/arrears/").text, total)[3] == "0"  # due today: not yet
    make.bill(units[1], period="2026-08", amounts=("10.00",), due_date=today - timedelta(days=1))
    assert cells(client.get("/admin/arrears/").text, total)[3] == "1"


def test_oldest_due_date_opens_the_open_bills_oldest_first(staff, money):
    client = staff("finance")
    page = client.get("/admin/arrears/").text
    row = page[page.index(f'data-building="{money["a"].building_id}"') :]
    cell = row[row.index('class="oldest-due"') : row.index("</tr>")]
    link = re.search(r'href="([^"]+)"', cell)[1].replace("&amp;", "&")
    listed = client.get(link).text
    assert listed.index(money["a"].unit.label) < listed.index("2026-10")  # due long ago first
    assert money["b"].unit.label not in listed  # paid


# -- the demo estate's own bills ----------------------------------------------------------------
def test_demo_figures_are_what_its_bills_say(demo, db_session, login_as):
    """On the demo's real bills (months of them, paid, part paid and overdue), the arrears
    total and the dashboard agree with the bills, worked out here one bill at a time."""
    bills = db_session.scalars(select(Bill).where(Bill.estate_id == demo)).all()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    owing = [b for b in bills if b.status in OPEN_STATUSES]
    assert owing and any(b.is_overdue(today) for b in owing)  # the demo has arrears
    client = login_as("finance")
    total = cells(client.get("/admin/arrears/").text, 'class="font-weight-bold arrears-total"')
    assert total == [
        "合计", str(len({b.unit_id for b in owing})), str(len(owing)),
        str(sum(b.is_overdue(today) for b in owing)), f"¥{sum(b.owed for b in owing):,.2f}",
        min(b.due_date for b in owing).isoformat(),
    ]

    billed = [b for b in bills if b.status is not BillStatus.void]
    periods = sorted({b.period for b in billed})
    data = chart_data(client.get("/admin/finance/").text)
    assert data["months"]["labels"] == periods
    assert data["months"]["billed"] == [
        f"{sum(b.amount - b.discount + b.late_fee for b in billed if b.period == p)}"
        for p in periods
    ]
    assert data["months"]["collected"] == [
        f"{sum(b.paid for b in billed if b.period == p)}" for p in periods
    ]
    # Per fee item, the period with bills partly paid, worked out bill by bill.
    period = next(p for p in reversed(periods)
                  if any(b.period == p and b.status is BillStatus.partial for b in billed))
    items: dict[str, list[Decimal]] = {}
    for bill in (b for b in billed if b.period == period):
        for name, line_billed, line_collected in item_shares(bill):
            sums = items.setdefault(name, [Decimal(0), Decimal(0)])
            sums[0] += line_billed
            sums[1] += line_collected
    assert shown_items(client, period) == {
        name: (f"{b:.2f}", f"{c:.2f}") for name, (b, c) in items.items()
    }


def item_shares(bill: Bill) -> list[tuple[str, Decimal, Decimal]]:
    """(fee item, billed, collected) for each line of ``bill``, as the page shares them: the
    discount comes off the lines in proportion to their amounts, what was paid (up to what
    the lines then ask) goes over them in proportion to that; each running total is rounded
    down to the fen, so the lines add up to the bill exactly."""
    fen = [int(line.amount * 100) for line in bill.lines]
    net = max(int((bill.amount - bill.discount) * 100), 0)
    covered = max(min(int(bill.paid * 100), net), 0)
    shares, cum, before = [], 0, (0, 0)
    for line, amount in zip(bill.lines, fen, strict=True):
        cum += amount
        net_cum = cum * net // sum(fen) if sum(fen) else 0
        paid_cum = net_cum * covered // net if net else 0
        shares.append((line.fee_item.name, Decimal(net_cum - before[0]) / 100,
                       Decimal(paid_cum - before[1]) / 100))
        before = (net_cum, paid_cum)
    return shares


def shown_items(client, period: str) -> dict[str, tuple[str, str]]:
    data = chart_data(client.get(f"/admin/finance/?period={period}").text)["items"]
    return dict(zip(data["labels"], zip(data["billed"], data["collected"], strict=True),
                    strict=True))


def period_row(client, period: str) -> tuple[str, str]:
    data = chart_data(client.get("/admin/finance/").text)["months"]
    at = data["labels"].index(period)
    return data["billed"][at], data["collected"][at]


def totals(shown: dict[str, tuple[str, str]]) -> tuple[str, str]:
    return (f"{sum(Decimal(b) for b, _c in shown.values()):.2f}",
            f"{sum(Decimal(c) for _b, c in shown.values()):.2f}")


# -- discounts and late fees per fee item ------------------------------------------------------
def test_a_discounted_settled_bill_owes_nothing_on_any_fee_item(estate, db_session, staff, make):
    """¥1,371.04 less a ¥1,361.04 discount, ¥10.00 paid: settled, so each fee item shows
    what it billed as collected, and the items add up to the period's row."""
    unit = estate_units(db_session, estate.id, 0, count=1)[0]
    bill = make.bill(unit, period="2026-07", amounts=("1000.00", "371.04"),
                     discount=Decimal("1361.04"), paid=Decimal("10.00"),
                     status=BillStatus.paid, due_date=LONG_AGO)
    client = staff("finance")
    shown = shown_items(client, "2026-07")
    names = [line.fee_item.name for line in bill.lines]
    assert shown == {names[0]: ("7.29", "7.29"), names[1]: ("2.71", "2.71")}
    assert totals(shown) == period_row(client, "2026-07") == ("10.00", "10.00")
    html = client.get("/admin/finance/?period=2026-07").text
    for name in names:
        assert cells(html, f"<th scope=\"row\">{name}</th>")[1:] == [
            f"¥{shown[name][0]}", f"¥{shown[name][1]}", "100.0%",
        ]
    assert "滞纳金" not in shown  # no late fee: no row for it


def test_fee_items_and_late_fees_add_up_to_the_period(estate, db_session, staff, make):
    """Discounts that do not divide evenly, late fees, a part payment and a discount larger
    than the lines (it takes the rest off the late fee): the fee items and the late-fee row
    add up to the period's billed and collected to the fen."""
    units = estate_units(db_session, estate.id, 0, count=3) + estate_units(
        db_session, estate.id, 1, count=1)
    late = {"due_date": LONG_AGO}
    made = [
        make.bill(units[0], period="2026-06", amounts=("33.33", "33.33", "33.34"),
                  discount=Decimal("10.00"), late_fee=Decimal("3.00"), paid=Decimal("50.00"),
                  status=BillStatus.partial, **late),
        make.bill(units[1], period="2026-06", amounts=("120.00", "80.00"),
                  discount=Decimal("0.03"), late_fee=Decimal("1.50"),
                  paid=Decimal("201.47"), status=BillStatus.paid, **late),
        make.bill(units[2], period="2026-06", amounts=("99.99",), **late),
        make.bill(units[3], period="2026-06", amounts=("10.00",), discount=Decimal("12.00"),
                  late_fee=Decimal("5.00"), paid=Decimal("3.00"), status=BillStatus.paid,
                  **late),
    ]
    client = staff("finance")
    shown = shown_items(client, "2026-06")
    expected = {name: (f"{b:.2f}", f"{c:.2f}")
                for bill in made for name, b, c in item_shares(bill)}
    expected["滞纳金"] = ("7.50", "4.50")  # 3 + 1.50 + (5 − 2), of which 1.50 + 3 paid
    assert shown == expected
    a = [line.fee_item.name for line in made[0].lines]
    assert [shown[n] for n in a] == [("29.99", "16.66"), ("30.00", "16.66"), ("30.01", "16.68")]
    assert all(b == c for n, (b, c) in shown.items() if n in
               {line.fee_item.name for line in made[1].lines})  # settled: nothing left
    assert totals(shown) == period_row(client, "2026-06") == ("397.46", "254.47")
