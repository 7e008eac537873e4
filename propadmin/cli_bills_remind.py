"""``flask --app app bills remind [--estate NAME] [--date YYYY-MM-DD]``: remind every payer
with overdue bills, at most once a day (safe to run twice, and on two hosts at once)."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from models import Estate

from .cli_billing import bills_cli
from .extensions import db
from .services.bill_explain import yuan
from .services.reminders import send_reminders
from .services.today import office_today


def _day(value: str | None) -> date | None:
    if not value:
        return None  # today in the estates' own zone, once they are known
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20.",
            param_hint="--date",
        ) from None


@bills_cli.command("remind")
@click.option("--estate", "estate_name", help="Only this estate (its name); default: all.")
@click.option("--date", "day", help="The day to remind for (YYYY-MM-DD); default: today.")
def bills_remind(estate_name: str | None, day: str | None) -> None:
    """Queue a reminder mail to every payer with overdue bills and deliver it."""
    today = _day(day)
    db.session.info["actor_name"] = "cli"
    estate_ids = None
    if estate_name:
        estate_id = db.session.scalar(select(Estate.id).where(Estate.name == estate_name))
        if estate_id is None:
            raise click.ClickException(f"There is no estate called {estate_name!r}.")
        estate_ids = [estate_id]
    today = today or office_today(db.session, estate_ids)
    # A command ends when it returns: deliver right after the commit, in this process,
    # rather than in a background thread that would die with it (tests keep "off").
    if current_app.config["MAIL_DISPATCH"] == "thread":
        current_app.config["MAIL_DISPATCH"] = "inline"
    try:
        result = send_reminders(db.session, today=today, estate_ids=estate_ids)
        db.session.commit()
    except OperationalError as exc:
        # SQLite allows one writer: a second run at the same moment may time out waiting.
        db.session.rollback()
        raise click.ClickException(
            f"The database is busy (another reminder run?); nothing was sent. Run the "
            f"command again in a minute. ({exc.orig})"
        ) from None
    click.echo(
        f"Queued {result.queued} reminders ({yuan(result.amount)}); "
        f"{result.already} payers already reminded today; "
        f"{len(result.no_email)} payers have no e-mail"
        + (": call them." if result.no_email else ".")
    )
    for name in result.no_email:
        click.echo(f"  no e-mail: {name}")
