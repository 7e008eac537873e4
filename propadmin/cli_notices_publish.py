"""``flask --app app notices publish``: put out every scheduled notice whose time has come,
with its mails. It takes no time of its own: a notice never goes out before its time,
and one whose time passed while cron was stopped goes out on the next run. Safe to run
every minute from cron, twice, and on two hosts at once: each notice is claimed by a
conditional UPDATE, so it is published (and mailed) exactly once.

Each notice is published in a transaction of its own, together with its mails: one that
fails (a busy database) rolls back alone and is tried again on the next run, and the
ones before it stay out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import utcnow

from .cli_notices import notices_cli
from .cli_scheduled import start_scheduled_run
from .extensions import db
from .services.notices import due_ids, publish_one_due


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


@notices_cli.command("publish")
def notices_publish() -> None:
    """Publish the scheduled notices whose time has come and mail them."""
    now = utcnow()
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
