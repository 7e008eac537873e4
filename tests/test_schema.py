"""The schema comes from migrations, and they match the models on both backends."""

import json
import os
import stat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base
from propadmin.extensions import db


@pytest.mark.committed  # inspects the migrated database itself
def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


@pytest.mark.committed  # inspects the migrated database itself
def test_migrated_database_has_every_table(app):
    with app.app_context(), db.engine.connect() as conn:
        tables = set(db.inspect(conn).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_secrets_are_generated_into_the_instance_folder(tmp_path, monkeypatch):
    from propadmin import create_app

    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path))
    for var in (
        "PROPADMIN_SECRET_KEY",
        "PROPADMIN_FIELD_ENCRYPTION_KEYS",
        "PROPADMIN_BLIND_INDEX_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert first.secret_key == second.secret_key == stored["SECRET_KEY"]
    assert len(stored["FIELD_ENCRYPTION_KEYS"]) == 1


def test_environment_overrides_use_the_propadmin_prefix(tmp_path, monkeypatch):
    from propadmin import create_app

    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PROPADMIN_BASE_URL", "https://wuye.example.cn")
    monkeypatch.setenv("PROPADMIN_MAIL_PORT", "2525")
    monkeypatch.setenv("PROPADMIN_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/x.db")
    app = create_app()
    assert app.config["BASE_URL"] == "https://wuye.example.cn"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/x.db")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_behind_a_proxy_the_client_address_is_used(tmp_path, monkeypatch):
    from flask import request

    from propadmin import create_app

    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXY_FIX_X_FOR": 1})
    seen = []
    app.add_url_rule("/whoami", "whoami", lambda: seen.append(request.remote_addr) or "ok")
    app.view_functions["whoami"].is_public = True
    app.test_client().get(
        "/whoami",
        headers={"X-Forwarded-For": "198.51.100.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert seen == ["198.51.100.7"]


@pytest.mark.committed
def test_upgrading_an_existing_sqlite_install_keeps_roles_and_grants(tmp_path, monkeypatch):
    """Batch migrations rebuild tables on SQLite; with foreign keys on, dropping the old
    role table used to cascade and unassign every role (nobody could sign in to admin)."""
    import sqlite3

    from flask_migrate import upgrade

    from propadmin import create_app

    from .conftest import _config

    path = tmp_path / "old.db"
    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_config(f"sqlite:///{path}", tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="0001_initial")
        db.engine.dispose()
    with sqlite3.connect(path) as con:
        con.executescript(
            """
            insert into role(id, name, label, description, builtin)
              values (1, 'admin', 'a', '', 1);
            insert into role_permission(role_id, permission) values (1, 'users.edit');
            insert into user(id, username, email, display_name, password_hash,
              password_changed_at, session_token, active, is_superuser, created_at)
              values (1, 'boss', 'b@x.cn', '', '!', '2026-01-01', 't', 1, 0, '2026-01-01');
            insert into user_role values (1, 1);
            """
        )
    with app.app_context():
        upgrade()
        db.engine.dispose()
    with sqlite3.connect(path) as con:
        assert con.execute("select role_id from user_role where user_id = 1").fetchall() == [(1,)]
        grants = {p for (p,) in con.execute("select permission from role_permission")}
        assert {"users.edit", "residents.export"} <= grants
        assert con.execute("pragma foreign_key_check").fetchall() == []
