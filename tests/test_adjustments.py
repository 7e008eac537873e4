"""Discounts, waivers and voided bills: a reason each time, never below what is paid."""

import re
from decimal import Decimal

import pytest
from flask import render_template
from flask_login import login_user
from flask_principal import Identity
from sqlalchemy import select

from models import (
    AdjustmentKind,
    AuditLog,
    Bill,
    BillAdjustment,
    BillStatus,
    Building,
    Payment,
    PaymentMethod,
    PrepaidAccount,
    Unit,
    User,
)
from propadmin.extensions import principal
from propadmin.services import ServiceError
from propadmin.services.adjustments import adjust_bill, void_bill
from propadmin.services.payments import record_payment, topup_prepaid, void_payment

from .helpers import post_form
from .test_no_english import english_words
from .test_payments import field_error, pay

__all__ = ["pay"]  # a fixture, used by name


def test_a_discount_lowers_what_is_owed_and_is_recorded(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("200.00",))
    adjustment = pay(adjust_bill, bill, "discount", "20.00", "老人优惠")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.discount == Decimal("20.00") and bill.owed == Decimal("180.00")
    assert adjustment.reason == "老人优惠" and adjustment.kind is AdjustmentKind.discount
    created = db_session.scalar(
        select(AuditLog).where(AuditLog.entity == "BillAdjustment", AuditLog.action == "create")
    )
    assert created.changes["reason"] == "老人优惠"


@pytest.mark.parametrize("reason", ["", "  ", "x" * 256])
def test_a_discount_without_a_proper_reason_is_refused(make, pay, db_session, reason):
    bill = make.bill(make.unit(), amounts=("200.00",))
    with pytest.raises(ServiceError) as refused:
        pay(adjust_bill, bill, "discount", "20.00", reason)
    assert refused.value.field == "reason"
    db_session.rollback()
    assert db_session.get(Bill, bill.id).discount == 0


def test_a_waiver_cannot_take_off_more_than_is_owed(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("100.00",))
    pay(record_payment, bill, "70.00", "cash", "")
    with pytest.raises(ServiceError) as refused:
        pay(adjust_bill, bill, "waiver", "30.01", "困难户")
    assert "¥30.00" in refused.value.message
    db_session.rollback()
    pay(adjust_bill, bill, "waiver", "30.00", "困难户")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.owed == 0 and bill.status is BillStatus.paid


def test_a_late_fee_waiver_lowers_the_late_fee_only(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("100.00",), late_fee=Decimal("3.00"))
    with pytest.raises(ServiceError):
        pay(adjust_bill, bill, "late_fee_waiver", "3.01", "首次逾期")
    db_session.rollback()
    pay(adjust_bill, bill, "late_fee_waiver", "3.00", "首次逾期")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert (bill.late_fee, bill.discount, bill.owed) == (0, 0, Decimal("100.00"))


@pytest.mark.parametrize(
    ("kind", "amount", "field"),
    [
        ("gift", "1", "kind"),
        ("discount", "abc", "amount"),
        ("discount", "1.001", "amount"),
        ("discount", "-5", "amount"),
        ("discount", "1e9", "amount"),
    ],
)
def test_bad_adjustment_input_is_refused_by_its_field(make, pay, kind, amount, field):
    bill = make.bill(make.unit())
    with pytest.raises(ServiceError) as refused:
        pay(adjust_bill, bill, kind, amount, "理由")
    assert refused.value.field == field


def test_a_bill_with_money_paid_cannot_be_voided_until_its_payments_are(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("100.00",))
    payment = pay(record_payment, bill, "10.00", "cash", "")
    with pytest.raises(ServiceError) as refused:
        pay(void_bill, bill, "重复出账")
    assert refused.value.field == "reason"
    db_session.rollback()
    pay(void_payment, payment, "收错")
    with pytest.raises(ServiceError):
        pay(void_bill, bill, "")
    db_session.rollback()
    pay(void_bill, bill, "重复出账")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.status is BillStatus.void and bill.void_reason == "重复出账" and bill.owed == 0
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.entity == "Bill", AuditLog.action == "update")
    )
    assert entry.changes["void_reason"] == ["", "重复出账"]
    with pytest.raises(ServiceError):
        pay(adjust_bill, bill, "discount", "1", "作废后")
    db_session.rollback()
    assert (
        db_session.scalar(select(BillAdjustment).where(BillAdjustment.bill_id == bill.id)) is None
    )


