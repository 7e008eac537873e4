"""The finance dashboard in a real browser: the charts are drawn (from our own ECharts), fit a
phone and a desktop, and say everything in Chinese. Screenshots land in
``test-artifacts/screenshots/finance-<width>.png``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from models import BillStatus

from . import test_browser
from .test_bills_admin import demo_units
from .test_browser import WIDTHS, assert_looks_finished, sign_in

# The live server and Chromium fixtures of the register's browser tests.
live_server = test_browser.live_server
browser = test_browser.browser
new_tab = test_browser.new_tab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def months_of_bills(demo, db_session, make):
    """Six months of bills in two buildings, collected a little less each month."""
    units = demo_units(db_session, demo, 0, count=3) + demo_units(db_session, demo, 1, count=3)
    for month in range(5, 11):
        for n, unit in enumerate(units):
            paid = Decimal("0.00") if (n + month) % 4 == 0 else Decimal("180.50")
            make.bill(
                unit,
                period=f"2026-{month:02d}",
                amounts=("180.50", "35.00") if n % 2 else ("180.50",),
                paid=paid,
                status=BillStatus.partial if paid else BillStatus.unpaid,
                due_date=date(2026, month, 25),
            )


@pytest.mark.parametrize("width", WIDTHS)
def test_finance_dashboard_draws_its_charts(new_tab, months_of_bills, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "finance")
    tab.goto("/admin/finance/")
    expect(page.get_by_role("heading", name="收缴统计")).to_be_visible()
    for chart in ("#chart-months", "#chart-items"):
        drawn = page.locator(f"{chart} canvas, {chart} svg").first
        expect(drawn).to_be_visible()
        box = drawn.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, (chart, box)
    expect(page.locator("#table-months tbody tr")).to_have_count(6)
    assert_looks_finished(tab, "finance", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_arrears_page_fits(new_tab, months_of_bills, width):
    tab = new_tab(width=width)
    sign_in(tab, "finance")
    tab.goto("/admin/arrears/")
    expect(tab.page.locator("tr.arrears-total")).to_contain_text("合计")
    assert_looks_finished(tab, "arrears", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_bill_list_and_page_fit(app, new_tab, months_of_bills, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "finance")
    tab.goto("/admin/bill/")
    rows = page.locator("table.model-list tbody tr")
    expect(rows).to_have_count(36)
    assert_looks_finished(tab, "bill-list", width)
    with page.expect_navigation():
        rows.first.locator("a.row-link").click()
    expect(page.locator("table.bill-facts")).to_be_visible()
    expect(page.locator(".bill-lines .line-explained").first).to_contain_text("每户")
    assert_looks_finished(tab, "bill-page", width)
