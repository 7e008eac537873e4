"""The rules for setting up what the office charges: fee items, their versioned rates
(with the steps of a tiered price) and the meters read for metered items.

Each check returns ``{field: message}`` (empty when all is well), so a form can put every
message by its field; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from models import (
    BillingMethod,
    BillLine,
    Building,
    Cycle,
    FeeItem,
    FeeKind,
    FeeRate,
    Meter,
    Unit,
)

from . import ServiceError
from .fields import text_problem
from .periods import parse_period

METHOD_LABELS = {
    BillingMethod.per_area: _l("By area"),
    BillingMethod.fixed: _l("Fixed"),
    BillingMethod.metered: _l("By meter"),
    BillingMethod.tiered: _l("Tiered price"),
    BillingMethod.per_space: _l("By parking space"),
    BillingMethod.shared: _l("Shared meter"),
    BillingMethod.one_off: _l("One-off"),
}
CYCLE_LABELS = {
    Cycle.monthly: _l("Monthly"),
    Cycle.quarterly: _l("Quarterly"),
    Cycle.yearly: _l("Yearly"),
}
KIND_LABELS = {
    FeeKind.property: _l("Property fee"),
    FeeKind.water: _l("Water"),
    FeeKind.electricity: _l("Electricity"),
    FeeKind.gas: _l("Gas"),
    FeeKind.parking: _l("Parking fee"),
    FeeKind.rent: _l("Rent"),
    FeeKind.other: _l("Other"),
}
# What a quantity is counted in when the clerk leaves it empty (shown on every line).
DEFAULT_QUANTITY_UNIT = {
    FeeKind.property: "m²",
    FeeKind.water: "吨",
    FeeKind.electricity: "度",
    FeeKind.gas: "m³",
    FeeKind.parking: "个",
}
METHOD_QUANTITY_UNIT = {BillingMethod.per_area: "m²", BillingMethod.per_space: "个"}
# Methods whose items are read from meters: a unit's own, or a shared one.
UNIT_METER_METHODS = (BillingMethod.metered, BillingMethod.tiered)
SHARED_METER_METHODS = (BillingMethod.shared,)

PRICE_PLACES = 4
MAX_UNIT_PRICE = Decimal("100000")  # yuan per m², per 吨, per unit...: beyond is a typo
MAX_TIER_UP_TO = Decimal("10000000")
MAX_DUE_DAYS = 365
MAX_READING = Decimal("9999999999.99")


def default_quantity_unit(kind: FeeKind | None, method: BillingMethod | None) -> str:
    return METHOD_QUANTITY_UNIT.get(method) or DEFAULT_QUANTITY_UNIT.get(kind, "")


def typed_number(text) -> Decimal | None:
    """What a person typed as an exact number (thousands separators and ¥ allowed);
    None when it is not a finite number. Never a float."""
    if isinstance(text, float):
        raise TypeError("floats are not accepted for exact numbers")
    raw = str(text if text is not None else "").strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(raw.removeprefix("¥").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_price(text, field: str = "unit_price") -> Decimal:
    """A unit price typed by a person: more than zero, at most four decimal places and
    at most MAX_UNIT_PRICE. Raises ServiceError naming ``field``."""
    value = typed_number(text)
    if value is None:
        raise ServiceError(_("Enter a price in yuan, such as 2.50."), field)
    if value <= 0:
        raise ServiceError(_("The price must be more than zero."), field)
    if value > MAX_UNIT_PRICE:
        raise ServiceError(_("The price is too large."), field)
    if value != value.quantize(Decimal(1).scaleb(-PRICE_PLACES)):
        raise ServiceError(_("A price has at most four decimal places."), field)
    return value


def parse_quantity(text, field: str) -> Decimal:
    """A tier's upper bound: a usage of more than zero, at most two decimal places."""
    value = typed_number(text)
    if value is None or not 0 < value <= MAX_TIER_UP_TO:
        raise ServiceError(_("Enter a usage such as 180 (more than zero)."), field)
    if value != value.quantize(Decimal("0.01")):
        raise ServiceError(_("A usage has at most two decimal places."), field)
    return value


def parse_reading(text, field: str = "value") -> Decimal:
    """A meter reading typed by a person: a number of at least zero with at most two
    decimal places. Raises ServiceError naming ``field``."""
    value = typed_number(text)
    if value is None:
        raise ServiceError(_("Enter the number shown on the meter, such as 1234.5."), field)
    if value < 0:
        raise ServiceError(_("A meter reading is not negative."), field)
    if value > MAX_READING:
        raise ServiceError(_("This number is too large for a meter reading."), field)
    if value != value.quantize(Decimal("0.01")):
        raise ServiceError(_("A meter reading has at most two decimal places."), field)
    return value


