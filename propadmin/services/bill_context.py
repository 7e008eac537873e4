"""What a generation run reads once per estate, before walking the units: the fee items
that take part in the period, the rate in force for each, and the shared meters with
each unit's share of them. A constant number of queries, whatever the estate's size."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select

from models import (
    BillingMethod,
    Building,
    FeeItem,
    FeeRate,
    Meter,
    MeterReading,
    RateTier,
    Unit,
    UnitUse,
    unit_label,
)

from .bill_lines import BackwardsReading, RateInForce, Tier, reading_usage
from .money import split, to_fen
from .periods import Period


class UnitRow(NamedTuple):
    id: int
    building_id: int
    number: str
    area: Decimal
    use: UnitUse
    building_name: str

    @property
    def label(self) -> str:
        return unit_label(self.building_name, self.number)


class ItemRow(NamedTuple):
    """A fee item as a run reads it (plain values: read once per line of every bill)."""

    id: int
    name: str
    method: BillingMethod
    building_id: int | None
    unit_use: UnitUse | None
    quantity_unit: str
    due_days: int


class MeterRef(NamedTuple):
    id: int
    code: str
    unit_id: int | None
    fee_item_id: int


class ReadingRow(NamedTuple):
    """The columns of a meter reading that billing reads (plain values, no ORM object)."""

    id: int
    value: Decimal
    previous: Decimal | None
    usage: Decimal
    replaced: bool
    old_final: Decimal | None
    new_start: Decimal | None
    flagged: bool
    reviewed_at: object
    flag_note: str

    @property
    def needs_review(self) -> bool:
        return self.flagged and self.reviewed_at is None


READING_COLUMNS = (
    MeterReading.id,
    MeterReading.value,
    MeterReading.previous,
    MeterReading.usage,
    MeterReading.replaced,
    MeterReading.old_final,
    MeterReading.new_start,
    MeterReading.flagged,
    MeterReading.reviewed_at,
    MeterReading.flag_note,
)


def reading_row(row) -> ReadingRow | None:
    """A ReadingRow from READING_COLUMNS, or None when the outer join found none."""
    return None if row[0] is None else ReadingRow(*row)


class Share(NamedTuple):
    """A unit's part of a shared meter: the amount, its area and the area shared over."""

    meter: Meter
    reading: ReadingRow
    amount: Decimal
    area: Decimal
    total_area: Decimal


@dataclass
class Context:
    estate_id: int
    items: list[ItemRow]
    rates: dict[int, RateInForce] = field(default_factory=dict)
    shares: dict[tuple[int, int], Share] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    flag_seen: set[int] = field(default_factory=set)
    # The repair-charge fee item when the estate has charges waiting (see bill_charges).
    charge_item_id: int | None = None

    def __post_init__(self) -> None:
        self._by_id = {item.id: item for item in self.items}
        self.metered_item_ids = [
            item.id
            for item in self.items
            if item.method in (BillingMethod.metered, BillingMethod.tiered)
        ]

    def item(self, item_id: int) -> ItemRow:
        return self._by_id[item_id]

    def has(self, method: BillingMethod) -> bool:
        return any(item.method is method for item in self.items)

    @staticmethod
    def applies(item: ItemRow, unit) -> bool:
        """The item's filters: one building, one kind of unit (or all)."""
        return (item.building_id is None or item.building_id == unit.building_id) and (
            item.unit_use is None or item.unit_use == unit.use
        )


def reading_of(reading) -> Decimal:
    """The usage a reading bills (raises BackwardsReading)."""
    return reading_usage(
        reading.value,
        reading.previous,
        reading.usage,
        replaced=reading.replaced,
        old_final=reading.old_final,
        new_start=reading.new_start,
    )


def load_context(session, estate_id: int, period: Period) -> Context:
    """The items that take part in ``period``: active, of the period's cycle (a one-off
    item: named for this period). A missing rate is an error for the whole run."""
    items = [
        ItemRow(*row)
        for row in session.execute(
            select(
                FeeItem.id,
                FeeItem.name,
                FeeItem.method,
                FeeItem.building_id,
                FeeItem.unit_use,
                FeeItem.quantity_unit,
                FeeItem.due_days,
            )
            .where(
                FeeItem.estate_id == estate_id,
                FeeItem.active.is_(True),
                ((FeeItem.cycle == period.cycle) & (FeeItem.method != BillingMethod.one_off))
                | (
                    (FeeItem.method == BillingMethod.one_off)
                    & (FeeItem.one_off_period == period.key)
                ),
            )
            .order_by(FeeItem.id)
        )
    ]
    ctx = Context(estate_id, items)
    if not items:
        return ctx
    _load_rates(session, ctx, period)
    if not ctx.errors and ctx.has(BillingMethod.shared):
        _load_shares(session, ctx, period)
    return ctx


