"""What differs between the backends: taking a consistent copy, putting one back, and the
lock that keeps two backups of one database from running at once.

SQLite: the online backup API copies the database file while the app keeps writing; the
copy is one consistent state. PostgreSQL: a REPEATABLE READ transaction exports its
snapshot, ``pg_dump --snapshot`` dumps exactly that state while the transaction stays open,
and the counts and checksums are read in the same transaction. Restoring runs
``pg_restore`` into ``psql --single-transaction`` after dropping the app's schema with
everything in it and creating it again (same owner and grants) in the same transaction,
so nothing of the old database is left and a failed restore leaves it as it was.

The password never goes on a command line: the tools get the URL without it and read
it from ``PGPASSWORD``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .backup_format import BackupError

_LOCK_KEY = int.from_bytes(b"PAbackup", "big") & 0x7FFF_FFFF_FFFF_FFFF
_TOOL_TIMEOUT = 6 * 3600


def sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"Cannot back up or restore the SQLite database {database!r}.")
    return Path(database)


# -- locks -----------------------------------------------------------------------------
@contextmanager
def backup_lock(engine: Engine) -> Iterator[bool]:
    """Yield True when this process holds the database's backup lock, False when another
    backup holds it. PostgreSQL: an advisory lock (good across hosts); SQLite: a file lock
    beside the database file."""
    if engine.dialect.name == "sqlite":
        lock_path = sqlite_path(engine).with_name(sqlite_path(engine).name + "-backup.lock")
        try:
            handle = open(lock_path, "a")  # closed by the with below
        except OSError as exc:
            raise BackupError(f"Cannot open the lock file {lock_path}: {exc.strerror}.") from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        got = conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": _LOCK_KEY})
        conn.commit()
        try:
            yield bool(got)
        finally:
            if got:
                conn.scalar(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                conn.commit()


# -- SQLite ----------------------------------------------------------------------------
def sqlite_copy(engine: Engine, copy: Path) -> None:
    """Copy the live database into ``copy`` with SQLite's online backup API (in one step,
    so writers committing meanwhile cannot make it start over)."""
    source_path = sqlite_path(engine)
    if not source_path.is_file():
        raise BackupError(f"The SQLite database {source_path} does not exist.")
    source = sqlite3.connect(f"{source_path.as_uri()}?mode=ro", uri=True, timeout=60)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def sqlite_restore(engine: Engine, payload: Path) -> None:
    """Replace the configured database's content with ``payload`` (the backup API again:
    one transaction on the target, which open connections then see)."""
    engine.dispose()
    source = sqlite3.connect(f"{payload.as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(sqlite_path(engine), timeout=60)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


# -- PostgreSQL ------------------------------------------------------------------------
def libpq_target(engine: Engine) -> tuple[str, dict[str, str]]:
    """The database URL for libpq tools (without the password) and their environment
    (with ``PGPASSWORD`` when the URL has one)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # URL.set(password=None) would keep the password: build the URL without it.
    plain = sa.engine.URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False), env


def pg_tool(name: str, bin_dir: str | None, conn: Connection) -> str:
    """Path of ``pg_dump``/``pg_restore``/``psql``, checked to be no older than the server."""
    found = str(Path(bin_dir) / name) if bin_dir else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(
            f"{name} was not found: install the PostgreSQL client tools of the server's "
            "version (e.g. postgresql-client-15), or set PROPADMIN_BACKUP_PG_BIN_DIR."
        )
    shown = subprocess.run(  # noqa: S603 - a PostgreSQL tool, fixed arguments
        [found, "--version"], capture_output=True, text=True, timeout=60
    )
    match = re.search(r"\)\s+(\d+)", shown.stdout)
    server = int(conn.scalar(sa.text("SHOW server_version_num"))) // 10000
    if not match or int(match.group(1)) < server:
        raise BackupError(
            f"{found} ({shown.stdout.strip() or 'unknown version'}) is older than the "
            f"PostgreSQL {server} server: install postgresql-client-{server} or set "
            "PROPADMIN_BACKUP_PG_BIN_DIR to its bin folder."
        )
    return found


