"""Backup and restore of the whole database (``flask backup create|restore``).

A backup is one ZIP64 file (format in backup_format.py): the database copy taken while the
app is in use (backup_engines.py), and a manifest with the format version, backend, Alembic
schema revision, creation time, PropAdmin version, per-table row counts and checksums from
the same snapshot (backup_tables.py), the payload's SHA-256, and fingerprints of the
field-encryption and blind-index keys (backup_keys.py). The keys themselves are never in
it. A file is written under a temporary name beside its target and linked into place only
when complete, never over an existing file.

The manifest is signed with a key derived from the installation's blind-index key, and
restore refuses, before changing anything: a file this installation's key did not sign
(another installation's, or altered: nothing in it is trusted, as loading a dump runs
what it holds), a file that is not a backup or is damaged (truncated, odd members,
checksum mismatch, a payload larger than declared or that is not a database; an SQLite
payload with triggers, views or tables our schema does not have), one from a schema
revision this code does not know (made by a newer PropAdmin), one of the other backend,
and a target holding data unless forced. Afterwards it re-counts and re-checksums every
table against the manifest and tries the keys at hand on a sample of every encrypted
column.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from ..crypto import FieldCrypto
from . import backup_engines as engines
from . import backup_payload
from .backup_format import (
    FORMAT,
    FORMAT_VERSION,
    PAYLOADS,
    Backup,
    BackupError,
    BackupWriter,
    open_backup,
    signed_by,
    timestamped_name,
)
from .backup_keys import KeyCheck, check_keys, compare_fingerprints
from .backup_tables import (
    TableSum,
    schema_revision,
    table_names,
    table_sums,
    tables_holding_data,
)


class Feedback:
    """How long work reports what it does: ``say`` a step, ``progress`` over counted
    items (a context manager yielding ``advance(n)``). This one stays quiet; the CLI's
    prints."""

    def say(self, message: str) -> None:
        pass

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda n: None


def _checksum_tables(conn, feedback: Feedback, label: str) -> dict[str, TableSum]:
    with feedback.progress(label, len(table_names(conn))) as advance:
        return table_sums(conn, progress=lambda name, sums: advance(1))


def propadmin_version() -> str:
    try:
        return version("propadmin")
    except PackageNotFoundError:
        return "unknown"


def _describe(engine: Engine) -> str:
    """The database named for people: backend and database, never the password."""
    return f"{engine.dialect.name} database {engine.url.database}"


# -- create ----------------------------------------------------------------------------
def create_backup(
    engine: Engine,
    target: Path,
    *,
    keys: dict,
    signing_key: bytes,
    now: datetime | None = None,
    pg_bin_dir: str | None = None,
    feedback: Feedback | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Back up the database to ``target`` (a file that must not exist yet, or a directory
    to put a timestamped file in). Returns the file written and its manifest.

    Raises BackupError: no PropAdmin schema in the database, target exists, a tool failed.
    """
    feedback = feedback or Feedback()
    say = feedback.say
    if engine.dialect.name not in PAYLOADS:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {engine.dialect.name}.")
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    in_directory = target.is_dir()
    folder = target if in_directory else target.parent
    if not in_directory and target.exists():
        raise BackupError(f"{target} already exists; a backup never overwrites a file.")
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a directory; create it first.")
    fd, partial_name = tempfile.mkstemp(prefix=".propadmin-backup-", suffix=".partial", dir=folder)
    os.close(fd)
    partial = Path(partial_name)
    try:
        manifest = _write_archive(engine, partial, keys, signing_key, now, pg_bin_dir, feedback)
        final = _link_into_place(partial, target, in_directory, now)
    finally:
        partial.unlink(missing_ok=True)
    size = final.stat().st_size
    digest = manifest["payload"]["sha256"][:16]
    say(f"Wrote {final} ({size / 1e6:.1f} MB, payload sha256 {digest}…).")
    return final, manifest


