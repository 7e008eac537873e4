"""Resident-paid repairs on the unit's next bill.

A repair the resident pays for leaves a ``UnitCharge`` with no bill. The next bill
generated for the unit — whatever its period — carries every such charge of the unit as
one line of the estate's "维修费" fee item (quantity = the number of charges, amount = their
sum, ``detail`` = JSON naming each charge with its repair and place), and the charges get
that bill's id in the same transaction; a second run finds none left.

The fee item is made on the estate's first run with a pending charge: kind other, method
one_off and no one-off period, so normal generation never selects it, and no rate (the
line's price is the charges'). It is found again by that shape and name.

Generation treats a unit with a charge like any other: a bill is made only for a unit
somebody lived in during the period (the payer comes from the occupancy) and that has no
bill for the period yet; otherwise the charge waits for the next one. An occupied unit
with a charge and no fee item that applies gets a bill of the charge alone. Voiding a
bill sends its charges back to waiting.
"""

from __future__ import annotations

import json
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from models import (
    Bill,
    BillingMethod,
    BillLine,
    Cycle,
    FeeItem,
    FeeKind,
    RepairRequest,
    UnitCharge,
)

from .money import ZERO

ITEM_NAME = "维修费"
ITEM_DESCRIPTION = "住户自费维修，由系统在生成账单时计入（自动创建）"


def _item_query(estate_id: int):
    return select(FeeItem.id).where(
        FeeItem.estate_id == estate_id,
        FeeItem.name == ITEM_NAME,
        FeeItem.kind == FeeKind.other,
        FeeItem.method == BillingMethod.one_off,
        FeeItem.one_off_period.is_(None),
    ).order_by(FeeItem.id).limit(1)


def has_pending(session, estate_id: int) -> bool:
    return session.scalar(
        select(exists().where(UnitCharge.estate_id == estate_id, UnitCharge.bill_id.is_(None)))
    )


def charge_item_id(session, estate_id: int, *, write: bool) -> int:
    """The estate's repair-charge fee item, made when missing (a preview makes nothing
    and uses 0 for the item it would make)."""
    item_id = session.scalar(_item_query(estate_id))
    if item_id is not None or not write:
        return item_id or 0
    item = FeeItem(
        estate_id=estate_id, name=ITEM_NAME, kind=FeeKind.other, method=BillingMethod.one_off,
        cycle=Cycle.monthly, one_off_period=None, description=ITEM_DESCRIPTION,
    )
    session.add(item)
    session.flush()
    return item.id


def pending_by_unit(session, estate_id: int, lo: int, hi: int, in_batch: set[int]):
    """unit id → its pending charges (id, amount, repair id, place, description), one
    query for the batch's range of unit ids."""
    rows = session.execute(
        select(
            UnitCharge.unit_id, UnitCharge.id, UnitCharge.amount, UnitCharge.repair_id,
            RepairRequest.location, UnitCharge.description,
        )
        .outerjoin(RepairRequest, RepairRequest.id == UnitCharge.repair_id)
        .where(
            UnitCharge.unit_id.between(lo, hi),
            UnitCharge.estate_id == estate_id,
            UnitCharge.bill_id.is_(None),
        )
        .order_by(UnitCharge.id)
    ).all()
    charges: dict[int, list] = {}
    for row in rows:
        if row.unit_id in in_batch:
            charges.setdefault(row.unit_id, []).append(row)
    return charges


def charge_line(item_id: int, charges) -> dict:
    """One bill line (as generation's drafts hold them) for a unit's pending charges."""
    amount = sum((c.amount for c in charges), ZERO)
    detail = {
        "charges": [
            {
                "id": c.id,
                "repair": c.repair_id,
                "place": c.location or "",
                "description": c.description,
                "amount": str(c.amount),
            }
            for c in charges
        ]
    }
    return {
        "fee_item_id": item_id,
        "rate_id": None,
        "method": BillingMethod.one_off,
        "quantity_unit": "",
        "quantity": Decimal(len(charges)),
        "unit_price": amount if len(charges) == 1 else ZERO,
        "amount": amount,
        "meter_id": None,
        "reading_previous": None,
        "reading_current": None,
        "days": None,
        "period_days": None,
        "share_area": None,
        "share_total_area": None,
        "detail": json.dumps(detail, ensure_ascii=False),
    }


def mark_billed(session, charge_ids: list[int], period_key: str) -> None:
    """Give the charges the id of their unit's bill of ``period_key`` (just written), in
    one statement. A charge another run billed meanwhile makes the run fail."""
    if not charge_ids:
        return
    bill_of_unit = (
        select(Bill.id)
        .where(Bill.unit_id == UnitCharge.unit_id, Bill.period == period_key)
        .scalar_subquery()
    )
    result = session.execute(
        update(UnitCharge)
        .where(UnitCharge.id.in_(charge_ids), UnitCharge.bill_id.is_(None))
        .values(bill_id=bill_of_unit)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(charge_ids):
        from . import ServiceError

        raise ServiceError(
            _("Repair charges were put on a bill by another run at the same moment. Nothing"
              " from this run was kept; run it again."),
            "period",
        )


def release(session, bill_id: int) -> int:
    """A voided bill's repair charges wait again for the unit's next bill (the void's
    transaction); returns how many."""
    result = session.execute(
        update(UnitCharge)
        .where(UnitCharge.bill_id == bill_id)
        .values(bill_id=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def charges_of(line: BillLine) -> list[dict] | None:
    """The charges a repair-charge line lists, or None for any other line."""
    if line.method is not BillingMethod.one_off or line.rate_id is not None or not line.detail:
        return None
    try:
        detail = json.loads(line.detail)
    except ValueError:
        return None
    if not isinstance(detail, dict) or not isinstance(detail.get("charges"), list):
        return None
    return detail["charges"]


def explain_charges(charges: list[dict], yuan) -> list[str]:
    parts = []
    for charge in charges:
        amount = yuan(Decimal(str(charge.get("amount", "0"))))
        if charge.get("repair"):
            parts.append(_("repair #%(id)s at %(place)s: %(amount)s",
                           id=charge["repair"], place=charge.get("place") or "—", amount=amount))
        else:
            parts.append(_("%(what)s: %(amount)s", what=charge.get("description", ""),
                           amount=amount))
    return parts
