"""Meter readings: usage from one reading to the next, meter replacements, corrections,
and usage far above a meter's usual flagged for review before billing.

A reading's ``previous`` is the value of the meter's latest reading of an earlier period
(none for the first reading, whose usage is 0). Every way a reading is written — the
admin form, the sheet import, the demo — goes through ``record_reading`` or
``correct_reading``, so the rules are one.
"""

from __future__ import annotations

import logging
import statistics
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from models import Bill, BillLine, Meter, MeterReading, User
from models.base import utcnow

from ..permissions import scoped
from . import ServiceError
from .fee_setup import CYCLE_LABELS, parse_reading
from .periods import Period, parse_period

log = logging.getLogger(__name__)

# A usage is flagged when it is more than SPIKE_FACTOR × the median of the meter's last
# USUAL_WINDOW usages and more than SPIKE_FLOOR above it, once there are MIN_HISTORY.
SPIKE_FACTOR = 3
SPIKE_FLOOR = Decimal(10)
USUAL_WINDOW = 6
MIN_HISTORY = 3
# How long before its period starts and after it ends a reading may be taken.
READ_EARLY = timedelta(days=31)
READ_LATE = timedelta(days=92)


def number(value: Decimal | None) -> str:
    """96.00 → 96, 12.50 → 12.5: a reading as a clerk writes it."""
    return "" if value is None else f"{Decimal(value).normalize():f}"


def meter_place(meter: Meter) -> str:
    """Where a meter is: its unit (1栋-101) or, for a shared meter, its location."""
    if meter.unit is not None:
        return meter.unit.label
    return meter.location or _("shared meter")


def meter_period(meter: Meter, text: str, field: str = "period") -> Period:
    """The period a reading is for: one of the meter's fee item's cycle."""
    period = parse_period(text, field)
    cycle = meter.fee_item.cycle
    if period.cycle is not cycle:
        raise ServiceError(
            _(
                "%(item)s is billed by %(cycle)s periods; %(period)s is not one.",
                item=meter.fee_item.name,
                cycle=CYCLE_LABELS[cycle],
                period=period.key,
            ),
            field,
        )
    return period


# -- the rule ------------------------------------------------------------------------------
def record_reading(
    session: Session,
    meter: Meter,
    period_text: str,
    value,
    read_on: date,
    *,
    actor: User | None,
    replaced: bool = False,
    old_final=None,
    new_start=None,
) -> MeterReading:
    """Record a meter's reading for a period and work out its usage.

    Raises ServiceError (with the form field) when the period is not one of the meter's
    cycle, the meter already has a reading for it (correct that one instead), the reading
    goes backwards without a replacement, or a replacement's numbers do not add up. Usage
    far above the meter's usual is flagged (see ``_flag``)."""
    if not meter.active:
        raise ServiceError(_("Meter %(code)s is no longer in use.", code=meter.code), "meter")
    period = meter_period(meter, period_text)
    existing = session.scalar(
        select(MeterReading).where(
            MeterReading.meter_id == meter.id, MeterReading.period == period.key
        )
    )
    if existing is not None:
        raise ServiceError(
            _(
                "Meter %(code)s already has a reading for %(period)s (%(value)s). To change "
                "it, open that reading and correct it.",
                code=meter.code,
                period=period.key,
                value=number(existing.value),
            ),
            "period",
        )
    reading = MeterReading(meter=meter, period=period.key, entered_by=actor)
    _fill(session, reading, period, value, read_on, replaced, old_final, new_start)
    session.add(reading)
    session.flush()
    _recompute_next(session, reading)
    log.info("reading %s %s recorded by %r", meter.code, period.key, actor)
    return reading


def correct_reading(
    session: Session,
    reading: MeterReading,
    value,
    read_on: date,
    *,
    actor: User | None,
    replaced: bool = False,
    old_final=None,
    new_start=None,
) -> MeterReading:
    """Correct a reading: its usage (and the next reading's) is worked out again and a
    flag needs a new review. Refused once a bill of the period has a line from this
    meter, or when the next reading has been billed."""
    if message := billed_message(session, reading):
        raise ServiceError(message, "value")
    period = meter_period(reading.meter, reading.period)
    _fill(session, reading, period, value, read_on, replaced, old_final, new_start)
    reading.entered_by = actor
    session.flush()
    _recompute_next(session, reading)
    return reading


