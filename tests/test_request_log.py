"""The request log: one JSON line per request, with what an operator needs to follow it
(time, method, path, status, duration, user, request id, client address) and none of
what a person typed or was sent: passwords, reset and activation tokens, one-time codes,
mobile and ID-card numbers."""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import select

from models import Bill, Resident
from propadmin.request_log import logger

from .helpers import DEMO_PASSWORD, Mailbox, csrf_from, login, post_form
from .served import deployment_env, redis_available, serving
from .test_password_reset import ask_for_reset, reset_link
from .test_portal_access import (
    NEW_PASSWORD,
    choose_password,
    enter_code,
    portal_action,
    printed_code,
    resident_in_demo,
)

FIELDS = {
    "time",
    "request_id",
    "method",
    "path",
    "endpoint",
    "query_params",
    "status",
    "duration_ms",
    "user_id",
    "remote_addr",
}
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.raw.append(record.getMessage())

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.raw]


@pytest.fixture
def request_log(app):
    handler = Captured()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def assert_none_of(secrets: dict[str, str], text: str) -> None:
    leaked = [name for name, value in secrets.items() if value and value in text]
    assert leaked == [], f"the request log holds the {', '.join(leaked)}"


def test_each_request_has_one_line_with_the_operator_fields(app, demo, request_log, db_session):
    owner = app.test_client()
    assert owner.get("/login").status_code == 200
    assert login(owner, "owner").status_code == 302
    bill_id = db_session.scalar(select(Bill.id).order_by(Bill.id))
    pages = ["/portal/", "/portal/bills", "/portal/repairs", "/portal/notices", "/portal/profile"]
    responses = [owner.get(page) for page in pages]

    lines = request_log.lines
    # GET /login, then login(): GET /login for the token and the POST.
    assert len(lines) == 3 + len(pages)
    for line in lines:
        assert set(line) == FIELDS
        assert ISO_UTC.fullmatch(line["time"])
        assert line["remote_addr"] == "127.0.0.1"
        assert line["duration_ms"] >= 0
    assert [(line["method"], line["path"], line["status"]) for line in lines[:3]] == [
        ("GET", "/login", 200),
        ("GET", "/login", 200),
        ("POST", "/login", 302),
    ]
    assert lines[0]["user_id"] is None
    owner_id = lines[3]["user_id"]
    assert isinstance(owner_id, int)
    assert [line["path"] for line in lines[3:]] == pages
    assert {line["user_id"] for line in lines[3:]} == {owner_id}
    # The id a person can quote from the response is the one in the log.
    assert [r.headers["X-Request-ID"] for r in responses] == [
        line["request_id"] for line in lines[3:]
    ]
    assert len({line["request_id"] for line in lines}) == len(lines)

    detail = owner.get(f"/portal/bills/{bill_id}")
    assert request_log.lines[-1]["path"] == f"/portal/bills/{bill_id}"
    assert request_log.lines[-1]["status"] == detail.status_code

    post_form(owner, "/portal/", {}, post_url="/logout")
    assert request_log.lines[-1]["path"] == "/logout"
    assert request_log.lines[-1]["user_id"] == owner_id
    owner.get("/login")
    assert request_log.lines[-1]["user_id"] is None


def test_the_proxys_request_id_is_kept_and_a_malformed_one_replaced(app, request_log):
    client = app.test_client()
    nginx_id = "5f0c2b7e9a4d4c1e8b3a6d2f1e0c9b8a"
    assert (
        client.get("/login", headers={"X-Request-ID": nginx_id}).headers["X-Request-ID"] == nginx_id
    )
    forged = client.get("/login", headers={"X-Request-ID": 'x" {"status": 200}'})
    assert forged.headers["X-Request-ID"] != 'x" {"status": 200}'
    assert [line["request_id"] for line in request_log.lines] == [
        nginx_id,
        forged.headers["X-Request-ID"],
    ]


def test_static_files_and_health_checks_are_logged_only_when_they_fail(app, request_log):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    page = client.get("/login").text
    static = re.search(r'"(/(?:admin/)?static/[^"?]+)', page).group(1)
    served = client.get(static)
    served.close()
    assert served.status_code == 200
    assert client.get("/static/no-such-file.css").status_code == 404
    assert [(line["path"], line["status"]) for line in request_log.lines] == [
        ("/login", 200),
        ("/static/<filename>", 404),
    ]


