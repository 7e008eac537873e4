"""Bulk inserts for imports: many rows of one table in one go, ids back, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text

MAX_ID = 2**63 - 1  # SQLite's largest rowid
NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> Sequence[int]:
    """Insert rows through the driver in one go and return their ids, in order.

    Values go through each column's own bind processing (encryption, UTC times, scaled
    decimals), once per value, without SQLAlchemy's per-row statement handling, which
    cost more than the database. PostgreSQL: ids are drawn from the sequence, rows go
    in by COPY. SQLite: one executemany; the write lock it takes is held to the end of
    the transaction; the rows get explicit ids after the highest."""
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
    # Explicit ids after the highest: a row another writer adds meanwhile makes the insert
    # fail on the key, never a wrong id handed back. Past SQLite's largest id (new rows
    # then get random ids), each row is inserted alone and tells its id.
    last = conn.scalar(select(func.max(table.c.id))) or 0
    if last + len(rows) <= MAX_ID:
        ids = range(last + 1, last + len(rows) + 1)
        rows = [{**row, "id": ident} for row, ident in zip(rows, ids, strict=True)]
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    # The statement's own order of parameters (the table's column order, plus any column
    # default it adds), not the rows' key order.
    order = list(compiled.positiontup)
    if set(order) != set(rows[0]):
        raise ValueError(f"bulk insert into {table.name}: give every column of {order}")
    values = _processed(dialect, table, order, rows)
    if "id" in order:
        conn.exec_driver_sql(str(compiled), values)
        return ids
    returning = str(compiled) + " RETURNING id"
    return [conn.exec_driver_sql(returning, row).scalar_one() for row in values]


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
