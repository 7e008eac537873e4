"""Late fees: per-day percent or sum after the grace days, capped, half-up to the fen."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import Bill, BillStatus, LateFeePolicy
from propadmin.services.adjustments import adjust_bill
from propadmin.services.late_fees import assess_late_fees, late_fee_for

from .factories import FACTORY_PASSWORD
from .helpers import login, post_form

DUE = date(2026, 11, 15)


def bill_of(amount="1000.00", **fields):
    values = {"discount": Decimal(0), "paid": Decimal(0), "late_fee": Decimal(0)} | fields
    return Bill(amount=Decimal(amount), due_date=DUE, status=BillStatus.unpaid, **values)


def policy(**fields):
    return LateFeePolicy(**({"enabled": True, "grace_days": 5} | fields))


def test_three_hundredths_percent_a_day_for_ten_days_past_grace():
    today = DUE + timedelta(days=15)  # 5 days of grace, then 10 late
    fee = late_fee_for(bill_of(), policy(daily_percent=Decimal("0.03")), today)
    assert fee == Decimal("3.00")


@pytest.mark.parametrize("days", [0, 3, 5])
def test_nothing_within_the_grace_days(days):
    fee = late_fee_for(bill_of(), policy(daily_percent=Decimal("0.03")), DUE + timedelta(days))
    assert fee == 0


def test_the_percent_is_of_the_principal_still_owed():
    bill = bill_of(paid=Decimal("400.00"), discount=Decimal("100.00"))
    fee = late_fee_for(bill, policy(daily_percent=Decimal("0.05")), DUE + timedelta(days=15))
    assert fee == Decimal("2.50")  # 500 × 0.05 % × 10


def test_a_fixed_sum_a_day():
    fee = late_fee_for(bill_of(), policy(daily_amount=Decimal("1.50")), DUE + timedelta(days=9))
    assert fee == Decimal("6.00")


def test_caps_by_percent_of_the_bill_and_by_amount():
    today = DUE + timedelta(days=1005)
    rule = policy(daily_percent=Decimal("0.05"), cap_percent=Decimal("10"))
    assert late_fee_for(bill_of(), rule, today) == Decimal("100.00")
    rule.cap_amount = Decimal("30.00")
    assert late_fee_for(bill_of(), rule, today) == Decimal("30.00")


def test_half_up_to_the_fen():
    # 33.33 × 0.03 % × 5 = 0.049995 → 0.05; 16.65 × 0.03 % × 1 = 0.004995 → 0.00
    rule = policy(grace_days=0, daily_percent=Decimal("0.03"))
    assert late_fee_for(bill_of("33.33"), rule, DUE + timedelta(days=5)) == Decimal("0.05")
    assert late_fee_for(bill_of("16.65"), rule, DUE + timedelta(days=1)) == Decimal("0.00")
    # 50.00 × 0.03 % × 1 = 0.015 → 0.02 (half-up, not half-even)
    assert late_fee_for(bill_of("50.00"), rule, DUE + timedelta(days=1)) == Decimal("0.02")


def test_a_disabled_policy_charges_nothing():
    rule = policy(enabled=False, daily_percent=Decimal("0.03"))
    assert late_fee_for(bill_of(), rule, DUE + timedelta(days=100)) == 0


def test_assessing_raises_overdue_bills_once_and_respects_waivers(app, make, db_session):
    unit = make.unit()
    estate = unit.building.estate
    db_session.add(LateFeePolicy(estate=estate, grace_days=5, daily_percent=Decimal("0.03")))
    overdue = make.bill(unit, period="2026-10", amounts=("1000.00",), due_date=DUE)
    not_yet = make.bill(unit, period="2026-11", amounts=("1000.00",), due_date=date(2026, 12, 15))
    paid = make.bill(
        unit,
        period="2026-09",
        amounts=("10.00",),
        paid=Decimal("10.00"),
        status=BillStatus.paid,
        due_date=DUE,
    )
    today = DUE + timedelta(days=15)
    with app.app_context():
        assert assess_late_fees(db_session, estate.id, today) == 1
        db_session.commit()
        assert assess_late_fees(db_session, estate.id, today) == 0  # twice: nothing more
        db_session.commit()
    fees = dict(db_session.execute(select(Bill.id, Bill.late_fee)).all())
    assert fees[overdue.id] == Decimal("3.00") and fees[not_yet.id] == 0 and fees[paid.id] == 0
    overdue = db_session.get(Bill, overdue.id)
    with app.app_context():
        adjust_bill(db_session, overdue, "late_fee_waiver", "3.00", "首次逾期", actor=None)
        db_session.commit()
        # The waived fee is not charged again; a day later only the new day's fee is.
        assert assess_late_fees(db_session, estate.id, today) == 0
        assert assess_late_fees(db_session, estate.id, today + timedelta(days=1)) == 1
        db_session.commit()
    assert db_session.get(Bill, overdue.id).late_fee == Decimal("0.30")


def test_assessing_without_a_policy_changes_nothing(app, make, db_session):
    unit = make.unit()
    make.bill(unit, due_date=DUE)
    with app.app_context():
        assert assess_late_fees(db_session, unit.building.estate_id, DUE + timedelta(30)) == 0


# -- the policy form ---------------------------------------------------------------------
def policy_data(**fields) -> dict:
    return {
        "estate": "",
        "enabled": "y",
        "grace_days": "5",
        "daily_percent": "0.03",
        "daily_amount": "",
        "cap_percent": "",
        "cap_amount": "",
    } | fields


def policy_form(client, **fields):
    return post_form(client, "/admin/late_fee_policy/new/", policy_data(**fields))


def edit_policy(client, policy_id, **fields):
    url = f"/admin/late_fee_policy/edit/?id={policy_id}"
    return post_form(client, url, policy_data(**fields))


def invalid_fields(html: str) -> set[str]:
    return set(
        re.findall(
            r'<(?:input|select|textarea)[^>]*class="[^"]*is-invalid[^"]*"[^>]*'
            r'(?:id|name)="([a-z_]+)"',
            html,
        )
    )


@pytest.fixture
def own_estate(app, make):
    """An estate with no late-fee policy (the demo estate has one), and a client signed in
    as a finance clerk of it alone."""
    estate = make.estate()
    clerk = make.user(roles=["finance"], estates=[estate])
    client = app.test_client()
    assert login(client, clerk.username, FACTORY_PASSWORD).status_code == 302
    return estate, client


def policy_of(db_session, estate_id):
    return db_session.scalar(select(LateFeePolicy).where(LateFeePolicy.estate_id == estate_id))


def test_finance_sets_one_policy_per_estate(own_estate, db_session):
    estate, finance = own_estate
    assert policy_form(finance, estate=str(estate.id)).status_code == 302
    saved = policy_of(db_session, estate.id)
    assert saved.daily_percent == Decimal("0.03") and saved.grace_days == 5
    second = policy_form(finance, estate=str(estate.id), daily_percent="0.05")
    assert second.status_code == 200 and "该小区已有滞纳金规则" in second.text
    edit = edit_policy(
        finance,
        saved.id,
        estate=str(estate.id),
        grace_days="7",
        daily_percent="0.05",
        cap_percent="10",
    )
    assert edit.status_code == 302
    db_session.expire_all()
    assert db_session.get(LateFeePolicy, saved.id).grace_days == 7


def test_the_demo_estates_policy_is_the_one_to_change(login_as, demo, db_session):
    demo_policy = policy_of(db_session, demo)
    finance = login_as("finance")
    second = policy_form(finance, estate=str(demo), daily_percent="0.05")
    assert second.status_code == 200 and "该小区已有滞纳金规则" in second.text
    db_session.expire_all()
    assert db_session.scalars(
        select(LateFeePolicy.id).where(LateFeePolicy.estate_id == demo)
    ).all() == [demo_policy.id]
    assert db_session.get(LateFeePolicy, demo_policy.id).daily_percent == Decimal("0.03")
    edit = edit_policy(
        finance,
        demo_policy.id,
        estate=str(demo),
        grace_days="15",
        daily_percent="0.05",
        cap_percent="10",
    )
    assert edit.status_code == 302
    db_session.expire_all()
    assert db_session.get(LateFeePolicy, demo_policy.id).daily_percent == Decimal("0.05")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"daily_percent": "abc"}, "daily_percent"),
        ({"daily_percent": "1.5"}, "daily_percent"),
        ({"daily_percent": "-0.01"}, "daily_percent"),
        ({"daily_percent": "0.00001"}, "daily_percent"),
        ({"daily_percent": "NaN"}, "daily_percent"),
        ({"cap_amount": "-1"}, "cap_amount"),
        ({"cap_amount": "1e9"}, "cap_amount"),
        ({"cap_percent": "-5"}, "cap_percent"),
        ({"daily_amount": "1.001"}, "daily_amount"),
        ({"grace_days": "abc"}, "grace_days"),
        ({"grace_days": "-1"}, "grace_days"),
        ({"grace_days": "9" * 30}, "grace_days"),
    ],
)
def test_hostile_policy_input_is_a_form_error(own_estate, db_session, fields, field):
    estate, finance = own_estate
    response = policy_form(finance, estate=str(estate.id), **fields)
    assert response.status_code == 200
    assert field in invalid_fields(response.text)
    assert policy_of(db_session, estate.id) is None


def test_a_policy_for_another_estate_is_refused(login_as, make, db_session):
    other = make.estate()
    before = db_session.scalars(select(LateFeePolicy.id)).all()
    response = policy_form(login_as("finance"), estate=str(other.id))
    assert response.status_code == 200 and "estate" in invalid_fields(response.text)
    assert db_session.scalars(select(LateFeePolicy.id)).all() == before
    assert policy_of(db_session, other.id) is None
