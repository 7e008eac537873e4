"""Discounts, waivers and voided bills: a reason each time, never below what is paid."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from models import AdjustmentKind, AuditLog, Bill, BillAdjustment, BillStatus
from propadmin.services import ServiceError
from propadmin.services.adjustments import adjust_bill, void_bill
from propadmin.services.payments import record_payment, void_payment


@pytest.fixture
def do(app, db_session):
    def _call(fn, *args, **kwargs):
        kwargs.setdefault("actor", None)
        with app.app_context():
            result = fn(db_session, *args, **kwargs)
        db_session.commit()
        return result

    return _call


def test_a_discount_lowers_what_is_owed_and_is_recorded(make, do, db_session):
    bill = make.bill(make.unit(), amounts=("200.00",))
    adjustment = do(adjust_bill, bill, "discount", "20.00", "老人优惠")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.discount == Decimal("20.00") and bill.owed == Decimal("180.00")
    assert adjustment.reason == "老人优惠" and adjustment.kind is AdjustmentKind.discount
    created = db_session.scalar(
        select(AuditLog).where(AuditLog.entity == "BillAdjustment", AuditLog.action == "create")
    )
    assert created.changes["reason"] == "老人优惠"


@pytest.mark.parametrize("reason", ["", "  ", "x" * 256])
def test_a_discount_without_a_proper_reason_is_refused(make, do, db_session, reason):
    bill = make.bill(make.unit(), amounts=("200.00",))
    with pytest.raises(ServiceError) as refused:
        do(adjust_bill, bill, "discount", "20.00", reason)
    assert refused.value.field == "reason"
    db_session.rollback()
    assert db_session.get(Bill, bill.id).discount == 0


def test_a_waiver_cannot_take_off_more_than_is_owed(make, do, db_session):
    bill = make.bill(make.unit(), amounts=("100.00",))
    do(record_payment, bill, "70.00", "cash", "")
    with pytest.raises(ServiceError) as refused:
        do(adjust_bill, bill, "waiver", "30.01", "困难户")
    assert "¥30.00" in refused.value.message
    db_session.rollback()
    do(adjust_bill, bill, "waiver", "30.00", "困难户")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.owed == 0 and bill.status is BillStatus.paid


def test_a_late_fee_waiver_lowers_the_late_fee_only(make, do, db_session):
    bill = make.bill(make.unit(), amounts=("100.00",), late_fee=Decimal("3.00"))
    with pytest.raises(ServiceError):
        do(adjust_bill, bill, "late_fee_waiver", "3.01", "首次逾期")
    db_session.rollback()
    do(adjust_bill, bill, "late_fee_waiver", "3.00", "首次逾期")
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
def test_bad_adjustment_input_is_refused_by_its_field(make, do, kind, amount, field):
    bill = make.bill(make.unit())
    with pytest.raises(ServiceError) as refused:
        do(adjust_bill, bill, kind, amount, "理由")
    assert refused.value.field == field


def test_a_bill_with_money_paid_cannot_be_voided_until_its_payments_are(make, do, db_session):
    bill = make.bill(make.unit(), amounts=("100.00",))
    payment = do(record_payment, bill, "10.00", "cash", "")
    with pytest.raises(ServiceError) as refused:
        do(void_bill, bill, "重复出账")
    assert refused.value.field == "reason"
    db_session.rollback()
    do(void_payment, payment, "收错")
    with pytest.raises(ServiceError):
        do(void_bill, bill, "")
    db_session.rollback()
    do(void_bill, bill, "重复出账")
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.status is BillStatus.void and bill.void_reason == "重复出账" and bill.owed == 0
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.entity == "Bill", AuditLog.action == "update")
    )
    assert entry.changes["void_reason"] == ["", "重复出账"]
    with pytest.raises(ServiceError):
        do(adjust_bill, bill, "discount", "1", "作废后")
    db_session.rollback()
    assert (
        db_session.scalar(select(BillAdjustment).where(BillAdjustment.bill_id == bill.id)) is None
    )
