"""Mail goes through the outbox: written with its cause, delivered after commit,
retried with backoff, and never lost while the SMTP server is down."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import MailStatus, OutboxMessage, utcnow
from propadmin.extensions import db
from propadmin.mail import queue_mail, send_pending

from .helpers import SMTPServer, free_port


def _messages(db_session):
    db_session.expire_all()
    return db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_mail_is_not_written_when_its_cause_rolls_back(app, demo, db_session):
    with app.test_request_context():
        from models import User

        user = db.session.scalar(select(User).where(User.username == "owner"))
        from propadmin.services.accounts import set_password

        set_password(db.session, user, "Rolled-back-1")
        db.session.rollback()
    assert _messages(db_session) == []


def test_outbox_survives_an_smtp_outage_and_delivers_once_back(app, demo, db_session):
    dead_port = free_port()  # nothing listens here
    app.config["MAIL_DISPATCH"] = "inline"
    app.config["MAIL_PORT"] = dead_port
    from .test_password_reset import ask_for_reset

    ask_for_reset(app.test_client(), "owner@example.com")
    [message] = _messages(db_session)
    assert message.status == MailStatus.pending
    assert message.attempts == 1
    assert "Error" in message.last_error or "refused" in message.last_error.lower()
    assert message.next_attempt_at > utcnow() + timedelta(seconds=30)

    # A second try before the backoff has passed does nothing.
    with app.app_context():
        assert send_pending(db.session) == (0, 0)

    server = SMTPServer()
    server.start()
    try:
        app.config["MAIL_PORT"] = server.port
        with app.app_context():
            later = utcnow() + timedelta(minutes=2)
            assert send_pending(db.session, now=later) == (1, 0)
            assert send_pending(db.session, now=later) == (0, 0)  # sent exactly once
        arrived = server.mailbox.wait(1)
        assert [m["To"] for m in arrived] == ["owner@example.com"]
        assert "重设您的物业管理系统密码" == arrived[0]["Subject"]
    finally:
        server.stop()
    [message] = _messages(db_session)
    assert message.status == MailStatus.sent and message.attempts == 2


def test_backoff_grows_and_gives_up_without_deleting(app, demo, db_session):
    app.config["MAIL_PORT"] = free_port()
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    with app.test_request_context():
        from models import User

        user = db.session.scalar(select(User).where(User.username == "owner"))
        queue_mail(db.session, user, "password_changed", "Your PropAdmin password was changed")
        db.session.commit()
        now = utcnow()
        waits = []
        for _ in range(3):
            send_pending(db.session, now=now, due_only=False)
            msg = db.session.scalar(select(OutboxMessage))
            db.session.refresh(msg)
            waits.append(msg.next_attempt_at - now)
    assert waits[0] < waits[1]
    [message] = _messages(db_session)
    assert message.status == MailStatus.failed and message.attempts == 3
    assert message.body_text  # kept for an operator to send again


def test_flask_mail_send_delivers_every_pending_message(app, demo, db_session, smtp, runner):
    app.config["MAIL_DISPATCH"] = "off"
    with app.test_request_context():
        from models import User

        for name in ("owner", "owner2", "tenant"):
            user = db.session.scalar(select(User).where(User.username == name))
            queue_mail(db.session, user, "password_changed", "Your PropAdmin password was changed")
        db.session.commit()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 3 message(s)" in result.output
    assert sorted(m["To"] for m in smtp.mailbox.wait(3)) == [
        "owner2@example.com",
        "owner@example.com",
        "tenant@example.com",
    ]


def test_flask_mail_send_exits_non_zero_while_smtp_is_down(app, demo, db_session, runner):
    app.config["MAIL_PORT"] = free_port()
    with app.test_request_context():
        from models import User

        user = db.session.scalar(select(User).where(User.username == "owner"))
        queue_mail(db.session, user, "password_changed", "Your PropAdmin password was changed")
        db.session.commit()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 1
    assert "1 message(s) failed and stay in the outbox" in result.output
    assert _messages(db_session)[0].status == MailStatus.pending


def test_a_dispatcher_cannot_claim_a_message_another_holds(app, demo, db_session):
    from propadmin.mail import _claim

    with app.test_request_context():
        from models import User

        user = db.session.scalar(select(User).where(User.username == "owner"))
        queue_mail(db.session, user, "password_changed", "Your PropAdmin password was changed")
        db.session.commit()
        message_id = db.session.scalar(select(OutboxMessage.id))
        now = utcnow()
        assert _claim(db.session, message_id, now) is True
        assert _claim(db.session, message_id, now) is False
        # A claim abandoned by a crashed dispatcher is taken back after the lease.
        assert _claim(db.session, message_id, now + timedelta(minutes=11)) is True


def test_admin_can_send_a_failed_message_again(login_as, app, db_session, smtp):
    from .helpers import csrf_from

    with app.test_request_context():
        from models import User

        user = db.session.scalar(select(User).where(User.username == "owner"))
        msg = queue_mail(
            db.session, user, "password_changed", "Your PropAdmin password was changed"
        )
        msg.status, msg.attempts = MailStatus.failed, 12
        db.session.commit()
        message_id = msg.id
    admin = login_as("admin")
    page = admin.get("/admin/outbox/")
    assert "发送失败" in page.text
    response = admin.post(
        "/admin/outbox/action/",
        data={
            "action": "requeue",
            "rowid": str(message_id),
            "csrf_token": csrf_from(page.text, "action_form"),
        },
    )
    assert response.status_code == 302
    listing = admin.get(response.location).text
    assert "1 封邮件将重新发送" in listing, listing[-3000:]
    [message] = _messages(db_session)
    assert message.status == MailStatus.pending and message.attempts == 0


@pytest.mark.committed  # the dispatcher thread reads the outbox over its own connection
def test_mail_is_sent_right_after_commit_from_a_background_thread(app, demo, smtp, db_session):
    """The production setting: the request does not wait for the SMTP server."""
    app.config["MAIL_DISPATCH"] = "thread"
    from .test_password_reset import ask_for_reset

    ask_for_reset(app.test_client(), "owner@example.com")
    arrived = smtp.mailbox.wait(1)
    assert [m["To"] for m in arrived] == ["owner@example.com"]
    for _ in range(50):
        if _messages(db_session)[0].status == MailStatus.sent:
            break
        time.sleep(0.05)
    assert _messages(db_session)[0].status == MailStatus.sent


def test_a_silent_smtp_server_does_not_hang_the_dispatcher(app, demo, db_session):
    """A server that accepts the connection and never answers: the attempt times out
    and the message waits for its retry."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    app.config.update(MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=1)
    try:
        with app.test_request_context():
            from models import User

            user = db.session.scalar(select(User).where(User.username == "owner"))
            queue_mail(db.session, user, "password_changed", "Your PropAdmin password was changed")
            db.session.commit()
            started = time.monotonic()
            assert send_pending(db.session) == (0, 1)
            assert time.monotonic() - started < 10
    finally:
        listener.close()
    [message] = _messages(db_session)
    assert message.status == MailStatus.pending and "timed out" in message.last_error


def test_claims_are_stamped_with_the_real_time(app, demo, db_session, smtp):
    """A long run must not stamp claims with its start time, or another dispatcher would
    take over messages still being sent once the lease seemed to have passed."""
    app.config["MAIL_DISPATCH"] = "off"
    with app.test_request_context():
        from models import User

        user = db.session.scalar(select(User).where(User.username == "owner"))
        queue_mail(db.session, user, "password_changed", "Your PropAdmin password was changed")
        db.session.commit()
        long_ago = utcnow() - timedelta(hours=1)
        db.session.execute(
            OutboxMessage.__table__.update().values(next_attempt_at=long_ago - timedelta(minutes=1))
        )
        db.session.commit()
        assert send_pending(db.session, now=long_ago) == (1, 0)
    [message] = _messages(db_session)
    assert message.claimed_at > utcnow() - timedelta(minutes=1)
