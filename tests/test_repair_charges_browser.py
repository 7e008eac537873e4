"""Repair charges in a real browser: finance's list of charges and a bill carrying them
fit a phone and a desktop and speak Chinese. Screenshots land in
``test-artifacts/screenshots/repair-charges-<width>.png`` and ``repair-charge-bill-…``."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Bill, BillingMethod

from .factories import FACTORY_PASSWORD
from .test_browser import WIDTHS, assert_looks_finished, sign_in
from .test_repair_charges import charged, generate, home

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_finance_reads_charges_and_the_bill_that_carries_them(app, make, db_session, new_tab,
                                                             width):
    estate = make.estate()
    make.fee_item(estate, method=BillingMethod.fixed, price="100.00", name="物业服务费")
    unit, owner = home(make, estate)
    repair = charged(app, make, db_session, unit, owner, "35.50", "厨房水槽下方")
    with app.app_context():
        generate(db_session, estate)
    charged(app, make, db_session, unit, owner, "8.80", "阳台地漏")
    finance = make.user(roles=["finance"], estates=[estate])
    bill = db_session.scalars(select(Bill).where(Bill.unit_id == unit.id)).one()

    tab = new_tab(width=width)
    sign_in(tab, finance.username, FACTORY_PASSWORD)
    tab.goto("/admin/unit_charge/")
    expect(tab.page.locator("table.model-list tbody tr")).to_have_count(2)
    expect(tab.page.locator(".charge-pending")).to_have_count(1)
    assert_looks_finished(tab, "repair-charges", width,
                          data=("td.col-unit", "td.col-description", ".navbar .dropdown-toggle"))
    tab.goto(f"/admin/bill/details/?id={bill.id}")
    expect(tab.page.locator(".bill-lines")).to_contain_text(f"维修单 #{repair.id}（厨房水槽下方）")
    assert_looks_finished(tab, "repair-charge-bill", width, data=(".navbar .dropdown-toggle",))
