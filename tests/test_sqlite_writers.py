"""The app's SQLite writers wait for each other on a file lock (propadmin/sqlite_writers.py):
held from a transaction's first write to its commit or rollback, never by reads."""

import fcntl
import os
import sqlite3
import threading

import pytest

from propadmin.sqlite_writers import LOCK_SUFFIX, QueuedWritersConnection


@pytest.fixture
def path(tmp_path):
    database = tmp_path / "estate.db"
    with sqlite3.connect(database) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE note (text TEXT)")
    return str(database)


def connect(path, **kwargs):
    return sqlite3.connect(path, factory=QueuedWritersConnection, **kwargs)


def locked(path) -> bool:
    """Whether some connection holds the writers' lock (tried from a descriptor of its own)."""
    fd = os.open(path + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_writer_holds_the_lock_from_its_first_write_until_it_ends(path):
    conn = connect(path)
    conn.execute("SELECT count(*) FROM note").fetchall()
    assert not locked(path)  # a read takes nothing
    conn.execute("INSERT INTO note VALUES ('水表读数已登记')")
    assert locked(path)
    conn.commit()
    assert not locked(path)
    conn.cursor().executemany("INSERT INTO note VALUES (?)", [("一",), ("二",)])
    assert locked(path)
    conn.rollback()
    assert not locked(path)
    conn.close()


def test_a_second_writer_waits_for_the_first_then_writes(path):
    first, second = connect(path), connect(path, check_same_thread=False)
    first.execute("INSERT INTO note VALUES ('first')")
    done = threading.Event()

    def write():
        second.execute("INSERT INTO note VALUES ('second')")
        second.commit()
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.3)  # queued behind the first writer, not failed
    # It waits on the file lock, before its statement: SQLite's busy handler would have
    # it waiting inside its statement, its transaction already begun.
    assert not second.in_transaction
    first.commit()
    writer.join(5)
    assert done.is_set()
    assert [t for (t,) in first.execute("SELECT text FROM note ORDER BY rowid")] == [
        "first",
        "second",
    ]
    first.close()
    second.close()


def test_statements_in_autocommit_do_not_keep_the_lock(path):
    conn = connect(path, isolation_level=None)
    conn.execute("INSERT INTO note VALUES ('x')")
    assert not locked(path)
    conn.execute("PRAGMA foreign_keys=ON")
    assert not locked(path)
    conn.close()


def test_the_wait_is_bounded_by_the_connection_timeout(path):
    """A writer holding on (a long import) leaves the others to SQLite's own answer after
    their timeout: "database is locked", as without the file lock."""
    holder = connect(path)
    holder.execute("INSERT INTO note VALUES ('long import')")
    impatient = connect(path, timeout=0.2)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        impatient.execute("INSERT INTO note VALUES ('later')")
    holder.rollback()
    impatient.execute("INSERT INTO note VALUES ('later')")
    impatient.commit()
    impatient.close()
    holder.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_app_queues_its_writers_on_a_database_file(database_url, tmp_path, monkeypatch):
    from propadmin import create_app
    from propadmin.extensions import db

    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context(), db.engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection, QueuedWritersConnection)