# -- the pages ----------------------------------------------------------------------------
@pytest.fixture
def demo_bill(demo, db_session, make):
    unit = db_session.scalar(
        select(Unit).join(Building).where(Building.estate_id == demo).order_by(Unit.id).limit(1)
    )
    return make.bill(unit, amounts=("200.00",), late_fee=Decimal("6.00"))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": ""}, "reason", "请填写原因"),
        ({"reason": "x" * 300}, "reason", "最多 255 个字符"),
        ({"amount": "abc"}, "amount", "请输入以元为单位的金额"),
        ({"amount": "1e9"}, "amount", "金额过大"),
        ({"amount": "-5"}, "amount", "金额必须大于零"),
        ({"amount": "1.001"}, "amount", "最多两位小数"),
        ({"amount": "206.01"}, "amount", "最多只能减免 ¥206.00"),
        ({"kind": "late_fee_waiver", "amount": "6.01"}, "amount", "滞纳金只有 ¥6.00"),
        ({"kind": "gift"}, "kind", "请选择是优惠还是减免"),
    ],
)
def test_hostile_adjustment_input_is_a_form_error(
    login_as, demo_bill, db_session, data, field, message
):
    finance = login_as("finance")
    url = f"/admin/payment/adjust/?bill_id={demo_bill.id}"
    form = {"kind": "discount", "amount": "10", "reason": "老人优惠"} | data
    response = post_form(finance, url, form)
    assert response.status_code == 200 and field_error(response.text, field, message)
    db_session.expire_all()
    assert db_session.get(Bill, demo_bill.id).discount == 0


def test_a_discount_and_a_void_from_the_bills_buttons(login_as, demo_bill, db_session):
    finance = login_as("finance")
    url = f"/admin/payment/adjust/?bill_id={demo_bill.id}"
    done = send_page(finance, url, {"kind": "waiver", "amount": "6.00", "reason": "困难户"})
    assert done.status_code == 302
    listed = finance.get("/admin/bill_adjustment/").text
    assert "困难户" in listed and "减免" in listed and "¥6.00" in listed
    url = f"/admin/payment/void-bill/?bill_id={demo_bill.id}"
    assert field_error(post_form(finance, url, {"reason": ""}).text, "reason", "请填写原因")
    assert post_form(finance, url, {"reason": "重复出账"}).status_code == 302
    db_session.expire_all()
    bill = db_session.get(Bill, demo_bill.id)
    assert bill.status is BillStatus.void and bill.void_reason == "重复出账"


def test_the_bill_buttons_show_only_what_the_user_may_do(app, demo_bill, make, demo):
    cashier = make.role(permissions=("dashboard.view", "billing.view", "billing.collect"))
    collector = make.user(roles=[cashier.name], estates=[demo_bill.estate])
    for who, expected, hidden in (
        ("finance", ("payment/record", "payment/adjust", "payment/void-bill"), ()),
        (collector.username, ("payment/record",), ("payment/adjust", "payment/void-bill")),
    ):
        with app.test_request_context():
            user = make.session.scalar(select(User).where(User.username == who))
            login_user(user)
            principal.set_identity(Identity(user.id))  # whose permissions can() reads
            html = render_template("admin/_bill_actions.html", bill=demo_bill)
        assert all(link in html for link in expected), (who, html)
        assert not any(link in html for link in hidden), who


