"""Mail through the outbox.

``queue_mail`` renders a message in the reader's language and adds it to the outbox in
the caller's transaction, so mail exists exactly when its cause was committed. After the
commit the dispatcher is started (in a thread, or inline for tests and the CLI); cron or
``flask mail send`` delivers whatever is left. Failed deliveries are retried with
exponential backoff; nothing is deleted.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from datetime import datetime, timedelta

from flask import current_app, has_app_context, render_template
from flask_babel import force_locale
from flask_mail import Message
from markupsafe import escape
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from models import MailStatus, OutboxMessage, User, utcnow

from .extensions import db, mail

log = logging.getLogger(__name__)

# A message claimed by a dispatcher that died is taken back after this long.
CLAIM_LEASE = timedelta(minutes=10)
# What the stored copy of a sent message shows where a secret was.
LINK_REMOVED = "[link removed after sending]"


def reader_locale(user: User | None) -> str:
    if user is not None and user.locale:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def queue_mail(
    session: Session,
    recipient: User | str,
    template: str,
    subject,
    *,
    locale: str | None = None,
    secrets: list[str] | tuple[str, ...] = (),
    **context,
) -> OutboxMessage | None:
    """Render ``email/<template>.txt`` and ``.html`` and add the message to the outbox.

    ``subject`` is a lazy string, rendered in the reader's language. ``secrets`` (a
    reset link, say) are in the message only until it is sent: the stored bodies then
    show ``LINK_REMOVED`` in their place. An account without an e-mail address gets
    nothing (``None``): most residents have none, and the office tells them in person.
    """
    user = recipient if isinstance(recipient, User) else None
    if user is None:
        # The recipient's account, if any, says whose estates' staff may see the message.
        user = session.scalar(select(User).where(User.email == recipient.strip().lower()))
    address = user.email if user else recipient
    if not address:
        log.info("no mail %r for %r: no e-mail address", template, user)
        return None
    with force_locale(locale or reader_locale(user)):
        context.setdefault("user", user)
        context.setdefault("base_url", current_app.config["BASE_URL"].rstrip("/"))
        message = OutboxMessage(
            recipient=address,
            user=user,
            # A subject is one line: whatever a value put into it (a typed place with a
            # line break) must not start a header of its own.
            subject=" ".join(str(subject).split()),
            body_text=render_template(f"email/{template}.txt", **context),
            body_html=render_template(f"email/{template}.html", **context),
            kind=template,
            scrub=[s for s in secrets if s] or None,
        )
    session.add(message)
    session.info["mail_queued"] = True
    return message


def _backoff(attempts: int) -> timedelta:
    cfg = current_app.config
    seconds = cfg["MAIL_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, cfg["MAIL_RETRY_MAX_SECONDS"]))


def _claim(session: Session, message_id: int, now: datetime) -> bool:
    """Take a message for sending; only one dispatcher can win (conditional update)."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            or_(
                OutboxMessage.status == MailStatus.pending,
                (OutboxMessage.status == MailStatus.sending)
                & (OutboxMessage.claimed_at < now - CLAIM_LEASE),
            ),
        )
        .values(status=MailStatus.sending, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def send_pending(
    session: Session, *, now: datetime | None = None, due_only: bool = True, limit: int = 500
) -> tuple[int, int]:
    """Deliver outbox messages; return (sent, failed attempts).

    With ``due_only`` messages waiting out a retry backoff are left for later. This is a
    worker, not a service: it commits after every message so that a crash part-way
    never sends a message twice or forgets one that was sent.
    """
    now = now or utcnow()
    query = select(OutboxMessage.id).where(
        or_(
            OutboxMessage.status == MailStatus.pending,
            (OutboxMessage.status == MailStatus.sending)
            & (OutboxMessage.claimed_at < now - CLAIM_LEASE),
        )
    )
    if due_only:
        query = query.where(OutboxMessage.next_attempt_at <= now)
    ids = list(session.scalars(query.order_by(OutboxMessage.id).limit(limit)))
    session.commit()
    sent = failed = 0
    if not ids:
        return sent, failed
    connection = None
    try:
        for message_id in ids:
            # The clock is read again for every message: a long run must not stamp
            # claims (or retries) with a time that is already past the lease.
            if not _claim(session, message_id, utcnow()):
                continue
            msg = session.get(OutboxMessage, message_id)
            try:
                if connection is None:
                    connection = _smtp_connection()
                envelope = Message(
                    subject=msg.subject,
                    recipients=[msg.recipient],
                    body=msg.body_text,
                    html=msg.body_html,
                    sender=current_app.config["MAIL_DEFAULT_SENDER"],
                )
                connection.sendmail(envelope.sender, envelope.send_to, envelope.as_bytes())
            except (OSError, smtplib.SMTPException) as exc:
                if connection is not None:
                    _close(connection)
                    connection = None
                msg.attempts += 1
                msg.last_error = f"{type(exc).__name__}: {exc}"[:500]
                if msg.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
                    msg.status = MailStatus.failed
                else:
                    msg.status = MailStatus.pending
                    msg.next_attempt_at = utcnow() + _backoff(msg.attempts)
                failed += 1
                log.warning("mail %s to %s failed: %s", msg.id, msg.recipient, msg.last_error)
            else:
                msg.attempts += 1
                msg.status = MailStatus.sent
                msg.sent_at = utcnow()
                msg.last_error = ""
                _scrub(msg)
                sent += 1
            session.commit()
    finally:
        if connection is not None:
            _close(connection)
    return sent, failed


def _scrub(msg: OutboxMessage) -> None:
    """Remove the message's secrets from its stored bodies (longest first, so that a
    link goes as a whole even when its token is listed too; HTML-escaped forms too)."""
    secrets = sorted(msg.scrub or (), key=len, reverse=True)
    for secret in secrets:
        for form in {secret, str(escape(secret))}:
            msg.body_text = msg.body_text.replace(form, LINK_REMOVED)
            if msg.body_html:
                msg.body_html = msg.body_html.replace(form, LINK_REMOVED)
    msg.scrub = None


def _smtp_connection() -> smtplib.SMTP:
    """An SMTP connection with a timeout (Flask-Mail's has none, so a server that accepts
    and never answers would hang the dispatcher and, past the lease, cause a resend)."""
    cfg = current_app.config
    timeout = cfg["MAIL_TIMEOUT"]
    if cfg.get("MAIL_USE_SSL"):
        connection = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
    else:
        connection = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
    if cfg.get("MAIL_USE_TLS"):
        connection.starttls()
    if cfg.get("MAIL_USERNAME") and cfg.get("MAIL_PASSWORD"):
        connection.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
    return connection


def _close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


def requeue(session: Session, message: OutboxMessage) -> None:
    """Give a failed message a fresh round of attempts."""
    message.status = MailStatus.pending
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.last_error = ""
    session.flush()


def dispatch_now(app) -> None:
    """Deliver due mail with a fresh session, outside any request's transaction."""
    with app.app_context():
        with Session(db.engine) as session:
            send_pending(session)


def _after_commit(session: Session) -> None:
    if not session.info.pop("mail_queued", False) or not has_app_context():
        return
    app = current_app._get_current_object()
    mode = app.config["MAIL_DISPATCH"]
    if mode == "inline":
        dispatch_now(app)
    elif mode == "thread":
        threading.Thread(target=dispatch_now, args=(app,), daemon=True).start()


def _after_rollback(session: Session, previous_transaction) -> None:
    session.info.pop("mail_queued", None)


def init_app(app) -> None:
    mail.init_app(app)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