def _write_archive(
    engine, path: Path, keys: dict, signing_key: bytes, now: datetime, pg_bin_dir, feedback
) -> dict:
    say = feedback.say
    writer = BackupWriter(path, engine.dialect.name)
    try:
        if engine.dialect.name == "sqlite":
            with tempfile.TemporaryDirectory(prefix=".propadmin-backup-", dir=path.parent) as tmp:
                copy = Path(tmp) / "snapshot.sqlite"
                say(f"Copying the {_describe(engine)} with SQLite's online backup…")
                engines.sqlite_copy(engine, copy)
                copy_engine = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
                try:
                    with copy_engine.connect() as conn:
                        described = _describe_snapshot(conn, sqlite3.sqlite_version, feedback)
                finally:
                    copy_engine.dispose()
                say("Compressing the copy into the backup file…")
                with copy.open("rb") as payload:
                    writer.add_payload(payload)
        else:
            with engines.pg_snapshot(engine) as (conn, snapshot):
                tool = engines.pg_tool("pg_dump", pg_bin_dir, conn)
                say(f"Dumping the {_describe(engine)} with pg_dump (snapshot {snapshot})…")
                dump = engines.pg_dump(engine, tool, snapshot)
                try:
                    writer.add_payload(dump.stdout)
                except BaseException:
                    dump.kill()
                    dump.wait()
                    raise
                finally:
                    dump.stdout.close()
                engines.finish_tool(dump, "pg_dump")
                server = conn.scalar(sa.text("SHOW server_version"))
                described = _describe_snapshot(conn, server, feedback)
    except BaseException:
        writer.abort()
        raise
    return writer.finish(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "propadmin_version": propadmin_version(),
            "backend": engine.dialect.name,
            **described,
            "keys": keys,
        },
        signing_key,
    )


def _describe_snapshot(conn, server_version: str, feedback: Feedback) -> dict[str, Any]:
    revision = schema_revision(conn)
    if revision is None:
        raise BackupError(
            "The database has no PropAdmin schema (no alembic_version table): nothing to back "
            "up. Run `flask --app app db upgrade` first."
        )
    sums = _checksum_tables(conn, feedback, f"Checksumming the tables (schema {revision})")
    feedback.say(f"{len(sums)} tables, {sum(s.rows for s in sums.values())} rows.")
    return {
        "server_version": server_version,
        "schema_revision": revision,
        "tables": {name: s.as_dict() for name, s in sums.items()},
    }


def _link_into_place(partial: Path, target: Path, in_directory: bool, now: datetime) -> Path:
    """Give the finished file its name without replacing any file (two hosts writing to
    one directory in the same second get -2, -3...)."""
    for serial in range(1, 100 if in_directory else 2):
        final = target / timestamped_name(now, serial) if in_directory else target
        try:
            _claim(partial, final)
            return final
        except FileExistsError:
            continue
    raise BackupError(f"{target} already exists; a backup never overwrites a file.")


def _claim(partial: Path, final: Path) -> None:
    """Put ``partial`` at ``final`` unless a file is there (FileExistsError)."""
    try:
        os.link(partial, final)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links (some network shares): take the name with an
        # exclusive create, then move the finished file over our own empty one.
        os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.replace(partial, final)


# -- restore ---------------------------------------------------------------------------
@dataclass
class Restored:
    backup: Backup
    tables: dict[str, tuple[dict | None, TableSum | None]] = field(default_factory=dict)
    keys: KeyCheck = field(default_factory=KeyCheck)
    head: str = ""

    @property
    def mismatched(self) -> list[str]:
        return [
            name
            for name, (expected, found) in self.tables.items()
            if expected is None or found is None or expected != found.as_dict()
        ]

    @property
    def behind_head(self) -> bool:
        return self.backup.revision != self.head


