"""Money figures for the finance screens: what is owed per building, how much of what was
billed has been collected per period and per fee item, and which bills are overdue.

Every figure is one aggregate query over the user's estates, whatever their size.

What "collected" means is defined here, once: for a period, the ``paid`` of its bills
(every valid payment against a bill adds to it; voiding or refunding takes it back off),
against what they billed — amount − discount + late fee, void bills left out. Per fee
item, the same money is shared over the bills' lines (the late fees a row of their own),
so the items add up to the period exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import BigInteger, and_, case, cast, false, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from models import (
    OPEN_STATUSES,
    Bill,
    BillDueTotal,
    BillLine,
    BillStatus,
    Building,
    Estate,
    FeeItem,
)
from models.base import ScaledDecimal
from propadmin.permissions import scoped

from .today import estate_todays

MONEY = ScaledDecimal(2)
ZERO = Decimal("0.00")
MONTHS_SHOWN = 12

# What a bill asks for, and what is still owed on an open one (the model's ``owed``).
BILLED = Bill.amount - Bill.discount + Bill.late_fee
OWED = BILLED - Bill.paid


def money_sum(expression):
    """SUM of an amount column or expression, read back as exact yuan (0 when no rows)."""
    return type_coerce(func.coalesce(func.sum(expression), 0), MONEY)


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` of ``whole`` in per cent, one decimal, half-up; None when nothing was billed."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# -- today, in each estate's own zone ------------------------------------------------------
def overdue_clause(todays: dict[int, date]):
    """Open bills past their due date, against today in each bill's estate."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for estate_id, day in todays.items():
        by_day[day].append(estate_id)
    past_due = [and_(Bill.estate_id.in_(ids), Bill.due_date < day) for day, ids in by_day.items()]
    return and_(Bill.status.in_(OPEN_STATUSES), or_(*past_due) if past_due else false())


