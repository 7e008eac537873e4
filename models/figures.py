"""Counters the database keeps up to date for the dashboards, so a figure over a million
rows reads a few hundred.

``bill_due_total`` holds, per estate and due date, how many bills are open (unpaid or
partly paid) and what they still ask for. Triggers on ``bill`` (migration
0010_list_indexes) add and take off every insert, update and delete, whoever writes the
bill (the ORM, a set-based statement, a restore), in the same transaction. What is owed
is the sum of an estate's rows; what is overdue, the rows before the estate's today.
"""

# The SQL below is built from fixed fragments of this file only.
# ruff: noqa: S608
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


OPEN = "('unpaid', 'partial')"
OWED = "amount - discount + late_fee - paid"

# The triggers that keep it, by name (migration 0010_list_indexes creates them).
SQLITE_TRIGGERS = {
    "bill_due_total_insert": f"""CREATE TRIGGER bill_due_total_insert AFTER INSERT ON bill
    WHEN NEW.status IN {OPEN}
    BEGIN
        INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)
        VALUES (NEW.estate_id, NEW.due_date, 1,
                NEW.amount - NEW.discount + NEW.late_fee - NEW.paid)
        ON CONFLICT (estate_id, due_date) DO UPDATE SET
            open_bills = open_bills + 1, owed = owed + excluded.owed;
    END""",
    "bill_due_total_delete": f"""CREATE TRIGGER bill_due_total_delete AFTER DELETE ON bill
    WHEN OLD.status IN {OPEN}
    BEGIN
        UPDATE bill_due_total SET open_bills = open_bills - 1,
            owed = owed - (OLD.amount - OLD.discount + OLD.late_fee - OLD.paid)
        WHERE estate_id = OLD.estate_id AND due_date = OLD.due_date;
    END""",
    "bill_due_total_update": f"""CREATE TRIGGER bill_due_total_update
    AFTER UPDATE OF estate_id, due_date, status, amount, discount, late_fee, paid ON bill
    BEGIN
        UPDATE bill_due_total SET open_bills = open_bills - 1,
            owed = owed - (OLD.amount - OLD.discount + OLD.late_fee - OLD.paid)
        WHERE OLD.status IN {OPEN}
            AND estate_id = OLD.estate_id AND due_date = OLD.due_date;
        INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)
        SELECT NEW.estate_id, NEW.due_date, 1,
               NEW.amount - NEW.discount + NEW.late_fee - NEW.paid
        WHERE NEW.status IN {OPEN}
        ON CONFLICT (estate_id, due_date) DO UPDATE SET
            open_bills = open_bills + 1, owed = owed + excluded.owed;
    END""",
}


def _pg_delta(rows: str, sign: str) -> str:
    return (
        f"SELECT estate_id, due_date, {sign}count(*) AS n, {sign}sum({OWED}) AS owed"
        f" FROM {rows} WHERE status IN {OPEN} GROUP BY estate_id, due_date"
    )


# Statement-level triggers over the transition tables: a set-based write of many bills
# (generation, late fees) adds one grouped row per estate and due date, in key order.
PG_FUNCTION = """CREATE FUNCTION bill_due_total_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bill_due_total AS t (estate_id, due_date, open_bills, owed)
    SELECT estate_id, due_date, sum(n), sum(owed) FROM (
        {rows}
    ) AS delta GROUP BY estate_id, due_date
    HAVING sum(n) <> 0 OR sum(owed) <> 0
    ORDER BY estate_id, due_date
    ON CONFLICT (estate_id, due_date) DO UPDATE SET
        open_bills = t.open_bills + EXCLUDED.open_bills, owed = t.owed + EXCLUDED.owed;
    RETURN NULL;
END $$"""

PG_TRIGGERS = {
    "insert": ("INSERT", "NEW TABLE AS new_rows", _pg_delta("new_rows", "")),
    "delete": ("DELETE", "OLD TABLE AS old_rows", _pg_delta("old_rows", "-")),
    "update": (
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _pg_delta("old_rows", "-") + " UNION ALL " + _pg_delta("new_rows", ""),
    ),
}
