"""Notices by mail: one message per recipient address, put into the outbox with one
INSERT … SELECT (not a query or a row object per recipient), in each recipient's language.

The bodies are the same for everybody who reads a language, so they are rendered once per
language and the database picks one per row by the recipient's account language (the
default language for residents with no account). Recipients are ``notice_targets``'s, so a
mail goes exactly to the residents who see the notice in the portal.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, func, insert, literal, select
from sqlalchemy.orm import Session

from models import (
    MailingKind,
    MailStatus,
    Notice,
    NoticeMailing,
    NoticeStatus,
    OutboxMessage,
    User,
    UTCDateTime,
    utcnow,
)

from .notice_html import render, text
from .notice_labels import CATEGORY_LABELS
from .notice_targets import addressed, notice_today, recipients, unread_recipients

KIND = "notice"
COLUMNS = (
    "recipient", "user_id", "subject", "body_text", "body_html", "kind", "status",
    "attempts", "next_attempt_at", "created_at", "last_error",
)  # fmt: skip


def rendered(notice: Notice, locale: str) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of the notice's mail in ``locale``."""
    base_url = current_app.config["BASE_URL"].rstrip("/")
    with force_locale(locale):
        subject = _(
            "[%(estate)s] %(category)s: %(title)s",
            estate=notice.estate.name,
            category=CATEGORY_LABELS[notice.category],
            title=notice.title,
        )
        context = dict(
            notice=notice,
            words=text(notice.body),
            body=render(notice.body),
            link=f"{base_url}/portal/notices/{notice.id}",
            base_url=base_url,
        )
        return (
            " ".join(subject.split()),  # one line, whatever the title holds
            render_template("email/notice.txt", **context),
            render_template("email/notice.html", **context),
        )


def push(
    session: Session,
    notice: Notice,
    kind: MailingKind,
    *,
    by: User | None,
    now: datetime | None = None,
    only_unread: bool = False,
) -> int:
    """Queue the notice's mail for everyone it reaches who has an address (only those who
    have not opened it, with ``only_unread``). Returns how many mails were queued."""
    now = now or utcnow()
    today = notice_today(notice)
    ids = unread_recipients(notice.id, today) if only_unread else recipients(notice.id, today)
    rows = addressed(ids).subquery()
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    versions = {locale: rendered(notice, locale) for locale in current_app.config["LANGUAGES"]}

    def by_language(part: int):
        others = [
            (rows.c.locale == locale, literal(parts[part]))
            for locale, parts in versions.items()
            if locale != default
        ]
        fallback = literal(versions[default][part])
        return case(*others, else_=fallback) if others else fallback

    when = literal(now, UTCDateTime())
    source = select(
        rows.c.address, rows.c.user_id, by_language(0), by_language(1), by_language(2),
        literal(KIND), literal(MailStatus.pending.value), literal(0), when, when, literal(""),
    )  # fmt: skip
    queued = _insert_counted(session, insert(OutboxMessage).from_select(COLUMNS, source))
    session.add(NoticeMailing(
        notice_id=notice.id, kind=kind, queued_at=now,
        queued_by_id=by.id if by else None, recipients=queued,
    ))  # fmt: skip
    session.flush()
    if queued:
        session.info["mail_queued"] = True
    return queued


def _insert_counted(session: Session, stmt) -> int:
    """Run an INSERT … SELECT and say how many rows it wrote. PostgreSQL's driver reports
    no row count for it, so there the insert runs in a CTE that is counted."""
    if session.get_bind().dialect.name == "postgresql":
        written = stmt.returning(OutboxMessage.id).cte("written")
        return session.scalar(select(func.count()).select_from(written))
    return session.execute(stmt).rowcount


def resend_unread(
    session: Session, notice: Notice, *, by: User, now=None, expected_version: int | None = None
) -> int:
    """Mail the notice again to the recipients who have not opened it (a live notice only).
    The notice's version moves on, so the same button sent twice mails once."""
    from .notices import NoticeError, _take_version

    now = now or utcnow()
    if notice.status is not NoticeStatus.published or (
        notice.expires_at is not None and notice.expires_at <= now
    ):
        raise NoticeError(_("Only a published notice that has not expired can be sent again."))
    _take_version(session, notice, expected_version, now)
    return push(session, notice, MailingKind.resend, by=by, now=now, only_unread=True)
