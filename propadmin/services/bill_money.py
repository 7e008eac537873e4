"""The conditional UPDATEs that move a bill's money and a unit's prepaid balance, the
receipt counter, and the checks on what a cashier types. Used by payments.py and
adjustments.py; the rules they serve are described there."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import case, insert, literal, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    Bill,
    BillStatus,
    Payment,
    PaymentMethod,
    PrepaidAccount,
    ReceiptCounter,
    Unit,
)
from propadmin import audit

from . import ServiceError
from .money import ZERO

BILL = Bill.__table__
ACCOUNT = PrepaidAccount.__table__
PAYMENT = Payment.__table__
COUNTER = ReceiptCounter.__table__
# Methods a cashier records; ``prepaid`` is only ever taken from the balance.
CASHIER_METHODS = tuple(m for m in PaymentMethod if m is not PaymentMethod.prepaid)
REFERENCE_MAX = 64
REASON_MAX = 255
# Ids per query when many bills are looked at together.
CHUNK = 2000


def fen(value: Decimal):
    """A bound amount typed as the money columns, so it is sent as integer fen."""
    return literal(value, BILL.c.paid.type)


def owed_clause():
    return BILL.c.amount - BILL.c.discount + BILL.c.late_fee - BILL.c.paid


def change_bill_money(
    session: Session,
    bill: Bill,
    *,
    paid: Decimal = ZERO,
    discount: Decimal = ZERO,
    late_fee: Decimal = ZERO,
    conditions=(),
) -> bool:
    """Add the given (signed) amounts to the bill's paid, discount and late fee in one
    conditional UPDATE of an open bill; the status follows from the new amounts and the
    version goes up. Returns False (nothing changed) when a condition no longer holds.
    The in-memory ``bill`` is brought up to date without marking it changed."""
    new_paid = BILL.c.paid + fen(paid)
    new_discount = BILL.c.discount + fen(discount)
    new_late_fee = BILL.c.late_fee + fen(late_fee)
    new_total = BILL.c.amount - new_discount + new_late_fee
    status = case(
        (new_paid >= new_total, BillStatus.paid.value),
        (new_paid > 0, BillStatus.partial.value),
        else_=BillStatus.unpaid.value,
    )
    statement = (
        update(BILL)
        .where(BILL.c.id == bill.id, BILL.c.status != BillStatus.void.value, *conditions)
        .values(
            paid=new_paid,
            discount=new_discount,
            late_fee=new_late_fee,
            status=status,
            version=BILL.c.version + 1,
        )
        .returning(BILL.c.paid, BILL.c.discount, BILL.c.late_fee, BILL.c.status, BILL.c.version)
    )
    row = session.execute(statement).first()
    if row is None:
        return False
    for key in ("paid", "discount", "late_fee", "version"):
        set_committed_value(bill, key, getattr(row, key))
    set_committed_value(bill, "status", BillStatus(row.status))
    return True


def next_receipt_no(session: Session, estate_id: int) -> int:
    """The estate's next receipt number, taken in the caller's transaction: a conditional
    UPDATE … RETURNING on the estate's counter row (made on first use; when two first
    payments race to make it, the loser's insert is undone in a savepoint and it counts on)."""
    bump = (
        update(COUNTER)
        .where(COUNTER.c.estate_id == estate_id)
        .values(last_no=COUNTER.c.last_no + 1)
        .returning(COUNTER.c.last_no)
    )
    number = session.execute(bump).scalar()
    if number is not None:
        return number
    try:
        with session.begin_nested():
            session.execute(insert(COUNTER).values(estate_id=estate_id, last_no=1))
        return 1
    except IntegrityError:
        number = session.execute(bump).scalar()
        if number is None:  # pragma: no cover — the row exists once the insert collided
            raise
        return number


def check_method(value, *, allowed=CASHIER_METHODS) -> PaymentMethod:
    try:
        method = PaymentMethod(value)
    except ValueError:
        method = None
    if method not in allowed:
        raise ServiceError(_("Choose how the money was paid."), "method")
    return method


def clean_reference(text: str | None) -> str:
    reference = (text or "").strip()
    if len(reference) > REFERENCE_MAX:
        raise ServiceError(
            _("A reference has at most %(n)d characters.", n=REFERENCE_MAX), "reference"
        )
    return reference


def clean_reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason."), "reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(_("A reason has at most %(n)d characters.", n=REASON_MAX), "reason")
    return reason


def audit_change(session: Session, row, **changes) -> None:
    """An audit entry for a change made by a conditional UPDATE (which the automatic,
    ORM-based audit does not see), in its format: field → [old, new]."""
    entry = audit.record(session, "update", type(row).__name__, row.id, estate_id=row.estate_id)
    entry.changes = changes


def yuan_text(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def raise_balance(session: Session, unit: Unit, value: Decimal) -> None:
    """Add ``value`` to the unit's prepaid balance; the account is made on first use."""
    bump = (
        update(ACCOUNT)
        .where(ACCOUNT.c.unit_id == unit.id)
        .values(balance=ACCOUNT.c.balance + fen(value), version=ACCOUNT.c.version + 1)
        .returning(ACCOUNT.c.id)
    )
    if session.execute(bump).first() is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                PrepaidAccount(estate_id=unit.building.estate_id, unit_id=unit.id, balance=value)
            )
    except IntegrityError:
        session.execute(bump)


def lower_balance(session: Session, unit_id: int, value: Decimal) -> bool:
    """Take ``value`` from the unit's prepaid balance if it still holds that much."""
    result = session.execute(
        update(ACCOUNT)
        .where(ACCOUNT.c.unit_id == unit_id, ACCOUNT.c.balance >= fen(value))
        .values(balance=ACCOUNT.c.balance - fen(value), version=ACCOUNT.c.version + 1)
        .returning(ACCOUNT.c.id)
    )
    return result.first() is not None


def sync_accounts(session: Session, unit_ids) -> None:
    """Loaded prepaid accounts were changed by UPDATEs behind the ORM's back."""
    for account in session.identity_map.values():
        if isinstance(account, PrepaidAccount) and account.unit_id in unit_ids:
            session.expire(account, ["balance", "version"])
