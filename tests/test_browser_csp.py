"""The Content-Security-Policy in Chromium: every admin page (list, create, edit, details
and the hand-written pages) as the estate's admin and every portal page as an owner open
without one refused script, style or handler, and the parts that run on JavaScript still
work under the policy: a list's filters, mass actions and delete confirmation, the fee
rates' inline rows, the notice editor's toolbar, the finance and repair charts, the
portal's tab bar. A refusal shows as a ``securitypolicyviolation`` event and a console
error; either fails the test."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Notice, Payment, RepairRequest

from .helpers import login
from .test_access import a_record_of_each_view, all_rules
from .test_browser import WIDTHS, assert_looks_finished, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Recorded in the page from its first script on, read before the page is left.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.effectiveDirective} refused ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`
));
"""
# Admin pages that are not HTML pages: downloads, lookups, pictures.
NOT_PAGES = (".ajax_lookup", ".ajax_update", ".export", ".static", "photo", "template")


class Watched:
    """A signed-in tab that collects what the policy refused, page by page."""

    def __init__(self, tab) -> None:
        self.tab, self.page = tab, tab.page
        self.page.add_init_script(WATCH_VIOLATIONS)
        self.refused: list[str] = []

    def visit(self, path: str) -> None:
        response = self.tab.goto(path)
        assert response.status == 200, f"{path}: {response.status}"
        self.check(path)

    def check(self, where: str, page=None) -> None:
        page = page or self.page
        events = page.evaluate("window.__csp || []")
        self.refused += [f"{where}: {event}" for event in events]
        page.evaluate("window.__csp = []")

    def visit_all(self, paths: list[str], lanes: int = 3) -> None:
        """Open the pages ``lanes`` at a time, in more tabs of the same session: the
        browser loads them side by side (the test harness's routing turns its cache off)."""
        tabs = [self.page]
        for _ in range(lanes - 1):
            extra = self.page.context.new_page()
            extra.add_init_script(WATCH_VIOLATIONS)
            extra.on("pageerror", lambda exc: self.tab.problems.append(f"script error: {exc}"))
            extra.on("console", self._console)
            tabs.append(extra)
        for start in range(0, len(paths), lanes):
            batch = list(zip(tabs, paths[start : start + lanes], strict=False))
            answers = [tab.goto(self.tab.base + path, wait_until="commit") for tab, path in batch]
            for (tab, path), response in zip(batch, answers, strict=True):
                tab.wait_for_load_state("load")
                assert response.status == 200, f"{path}: {response.status}"
                self.check(path, tab)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.tab.problems.append(f"console error: {msg.text}")

    def problems(self) -> list[str]:
        """Refusals, and the console errors and script errors they cause. (A picture in a
        demo notice is at BASE_URL, outside the live server: its failed load is no refusal.)"""
        errors = [
            p
            for p in self.tab.problems
            if p.startswith(("script error", "console error"))
            and "Failed to load resource" not in p
        ]
        return self.refused + errors


def watched(new_tab, username: str) -> Watched:
    tab = new_tab()
    sign_in(tab, username)
    return Watched(tab)


def admin_pages(app, db_session) -> list[str]:
    """Every admin page the demo admin may open: each view's list, its create and edit
    forms and details of a demo record, and the pages that are not model views."""
    record_ids = a_record_of_each_view(app, db_session)
    client = app.test_client()
    login(client, "admin")
    pages = []
    for endpoint, method, url in all_rules(app, record_ids):
        if method != "GET" or not url.startswith("/admin") or endpoint.endswith(NOT_PAGES):
            continue
        if endpoint.endswith((".edit_view", ".details_view")) and "?id=" not in url:
            continue
        response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages.append(url)
    # Record pages outside the model views: a repair, a notice and its form, a receipt.
    first = lambda query: db_session.scalar(query.limit(1))  # noqa: E731
    repair = first(select(RepairRequest.id).order_by(RepairRequest.id))
    notice = first(select(Notice.id).order_by(Notice.id))
    receipt = first(select(Payment.id).where(Payment.receipt_no.is_not(None)))
    pages += [
        f"/admin/repairs/{repair}",
        f"/admin/notices/{notice}",
        f"/admin/notices/{notice}/edit",
        f"/admin/payment/receipt/?id={receipt}",
    ]
    return pages


def test_every_admin_page_runs_under_the_policy(app, db_session, demo, new_tab):
    pages = admin_pages(app, db_session)
    assert len(pages) > 90, pages  # every model view's four pages and the others
    admin = watched(new_tab, "admin")
    admin.visit_all(pages)
    assert not admin.problems(), "\n".join(admin.problems())


