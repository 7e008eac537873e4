"""``flask --app app notices publish [--at "YYYY-MM-DD HH:MM"]``: put out every scheduled
notice whose time has come, with its mails. Safe to run every minute from cron, twice,
and on two hosts at once: each notice is claimed by a conditional UPDATE, so it is
published (and mailed) exactly once.

Each notice is published in a transaction of its own, together with its mails: one that
fails (a busy database) rolls back alone and is tried again on the next run, and the
ones before it stay out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import utcnow

from .cli_notices import notices_cli
from .cli_scheduled import start_scheduled_run
from .extensions import db
from .services.notices import due_ids, publish_one_due
from .services.today import DEFAULT_ZONE

AT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M%z", "%Y-%m-%dT%H:%M%z")


@dataclass(frozen=True)
class PublishedNotice:
    id: int
    estate: str
    title: str
    mails: int


@dataclass
class PublishRun:
    published: list[PublishedNotice] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (notice id, why)

    @property
    def mails(self) -> int:
        return sum(p.mails for p in self.published)


def publish_scheduled(session: Session, now: datetime) -> PublishRun:
    """Publish the notices due at ``now``, committing after each one. A worker, not a
    service (like the mail dispatcher): the commit per notice is the point."""
    run = PublishRun()
    for notice_id in due_ids(session, now=now):
        session.commit()  # each claim starts a transaction of its own, on fresh data
        try:
            published = publish_one_due(session, notice_id, now=now)
            line = None
            if published is not None:
                notice, mails = published
                line = PublishedNotice(notice.id, notice.estate.name, notice.title, mails)
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            run.failed.append((notice_id, str(getattr(exc, "orig", None) or exc)))
            continue
        if line is not None:
            run.published.append(line)
    session.commit()
    return run


def parse_at(value: str | None) -> datetime | None:
    """``--at "YYYY-MM-DD HH:MM"``: office time (Asia/Shanghai) unless it ends with an
    offset (``+00:00`` for UTC). None when not given (now)."""
    if not value:
        return None
    for form in AT_FORMATS:
        try:
            parsed = datetime.strptime(value.strip(), form)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(DEFAULT_ZONE))
        return parsed.astimezone(UTC)
    raise click.BadParameter(
        f"{value!r} is not a time: write it as YYYY-MM-DD HH:MM (office time, {DEFAULT_ZONE}),"
        " e.g. 2026-12-01 09:00, or with an offset, e.g. 2026-12-01 01:00+00:00.",
        param_hint="--at",
    )


@notices_cli.command("publish")
@click.option(
    "--at",
    "at",
    help=f'Publish what is due by this time ("YYYY-MM-DD HH:MM", {DEFAULT_ZONE} unless an'
    " offset such as +00:00 is given); default: now.",
)
def notices_publish(at: str | None) -> None:
    """Publish the scheduled notices whose time has come and mail them."""
    now = parse_at(at) or utcnow()
    start_scheduled_run()
    run = publish_scheduled(db.session, now)
    for item in run.published:
        click.echo(f"#{item.id} {item.estate} 《{item.title}》: published, {item.mails} mails")
    for notice_id, why in run.failed:
        click.echo(f"#{notice_id}: not published, will be tried again on the next run ({why})")
    click.echo(
        f"Published {len(run.published)} notices due by {now:%Y-%m-%d %H:%M} UTC; "
        f"queued {run.mails} mails" + (f"; {len(run.failed)} failed." if run.failed else ".")
    )
    if run.failed:
        raise SystemExit(1)
