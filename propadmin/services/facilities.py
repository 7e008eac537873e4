"""Facilities (设施设备): when maintenance is due, when warranties end, and recording the
work done.

"Today" is each estate's own (services/today.py): a plan is overdue, or a warranty ends,
by the estate's calendar. The figures for the dashboard and the digest are aggregate
queries over any number of estates (one query each, whatever the number of rows), with
one clause per distinct day so estates in different zones are judged by their own date.

Warranties: the office is told about those that end within ``WARRANTY_WINDOW_DAYS``
(still time to call the supplier for a last free visit or to buy an extension). A
warranty that has already ended is shown on the facility's page (已过保) but is not
listed every day: most equipment outlives its warranty, and a daily list of every old
pump would hide the few that need a call.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from models import (
    OPEN_REPAIR_STATUSES,
    Facility,
    FacilityStatus,
    IntervalUnit,
    MaintenanceKind,
    MaintenancePlan,
    MaintenanceRecord,
    RepairRequest,
    User,
)

from . import ServiceError
from .fields import text_problem
from .money import parse_amount

WARRANTY_WINDOW_DAYS = 30
# Maintenance shows as due this many days before its date (time to book the lift company).
DUE_AHEAD_DAYS = 3
# The longest interval a plan may have: ten years.
MAX_EVERY = {IntervalUnit.days: 3660, IntervalUnit.months: 120}
# How far back a maintenance record may be dated (paper records typed in later).
OLDEST_RECORD_YEARS = 20


class FacilityError(ServiceError):
    """Input the rules refuse; ``errors`` maps form field → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


