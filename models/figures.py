"""Counters the database keeps up to date for the dashboards, so a figure over a million
rows reads a few hundred.

``bill_due_total`` holds, per estate and due date, how many bills are open (unpaid or
partly paid) and what they still ask for. Triggers on ``bill`` (migration
0010_list_indexes) add and take off every insert, update and delete, whoever writes the
bill (the ORM, a set-based statement, a restore), in the same transaction. What is owed
is the sum of an estate's rows; what is overdue, the rows before the estate's today.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, ScaledDecimal
from .scope import EstateColumn


class BillDueTotal(Base):
    """Open bills of one estate falling due on one day: their number and what they owe
    (amount − discount + late fee − paid, as the bill's ``owed``). Written by triggers only."""

    __tablename__ = "bill_due_total"
    __estate_scope__ = EstateColumn()

    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estate.id", ondelete="CASCADE"), primary_key=True
    )
    due_date: Mapped[date] = mapped_column(primary_key=True)
    open_bills: Mapped[int] = mapped_column(default=0)
    owed: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=Decimal("0.00"))
