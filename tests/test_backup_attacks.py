"""`flask backup restore` given a file built by someone else: a payload named to land
outside the restore folder, a payload that is not a database, a file not made by this
installation (a trigger or an SQL function smuggled into the dump), a payload that
inflates far beyond what the manifest declares, a disk too small for it — each refused
before anything is written or run. And ``--force`` leaves nothing of the old database
behind (functions, types, triggers), the schema's owner and grants as they were."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from .backup_kit import forged, manifest_of, table_count

pytestmark = pytest.mark.committed
KEY = "test-blind-index-key"  # the test installations' BLIND_INDEX_KEY (conftest)


def _backup(app, target: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", "create", str(target)])
    assert result.exit_code == 0, result.output
    return target


def _restore(app, path, *extra):
    return app.test_cli_runner().invoke(args=["backup", "restore", str(path), *extra])


def _refused(result) -> str:
    """The command failed with a message (a ClickException), not a traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    return " ".join(result.output.split())  # click wraps nothing, but be safe


def _scratch(app, backend) -> Path:
    """Where restore extracts to: beside the SQLite file, or the system temp folder."""
    if backend == "sqlite":
        return Path(sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database).parent
    return Path(tempfile.gettempdir())


@pytest.mark.parametrize("where", ["absolute", "parent"])
def test_a_payload_named_outside_the_restore_folder_writes_nothing(
    app, backend, tmp_path, target_app, where
):
    good = _backup(app, tmp_path / "good.zip")
    target = target_app()
    escaped = f"escaped-{uuid.uuid4().hex}.txt"
    if where == "absolute":
        landing = tmp_path / escaped
        name = str(landing)
    else:
        landing = _scratch(target, backend) / escaped
        name = f"../{escaped}"
    evil = forged(good, tmp_path / "evil.zip", name=name, payload=lambda b: b"pwned\n", key=KEY)
    said = _refused(_restore(target, evil))
    assert not landing.exists(), f"restore wrote {landing}"
    assert f"{evil} is not a PropAdmin backup: it holds {name!r}" in said
    assert table_count(target) == 0


def test_a_payload_that_is_not_a_database_is_refused_plainly(app, backend, tmp_path, target_app):
    good = _backup(app, tmp_path / "good.zip")
    junk = forged(good, tmp_path / "junk.zip", payload=lambda b: b"not a database " * 99, key=KEY)
    target = target_app()
    said = _refused(_restore(target, junk))
    kind = "an SQLite database" if backend == "sqlite" else "a PostgreSQL dump"
    assert f"{junk} is damaged or not a PropAdmin backup: its payload is not {kind}" in said
    assert table_count(target) == 0


def _smuggle(backend):
    """The payload changed as an attacker would: a trigger that makes users superusers
    (SQLite), or bytes after the dump (PostgreSQL: anything pg_restore would run)."""
    if backend != "sqlite":
        return lambda b: b + b"\0" * 64

    def add_trigger(data: bytes) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "p.sqlite"
            path.write_bytes(data)
            conn = sqlite3.connect(path)
            conn.executescript(
                'CREATE TRIGGER promote AFTER UPDATE OF last_login_at ON "user" BEGIN '
                'UPDATE "user" SET is_superuser = 1 WHERE id = NEW.id; END;'
            )
            conn.close()
            return path.read_bytes()

    return add_trigger


def test_a_changed_payload_or_another_installations_backup_is_refused_before_loading(
    app, backend, tmp_path, target_app
):
    good = _backup(app, tmp_path / "good.zip")
    fingerprint = manifest_of(good)["keys"]["blind_index"]
    smuggled = forged(good, tmp_path / "smuggled.zip", payload=_smuggle(backend))
    target = target_app()
    said = _refused(_restore(target, smuggled))
    assert f"{smuggled} was not made by this installation" in said
    assert "made by another installation or with other keys, or altered since" in said
    assert "instance/secrets.json or PROPADMIN_BLIND_INDEX_KEY" in said
    assert f"blind-index key fingerprint {fingerprint}" in said
    assert table_count(target) == 0

    # A genuine backup of an installation with another blind-index key: refused up front.
    theirs = target_app(migrated=True, BLIND_INDEX_KEY="their-blind-index-key")
    their_file = _backup(theirs, tmp_path / "theirs.zip")
    said = _refused(_restore(target, their_file))
    assert f"{their_file} was not made by this installation" in said
    assert manifest_of(their_file)["keys"]["blind_index"] in said
    assert table_count(target) == 0


def test_a_signed_sqlite_payload_with_a_trigger_or_view_is_refused(
    app, backend, tmp_path, target_app
):
    """Defense in depth: even signed (someone holding the key), an SQLite payload with
    triggers, views or tables PropAdmin's schema does not have is not loaded. (On
    PostgreSQL the signature is the defense: the test above.)"""
    if backend != "sqlite":
        pytest.skip("SQLite payloads only: a PostgreSQL dump's content is checked by signature")
    good = _backup(app, tmp_path / "good.zip")
    evil = forged(good, tmp_path / "evil.zip", payload=_smuggle(backend), key=KEY)
    target = target_app()
    said = _refused(_restore(target, evil))
    assert "trigger promote" in said and "not in PropAdmin's schema" in said
    assert table_count(target) == 0


