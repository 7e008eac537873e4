"""``flask backup create FILE|DIR`` and ``flask backup restore FILE`` (see services/backup.py)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from .extensions import db
from .services.backup import Feedback, Restored, create_backup, restore_backup
from .services.backup_engines import backup_lock
from .services.backup_format import BackupError
from .services.backup_keys import configured_keys, key_fingerprints, signing_key
from .services.backup_retention import prune

backup_cli = AppGroup("backup", help="Back up the database, and restore it from a backup.")


class _Printed(Feedback):
    """Steps and progress bars on stderr (stdout keeps the results, for cron mail)."""

    def say(self, message: str) -> None:
        click.echo(message, err=True)

    @contextmanager
    def progress(self, label: str, total: int):
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            yield bar.update


def _keys() -> dict:
    return key_fingerprints(*configured_keys(current_app.config))


def _signing_key() -> bytes:
    return signing_key(configured_keys(current_app.config)[1])


@backup_cli.command("create")
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--keep-daily",
    type=click.IntRange(min=0),
    help="DIR only: keep the newest backup of each of the last N days that have one.",
)
@click.option(
    "--keep-weekly",
    type=click.IntRange(min=0),
    help="DIR only: keep the newest backup of each of the last N ISO weeks that have one.",
)
def backup_create(target: Path, keep_daily: int | None, keep_weekly: int | None) -> None:
    """Back up the database to TARGET: a new file, or a directory to put a timestamped
    propadmin-backup-….zip in (then --keep-daily/--keep-weekly prune older ones there).
    The app may stay in use meanwhile. The encryption keys are not in the backup."""
    pruning = keep_daily is not None or keep_weekly is not None
    if pruning and not target.is_dir():
        raise click.ClickException(
            f"--keep-daily/--keep-weekly prune a directory of backups; {target} is not a directory."
        )
    try:
        _create(target, keep_daily, keep_weekly, pruning)
    except BackupError as exc:
        raise click.ClickException(exc.message) from None
    except sa.exc.OperationalError as exc:
        raise click.ClickException(f"The database did not answer: {exc.orig}") from None


def _create(target: Path, keep_daily: int | None, keep_weekly: int | None, pruning: bool) -> None:
    with backup_lock(db.engine) as locked:
        if not locked:
            message = "Another backup of this database is running; not starting a second one."
            if target.is_dir():
                click.echo(message)  # the scheduled run on the other host does the work
                return
            raise BackupError(f"{message} {target} was not written.")
        path, manifest = create_backup(
            db.engine,
            target,
            keys=_keys(),
            signing_key=_signing_key(),
            pg_bin_dir=current_app.config.get("BACKUP_PG_BIN_DIR"),
            feedback=_Printed(),
        )
        rows = sum(t["rows"] for t in manifest["tables"].values())
        click.echo(
            f"Backup written: {path} (schema {manifest['schema_revision']}, "
            f"{len(manifest['tables'])} tables, {rows} rows)."
        )
        if pruning:
            kept, deleted = prune(target, keep_daily or 0, keep_weekly or 0)
            for old in deleted:
                click.echo(f"Deleted old backup {old.name}", err=True)
            click.echo(f"Retention: kept {len(kept)} backup(s), deleted {len(deleted)}.")


@backup_cli.command("restore")
@click.argument("backup_file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that holds data.")
def backup_restore(backup_file: Path, force: bool) -> None:
    """Restore the database from BACKUP_FILE into the configured database, which must
    be empty (new, or only migrated) unless --force. The field-encryption keys are
    not in the backup: configure the ones the backup was made with first."""
    crypto = current_app.extensions["propadmin.crypto"]
    db.session.remove()
    try:
        restored = restore_backup(
            db.engine,
            backup_file,
            migrations=current_app.extensions["migrate"].directory,
            crypto=crypto,
            keys=_keys(),
            signing_key=_signing_key(),
            force=force,
            pg_bin_dir=current_app.config.get("BACKUP_PG_BIN_DIR"),
            feedback=_Printed(),
        )
    except BackupError as exc:
        raise click.ClickException(exc.message) from None
    except sa.exc.OperationalError as exc:
        raise click.ClickException(f"The database did not answer: {exc.orig}") from None
    _report(restored)


def _report(restored: Restored) -> None:
    click.echo(f"{'table':<28} {'rows':>9}  checksum")
    for name, (_expected, found) in restored.tables.items():
        rows = found.rows if found else "-"
        checksum = found.checksum[:16] if found else "(missing)"
        mark = "" if name not in restored.mismatched else "  MISMATCH"
        click.echo(f"{name:<28} {rows:>9}  {checksum}{mark}")
    if restored.mismatched:
        raise click.ClickException(
            f"The restored database does not match {restored.backup.path}'s manifest in "
            f"{len(restored.mismatched)} table(s): {', '.join(restored.mismatched)}."
        )
    click.echo(f"Restored {restored.backup.path}: every row count and checksum matches.")
    if restored.behind_head:
        click.echo(
            f"The backup's schema ({restored.backup.revision}) is older than this PropAdmin's "
            f"({restored.head}): now run `flask --app app db upgrade`."
        )
    keys = restored.keys
    if not keys.fingerprints_match:
        click.echo(
            "The encryption keys configured here are not the ones the backup was made with "
            "(their fingerprints differ).",
            err=True,
        )
    if keys.unreadable:
        raise click.ClickException(
            f"The field-encryption keys configured here cannot read {keys.unreadable} of "
            f"{keys.values} encrypted values: restore the keys from your key backup "
            "(instance/secrets.json or PROPADMIN_FIELD_ENCRYPTION_KEYS). The data itself "
            "was restored."
        )
    if keys.index_mismatches:
        raise click.ClickException(
            f"The blind-index key configured here does not match {keys.index_mismatches} of "
            f"{keys.indexed} ID-card/mobile lookups: restore BLIND_INDEX_KEY from your key "
            "backup (instance/secrets.json or PROPADMIN_BLIND_INDEX_KEY)."
        )
    if keys.values:
        click.echo(
            f"Encrypted fields: {keys.values} sampled values in {', '.join(keys.columns)} "
            "decrypt with the keys here, and their blind indexes match."
        )


def init_app(app) -> None:
    app.cli.add_command(backup_cli)
