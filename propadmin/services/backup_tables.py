"""Row counts and row checksums of every table, read from one connection (one snapshot).

The checksum of a table does not depend on row order: each row is hashed (SHA-256 of its
values in column-name order, in a canonical text form), the row hashes are added modulo
2**256, and the table checksum is SHA-256 of the sorted column names and that sum. So a
backup and the database restored from it can be compared table by table without sorting
by a key, and a changed, lost or duplicated row changes the checksum.

Values are read as the database driver returns them, never through the models' types, so
encrypted columns are hashed as their ciphertext and nothing is decrypted. Tables are
found by reflection, not from ``models/``, so a backup of an older schema is described
by its own tables and columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Rows that `flask db upgrade` itself writes into a new database: the built-in roles and
# their permissions, and Alembic's revision. A database with only these holds no data.
SEEDED_BY_MIGRATIONS = ("alembic_version", "role", "role_permission")
_MODULUS = 2**256


@dataclass(frozen=True)
class TableSum:
    rows: int
    checksum: str

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": self.checksum}


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # the session time zone must not change the sum
            value = value.astimezone(UTC)
        return "datetime:" + value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes:" + bytes(value).hex()
    if isinstance(value, dict | list):
        return "json:" + json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, float):
        return "float:" + repr(value)
    return f"{type(value).__name__}:{value}"


def table_names(conn: Connection) -> list[str]:
    """Every table of the database (the default schema), sorted by name."""
    return sorted(sa.inspect(conn).get_table_names())


def table_sum(conn: Connection, name: str) -> TableSum:
    """Count and checksum one table, streaming its rows."""
    columns = sorted(col["name"] for col in sa.inspect(conn).get_columns(name))
    raw = sa.table(name, *(sa.column(c) for c in columns))
    total, rows = 0, 0
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(sa.select(*raw.c))
    for row in result:
        encoded = json.dumps([_canonical(v) for v in row], ensure_ascii=False).encode()
        total = (total + int.from_bytes(hashlib.sha256(encoded).digest(), "big")) % _MODULUS
        rows += 1
    digest = hashlib.sha256(f"{','.join(columns)}|{total:064x}".encode()).hexdigest()
    return TableSum(rows, digest)


def table_sums(
    conn: Connection, progress: Callable[[str, TableSum], None] | None = None
) -> dict[str, TableSum]:
    """``{table: TableSum}`` for every table, in the connection's current transaction."""
    sums = {}
    for name in table_names(conn):
        sums[name] = table_sum(conn, name)
        if progress:
            progress(name, sums[name])
    return sums


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at; None when it was never migrated."""
    if "alembic_version" not in sa.inspect(conn).get_table_names():
        return None
    heads = sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    return ",".join(heads) or None


def tables_holding_data(conn: Connection) -> list[str]:
    """The tables with rows that a freshly migrated database would not have.

    Built-in roles and their permissions come with the migrations; a role someone made
    (``builtin`` false) is data.
    """
    found = []
    for name in table_names(conn):
        raw = sa.table(name)
        if name == "role":
            raw = sa.table("role", sa.column("builtin"))
            query = sa.select(sa.literal(1)).select_from(raw).where(raw.c.builtin.is_not(True))
        elif name in SEEDED_BY_MIGRATIONS:
            continue
        else:
            query = sa.select(sa.literal(1)).select_from(raw)
        if conn.execute(query.limit(1)).first() is not None:
            found.append(name)
    return found
