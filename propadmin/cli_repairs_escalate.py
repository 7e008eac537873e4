"""``flask --app app repairs escalate [--estate NAME]``: mail the estate's administrators
about urgent repair requests nobody has started past their response target. Safe to run
every minute, and on two hosts at once: each request is escalated once."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from .cli_repairs import repairs_cli
from .cli_scheduled import named_estates, start_scheduled_run
from .extensions import db
from .services.repair_escalation import escalate_overdue


@repairs_cli.command("escalate")
@click.option("--estate", "estate_name", help="Only this estate (its name); default: all.")
def repairs_escalate(estate_name: str | None) -> None:
    """Escalate urgent requests with no response past their target to the admins."""
    start_scheduled_run()
    estate_ids = named_estates(estate_name)
    try:
        result = escalate_overdue(db.session, estate_ids=estate_ids)
        db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        raise click.ClickException(
            f"The database is busy (another escalation run?); nothing was escalated. It will"
            f" be retried on the next run. ({exc.orig})"
        ) from None
    ids = ", ".join(f"#{i}" for i in result.repair_ids)
    click.echo(
        f"Escalated {len(result.repair_ids)} urgent requests"
        + (f" ({ids})" if ids else "")
        + f"; queued {result.mails} mails to the admins."
    )
    for name in result.nobody_told:
        click.echo(f"  nobody to tell in {name}: no administrator with an e-mail address")
    if result.nobody_told:
        raise SystemExit(1)