def review_reading(session: Session, reading: MeterReading, *, actor: User | None) -> None:
    """Mark a flagged reading as looked at: it no longer holds up billing."""
    reading.reviewed_by = actor
    reading.reviewed_at = utcnow()
    session.flush()


def reading_billed(session: Session, reading: MeterReading) -> bool:
    """Whether a bill of the reading's period has a line from its meter."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    BillLine.meter_id == reading.meter_id,
                    BillLine.bill_id == Bill.id,
                    Bill.period == reading.period,
                )
            )
        )
    )


def billed_message(session: Session, reading: MeterReading) -> str | None:
    """Why a reading may no longer change (a bill was made from it), or None."""
    if reading.id is None or not reading_billed(session, reading):
        return None
    return _(
        "A bill for %(period)s already uses meter %(code)s, so its reading cannot change.",
        period=reading.period,
        code=reading.meter.code,
    )


def delete_reading(session: Session, reading: MeterReading) -> None:
    """Delete a reading that no bill uses; the next one then counts from the one before."""
    if message := billed_message(session, reading):
        raise ServiceError(message)
    following = _next_reading(session, reading)
    session.delete(reading)
    session.flush()
    if following is not None:
        _rework(session, following)


def first_reading_notice(reading: MeterReading) -> str | None:
    """What to tell the clerk about a meter's first reading (it has no usage yet)."""
    if reading.previous is not None:
        return None
    return _(
        "This is the first reading of meter %(code)s: its usage is 0, and the next reading "
        "is counted from %(value)s.",
        code=reading.meter.code,
        value=number(reading.value),
    )


def readings_to_review(session: Session, user) -> int:
    """Flagged readings nobody has reviewed yet, in the user's estates."""
    stmt = select(func.count(MeterReading.id)).where(
        MeterReading.flagged.is_(True), MeterReading.reviewed_at.is_(None)
    )
    return session.scalar(scoped(stmt, MeterReading, user)) or 0


# -- working it out --------------------------------------------------------------------------
def _fill(session, reading, period, value, read_on, replaced, old_final, new_start) -> None:
    value = parse_reading(value)
    if not isinstance(read_on, date):
        raise ServiceError(_("Enter the day the meter was read, such as 2026-11-30."), "read_on")
    if not period.start - READ_EARLY <= read_on <= period.last_day + READ_LATE:
        raise ServiceError(
            _(
                "A reading for %(period)s is taken between %(first)s and %(last)s.",
                period=period.key,
                first=(period.start - READ_EARLY).isoformat(),
                last=(period.last_day + READ_LATE).isoformat(),
            ),
            "read_on",
        )
    reading.value, reading.read_on, reading.replaced = value, read_on, bool(replaced)
    if replaced:
        for name, given in (("old_final", old_final), ("new_start", new_start)):
            if given is None or str(given).strip() == "":
                raise ServiceError(
                    _(
                        "A meter replacement needs the old meter's final reading and the new "
                        "meter's starting reading."
                    ),
                    name,
                )
        reading.old_final = parse_reading(old_final, "old_final")
        reading.new_start = parse_reading(new_start, "new_start")
    else:
        reading.old_final = reading.new_start = None
    _recompute(session, reading)


