"""Writing a batch of bills and their lines in bulk: one statement for the bills and one
for the lines, whatever the batch's size.

The values go in as they are stored (``ScaledDecimal`` columns are integers: fen, or
1/10,000 for quantities and unit prices), so no per-value type conversion runs. On
PostgreSQL each column travels as one array and ``unnest`` turns the arrays into rows
(one statement, one round trip, no per-row parsing); on SQLite the driver's own
``executemany`` loop, in C, does the same job. Rows written this way bypass the ORM and
so its audit hook, on purpose: the run writes one audit entry of its own.
"""

from __future__ import annotations

from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Date, DateTime, select
from sqlalchemy.orm import Session

from models import Bill, utcnow

# (column, PostgreSQL array type) in the order the rows below are built.
BILL_COLUMNS = (
    ("estate_id", "bigint"),
    ("building_id", "bigint"),
    ("unit_id", "bigint"),
    ("period", "text"),
    ("payer_id", "bigint"),
    ("payer_name", "text"),
    ("amount", "bigint"),
    ("discount", "bigint"),
    ("late_fee", "bigint"),
    ("paid", "bigint"),
    ("status", "text"),
    ("due_date", "date"),
    ("issued_at", "timestamp"),
    ("version", "bigint"),
    ("void_reason", "text"),
    ("created_at", "timestamp"),
    ("updated_at", "timestamp"),
)
LINE_COLUMNS = (
    ("bill_id", "bigint"),
    ("fee_item_id", "bigint"),
    ("rate_id", "bigint"),
    ("method", "text"),
    ("quantity", "bigint"),
    ("quantity_unit", "text"),
    ("unit_price", "bigint"),
    ("amount", "bigint"),
    ("meter_id", "bigint"),
    ("reading_previous", "bigint"),
    ("reading_current", "bigint"),
    ("days", "bigint"),
    ("period_days", "bigint"),
    ("share_area", "bigint"),
    ("share_total_area", "bigint"),
    ("detail", "text"),
)


def scaled(value: Decimal | None, places: int) -> int | None:
    """A Decimal as the integer a ``ScaledDecimal(places)`` column stores."""
    if value is None:
        return None
    return int(value.scaleb(places).to_integral_value(ROUND_HALF_UP))


def insert_bills(session: Session, drafts) -> list[int]:
    """Write the drafts' bills and lines; the new bills' ids, in the order of ``drafts``."""
    if not drafts:
        return []
    connection = session.connection()
    dialect = connection.dialect
    as_date = Date().bind_processor(dialect) or (lambda value: value)
    as_time = DateTime().bind_processor(dialect) or (lambda value: value)
    now = as_time(utcnow().astimezone(UTC).replace(tzinfo=None))
    bill_rows = [
        (
            bill["estate_id"],
            bill["building_id"],
            bill["unit_id"],
            bill["period"],
            bill["payer_id"],
            bill["payer_name"],
            scaled(bill["amount"], 2),
            0,
            0,
            0,
            bill["status"].value,
            as_date(bill["due_date"]),
            now,
            1,
            "",
            now,
            now,
        )
        for bill, _lines in drafts
    ]
    if dialect.name == "postgresql":
        ids = dict(
            _unnest(connection, "bill", BILL_COLUMNS, bill_rows, returning="unit_id, id").all()
        )
    else:
        _executemany(connection, "bill", BILL_COLUMNS, bill_rows)
        first, unit_ids = drafts[0][0], [bill["unit_id"] for bill, _lines in drafts]
        ids = dict(
            session.execute(
                # the (unit_id, period) key (see plan_batch); units are the estate's own
                select(Bill.unit_id, Bill.id).where(
                    Bill.unit_id.between(min(unit_ids), max(unit_ids)),
                    Bill.period == first["period"],
                )
            ).all()
        )
    line_rows = [
        (
            ids[bill["unit_id"]],
            line["fee_item_id"],
            line["rate_id"],
            line["method"].value,
            scaled(line["quantity"], 4),
            line["quantity_unit"],
            scaled(line["unit_price"], 4),
            scaled(line["amount"], 2),
            line["meter_id"],
            scaled(line["reading_previous"], 2),
            scaled(line["reading_current"], 2),
            line["days"],
            line["period_days"],
            scaled(line["share_area"], 2),
            scaled(line["share_total_area"], 2),
            line["detail"],
        )
        for bill, lines in drafts
        for line in lines
    ]
    if dialect.name == "postgresql":
        _unnest(connection, "bill_line", LINE_COLUMNS, line_rows)
    else:
        _executemany(connection, "bill_line", LINE_COLUMNS, line_rows)
    return [ids[bill["unit_id"]] for bill, _lines in drafts]


def _unnest(connection, table: str, columns, rows, returning: str | None = None):
    names = ", ".join(name for name, _type in columns)
    # %b: psycopg sends the arrays in binary (no quoting and escaping of each element)
    arrays = ", ".join(f"%b::{pg_type}[]" for _name, pg_type in columns)
    sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 — fixed names
    if returning:
        sql += f" RETURNING {returning}"
    return connection.exec_driver_sql(
        sql, tuple(list(column) for column in zip(*rows, strict=True))
    )


def _executemany(connection, table: str, columns, rows) -> None:
    names = ", ".join(name for name, _type in columns)
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
