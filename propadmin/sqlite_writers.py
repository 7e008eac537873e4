"""The app's SQLite writers queue on an OS file lock instead of SQLite's busy handler.

SQLite lets one connection write at a time. Another that wants to write meanwhile gets
SQLITE_BUSY, and its busy handler sleeps 1 ms, then 2, then 5 ms and more before it
tries again, however soon the lock is free; a request's write holds it for well under a
millisecond. Two gunicorn workers both writing (every audited number search writes its
audit entry) spent much of their time asleep this way: the full-mobile search served
about 240 requests a second, and 280-300 with its writers queued here
(tests/bench_pages.py, this machine).

So each connection of the app's engine (``factory`` in the engine's ``connect_args``,
see create_app) takes an exclusive ``flock`` on a file beside the database
(``<database>-writers``) before its first INSERT, UPDATE, DELETE or REPLACE in a
transaction, and gives it up once the transaction has been committed or rolled back. A
waiting writer looks again after 50 µs, then 100, 200 … up to a millisecond. The wait is
bounded by the connection's ``timeout`` like SQLite's own; after it, the writer goes on
to SQLite's locking as before. (A blocking ``flock`` cannot be bounded from Python; a
helper thread per wait, tried, cost more than it saved.) Programs that do not take the
file lock (the sqlite3 shell, a backup) still meet SQLite's own locking: nothing is
weakened, the file lock only puts the app's own writers in a queue.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
import time

_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|WITH)\b", re.IGNORECASE)
LOCK_SUFFIX = "-writers"


class QueuedWritersConnection(sqlite3.Connection):
    """A sqlite3 connection whose writes take the database's writers' lock first."""

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        self._timeout = float(kwargs.get("timeout", args[0] if args else 5.0))
        path = os.fspath(database)
        memory = path in ("", ":memory:") or path.startswith("file:") or "mode=memory" in path
        self._lock_path = None if memory else path + LOCK_SUFFIX
        self._lock_fd: int | None = None
        self._holding = False

    def cursor(self, factory=None):
        return super().cursor(factory or _QueuedWritersCursor)

    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, parameters, /):
        return self.cursor().executemany(sql, parameters)

    def take_writers_lock(self) -> None:
        if self._holding or self._lock_path is None:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self._timeout
        pause = 0.00005  # doubling to a millisecond: SQLite's own first sleep
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return  # SQLite's own locking decides, as without the file lock
                time.sleep(pause)
                pause = min(pause * 2, 0.001)
                continue
            self._holding = True
            return

    def give_writers_lock(self) -> None:
        if self._holding:
            self._holding = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _ending(self, end) -> None:
        """Commit or roll back, then let the next writer go (once no transaction is left)."""
        try:
            end()
        finally:
            if not self.in_transaction:
                self.give_writers_lock()

    def commit(self) -> None:
        self._ending(super().commit)

    def executescript(self, script, /):
        try:
            return super().executescript(script)  # commits what was pending first
        finally:
            if not self.in_transaction:
                self.give_writers_lock()

    def rollback(self) -> None:
        self._ending(super().rollback)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_writers_lock()
            if self._lock_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._lock_fd)
                self._lock_fd = None


class _QueuedWritersCursor(sqlite3.Cursor):
    def _around(self, run, sql, *args):
        conn = self.connection
        writes = isinstance(sql, str) and _WRITES.match(sql) is not None
        if writes:
            conn.take_writers_lock()
        try:
            return run(sql, *args)
        finally:
            if writes and not conn.in_transaction:
                conn.give_writers_lock()  # autocommit: the statement was its transaction

    def execute(self, sql, parameters=(), /):
        return self._around(super().execute, sql, parameters)

    def executemany(self, sql, parameters, /):
        return self._around(super().executemany, sql, parameters)


def connect_args(url) -> dict:
    """The engine's ``connect_args`` addition for ``url``: the queued writers' factory
    for a SQLite database file, nothing otherwise."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return {}
    return {"factory": QueuedWritersConnection}
