"""Fixtures: the app on SQLite and on PostgreSQL, the demo estate, a real SMTP server on
loopback, role logins, factories, a CLI runner and a query counter.

Every test that takes ``app`` (directly or through ``client``, ``demo``, ``login_as``...)
runs once per database backend. Per backend and run, the schema comes from the Alembic
migrations once, and the demo estate is seeded once, into a copy of that database; a test
that takes ``demo`` runs on the seeded copy, any other on the empty database.

Each test runs inside one outer transaction that is rolled back when it ends (SQLAlchemy's
"joining a session into an external transaction" recipe). The app's ``db.session`` — in
requests, CLI commands and app contexts — the mail dispatcher and the test's own
``db_session`` all use that one connection, each in a SAVEPOINT of its own, so each sees
the others' writes and ``commit()`` works as usual; ``after_commit`` fires when a
session's SAVEPOINT is released, as after a real commit. PostgreSQL sequences are not
rolled back: look rows up by name, never assume an id. At the end of the run, a shared
database whose row counts changed (a test committed outside its transaction) is an error.

A test whose work must really be committed — a live server or other threads, a second app
or connection, migrations — is marked ``@pytest.mark.committed``: it gets a copy of its own
of the (empty or seeded) database and commits for real. So does every test that takes
``smtp``: the mail dispatcher, started right after a commit inside the request, opens
sessions of its own that cannot share the test's connection.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from .backup_kit import target_app  # noqa: F401 — shared fixtures
from .browser_kit import browser, live_server, new_tab  # noqa: F401 — shared fixtures
from .factories import Factories
from .helpers import DEMO_PASSWORD, SMTPServer, login, unavailable
from .served import pg_demo, pg_demo_template  # noqa: F401 — shared fixtures

PG_SERVER = os.environ.get(
    "PROPADMIN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = os.environ.get("PROPADMIN_TEST_BACKENDS", "sqlite,postgresql").split(",")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TEST_KEYS = {
    "SECRET_KEY": "test-secret-key-" + "x" * 32,
    "FIELD_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
    "BLIND_INDEX_KEY": "test-blind-index-key",
}
DEMO_ESTATE = "示范小区"


# -- databases: migrated once, seeded once, copied for committing tests ---------------
@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database per backend for the whole run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        yield _migrated(url, tmp_path_factory)
        return
    try:
        url = _create_pg_database()
    except sa.exc.OperationalError as exc:
        unavailable(f"PostgreSQL at {PG_SERVER} is not reachable: {exc.orig}")
    try:
        yield _migrated(url, tmp_path_factory)
    finally:
        _drop_pg_database(url)


@dataclass(frozen=True)
class Databases:
    """One backend's databases: ``empty`` (migrated) and ``demo`` (its copy, seeded)."""

    empty: str
    demo: str
    demo_estate_id: int


@pytest.fixture(scope="session")
def _databases(database_url, tmp_path_factory):
    demo_url = _copy_database(database_url, tmp_path_factory.mktemp("demo-db"))
    app = _make_app(demo_url, tmp_path_factory.mktemp("instance"))
    from propadmin.extensions import db
    from propadmin.services.demo import seed_demo

    with app.app_context():
        db.session.info["actor_name"] = "cli"  # as `flask seed-demo` does
        estate_id = seed_demo(db.session, units=24, password=DEMO_PASSWORD).estate.id
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    before = {url: _row_counts(url) for url in (database_url, demo_url)}
    yield Databases(database_url, demo_url, estate_id)
    after = {url: _row_counts(url) for url in (database_url, demo_url)}
    if not demo_url.startswith("sqlite"):
        _drop_pg_database(demo_url)
    changed = {
        f"{'seeded' if url == demo_url else 'empty'} database, {table}": (n, after[url][table])
        for url, counts in before.items()
        for table, n in counts.items()
        if after[url][table] != n
    }
    assert not changed, (
        "a test committed to a shared database (rows before, after) — mark it"
        f" @pytest.mark.committed: {changed}"
    )


