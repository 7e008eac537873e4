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
