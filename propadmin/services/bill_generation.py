"""Bill generation: one bill per unit per period, a line per fee item, from the rates in
force and the meter readings of the period.

``preview_bills`` and ``generate_bills`` share one computation (``_run``). Units are
read in batches of ``BATCH_SIZE`` by id, and each batch costs a constant number of
queries whatever its size: units, occupancies, existing bills, parking spaces, meters
with their readings; bills and lines are written with one bulk insert each. Bulk inserts
bypass the ORM's audit hook on purpose: the run writes one audit entry of its own.

Nothing commits here. A failure raises ``ServiceError`` after some batches may have been
written: the caller rolls back, so a failed run leaves no bill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Building,
    Estate,
    MeterReading,
    Unit,
    User,
    utcnow,
)
from propadmin import audit
from propadmin.bulk import without_cycle_collection

from . import ServiceError
from .bill_charges import ITEM_NAME, charge_item_id, has_pending, mark_billed
from .bill_context import UnitRow, load_context
from .bill_drafts import FlaggedReading, plan_batch
from .bill_insert import insert_bills
from .money import ZERO
from .payments import apply_prepaid
from .periods import parse_period

BATCH_SIZE = 2000
# Errors listed in one message at most (the preview lists them all).
MAX_LISTED = 10


@dataclass
class ItemTotal:
    name: str
    lines: int = 0
    amount: Decimal = ZERO


@dataclass
class GenerationResult:
    """What a run made (or, for a preview, would make)."""

    estate_id: int
    estate_name: str
    period: str
    bills: int = 0
    total: Decimal = ZERO
    items: dict[int, ItemTotal] = field(default_factory=dict)
    existing: int = 0  # units that already had a bill for the period
    vacant: int = 0  # units with nobody living there during the period
    no_charges: int = 0  # units no fee item applies to
    flagged: list[FlaggedReading] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bill_ids: list[int] = field(default_factory=list)
    prepaid_paid: int = 0  # new bills paid (fully or partly) from prepaid balances

    @property
    def nothing_added(self) -> bool:
        return self.bills == 0


Progress = Callable[[int], None]


def count_units(session: Session, estate_id: int) -> int:
    """How many units a run walks through (for a progress bar)."""
    return session.scalar(
        select(func.count(Unit.id)).join(Building).where(Building.estate_id == estate_id)
    )


def preview_bills(
    session: Session, estate_id: int, period_text: str, *, progress: Progress | None = None
) -> GenerationResult:
    """What ``generate_bills`` would make, writing nothing. Problems that would stop the
    run (a missing rate or reading, a reading that goes backwards) are listed in
    ``errors`` instead of raised; a bad period or estate raises ``ServiceError``."""
    return _run(session, estate_id, period_text, None, False, progress, write=False)


def generate_bills(
    session: Session,
    estate_id: int,
    period_text: str,
    *,
    actor: User | None,
    accept_flagged: bool = False,
    progress: Progress | None = None,
) -> GenerationResult:
    """Make the period's bills for every unit of the estate that has none yet.

    Raises ``ServiceError`` for a bad period or estate, a fee item without a rate in
    force, a meter without a reading, a reading that goes backwards, and flagged readings
    not yet reviewed unless ``accept_flagged`` (then ``actor`` reviews them). Flushes;
    the caller commits, or rolls back after an error."""
    return _run(session, estate_id, period_text, actor, accept_flagged, progress, write=True)


def _run(session, estate_id, period_text, actor, accept_flagged, progress, *, write):
    period = parse_period(period_text)
    estate = session.get(Estate, estate_id) if isinstance(estate_id, int) else None
    if estate is None:
        raise ServiceError(_("There is no such estate."), "estate")
    result = GenerationResult(estate.id, estate.name, period.key)
    ctx = load_context(session, estate.id, period)
    result.items = {item.id: ItemTotal(item.name) for item in ctx.items}
    if has_pending(session, estate.id):
        ctx.charge_item_id = charge_item_id(session, estate.id, write=write)
        result.items[ctx.charge_item_id] = ItemTotal(ITEM_NAME)
    if ctx.errors:
        return _fail(result, ctx.errors, write)
    with without_cycle_collection():
        _walk(session, ctx, period, result, actor, accept_flagged, progress, write)
    if write:
        session.flush()
        audit.record(
            session,
            "generate",
            "Bill",
            "",
            estate_id=estate.id,
            period=period.key,
            bills=result.bills,
            total=result.total,
            existing=result.existing,
        )
        session.flush()
        # Money paid in advance goes to the new bills at once (same transaction).
        result.prepaid_paid = apply_prepaid(session, result.bill_ids, actor=actor)
    return result


def _walk(session, ctx, period, result, actor, accept_flagged, progress, write) -> None:
    """Plan, check and (unless a preview) write the estate's units batch by batch."""
    for units in _unit_batches(session, ctx.estate_id):
        drafts, flagged, errors = plan_batch(session, ctx, period, units, result)
        if errors:
            if write:
                _fail(result, errors, write)
            result.errors.extend(errors)
        result.flagged.extend(flagged)
        if write and flagged:
            if not accept_flagged:
                raise ServiceError(_flagged_message(result.flagged), "flagged")
            _review(session, flagged, actor)
        if write and not result.errors:
            result.bill_ids.extend(_write(session, drafts, period.key))
            charged = [c for bill, _lines in drafts for c in bill.get("charge_ids", ())]
            mark_billed(session, charged, period.key)
        for bill, lines in drafts:
            result.bills += 1
            result.total += bill["amount"]
            for line in lines:
                item_total = result.items[line["fee_item_id"]]
                item_total.lines += 1
                item_total.amount += line["amount"]
        if progress is not None:
            progress(len(units))