def test_a_payload_larger_than_declared_stops_at_the_declared_size(app, tmp_path, target_app):
    good = _backup(app, tmp_path / "good.zip")
    bomb = forged(
        good,
        tmp_path / "bomb.zip",
        payload=lambda b: b"\0" * (32 << 20),
        manifest=lambda m: m["payload"].update(size=1000),
        key=KEY,
    )
    assert bomb.stat().st_size < 1 << 20
    target = target_app()
    said = _refused(_restore(target, bomb))
    assert f"{bomb} is damaged: its payload is larger than the 1000 bytes" in said
    assert table_count(target) == 0


def test_too_little_free_disk_space_is_refused_before_extracting(
    app, tmp_path, target_app, monkeypatch
):
    good = _backup(app, tmp_path / "good.zip")
    size = manifest_of(good)["payload"]["size"]
    target = target_app()
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=size // 2))
    said = _refused(_restore(target, good))
    assert f"Restoring {good} needs {size / 1e6:.1f} MB free" in said
    assert table_count(target) == 0


def _leave_leftovers(app, backend) -> None:
    from propadmin.extensions import db

    statements = (
        [
            "CREATE VIEW leftover_view AS SELECT 1 AS one",
            "CREATE TRIGGER leftover_trigger AFTER INSERT ON estate BEGIN SELECT 1; END",
        ]
        if backend == "sqlite"
        else [
            "CREATE FUNCTION leftover_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE TYPE leftover_mood AS ENUM ('ok')",
            "CREATE VIEW leftover_view AS SELECT 1 AS one",
        ]
    )
    with app.app_context(), db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def _objects(app, backend) -> set[str]:
    from propadmin.extensions import db

    query = (
        "SELECT type || ' ' || name FROM sqlite_master WHERE type IN ('view', 'trigger')"
        if backend == "sqlite"
        else "SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = "
        "current_schema()::regnamespace UNION SELECT 'type ' || typname FROM pg_type "
        "WHERE typnamespace = current_schema()::regnamespace AND typtype = 'e' UNION "
        "SELECT 'schema ' || nspowner::regrole || ' ' || coalesce(nspacl::text, '') "
        "FROM pg_namespace WHERE nspname = current_schema()"
    )
    with app.app_context(), db.engine.connect() as conn:
        return set(conn.scalars(sa.text(query)))


def test_force_leaves_nothing_of_the_old_database_behind(app, demo, backend, runner, tmp_path):
    good = _backup(app, tmp_path / "good.zip")
    before = _objects(app, backend)
    _leave_leftovers(app, backend)
    assert _objects(app, backend) != before
    for attempt in range(2):  # a second restore over the first one works too
        result = _restore(app, good, "--force")
        assert result.exit_code == 0, result.output
        assert "every row count and checksum matches" in result.output
        assert _objects(app, backend) == before, attempt


def test_a_failed_load_with_force_leaves_the_postgresql_database_as_it_was(pg_demo, tmp_path):
    """The schema is dropped in the load's transaction: a load that fails half-way (here a
    pg_restore that emits a table and then an error) leaves every table, row and grant."""
    import shutil

    from .backup_kit import row_counts
    from .conftest import _make_app

    app = _make_app(pg_demo, tmp_path / "instance")
    good = _backup(app, tmp_path / "good.zip")
    before = row_counts(app), _objects(app, "postgresql")
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("psql", "pg_dump"):
        (tools / name).symlink_to(shutil.which(name))
    fake = tools / "pg_restore"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "pg_restore (PostgreSQL) 99.0"; exit 0; fi\n'
        "echo 'CREATE TABLE half_loaded (id int);'\necho 'SELECT 1/0;'\n"
    )
    fake.chmod(0o755)
    failing = _make_app(pg_demo, tmp_path / "instance-2", BACKUP_PG_BIN_DIR=str(tools))
    said = _refused(_restore(failing, good, "--force"))
    assert "division by zero" in said and "the database was left as it was" in said
    assert (row_counts(app), _objects(app, "postgresql")) == before


def test_an_oversized_manifest_or_a_doubled_member_is_refused(app, tmp_path, target_app):
    import json
    import warnings
    import zipfile

    good = _backup(app, tmp_path / "good.zip")
    manifest = manifest_of(good)
    with zipfile.ZipFile(good) as archive:
        payload_name = manifest["payload"]["name"]
        payload = archive.read(payload_name)
    padded = json.dumps(manifest) + " " * 20_000_000  # valid JSON, 20 MB
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(payload_name, payload)
        archive.writestr("manifest.json", padded)
    doubled = tmp_path / "doubled.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(doubled, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        archive.writestr(payload_name, payload)
        archive.writestr(payload_name, b"another payload")
        archive.writestr("manifest.json", json.dumps(manifest))
    target = target_app()
    said = _refused(_restore(target, big))
    assert f"{big} is damaged or not a PropAdmin backup: its manifest is 20.0 MB" in said
    said = _refused(_restore(target, doubled))
    assert f"{doubled} is not a PropAdmin backup: it holds {payload_name!r} twice" in said
    assert table_count(target) == 0
