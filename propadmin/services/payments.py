"""Payments: money received against a bill, prepaid top-ups and their use, voids and
refunds, and the estate's receipt numbers.

Every change to a bill's money is ONE conditional UPDATE (the bill is still open, the
money still owed covers the payment, and optionally the bill is still at the version the
cashier saw), so two cashiers can never both take the same money and nobody can overpay,
on SQLite and PostgreSQL alike. Receipt numbers come from a per-estate counter bumped in
the payment's own transaction: a rollback leaves no gap, and no number is used twice.

The functions flush and never commit; the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    OPEN_STATUSES,
    Bill,
    BillStatus,
    Occupancy,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PrepaidAccount,
    Unit,
    utcnow,
)

from . import ServiceError
from .bill_money import (
    BILL,
    CASHIER_METHODS,
    CHUNK,
    PAYMENT,
    audit_change,
    change_bill_money,
    check_method,
    clean_reason,
    clean_reference,
    fen,
    lower_balance,
    next_receipt_no,
    owed_clause,
    raise_balance,
    sync_accounts,
    yuan_text,
)
from .money import ZERO, parse_amount

__all__ = [
    "CASHIER_METHODS",
    "apply_prepaid",
    "next_receipt_no",
    "record_payment",
    "refund_payment",
    "topup_prepaid",
    "void_payment",
]


def record_payment(
    session: Session,
    bill: Bill,
    amount,
    method,
    reference: str | None,
    *,
    actor,
    expected_version: int | None = None,
    paid_at: datetime | None = None,
) -> Payment:
    """Record money received against ``bill``, with the estate's next receipt number.

    Raises ServiceError for a bad amount, method or reference, a void bill, an amount
    above what is owed, or — the conditional update found nothing to change — a bill
    that was paid, adjusted or changed meanwhile (``expected_version``: the version the
    cashier's form was made from)."""
    value = parse_amount(amount)
    method = check_method(method)
    reference = clean_reference(reference)
    if bill.status is BillStatus.void:
        raise ServiceError(_("This bill is void; it cannot be paid."), "amount")
    if value > bill.owed:
        raise ServiceError(
            _("Overpayment refused: owed %(owed)s.", owed=yuan_text(bill.owed)), "amount"
        )
    conditions = [owed_clause() >= fen(value)]
    if expected_version is not None:
        conditions.append(BILL.c.version == expected_version)
    if not change_bill_money(session, bill, paid=value, conditions=conditions):
        raise ServiceError(
            _("The bill changed while you were entering this payment; reload it."), "amount"
        )
    payment = Payment(
        estate_id=bill.estate_id,
        unit_id=bill.unit_id,
        bill_id=bill.id,
        payer_id=bill.payer_id,
        amount=value,
        method=method,
        reference=reference,
        paid_at=paid_at or utcnow(),
        receipt_no=next_receipt_no(session, bill.estate_id),
        recorded_by_id=getattr(actor, "id", None),
    )
    session.add(payment)
    session.flush()
    return payment


def _unit_payer(session: Session, unit: Unit) -> int | None:
    """Who pays the unit's bills today (for the top-up's receipt), if anyone is marked."""
    today = date.today()
    return session.scalar(
        select(Occupancy.resident_id)
        .where(
            Occupancy.unit_id == unit.id,
            Occupancy.is_payer.is_(True),
            or_(Occupancy.start_date.is_(None), Occupancy.start_date <= today),
            or_(Occupancy.end_date.is_(None), Occupancy.end_date >= today),
        )
        .order_by(Occupancy.id)
        .limit(1)
    )


def topup_prepaid(
    session: Session,
    unit: Unit,
    amount,
    method,
    reference,
    *,
    actor,
    seen_payment_id: int | None = None,
) -> Payment:
    """Money paid in advance for ``unit`` (预存): a payment without a bill, with a receipt
    number; the unit's prepaid balance goes up and at once pays its open bills, oldest
    first. Raises ServiceError for a bad amount, method or reference.

    ``seen_payment_id``: the last payment id the cashier's page knew of. A top-up of the
    unit made since (the same page sent twice, at once or later) refuses this one: the
    balance's UPDATE holds the account row, so of two at once the second waits, then
    sees the first. On that ServiceError the caller rolls back (the balance went up)."""
    value = parse_amount(amount)
    method = check_method(method)
    reference = clean_reference(reference)
    estate_id = unit.building.estate_id
    # No savepoint around these two: on SQLite one opened first would be the
    # transaction itself, and its RELEASE would commit the balance at once.
    raise_balance(session, unit, value)
    if seen_payment_id is not None and _topped_up_since(session, unit.id, seen_payment_id):
        raise ServiceError(
            _(
                "A prepayment for this unit was recorded after this page was opened"
                " (the form sent twice?); open the page again to record another."
            ),
            "amount",
        )
    payment = Payment(
        estate_id=estate_id,
        unit_id=unit.id,
        bill_id=None,
        payer_id=_unit_payer(session, unit),
        amount=value,
        method=method,
        reference=reference,
        paid_at=utcnow(),
        receipt_no=next_receipt_no(session, estate_id),
        recorded_by_id=getattr(actor, "id", None),
    )
    session.add(payment)
    session.flush()
    open_bills = session.scalars(
        select(Bill.id)
        .where(Bill.unit_id == unit.id, Bill.status.in_(OPEN_STATUSES))
        .order_by(Bill.due_date, Bill.id)
    ).all()
    if open_bills:
        apply_prepaid(session, open_bills, actor=actor)
    sync_accounts(session, {unit.id})
    return payment


def _topped_up_since(session: Session, unit_id: int, payment_id: int) -> bool:
    return (
        session.scalar(
            select(Payment.id)
            .where(Payment.unit_id == unit_id, Payment.bill_id.is_(None), Payment.id > payment_id)
            .limit(1)
        )
        is not None
    )


class _Skipped(Exception):
    """A bill left as it is (its savepoint undone); ``balance``: what the unit has left."""

    def __init__(self, balance: Decimal) -> None:
        super().__init__()
        self.balance = balance


def apply_prepaid(session: Session, bill_ids, *, actor) -> int:
    """Pay these bills from their units' prepaid balances: each open bill whose unit has
    money in advance gets min(balance, owed), method ``prepaid`` and no receipt number
    (the top-up had one). Bills are taken oldest first per unit. Returns how many bills
    were paid (fully or partly). One query per 2,000 bills finds those with a balance;
    only bills that are paid cost more."""
    ids = list(dict.fromkeys(bill_ids))
    candidates = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        candidates += session.execute(
            select(Bill, PrepaidAccount.balance)
            .join(PrepaidAccount, PrepaidAccount.unit_id == Bill.unit_id)
            .where(
                Bill.id.in_(chunk),
                Bill.status.in_(OPEN_STATUSES),
                PrepaidAccount.balance > 0,
            )
        ).all()
    if not candidates:
        return 0
    candidates.sort(key=lambda row: (row[0].unit_id, row[0].due_date, row[0].id))
    left: dict[int, Decimal] = {}
    paid_bills = 0
    for bill, balance in candidates:
        available = left.setdefault(bill.unit_id, balance)
        value = min(available, bill.owed)
        if value <= 0:
            continue
        try:
            with session.begin_nested():
                if not lower_balance(session, bill.unit_id, value):
                    raise _Skipped(ZERO)  # spent meanwhile; the next run tries again
                if not change_bill_money(
                    session, bill, paid=value, conditions=[owed_clause() >= fen(value)]
                ):
                    raise _Skipped(available)  # paid meanwhile
                session.add(
                    Payment(
                        estate_id=bill.estate_id,
                        unit_id=bill.unit_id,
                        bill_id=bill.id,
                        payer_id=bill.payer_id,
                        amount=value,
                        method=PaymentMethod.prepaid,
                        reference="",
                        paid_at=utcnow(),
                        receipt_no=None,
                        recorded_by_id=getattr(actor, "id", None),
                    )
                )
        except _Skipped as skipped:
            left[bill.unit_id] = skipped.balance
            continue
        left[bill.unit_id] = available - value
        paid_bills += 1
    session.flush()
    sync_accounts(session, set(left))
    return paid_bills


def _end_payment(session, payment: Payment, reason, status: PaymentStatus, actor) -> Payment:
    reason = clean_reason(reason)
    if payment.status is not PaymentStatus.valid:
        raise ServiceError(_("This payment was already voided or refunded."), "reason")
    # Claim the payment first: of two people voiding it at once, one wins.
    now = utcnow()
    claimed = session.execute(
        update(PAYMENT)
        .where(PAYMENT.c.id == payment.id, PAYMENT.c.status == PaymentStatus.valid.value)
        .values(
            status=status.value,
            void_reason=reason,
            voided_at=now,
            voided_by_id=getattr(actor, "id", None),
        )
        .returning(PAYMENT.c.id)
    ).first()
    if claimed is None:
        raise ServiceError(_("This payment was already voided or refunded."), "reason")
    if payment.bill_id is None:
        # A top-up: the balance must still hold it.
        if not lower_balance(session, payment.unit_id, payment.amount):
            raise ServiceError(
                _(
                    "The prepaid balance no longer holds %(amount)s: it has been used for bills.",
                    amount=yuan_text(payment.amount),
                ),
                "reason",
            )
        sync_accounts(session, {payment.unit_id})
    else:
        bill = payment.bill
        if not change_bill_money(
            session, bill, paid=-payment.amount, conditions=[BILL.c.paid >= fen(payment.amount)]
        ):
            raise ServiceError(_("The bill's payments no longer add up; reload it."), "reason")
        if payment.method is PaymentMethod.prepaid:
            # Money taken from the balance goes back to it.
            raise_balance(session, payment.unit, payment.amount)
            sync_accounts(session, {payment.unit_id})
    for key, value in (
        ("status", status),
        ("void_reason", reason),
        ("voided_at", now),
        ("voided_by_id", getattr(actor, "id", None)),
    ):
        set_committed_value(payment, key, value)
    audit_change(
        session,
        payment,
        status=[PaymentStatus.valid.value, status.value],
        void_reason=["", reason],
    )
    session.flush()
    return payment


def void_payment(session: Session, payment: Payment, reason, *, actor) -> Payment:
    """Void a payment entered by mistake: its bill owes the amount again (a top-up leaves
    the prepaid balance, which must still hold it). The receipt number stays, marked
    void. Raises ServiceError (field ``reason``) without a reason, for a payment already
    voided, or a top-up already spent."""
    return _end_payment(session, payment, reason, PaymentStatus.voided, actor)


def refund_payment(session: Session, payment: Payment, reason, *, actor) -> Payment:
    """Give the money back: as ``void_payment``, recorded as a refund."""
    return _end_payment(session, payment, reason, PaymentStatus.refunded, actor)
