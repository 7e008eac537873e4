"""How a bill line says where its amount comes from, in the reader's language.

Generation stores the facts on the line (quantity, unit price, rate, readings, days,
area share, tier breakdown as JSON); this module turns them into sentences for the
admin, the portal and reminder mail alike.
"""

from __future__ import annotations

import json
from decimal import Decimal

from flask_babel import gettext as _

from models import BillingMethod, BillLine

from .bill_charges import charges_of, explain_charges


def yuan(value: Decimal | int | str | None, places: int = 2) -> str:
    """¥1,234.50 (unit prices keep their four places, trailing zeros trimmed to two)."""
    if value is None:
        return ""
    amount = Decimal(value)
    if places > 2:
        trimmed = amount.normalize()
        exponent = trimmed.as_tuple().exponent
        places = max(2, -exponent if isinstance(exponent, int) else 2)
        amount = amount.quantize(Decimal(1).scaleb(-places))
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.{places}f}"


def number(value: Decimal | None) -> str:
    """A quantity without needless zeros: 89.50 → 89.5, 16.00 → 16."""
    if value is None:
        return ""
    text = f"{Decimal(value).normalize():f}"
    return text


def _rate(line: BillLine) -> str:
    if line.rate is None:
        return ""
    return _("rate from %(date)s", date=line.rate.effective_from.isoformat())


def _readings(line: BillLine) -> str:
    if line.reading_current is None:
        return ""
    return _(
        "previous reading %(previous)s, this reading %(current)s",
        previous=number(line.reading_previous) if line.reading_previous is not None else "—",
        current=number(line.reading_current),
    )


def _tiers(line: BillLine) -> list[str]:
    try:
        steps = json.loads(line.detail or "[]")
    except ValueError:
        return []
    if not isinstance(steps, list):
        return []
    parts = []
    for n, step in enumerate(steps, start=1):
        parts.append(
            _(
                "tier %(n)d: %(quantity)s %(unit)s × %(price)s = %(amount)s",
                n=n,
                quantity=number(Decimal(step["quantity"])),
                unit=line.quantity_unit,
                price=yuan(Decimal(step["unit_price"]), 4),
                amount=yuan(Decimal(step["amount"])),
            )
        )
    return parts


def explain(line: BillLine) -> list[str]:
    """The parts of a line's explanation, in order; the template joins them."""
    charges = charges_of(line)
    if charges is not None:  # resident-paid repairs: each with its number and place
        return explain_charges(charges, yuan)
    qty, unit = number(line.quantity), line.quantity_unit
    price = yuan(line.unit_price, 4)
    method = line.method
    parts: list[str] = []
    if method is BillingMethod.per_area:
        parts.append(_("area %(qty)s m² × %(price)s per m²", qty=qty, price=price))
    elif method is BillingMethod.fixed:
        parts.append(_("%(price)s per unit", price=price))
    elif method is BillingMethod.per_space:
        parts.append(_("%(qty)s parking space(s) × %(price)s", qty=qty, price=price))
    elif method is BillingMethod.one_off:
        parts.append(_("one-off charge of %(price)s", price=price))
    elif method is BillingMethod.metered:
        parts.append(_readings(line))
        parts.append(_("usage %(qty)s %(unit)s × %(price)s", qty=qty, unit=unit, price=price))
    elif method is BillingMethod.tiered:
        parts.append(_readings(line))
        parts.append(_("usage %(qty)s %(unit)s, priced by tier", qty=qty, unit=unit))
        parts.extend(_tiers(line))
    elif method is BillingMethod.shared:
        where = line.meter.location or line.meter.code if line.meter is not None else ""
        parts.append(
            _(
                "shared meter %(where)s: usage %(qty)s %(unit)s × %(price)s",
                where=where,
                qty=qty,
                unit=unit,
                price=price,
            )
        )
        if line.share_area is not None and line.share_total_area:
            parts.append(
                _(
                    "split by area: %(area)s of %(total)s m²",
                    area=number(line.share_area),
                    total=number(line.share_total_area),
                )
            )
    if line.days is not None and line.period_days and line.days != line.period_days:
        parts.append(
            _(
                "charged for %(days)d of %(period_days)d days",
                days=line.days,
                period_days=line.period_days,
            )
        )
    parts.append(_rate(line))
    return [p for p in parts if p]
