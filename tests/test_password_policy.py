"""The password policy: long enough, not common, not built from the person's own data,
on every path that sets a password; the demo seeder alone is exempt."""

import pytest
from sqlalchemy import select

from models import Resident, User

from .helpers import DEMO_PASSWORD, csrf_from, login, post_form

STRONG = "Lantern-Orchid-73"
TOO_SHORT = "密码至少需要 10 个字符"
COMMON = "这个密码太常见或太容易猜到"
PERSONAL = "密码不能由您的姓名、用户名、电子邮箱或手机号组成"


def _check(app, password, username="owner"):
    """The policy's answer for a password set by a demo account, '' when accepted."""
    from propadmin.extensions import db
    from propadmin.services import ServiceError
    from propadmin.services.accounts import validate_password

    with app.test_request_context(headers={"Accept-Language": "zh"}):
        user = db.session.scalar(select(User).where(User.username == username))
        try:
            validate_password(password, user)
        except ServiceError as exc:
            return exc.message
        return ""


@pytest.mark.parametrize(
    ("password", "answer"),
    [
        ("Ab3-xY9!q", TOO_SHORT),  # nine characters
        ("password123", COMMON),
        ("qwertyuiop12", COMMON),
        ("Password2026!", COMMON),
        ("owner2026abc", PERSONAL),  # the user name
        ("owner@example.com1", PERSONAL),  # the e-mail address
        ("张伟张伟-2026-abc", PERSONAL),  # the display name and the linked resident's name
    ],
)
def test_weak_passwords_are_refused_with_a_reason(app, demo, password, answer):
    assert answer in _check(app, password)


def test_the_residents_own_mobile_number_is_refused(app, demo, db_session):
    resident = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    assert PERSONAL in _check(app, f"{resident.mobile}x!", username="owner")
    # For someone else's account that number is not personal data.
    assert PERSONAL not in _check(app, f"{resident.mobile}x!", username="finance")


@pytest.mark.parametrize("password", [STRONG, "correct horse battery staple", "Tr0ub4dor&3x-q"])
def test_strong_passwords_pass(app, demo, password):
    assert _check(app, password) == ""


def test_reset_refuses_a_common_password(app, demo, smtp):
    from .test_password_reset import ask_for_reset, reset_link

    ask_for_reset(app.test_client(), "owner@example.com")
    client = app.test_client()
    client.get(reset_link(smtp).removeprefix(app.config["BASE_URL"]))
    form = client.get("/reset-password/new")
    response = client.post(
        "/reset-password/new",
        data={
            "password": "password123",
            "confirm": "password123",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert response.status_code == 200 and COMMON in response.text
    assert login(app.test_client(), "owner").status_code == 302


def test_portal_change_refuses_a_password_made_of_the_users_data(app, demo):
    client = app.test_client()
    login(client, "owner")
    weak = post_form(
        client,
        "/portal/profile",
        {"current": DEMO_PASSWORD, "password": "owner-owner-1", "confirm": "owner-owner-1"},
    )
    assert weak.status_code == 200 and PERSONAL in weak.text
    assert login(app.test_client(), "owner").status_code == 302  # unchanged


def test_admin_user_form_refuses_a_common_password(login_as, db_session):
    from .test_admin import admin_form

    admin = login_as("admin")
    response = admin_form(
        admin,
        "/admin/user/new/",
        {
            "username": "newdesk",
            "email": "newdesk@example.com",
            "display_name": "前台",
            "active": "y",
            "new_password": "iloveyou1234",
            "locale": "",
        },
    )
    assert response.status_code == 200 and COMMON in response.text
    assert db_session.scalar(select(User).where(User.username == "newdesk")) is None


def test_cli_users_create_refuses_a_common_password(app, demo, db_session):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--username",
            "clidesk",
            "--email",
            "clidesk@example.com",
            "--password",
            "password1234",
        ]
    )
    assert result.exit_code == 1 and "password" in result.output
    assert "太常见" in result.output
    assert db_session.scalar(select(User).where(User.username == "clidesk")) is None


def test_demo_seeding_is_exempt_from_the_policy(app):
    from propadmin.extensions import db
    from propadmin.services.demo import seed_demo

    with app.app_context():
        seed_demo(db.session, units=6, password="demo1234")
        db.session.commit()
    assert login(app.test_client(), "finance", "demo1234").status_code == 302


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
def test_portal_current_password_guesses_are_throttled_like_sign_in(app, demo):
    client = app.test_client()
    login(client, "owner")
    for i in range(3):
        wrong = post_form(
            client,
            "/portal/profile",
            {"current": f"guess-{i}-xyz", "password": STRONG, "confirm": STRONG},
        )
        assert "当前密码不正确" in wrong.text
    blocked = post_form(
        client,
        "/portal/profile",
        {"current": DEMO_PASSWORD, "password": STRONG, "confirm": STRONG},
    )
    assert blocked.status_code in (200, 429)
    assert "尝试次数过多" in blocked.text
    assert login(app.test_client(), "owner", STRONG).status_code != 302  # not changed
