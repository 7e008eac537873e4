"""``flask --app app bills generate --period P [--estate NAME] [--accept-flagged]``."""

from __future__ import annotations

import sys

import click
from flask_babel import force_locale
from sqlalchemy import select

from models import Estate

from .cli_billing import bills_cli
from .extensions import db
from .services import ServiceError
from .services.bill_explain import yuan
from .services.bill_generation import count_units, generate_bills
from .services.periods import parse_period


@bills_cli.command("generate")
@click.option(
    "--period", required=True, help="2026-11 (a month), 2026-Q4 (a quarter) or 2026 (a year)."
)
@click.option(
    "--estate",
    "estate_name",
    default=None,
    help="The estate, by name. Without it, every estate in turn, each in a transaction of"
    " its own: the run stops at the first estate with a problem (the estates before it"
    " keep their bills; running again adds only what is missing).",
)
@click.option(
    "--accept-flagged",
    is_flag=True,
    help="Accept meter readings flagged for review (unusual usage) and bill them. Without"
    " it, a flagged reading not yet reviewed stops the run.",
)
def generate_command(period: str, estate_name: str | None, accept_flagged: bool) -> None:
    """Make the period's bills: one per occupied unit, a line per fee item. Safe to run
    twice: units that already have a bill for the period are skipped."""
    # What it prints is for the operator, in English like ``bills remind`` and the other
    # commands: the services' messages too (in the web's default Chinese otherwise).
    with force_locale("en"):
        _generate(period, estate_name, accept_flagged)


def _generate(period: str, estate_name: str | None, accept_flagged: bool) -> None:
    db.session.info["actor_name"] = "cli"
    try:
        period = parse_period(period).key
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    query = select(Estate).order_by(Estate.name)
    if estate_name is not None:
        query = query.where(Estate.name == estate_name)
    estates = [(e.id, e.name) for e in db.session.scalars(query)]
    if not estates:
        raise click.ClickException(
            f"There is no estate named {estate_name!r}." if estate_name else "There is no estate."
        )
    for estate_id, name in estates:
        _generate_for(estate_id, name, period, accept_flagged)


def _generate_for(estate_id: int, name: str, period: str, accept_flagged: bool) -> None:
    total_units = count_units(db.session, estate_id)
    with click.progressbar(length=total_units, label=f"{name} {period}", file=sys.stderr) as bar:
        try:
            result = generate_bills(
                db.session,
                estate_id,
                period,
                actor=None,
                accept_flagged=accept_flagged,
                progress=bar.update,
            )
        except ServiceError as exc:
            db.session.rollback()
            hint = ""
            if exc.field == "flagged":
                hint = " Review them, or run again with --accept-flagged."
            raise click.ClickException(f"{name} {period}: {exc.message}{hint}") from None
        except Exception:
            db.session.rollback()
            raise
    db.session.commit()
    if result.nothing_added and result.existing:
        click.echo(f"Nothing added: {result.existing} bills for {period} already existed ({name}).")
    elif result.nothing_added:
        click.echo(f"Nothing added: no unit of {name} has anything to pay for {period}.")
    else:
        click.echo(
            f"Generated {result.bills} bills for {name} {period}, total {yuan(result.total)}"
        )
    if result.vacant or result.no_charges:
        click.echo(
            f"  skipped: {result.vacant} vacant units, {result.no_charges} units with no charges"
        )
