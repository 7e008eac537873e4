"""Which bills a resident sees in the portal: one rule for every portal page, the home
page's total and the reminder mail.

A resident sees
- every bill of a unit they own now (the owner is liable for the unit),
- every bill addressed to them (``payer_id``): a tenant sees only these,
- as a family member of a unit, the bills addressed to that unit's payer, once the payer
  has chosen to share them (``Occupancy.shares_bills``).

Voided bills are never shown to residents. Anything else is "not found": the portal never
confirms that a bill id exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Integer, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from models import (
    OPEN_STATUSES,
    Bill,
    BillLine,
    BillStatus,
    Occupancy,
    Payment,
    Relation,
    Resident,
)

from . import ServiceError
from .today import estate_today

ZERO = Decimal("0.00")
# How a bill's status reads to a resident.
STATUS_LABELS = {
    BillStatus.unpaid.value: _l("Unpaid"),
    BillStatus.partial.value: _l("Partly paid"),
    BillStatus.paid.value: _l("Paid"),
    BillStatus.void.value: _l("Void"),
}
# Ids are 32-bit integers in the database; a bigger number typed into the address is
# simply not found (PostgreSQL would refuse to compare it).
MAX_ID = 2**31 - 1


def _current(occupancy, today: date):
    """The SQL form of ``Occupancy.is_current``."""
    return and_(
        or_(occupancy.start_date.is_(None), occupancy.start_date <= today),
        or_(occupancy.end_date.is_(None), occupancy.end_date >= today),
    )


# The occupancies ``visible_clause`` looks through. Made once: an alias builds its
# columns anew the first time each is used, which cost more than the rest of the clause.
_owner, _family, _payer = aliased(Occupancy), aliased(Occupancy), aliased(Occupancy)
_lives = aliased(Occupancy)


def visible_clause(resident_id, today=None):
    """The WHERE clause on ``Bill`` of the bills ``resident_id`` may see (values, or bind
    parameters as in ``_visible``)."""
    if today is None:
        today = date.today()
    # An owner answers for the unit's bills from the day they became its owner: the
    # previous owner's bills (and arrears) stay with the previous owner.
    owner = _owner
    owns_it = exists().where(
        owner.resident_id == resident_id,
        owner.relation == Relation.owner,
        owner.unit_id == Bill.unit_id,
        _current(owner, today),
        or_(owner.start_date.is_(None), Bill.due_date >= owner.start_date),
    )
    family, payer = _family, _payer
    shared_with_me = exists().where(
        family.resident_id == resident_id,
        family.relation == Relation.family,
        family.unit_id == Bill.unit_id,
        _current(family, today),
        payer.unit_id == Bill.unit_id,
        payer.resident_id == Bill.payer_id,
        payer.is_payer.is_(True),
        payer.shares_bills.is_(True),
        _current(payer, today),
    )
    # Each case is a bill addressed to the resident or of a unit they have a home in. Said
    # again as a plain condition, it lets the database find those few bills by index
    # instead of testing the rule on every bill of the site.
    theirs = or_(
        Bill.payer_id == resident_id,
        Bill.unit_id.in_(select(_lives.unit_id).where(_lives.resident_id == resident_id)),
    )
    return and_(
        Bill.status != BillStatus.void,
        theirs,
        or_(Bill.payer_id == resident_id, owns_it, shared_with_me),
    )


# The portal reads bills on every page: the SELECT of the bills a resident sees is built
# once, with bind parameters for the resident and the day, and each query passes
# ``_seen(resident)``. Building it per request cost more than running it.
_SEEN_BY, _SEEN_ON = bindparam("seen_by", type_=Integer), bindparam("seen_on", type_=Date)


@cache
def _visible():
    return select(Bill).where(visible_clause(_SEEN_BY, _SEEN_ON))


@cache
def _open():
    return (
        _visible()
        .where(Bill.status.in_(OPEN_STATUSES))
        .order_by(Bill.due_date, Bill.period, Bill.id)
    )


def _seen(resident: Resident, today: date | None = None) -> dict:
    return {"seen_by": resident.id, "seen_on": today or estate_today(resident.estate)}


def find_bill(session: Session, resident: Resident | None, bill_id: int) -> Bill | None:
    """One bill by id with its lines and payments, or None when the resident may not see
    it (or there is no such bill: the two are not told apart)."""
    if resident is None or not 0 < bill_id <= MAX_ID:
        return None
    return session.scalar(
        _visible()
        .where(Bill.id == bill_id)
        .options(
            selectinload(Bill.lines).selectinload(BillLine.rate),
            selectinload(Bill.lines).selectinload(BillLine.meter),
            selectinload(Bill.payments),
        ),
        _seen(resident),
    )


def find_payment(bill: Bill, payment_id: int) -> Payment | None:
    """A payment of ``bill`` that has a receipt (valid, voided or refunded); None else."""
    for payment in bill.payments:
        if payment.id == payment_id and payment.receipt_no is not None:
            return payment
    return None


def open_bills(session: Session, resident: Resident | None) -> list[Bill]:
    """The bills still owed, the oldest due first."""
    if resident is None:
        return []
    return list(session.scalars(_open(), _seen(resident)))


def amount_owed(bills: list[Bill]) -> Decimal:
    return sum((bill.owed for bill in bills), ZERO)


@dataclass
class HistoryPage:
    bills: list[Bill]
    page: int
    pages: int
    total: int


def paid_bills(
    session: Session, resident: Resident | None, page: int = 1, per_page: int = 24
) -> HistoryPage:
    """One page of the bills already paid, the newest period first."""
    if resident is None:
        return HistoryPage([], 1, 1, 0)
    query = _visible().where(Bill.status == BillStatus.paid)
    seen = _seen(resident)
    total = session.scalar(select(func.count()).select_from(query.subquery()), seen) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    bills = session.scalars(
        query.order_by(Bill.period.desc(), Bill.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page),
        seen,
    ).all()
    return HistoryPage(list(bills), page, pages, total)


def payer_homes(session: Session, resident: Resident | None) -> list[Occupancy]:
    """The resident's current occupancies where they pay the bills."""
    if resident is None:
        return []
    today = estate_today(resident.estate)
    return list(
        session.scalars(
            select(Occupancy)
            .where(
                Occupancy.resident_id == resident.id,
                Occupancy.is_payer.is_(True),
                _current(Occupancy, today),
            )
            .order_by(Occupancy.id)
        )
    )


def set_bill_sharing(
    session: Session, resident: Resident, occupancy_id: int, share: bool
) -> Occupancy:
    """The payer of a unit lets the rest of the household see its bills (or stops).

    Raises ServiceError when ``occupancy_id`` is not one where the resident pays now."""
    occupancy = next((o for o in payer_homes(session, resident) if o.id == occupancy_id), None)
    if occupancy is None:
        raise ServiceError(_("Only the person who pays a unit's bills can share them."))
    occupancy.shares_bills = share
    session.flush()
    return occupancy