def overdue_totals_clause(todays: dict[int, date]):
    """The same, on the counters of open bills per estate and due date (models/figures.py)."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for estate_id, day in todays.items():
        by_day[day].append(estate_id)
    past_due = [
        and_(BillDueTotal.estate_id.in_(ids), BillDueTotal.due_date < day)
        for day, ids in by_day.items()
    ]
    return or_(*past_due) if past_due else false()


def overdue_bills(session: Session, user) -> int:
    """How many of the user's estates' bills are overdue (the worklist tile): a sum over
    the counters of open bills per estate and due date, not a count over the bills."""
    from propadmin.permissions import estate_scope

    clause = overdue_totals_clause(estate_todays(session, estate_scope(user)))
    stmt = select(func.sum(BillDueTotal.open_bills)).where(clause)
    return int(session.scalar(scoped(stmt, BillDueTotal, user)) or 0)


# -- arrears per building ----------------------------------------------------------------------
@dataclass
class BuildingArrears:
    building_id: int | None
    estate: str
    building: str
    units_owing: int = 0
    open_bills: int = 0
    overdue_bills: int = 0
    owed: Decimal = ZERO
    oldest_due: date | None = None


def arrears_by_building(session: Session, user, todays: dict[int, date]):
    """For each building of the user's estates (those with nothing owed too): units owing,
    open bills, overdue bills, the amount owed and the oldest due date; and their total.
    One grouped query."""
    overdue = case((overdue_clause(todays), 1), else_=0)
    stmt = (
        select(
            Building.id,
            Estate.name,
            Building.name,
            func.count(func.distinct(Bill.unit_id)),
            func.count(Bill.id),
            func.coalesce(func.sum(overdue), 0),
            money_sum(OWED),
            func.min(Bill.due_date),
        )
        .join(Estate, Building.estate_id == Estate.id)
        .outerjoin(Bill, and_(Bill.building_id == Building.id, Bill.status.in_(OPEN_STATUSES)))
        .group_by(Building.id, Estate.name, Building.name)
        .order_by(Estate.name, Building.name)
    )
    rows = [BuildingArrears(*row) for row in session.execute(scoped(stmt, Building, user))]
    total = BuildingArrears(None, "", "")
    for row in rows:
        total.units_owing += row.units_owing
        total.open_bills += row.open_bills
        total.overdue_bills += row.overdue_bills
        total.owed += row.owed
        if row.oldest_due is not None:
            total.oldest_due = min(filter(None, (total.oldest_due, row.oldest_due)))
    return rows, total


# -- collection ---------------------------------------------------------------------------------
@dataclass
class Collection:
    label: str  # a period, or a fee item's name
    billed: Decimal
    collected: Decimal
    late_fee: bool = False  # the late fees' row of the per-item figures

    @property
    def rate(self) -> Decimal | None:
        return percent(self.collected, self.billed)

    @property
    def outstanding(self) -> Decimal:
        return self.billed - self.collected


def collection_by_period(session: Session, user, periods: int = MONTHS_SHOWN) -> list[Collection]:
    """Billed and collected for each of the latest ``periods`` periods that have bills,
    oldest first. One grouped query."""
    stmt = (
        select(Bill.period, money_sum(BILLED), money_sum(Bill.paid))
        .where(Bill.status != BillStatus.void)
        .group_by(Bill.period)
        .order_by(Bill.period.desc())
        .limit(periods)
    )
    rows = session.execute(scoped(stmt, Bill, user)).all()
    return [Collection(period, billed, paid) for period, billed, paid in reversed(rows)]


# What a bill's fee items ask for once its discount is off (a discount larger than the
# lines comes off the late fee), and the part of what was paid that goes to them: payments
# go to the fee items first, then to the late fee.
ITEMS_NET = case((Bill.amount > Bill.discount, Bill.amount - Bill.discount), else_=0)
ITEMS_PAID = case((Bill.paid < 0, 0), (Bill.paid < ITEMS_NET, Bill.paid), else_=ITEMS_NET)


def _fen(expression):
    """An amount as the integer fen it is stored as, for exact sums and divisions."""
    return type_coerce(expression, BigInteger())


def collection_by_fee_item(session: Session, user, period: str) -> list[Collection]:
    """For one period, per fee item: what its lines billed once the bill's discount is
    shared over them, and the part of the bill's payments that falls to them; then the
    late fees, in a row of their own (``late_fee`` set), when the period has any.

    A bill's discount comes off its lines in proportion to their amounts, and what was
    paid (up to what the lines then ask) goes over them in proportion to what each asks.
    Each share is a difference of running totals over the bill's lines (in line order),
    each rounded down to the fen in integer arithmetic, so SQLite and PostgreSQL agree and
    the lines of a bill add up to it exactly: the rows add up to the period's billed and
    collected (``collection_by_period``) to the fen. Two grouped queries."""
    line = _fen(BillLine.amount)

    def running(value, **order):  # the sum over the bill's lines (up to this one, if ordered)
        return func.sum(value).over(partition_by=BillLine.bill_id, **order)

    lines = (
        select(
            BillLine.fee_item_id.label("fee_item_id"),
            line.label("amount"),
            # SUM of bigint is numeric on PostgreSQL: back to bigint, so ``//`` truncates.
            cast(running(line, order_by=BillLine.id), BigInteger).label("cum"),
            cast(running(line), BigInteger).label("whole"),
            _fen(ITEMS_NET).label("net"),
            _fen(ITEMS_PAID).label("paid"),
        )
        .join(Bill, BillLine.bill_id == Bill.id)
        .where(Bill.period == period, Bill.status != BillStatus.void)
    )
    lines = scoped(lines, Bill, user).subquery()

    def net_to(cum):  # the bill's net, shared up to this running total of its lines
        return case((lines.c.whole > 0, cum * lines.c.net // lines.c.whole), else_=0)

    def paid_to(cum):  # what was paid, shared up to the same point
        return case((lines.c.net > 0, net_to(cum) * lines.c.paid // lines.c.net), else_=0)

    before = lines.c.cum - lines.c.amount
    stmt = (
        select(
            FeeItem.name,
            money_sum(net_to(lines.c.cum) - net_to(before)),
            money_sum(paid_to(lines.c.cum) - paid_to(before)),
        )
        .select_from(lines)
        .join(FeeItem, lines.c.fee_item_id == FeeItem.id)
        .group_by(FeeItem.id, FeeItem.name)
        .order_by(FeeItem.name)
    )
    rows = [Collection(*row) for row in session.execute(stmt)]
    late = select(money_sum(BILLED - ITEMS_NET), money_sum(Bill.paid - ITEMS_PAID)).where(
        Bill.period == period, Bill.status != BillStatus.void
    )
    billed, collected = session.execute(scoped(late, Bill, user)).one()
    if billed or collected:
        rows.append(Collection(_("Late fee"), billed, collected, late_fee=True))
    return rows
