"""Signing in and out: homes per role, one answer for every failure, sessions that end."""

import re
import time

import pytest
from sqlalchemy import select

from models import AuditLog, User

from .helpers import DEMO_PASSWORD, csrf_from, login, post_form

HOMES = {
    "admin": "/admin/",
    "finance": "/admin/",
    "repair": "/admin/",
    "owner": "/portal/",
    "owner2": "/portal/",
    "tenant": "/portal/",
}


@pytest.mark.parametrize("username", sorted(HOMES))
def test_each_role_lands_on_its_home(app, demo, username):
    client = app.test_client()
    response = login(client, username)
    assert response.status_code == 302
    assert response.location == HOMES[username]
    page = client.get(HOMES[username])
    assert page.status_code == 200


def test_login_accepts_email_instead_of_username(app, demo):
    client = app.test_client()
    assert login(client, "Finance@Example.com").location == "/admin/"


def _page_without_token(response) -> str:
    return re.sub(r'value="[^"]*"', "", response.text)


def test_unknown_user_wrong_password_and_disabled_account_get_the_same_answer(
    app, demo, db_session
):
    user = db_session.scalar(select(User).where(User.username == "repair"))
    user.active = False
    db_session.commit()
    answers = [
        login(app.test_client(), "nobody-here"),
        login(app.test_client(), "finance", "wrong-password1"),
        login(app.test_client(), "repair"),  # right password, disabled account
    ]
    assert {r.status_code for r in answers} == {200}
    assert "用户名或密码错误" in answers[0].text
    bodies = {_page_without_token(r) for r in answers}
    assert len(bodies) == 1


def test_failed_sign_in_is_audited_without_the_password(app, demo, db_session):
    login(app.test_client(), "finance", "wrong-password1")
    login(app.test_client(), "Secret-typed-in-the-wrong-box1", "x")
    entries = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "login").order_by(AuditLog.id)
    ).all()
    finance = db_session.scalar(select(User.id).where(User.username == "finance"))
    assert [(e.entity_id, e.changes) for e in entries] == [
        (str(finance), {"result": "failed"}),
        ("", {"result": "failed"}),
    ]
    assert "Secret-typed" not in str([e.changes for e in entries])


def test_next_parameter_only_follows_local_paths(app, demo):
    client = app.test_client()
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "username": "admin",
            "password": DEMO_PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/phish",
        },
    )
    assert response.location == "/admin/"
    client2 = app.test_client()
    token = csrf_from(client2.get("/login").text)
    response = client2.post(
        "/login",
        data={
            "username": "admin",
            "password": DEMO_PASSWORD,
            "csrf_token": token,
            "next": "/admin/unit/",
        },
    )
    assert response.location == "/admin/unit/"


def test_logout_ends_every_session_of_the_user(app, demo):
    phone, desk = app.test_client(), app.test_client()
    login(phone, "owner")
    login(desk, "owner")
    assert desk.get("/portal/").status_code == 200
    response = post_form(phone, "/portal/", {}, post_url="/logout")
    assert response.status_code == 302
    assert phone.get("/portal/").status_code == 302
    other = desk.get("/portal/")
    assert other.status_code == 302 and other.location.startswith("/login")


def test_logout_is_post_only(app, demo):
    assert app.test_client().get("/logout").status_code == 405


def test_password_change_ends_other_sessions_but_keeps_this_one(app, demo, db_session):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "tenant")
    login(elsewhere, "tenant")
    response = post_form(
        here,
        "/portal/profile",
        {"current": DEMO_PASSWORD, "password": "n3w-secret-pw", "confirm": "n3w-secret-pw"},
    )
    assert response.status_code == 302
    assert here.get("/portal/profile").status_code == 200
    assert elsewhere.get("/portal/").location.startswith("/login")
    assert login(app.test_client(), "tenant", "n3w-secret-pw").status_code == 302
    assert login(app.test_client(), "tenant", DEMO_PASSWORD).status_code == 200


