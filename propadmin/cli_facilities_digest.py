"""``flask --app app facilities digest [--estate NAME] [--date YYYY-MM-DD]``: the daily
facilities digest to each estate's admins, at most once per estate and day (safe to run
twice a day, and on two hosts at once)."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from models import Estate

from .cli_repairs import facilities_cli
from .extensions import db
from .services.facility_digest import send_digest


def _day(value: str | None) -> date | None:
    if not value:
        return None  # each estate's own today
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20.",
            param_hint="--date",
        ) from None


@facilities_cli.command("digest")
@click.option("--estate", "estate_name", help="Only this estate (its name); default: all.")
@click.option("--date", "day", help="The day to report for (YYYY-MM-DD); default: today.")
def facilities_digest(estate_name: str | None, day: str | None) -> None:
    """Mail each estate's admins the warranties ending and the maintenance due."""
    today = _day(day)
    db.session.info["actor_name"] = "cli"
    estate_ids = None
    if estate_name:
        estate_id = db.session.scalar(select(Estate.id).where(Estate.name == estate_name))
        if estate_id is None:
            raise click.ClickException(f"There is no estate called {estate_name!r}.")
        estate_ids = [estate_id]
    # Deliver right after the commit, in this process (a background thread would die
    # with the command).
    if current_app.config["MAIL_DISPATCH"] == "thread":
        current_app.config["MAIL_DISPATCH"] = "inline"
    try:
        result = send_digest(db.session, estate_ids=estate_ids, today=today)
        db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        raise click.ClickException(
            "The database is busy or unreachable (another digest run?); nothing was sent. "
            f"Run the command again in a minute. ({exc.orig})"
        ) from None
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise click.ClickException(
            f"The digest could not be saved; nothing was sent. ({exc})"
        ) from None
    click.echo(
        f"Queued {result.mails} digest mails for {len(result.estates)} estates; "
        f"{len(result.already)} estates already had today's digest."
    )
    for name in result.nobody:
        click.echo(f"  no admin with an e-mail address for facilities in {name}")
