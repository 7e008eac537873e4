"""The finance dashboard in a real browser, on the demo estate's own bills (four months of
them, from `seed-demo`): the charts are drawn (from our own ECharts) with the demo's months
and fee items, fit a phone and a desktop, and say everything in Chinese. Screenshots land
in ``test-artifacts/screenshots/finance-<width>.png``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from models import Bill, BillLine, BillStatus, FeeItem
from propadmin.services.finance_figures import MONTHS_SHOWN
from views.admin.bills import BillView

from .test_browser import WIDTHS, assert_looks_finished, sign_in

# The live server and Chromium fixtures of the register's browser tests.

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@dataclass
class DemoBills:
    periods: list[str]  # the periods billed, oldest first
    count: int  # bills, void ones too (the list shows them)
    latest_items: list[str]  # the fee items billed in the latest period


@pytest.fixture
def demo_bills(demo, db_session) -> DemoBills:
    """What the demo estate was billed, read from the database."""
    billed = (Bill.estate_id == demo, Bill.status != BillStatus.void)
    periods = db_session.scalars(
        select(Bill.period).where(*billed).distinct().order_by(Bill.period)
    ).all()
    count = db_session.scalar(select(func.count(Bill.id)).where(Bill.estate_id == demo))
    items = db_session.scalars(
        select(FeeItem.name)
        .join(BillLine, BillLine.fee_item_id == FeeItem.id)
        .join(Bill, BillLine.bill_id == Bill.id)
        .where(*billed, Bill.period == periods[-1])
        .distinct()
    ).all()
    assert len(periods) >= 2 and len(items) >= 2, "the demo has months of bills to draw"
    return DemoBills(list(periods), count, sorted(items))


def chart_labels(page, chart: str) -> list[str]:
    """The category axis of a drawn chart, as ECharts holds it."""
    return page.evaluate(
        "sel => echarts.getInstanceByDom(document.querySelector(sel)).getOption().xAxis[0].data",
        chart,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_finance_dashboard_draws_its_charts(new_tab, demo_bills, width):
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
    months = demo_bills.periods[-MONTHS_SHOWN:]
    assert chart_labels(page, "#chart-months") == months
    assert sorted(chart_labels(page, "#chart-items")) == demo_bills.latest_items
    rows = page.locator("#table-months tbody tr")
    expect(rows).to_have_count(len(months))
    for row, period in zip(rows.all(), months, strict=True):
        expect(row.locator("th")).to_have_text(period)
    assert_looks_finished(tab, "finance", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_arrears_page_fits(new_tab, demo_bills, width):
    tab = new_tab(width=width)
    sign_in(tab, "finance")
    tab.goto("/admin/arrears/")
    expect(tab.page.locator("tr.arrears-total")).to_contain_text("合计")
    assert_looks_finished(tab, "arrears", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_bill_list_and_page_fit(app, new_tab, demo_bills, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "finance")
    tab.goto("/admin/bill/")
    rows = page.locator("table.model-list tbody tr")
    expect(rows).to_have_count(min(demo_bills.count, BillView.page_size))
    assert_looks_finished(tab, "bill-list", width)
    with page.expect_navigation():
        rows.first.locator("a.row-link").click()
    expect(page.locator("table.bill-facts")).to_be_visible()
    # The demo's property fee is charged per m² of the unit.
    expect(page.locator(".bill-lines .line-explained").first).to_contain_text("每平方米")
    assert_looks_finished(tab, "bill-page", width)
