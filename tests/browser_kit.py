"""The browser fixtures every browser test file shares (re-exported by conftest.py, so
that one Chromium serves the whole run): a live server of the app with the demo estate,
Debian's Chromium driven by Playwright, and tabs in fresh contexts."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from .helpers import unavailable

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # the browser fixture, which every test uses, reports it
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEIGHT = {375: 812, 1280: 800}
TIMEOUT_MS = 10_000


@pytest.fixture
def live_server(app, demo):
    """The app, with the demo estate, served on a free loopback port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run; missing or broken Chromium fails the tests."""
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM}")
    if sync_playwright is None:
        unavailable("Chromium cannot be driven: the playwright package is not installed")
    playwright = sync_playwright().start()
    chromium = failure = None
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
    except PlaywrightError as exc:
        failure = exc.message.splitlines()[0]
    if chromium is None:
        playwright.stop()
        unavailable(f"Chromium at {CHROMIUM} does not start: {failure}")
    yield chromium
    chromium.close()
    playwright.stop()


class Tab:
    """A browser page plus what went wrong while it was open."""

    def __init__(self, page, base: str, outside: list[str]) -> None:
        self.page = page
        self.base = base
        self.problems: list[str] = []
        self.outside = outside  # requests to anywhere but the live server (aborted)
        page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.problems.append(f"console error: {msg.text}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status} for {response.url}")

    def _failed(self, request) -> None:
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def goto(self, path: str):
        return self.page.goto(self.base + path)


@pytest.fixture
def new_tab(browser, live_server):
    """``new_tab(locale=..., width=...)`` → a Tab in a fresh browser context (own cookies)."""
    contexts = []

    def _open(locale: str = "zh-CN", width: int = 1280) -> Tab:
        context = browser.new_context(
            locale=locale,
            viewport={"width": width, "height": HEIGHT.get(width, 800)},
            service_workers="block",
        )
        context.set_default_timeout(TIMEOUT_MS)
        # Everything the pages need comes from our own server; anything else is a bug.
        outside = []
        context.route(
            re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"),
            lambda route: (outside.append(route.request.url), route.abort()),
        )
        contexts.append(context)
        return Tab(context.new_page(), live_server, outside)

    yield _open
    for context in contexts:
        context.close()
