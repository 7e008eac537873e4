"""生成账单 in a real browser, on a phone and a desktop: preview, then confirm."""

import pytest
from playwright.sync_api import expect

from models import BillingMethod, Estate

from .test_browser import WIDTHS, assert_looks_finished, sign_in


pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_finance_previews_then_confirms_the_months_bills(db_session, make, demo, new_tab, width):
    make.fee_item(
        db_session.get(Estate, demo),
        method=BillingMethod.per_area,
        price="2.5",
        name="测试物业费",
        quantity_unit="m²",
    )
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "finance")
    tab.goto("/admin/bills/generate/")
    page.locator("#period").fill("2026-11")
    with page.expect_navigation():
        page.get_by_role("button", name="预览").click()
    expect(page.locator("table.generation-totals")).to_contain_text("测试物业费")
    assert_looks_finished(tab, "admin-bill-generate-preview", width, tap_targets=True)
    with page.expect_navigation():
        page.locator("#confirm-form button").click()
    expect(page.locator(".alert")).to_contain_text("已生成")
    assert_looks_finished(tab, "admin-bill-generate-done", width)
