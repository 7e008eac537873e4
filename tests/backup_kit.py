"""What the backup tests share: a second database to restore into (no tables, or only
migrated), a hand-altered copy of a backup file, and table counts read with plain SQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa


@pytest.fixture
def target_app(_databases, backend, tmp_path):
    """``target_app(migrated=False, **config)`` → an app on a database of its own (the
    same backend as the test's): without tables, or migrated and empty; with the test
    keys unless ``config`` says otherwise. Dropped at the end."""
    from propadmin.extensions import db

    from .conftest import _copy_database, _create_pg_database, _drop_pg_database, _make_app

    made = []

    def _target(migrated: bool = False, **config):
        folder = tmp_path / f"target-{len(made)}"
        folder.mkdir()
        if migrated:
            url = _copy_database(_databases.empty, folder)
        elif backend == "sqlite":
            url = f"sqlite:///{folder / 'restored.db'}"
        else:
            url = _create_pg_database()
        app = _make_app(url, folder / "instance", **config)
        made.append((app, url))
        return app

    yield _target
    for app, url in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if not url.startswith("sqlite"):
            _drop_pg_database(url)


def sign(manifest: dict, blind_index_key: str) -> None:
    """Sign ``manifest`` as an installation with ``blind_index_key`` does (written from the
    README's description, not from the code): HMAC-SHA256 keyed with
    HMAC-SHA256(blind_index_key, "propadmin-backup-signature-v1") over the manifest
    without its signature as compact JSON with sorted keys."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = hmac.new(blind_index_key.encode(), b"propadmin-backup-signature-v1", "sha256").digest()
    manifest["signature"] = hmac.new(key, canonical.encode(), "sha256").hexdigest()


def forged(source: Path, target: Path, *, payload=None, name=None, manifest=None, key=None):
    """What an attacker builds from a real backup: the payload changed by
    ``payload(bytes) -> bytes`` under member ``name`` (default: the same), the manifest
    made to match it (size, SHA-256), then changed by ``manifest(dict)``, and signed with
    ``key`` (a blind-index key) when given, else left with the original's signature."""
    manifest_in = manifest_of(source)
    original = manifest_in["payload"]["name"]
    with zipfile.ZipFile(source) as old:
        data = old.read(original)
    data = payload(data) if payload else data
    manifest_in["payload"] = {
        "name": name or original,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if manifest:
        manifest(manifest_in)
    if key:
        sign(manifest_in, key)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        new.writestr(zipfile.ZipInfo(name or original), data, zipfile.ZIP_DEFLATED)
        new.writestr("manifest.json", json.dumps(manifest_in))
    return target


def altered(source: Path, target: Path, *, manifest=None, payload=None, key=None) -> Path:
    """A well-formed zip like ``source`` with its manifest changed by ``manifest(dict)``
    (then signed again with the blind-index ``key`` when given) and/or its payload bytes
    by ``payload(bytes) -> bytes`` — what a checksum or a field check has to catch, not
    the zip's own CRC."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "manifest.json" and manifest:
                changed = json.loads(data)
                manifest(changed)
                if key:
                    sign(changed, key)
                data = json.dumps(changed).encode()
            elif info.filename != "manifest.json" and payload:
                data = payload(data)
            new.writestr(info, data)
    return target


def manifest_of(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def row_counts(app) -> dict[str, int]:
    """``{table: rows}`` of every table, counted with plain SQL."""
    from propadmin.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {
            name: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
            for name in names
        }


def table_count(app) -> int:
    from propadmin.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        return len(sa.inspect(conn).get_table_names())
