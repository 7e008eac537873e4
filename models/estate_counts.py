"""Per-estate counts the database keeps up to date for the staff home, so a card over
100,000 residents reads a few rows (migration 0012_estate_counters creates the triggers).

``estate_count`` holds, per estate and figure, how the figure changes from a day on: the
figure on a day is the sum of its rows up to that day. Residents, units and vehicles
change only when rows are written, so they have one row, from ``ALWAYS``. Occupied units
also change as days pass (a lease starts, a lease ends): each unit adds +1 on the first
day of every stretch of days someone lives there and −1 on the day after it ends, so a
unit with two occupants counts once. Triggers on ``resident``, ``vehicle``, ``unit``,
``building`` and ``occupancy`` rewrite a unit's stretches whenever its occupancies, its
building or its building's estate change, in the same transaction, whoever writes. The
triggers' SQL, and the backfill migration 0012 ran, are built in estate_count_sql.py
(shared, SQLite) and estate_count_pg.py (PostgreSQL).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .scope import EstateColumn

ALWAYS = date(1, 1, 1)  # a row that counts on every day
OPEN_END = "9999-12-31"  # an occupancy without an end date

FIGURES = ("residents", "units", "vehicles", "occupied_units")


class EstateCount(Base):
    """How one figure of one estate changes from ``since`` on. Written by triggers only."""

    __tablename__ = "estate_count"
    __estate_scope__ = EstateColumn()

    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estate.id", ondelete="CASCADE"), primary_key=True
    )
    figure: Mapped[str] = mapped_column(String(16), primary_key=True)
    since: Mapped[date] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
