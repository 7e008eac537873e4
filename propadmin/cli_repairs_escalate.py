"""``flask --app app repairs escalate [--estate NAME]``: mail the estate's administrators
about urgent repair requests nobody has started past their response target. Safe to run
every minute, and on two hosts at once: each request is escalated once."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from models import Estate

from .cli_repairs import repairs_cli
from .extensions import db
from .services.repair_escalation import escalate_overdue


@repairs_cli.command("escalate")
@click.option("--estate", "estate_name", help="Only this estate (its name); default: all.")
def repairs_escalate(estate_name: str | None) -> None:
    """Escalate urgent requests with no response past their target to the admins."""
    db.session.info["actor_name"] = "cli"
    estate_ids = None
    if estate_name:
        estate_id = db.session.scalar(select(Estate.id).where(Estate.name == estate_name))
        if estate_id is None:
            raise click.ClickException(f"There is no estate called {estate_name!r}.")
        estate_ids = [estate_id]
    # Deliver right after the commit, in this process (a thread would die with it).
    if current_app.config["MAIL_DISPATCH"] == "thread":
        current_app.config["MAIL_DISPATCH"] = "inline"
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
