"""The portal's bills in a real browser: an owner on a phone signs in and reaches a
bill's lines in two taps (缴费, then the bill); the bill pages fit a phone and a desk
without sideways scrolling or English left. Screenshots land in
``test-artifacts/screenshots/portal-bill*-<width>.png``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Bill, BillStatus, Payment, Resident, User
from propadmin.services.bill_explain import explain, yuan

from .test_browser import (  # noqa: F401 — fixtures, used by name
    USER_NAME,
    assert_looks_finished,
    pytestmark,
    sign_in,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture reports it
    expect = None


@pytest.fixture
def bills(db_session, demo):
    """The demo owner's own bills: one paid in part (with its payment) and one paid in full."""
    owner = db_session.scalar(select(Resident).join(User).where(User.username == "owner"))
    mine = db_session.scalars(
        select(Bill).where(Bill.payer_id == owner.id).order_by(Bill.period)
    ).all()
    part = [b for b in mine if b.status is BillStatus.partial]
    paid = [b for b in mine if b.status is BillStatus.paid]
    assert part and paid, f"the demo owner has a part-paid and a paid bill: {mine}"
    payment = db_session.scalar(select(Payment).where(Payment.bill_id == part[-1].id))
    return part[-1], paid[-1], payment


@pytest.mark.parametrize("width", (375,))
def test_owner_reaches_a_bills_lines_in_two_taps_on_a_phone(app, new_tab, bills, width):  # noqa: F811
    part_paid, _paid, _payment = bills
    first = part_paid.lines[0]
    with app.test_request_context():  # the portal's language: Chinese
        explained = " · ".join(explain(first))
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "owner")
    expect(page).to_have_url(tab.base + "/portal/")
    expect(page.locator("#owed .owed-total")).to_be_visible()

    page.locator(".entries").get_by_text("缴费").click()  # tap 1
    expect(page).to_have_url(tab.base + "/portal/bills")
    page.locator(f"a.bill-row[href='/portal/bills/{part_paid.id}']").click()  # tap 2
    expect(page).to_have_url(tab.base + f"/portal/bills/{part_paid.id}")
    lines = page.locator("#lines .bill-lines li")
    expect(lines).to_have_count(len(part_paid.lines))
    expect(lines.first).to_contain_text(first.fee_item.name)
    expect(lines.first).to_contain_text(yuan(first.amount))
    expect(lines.first.locator(".explain")).to_have_text(explained)
    assert tab.problems == [] and tab.outside == []


@pytest.mark.parametrize("width", (375, 1280))
def test_bill_pages_fit_the_screen_and_are_all_chinese(new_tab, bills, width):  # noqa: F811
    part_paid, _paid, payment = bills
    tab = new_tab(width=width)
    sign_in(tab, "owner")
    pages = {
        "portal-bills-home": "/portal/",
        "portal-bills": "/portal/bills",
        "portal-bill": f"/portal/bills/{part_paid.id}",
        "portal-receipt": f"/portal/bills/{part_paid.id}/receipts/{payment.id}",
        "portal-bill-sharing": "/portal/profile#bills",
    }
    for name, path in pages.items():
        tab.goto(path)
        data = (USER_NAME,) if "profile" in path else ()
        assert_looks_finished(tab, name, width, data=data, tap_targets=True)
