"""Real-browser tests: Debian's Chromium driven through Playwright against a live server.

They sign in and out through the real forms and check that the three key pages (login,
admin home, portal home) fit a phone (375 px) and a desktop (1280 px) without sideways
scrolling or English words left on the Chinese pages. Full-page screenshots land in
``test-artifacts/screenshots/<page>-<width>.png`` for a human to look at.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from models import Occupancy, Relation, User

from .helpers import DEMO_PASSWORD, unavailable

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the browser fixture, which every test uses, reports it
    sync_playwright = None

pytestmark = pytest.mark.browser

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
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
WIDTHS = (375, 1280)
HEIGHT = {375: 812, 1280: 800}
TIMEOUT_MS = 10_000

# What may stay in Latin letters on a Chinese page.
ALLOWED_LATIN = [
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mail addresses
    re.compile(r"PropAdmin"),  # the product name
    re.compile(r"English"),  # the language switch offers English in English
    re.compile(r"\d+\s*室\s*\d+\s*厅(\s*\d+\s*卫)?"),  # unit layouts
    re.compile(r"m²"),
    re.compile(r"\d+"),
]
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


# -- fixtures --------------------------------------------------------------------------
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


# -- helpers ---------------------------------------------------------------------------
def sign_in(tab: Tab, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill the real login form and press its submit button, like a person would."""
    page = tab.page
    tab.goto("/login")
    form = page.locator("form[action$='/login']")
    form.locator("[name=username]").fill(username)
    form.locator("[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def owner_unit_label(app, username: str) -> str:
    """How the portal names the user's owned unit: ``<building> <number>``."""
    from propadmin.extensions import db

    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        occupancy = db.session.scalars(
            select(Occupancy).where(
                Occupancy.resident_id == user.resident.id, Occupancy.relation == Relation.owner
            )
        ).first()
        label = f"{occupancy.unit.building.name} {occupancy.unit.number}"
        db.session.remove()
    return label


def latin_leftovers(text: str) -> list[str]:
    for pattern in ALLOWED_LATIN:
        text = pattern.sub(" ", text)
    return sorted(set(LATIN_WORD.findall(text)))


# -- signing in and out ----------------------------------------------------------------
def test_admin_signs_in_to_dashboard_and_out_via_user_menu(new_tab):
    tab = new_tab()
    page = tab.page
    sign_in(tab, "admin")
    expect(page).to_have_url(tab.base + "/admin/")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.locator(".estate-card").first).to_contain_text("示范小区")

    page.locator("#user-menu").click()
    sign_out = page.get_by_role("button", name="退出登录")
    expect(sign_out).to_be_visible()
    sign_out.click()
    expect(page).to_have_url(tab.base + "/login")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("退出")

    # The session really ended: the admin is closed again.
    tab.goto("/admin/")
    expect(page).to_have_url(re.compile(re.escape(tab.base) + r"/login\?next="))
    assert tab.problems == [] and tab.outside == []


def test_owner_signs_in_to_portal_and_out_via_top_bar(app, new_tab):
    unit = owner_unit_label(app, "owner")
    tab = new_tab(width=375)
    page = tab.page
    sign_in(tab, "owner")
    expect(page).to_have_url(tab.base + "/portal/")
    expect(page.get_by_role("heading", name="我的房屋")).to_be_visible()
    expect(page.locator(".tile .unit-label").first).to_have_text(unit)

    page.locator(".topbar").get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(tab.base + "/login")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    tab.goto("/portal/")
    expect(page).to_have_url(re.compile(re.escape(tab.base) + r"/login\?next="))
    assert tab.problems == [] and tab.outside == []


def test_wrong_password_keeps_user_on_login_page_with_message(new_tab):
    tab = new_tab(width=375)
    sign_in(tab, "owner", "not-the-password")
    expect(tab.page).to_have_url(tab.base + "/login")
    expect(tab.page.locator(".field .error")).to_contain_text("密码")


# -- the key pages at phone and desktop width ------------------------------------------
KEY_PAGES = {
    # page name → (who signs in, path, something the page must show)
    "login": (None, "/login", "登录"),
    "admin-home": ("admin", "/admin/", "工作台"),
    "portal-home": ("owner", "/portal/", "我的房屋"),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(KEY_PAGES))
def test_key_page_fits_width_and_is_all_chinese(new_tab, name, width):
    username, path, heading = KEY_PAGES[name]
    tab = new_tab(width=width)
    page = tab.page
    if username:
        sign_in(tab, username)
    tab.goto(path)
    expect(page).to_have_url(tab.base + path)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    page.evaluate("document.fonts.ready.then(() => true)")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)

    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{name} at {width}px scrolls sideways: content is {scroll_width}px wide"
    )
    leftovers = latin_leftovers(page.evaluate("document.body.innerText"))
    assert leftovers == [], f"{name} at {width}px shows English words: {leftovers}"
    assert tab.problems == [], tab.problems
    assert tab.outside == [], f"{name} loads from outside: {tab.outside}"

    if width == 375:
        # Buttons a thumb has to hit are at least 40 px high.
        small = page.evaluate(
            """() => [...document.querySelectorAll('button, .button, .tabbar a, .navbar-toggler')]
                .filter(el => el.offsetParent !== null)
                .map(el => [el.innerText.trim() || el.getAttribute('aria-label'),
                            Math.round(el.getBoundingClientRect().height)])
                .filter(([, h]) => h < 40)"""
        )
        assert small == [], f"{name} at {width}px has buttons too small to tap: {small}"


def test_portal_tab_bar_does_not_cover_content_on_phone(new_tab):
    # The profile page is longer than a phone screen; its last form must clear the bar.
    tab = new_tab(width=375)
    sign_in(tab, "owner")
    tab.goto("/portal/profile")
    page = tab.page
    assert page.evaluate("document.documentElement.scrollHeight > window.innerHeight")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    bar_top, content_bottom = page.evaluate(
        """() => {
            const bar = document.querySelector('.tabbar').getBoundingClientRect();
            const blocks = [...document.querySelectorAll(
                'main > *:not(.tabbar), .footer .lang-switch')];
            return [bar.top, Math.max(...blocks.map(b => b.getBoundingClientRect().bottom))];
        }"""
    )
    assert content_bottom <= bar_top + 1, (
        f"the tab bar (top {bar_top}px) hides content reaching down to {content_bottom}px"
    )


# -- English ---------------------------------------------------------------------------
def test_english_browser_gets_english_login_page(new_tab):
    tab = new_tab(locale="en-US", width=375)
    tab.goto("/login")
    expect(tab.page.locator("h1")).to_have_text("Sign in")
    expect(tab.page.locator("html")).to_have_attribute("lang", "en")
    expect(tab.page.locator("form[action$='/login'] button[type=submit]")).to_have_text("Sign in")