def test_no_password_token_code_or_number_reaches_the_log(
    app, demo, smtp, make, db_session, request_log
):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    secrets = {
        "demo password": DEMO_PASSWORD,
        "wrong password": "Wrong-guess-731",
        "new password": "Fresh-pass-42",
        "activation password": NEW_PASSWORD,
        "mobile number": zhang.mobile,
        "ID-card number": zhang.id_number,
    }

    # A failed and a good sign-in.
    stranger = app.test_client()
    assert login(stranger, "owner", secrets["wrong password"]).status_code == 200
    assert login(app.test_client(), "owner").status_code == 302

    # A password reset with the real token in the path, and a mangled link (404).
    person = app.test_client()
    ask_for_reset(person, "owner@example.com")
    path = reset_link(smtp).removeprefix(app.config["BASE_URL"])
    secrets["reset token"] = path.rsplit("/", 1)[1]
    assert person.get(f"{path}/").status_code == 404
    assert person.get(path).status_code == 302
    form = person.get("/reset-password/new")
    done = person.post(
        "/reset-password/new",
        data={
            "password": secrets["new password"],
            "confirm": secrets["new password"],
            "csrf_token": csrf_from(form.text),
        },
    )
    assert done.status_code == 302

    # The register searched by full numbers, in the search box and mangled into a path.
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    for number in (zhang.mobile, zhang.id_number):
        assert "张伟" in admin.get("/admin/resident/", query_string={"search": number}).text
        assert admin.get(f"/admin/resident/{number}").status_code == 404

    # An invitation code typed in, and an activation link opened.
    invited = resident_in_demo(make, db_session, demo, name="孙日志", email="sun@example.org")
    secrets["access code"] = printed_code(portal_action(admin, invited.id, "invite_code"))
    assert enter_code(app.test_client(), secrets["access code"]).status_code == 302
    assert portal_action(admin, invited.id, "invite_mail").status_code == 302
    mailed = smtp.mailbox.wait(3)[-1]
    link = re.search(r"https://estate\.example\.test(/activate/\S+)", Mailbox.text(mailed))[1]
    secrets["activation token"] = link.rsplit("/", 1)[1]
    newcomer = app.test_client()
    assert newcomer.get(link).status_code == 302
    assert choose_password(newcomer, NEW_PASSWORD).status_code == 302
    assert newcomer.get("/portal/").status_code == 200

    log = "\n".join(request_log.raw)
    assert_none_of(secrets, log)
    paths = {line["path"] for line in request_log.lines}
    assert {"/reset-password/<token>", "/activate/<token>"} <= paths
    assert "/admin/resident/<redacted>" in paths
    searches = [line for line in request_log.lines if line["path"] == "/admin/resident/"]
    assert searches and all(line["query_params"] == 1 for line in searches)
    failed, good = request_log.lines[1], request_log.lines[3]
    assert (failed["status"], failed["user_id"]) == (200, None)
    assert good["status"] == 302 and isinstance(good["user_id"], int)


@pytest.mark.parametrize(
    "path",
    [
        "/portal/138-1234-5678",
        "/portal/138 1234 5678",
        "/portal/+86.138.1234.5678",
        "/admin/resident/110105-19900307-1234",
    ],
)
def test_a_number_written_with_separators_in_a_mistyped_path_is_not_logged(
    app, request_log, path
):
    assert app.test_client().get(path).status_code == 404
    (line,) = request_log.lines
    assert "1234" not in line["path"] and "<redacted>" in line["path"]


def test_a_sign_out_posted_by_a_visitor_is_logged_without_an_account(app, request_log):
    client = app.test_client()
    token = csrf_from(client.get("/login").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert request_log.lines[-1]["path"] == "/logout"
    assert request_log.lines[-1]["user_id"] is None


@pytest.mark.config(REQUEST_LOG="off")
def test_the_log_can_be_turned_off(app, request_log):
    app.test_client().get("/login")
    assert request_log.raw == []


def test_served_by_gunicorn_the_lines_are_in_the_hosts_log(pg_demo, tmp_path):
    """The same lines in what gunicorn writes (stderr), from a served sign-in and search."""
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    redis_available()
    wrong = "Served-wrong-pass-93"
    env = deployment_env(pg_demo, tmp_path / "instance", PROPADMIN_PROXY_FIX_X_FOR="1")
    with serving(env, tmp_path) as (host,):
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "req-from-nginx-0001"}

        def sign_in(password: str) -> None:
            page = opener.open(f"{host.url}/login", timeout=10).read().decode()
            form = {"username": "admin", "password": password, "csrf_token": csrf_from(page)}
            request = urllib.request.Request(  # noqa: S310 — http on loopback
                f"{host.url}/login", urllib.parse.urlencode(form).encode(), headers=forwarded
            )
            opener.open(request, timeout=10).read()

        sign_in(wrong)
        sign_in(DEMO_PASSWORD)
        mobile = "13800138000"
        search = f"{host.url}/admin/resident/?search={mobile}"
        assert opener.open(search, timeout=10).status == 200
        try:
            opener.open(f"{host.url}/reset-password/Not.A-real_token-but-long-enough", timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 400
    log = host.log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith('{"time"')]
    assert [line["path"] for line in lines if line["method"] == "POST"] == ["/login", "/login"]
    posts = [line for line in lines if line["method"] == "POST"]
    assert {line["remote_addr"] for line in posts} == {"203.0.113.9"}
    assert {line["request_id"] for line in posts} == {"req-from-nginx-0001"}
    assert posts[0]["user_id"] is None and isinstance(posts[1]["user_id"], int)
    assert any(line["path"] == "/admin/resident/" and line["user_id"] for line in lines)
    assert any(line["path"] == "/reset-password/<token>" for line in lines)
    assert_none_of(
        {
            "password": DEMO_PASSWORD,
            "wrong password": wrong,
            "number": mobile,
            "token": "Not.A-real_token",
        },
        log,
    )
