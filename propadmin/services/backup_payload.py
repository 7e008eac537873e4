"""What an extracted payload must look like before it is loaded.

A PostgreSQL payload must be a ``pg_dump --format=custom`` archive (it starts with
``PGDMP``); what it runs when loaded is vouched for by the manifest's signature only. An
SQLite payload must be an SQLite database holding nothing but PropAdmin's tables (of this
or an older schema: migrations only ever add tables), their indexes and SQLite's own
tables, and PropAdmin's own triggers word for word, each on its own table
(models/figures.py, models/estate_count_sql.py): no views, no other
trigger — one would run with the app's rights — a second line behind the signature.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .backup_format import BackupError

_PG_MAGIC = b"PGDMP"


def check(path: Path, backend: str, payload: Path) -> None:
    """Raise BackupError naming ``path`` when its extracted ``payload`` is not ours."""
    if backend == "postgresql":
        with payload.open("rb") as dump:
            if dump.read(len(_PG_MAGIC)) != _PG_MAGIC:
                raise _not_a(path, "a PostgreSQL dump")
        return
    try:
        source = sqlite3.connect(f"{payload.as_uri()}?mode=ro", uri=True)
        try:
            objects = source.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master"
            ).fetchall()
        finally:
            source.close()
    except sqlite3.DatabaseError:
        raise _not_a(path, "an SQLite database") from None
    allowed = our_tables()
    triggers = known_triggers()
    for kind, name, table, sql in objects:
        ours = (
            (kind == "table" and (name in allowed or name.startswith("sqlite_")))
            or (kind == "index" and (table in allowed or table.startswith("sqlite_")))
            or (kind == "trigger" and triggers.get(name) == (table, sql))
        )
        if not ours:
            raise BackupError(
                f"{path} holds {kind} {name}, which is not in PropAdmin's schema: it was not "
                "made by PropAdmin, or was altered. Nothing was changed."
            )


def our_tables() -> set[str]:
    """The tables PropAdmin's schema has, and Alembic's."""
    from models import Base

    return set(Base.metadata.tables) | {"alembic_version"}


def known_triggers() -> dict[str, tuple[str, str]]:
    """PropAdmin's SQLite triggers: name → (table, SQL as the migrations wrote it)."""
    from models import estate_count_sql, figures

    return {
        **{name: ("bill", sql) for name, sql in figures.SQLITE_TRIGGERS.items()},
        **estate_count_sql.SQLITE_TRIGGERS,
    }


def _not_a(path: Path, kind: str) -> BackupError:
    return BackupError(
        f"{path} is damaged or not a PropAdmin backup: its payload is not {kind}. "
        "Nothing was changed."
    )
