"""Payments: partial and full, overpayment refused, stale forms refused, prepaid balances,
voids and refunds, receipt numbers, and the amount in Chinese capitals."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from models import (
    AuditLog,
    Bill,
    BillStatus,
    Building,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PrepaidAccount,
    ReceiptCounter,
    Unit,
)
from propadmin.services import ServiceError
from propadmin.services.payments import (
    apply_prepaid,
    next_receipt_no,
    record_payment,
    refund_payment,
    topup_prepaid,
    void_payment,
)
from propadmin.services.receipts import amount_in_capitals, receipt_number

from .helpers import post_form


@pytest.fixture
def pay(app, db_session):
    """``pay(fn, *args, **kw)``: call a service inside the app, then commit."""

    def _call(fn, *args, **kwargs):
        kwargs.setdefault("actor", None)
        with app.app_context():
            result = fn(db_session, *args, **kwargs)
        db_session.commit()
        return result

    return _call


def test_partial_then_full_payment_moves_the_status(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("100.00", "20.50"))
    assert bill.status is BillStatus.unpaid and bill.owed == Decimal("120.50")
    first = pay(record_payment, bill, "20.50", "cash", "")
    assert bill.status is BillStatus.partial and bill.owed == Decimal("100.00")
    second = pay(record_payment, bill, "100", "wechat", "WX-42", expected_version=bill.version)
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.status is BillStatus.paid and bill.paid == Decimal("120.50") and bill.owed == 0
    assert (first.receipt_no, second.receipt_no) == (1, 2)
    assert second.reference == "WX-42" and second.method is PaymentMethod.wechat


def test_overpayment_is_refused_with_what_is_owed(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("1234.50",))
    with pytest.raises(ServiceError) as refused:
        pay(record_payment, bill, "1234.51", "cash", "")
    assert "¥1,234.50" in refused.value.message and refused.value.field == "amount"
    db_session.rollback()
    assert db_session.scalar(select(Payment).where(Payment.bill_id == bill.id)) is None


def test_a_form_made_from_an_older_version_is_refused(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("80.00",))
    seen = bill.version
    pay(record_payment, bill, "10", "cash", "", expected_version=seen)
    with pytest.raises(ServiceError) as refused:
        pay(record_payment, bill, "10", "cash", "", expected_version=seen)
    assert "账单已有变动" in refused.value.message
    db_session.rollback()
    assert db_session.get(Bill, bill.id).paid == Decimal("10.00")


@pytest.mark.parametrize(
    ("amount", "method", "reference", "field"),
    [
        ("abc", "cash", "", "amount"),
        ("1e9", "cash", "", "amount"),
        ("-5", "cash", "", "amount"),
        ("1.001", "cash", "", "amount"),
        ("0", "cash", "", "amount"),
        ("10", "bitcoin", "", "method"),
        ("10", "prepaid", "", "method"),
        ("10", "cash", "x" * 300, "reference"),
    ],
)
def test_bad_payment_input_is_refused_by_its_field(make, pay, amount, method, reference, field):
    bill = make.bill(make.unit(), amounts=("50.00",))
    with pytest.raises(ServiceError) as refused:
        pay(record_payment, bill, amount, method, reference)
    assert refused.value.field == field


def test_a_void_bill_cannot_be_paid(make, pay):
    bill = make.bill(make.unit(), status=BillStatus.void)
    with pytest.raises(ServiceError):
        pay(record_payment, bill, "1", "cash", "")


def test_receipt_numbers_count_per_estate(make, pay, db_session):
    unit_a, unit_b = make.unit(), make.unit()
    a1 = pay(record_payment, make.bill(unit_a), "1", "cash", "")
    b1 = pay(record_payment, make.bill(unit_b), "1", "cash", "")
    a2 = pay(topup_prepaid, unit_a, "5", "cash", "")
    assert (a1.receipt_no, b1.receipt_no, a2.receipt_no) == (1, 1, 2)


def test_a_rolled_back_payment_leaves_no_gap(app, make, pay, db_session):
    unit = make.unit()
    estate_id = unit.building.estate_id
    pay(record_payment, make.bill(unit), "1", "cash", "")
    with app.app_context():
        assert next_receipt_no(db_session, estate_id) == 2
    db_session.rollback()
    later = pay(record_payment, make.bill(unit, period="2026-11"), "1", "cash", "")
    assert later.receipt_no == 2


def test_topup_then_apply_prepaid_pays_the_bill(make, pay, db_session):
    unit = make.unit()
    payer = make.resident(unit=unit, name="预存户主")
    topup = pay(topup_prepaid, unit, "150.00", "alipay", "ALI-1")
    assert topup.bill_id is None and topup.receipt_no == 1 and topup.payer_id == payer.id
    bill = make.bill(unit, amounts=("100.00",))
    assert pay(apply_prepaid, [bill.id]) == 1
    db_session.expire_all()
    assert db_session.get(Bill, bill.id).status is BillStatus.paid
    account = db_session.scalar(select(PrepaidAccount).where(PrepaidAccount.unit_id == unit.id))
    assert account.balance == Decimal("50.00")
    taken = db_session.scalar(
        select(Payment).where(Payment.bill_id == bill.id, Payment.method == PaymentMethod.prepaid)
    )
    assert taken.amount == Decimal("100.00") and taken.receipt_no is None


def test_a_topup_pays_open_bills_oldest_first(make, pay, db_session):
    unit = make.unit()
    old = make.bill(unit, period="2026-09", amounts=("60.00",))
    new = make.bill(unit, period="2026-10", amounts=("60.00",))
    pay(topup_prepaid, unit, "100.00", "cash", "")
    db_session.expire_all()
    assert db_session.get(Bill, old.id).status is BillStatus.paid
    assert db_session.get(Bill, new.id).owed == Decimal("20.00")
    account = db_session.scalar(select(PrepaidAccount).where(PrepaidAccount.unit_id == unit.id))
    assert account.balance == 0


def test_apply_prepaid_without_balances_costs_one_query(make, app, db_session, count_queries):
    unit = make.unit()
    ids = [make.bill(unit, period=f"2025-{m:02d}").id for m in range(1, 13)]
    with app.app_context(), count_queries() as queries:
        assert apply_prepaid(db_session, ids, actor=None) == 0
    assert len(queries) == 1


def test_void_needs_a_reason_and_lowers_paid(make, pay, db_session):
    bill = make.bill(make.unit(), amounts=("50.00",))
    payment = pay(record_payment, bill, "50", "cash", "")
    for reason in ("", "   ", "x" * 256):
        with pytest.raises(ServiceError) as refused:
            pay(void_payment, payment, reason)
        assert refused.value.field == "reason"
        db_session.rollback()
    pay(void_payment, payment, "收错了户号")
    db_session.expire_all()
    bill, payment = db_session.get(Bill, bill.id), db_session.get(Payment, payment.id)
    assert bill.paid == 0 and bill.status is BillStatus.unpaid
    assert payment.status is PaymentStatus.voided and payment.receipt_no == 1
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.entity == "Payment", AuditLog.action == "update")
    )
    assert entry.changes["void_reason"] == ["", "收错了户号"]
    with pytest.raises(ServiceError):
        pay(void_payment, payment, "again")


def test_a_spent_topup_cannot_be_refunded(make, pay, db_session):
    unit = make.unit()
    make.bill(unit, amounts=("80.00",))
    topup = pay(topup_prepaid, unit, "100.00", "cash", "")
    with pytest.raises(ServiceError) as refused:
        pay(refund_payment, topup, "退款")
    assert "¥100.00" in refused.value.message
    db_session.rollback()
    assert db_session.get(Payment, topup.id).status is PaymentStatus.valid


def test_voiding_a_prepaid_payment_returns_the_money_to_the_balance(make, pay, db_session):
    unit = make.unit()
    bill = make.bill(unit, amounts=("30.00",))
    pay(topup_prepaid, unit, "30.00", "cash", "")
    taken = db_session.scalar(select(Payment).where(Payment.bill_id == bill.id))
    pay(void_payment, taken, "不应从预存扣")
    db_session.expire_all()
    account = db_session.scalar(select(PrepaidAccount).where(PrepaidAccount.unit_id == unit.id))
    assert account.balance == Decimal("30.00") and db_session.get(Bill, bill.id).paid == 0


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0.05", "伍分"),
        ("10.00", "壹拾元整"),
        ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
        ("100000.07", "壹拾万元零柒分"),
        ("120.50", "壹佰贰拾元伍角整"),
        ("1005.00", "壹仟零伍元整"),
        ("10010.00", "壹万零壹拾元整"),
        ("100010000.00", "壹亿零壹万元整"),
    ],
)
def test_amount_in_chinese_capitals(amount, words):
    assert amount_in_capitals(Decimal(amount)) == words


def test_receipt_numbers_print_with_eight_digits():
    assert receipt_number(42) == "00000042"


# -- the cashier's pages ------------------------------------------------------------------
@pytest.fixture
def demo_unit(demo, db_session):
    return db_session.scalar(
        select(Unit).join(Building).where(Building.estate_id == demo).order_by(Unit.id).limit(1)
    )


def last_receipt_no(db_session, estate_id) -> int:
    """The estate's last receipt number (the demo estate's payments have used some)."""
    last = db_session.scalar(
        select(ReceiptCounter.last_no).where(ReceiptCounter.estate_id == estate_id)
    )
    return last or 0


def field_error(page: str, field: str, message: str) -> bool:
    """The message is shown right under the field, which is marked invalid."""
    start = page.index(f'id="{field}"')
    return (
        "is-invalid" in page[page.rindex("<", 0, start) : start]
        and message
        in page[start:][: page[start:].index("</div>", page[start:].index("invalid-feedback")) + 6]
    )


def test_finance_records_a_payment_and_prints_its_receipt(login_as, make, demo_unit, db_session):
    bill = make.bill(demo_unit, amounts=("100.00", "20.50"))
    number = last_receipt_no(db_session, bill.estate_id) + 1
    finance = login_as("finance")
    url = f"/admin/payment/record/?bill_id={bill.id}"
    page = finance.get(url)
    assert page.status_code == 200 and 'value="120.50"' in page.text
    response = post_form(
        finance,
        url,
        {"amount": "120.50", "method": "wechat", "reference": "WX-1", "version": str(bill.version)},
    )
    assert response.status_code == 302 and "/admin/payment/receipt/" in response.location
    receipt = finance.get(response.location)
    assert receipt.status_code == 200
    text = receipt.text
    assert receipt_number(number) in text and "示范小区" in text and demo_unit.label in text
    assert "¥120.50" in text and "壹佰贰拾元伍角整" in text and "微信支付" in text
    assert "receipt.css" in text
    db_session.expire_all()
    assert db_session.get(Bill, bill.id).status is BillStatus.paid
    payment = db_session.scalar(select(Payment).where(Payment.bill_id == bill.id))
    assert payment.receipt_no == number


def test_a_second_cashier_with_the_same_page_is_refused(login_as, make, demo_unit, db_session):
    bill = make.bill(demo_unit, amounts=("100.00",))
    one, two = login_as("finance"), login_as("admin")
    url = f"/admin/payment/record/?bill_id={bill.id}"
    data = {"amount": "50.00", "method": "cash", "reference": "", "version": str(bill.version)}
    assert post_form(one, url, data).status_code == 302
    again = post_form(two, url, data)
    assert again.status_code == 200 and field_error(again.text, "amount", "账单已有变动")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.paid == Decimal("50.00")
    # Paid in full meanwhile: the page says so, with the refusal.
    data["version"] = str(bill.version)
    assert post_form(one, url, data).status_code == 302
    late = post_form(two, url, data)
    assert "此账单没有欠款" in late.text and "超额收款被拒绝" in late.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "abc"}, "amount", "请输入以元为单位的金额"),
        ({"amount": "1e9"}, "amount", "金额过大"),
        ({"amount": "-5"}, "amount", "金额必须大于零"),
        ({"amount": "1.001"}, "amount", "最多两位小数"),
        ({"amount": "60.01"}, "amount", "超额收款被拒绝：尚欠 ¥60.00"),
        ({"reference": "x" * 300}, "reference", "最多 64 个字符"),
        ({"method": "prepaid"}, "method", "请选择付款方式"),
        ({"version": "x" * 300}, "amount", "账单已有变动"),
    ],
)
def test_hostile_payment_input_is_a_form_error(
    login_as, make, demo_unit, db_session, data, field, message
):
    bill = make.bill(demo_unit, amounts=("60.00",))
    finance = login_as("finance")
    url = f"/admin/payment/record/?bill_id={bill.id}"
    form = {"amount": "10", "method": "cash", "reference": "", "version": str(bill.version)}
    response = post_form(finance, url, form | data)
    assert response.status_code == 200
    assert field_error(response.text, field, message)
    assert db_session.scalar(select(Payment).where(Payment.bill_id == bill.id)) is None


def test_another_estates_bill_and_receipt_are_not_found(login_as, make, pay, db_session):
    other_bill = make.bill(make.unit(), amounts=("50.00",))
    other_payment = pay(record_payment, other_bill, "10", "cash", "")
    finance = login_as("finance")
    for url in (
        f"/admin/payment/receipt/?id={other_payment.id}",
        f"/admin/payment/void/?id={other_payment.id}",
        f"/admin/payment/details/?id={other_payment.id}",
        f"/admin/payment/record/?bill_id={other_bill.id}",
        f"/admin/payment/adjust/?bill_id={other_bill.id}",
        f"/admin/payment/void-bill/?bill_id={other_bill.id}",
        "/admin/payment/receipt/?id=abc",
        "/admin/payment/record/?bill_id=99999999999",
    ):
        response = finance.get(url, follow_redirects=True)
        assert response.status_code in (404, 200), url
        assert "记录不存在" in response.text or response.status_code == 404, url
    data = {"amount": "10", "method": "cash", "reference": "", "version": "1"}
    url = f"/admin/payment/record/?bill_id={other_bill.id}"
    assert post_form(finance, "/admin/payment/", data, post_url=url).status_code == 404
    db_session.expire_all()
    assert db_session.get(Bill, other_bill.id).paid == Decimal("10.00")


def test_topup_by_unit_label_and_another_estates_unit_is_refused(
    login_as, make, demo_unit, db_session
):
    # A demo unit has open bills, which a top-up would pay at once: a new one has none.
    unit = make.unit(demo_unit.building, number="9902")  # not a demo number
    finance = login_as("finance")
    other = make.unit(number="9901")
    url = "/admin/payment/topup/"
    page = finance.get(f"{url}?unit_id={unit.id}")
    assert page.status_code == 200 and unit.label in page.text
    refused = post_form(
        finance, url, {"unit": other.label, "amount": "10", "method": "cash", "reference": ""}
    )
    assert field_error(refused.text, "unit", "您管理的小区中没有这个房屋")
    assert finance.get(f"{url}?unit_id={other.id}").status_code == 404
    for amount, message in (("abc", "请输入以元为单位的金额"), ("1.001", "最多两位小数")):
        data = {"unit": unit.label, "amount": amount, "method": "cash", "since": "0"}
        assert field_error(post_form(finance, url, data).text, "amount", message)
    done = post_form(
        finance,
        url,
        {"unit": unit.label, "amount": "88.00", "method": "bank", "reference": "B-1", "since": "0"},
    )
    assert done.status_code == 302
    balance = db_session.scalar(
        select(PrepaidAccount.balance).where(PrepaidAccount.unit_id == unit.id)
    )
    assert balance == Decimal("88.00")
    assert "¥88.00" in finance.get("/admin/prepaid/").text


def test_voiding_from_the_page_needs_a_reason(login_as, make, demo_unit, pay, db_session):
    bill = make.bill(demo_unit, amounts=("50.00",))
    number = last_receipt_no(db_session, bill.estate_id) + 1
    payment = pay(record_payment, bill, "50", "cash", "")
    assert payment.receipt_no == number
    finance = login_as("finance")
    details = f"/admin/payment/details/?id={payment.id}"
    assert "作废时间" not in finance.get(details).text
    url = f"/admin/payment/void/?id={payment.id}"
    for reason, message in (("", "请填写原因"), ("x" * 300, "最多 255 个字符")):
        response = post_form(finance, url, {"kind": "void", "reason": reason})
        assert field_error(response.text, "reason", message)
    assert post_form(finance, url, {"kind": "refund", "reason": "住户退款"}).status_code == 302
    db_session.expire_all()
    assert db_session.get(Payment, payment.id).status is PaymentStatus.refunded
    assert db_session.get(Bill, bill.id).paid == 0
    receipt = finance.get(f"/admin/payment/receipt/?id={payment.id}").text
    assert "作废" in receipt and "住户退款" in receipt and receipt_number(number) in receipt
    assert "作废时间" in finance.get(details).text
