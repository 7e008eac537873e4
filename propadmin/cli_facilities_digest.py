"""``flask --app app facilities digest [--estate NAME] [--date YYYY-MM-DD]``: the daily
facilities digest to each estate's admins, at most once per estate and day (safe to run
twice a day, and on two hosts at once)."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .cli_repairs import facilities_cli
from .cli_scheduled import named_estates, parse_day, start_scheduled_run
from .extensions import db
from .services.facility_digest import send_digest


@facilities_cli.command("digest")
@click.option("--estate", "estate_name", help="Only this estate (its name); default: all.")
@click.option("--date", "day", help="The day to report for (YYYY-MM-DD); default: today.")
def facilities_digest(estate_name: str | None, day: str | None) -> None:
    """Mail each estate's admins the warranties ending and the maintenance due."""
    start_scheduled_run()
    today = parse_day(day)
    estate_ids = named_estates(estate_name)
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