# -- intervals ------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """``day`` moved on by calendar months; the 31st becomes the last day of a shorter
    month (2027-01-31 + 1 month = 2027-02-28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_interval(day: date, every: int, unit: IntervalUnit | str) -> date:
    if IntervalUnit(unit) is IntervalUnit.months:
        return add_months(day, every)
    return day + timedelta(days=every)


def interval_problem(every, unit) -> str | None:
    """Why a plan's interval cannot be used, or None."""
    try:
        unit = IntervalUnit(unit)
    except ValueError:
        return _("Choose days or months.")
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= MAX_EVERY[unit]:
        if unit is IntervalUnit.months:
            return _("Every 1 to %(n)d months.", n=MAX_EVERY[unit])
        return _("Every 1 to %(n)d days.", n=MAX_EVERY[unit])
    return None


def advance(plan: MaintenancePlan, done_on: date) -> None:
    """The plan was carried out on ``done_on``: it is next due one interval later. Work
    recorded late for an earlier day than the last one leaves the plan as it is."""
    if plan.last_done is not None and done_on < plan.last_done:
        return
    plan.last_done = done_on
    plan.next_due = add_interval(done_on, plan.every, plan.every_unit)


# -- recording work --------------------------------------------------------------------------
@dataclass
class Maintenance:
    """What a person typed on the record-maintenance form."""

    done_on: date | None
    work: str = ""
    parts: str = ""
    cost: str | Decimal = "0"
    kind: MaintenanceKind | str | None = None
    staff_name: str = ""


def _columns():
    return MaintenanceRecord.__table__.c


def maintenance_problems(done: Maintenance, today: date) -> dict[str, str]:
    """Every problem with the typed work, by field; empty when it can be saved."""
    errors: dict[str, str] = {}
    if not isinstance(done.done_on, date):
        errors["done_on"] = _("Enter the day the work was done, such as 2026-11-30.")
    elif done.done_on > today:
        errors["done_on"] = _("The day cannot be in the future.")
    elif done.done_on.year < today.year - OLDEST_RECORD_YEARS:
        errors["done_on"] = _("The day is too long ago.")
    if not (done.work or "").strip():
        errors["work"] = _("Say what was done.")
    for name in ("work", "parts", "staff_name"):
        problem = text_problem(_columns()[name], getattr(done, name) or "")
        if problem:
            errors[name] = problem
    try:
        parse_amount(done.cost if done.cost not in (None, "") else "0", "cost", allow_zero=True)
    except ServiceError as exc:
        errors["cost"] = exc.message
    if done.kind is not None:
        try:
            MaintenanceKind(done.kind)
        except ValueError:
            errors["kind"] = _("Choose what kind of work it was.")
    return errors


def record_maintenance(
    session: Session,
    facility: Facility,
    done: Maintenance,
    *,
    today: date,
    plan: MaintenancePlan | None = None,
    by: User | None = None,
) -> MaintenanceRecord:
    """Save work done on ``facility`` (for ``plan`` when given, which then moves on by its
    interval from the day it was done). Whether it was under warranty follows from the
    facility's warranty end on that day. Raises FacilityError; flushes."""
    errors = maintenance_problems(done, today)
    if plan is not None and plan.facility_id != facility.id:
        errors[""] = _("This plan is for another facility.")
    if errors:
        raise FacilityError(errors)
    kind = MaintenanceKind(done.kind) if done.kind else (plan.kind if plan else None)
    record = MaintenanceRecord(
        facility=facility,
        plan=plan,
        done_on=done.done_on,
        kind=kind or MaintenanceKind.maintenance,
        staff=by,
        staff_name=(done.staff_name or "").strip(),
        work=done.work.strip(),
        parts=(done.parts or "").strip(),
        cost=parse_amount(done.cost if done.cost not in (None, "") else "0", allow_zero=True),
        under_warranty=facility.under_warranty(done.done_on),
    )
    session.add(record)
    if plan is not None:
        advance(plan, done.done_on)
    session.flush()
    return record


# -- where a facility stands ------------------------------------------------------------------
@dataclass(frozen=True)
class Warranty:
    state: str  # "none", "valid", "ending", "expired"
    days: int | None = None  # days left (ending, valid) or since it ended (expired)


def warranty_of(facility: Facility, today: date) -> Warranty:
    end = facility.warranty_end
    if end is None:
        return Warranty("none")
    if end < today:
        return Warranty("expired", (today - end).days)
    left = (end - today).days
    return Warranty("ending" if left <= WARRANTY_WINDOW_DAYS else "valid", left)


def due_state(plan: MaintenancePlan, today: date) -> tuple[str, int]:
    """("overdue", days late), ("due", days left, 0 = today) or ("later", days left)."""
    days = (plan.next_due - today).days
    if days < 0:
        return "overdue", -days
    return ("due" if days <= DUE_AHEAD_DAYS else "later"), days


def open_repairs(session: Session, facility: Facility) -> list[RepairRequest]:
    return list(
        session.scalars(
            select(RepairRequest)
            .where(
                RepairRequest.facility_id == facility.id,
                RepairRequest.status.in_(OPEN_REPAIR_STATUSES),
            )
            .order_by(RepairRequest.submitted_at.desc())
        )
    )


def has_history(session: Session, facility: Facility) -> bool:
    """Whether any maintenance record or repair request names the facility."""
    records = select(MaintenanceRecord.id).where(MaintenanceRecord.facility_id == facility.id)
    repairs = select(RepairRequest.id).where(RepairRequest.facility_id == facility.id)
    return session.scalar(select(records.exists() | repairs.exists())) or False


def history(session: Session, facility: Facility, limit: int = 100) -> list[MaintenanceRecord]:
    """The facility's latest records, repairs included, newest first."""
    return list(
        session.scalars(
            select(MaintenanceRecord)
            .where(MaintenanceRecord.facility_id == facility.id)
            .options(joinedload(MaintenanceRecord.repair), joinedload(MaintenanceRecord.staff))
            .order_by(MaintenanceRecord.done_on.desc(), MaintenanceRecord.id.desc())
            .limit(limit)
        )
    )


# -- across estates: the dashboard and the digest --------------------------------------------
def _by_day(todays: dict[int, date]) -> dict[date, list[int]]:
    grouped: dict[date, list[int]] = defaultdict(list)
    for estate_id, day in todays.items():
        grouped[day].append(estate_id)
    return grouped


IN_USE = Facility.status != FacilityStatus.retired


def warranty_clause(todays: dict[int, date]):
    """Facilities in use whose warranty ends within the window, by each estate's today."""
    parts = [
        and_(
            Facility.estate_id.in_(ids),
            Facility.warranty_end.between(day, day + timedelta(days=WARRANTY_WINDOW_DAYS)),
        )
        for day, ids in _by_day(todays).items()
    ]
    return and_(IN_USE, or_(*parts) if parts else false())


def due_clause(todays: dict[int, date]):
    """Active plans of facilities in use that are due within DUE_AHEAD_DAYS or overdue
    (the query joins the plan's facility)."""
    parts = [
        and_(
            Facility.estate_id.in_(ids),
            MaintenancePlan.next_due <= day + timedelta(days=DUE_AHEAD_DAYS),
        )
        for day, ids in _by_day(todays).items()
    ]
    return and_(MaintenancePlan.active.is_(True), IN_USE, or_(*parts) if parts else false())


def warranties_ending(session: Session, todays: dict[int, date]) -> list[Facility]:
    """Facilities whose warranty ends within the window, in these estates (one query)."""
    stmt = (
        select(Facility)
        .where(warranty_clause(todays))
        .options(joinedload(Facility.building))
        .order_by(Facility.estate_id, Facility.warranty_end, Facility.code)
    )
    return list(session.scalars(stmt))


def maintenance_due(session: Session, todays: dict[int, date]) -> list[MaintenancePlan]:
    """Plans due soon or overdue, in these estates, oldest first (one query)."""
    stmt = (
        select(MaintenancePlan)
        .join(MaintenancePlan.facility)
        .where(due_clause(todays))
        .options(joinedload(MaintenancePlan.facility))
        .order_by(Facility.estate_id, MaintenancePlan.next_due, Facility.code)
    )
    return list(session.scalars(stmt))


def _user_todays(session: Session, user) -> dict[int, date]:
    from propadmin.permissions import estate_scope

    from .today import estate_todays

    return estate_todays(session, estate_scope(user))


def warranties_ending_count(session: Session, user) -> int:
    """The worklist tile: warranties ending within 30 days in the user's estates."""
    todays = _user_todays(session, user)
    return session.scalar(select(func.count(Facility.id)).where(warranty_clause(todays))) or 0


def maintenance_due_count(session: Session, user) -> int:
    """The worklist tile: maintenance due soon or overdue in the user's estates."""
    todays = _user_todays(session, user)
    stmt = select(func.count(MaintenancePlan.id)).join(MaintenancePlan.facility)
    return session.scalar(stmt.where(due_clause(todays))) or 0
