"""Bulk inserts for imports: many rows of one table in one go, ids back, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text

NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> Sequence[int]:
    """Insert rows through the driver in one go and return their ids, in order.

    Values go through each column's own bind processing (encryption, UTC times, scaled
    decimals), once per value, without SQLAlchemy's per-row statement handling, which
    cost more than the database. PostgreSQL: ids are drawn from the sequence, rows go
    in by COPY. SQLite: one executemany; the write lock it takes is held to the end of
    the transaction, so the new ids are the last ``len(rows)`` (SQLite gives each new
    row the highest id plus one)."""
    dialect = conn.dialect
    keys = list(rows[0])
    if dialect.name == "postgresql":
        ids = conn.scalars(NEXT_IDS, {"table": table.name, "n": len(rows)}).all()
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(k) for k in [*keys, "id"])
        copy_sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
        with conn.connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for values, ident in zip(_processed(dialect, table, keys, rows), ids, strict=True):
                copy.write_row((*values, ident))
        return ids
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    # The statement's own order of parameters (the table's column order, plus any column
    # default it adds), not the rows' key order.
    order = list(compiled.positiontup)
    if set(order) != set(keys):
        raise ValueError(f"bulk insert into {table.name}: give every column of {order}")
    conn.exec_driver_sql(str(compiled), _processed(dialect, table, order, rows))
    last = conn.scalar(select(func.max(table.c.id)))
    return range(last - len(rows) + 1, last + 1)


def _processed(dialect, table: Table, keys: list[str], rows) -> list[tuple]:
    """Each row's values, in the order of ``keys``, as the column types bind them,
    processed column by column; a column holding one object in every row (an import's
    timestamp) is processed once."""
    columns = []
    for key in keys:
        proc = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        values = [row[key] for row in rows]
        if proc is not None:
            first = values[0]
            if all(v is first for v in values):
                values = [proc(first)] * len(values)
            else:
                values = [proc(v) for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True))