def _recompute(session: Session, reading: MeterReading) -> None:
    """Previous, usage and flag from the reading's own numbers and the meter's history."""
    meter = reading.meter
    before = select(MeterReading).where(
        MeterReading.meter_id == meter.id, MeterReading.period < reading.period
    )
    if reading.id is not None:
        before = before.where(MeterReading.id != reading.id)
    last = session.scalar(before.order_by(MeterReading.period.desc()).limit(1))
    previous = last.value if last is not None else None
    reading.previous = previous
    if reading.replaced:
        if previous is None:
            raise ServiceError(
                _(
                    "Meter %(code)s has no earlier reading: record this one as its first.",
                    code=meter.code,
                ),
                "replaced",
            )
        if reading.old_final < previous:
            raise ServiceError(
                _(
                    "The old meter's final reading %(final)s is below its previous reading "
                    "%(previous)s.",
                    final=number(reading.old_final),
                    previous=number(previous),
                ),
                "old_final",
            )
        if reading.value < reading.new_start:
            raise ServiceError(
                _(
                    "The reading %(value)s is below the new meter's starting reading %(start)s.",
                    value=number(reading.value),
                    start=number(reading.new_start),
                ),
                "value",
            )
        reading.usage = (reading.old_final - previous) + (reading.value - reading.new_start)
    elif previous is None:
        reading.usage = Decimal("0.00")
    elif reading.value < previous:
        raise ServiceError(
            _(
                "Meter %(code)s (%(where)s): the new reading %(new)s is below the previous "
                "reading %(previous)s (%(period)s). If the meter was replaced, record a meter "
                "replacement with the old meter's final reading and the new meter's starting "
                "reading.",
                code=meter.code,
                where=meter_place(meter),
                new=number(reading.value),
                previous=number(previous),
                period=last.period,
            ),
            "value",
        )
    else:
        reading.usage = reading.value - previous
    _flag(session, reading)


def _flag(session: Session, reading: MeterReading) -> None:
    """Flag usage far above the meter's own usual: more than SPIKE_FACTOR × the median of
    its last USUAL_WINDOW usages (first readings, which have none, left out) and more than
    SPIKE_FLOOR above it, once it has MIN_HISTORY of them. A new or corrected number
    needs a new review."""
    stmt = (
        select(MeterReading.usage)
        .where(
            MeterReading.meter_id == reading.meter.id,
            MeterReading.period < reading.period,
            MeterReading.previous.is_not(None),
        )
        .order_by(MeterReading.period.desc())
        .limit(USUAL_WINDOW)
    )
    if reading.id is not None:
        stmt = stmt.where(MeterReading.id != reading.id)
    usages = list(session.scalars(stmt))
    reading.flagged, reading.flag_note = False, ""
    reading.reviewed_by, reading.reviewed_at = None, None
    if len(usages) < MIN_HISTORY:
        return
    usual = Decimal(statistics.median(usages)).quantize(Decimal("0.01"))
    usage = reading.usage
    if usage > SPIKE_FACTOR * usual and usage - usual > SPIKE_FLOOR:
        reading.flagged = True
        if usual > 0:
            reading.flag_note = _(
                "usage %(usage)s is %(times)s× this meter's usual %(usual)s",
                usage=number(usage),
                times=number((usage / usual).quantize(Decimal("0.1"))),
                usual=number(usual),
            )
        else:
            reading.flag_note = _(
                "usage %(usage)s where this meter usually uses %(usual)s",
                usage=number(usage),
                usual=number(usual),
            )


def _next_reading(session: Session, reading: MeterReading) -> MeterReading | None:
    return session.scalar(
        select(MeterReading)
        .where(
            MeterReading.meter_id == reading.meter.id,
            MeterReading.period > reading.period,
        )
        .order_by(MeterReading.period)
        .limit(1)
    )


def _recompute_next(session: Session, reading: MeterReading) -> None:
    """The meter's next reading counts from this one: work it out again."""
    following = _next_reading(session, reading)
    if following is not None:
        _rework(session, following)


def _rework(session: Session, following: MeterReading) -> None:
    """Work a later reading out again after the one before it changed (refused when it
    was billed already, or when it would now go backwards)."""
    if reading_billed(session, following):
        raise ServiceError(
            _(
                "The reading of %(period)s, which counts from this one, is already billed.",
                period=following.period,
            ),
            "period",
        )
    try:
        _recompute(session, following)
    except ServiceError as exc:
        raise ServiceError(
            _(
                "The next reading (%(period)s) would not fit: %(reason)s",
                period=following.period,
                reason=exc.message,
            ),
            "value",
        ) from exc