def _write(session: Session, drafts, period_key: str) -> list[int]:
    try:
        return insert_bills(session, drafts)
    except IntegrityError:
        # Another run (a second host, a second click) wrote some of these bills first.
        raise ServiceError(
            _(
                "Bills for %(period)s were being made by another run at the same moment."
                " Nothing from this run was kept; run it again to add what is missing.",
                period=period_key,
            ),
            "period",
        ) from None


def _fail(result: GenerationResult, errors: list[str], write: bool) -> GenerationResult:
    if write:
        listed = errors[:MAX_LISTED]
        more = len(errors) - len(listed)
        message = _("No bills were made.") + " " + " ".join(listed)
        if more:
            message += " " + _("(and %(n)d more problems)", n=more)
        raise ServiceError(message, "period")
    result.errors.extend(errors)
    return result


def _flagged_message(flagged: list[FlaggedReading]) -> str:
    names = ", ".join(f"{f.meter} ({f.unit})" for f in flagged[:MAX_LISTED])
    return _(
        "No bills were made: %(n)d flagged meter readings have not been reviewed: %(list)s.",
        n=len(flagged),
        list=names,
    )


def _unit_batches(session: Session, estate_id: int):
    """The estate's units, BATCH_SIZE at a time, by id. Each batch is read by a range of
    the primary key (then kept to the estate), so no batch walks the units before it."""
    ids = session.scalars(
        select(Unit.id).join(Building).where(Building.estate_id == estate_id).order_by(Unit.id)
    ).all()
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        rows = session.execute(
            select(
                Unit.id,
                Unit.building_id,
                Unit.number,
                Unit.area,
                Unit.use,
                Building.name,
                Building.estate_id,
            )
            .join(Building)
            .where(Unit.id.between(chunk[0], chunk[-1]))
            .order_by(Unit.id)
        ).all()
        yield [UnitRow(*row[:6]) for row in rows if row[6] == estate_id]


def _review(session: Session, flagged: list[FlaggedReading], actor: User | None) -> None:
    """Accept flagged readings as reviewed by the person confirming (an ORM change, so
    the audit log records it)."""
    now = utcnow()
    readings = session.scalars(
        select(MeterReading).where(MeterReading.id.in_([f.reading_id for f in flagged]))
    )
    for reading in readings:
        reading.reviewed_by_id = actor.id if actor is not None else None
        reading.reviewed_at = now
