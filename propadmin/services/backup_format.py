"""The backup file: a ZIP64 archive with two members.

``database.sqlite`` (SQLite, deflated) or ``database.pgdump`` (PostgreSQL, ``pg_dump
--format=custom``, stored) is the payload; ``manifest.json``, written after it, says what
it is::

    {"format": "propadmin-backup", "format_version": 1,
     "created_at": "2026-11-29T02:00:00Z", "propadmin_version": "0.1.0",
     "backend": "sqlite" | "postgresql", "server_version": "3.40.1",
     "schema_revision": "0008_notices",
     "payload": {"name": "database.sqlite", "size": 123456, "sha256": "..."},
     "tables": {"estate": {"rows": 1, "checksum": "..."}, ...},
     "keys": {"field_encryption": ["<fingerprint>", ...], "blind_index": "<fingerprint>"},
     "signature": "<hex>"}

Counts and checksums are taken from the same snapshot as the payload (see
backup_tables.py); key fingerprints never reveal the keys (see backup_keys.py).

The signature is HMAC-SHA256 of the manifest without it (compact JSON, sorted keys),
keyed with a key derived from the installation's blind-index key (backup_keys.py). As
the manifest holds the payload's SHA-256, it vouches for the whole file: only an
installation holding that key can make a file restore accepts. Nothing else may be in
the archive, and the payload's member name is fixed per backend.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

FORMAT = "propadmin-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOADS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
# Scheduled backups in a directory: propadmin-backup-20261129T020000Z.zip (-2, -3... when
# two are made within one second).
NAME_RE = re.compile(r"^propadmin-backup-(\d{8}T\d{6}Z)(?:-\d+)?\.zip$")
_CHUNK = 1024 * 1024
_MANIFEST_LIMIT = 4_000_000  # bytes; a manifest of 44 tables is about 6 kB
_REQUIRED = ("created_at", "propadmin_version", "schema_revision", "tables", "keys")


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why, naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def timestamped_name(when: datetime, serial: int = 1) -> str:
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"propadmin-backup-{stamp}{'' if serial == 1 else f'-{serial}'}.zip"


def name_time(name: str) -> datetime | None:
    """The time in a scheduled backup's file name; None when the name is not ours."""
    match = NAME_RE.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def copy_hashing(source: IO[bytes], target: IO[bytes], limit: int | None = None) -> tuple[int, str]:
    """Copy in chunks (bounded memory); return the size and SHA-256 of what was copied.
    With ``limit``, stop after ``limit + 1`` bytes (the caller refuses a size > limit)."""
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(_CHUNK if limit is None else min(_CHUNK, limit + 1 - size)):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def signature(manifest: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 of the manifest without its signature, as compact JSON, sorted keys."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def signed_by(manifest: dict[str, Any], key: bytes) -> bool:
    found = manifest.get("signature")
    return isinstance(found, str) and hmac.compare_digest(found, signature(manifest, key))


class BackupWriter:
    """Writes the archive: ``payload()`` gives a file to stream the payload into, then
    ``finish(manifest)`` adds the manifest with the payload's size and checksum."""

    def __init__(self, path: Path, backend: str) -> None:
        self.backend = backend
        self.zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self.size = 0
        self.sha256 = ""

    def add_payload(self, source: IO[bytes]) -> None:
        compress = zipfile.ZIP_DEFLATED if self.backend == "sqlite" else zipfile.ZIP_STORED
        info = zipfile.ZipInfo(PAYLOADS[self.backend], date_time=_zip_time())
        info.compress_type = compress
        with self.zip.open(info, "w", force_zip64=True) as target:
            self.size, self.sha256 = copy_hashing(source, target)

    def finish(self, manifest: dict[str, Any], key: bytes) -> dict[str, Any]:
        """Add the manifest, signed with ``key``; return it."""
        manifest = {
            **manifest,
            "payload": {
                "name": PAYLOADS[self.backend],
                "size": self.size,
                "sha256": self.sha256,
            },
        }
        manifest["signature"] = signature(manifest, key)
        info = zipfile.ZipInfo(MANIFEST, date_time=_zip_time())
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, json.dumps(manifest, indent=2, ensure_ascii=False))
        self.zip.close()
        return manifest

    def abort(self) -> None:
        self.zip.close()


def _zip_time() -> tuple[int, ...]:
    return datetime.now(UTC).timetuple()[:6]


