"""Cashiers at the same moment: threads, each with a session and connection of its own,
released together by a barrier, on SQLite and PostgreSQL. Nobody overpays, one form
version is paid once, and receipt numbers stay 1..n with no gap and no repeat."""

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from models import Bill, BillStatus, Payment, PrepaidAccount, Unit
from propadmin.services import ServiceError
from propadmin.services.payments import record_payment, topup_prepaid

pytestmark = pytest.mark.committed


def run_together(app, count, work):
    """Run ``work(session, i)`` in ``count`` threads at once; each commits its own
    transaction, or rolls it back on a ServiceError. Returns the outcomes by index:
    the work's result, or the ServiceError."""
    from propadmin.extensions import db

    with app.app_context():
        engine = db.engine
    barrier = threading.Barrier(count)
    outcomes: dict[int, object] = {}

    def one(i):
        with app.app_context(), sa.orm.Session(engine) as session:
            session.info["actor_name"] = f"cashier {i}"
            try:
                prepared = work.prepare(session, i) if hasattr(work, "prepare") else None
                barrier.wait(timeout=30)
                outcomes[i] = work(session, i, prepared)
                session.commit()
            except ServiceError as exc:
                session.rollback()
                outcomes[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == count, "a thread died without an outcome"
    return outcomes


class PayBill:
    """Each thread loads the bill (as a cashier's page would), then pays."""

    def __init__(self, bill_ids, amount, *, with_version=False):
        self.bill_ids, self.amount, self.with_version = bill_ids, amount, with_version

    def prepare(self, session, i):
        bill = session.get(Bill, self.bill_ids[i % len(self.bill_ids)])
        session.commit()  # the page was rendered; its transaction is over
        return bill, bill.version

    def __call__(self, session, i, prepared):
        bill, version = prepared
        return record_payment(
            session,
            bill,
            self.amount,
            "cash",
            f"thread {i}",
            actor=None,
            expected_version=version if self.with_version else None,
        ).receipt_no


def successes(outcomes):
    return [o for o in outcomes.values() if not isinstance(o, ServiceError)]


def test_two_cashiers_with_the_same_form_version_pay_once(app, make, db_session):
    bill = make.bill(make.unit(), amounts=("300.00",))
    outcomes = run_together(app, 2, PayBill([bill.id], "100.00", with_version=True))
    assert len(successes(outcomes)) == 1
    refused = next(o for o in outcomes.values() if isinstance(o, ServiceError))
    assert "账单已有变动" in refused.message
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.paid == Decimal("100.00") and bill.status is BillStatus.partial


def test_eight_cashiers_cannot_overpay_a_bill(app, make, db_session):
    bill = make.bill(make.unit(), amounts=("50.00",))
    outcomes = run_together(app, 8, PayBill([bill.id], "10.00"))
    assert len(successes(outcomes)) == 5
    db_session.expire_all()
    bill = db_session.get(Bill, bill.id)
    assert bill.paid == Decimal("50.00") and bill.status is BillStatus.paid
    payments = db_session.scalars(select(Payment).where(Payment.bill_id == bill.id)).all()
    assert sum(p.amount for p in payments) == Decimal("50.00") and len(payments) == 5


def test_receipt_numbers_stay_gap_free_under_concurrent_payments(app, make, db_session):
    building = make.building()
    bills = [make.bill(make.unit(building), amounts=("10.00",)).id for _ in range(20)]
    # One more payment takes a number, then its transaction fails and is rolled back:
    # that must leave no gap.
    failing = make.bill(make.unit(building), amounts=("10.00",)).id
    paying = PayBill(bills, "10.00")
    doomed = PayBill([failing], "10.00")

    class Mixed:
        def prepare(self, session, i):
            return (doomed if i == 20 else paying).prepare(session, i)

        def __call__(self, session, i, prepared):
            if i < 20:
                return paying(session, i, prepared)
            doomed(session, i, prepared)
            raise ServiceError("the printer caught fire")

    outcomes = run_together(app, 21, Mixed())
    assert isinstance(outcomes[20], ServiceError)
    assert sorted(successes(outcomes)) == list(range(1, 21))
    numbers = db_session.scalars(
        select(Payment.receipt_no).where(Payment.estate_id == building.estate_id)
    ).all()
    assert sorted(numbers) == list(range(1, 21))


def test_the_same_topup_page_sent_twice_at_once_records_once(app, make, db_session):
    unit_id = make.unit().id
    db_session.commit()

    class TopUp:
        def prepare(self, session, i):
            seen = session.scalar(select(sa.func.max(Payment.id))) or 0
            unit = session.get(Unit, unit_id)
            unit.building.estate_id  # noqa: B018 — loaded, as the page's lookup does
            session.commit()
            return unit, seen

        def __call__(self, session, i, prepared):
            unit, seen = prepared
            return topup_prepaid(
                session, unit, "20.00", "cash", "", actor=None, seen_payment_id=seen
            ).receipt_no

    outcomes = run_together(app, 2, TopUp())
    assert len(successes(outcomes)) == 1
    refused = next(o for o in outcomes.values() if isinstance(o, ServiceError))
    assert "表单是否提交了两次" in refused.message
    db_session.expire_all()
    balance = db_session.scalar(
        select(PrepaidAccount.balance).where(PrepaidAccount.unit_id == unit_id)
    )
    assert balance == Decimal("20.00")
    assert len(db_session.scalars(select(Payment).where(Payment.unit_id == unit_id)).all()) == 1