@contextmanager
def pg_snapshot(engine: Engine) -> Iterator[tuple[Connection, str]]:
    """A REPEATABLE READ transaction and the id of its exported snapshot, open until the
    block ends."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            yield conn, snapshot


def pg_dump(engine: Engine, tool: str, snapshot: str) -> subprocess.Popen:
    """Start ``pg_dump`` of the snapshot; read the custom-format dump from its stdout."""
    target, env = libpq_target(engine)
    errors = tempfile.TemporaryFile()
    process = subprocess.Popen(  # noqa: S603 - pg_dump, no secret in its arguments
        [tool, "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--dbname={target}"],
        stdout=subprocess.PIPE,
        stderr=errors,
        env=env,
    )
    process.errors = errors  # type: ignore[attr-defined]
    return process


def finish_tool(process: subprocess.Popen, what: str) -> None:
    """Wait for a tool; raise BackupError with what it said when it failed."""
    code = process.wait(timeout=_TOOL_TIMEOUT)
    errors: IO[bytes] = process.errors  # type: ignore[attr-defined]
    errors.seek(0)
    said = errors.read().decode(errors="replace").strip()
    errors.close()
    if code != 0:
        raise BackupError(f"{what} failed (exit {code}): {said[-2000:] or 'no message'}")


def _replace_schema(conn: Connection) -> str:
    """SQL dropping the app's schema (``current_schema()``, usually ``public``) with
    everything in it — tables, views, sequences, functions, types — and creating it
    again with the same owner, grants and comment."""
    name, owner, comment = conn.execute(
        sa.text(
            "SELECT nspname, pg_get_userbyid(nspowner), obj_description(oid, 'pg_namespace')"
            " FROM pg_namespace WHERE nspname = current_schema()"
        )
    ).one()
    grants = conn.execute(
        sa.text(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,"
            " a.privilege_type, a.is_grantable"
            " FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = current_schema()"
        )
    ).all()
    quote = conn.dialect.identifier_preparer.quote
    schema = quote(name)
    statements = [f"DROP SCHEMA {schema} CASCADE;", f"CREATE SCHEMA {schema};"]
    statements.append(f"ALTER SCHEMA {schema} OWNER TO {quote(owner)};")
    for grantee, privilege, grantable in grants:
        to = "PUBLIC" if grantee == "PUBLIC" else quote(grantee)
        option = " WITH GRANT OPTION" if grantable else ""
        statements.append(f"GRANT {privilege} ON SCHEMA {schema} TO {to}{option};")
    if comment is not None:
        literal = "'" + comment.replace("'", "''") + "'"
        statements.append(f"COMMENT ON SCHEMA {schema} IS {literal};")
    return "\n".join(statements) + "\n"


def pg_restore(engine: Engine, payload: Path, bin_dir: str | None) -> None:
    """Replace everything in the configured database with the dump, in one transaction."""
    with engine.connect() as conn:
        restore_tool = pg_tool("pg_restore", bin_dir, conn)
        psql_tool = pg_tool("psql", bin_dir, conn)
        drops = _replace_schema(conn)
    engine.dispose()
    target, env = libpq_target(engine)
    # The drops wait for the app's open transactions; give up after a minute rather than
    # hang (the dump's own SETs come after them).
    psql_env = {**env, "PGOPTIONS": f"{env.get('PGOPTIONS', '')} -c lock_timeout=60000".strip()}
    psql_errors, restore_errors = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    psql = subprocess.Popen(  # noqa: S603 - psql, no secret in its arguments
        [psql_tool, "--no-psqlrc", "--quiet", "--single-transaction", "--no-password"]
        + ["--set=ON_ERROR_STOP=1", f"--dbname={target}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=psql_errors,
        env=psql_env,
    )
    psql.errors = psql_errors  # type: ignore[attr-defined]
    restore = subprocess.Popen(  # noqa: S603 - pg_restore of our own temporary file
        [restore_tool, "--no-owner", "--no-privileges", "--file=-", str(payload)],
        stdout=subprocess.PIPE,
        stderr=restore_errors,
        env=env,
    )
    restore.errors = restore_errors  # type: ignore[attr-defined]
    try:
        psql.stdin.write(drops.encode())
        shutil.copyfileobj(restore.stdout, psql.stdin, 1024 * 1024)
    except BrokenPipeError:
        pass  # psql stopped at an error; what it said is reported below
    finally:
        psql.stdin.close()
        restore.stdout.close()
    try:
        finish_tool(psql, "psql (loading the dump; the database was left as it was)")
    except BackupError:
        restore.kill()  # may still be writing into the closed pipe
        restore.wait(timeout=60)
        restore_errors.close()
        raise
    finish_tool(restore, "pg_restore")
