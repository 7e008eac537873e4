"""Fixtures: a fresh app per test on SQLite and on PostgreSQL, demo data, a real SMTP
server on loopback, and role logins.

Every test that takes ``app`` (directly or through ``client``/``demo``) runs once per
database backend. The schema comes from the Alembic migrations, once per backend and
run; each test starts from empty tables.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from models import Base

from .helpers import DEMO_PASSWORD, SMTPServer, login, unavailable

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


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database per backend for the whole run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        yield _migrated(url, tmp_path_factory)
        return
    name = f"propadmin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        unavailable(f"PostgreSQL at {PG_SERVER} is not reachable: {exc.orig}")
    url = server.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield _migrated(url, tmp_path_factory)
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _migrated(url: str, tmp_path_factory) -> str:
    from flask_migrate import upgrade

    from propadmin import create_app

    app = create_app(_config(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        from propadmin.extensions import db

        db.engine.dispose()
    return url


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


def _empty_tables(engine) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def backend(database_url) -> str:
    return sa.engine.make_url(database_url).get_backend_name()


@pytest.fixture
def app(database_url, tmp_path, request):
    """A fresh app on empty tables. ``@pytest.mark.config(KEY=value)`` overrides config."""
    from propadmin import create_app
    from propadmin.extensions import db

    marker = request.node.get_closest_marker("config")
    overrides = dict(marker.kwargs) if marker else {}
    os.environ["PROPADMIN_INSTANCE_PATH"] = str(tmp_path / "instance")
    try:
        app = create_app(_config(database_url, tmp_path / "instance", **overrides))
    finally:
        del os.environ["PROPADMIN_INSTANCE_PATH"]
    with app.app_context():
        _empty_tables(db.engine)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    """A session of the test's own, outside any request (no app context stays pushed,
    so requests made meanwhile get their own ``g``). Call ``expire_all()`` to re-read."""
    from propadmin.extensions import db

    with app.app_context():
        engine = db.engine
    session = sa.orm.Session(engine)
    session.info["actor_name"] = "test"
    yield session
    session.close()


@pytest.fixture
def demo(app):
    """The demo estate, as `flask seed-demo` makes it."""
    from propadmin.extensions import db
    from propadmin.services.demo import seed_demo

    with app.app_context():
        db.session.info["actor_name"] = "test"
        result = seed_demo(db.session, units=24, password=DEMO_PASSWORD)
        db.session.commit()
        estate_id = result.estate.id
        db.session.remove()
    return estate_id


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(app, demo):
    """``login_as("finance")`` → a test client signed in as that demo account."""

    def _login(username: str):
        c = app.test_client()
        response = login(c, username)
        assert response.status_code == 302, f"{username} could not sign in"
        return c

    return _login


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


# -- which parts ran -------------------------------------------------------------------
_PARTS = {"sqlite": 0, "postgresql": 0, "browser": 0}


def pytest_runtest_logreport(report):
    if report.when != "call" or not report.passed:
        return
    if "[sqlite" in report.nodeid:
        _PARTS["sqlite"] += 1
    if "[postgresql" in report.nodeid:
        _PARTS["postgresql"] += 1
    if "test_browser.py" in report.nodeid:
        _PARTS["browser"] += 1


def pytest_terminal_summary(terminalreporter):
    parts = ", ".join(f"{name}: {count} passed" for name, count in _PARTS.items())
    terminalreporter.write_line(f"PropAdmin suite parts — {parts}")


def pytest_sessionfinish(session, exitstatus):
    """With PROPADMIN_TEST_REQUIRE_ALL=1 (CI), a run where a part did not run fails."""
    if os.environ.get("PROPADMIN_TEST_REQUIRE_ALL") != "1" or exitstatus != 0:
        return
    missing = [name for name, count in _PARTS.items() if count == 0]
    if missing:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"FAILED: these parts ran no test: {', '.join(missing)}", red=True
        )
        session.exitstatus = 1