@dataclass
class Backup:
    """An opened backup file whose manifest was read; the payload is not yet checked."""

    path: Path
    manifest: dict[str, Any]

    @property
    def backend(self) -> str:
        return self.manifest["backend"]

    @property
    def revision(self) -> str | None:
        return self.manifest.get("schema_revision")

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return self.manifest["tables"]

    def extract_payload(self, target: Path) -> None:
        """Write the payload to ``target`` (a new file in a private folder), checking its
        size and SHA-256 on the way; never more than the manifest's size, and only when
        the disk has room for it. Raises BackupError naming the file when it is damaged."""
        expected = self.manifest["payload"]
        free = shutil.disk_usage(target.parent).free
        if free < expected["size"]:
            raise BackupError(
                f"Restoring {self.path} needs {expected['size'] / 1e6:.1f} MB free in "
                f"{target.parent}; it has {free / 1e6:.1f} MB. Nothing was changed."
            )
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(PAYLOADS[self.backend]) as src:
                with target.open("xb") as out:
                    size, sha256 = copy_hashing(src, out, limit=expected["size"])
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError) as exc:
            raise BackupError(
                f"{self.path} is damaged: its payload cannot be read ({exc})."
            ) from None
        if size > expected["size"]:
            raise BackupError(
                f"{self.path} is damaged: its payload is larger than the {expected['size']} "
                "bytes its manifest declares; extraction stopped there. Nothing was changed."
            )
        if (size, sha256) != (expected["size"], expected["sha256"]):
            raise BackupError(
                f"{self.path} is damaged: the payload's checksum does not match the one "
                "recorded when the backup was made."
            )


def open_backup(path: Path) -> Backup:
    """Open a backup file and read its manifest. Raises BackupError naming the file when
    it is missing, not a PropAdmin backup, truncated or damaged."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            _refuse_odd_members(path, archive.infolist())
            if MANIFEST not in names:
                raise BackupError(f"{path} is not a PropAdmin backup (it has no manifest).")
            with archive.open(MANIFEST) as member:
                text = member.read(_MANIFEST_LIMIT + 1)
            if len(text) > _MANIFEST_LIMIT:
                size = max(len(text), archive.getinfo(MANIFEST).file_size)
                raise BackupError(
                    f"{path} is damaged or not a PropAdmin backup: its manifest is "
                    f"{size / 1e6:.1f} MB; a manifest is at most {_MANIFEST_LIMIT / 1e6:.0f} MB."
                )
            manifest = json.loads(text)
    except zipfile.BadZipFile:
        raise BackupError(
            f"{path} is damaged or not a PropAdmin backup: it is not a complete zip archive "
            "(a truncated copy looks like this)."
        ) from None
    except (zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        raise BackupError(f"{path} is damaged: its manifest cannot be read ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a PropAdmin backup (its manifest is not ours).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} has backup format version {manifest.get('format_version')!r}; this "
            f"PropAdmin reads version {FORMAT_VERSION}: it was made by a newer PropAdmin; "
            "upgrade first."
        )
    payload = manifest.get("payload") or {}
    backend = manifest.get("backend")
    if (
        backend not in PAYLOADS
        or payload.get("name") != PAYLOADS[backend]
        or payload["name"] not in names
        or names != {MANIFEST, payload["name"]}
        or not isinstance(payload.get("size"), int)
        or payload["size"] < 0
    ):
        raise BackupError(f"{path} is damaged: its manifest names no payload it holds.")
    missing = [key for key in _REQUIRED if key not in manifest]
    tables = manifest.get("tables")
    if (
        missing
        or not isinstance(tables, dict)
        or not all(
            isinstance(t, dict) and {"rows", "checksum"} <= t.keys() for t in tables.values()
        )
    ):
        raise BackupError(f"{path} is damaged: its manifest is incomplete ({missing or 'tables'}).")
    return Backup(path, manifest)


def _refuse_odd_members(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Only our fixed names, as regular files: no other path, folder or symbolic link."""
    allowed, seen = {MANIFEST, *PAYLOADS.values()}, set()
    for info in members:
        if info.filename in seen:
            raise BackupError(
                f"{path} is not a PropAdmin backup: it holds {info.filename!r} twice. "
                "Nothing was changed."
            )
        seen.add(info.filename)
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0: not recorded (a plain file)
        if info.filename not in allowed or kind not in (0, stat.S_IFREG):
            raise BackupError(
                f"{path} is not a PropAdmin backup: it holds {info.filename!r}, and a backup "
                f"holds only {MANIFEST} and {' or '.join(PAYLOADS.values())} as plain files. "
                "Nothing was changed."
            )


def is_our_backup(path: Path) -> bool:
    """Whether ``path`` is a readable PropAdmin backup (pruning touches nothing else)."""
    try:
        open_backup(path)
    except BackupError:
        return False
    return True
