"""Discounts, waivers and voided bills: each needs a reason and is audited.

A discount or waiver takes money off what a bill asks for; a late-fee waiver takes it
off the late fee. Neither can take off more than is still owed (what is already paid
stays paid). Like payments, the bill is changed by one conditional UPDATE.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import AdjustmentKind, Bill, BillAdjustment, BillStatus

from . import ServiceError
from .bill_charges import release as release_charges
from .bill_money import (
    BILL,
    audit_change,
    change_bill_money,
    clean_reason,
    fen,
    owed_clause,
    yuan_text,
)
from .money import ZERO, parse_amount


def adjust_bill(
    session: Session,
    bill: Bill,
    kind,
    amount,
    reason,
    *,
    actor,
    expected_version: int | None = None,
) -> BillAdjustment:
    """Take ``amount`` off ``bill``: a discount or waiver lowers what it asks for, a
    late-fee waiver lowers its late fee. Raises ServiceError without a reason, for a
    void bill, for more than is owed (or than the late fee, for its waiver), or for a
    bill no longer at ``expected_version`` (the version the form was made from: the same
    form sent twice takes off once)."""
    try:
        kind = AdjustmentKind(kind)
    except ValueError:
        raise ServiceError(_("Choose what to give: a discount or a waiver."), "kind") from None
    value = parse_amount(amount)
    reason = clean_reason(reason)
    if bill.status is BillStatus.void:
        raise ServiceError(_("This bill is void; it cannot be changed."), "amount")
    if value > bill.owed:
        raise ServiceError(
            _(
                "At most %(owed)s can be taken off: that is what is owed.",
                owed=yuan_text(bill.owed),
            ),
            "amount",
        )
    conditions = [owed_clause() >= fen(value)]
    if expected_version is not None:
        conditions.append(BILL.c.version == expected_version)
    if kind is AdjustmentKind.late_fee_waiver:
        if value > bill.late_fee:
            raise ServiceError(
                _("The late fee is only %(fee)s.", fee=yuan_text(bill.late_fee)), "amount"
            )
        conditions.append(BILL.c.late_fee >= fen(value))
        changed = change_bill_money(session, bill, late_fee=-value, conditions=conditions)
    else:
        changed = change_bill_money(session, bill, discount=value, conditions=conditions)
    if not changed:
        if expected_version is not None:
            raise ServiceError(
                _("The bill changed while you were entering this adjustment; reload it."),
                "amount",
            )
        raise ServiceError(_("The bill changed meanwhile; reload it."), "amount")
    adjustment = BillAdjustment(
        bill_id=bill.id,
        kind=kind,
        amount=value,
        reason=reason,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(adjustment)
    session.flush()
    return adjustment


def void_bill(session: Session, bill: Bill, reason, *, actor) -> Bill:
    """Cancel a bill made by mistake. Only a bill with nothing validly paid on it (void
    its payments first). Raises ServiceError without a reason, or when money was paid."""
    reason = clean_reason(reason)
    if bill.status is BillStatus.void:
        raise ServiceError(_("This bill is already void."), "reason")
    if bill.paid > ZERO:
        raise ServiceError(
            _("Money has been paid on this bill: void its payments first."), "reason"
        )
    old_status = bill.status
    row = session.execute(
        update(BILL)
        .where(
            BILL.c.id == bill.id,
            BILL.c.status != BillStatus.void.value,
            BILL.c.paid == fen(ZERO),
        )
        .values(status=BillStatus.void.value, void_reason=reason, version=BILL.c.version + 1)
        .returning(BILL.c.version)
    ).first()
    if row is None:
        raise ServiceError(_("The bill changed meanwhile; reload it."), "reason")
    release_charges(session, bill.id)  # its repair charges go on the next bill instead
    set_committed_value(bill, "status", BillStatus.void)
    set_committed_value(bill, "void_reason", reason)
    set_committed_value(bill, "version", row.version)
    audit_change(
        session,
        bill,
        status=[old_status.value, BillStatus.void.value],
        void_reason=["", reason],
    )
    session.flush()
    return bill
