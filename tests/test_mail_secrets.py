"""Secrets in mail and on disk: a reset link is gone from the stored message once it has
been sent, the outbox screen never shows one, and the SQLite file is private."""

import os
import stat

from sqlalchemy import select

from models import MailStatus, OutboxMessage
from propadmin.mail import LINK_REMOVED

from .helpers import SMTPServer, free_port
from .test_password_reset import LINK_RE, ask_for_reset, reset_link


def _stored(db_session) -> OutboxMessage:
    db_session.expire_all()
    return db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()


def test_reset_link_is_removed_from_the_stored_message_once_sent(app, demo, smtp, db_session):
    ask_for_reset(app.test_client(), "owner@example.com")
    link = reset_link(smtp)
    token = link.rsplit("/", 1)[1]
    message = _stored(db_session)
    assert message.status == MailStatus.sent
    for body in (message.body_text, message.body_html):
        assert token not in body and LINK_REMOVED in body
    assert not message.scrub
    # The link that went out still works: only the stored copy lost it.
    client = app.test_client()
    assert client.get(link.removeprefix(app.config["BASE_URL"])).status_code == 302
    assert client.get("/reset-password/new").status_code == 200


def test_link_is_kept_until_the_message_is_sent(app, demo, db_session):
    app.config.update(MAIL_DISPATCH="inline", MAIL_PORT=free_port())  # SMTP is down
    ask_for_reset(app.test_client(), "owner@example.com")
    waiting = _stored(db_session)
    assert waiting.status == MailStatus.pending
    link = LINK_RE.search(waiting.body_text).group(0)
    assert link in waiting.body_html  # still there, to be sent later

    server = SMTPServer()
    server.start()
    try:
        app.config["MAIL_PORT"] = server.port
        assert app.test_cli_runner().invoke(args=["mail", "send"]).exit_code == 0
        assert link in server.mailbox.text(server.mailbox.wait(1)[0])
    finally:
        server.stop()
    sent = _stored(db_session)
    assert sent.status == MailStatus.sent
    assert link not in sent.body_text and link not in sent.body_html


def test_outbox_screen_never_shows_a_reset_link(app, demo, login_as, smtp, db_session):
    ask_for_reset(app.test_client(), "owner@example.com")
    token = reset_link(smtp).rsplit("/", 1)[1]
    admin = login_as("admin")
    message = _stored(db_session)
    for url in ("/admin/outbox/", f"/admin/outbox/details/?id={message.id}"):
        page = admin.get(url)
        assert page.status_code == 200
        assert "owner@example.com" in page.text
        assert token not in page.text and "/reset-password/" not in page.text


def test_queue_mail_scrubs_any_listed_secret(app, demo, smtp, db_session):
    from propadmin.extensions import db
    from propadmin.mail import queue_mail

    with app.test_request_context():
        queue_mail(
            db.session,
            "someone@example.com",
            "password_changed",
            "Notice",
            secrets=["https://estate.example.test/forgot-password"],
        )
        db.session.commit()
    assert "/forgot-password" in smtp.mailbox.text(smtp.mailbox.wait(1)[0])
    stored = _stored(db_session)
    assert "/forgot-password" not in stored.body_text + stored.body_html


def test_sqlite_database_file_is_created_private(tmp_path, monkeypatch):
    from propadmin import create_app

    from .conftest import TEST_KEYS

    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path / "instance"))
    old = os.umask(0o022)  # a usual umask would make it world-readable
    try:
        path = tmp_path / "data" / "estate.db"
        path.parent.mkdir()
        create_app({**TEST_KEYS, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # The default database in the instance folder too.
        create_app(dict(TEST_KEYS))
        default = tmp_path / "instance" / "propadmin.db"
        assert stat.S_IMODE(default.stat().st_mode) == 0o600
        # A relative path is in the instance folder, as Flask-SQLAlchemy reads it.
        create_app({**TEST_KEYS, "SQLALCHEMY_DATABASE_URI": "sqlite:///relative.db"})
        relative = tmp_path / "instance" / "relative.db"
        assert stat.S_IMODE(relative.stat().st_mode) == 0o600
        # An existing file is left as its owner set it.
        path.chmod(0o640)
        create_app({**TEST_KEYS, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(old)
