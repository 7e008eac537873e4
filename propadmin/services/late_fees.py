"""Late fees (滞纳金): what a bill paid late costs, by the estate's policy.

``assess_late_fees(session, estate_id, today)`` raises the late fee of the estate's
overdue open bills. It is safe to run any number of times a day (the fee follows from the
date, and is never lowered: a late-fee waiver is subtracted, not undone). Wire it to a
daily cron job and to ``flask bills remind`` before reminders are written:

    from propadmin.services.late_fees import assess_late_fees
    assess_late_fees(db.session, estate.id, today); db.session.commit()
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from models import (
    OPEN_STATUSES,
    AdjustmentKind,
    Bill,
    BillAdjustment,
    LateFeePolicy,
)

from .bill_money import BILL
from .money import ZERO, to_fen

HUNDRED = Decimal(100)
BATCH = 1000


def late_fee_for(bill: Bill, policy: LateFeePolicy | None, today: date) -> Decimal:
    """The late fee ``bill`` has run up by ``today``: for each day past its due date and
    the grace days, ``daily_percent`` % of the principal still owed (the bill's amount
    less discount and payments; late fees earn none) or ``daily_amount``; at most
    ``cap_percent`` % of the bill's amount and at most ``cap_amount``. Half-up to the fen."""
    if policy is None or not policy.enabled:
        return ZERO
    days = (today - bill.due_date).days - (policy.grace_days or 0)
    if days <= 0:
        return ZERO
    principal = max(bill.amount - bill.discount - bill.paid, ZERO)
    if policy.daily_percent:
        fee = principal * policy.daily_percent / HUNDRED * days
    elif policy.daily_amount:
        fee = policy.daily_amount * days
    else:
        return ZERO
    caps = []
    if policy.cap_percent is not None:
        caps.append(bill.amount * policy.cap_percent / HUNDRED)
    if policy.cap_amount is not None:
        caps.append(policy.cap_amount)
    if caps:
        fee = min(fee, *caps)
    return to_fen(fee)


def assess_late_fees(session: Session, estate_id: int, today: date) -> int:
    """Bring the late fee of the estate's overdue open bills up to date, in batches of
    1,000 (two queries per batch). A bill changed meanwhile (its version moved) is left
    for the next run. Returns how many bills' late fees went up."""
    policy = session.scalar(select(LateFeePolicy).where(LateFeePolicy.estate_id == estate_id))
    if policy is None or not policy.enabled:
        return 0
    waived = (
        select(BillAdjustment.bill_id, func.sum(BillAdjustment.amount).label("waived"))
        .where(BillAdjustment.kind == AdjustmentKind.late_fee_waiver)
        .group_by(BillAdjustment.bill_id)
        .subquery()
    )
    raise_fee = (
        update(BILL)
        .where(BILL.c.id == bindparam("bill_id"), BILL.c.version == bindparam("seen"))
        .values(late_fee=bindparam("fee", type_=BILL.c.late_fee.type), version=BILL.c.version + 1)
    )
    changed, after = 0, 0
    while True:
        rows = session.execute(
            select(
                BILL.c.id,
                BILL.c.amount,
                BILL.c.discount,
                BILL.c.paid,
                BILL.c.late_fee,
                BILL.c.due_date,
                BILL.c.version,
                waived.c.waived,
            )
            .outerjoin(waived, waived.c.bill_id == BILL.c.id)
            .where(
                BILL.c.estate_id == estate_id,
                BILL.c.status.in_([s.value for s in OPEN_STATUSES]),
                BILL.c.due_date < today,
                BILL.c.id > after,
            )
            .order_by(BILL.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        after = rows[-1].id
        updates = []
        for row in rows:
            fee = late_fee_for(row, policy, today)
            waived_total = row.waived or ZERO
            fee = max(fee - waived_total, ZERO)
            if fee > row.late_fee:
                updates.append({"bill_id": row.id, "seen": row.version, "fee": fee})
        if updates:
            result = session.execute(raise_fee, updates)
            changed += result.rowcount if result.rowcount >= 0 else len(updates)
    # Bills loaded in this session carry the old late fee.
    for obj in session.identity_map.values():
        if isinstance(obj, Bill) and obj.estate_id == estate_id:
            session.expire(obj, ["late_fee", "version"])
    return changed
