"""The arithmetic of one bill line: pure functions on Decimals, no database.

Every amount is computed exactly and rounded half-up to the fen once, at the end
(``money.to_fen``); a tiered line is the sum of its steps, each rounded to the fen, so
the breakdown a payer reads adds up to the line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .money import to_fen


@dataclass(frozen=True)
class Tier:
    """One step of a tiered price: usage up to ``up_to`` (cumulative; None = no limit)."""

    up_to: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True)
class RateInForce:
    """The rate version a line is priced with."""

    id: int
    unit_price: Decimal
    tiers: tuple[Tier, ...] = ()


def prorated(exact: Decimal, days: int | None, period_days: int) -> Decimal:
    """``exact`` for the whole period, or its share for ``days`` of ``period_days``,
    rounded half-up to the fen."""
    if days is None or days >= period_days:
        return to_fen(exact)
    return to_fen(exact * days / period_days)


def covered_days(spans: Sequence[tuple[date | None, date | None]], start: date, end: date) -> int:
    """How many days of [start, end) the occupancies cover. A span is (start_date,
    end_date) with both ends inclusive and None meaning open; overlapping spans (an owner
    and a tenant at once) count each day once."""
    if len(spans) == 1:  # the usual case, without sorting
        first, last = spans[0]
        lo = max(first or start, start)
        hi = min(last + timedelta(days=1) if last else end, end)
        return max((hi - lo).days, 0)
    clipped = sorted(
        (max(first or start, start), min(last + timedelta(days=1) if last else end, end))
        for first, last in spans
    )
    days, reached = 0, start
    for lo, hi in clipped:
        lo = max(lo, reached)
        if hi > lo:
            days += (hi - lo).days
            reached = hi
    return days


def tiered(usage: Decimal, rate: RateInForce) -> tuple[Decimal, str]:
    """The amount of ``usage`` priced by the rate's steps, and the breakdown as JSON:
    a list of {"from", "to", "quantity", "unit_price", "amount"} (strings). Each step is
    rounded to the fen and the line is their sum. Usage beyond the last step's limit is
    priced at the last step; a rate without steps prices everything at its unit price."""
    tiers = rate.tiers or (Tier(None, rate.unit_price),)
    steps = []
    total = Decimal("0.00")
    lower = Decimal(0)
    for position, tier in enumerate(tiers):
        last = position == len(tiers) - 1
        upper = usage if last or tier.up_to is None else min(usage, tier.up_to)
        quantity = upper - lower
        if quantity > 0:
            amount = to_fen(quantity * tier.unit_price)
            total += amount
            steps.append(
                {
                    "from": _plain(lower),
                    "to": _plain(upper),
                    "quantity": _plain(quantity),
                    "unit_price": _plain(tier.unit_price),
                    "amount": str(amount),
                }
            )
            lower = upper
        if tier.up_to is None or usage <= tier.up_to:
            break
    return total, json.dumps(steps)


def _plain(value: Decimal) -> str:
    """A quantity or price as text without trailing zeros (89.50 → 89.5)."""
    text = f"{value.normalize():f}"
    return text


class BackwardsReading(ValueError):
    """A reading below the one before it, and no meter replacement recorded."""


def reading_usage(
    value: Decimal,
    previous: Decimal | None,
    stored_usage: Decimal,
    *,
    replaced: bool,
    old_final: Decimal | None,
    new_start: Decimal | None,
) -> Decimal:
    """Usage = current − previous. When the meter was replaced, the old meter's last
    stretch plus the new one's: (old_final − previous) + (value − new_start). A first
    reading (no previous) keeps the usage it was entered with."""
    if replaced:
        if previous is None or old_final is None or new_start is None:
            return stored_usage
        return (old_final - previous) + (value - new_start)
    if previous is None:
        return stored_usage
    if value < previous:
        raise BackwardsReading(f"{value} < {previous}")
    return value - previous
