"""`flask backup create` / `flask backup restore`, on SQLite and PostgreSQL: a backup taken
while residents are being registered restores, into a new database, exactly what its
manifest says, as one consistent moment, with the ID-card and mobile numbers readable; a
damaged, newer-schema or other-backend file and a non-empty target are refused without
changing anything; keys that cannot read the data are named plainly (a backup signed with another
blind-index key is refused before loading)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from models import Estate, Resident
from propadmin.services.backup_format import PAYLOADS
from propadmin.services.backup_tables import table_sums

from .backup_kit import altered, forged, manifest_of, row_counts, table_count
from .factories import resident_id_number, resident_mobile

KEY = "test-blind-index-key"  # the test installations' BLIND_INDEX_KEY (conftest)
pytestmark = pytest.mark.committed
WRITER = "写入者"


class Writer(threading.Thread):
    """Registers residents one commit at a time, in a session of its own, until stopped
    (at most ``limit`` of them); ``written`` is what it committed, in order."""

    def __init__(self, app, estate_id: int, limit: int = 2000) -> None:
        super().__init__(daemon=True)
        self.app, self.estate_id, self.limit = app, estate_id, limit
        self.stop = threading.Event()
        self.written: list[tuple[str, str, str]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        from propadmin.extensions import db
        from propadmin.services.residents import ResidentDetails, save_resident

        try:
            with self.app.app_context(), sa.orm.Session(db.engine) as session:
                session.info["actor_name"] = "writer"
                estate = session.get(Estate, self.estate_id)
                for i in range(self.limit):
                    if self.stop.is_set():
                        return
                    row = (f"{WRITER}{i:04d}", resident_id_number(), resident_mobile())
                    details = ResidentDetails(name=row[0], id_number=row[1], mobile=row[2])
                    save_resident(session, Resident(estate=estate), details)
                    session.commit()
                    self.written.append(row)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.written) < count and time.monotonic() < deadline and not self.error:
            time.sleep(0.01)
        assert len(self.written) >= count, f"the writer stalled: {self.error!r}"


def _backup(runner, target) -> str:
    result = runner.invoke(args=["backup", "create", str(target)])
    assert result.exit_code == 0, result.output
    return result.output


def _restore(app, path, *extra):
    return app.test_cli_runner().invoke(args=["backup", "restore", str(path), *extra])


def test_a_backup_under_write_load_restores_that_moment_into_a_new_database(
    app, demo, runner, tmp_path, target_app
):
    writer = Writer(app, demo)
    writer.start()
    try:
        writer.wait_for(5)
        before = len(writer.written)
        _backup(runner, tmp_path / "live.zip")
        during = len(writer.written) - before
        writer.wait_for(len(writer.written) + 5)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert during > 0, "the writer committed nothing while the backup ran"

    manifest = manifest_of(tmp_path / "live.zip")
    restored_app = target_app()  # a database without any table
    result = _restore(restored_app, tmp_path / "live.zip")
    assert result.exit_code == 0, result.output
    assert "every row count and checksum matches" in result.output

    counts = row_counts(restored_app)
    assert counts == {name: t["rows"] for name, t in manifest["tables"].items()}
    from propadmin.extensions import db

    with restored_app.app_context(), db.engine.connect() as conn:
        sums = {name: s.as_dict() for name, s in table_sums(conn).items()}
    assert sums == manifest["tables"]

    # One moment: the writer's residents up to some point, none missing before it.
    with restored_app.app_context():
        people = db.session.execute(
            select(Resident.name, Resident.id_number, Resident.mobile)
            .where(Resident.name.startswith(WRITER))
            .order_by(Resident.name)
        ).all()
    kept = len(people)
    assert 0 < kept < len(writer.written)
    assert [tuple(p) for p in people] == writer.written[:kept]  # decrypted, and the same
    assert "decrypt with the keys here" in result.output


def test_restore_into_a_migrated_empty_database(app, demo, runner, tmp_path, target_app):
    _backup(runner, tmp_path / "demo.zip")
    restored_app = target_app(migrated=True)
    result = _restore(restored_app, tmp_path / "demo.zip")
    assert result.exit_code == 0, result.output
    assert row_counts(restored_app) == row_counts(app)


@pytest.mark.parametrize(
    "damage, said",
    [
        (lambda b: b[: len(b) // 2], "not a complete zip archive"),
        (lambda b: b[:2000] + bytes([b[2000] ^ 0xFF]) + b[2001:], "damaged"),
        (lambda b: b"PRAGMA nothing; -- a text file, not a backup\n", "not a complete zip"),
    ],
    ids=["truncated", "flipped-byte", "not-a-backup"],
)
def test_a_damaged_file_is_refused_and_nothing_changes(
    app, runner, tmp_path, target_app, damage, said
):
    good = tmp_path / "good.zip"
    _backup(runner, good)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(damage(good.read_bytes()))
    target = target_app()
    result = _restore(target, bad)
    assert result.exit_code != 0
    assert str(bad) in result.output and said in result.output
    assert table_count(target) == 0


def test_a_payload_whose_checksum_does_not_match_is_refused(app, runner, tmp_path, target_app):
    _backup(runner, tmp_path / "good.zip")
    bad = altered(
        tmp_path / "good.zip", tmp_path / "bad.zip", payload=lambda b: b[:-1] + bytes([b[-1] ^ 1])
    )
    target = target_app()
    result = _restore(target, bad)
    assert result.exit_code != 0
    assert "the payload's checksum does not match" in result.output
    assert table_count(target) == 0


def test_a_backup_from_a_newer_schema_is_refused(app, runner, tmp_path, target_app):
    _backup(runner, tmp_path / "good.zip")
    newer = altered(
        tmp_path / "good.zip",
        tmp_path / "newer.zip",
        manifest=lambda m: m.update(schema_revision="0042_from_the_future"),
        key=KEY,  # signed as this installation would: the schema check is what refuses
    )
    target = target_app()
    result = _restore(target, newer)
    assert result.exit_code != 0
    assert "0042_from_the_future" in result.output
    assert "made by a newer PropAdmin; upgrade first" in result.output
    assert table_count(target) == 0


def test_a_backup_of_the_other_backend_is_refused(app, backend, runner, tmp_path, target_app):
    _backup(runner, tmp_path / "good.zip")
    other = "postgresql" if backend == "sqlite" else "sqlite"
    # As a signed backup of the other backend looks: its payload under that one's name.
    foreign = forged(
        tmp_path / "good.zip",
        tmp_path / "foreign.zip",
        name=PAYLOADS[other],
        manifest=lambda m: m.update(backend=other),
        key=KEY,
    )
    target = target_app()
    result = _restore(target, foreign)
    assert result.exit_code != 0
    assert f"was made from a {other} database" in result.output
    assert table_count(target) == 0


def test_a_database_with_data_is_replaced_only_with_force(app, make, db_session, runner, tmp_path):
    kept = make.resident(name="备份前住户")
    _backup(runner, tmp_path / "before.zip")
    make.resident(estate=kept.estate, name="备份后住户")

    refused = runner.invoke(args=["backup", "restore", str(tmp_path / "before.zip")])
    assert refused.exit_code != 0
    assert "already holds data" in refused.output and "--force" in refused.output
    names = lambda: set(db_session.scalars(select(Resident.name)))  # noqa: E731
    db_session.expire_all()
    assert names() == {"备份前住户", "备份后住户"}
    db_session.rollback()  # hold no lock on the tables the restore replaces

    forced = runner.invoke(args=["backup", "restore", str(tmp_path / "before.zip"), "--force"])
    assert forced.exit_code == 0, forced.output
    assert names() == {"备份前住户"}


def test_keys_that_cannot_read_the_data_are_named_plainly(app, make, runner, tmp_path, target_app):
    from cryptography.fernet import Fernet

    make.resident(name="加密住户")
    _backup(runner, tmp_path / "keys.zip")
    stranger = target_app(migrated=True, FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()])
    result = _restore(stranger, tmp_path / "keys.zip")
    assert result.exit_code != 0
    assert "The field-encryption keys configured here cannot read 2 of 2 encrypted values" in (
        result.output
    )
    assert "instance/secrets.json or PROPADMIN_FIELD_ENCRYPTION_KEYS" in result.output
    assert "every row count and checksum matches" in result.output  # the data is back

    # Another blind-index key: the backup's signature does not match, so it is refused
    # before anything is loaded (test_backup_attacks.py has the whole message).
    other_index = target_app(BLIND_INDEX_KEY="another-blind-index-key")
    result = _restore(other_index, tmp_path / "keys.zip")
    assert result.exit_code != 0
    assert "was not made by this installation" in result.output
    assert "PROPADMIN_BLIND_INDEX_KEY" in result.output
    assert table_count(other_index) == 0


def test_a_backup_of_an_older_schema_says_to_upgrade(app, runner, tmp_path, target_app):
    _backup(runner, tmp_path / "good.zip")
    older = altered(
        tmp_path / "good.zip",
        tmp_path / "older.zip",
        manifest=lambda m: m.update(schema_revision="0007_repairs"),
        key=KEY,
    )
    result = _restore(target_app(), older)
    assert result.exit_code == 0, result.output
    assert "is older than this PropAdmin's" in result.output
    assert "flask --app app db upgrade" in result.output


def test_the_database_password_is_never_on_a_command_line(pg_demo, tmp_path, monkeypatch):
    """pg_dump, pg_restore and psql get the password in PGPASSWORD (the test server trusts
    loopback, so any password connects), never in their arguments or in what is printed."""
    import subprocess

    from propadmin.services import backup_engines

    from .conftest import _make_app

    password = "Pa55-in-the-url"
    url = sa.engine.make_url(pg_demo).set(password=password).render_as_string(False)
    launched = []

    class Recorded(subprocess.Popen):
        def __init__(self, args, **kwargs):
            launched.append((args, kwargs.get("env") or {}))
            super().__init__(args, **kwargs)

    monkeypatch.setattr(backup_engines.subprocess, "Popen", Recorded)
    app = _make_app(url, tmp_path / "instance")
    runner = app.test_cli_runner()
    made = runner.invoke(args=["backup", "create", str(tmp_path / "pw.zip")])
    restored = runner.invoke(args=["backup", "restore", str(tmp_path / "pw.zip"), "--force"])
    assert made.exit_code == 0 and restored.exit_code == 0, made.output + restored.output
    tools = {Path(args[0]).name for args, env in launched}
    assert {"pg_dump", "pg_restore", "psql"} <= tools
    for args, env in launched:
        assert not any(password in str(arg) for arg in args), args
        assert "--version" in args or env.get("PGPASSWORD") == password
    assert password not in made.output + restored.output
    assert password not in (tmp_path / "pw.zip").read_bytes().decode("latin-1")