def check_backup(
    path: Path, engine: Engine, migrations: str, signing_key: bytes, keys: dict
) -> tuple[Backup, str]:
    """Open ``path`` and refuse it when this installation did not sign it or it cannot
    go into this database. Returns the backup and this code's head revision."""
    backup = open_backup(path)
    if not signed_by(backup.manifest, signing_key):
        recorded = str((backup.manifest.get("keys") or {}).get("blind_index"))
        recorded = recorded if re.fullmatch(r"[0-9a-f]{16}", recorded) else "(none recorded)"
        raise BackupError(
            f"{path} was not made by this installation: its signature does not match this "
            "installation's keys. It was made by another installation or with other keys, "
            "or altered since; nothing in it is trusted. Nothing was changed. If it is your "
            "backup, restore this installation's keys (instance/secrets.json or "
            "PROPADMIN_BLIND_INDEX_KEY, from your key backup) first: the backup records "
            f"blind-index key fingerprint {recorded}; the key configured here has "
            f"{keys['blind_index']}."
        )
    here = engine.dialect.name
    if backup.backend != here:
        raise BackupError(
            f"{path} was made from a {backup.backend} database; the database configured "
            f"here is {here}. Restore it into a {backup.backend} database."
        )
    script = ScriptDirectory(migrations)
    for revision in (backup.revision or "").split(","):
        try:
            known = script.get_revision(revision) if revision else None
        except CommandError:
            known = None
        if known is None:
            raise BackupError(
                f"{path} has schema revision {backup.revision!r}, which this PropAdmin "
                f"({propadmin_version()}) does not know: it was made by a newer PropAdmin; "
                "upgrade first."
            )
    return backup, ",".join(sorted(script.get_heads()))


def restore_backup(
    engine: Engine,
    path: Path,
    *,
    migrations: str,
    crypto: FieldCrypto,
    keys: dict,
    signing_key: bytes,
    force: bool = False,
    pg_bin_dir: str | None = None,
    feedback: Feedback | None = None,
) -> Restored:
    """Replace the configured database with the backup at ``path``; see the module doc.
    Raises BackupError (nothing changed) when refusing, or when loading failed."""
    feedback = feedback or Feedback()
    say = feedback.say
    backup, head = check_backup(path, engine, migrations, signing_key, keys)
    manifest = backup.manifest
    say(
        f"{path}: made {manifest['created_at']} by PropAdmin {manifest['propadmin_version']} "
        f"from a {backup.backend} database, schema {backup.revision}, {len(backup.tables)} "
        f"tables, {sum(t['rows'] for t in backup.tables.values())} rows."
    )
    scratch = engines.sqlite_path(engine).parent if backup.backend == "sqlite" else None
    if scratch is not None and not scratch.is_dir():
        raise BackupError(f"{scratch} does not exist: create it for the SQLite database first.")
    with engine.connect() as conn:
        holding = tables_holding_data(conn)
    if holding and not force:
        shown = ", ".join(holding[:5]) + (", …" if len(holding) > 5 else "")
        raise BackupError(
            f"The {_describe(engine)} already holds data (in {shown}). Nothing was changed. "
            "Restore into an empty database, or add --force to replace everything in it."
        )
    if holding:
        say(f"--force: replacing everything in the {_describe(engine)}.")
    with tempfile.TemporaryDirectory(prefix=".propadmin-restore-", dir=scratch) as tmp:
        payload = Path(tmp) / ("payload.sqlite" if backup.backend == "sqlite" else "payload.pgdump")
        say("Checking the payload's checksum…")
        backup.extract_payload(payload)
        backup_payload.check(path, backup.backend, payload)
        say(f"Loading it into the {_describe(engine)}…")
        if backup.backend == "sqlite":
            engines.sqlite_restore(engine, payload)
        else:
            engines.pg_restore(engine, payload, pg_bin_dir)
    restored = Restored(backup, head=head)
    with engine.connect() as conn:
        found = _checksum_tables(conn, feedback, "Verifying the restored tables")
        for name in sorted(set(found) | set(backup.tables)):
            restored.tables[name] = (backup.tables.get(name), found.get(name))
        restored.keys = check_keys(conn, crypto)
    restored.keys.fingerprints_match = compare_fingerprints(manifest.get("keys") or {}, keys)
    return restored
