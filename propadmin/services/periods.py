"""Billing periods: ``2026-11`` (a month), ``2026-Q4`` (a quarter), ``2026`` (a year)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from models import Cycle

from . import ServiceError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    key: str
    cycle: Cycle
    start: date  # first day
    end: date  # first day after the period

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def __str__(self) -> str:
        return self.key


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def parse_period(text: str, field: str = "period") -> Period:
    """The period a person typed, or a ServiceError that says what is accepted."""
    raw = (text or "").strip()
    hint = _("Enter a period as 2026-11 (a month), 2026-Q4 (a quarter) or 2026 (a year).")
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ServiceError(
                _("%(period)s: there is no month %(month)s. ", period=raw, month=m[2]) + hint,
                field,
            )
        kind, start, end = Cycle.monthly, _month_start(year, month), _month_start(year, month + 1)
        key = f"{year:04d}-{month:02d}"
    elif m := _QUARTER.match(raw):
        year, quarter = int(m[1]), int(m[2])
        first = 3 * (quarter - 1) + 1
        kind, start, end = Cycle.quarterly, _month_start(year, first), _month_start(year, first + 3)
        key = f"{year:04d}-Q{quarter}"
    elif m := _YEAR.match(raw):
        year = int(m[1])
        kind, start, end = Cycle.yearly, date(year, 1, 1), date(year + 1, 1, 1)
        key = f"{year:04d}"
    else:
        raise ServiceError(hint, field)
    if not 2000 <= start.year <= 2099:
        raise ServiceError(_("%(period)s is not a year the office bills for.", period=raw), field)
    return Period(key=key, cycle=kind, start=start, end=end)


def period_of(day: date, cycle: Cycle) -> Period:
    """The period of ``cycle`` that contains ``day``."""
    if cycle is Cycle.monthly:
        return parse_period(f"{day.year:04d}-{day.month:02d}")
    if cycle is Cycle.quarterly:
        return parse_period(f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(f"{day.year:04d}")


def previous_period(period: Period) -> Period:
    return period_of(period.start - timedelta(days=1), period.cycle)
