"""What the scheduled commands (`bills remind`, `repairs escalate`, `facilities digest`)
share: the ``--estate`` and ``--date`` options read the same way, and mail delivered by
the command itself before it exits."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import current_app
from sqlalchemy import select

from models import Estate

from .extensions import db


def parse_day(value: str | None) -> date | None:
    """``--date YYYY-MM-DD``; None when not given (each estate's own today)."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20.",
            param_hint="--date",
        ) from None


def named_estates(estate_name: str | None) -> list[int] | None:
    """``--estate NAME`` as a list of one estate id; None (every estate) when not given."""
    if not estate_name:
        return None
    estate_id = db.session.scalar(select(Estate.id).where(Estate.name == estate_name))
    if estate_id is None:
        raise click.ClickException(f"There is no estate called {estate_name!r}.")
    return [estate_id]


def start_scheduled_run() -> None:
    """Name the actor in the audit log, and deliver mail right after each commit in this
    process: a background thread would die with the command (tests keep "off")."""
    db.session.info["actor_name"] = "cli"
    if current_app.config["MAIL_DISPATCH"] == "thread":
        current_app.config["MAIL_DISPATCH"] = "inline"