def test_password_change_form_reports_errors_by_the_field(app, demo):
    client = app.test_client()
    login(client, "owner")
    wrong = post_form(
        client,
        "/portal/profile",
        {"current": "not-it-123", "password": "n3w-secret-pw", "confirm": "n3w-secret-pw"},
    )
    assert "当前密码不正确" in wrong.text
    weak = post_form(
        client,
        "/portal/profile",
        {"current": DEMO_PASSWORD, "password": "1234567890", "confirm": "1234567890"},
    )
    assert "这个密码太常见或太容易猜到" in weak.text
    differ = post_form(
        client,
        "/portal/profile",
        {"current": DEMO_PASSWORD, "password": "abc12345x", "confirm": "abc12345y"},
    )
    assert "两次输入的密码不一致" in differ.text
    assert login(app.test_client(), "owner").status_code == 302  # unchanged


def test_idle_session_times_out(app, demo):
    client = app.test_client()
    login(client, "admin")
    with client.session_transaction() as session:
        session["_seen_at"] = time.time() - app.config["SESSION_IDLE_TIMEOUT"].total_seconds() - 5
    response = client.get("/admin/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert client.get("/admin/").location.startswith("/login")


def test_pages_do_not_rewrite_the_session_cookie_until_the_idle_stamp_moves(app, demo):
    """A page seen within 30 s of the last keeps the cookie as it is (no Set-Cookie: no
    signing and compressing the session on every page); later, the cookie is rewritten
    with the new stamp, so an active session never reaches the idle timeout."""
    client = app.test_client()
    login(client, "admin")
    client.get("/admin/")
    again = client.get("/admin/")
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
    with client.session_transaction() as session:
        session["_seen_at"] = time.time() - 31
    later = client.get("/admin/")
    assert app.config["SESSION_COOKIE_NAME"] in later.headers["Set-Cookie"]
    with client.session_transaction() as session:
        assert time.time() - session["_seen_at"] < 5


def test_absolute_session_lifetime_ends_even_an_active_session(app, demo):
    client = app.test_client()
    login(client, "admin")
    with client.session_transaction() as session:
        session["_login_at"] = (
            time.time() - app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds() - 5
        )
        session["_seen_at"] = time.time()
    assert client.get("/admin/").location.startswith("/login")


def test_session_cookie_flags(app, demo):
    client = app.test_client()
    login(client, "admin")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_https_deployments_get_secure_cookies(database_url, tmp_path, monkeypatch):
    from propadmin import create_app

    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path))
    url = {"SQLALCHEMY_DATABASE_URI": database_url}
    app = create_app({"BASE_URL": "https://estate.example.com", **url})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    plain = create_app({"BASE_URL": "http://127.0.0.1:5000", **url})
    assert plain.config["SESSION_COOKIE_SECURE"] is False


def test_owner_is_refused_the_admin(login_as):
    owner = login_as("owner")
    assert owner.get("/admin/").status_code == 403
    assert owner.get("/admin/unit/").status_code == 403


def test_staff_without_portal_permission_is_refused_the_portal(login_as):
    assert login_as("finance").get("/portal/").status_code == 403


def test_form_messages_follow_the_readers_language_on_every_request(app, demo):
    """WTForms' own messages (a required field left empty) come in the reader's language,
    request after request and language after language (each catalogue is read once per
    process and shared)."""
    for _ in range(2):
        for language, message, other in (
            ("zh-CN", "该字段是必填字段。", "This field is required."),
            ("en", "This field is required.", "该字段是必填字段。"),
        ):
            client = app.test_client()
            headers = {"Accept-Language": language}
            token = csrf_from(client.get("/login", headers=headers).text)
            page = client.post(
                "/login",
                data={"username": "", "password": "", "csrf_token": token},
                headers=headers,
            ).text
            assert message in page and other not in page, language
