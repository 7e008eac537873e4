"""Test helpers: CSRF-aware form posts, sign-in, a real SMTP server on loopback."""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

ALLOW_SKIP = os.environ.get("PROPADMIN_TEST_ALLOW_SKIP") == "1"
DEMO_PASSWORD = "demo1234"
ROLES = ("admin", "finance", "repair", "owner", "owner2", "tenant")


def unavailable(what: str) -> None:
    """PostgreSQL and Chromium are part of the suite: missing means failed, not skipped."""
    if ALLOW_SKIP:
        pytest.skip(f"{what} (PROPADMIN_TEST_ALLOW_SKIP=1)")
    pytest.fail(f"{what}; the suite requires it (set PROPADMIN_TEST_ALLOW_SKIP=1 to skip)")


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str, form_id: str | None = None) -> str:
    """The CSRF token of the page, or of the form with that id (Flask-Admin's own forms
    carry their own SecureForm token)."""
    if form_id is not None:
        start = html.index(f'id="{form_id}"')
        html = html[start : html.index("</form>", start)]
    match = CSRF_RE.search(html)
    assert match, "page has no csrf_token"
    return match.group(1) or match.group(2)


def login(client, username: str, password: str = DEMO_PASSWORD, **kwargs):
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        **kwargs,
    )


def post_form(client, page_url: str, data: dict, post_url: str | None = None, **kwargs):
    """Post like a browser: fetch the page for its CSRF token, then submit."""
    token = csrf_from(client.get(page_url).text)
    return client.post(post_url or page_url, data={**data, "csrf_token": token}, **kwargs)


# -- a real SMTP server on loopback --------------------------------------------------
@dataclass
class Mailbox:
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd API
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(msg)
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(msg) -> str:
        return msg.get_body(preferencelist=("html",)).get_content()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def id_number(body: str = "11010519900307123") -> str:
    """A well-formed (fake) resident ID number: 17 digits and their check digit."""
    from propadmin.services.identifiers import id_check_digit

    return body + id_check_digit(body)


def id_number_with_x() -> str:
    """One whose check character is X, to test normalization of a typed lower-case x."""
    for seq in range(1000):
        value = id_number(f"11010519900307{seq:03d}")
        if value.endswith("X"):
            return value
    raise AssertionError("no X check digit found")


def wrong_check_digit(value: str) -> str:
    return value[:17] + ("0" if value[17] != "0" else "1")


def on_two_hosts(app, job) -> list:
    """Run ``job(session)`` in two threads released at the same moment, each with its own
    app context and session, as two hosts would; commit each; return both results. An
    error in either thread fails the test with its traceback."""
    import threading
    import traceback

    from propadmin.extensions import db

    start = threading.Barrier(2)
    results, errors = [], []

    def host():
        try:
            with app.test_request_context():
                start.wait(timeout=10)
                results.append(job(db.session))
                db.session.commit()
        except Exception:  # noqa: BLE001 — reported below
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=host) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [], "\n".join(errors)
    return results
