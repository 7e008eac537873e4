"""Repair figures for the reports page: jobs per month by category and by urgency, the
average response and resolution time, breached targets and ratings — each one grouped
query over the user's estates, whatever the number of requests.

Months are the calendar months of the submission time in UTC+8 (China Standard Time,
the estates' zone; the database has no time-zone table on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Float, and_, case, cast, func, literal_column, or_, select
from sqlalchemy.orm import Session

from models import RepairCategory, RepairRequest, RepairStatus, RepairUrgency, User, utcnow
from propadmin.permissions import scoped

MONTHS = 12
ZONE_HOURS = 8


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _month(session: Session, column):
    """The column's local calendar month as ``YYYY-MM`` text, in SQL."""
    if _dialect(session) == "postgresql":
        shifted = column + literal_column(f"interval '{ZONE_HOURS} hours'")
        return func.to_char(shifted, "YYYY-MM")
    return func.strftime("%Y-%m", column, f"+{ZONE_HOURS} hours")


def _minutes(session: Session, later, earlier):
    """Minutes from ``earlier`` to ``later``, in SQL (NULL when either is NULL)."""
    if _dialect(session) == "postgresql":
        return func.extract("epoch", later - earlier) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


@dataclass
class MonthFigures:
    label: str
    jobs: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_urgency: dict[str, int] = field(default_factory=dict)
    avg_response_hours: Decimal | None = None
    avg_resolution_hours: Decimal | None = None
    respond_breaches: int = 0
    resolve_breaches: int = 0
    ratings: int = 0
    avg_rating: Decimal | None = None


def _hours(minutes) -> Decimal | None:
    if minutes is None:
        return None
    return (Decimal(str(minutes)) / 60).quantize(Decimal("0.1"))


def first_month_start(now: datetime, months: int = MONTHS) -> datetime:
    """The UTC instant the first reported month begins (local midnight on its 1st)."""
    local = now + timedelta(hours=ZONE_HOURS)
    year, month = local.year, local.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=now.tzinfo) - timedelta(hours=ZONE_HOURS)


def monthly_figures(
    session: Session, user: User, now: datetime | None = None, months: int = MONTHS
) -> list[MonthFigures]:
    """The latest ``months`` months that had requests, oldest first: three grouped queries."""
    now = now or utcnow()
    since = first_month_start(now, months)
    month = _month(session, RepairRequest.submitted_at).label("month")
    window = RepairRequest.submitted_at >= since

    def grouped(*columns):
        stmt = select(month, *columns).where(window).group_by(month)
        return scoped(stmt, RepairRequest, user)

    found: dict[str, MonthFigures] = {}
    for label, category, count in session.execute(
        grouped(RepairRequest.category, func.count()).group_by(RepairRequest.category)
    ):
        row = found.setdefault(label, MonthFigures(label))
        row.by_category[RepairCategory(category).value] = count
        row.jobs += count
    for label, urgency, count in session.execute(
        grouped(RepairRequest.urgency, func.count()).group_by(RepairRequest.urgency)
    ):
        found.setdefault(label, MonthFigures(label)).by_urgency[RepairUrgency(urgency).value] = (
            count
        )
    live = RepairRequest.status != RepairStatus.cancelled
    responded_late = and_(
        live,
        or_(
            RepairRequest.started_at > RepairRequest.respond_by,
            and_(RepairRequest.started_at.is_(None), RepairRequest.respond_by < now),
        ),
    )
    resolved_late = and_(
        live,
        or_(
            RepairRequest.resolved_at > RepairRequest.resolve_by,
            and_(RepairRequest.resolved_at.is_(None), RepairRequest.resolve_by < now),
        ),
    )
    for label, response, resolution, r_late, s_late, rated, rating in session.execute(
        grouped(
            func.avg(_minutes(session, RepairRequest.started_at, RepairRequest.submitted_at)),
            func.avg(_minutes(session, RepairRequest.resolved_at, RepairRequest.submitted_at)),
            func.sum(case((responded_late, 1), else_=0)),
            func.sum(case((resolved_late, 1), else_=0)),
            func.count(RepairRequest.rating),
            func.avg(cast(RepairRequest.rating, Float)),
        )
    ):
        row = found.setdefault(label, MonthFigures(label))
        row.avg_response_hours = _hours(response)
        row.avg_resolution_hours = _hours(resolution)
        row.respond_breaches = int(r_late or 0)
        row.resolve_breaches = int(s_late or 0)
        row.ratings = int(rated or 0)
        if rating is not None:
            row.avg_rating = Decimal(str(rating)).quantize(Decimal("0.1"))
    return [found[k] for k in sorted(found)]
