"""The portal's bills in a real browser: an owner on a phone signs in and reaches a
bill's lines in two taps (缴费, then the bill); the bill pages fit a phone and a desk
without sideways scrolling or English left. Screenshots land in
``test-artifacts/screenshots/portal-bill*-<width>.png``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Payment, PaymentMethod, Relation, Resident, User

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


def owner_bill(make, db_session, period: str, *amounts: str, due: date):
    owner = db_session.scalar(select(Resident).join(User).where(User.username == "owner"))
    unit = next(o.unit for o in owner.occupancies if o.relation == Relation.owner)
    return make.bill(unit, period=period, amounts=amounts, payer=owner, due_date=due)


@pytest.fixture
def bills(make, db_session, demo):
    """An overdue bill with two lines and a payment, and a bill paid in full."""
    overdue = owner_bill(
        make, db_session, "2019-06", "236.25", "48.80", due=date.today() - timedelta(days=9)
    )
    paid = owner_bill(make, db_session, "2019-05", "236.25", due=date(2019, 6, 15))
    paid.paid, paid.status = paid.amount, "paid"
    payment = Payment(
        estate_id=overdue.estate_id, unit_id=overdue.unit_id, bill=overdue,
        payer_id=overdue.payer_id, amount=Decimal("100.00"), method=PaymentMethod.wechat,
        reference="WX-4200001", receipt_no=7001,
    )
    db_session.add(payment)
    overdue.paid, overdue.status = Decimal("100.00"), "partial"
    db_session.commit()
    return overdue, paid, payment


@pytest.mark.parametrize("width", (375,))
def test_owner_reaches_a_bills_lines_in_two_taps_on_a_phone(new_tab, bills, width):  # noqa: F811
    overdue, _paid, _payment = bills
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "owner")
    expect(page).to_have_url(tab.base + "/portal/")
    expect(page.locator("#owed .owed-total")).to_be_visible()

    page.locator(".entries").get_by_text("缴费").click()  # tap 1
    expect(page).to_have_url(tab.base + "/portal/bills")
    page.locator(f"a.bill-row[href='/portal/bills/{overdue.id}']").click()  # tap 2
    expect(page).to_have_url(tab.base + f"/portal/bills/{overdue.id}")
    lines = page.locator("#lines .bill-lines li")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("¥236.25")
    expect(lines.first.locator(".explain")).to_contain_text("每户")
    assert tab.problems == [] and tab.outside == []


@pytest.mark.parametrize("width", (375, 1280))
def test_bill_pages_fit_the_screen_and_are_all_chinese(new_tab, bills, width):  # noqa: F811
    overdue, _paid, payment = bills
    tab = new_tab(width=width)
    sign_in(tab, "owner")
    pages = {
        "portal-bills-home": "/portal/",
        "portal-bills": "/portal/bills",
        "portal-bill": f"/portal/bills/{overdue.id}",
        "portal-receipt": f"/portal/bills/{overdue.id}/receipts/{payment.id}",
        "portal-bill-sharing": "/portal/profile#bills",
    }
    for name, path in pages.items():
        tab.goto(path)
        data = (USER_NAME,) if "profile" in path else ()
        assert_looks_finished(tab, name, width, data=data, tap_targets=True)