def _load_rates(session, ctx: Context, period: Period) -> None:
    """The rate in force: the latest one effective on or before the period's first day
    (a rate that starts mid-period applies from the next period)."""
    latest: dict[int, FeeRate] = {}
    for rate in session.scalars(
        select(FeeRate)
        .where(
            FeeRate.fee_item_id.in_([item.id for item in ctx.items]),
            FeeRate.effective_from <= period.start,
        )
        .order_by(FeeRate.fee_item_id, FeeRate.effective_from.desc())
    ):
        latest.setdefault(rate.fee_item_id, rate)
    tiers: dict[int, list[Tier]] = {}
    tiered_rates = [
        r.id for r in latest.values() if ctx.item(r.fee_item_id).method is BillingMethod.tiered
    ]
    if tiered_rates:
        for tier in session.scalars(
            select(RateTier)
            .where(RateTier.rate_id.in_(tiered_rates))
            .order_by(RateTier.rate_id, RateTier.position)
        ):
            tiers.setdefault(tier.rate_id, []).append(Tier(tier.up_to, tier.unit_price))
    for item in ctx.items:
        rate = latest.get(item.id)
        if rate is None:
            ctx.errors.append(
                _(
                    "%(item)s has no rate in force for %(period)s: add a rate effective on"
                    " or before %(date)s.",
                    item=item.name,
                    period=period.key,
                    date=period.start.isoformat(),
                )
            )
            continue
        ctx.rates[item.id] = RateInForce(rate.id, rate.unit_price, tuple(tiers.get(rate.id, ())))


def _load_shares(session, ctx: Context, period: Period) -> None:
    """Each unit's share of each shared meter: the meter's usage × price, rounded to the
    fen, split by area over the units the item applies to (in the meter's building, or
    the whole estate) so that the parts add up to it exactly."""
    shared_items = [item for item in ctx.items if item.method is BillingMethod.shared]
    meters = session.execute(
        select(Meter, *READING_COLUMNS)
        .outerjoin(
            MeterReading,
            (MeterReading.meter_id == Meter.id) & (MeterReading.period == period.key),
        )
        .where(
            Meter.estate_id == ctx.estate_id,
            Meter.active.is_(True),
            Meter.unit_id.is_(None),
            Meter.fee_item_id.in_([item.id for item in shared_items]),
        )
        .order_by(Meter.id)
    ).all()
    if not meters:
        return
    units = session.execute(
        select(Unit.id, Unit.building_id, Unit.number, Unit.area, Unit.use, Building.name)
        .join(Building)
        .where(Building.estate_id == ctx.estate_id)
        .order_by(Unit.id)
    ).all()
    units = [UnitRow(*row) for row in units]
    for meter, *columns in meters:
        reading = reading_row(columns)
        where = meter.location or meter.code
        if reading is None:
            ctx.errors.append(
                _(
                    "Shared meter %(meter)s (%(where)s) has no reading for %(period)s.",
                    meter=meter.code,
                    where=where,
                    period=period.key,
                )
            )
            continue
        try:
            usage = reading_of(reading)
        except BackwardsReading:
            ctx.errors.append(
                _(
                    "Shared meter %(meter)s (%(where)s) goes backwards: %(value)s is below"
                    " the previous reading %(previous)s.",
                    meter=meter.code,
                    where=where,
                    value=reading.value,
                    previous=reading.previous,
                )
            )
            continue
        item = ctx.item(meter.fee_item_id)
        scope = [
            u for u in units if ctx.applies(item, u) and meter.building_id in (None, u.building_id)
        ]
        total_area = sum((u.area for u in scope), Decimal(0))
        if not scope or total_area == 0:
            continue
        amount = to_fen(usage * ctx.rates[item.id].unit_price)
        for unit, part in zip(scope, split(amount, [u.area for u in scope]), strict=True):
            if (item.id, unit.id) in ctx.shares:
                ctx.errors.append(
                    _(
                        "%(unit)s is under two shared meters of %(item)s.",
                        unit=unit.label,
                        item=item.name,
                    )
                )
                continue
            ctx.shares[(item.id, unit.id)] = Share(meter, reading, part, unit.area, total_area)