def _row_counts(url: str) -> dict[str, int]:
    from models import Base

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.scalar(sa.select(sa.func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _migrated(url: str, tmp_path_factory) -> str:
    from flask_migrate import upgrade

    from propadmin.extensions import db

    app = _make_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def _create_pg_database(template: str | None = None) -> str:
    name = f"propadmin_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            if template:
                # A template must have no other sessions; these databases are ours alone.
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": template},
                )
                conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            else:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()
    return server.url.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


def _copy_database(url: str, folder: Path) -> str:
    if url.startswith("sqlite:///"):
        copy = folder / "copy.db"
        shutil.copyfile(url.removeprefix("sqlite:///"), copy)
        return f"sqlite:///{copy}"
    return _create_pg_database(template=sa.engine.make_url(url).database)


def _config(url: str, instance: Path, **extra) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": sa.pool.NullPool},
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast; production uses scrypt
        "MAIL_DISPATCH": "off",
        "MAIL_PORT": 1,  # nothing listens: tests that want mail take the smtp fixture
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_LIMIT_PER_ADDRESS": "1000 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": "1000 per minute",
        "FORGOT_PASSWORD_LIMIT": "1000 per minute",
        "BASE_URL": "https://estate.example.test",
        "SESSION_COOKIE_SECURE": False,
        **TEST_KEYS,
        **extra,
    }


def _make_app(url: str, instance: Path, **overrides):
    """A new app (and so new rate-limit counters: memory storage lives in the app's
    limiter, built again by every ``create_app``)."""
    from propadmin import create_app

    os.environ["PROPADMIN_INSTANCE_PATH"] = str(instance)
    try:
        return create_app(_config(url, instance, **overrides))
    finally:
        del os.environ["PROPADMIN_INSTANCE_PATH"]


# -- one outer transaction per test ----------------------------------------------------
_TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def _sqlite_transactions_as_asked(engine) -> None:
    """pysqlite begins transactions lazily (only before a write), so the outer BEGIN
    would be skipped and the first RELEASE SAVEPOINT would commit for good. Let SQLAlchemy
    emit BEGIN itself (the SQLite dialect documentation's recipe)."""

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")


@contextmanager
def _outer_transaction(app):
    """Point the app's default bind at one connection inside a transaction, and roll
    that transaction back at the end."""
    from propadmin.extensions import db

    with app.app_context():
        engines = db.engines  # the app's own mapping, read by db.session and db.engine
        engine = engines[None]
        # db.session keeps the outer transaction: commit releases a SAVEPOINT instead.
        db.session.configure(join_transaction_mode="create_savepoint")
    if engine.dialect.name == "sqlite":
        _sqlite_transactions_as_asked(engine)
    connection = engine.connect()
    outer = connection.begin()
    engines[None] = connection
    try:
        yield connection
    finally:
        engines[None] = engine
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture
def backend(database_url) -> str:
    return sa.engine.make_url(database_url).get_backend_name()


@pytest.fixture
def app(_databases, tmp_path, request):
    """A fresh app, on the seeded database when the test takes ``demo`` and on the
    empty one otherwise, inside a transaction rolled back at the end (see above).

    ``@pytest.mark.config(KEY=value)`` overrides config; ``@pytest.mark.committed`` (or
    taking ``smtp``) gives the test its own copy of the database, where commits are real."""
    from propadmin.extensions import db

    marker = request.node.get_closest_marker("config")
    overrides = dict(marker.kwargs) if marker else {}
    seeded = "demo" in request.fixturenames
    url = _databases.demo if seeded else _databases.empty
    # Mail is sent right after a commit, in the request: the dispatcher's session and the
    # one Flask-Login opens in the dispatcher's app context would take SAVEPOINTs on one
    # connection that do not nest. A test that takes `smtp` runs committed, and each gets
    # a connection of its own, as in production.
    committed = (
        request.node.get_closest_marker("committed") is not None or "smtp" in request.fixturenames
    )
    if committed:
        url = _copy_database(url, tmp_path)
    app = _make_app(url, tmp_path / "instance", **overrides)
    app.extensions["propadmin.tests"] = {
        "seeded": seeded,
        "demo_estate_id": _databases.demo_estate_id,
    }
    try:
        if committed:
            yield app
        else:
            with _outer_transaction(app):
                yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if committed and not url.startswith("sqlite"):
            _drop_pg_database(url)


