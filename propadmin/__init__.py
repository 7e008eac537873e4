"""PropAdmin application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import TypeDecorator, event
from sqlalchemy.engine import Engine, make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from models import Base, check_declared, install_field_cipher

from . import audit, permissions, security_headers, sqlite_writers
from .config import DefaultConfig
from .crypto import FieldCrypto
from .extensions import babel, csrf, db, limiter, login_manager, migrate, principal
from .instance_secrets import load_or_create
from .templating import TemplateEnvironment

ROOT = Path(__file__).resolve().parent.parent


class PropAdminFlask(Flask):
    jinja_environment = TemplateEnvironment


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then ``PROPADMIN_*``
    environment variables, then ``config`` (tests)."""
    app = PropAdminFlask(
        __name__,
        instance_path=os.environ.get("PROPADMIN_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PROPADMIN")
    if config:
        app.config.from_mapping(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _apply_secrets(app)
    proxies = int(app.config["PROXY_FIX_X_FOR"])
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        db_path = Path(app.instance_path) / "propadmin.db"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    _create_private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    # A connection the database dropped (a restart, a failover, an idle timeout) is
    # noticed before a request uses it, so the app recovers without a restart of its own.
    engine_options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    engine_options.setdefault("pool_pre_ping", True)
    # SQLite: the app's writers wait for each other on a file lock (sqlite_writers.py).
    queued = sqlite_writers.connect_args(make_url(app.config["SQLALCHEMY_DATABASE_URI"]))
    if queued:
        engine_options["connect_args"] = {**queued, **engine_options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    if "SESSION_COOKIE_SECURE" not in (config or {}) and not os.environ.get(
        "PROPADMIN_SESSION_COOKIE_SECURE"
    ):
        # Production is served over https; the browser then gets Secure cookies only.
        app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")

    # Every model says how its rows belong to an estate; one that does not stops the
    # app here, naming it, instead of being shown to every estate.
    check_declared(mapper.class_ for mapper in Base.registry.mappers)
    # First of the request hooks: the CSP nonce exists before any other hook can abort.
    security_headers.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=_render_migration_item,
    )
    csrf.init_app(app)
    if not app.config.get("RATELIMIT_ENABLED", True):
        # The sign-in, access-code and number-search counters live in the limiter's
        # storage; without it they would count nothing (or fail on the first sign-in).
        raise RuntimeError(
            "RATELIMIT_ENABLED=False is not supported: PropAdmin's sign-in protection counts "
            "attempts in the rate limiter. Raise LOGIN_LIMIT_PER_ACCOUNT instead."
        )
    limiter.init_app(app)
    permissions.init_app(app, principal)
    audit.init_app(app)

    from . import i18n, links, mail, request_log, sessions

    request_log.init_app(app)
    i18n.init_app(app, babel)
    links.init_app(app)
    mail.init_app(app)
    sessions.init_app(app, login_manager)

    from . import cli

    cli.init_app(app)

    # The factory wires the HTTP layer in; nothing below views/ imports views/.
    import views

    views.init_app(app)
    return app


def _apply_secrets(app: Flask) -> None:
    needed = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY")
    if any(not app.config.get(k) for k in needed):
        stored = load_or_create(app.instance_path)
        for key in needed:
            if not app.config.get(key):
                app.config[key] = stored[key]
    keys = app.config["FIELD_ENCRYPTION_KEYS"]
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    crypto = FieldCrypto(keys, app.config["BLIND_INDEX_KEY"])
    app.extensions["propadmin.crypto"] = crypto
    install_field_cipher(crypto)


def _create_private_sqlite_file(uri, instance_path: str) -> None:
    """Create a SQLite database file readable by its owner only (0600, like the keys)
    before SQLite would create it under the process umask. It holds every record;
    an existing file keeps the mode its owner gave it."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite" or not url.database:
        return
    if url.database == ":memory:" or url.database.startswith("file:") or url.query.get("mode"):
        return
    # Flask-SQLAlchemy reads a relative SQLite path from the instance folder.
    path = Path(instance_path) / url.database
    if not path.parent.is_dir():
        return  # SQLite will say so when it connects
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations store our column types as the plain SQL types beneath them, so old
    migrations never depend on today's models/ code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance if hasattr(obj, "impl_instance") else obj.impl
        length = getattr(impl, "length", None)
        args = f"length={length}" if length else ""
        return f"sa.{type(impl).__name__}({args})"
    return False


# Whether the connection's transaction sent anything but a SELECT (see views/errors.py:
# a request that only read ends its transaction with COMMIT, which keeps the statements
# psycopg prepared; a ROLLBACK makes it discard them all).
WROTE = "propadmin.wrote"


@event.listens_for(Engine, "begin")
def _transaction_begins(conn) -> None:
    conn.info[WROTE] = False


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    if not statement.lstrip()[:6].upper() == "SELECT" or executemany:
        conn.info[WROTE] = True


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record) -> None:
    """Every SQLite connection checks foreign keys, and a database file keeps its changes
    in a write-ahead log: readers no longer wait for a writer (nor a writer for readers),
    and a commit writes and syncs the log once instead of creating, syncing and deleting a
    rollback journal (17 ms a commit on the test machine, 3 ms with the log). Synchronous
    stays FULL: a commit is on disk when it returns. The log sits beside the database
    (``-wal``, ``-shm``); backups read through SQLite's backup API, which includes it."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA database_list")
        if any(row[1] == "main" and row[2] for row in cursor.fetchall()):  # a file
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
