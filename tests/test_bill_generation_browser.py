"""生成账单 in a real browser, on a phone and a desktop: preview, then confirm — the demo
estate's next month (its last months are billed already), every demo meter read for it."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import FeeItem
from propadmin.services.bill_charges import ITEM_NAME, has_pending

from .test_bill_generation_page import lived_in, read_demo_meters_for_next_month
from .test_browser import WIDTHS, assert_looks_finished, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_finance_previews_then_confirms_the_months_bills(app, db_session, demo, new_tab, width):
    period = read_demo_meters_for_next_month(app, db_session, demo)
    items = set(db_session.scalars(select(FeeItem.name).where(FeeItem.estate_id == demo)))
    if has_pending(db_session, demo):  # the demo tenant's resident-paid repair
        items.add(ITEM_NAME)
    bills = len(lived_in(db_session, demo))
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "finance")
    tab.goto("/admin/bills/generate/")
    page.locator("#period").fill(period)
    with page.expect_navigation():
        page.get_by_role("button", name="预览").click()
    totals = page.locator("table.generation-totals tbody tr")
    expect(totals).to_have_count(len(items))
    for name in items:
        expect(totals.filter(has=page.get_by_role("cell", name=name, exact=True))).to_have_count(1)
    assert_looks_finished(tab, "admin-bill-generate-preview", width, tap_targets=True)
    with page.expect_navigation():
        page.locator("#confirm-form button").click()
    expect(page.locator(".alert")).to_contain_text(f"已生成 {bills} 张账单")
    assert_looks_finished(tab, "admin-bill-generate-done", width)