def test_payment_pages_speak_chinese(login_as, demo_bill, db_session):
    finance = login_as("finance")
    bill_id = demo_bill.id
    topup = send_page(
        finance,
        "/admin/payment/topup/",
        {"unit": demo_bill.unit.label, "amount": "300", "method": "cash", "reference": "现金"},
    )
    assert topup.status_code == 302
    # The demo estate has a top-up of its own: take the one just made.
    payment = db_session.scalar(
        select(Payment).where(
            Payment.bill_id.is_(None), Payment.unit_id == demo_bill.unit_id, Payment.amount == 300
        )
    )
    adjustment_url = "/admin/bill_adjustment/"
    send_page(
        finance,
        f"/admin/payment/adjust/?bill_id={bill_id}",
        {"kind": "discount", "amount": "1", "reason": "优惠"},
    )
    pages = [
        "/admin/payment/",
        f"/admin/payment/details/?id={payment.id}",
        f"/admin/payment/receipt/?id={payment.id}",
        f"/admin/payment/void/?id={payment.id}",
        f"/admin/payment/record/?bill_id={bill_id}",
        f"/admin/payment/adjust/?bill_id={bill_id}",
        f"/admin/payment/void-bill/?bill_id={bill_id}",
        "/admin/payment/topup/",
        "/admin/prepaid/",
        adjustment_url,
        "/admin/late_fee_policy/",
        "/admin/late_fee_policy/new/",
        topup.location,
    ]
    for url in pages:
        page = finance.get(url, headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200, url
        assert english_words(page.text) - {"CSV", "XLSX"} == set(), url


def test_money_lists_send_the_same_queries_for_more_rows(
    app, login_as, demo_bill, make, db_session, count_queries
):
    finance = login_as("finance")
    lists = ("/admin/payment/", "/admin/prepaid/", "/admin/bill_adjustment/")

    def queries_per_list():
        counts = []
        for url in lists:
            with count_queries() as queries:
                assert finance.get(url).status_code == 200
            counts.append(len(queries))
        return counts

    made = []

    def add_rows(n):
        with app.app_context():
            for _ in range(n):
                made.append(len(made))
                building = make.building(demo_bill.estate, name=f"测{len(made)}号楼")
                unit = make.unit(building)
                bill = make.bill(unit, amounts=("10.00",))
                record_payment(db_session, bill, "1", "cash", "", actor=None)
                topup_prepaid(db_session, unit, "5", "cash", "", actor=None)
                adjust_bill(db_session, bill, "discount", "1", "优惠", actor=None)
            db_session.commit()

    add_rows(1)
    few = queries_per_list()
    add_rows(4)
    assert queries_per_list() == few


# -- the same page sent twice (a double click, a browser's re-POST) -------------------------
HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*>')


def hidden_fields(client, url: str) -> dict:
    """The hidden fields of the page's form (its CSRF token, the bill's version...)."""
    hidden = {}
    for tag in HIDDEN_RE.findall(client.get(url).text):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            hidden[name.group(1)] = value.group(1) if value else ""
    assert "csrf_token" in hidden
    return hidden


def send_page(client, url: str, data: dict):
    """Open the page and send its form, as a browser does (hidden fields included)."""
    return client.post(url, data=hidden_fields(client, url) | data)


def send_twice(client, url: str, data: dict):
    """Open the page once, then send its form twice, as a double click does: the same
    CSRF token and hidden fields each time. Returns both answers."""
    form = hidden_fields(client, url) | data
    return client.post(url, data=form), client.post(url, data=form)


def test_a_stale_bill_version_is_refused_by_adjust_bill(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("100.00",))
    seen = bill.version
    pay(adjust_bill, bill, "discount", "10.00", "优惠", expected_version=seen)
    with pytest.raises(ServiceError) as refused:
        pay(adjust_bill, bill, "discount", "10.00", "优惠", expected_version=seen)
    assert "账单已有变动" in refused.value.message and refused.value.field == "amount"
    db_session.rollback()
    assert db_session.get(Bill, bill.id).discount == Decimal("10.00")


def test_the_adjust_page_sent_twice_takes_off_once(login_as, demo_bill, db_session):
    finance = login_as("finance")
    url = f"/admin/payment/adjust/?bill_id={demo_bill.id}"
    first, second = send_twice(finance, url, {"kind": "discount", "amount": "5", "reason": "优惠"})
    assert first.status_code == 302
    assert second.status_code == 200 and field_error(second.text, "amount", "账单已有变动")
    db_session.expire_all()
    assert db_session.get(Bill, demo_bill.id).discount == Decimal("5.00")
    adjustments = db_session.scalars(
        select(BillAdjustment).where(BillAdjustment.bill_id == demo_bill.id)
    ).all()
    assert len(adjustments) == 1


def test_the_topup_page_sent_twice_records_once(login_as, demo_bill, make, db_session):
    unit = make.unit(demo_bill.unit.building, number="9903")  # no open bills
    finance = login_as("finance")
    url = f"/admin/payment/topup/?unit_id={unit.id}"
    data = {"unit": unit.label, "amount": "50.00", "method": "cash", "reference": ""}
    first, second = send_twice(finance, url, data)
    assert first.status_code == 302
    assert second.status_code == 200 and field_error(second.text, "amount", "表单是否提交了两次")
    db_session.expire_all()
    topups = db_session.scalars(select(Payment).where(Payment.unit_id == unit.id)).all()
    assert len(topups) == 1 and topups[0].receipt_no is not None
    balance = db_session.scalar(
        select(PrepaidAccount.balance).where(PrepaidAccount.unit_id == unit.id)
    )
    assert balance == Decimal("50.00")
    # A fresh page records another; a page without its token records nothing.
    again, _ = send_twice(finance, url, data)
    assert again.status_code == 302
    stale = post_form(finance, url, data | {"since": "x"})
    assert stale.status_code == 200 and field_error(stale.text, "amount", "请重新打开此页")
    assert len(db_session.scalars(select(Payment).where(Payment.unit_id == unit.id)).all()) == 2


def test_money_taken_from_the_balance_has_no_receipt_page(login_as, demo_bill, pay, db_session):
    pay(topup_prepaid, demo_bill.unit, "500.00", "cash", "")
    taken = db_session.scalar(
        select(Payment).where(
            Payment.bill_id == demo_bill.id, Payment.method == PaymentMethod.prepaid
        )
    )
    assert taken.receipt_no is None
    finance = login_as("finance")
    details = finance.get(f"/admin/payment/details/?id={taken.id}").text
    assert "/admin/payment/receipt/" not in details and "预存时已开收据" in details
    receipt = finance.get(f"/admin/payment/receipt/?id={taken.id}")
    assert receipt.status_code == 302
    shown = finance.get(receipt.location)
    assert "预存时已开收据" in shown.text