@pytest.fixture
def db_session(app):
    """A session of the test's own, outside any request (no app context stays pushed,
    so requests made meanwhile get their own ``g``). In a rolled-back test it shares the
    app's connection and transaction. Call ``expire_all()`` to re-read what a request
    changed."""
    from propadmin.extensions import db

    with app.app_context():
        bind = db.engine  # the test's connection, or the engine of a committed test
    session = sa.orm.Session(bind, join_transaction_mode="create_savepoint")
    session.info["actor_name"] = "test"
    yield session
    session.close()


@pytest.fixture
def demo(app):
    """The demo estate, as `flask seed-demo` makes it; returns its id."""
    assert app.extensions["propadmin.tests"]["seeded"], (
        "take `demo` as a fixture argument (not getfixturevalue): the app picks the"
        " seeded database when it is set up"
    )
    return app.extensions["propadmin.tests"]["demo_estate_id"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner: ``runner.invoke(args=["seed-demo"])`` runs ``flask seed-demo``."""
    return app.test_cli_runner()


@pytest.fixture
def login_as(app, demo):
    """``login_as("finance")`` → a test client signed in as that demo account."""

    def _login(username: str, password: str = DEMO_PASSWORD):
        c = app.test_client()
        response = login(c, username, password)
        assert response.status_code == 302, f"{username} could not sign in"
        return c

    return _login


@pytest.fixture
def make(app, db_session):
    """Factories for test data: ``make.unit(number="1808")``; see tests/factories.py."""
    return Factories(app, db_session)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as queries: ...`` → the SQL statements sent meanwhile,
    transaction control (BEGIN, SAVEPOINT, ...) left out."""
    from propadmin.extensions import db

    with app.app_context():
        engine = db.engine.engine  # a Connection's .engine is its Engine

    @contextmanager
    def _count():
        queries: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if not _TRANSACTION_CONTROL.match(statement):
                queries.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield queries
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)

    return _count


@pytest.fixture
def smtp(app):
    """A running SMTP server the app sends to; ``smtp.mailbox.messages`` is what arrived."""
    server = SMTPServer()
    server.start()
    app.config.update(MAIL_PORT=server.port, MAIL_SERVER="127.0.0.1", MAIL_DISPATCH="inline")
    yield server
    server.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**kwargs): app config overrides for a test")
    config.addinivalue_line(
        "markers",
        "committed: the test commits for real, on its own copy of the database (live"
        " server, other threads, a second app or connection, migrations)",
    )


# -- which parts ran -------------------------------------------------------------------
_PARTS = {"sqlite": 0, "postgresql": 0, "browser": 0}


def pytest_runtest_logreport(report):
    if report.when != "call" or not report.passed:
        return
    if "browser" in report.nodeid.partition("::")[0]:  # test_browser*.py, *_browser.py
        _PARTS["browser"] += 1
    elif "[sqlite" in report.nodeid:
        _PARTS["sqlite"] += 1
    elif "[postgresql" in report.nodeid:
        _PARTS["postgresql"] += 1


def pytest_terminal_summary(terminalreporter):
    parts = ", ".join(f"{name}: {count} passed" for name, count in _PARTS.items())
    terminalreporter.write_line(f"PropAdmin suite parts — {parts}")


def pytest_sessionfinish(session, exitstatus):
    """With PROPADMIN_TEST_REQUIRE_ALL=1 (CI), a run where a part did not run fails.
    Under pytest-xdist the controller counts every worker's reports and decides; a worker
    alone may well have run no browser test."""
    if os.environ.get("PROPADMIN_TEST_REQUIRE_ALL") != "1" or exitstatus != 0:
        return
    if hasattr(session.config, "workerinput"):  # an xdist worker
        return
    missing = [name for name, count in _PARTS.items() if count == 0]
    if missing:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"FAILED: these parts ran no test: {', '.join(missing)}", red=True
        )
        session.exitstatus = 1
