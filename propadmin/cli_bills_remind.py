"""``flask --app app bills remind [--estate NAME] [--date YYYY-MM-DD]``: remind every payer
with overdue bills, at most once a day (safe to run twice, and on two hosts at once)."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from .cli_billing import bills_cli
from .cli_scheduled import named_estates, parse_day, start_scheduled_run
from .extensions import db
from .services.bill_explain import yuan
from .services.reminders import send_reminders
from .services.today import office_today


@bills_cli.command("remind")
@click.option("--estate", "estate_name", help="Only this estate (its name); default: all.")
@click.option("--date", "day", help="The day to remind for (YYYY-MM-DD); default: today.")
def bills_remind(estate_name: str | None, day: str | None) -> None:
    """Queue a reminder mail to every payer with overdue bills and deliver it."""
    start_scheduled_run()
    estate_ids = named_estates(estate_name)
    today = parse_day(day) or office_today(db.session, estate_ids)
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