# -- fee items ---------------------------------------------------------------------------
def fee_item_problems(
    session: Session,
    *,
    estate_id: int | None,
    name: str,
    method: BillingMethod | str | None,
    cycle: Cycle | str | None,
    building: Building | None,
    one_off_period: str | None,
    due_days: int | None,
    item_id: int | None = None,
) -> dict[str, str]:
    """What is wrong with a fee item as filled in: a name used by another item of the
    estate, a building of another estate, a one-off item without its period (or with a
    period of another cycle), a due date too far off."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    columns = FeeItem.__table__.c
    if not name:
        errors["name"] = _("Give the fee item a name.")
    elif problem := text_problem(columns.name, name):
        errors["name"] = problem
    elif estate_id is not None:
        taken = select(FeeItem.id).where(FeeItem.estate_id == estate_id, FeeItem.name == name)
        if item_id is not None:
            taken = taken.where(FeeItem.id != item_id)
        if session.scalar(taken.limit(1)) is not None:
            errors["name"] = _("The estate already has a fee item called %(name)s.", name=name)
    if building is not None and estate_id is not None and building.estate_id != estate_id:
        errors["building"] = _("Choose a building of the fee item's estate.")
    if method is not None and BillingMethod(method) is BillingMethod.one_off:
        try:
            period = parse_period(one_off_period or "", "one_off_period")
        except ServiceError as exc:
            errors["one_off_period"] = _("A one-off item needs the period it is billed in.") + (
                " " + exc.message
            )
        else:
            if cycle is not None and period.cycle is not Cycle(cycle):
                errors["one_off_period"] = _(
                    "%(period)s is not a period of this item's cycle (%(cycle)s).",
                    period=period.key,
                    cycle=CYCLE_LABELS[Cycle(cycle)],
                )
    elif one_off_period:
        errors["one_off_period"] = _("Only a one-off item has a period of its own.")
    if due_days is not None and not 0 <= due_days <= MAX_DUE_DAYS:
        errors["due_days"] = _("Give the days to pay as a number from 0 to %(n)d.", n=MAX_DUE_DAYS)
    return errors


# -- rates -------------------------------------------------------------------------------
@dataclass
class Tier:
    """One step as typed: the upper bound (None on the last step) and its price."""

    up_to: Decimal | None
    unit_price: Decimal


def tier_problems(item: FeeItem, tiers: list[Tier]) -> str | None:
    """Why these steps do not fit the item: a tiered price needs steps with rising
    bounds and an open last one; any other item takes a single price, no steps."""
    if item.method is not BillingMethod.tiered:
        if tiers:
            return _("Only a tiered item has steps: remove them, or make the item tiered.")
        return None
    if not tiers:
        return _("A tiered price needs its steps: add at least one, the last without a bound.")
    if tiers[-1].up_to is not None:
        return _("Leave the last step without an upper bound: it covers all usage above.")
    bounds = [t.up_to for t in tiers[:-1]]
    if any(b is None for b in bounds):
        return _("Only the last step is without an upper bound.")
    if any(later <= earlier for earlier, later in zip(bounds, bounds[1:], strict=False)):
        return _("The steps' upper bounds must rise from one step to the next.")
    return None


def rate_problems(
    session: Session,
    item: FeeItem | None,
    effective_from: date | None,
    tiers: list[Tier],
    rate_id: int | None = None,
) -> dict[str, str]:
    """What is wrong with a rate: a second rate of the item from the same day, steps
    that do not fit the item (see tier_problems)."""
    errors: dict[str, str] = {}
    if item is None:
        return errors
    if effective_from is not None:
        same_day = select(FeeRate.id).where(
            FeeRate.fee_item_id == item.id, FeeRate.effective_from == effective_from
        )
        if rate_id is not None:
            same_day = same_day.where(FeeRate.id != rate_id)
        if session.scalar(same_day.limit(1)) is not None:
            errors["effective_from"] = _(
                "%(item)s already has a rate from %(date)s: change that one, or pick another day.",
                item=item.name,
                date=effective_from.isoformat(),
            )
    if problem := tier_problems(item, tiers):
        errors["tiers"] = problem
    return errors


def rate_in_use(session: Session, rate: FeeRate) -> bool:
    """Whether a bill line was made with this rate (it must then stay as it is)."""
    if rate.id is None:
        return False
    return bool(session.scalar(select(exists().where(BillLine.rate_id == rate.id))))


def rate_in_use_message() -> str:
    return _(
        "Bills were made with this rate, so it cannot be changed or deleted: add a new rate "
        "from a later date instead."
    )


# -- meters ------------------------------------------------------------------------------
def meter_problems(
    session: Session,
    *,
    item: FeeItem | None,
    code: str,
    unit: Unit | None,
    building: Building | None,
    meter_id: int | None = None,
) -> dict[str, str]:
    """What is wrong with a meter: a code used by another meter of the estate; a unit's
    own meter for an item that is not metered, or a shared meter for one that is not
    shared; a unit or building of another estate."""
    errors: dict[str, str] = {}
    code = (code or "").strip()
    if not code:
        errors["code"] = _("Give the meter's number.")
    elif problem := text_problem(Meter.__table__.c.code, code):
        errors["code"] = problem
    if item is None:
        return errors
    if code and "code" not in errors:
        taken = select(func.count(Meter.id)).where(
            Meter.estate_id == item.estate_id, Meter.code == code
        )
        if meter_id is not None:
            taken = taken.where(Meter.id != meter_id)
        if session.scalar(taken):
            errors["code"] = _("The estate already has a meter numbered %(code)s.", code=code)
    if unit is not None:
        if unit.building.estate_id != item.estate_id:
            errors["unit"] = _("Choose a unit of the fee item's estate.")
        elif item.method not in UNIT_METER_METHODS:
            errors["fee_item"] = _(
                "A unit's own meter is for a metered or tiered item; %(item)s is not one.",
                item=item.name,
            )
    elif item.method not in SHARED_METER_METHODS:
        errors["unit" if item.method in UNIT_METER_METHODS else "fee_item"] = _(
            "Choose the unit this meter belongs to, or choose a shared-meter item for a "
            "shared meter."
        )
    if building is not None and building.estate_id != item.estate_id:
        errors["building"] = _("Choose a building of the fee item's estate.")
    if unit is not None and building is not None and unit.building_id != building.id:
        errors["building"] = _("A unit's meter is in the unit's own building; leave this empty.")
    return errors
