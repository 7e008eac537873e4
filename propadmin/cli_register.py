"""Command line for the estate register and its keys: ``flask residents …``, ``flask keys …``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from models import Estate, install_field_cipher

from .crypto import FieldCrypto, TamperedValue, new_fernet_key
from .extensions import db
from .instance_secrets import FILENAME
from .services import ServiceError
from .services.keys import reencrypt_all
from .services.register_export import csv_stream, resident_export, xlsx_file
from .services.register_import import import_sheet, plan_import
from .services.register_sheet import CLI_MAX_ROWS, SheetError, read_sheet

residents_cli = AppGroup("residents", help="The estate register.")
keys_cli = AppGroup("keys", help="Field-encryption keys.")


def _estate(name: str) -> Estate:
    estate = db.session.scalar(select(Estate).where(Estate.name == name))
    if estate is None:
        raise click.ClickException(f"There is no estate named {name!r}.")
    return estate


@residents_cli.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--estate", "estate_name", required=True, help="Estate to import into.")
@click.option("--dry-run", is_flag=True, help="Check every row, write nothing.")
def import_command(sheet: Path, estate_name: str, dry_run: bool) -> None:
    """Import residents, their units and vehicles from an .xlsx or .csv sheet.

    Every row is checked first; if any is wrong, nothing is imported and each
    problem is printed as row, column, value and reason (exit status 1).
    """
    db.session.info["actor_name"] = "cli"
    estate = _estate(estate_name)
    try:
        with (
            sheet.open("rb") as stream,
            click.progressbar(
                length=0, label="Checking" if dry_run else "Importing", file=sys.stderr
            ) as bar,
        ):
            rows = read_sheet(stream, sheet.name, max_rows=CLI_MAX_ROWS)
            if dry_run:
                plan = plan_import(db.session, estate, rows)
            else:
                plan = import_sheet(db.session, estate, rows, progress=bar.update)
    except SheetError as exc:
        raise click.ClickException(f"{sheet.name}: {exc.message}") from exc
    if plan.errors:
        for e in plan.errors:
            click.echo(f"row {e.row}, {e.column} = {e.value!r}: {e.reason}", err=True)
        if plan.unreported:
            click.echo(f"… and {plan.unreported} more problem(s) not shown.", err=True)
        raise click.ClickException(
            f"{plan.problems} problem(s) in {sheet.name}; nothing was imported."
        )
    for row in plan.examples:
        click.echo(f"Row {row} is the template's example and was skipped.")
    click.echo(
        f"{plan.valid} rows are valid: {plan.residents} residents, "
        f"{plan.vehicles} vehicles, {plan.new_units} new units."
    )
    if dry_run:
        return
    db.session.commit()
    click.echo(f"Imported {plan.residents} residents into {estate.name}.")


@residents_cli.command("export")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--estate", "estate_name", help="Only this estate (default: all).")
def export_command(target: Path, estate_name: str | None) -> None:
    """Write the resident list (masked) to TARGET, .csv or .xlsx."""
    estate_ids = {_estate(estate_name).id} if estate_name else None
    header, rows = resident_export(db.session, estate_ids)
    if target.suffix.lower() == ".csv":
        with target.open("w", encoding="utf-8", newline="") as fh:
            for chunk in csv_stream(header, rows):
                fh.write(chunk)
    elif target.suffix.lower() == ".xlsx":
        with xlsx_file(header, rows) as handle, target.open("wb") as fh:
            fh.write(handle.read())
    else:
        raise click.ClickException(f"{target.name}: the file name must end in .csv or .xlsx.")
    click.echo(f"Wrote {target}.")


@keys_cli.command("rotate")
def rotate_command() -> None:
    """Put a new key in front (instance/secrets.json) and re-encrypt every value with it."""
    path = Path(current_app.instance_path) / FILENAME
    stored = json.loads(path.read_text()) if path.exists() else {}
    if current_app.config["FIELD_ENCRYPTION_KEYS"] != stored.get("FIELD_ENCRYPTION_KEYS"):
        raise click.ClickException(
            "The keys come from the environment, not from instance/secrets.json: put a new "
            "key first in PROPADMIN_FIELD_ENCRYPTION_KEYS, restart, then run "
            "`flask keys reencrypt`."
        )
    keys = [new_fernet_key(), *stored["FIELD_ENCRYPTION_KEYS"]]
    stored["FIELD_ENCRYPTION_KEYS"] = keys
    path.write_text(json.dumps(stored, indent=2))
    crypto = FieldCrypto(keys, current_app.config["BLIND_INDEX_KEY"])
    current_app.config["FIELD_ENCRYPTION_KEYS"] = keys
    current_app.extensions["propadmin.crypto"] = crypto
    install_field_cipher(crypto)
    click.echo(f"Added a new key to {path}; {len(keys)} keys now, newest first.")
    _reencrypt(crypto)
    click.echo("Restart the web workers so they read the new key list.")


@keys_cli.command("reencrypt")
def reencrypt_command() -> None:
    """Re-encrypt every value under the first configured key."""
    _reencrypt(current_app.extensions["propadmin.crypto"])


def _reencrypt(crypto: FieldCrypto) -> None:
    try:
        with click.progressbar(label="Re-encrypting", file=sys.stderr, length=0) as bar:
            count = reencrypt_all(db.session, crypto, progress=bar.update)
    except TamperedValue as exc:
        raise click.ClickException(
            "A stored value failed authentication (changed, or under a key that is no "
            "longer configured); values before it were re-encrypted."
        ) from exc
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Re-encrypted {count} values.")


def init_app(app) -> None:
    app.cli.add_command(residents_cli)
    app.cli.add_command(keys_cli)