def test_admin_scripts_still_work_under_the_policy(demo, new_tab):
    admin = watched(new_tab, "admin")
    page = admin.page
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))

    # A list's filter menu adds a filter row.
    admin.visit("/admin/unit/")
    page.locator(".field-filters").locator("xpath=preceding-sibling::a").click()
    page.locator(".field-filters a.filter").first.click()
    expect(page.locator(".filters tr")).to_have_count(1)
    # Flask-Admin's javascript: links (a menu, the current tab and page) are not refused.
    admin.visit("/admin/meter/")
    page.locator(".pa-navbar a.dropdown-toggle[href^='javascript:']").first.click()
    expect(page.locator(".pa-navbar .dropdown-menu.show")).to_be_visible()
    page.locator(".nav-tabs a.active[href^='javascript:']").click()
    page.locator(".pagination .active a[href^='javascript:']").click()
    # Mass actions ask first; declining keeps the rows as they were.
    admin.visit("/admin/meter_reading/")
    page.locator("input.action-checkbox").first.check()
    page.locator("#action_form").locator("xpath=..").locator("a[data-action]").first.dispatch_event(
        "click"
    )
    # The delete button asks first; declining leaves the record in the list.
    admin.visit("/admin/vehicle/")
    rows = page.locator("table.model-list tbody tr").count()
    page.locator("button[data-confirm]").first.click()
    expect(page.locator("table.model-list tbody tr")).to_have_count(rows)
    assert len(questions) == 2 and all(questions), questions
    admin.check("confirmations")

    # A rate's tiers are inline rows: Add gives a new one.
    admin.visit("/admin/fee_rate/new/")
    page.locator("[data-inline-add]").click()
    expect(page.locator(".inline-field input[name$='up_to']")).to_have_count(1)
    admin.check("inline rows")

    # The notice editor's toolbar formats the text and writes it into the form.
    admin.visit("/admin/notices/new")
    area = page.locator(".rich-area")
    expect(area).to_be_visible()
    area.click()
    page.keyboard.type("停水通知")
    page.keyboard.press("Control+A")
    page.locator(".rich-toolbar [data-command=bold]").click()
    expect(area.locator("b, strong")).to_have_text("停水通知")
    admin.check("notice editor")

    # The charts are drawn, and their tooltips show on hover.
    charts = (("/admin/finance/", "#chart-months"), ("/admin/repairs/reports", ".repair-chart"))
    for path, chart in charts:
        admin.visit(path)
        drawn = page.locator(f"{chart} canvas").first
        expect(drawn).to_be_visible()
        drawn.hover()
        admin.check(f"{path} chart")
    assert not admin.problems(), "\n".join(admin.problems())


def test_every_portal_page_runs_under_the_policy(demo, new_tab):
    """The owner's portal, every page reached by its own links, and the tab bar."""
    owner = watched(new_tab, "owner")
    page = owner.page
    to_visit, seen = ["/portal/"], set()
    while to_visit and len(seen) < 40:
        path = to_visit.pop(0)
        if path in seen:
            continue
        seen.add(path)
        owner.visit(path)
        links = page.eval_on_selector_all(
            "a[href^='/portal/']", "links => links.map(a => a.getAttribute('href'))"
        )
        to_visit += [link for link in links if link not in seen and "/photo" not in link]
    assert {"/portal/bills", "/portal/repairs", "/portal/notices", "/portal/profile"} <= seen
    assert any(p.startswith("/portal/bills/") for p in seen), seen
    assert any(p.startswith("/portal/notices/") for p in seen), seen
    # The tab bar takes the owner from page to page.
    owner.visit("/portal/")
    page.locator("nav.tabbar a", has_text="账单").click()
    expect(page).to_have_url(owner.tab.base + "/portal/bills")
    owner.check("tab bar")
    assert not owner.problems(), "\n".join(owner.problems())


@pytest.mark.parametrize("width", WIDTHS)
def test_error_pages_look_finished_under_the_policy(app, demo, new_tab, width):
    """The 404 and 500 pages as a resident sees them: generic, styled (the stylesheet is
    not refused), fitting the screen. Screenshots: ``error-404-<width>.png``, ``error-500``."""
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    def fail():
        raise RuntimeError("secret detail: connection to db-7.internal refused")

    app.add_url_rule("/test-only/fail", "test_only_fail", fail)
    tab = new_tab(width=width)
    tab.page.add_init_script(WATCH_VIOLATIONS)
    sign_in(tab, "owner")
    for path, code, title in (
        ("/no-such-page", 404, "页面不存在"),
        ("/test-only/fail", 500, "系统出现错误"),
    ):
        response = tab.goto(path)
        assert response.status == code
        expect(tab.page.get_by_role("heading", name=title)).to_be_visible()
        assert "secret detail" not in tab.page.content()
        # The page's own stylesheet applies: the button is a styled block, not a bare link.
        assert (
            tab.page.locator("a.button").first.evaluate("a => getComputedStyle(a).display")
            != "inline"
        )
        assert not tab.page.evaluate("window.__csp"), tab.page.evaluate("window.__csp")
        tab.problems[:] = [
            p for p in tab.problems if f"HTTP {code}" not in p and "status of" not in p
        ]
        assert_looks_finished(tab, f"error-{code}", width)
