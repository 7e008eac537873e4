"""Password reset end to end, through a real SMTP server on loopback."""

import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from models import OutboxMessage

from .helpers import DEMO_PASSWORD, Mailbox, csrf_from, login, post_form

LINK_RE = re.compile(r"https?://\S+/reset-password/\S+")


def ask_for_reset(client, email, headers=None, **kwargs):
    token = csrf_from(client.get("/forgot-password", headers=headers).text)
    response = client.post(
        "/forgot-password", data={"email": email, "csrf_token": token}, headers=headers, **kwargs
    )
    assert response.status_code in (200, 302), response.status_code
    return response


def reset_link(smtp, count=1) -> str:
    messages = smtp.mailbox.wait(count)
    assert len(messages) == count, "the reset mail did not arrive"
    return LINK_RE.search(Mailbox.text(messages[-1])).group(0)


def test_reset_flow_end_to_end(app, demo, smtp):
    client = app.test_client()
    response = ask_for_reset(client, "owner@example.com")
    assert response.status_code == 302
    msg = smtp.mailbox.wait(1)[0]
    assert msg["To"] == "owner@example.com"
    assert msg["Subject"] == "重设您的物业管理系统密码"
    link = LINK_RE.search(Mailbox.text(msg)).group(0)
    assert link in Mailbox.html(msg)

    # Opening the link moves the token out of the address before the form is shown.
    path = link.removeprefix(app.config["BASE_URL"])
    opened = client.get(path)
    assert opened.status_code == 302 and opened.location == "/reset-password/new"
    form = client.get("/reset-password/new")
    assert form.status_code == 200 and "设置新密码" in form.text
    assert form.headers["Referrer-Policy"] == "no-referrer"
    token = path.rsplit("/", 1)[1]
    assert token not in form.text

    done = client.post(
        "/reset-password/new",
        data={
            "password": "Fresh-pass-42",
            "confirm": "Fresh-pass-42",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert done.status_code == 302 and done.location == "/login"
    assert login(app.test_client(), "owner", "Fresh-pass-42").status_code == 302
    assert login(app.test_client(), "owner", DEMO_PASSWORD).status_code == 200

    notice = smtp.mailbox.wait(2)[1]
    assert notice["Subject"] == "您的物业管理系统密码已修改"

    # The same link a second time is refused.
    again = app.test_client()
    again.get(path)
    assert again.get("/reset-password/new").status_code == 400


# A Host outside TRUSTED_HOSTS gets a 400 before any form (tests/test_security_headers.py);
# even one the operator lets in never makes the links.
@pytest.mark.config(TRUSTED_HOSTS=["estate.example.test", "evil.example.com"])
def test_link_uses_base_url_not_the_host_header(app, demo, smtp):
    ask_for_reset(app.test_client(), "owner@example.com", headers={"Host": "evil.example.com"})
    link = reset_link(smtp)
    assert link.startswith("https://estate.example.test/reset-password/")
    assert "evil" not in Mailbox.text(smtp.mailbox.messages[0])


def test_no_hint_whether_an_address_has_an_account(app, demo, smtp):
    known = ask_for_reset(app.test_client(), "owner@example.com", follow_redirects=True)
    unknown = ask_for_reset(app.test_client(), "nobody@example.com", follow_redirects=True)
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.text)  # noqa: E731
    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    smtp.mailbox.wait(1)
    time.sleep(0.2)
    assert [m["To"] for m in smtp.mailbox.messages] == ["owner@example.com"]


def test_reset_link_expires_after_an_hour(app, demo, smtp, monkeypatch):
    ask_for_reset(app.test_client(), "owner@example.com")
    path = reset_link(smtp).removeprefix(app.config["BASE_URL"])
    later = time.time() + 3601
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(later))
    client = app.test_client()
    client.get(path)
    page = client.get("/reset-password/new")
    assert page.status_code == 400 and "重新获取链接" in page.text


def test_link_is_useless_after_the_password_changed_another_way(app, demo, smtp):
    ask_for_reset(app.test_client(), "tenant@example.com")
    path = reset_link(smtp).removeprefix(app.config["BASE_URL"])
    client = app.test_client()
    login(client, "tenant")
    post_form(
        client,
        "/portal/profile",
        {"current": DEMO_PASSWORD, "password": "Other-pass-7", "confirm": "Other-pass-7"},
    )
    fresh = app.test_client()
    fresh.get(path)
    assert fresh.get("/reset-password/new").status_code == 400


def test_tampered_token_is_refused(app, demo, smtp):
    ask_for_reset(app.test_client(), "owner@example.com")
    path = reset_link(smtp).removeprefix(app.config["BASE_URL"])
    client = app.test_client()
    client.get(path[:-3] + "abc")
    assert client.get("/reset-password/new").status_code == 400


def test_weak_new_password_is_reported_by_the_field(app, demo, smtp):
    ask_for_reset(app.test_client(), "owner@example.com")
    path = reset_link(smtp).removeprefix(app.config["BASE_URL"])
    client = app.test_client()
    client.get(path)
    form = client.get("/reset-password/new")
    response = client.post(
        "/reset-password/new",
        data={"password": "short1", "confirm": "short1", "csrf_token": csrf_from(form.text)},
    )
    assert response.status_code == 200
    assert "密码至少需要 10 个字符" in response.text
    assert login(app.test_client(), "owner").status_code == 302


def test_reset_mail_is_in_the_readers_language(app, demo, smtp, db_session):
    from models import User

    user = db_session.scalar(select(User).where(User.username == "owner2"))
    user.locale = "en"
    db_session.commit()
    ask_for_reset(app.test_client(), "owner2@example.com")
    msg = smtp.mailbox.wait(1)[0]
    assert msg["Subject"] == "Reset your PropAdmin password"
    assert "open this link within one hour" in Mailbox.text(msg)


def test_reset_mail_body_is_stored_but_not_shown_in_the_admin(login_as, app, smtp, db_session):
    ask_for_reset(app.test_client(), "owner@example.com")
    link = reset_link(smtp)
    message = db_session.scalar(select(OutboxMessage))
    admin = login_as("admin")
    page = admin.get(f"/admin/outbox/details/?id={message.id}")
    assert page.status_code == 200
    assert link.rsplit("/", 1)[1] not in page.text


def test_link_is_useless_after_the_email_address_changed(app, demo, smtp, db_session):
    from models import User

    ask_for_reset(app.test_client(), "owner2@example.com")
    path = reset_link(smtp).removeprefix(app.config["BASE_URL"])
    user = db_session.scalar(select(User).where(User.username == "owner2"))
    user.email = "owner2.new@example.com"
    db_session.commit()
    client = app.test_client()
    client.get(path)
    assert client.get("/reset-password/new").status_code == 400
