"""What a text or number must be to be stored: limits read from the model's own
columns, so a form, an import and the database agree on them."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import Column

from . import ServiceError

# C0 controls and DEL, except tab and line breaks (a note may hold a line break).
# PostgreSQL refuses NUL outright; the rest are invisible garbage from copy and paste.
CONTROL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

AREA_MIN = Decimal("0.01")
AREA_MAX = Decimal("99999.99")


def max_length(column: Column) -> int | None:
    """The column's length (``String(64)`` → 64); None when it has none."""
    return getattr(column.type, "length", None)


def text_problem(column: Column, value: str | None) -> str | None:
    """Why ``value`` cannot be stored in ``column``, or None when it can."""
    if not value:
        return None
    if CONTROL_CHARACTERS_RE.search(value):
        return _("Remove the control characters (invisible characters such as NUL).")
    limit = max_length(column)
    if limit is not None and len(value) > limit:
        return _("At most %(n)d characters (this has %(length)d).", n=limit, length=len(value))
    return None


def clean_area(value) -> Decimal:
    """A unit's floor area in m² as an exact Decimal, rounded half-up to 0.01 m² as it
    is stored: finite, from AREA_MIN to AREA_MAX. Raises ServiceError (field ``area``)."""
    try:
        area = Decimal(str(value).strip())
        area = area.quantize(AREA_MIN, rounding=ROUND_HALF_UP)
        fits = AREA_MIN <= area <= AREA_MAX
    except (InvalidOperation, ValueError):  # not a number, infinite, NaN, or huge
        fits = False
    if not fits:
        raise ServiceError(
            _(
                "The area is a number of square metres from %(min)s to %(max)s, e.g. 89.5.",
                min=AREA_MIN,
                max=AREA_MAX,
            ),
            field="area",
        )
    return area
