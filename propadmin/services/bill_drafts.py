"""One batch of units turned into bill drafts: who pays, how many days were lived in,
and a line per fee item, each with what it was computed from. The batch's rows come
from a constant number of queries (existing bills, occupancies, parking spaces, own
meters with their readings), never one per unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from models import (
    Bill,
    BillingMethod,
    BillStatus,
    Meter,
    MeterReading,
    Occupancy,
    ParkingSpace,
    Relation,
    Resident,
)

from .bill_charges import charge_line, pending_by_unit
from .bill_context import READING_COLUMNS, Context, MeterRef, UnitRow, reading_of, reading_row
from .bill_lines import BackwardsReading, covered_days, prorated, tiered
from .money import ZERO, to_fen
from .periods import Period

DEFAULT_DUE_DAYS = 15
PRORATED = (BillingMethod.per_area, BillingMethod.fixed, BillingMethod.per_space)


@dataclass
class FlaggedReading:
    reading_id: int
    meter: str
    unit: str
    value: Decimal
    previous: Decimal | None
    usage: Decimal
    note: str


def plan_batch(session, ctx: Context, period: Period, units: list[UnitRow], result):
    """The bills (row dict, line dicts) for one batch of units, the flagged readings they
    use, and the problems that stop the run."""
    # Every query below selects by a range of unit ids (their indexes) and nothing else
    # that could lead the planner to an estate-wide index; rows of other estates' units in
    # the range are dropped in Python.
    lo, hi = units[0].id, units[-1].id
    in_batch = {u.id for u in units}
    # By the (unit_id, period) key alone: with estate_id in the clause the planner may
    # take the (estate_id, period) index and walk every bill written so far in this run.
    existing = set(
        session.scalars(
            select(Bill.unit_id).where(Bill.unit_id.between(lo, hi), Bill.period == period.key)
        )
    )
    occupancies: dict[int, list] = {}
    for row in session.execute(
        select(
            Occupancy.unit_id,
            Occupancy.id,
            Occupancy.resident_id,
            Occupancy.relation,
            Occupancy.start_date,
            Occupancy.end_date,
            Occupancy.is_payer,
            Resident.name,
        )
        .join(Resident, Resident.id == Occupancy.resident_id)
        .where(
            Occupancy.unit_id.between(lo, hi),
            (Occupancy.start_date.is_(None)) | (Occupancy.start_date < period.end),
            (Occupancy.end_date.is_(None)) | (Occupancy.end_date >= period.start),
        )
    ):
        if row.unit_id in in_batch:
            occupancies.setdefault(row.unit_id, []).append(row)
    spaces = {}
    if ctx.has(BillingMethod.per_space):
        spaces = dict(
            session.execute(
                select(ParkingSpace.unit_id, func.count(ParkingSpace.id))
                .where(ParkingSpace.unit_id.between(lo, hi))
                .group_by(ParkingSpace.unit_id)
            ).all()
        )
    meters: dict[tuple[int, int], list] = {}
    if ctx.metered_item_ids:
        for meter, reading in _meter_rows(session, ctx, period, lo, hi):
            meters.setdefault((meter.unit_id, meter.fee_item_id), []).append((meter, reading))

    charges = {}
    if ctx.charge_item_id is not None:
        charges = pending_by_unit(session, ctx.estate_id, lo, hi, in_batch)

    drafts, flagged, errors = [], [], []
    for unit in units:
        if unit.id in existing:
            result.existing += 1
            continue
        occupied = occupancies.get(unit.id)
        if not occupied:
            result.vacant += 1
            continue
        payer = _payer(occupied)
        days = covered_days(
            [(o.start_date, o.end_date) for o in occupied], period.start, period.end
        )
        lines = []
        for item in ctx.items:
            if not ctx.applies(item, unit):
                continue
            line = _line(ctx, item, unit, period, days, spaces, meters, flagged, errors)
            if line is not None:
                lines.append(line)
        waiting = charges.get(unit.id, ())
        if waiting:
            lines.append(charge_line(ctx.charge_item_id, waiting))
        if not lines:
            result.no_charges += 1
            continue
        amount = sum((line["amount"] for line in lines), ZERO)
        # Due: the period's last day plus the shortest payment term of the bill's items
        # (a bill of repair charges alone: the usual 15 days).
        terms = [
            ctx.item(line["fee_item_id"]).due_days
            for line in lines
            if line["fee_item_id"] != ctx.charge_item_id
        ]
        due_days = min(terms, default=DEFAULT_DUE_DAYS)
        drafts.append(
            (
                {
                    "estate_id": ctx.estate_id,
                    "building_id": unit.building_id,
                    "unit_id": unit.id,
                    "period": period.key,
                    "payer_id": payer.resident_id,
                    "payer_name": payer.name,
                    "amount": amount,
                    # A bill of nothing is settled; it must never show up as overdue.
                    "status": BillStatus.paid if amount == 0 else BillStatus.unpaid,
                    "due_date": period.last_day + timedelta(days=due_days),
                    "charge_ids": [c.id for c in waiting],
                },
                lines,
            )
        )
    return drafts, flagged, errors


def _meter_rows(session, ctx: Context, period: Period, lo: int, hi: int):
    """The batch's own meters of metered and tiered items, each with its reading of the
    period (or None), in one query."""
    rows = session.execute(
        select(Meter.id, Meter.code, Meter.unit_id, Meter.fee_item_id, *READING_COLUMNS)
        .outerjoin(
            MeterReading,
            (MeterReading.meter_id == Meter.id) & (MeterReading.period == period.key),
        )
        .where(
            Meter.unit_id.between(lo, hi),
            Meter.active.is_(True),
            Meter.fee_item_id.in_(ctx.metered_item_ids),
        )
        .order_by(Meter.id)
    ).all()
    return [(MeterRef(*row[:4]), reading_row(row[4:])) for row in rows]


def _payer(occupied: list):
    """Who pays: the occupant marked as payer, else the owner, else whoever lives there;
    the most recent start first."""
    if len(occupied) == 1:
        return occupied[0]

    def rank(o):
        return (
            not o.is_payer,
            o.relation != Relation.owner,
            -(o.start_date.toordinal() if o.start_date else 0),
            o.id,
        )

    return min(occupied, key=rank)


def _line(ctx, item, unit: UnitRow, period: Period, days, spaces, meters, flagged, errors):
    rate = ctx.rates[item.id]
    method = item.method
    line = {
        "fee_item_id": item.id,
        "rate_id": rate.id,
        "method": method,
        "quantity_unit": item.quantity_unit,
        "unit_price": rate.unit_price,
        "meter_id": None,
        "reading_previous": None,
        "reading_current": None,
        "days": None,
        "period_days": None,
        "share_area": None,
        "share_total_area": None,
        "detail": "",
    }
    if method in PRORATED:
        quantity = {
            BillingMethod.per_area: unit.area,
            BillingMethod.fixed: Decimal(1),
            BillingMethod.per_space: Decimal(spaces.get(unit.id, 0)),
        }[method]
        if quantity == 0 and method is BillingMethod.per_space:
            return None
        line["quantity"] = quantity
        line["amount"] = prorated(quantity * rate.unit_price, days, period.days)
        if days < period.days:
            line["days"], line["period_days"] = days, period.days
        return line
    if method is BillingMethod.one_off:
        line["quantity"], line["amount"] = Decimal(1), to_fen(rate.unit_price)
        return line
    if method is BillingMethod.shared:
        return _shared_line(ctx, item, unit, line, flagged)
    own = meters.get((unit.id, item.id))
    if not own:
        return None
    if len(own) > 1:
        codes = ", ".join(m.code for m, _r in own)
        errors.append(
            _(
                "%(unit)s has more than one %(item)s meter (%(codes)s).",
                unit=unit.label,
                item=item.name,
                codes=codes,
            )
        )
        return None
    meter, reading = own[0]
    usage = _usage(ctx, meter.code, unit.label, reading, period, flagged, errors)
    if usage is None:
        return None
    line.update(
        quantity=usage,
        meter_id=meter.id,
        reading_previous=reading.previous,
        reading_current=reading.value,
    )
    if method is BillingMethod.tiered:
        line["amount"], line["detail"] = tiered(usage, rate)
    else:
        line["amount"] = to_fen(usage * rate.unit_price)
    return line


def _usage(ctx, code: str, unit_label: str, reading, period, flagged, errors):
    """A meter's usage for the period, or None after noting the problem."""
    if reading is None:
        errors.append(
            _(
                "Meter %(meter)s of %(unit)s has no reading for %(period)s.",
                meter=code,
                unit=unit_label,
                period=period.key,
            )
        )
        return None
    try:
        usage = reading_of(reading)
    except BackwardsReading:
        errors.append(
            _(
                "Meter %(meter)s of %(unit)s goes backwards: %(value)s is below the previous"
                " reading %(previous)s (record a meter replacement if it was replaced).",
                meter=code,
                unit=unit_label,
                value=reading.value,
                previous=reading.previous,
            )
        )
        return None
    _note_flag(ctx, reading, code, unit_label, usage, flagged)
    return usage


def _shared_line(ctx: Context, item, unit: UnitRow, line, flagged):
    share = ctx.shares.get((item.id, unit.id))
    if share is None:
        return None
    reading = share.reading
    _note_flag(ctx, reading, share.meter.code, share.meter.location, reading_of(reading), flagged)
    line.update(
        quantity=reading_of(reading),
        amount=share.amount,
        meter_id=share.meter.id,
        reading_previous=reading.previous,
        reading_current=reading.value,
        share_area=share.area,
        share_total_area=share.total_area,
    )
    return line


def _note_flag(ctx, reading, code: str, where: str, usage, flagged) -> None:
    if reading.needs_review and reading.id not in ctx.flag_seen:
        ctx.flag_seen.add(reading.id)
        flagged.append(
            FlaggedReading(
                reading.id, code, where, reading.value, reading.previous, usage, reading.flag_note
            )
        )
