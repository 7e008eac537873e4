"""The staff notice pages in a real browser: the demo admin at desktop width writes a
notice with the toolbar (heading, list, bold, link), watches the reach count change when
choosing a building, saves and publishes it. Screenshots of the list, the editor and the
notice's page at 375 and 1280 px land in /tmp/shots-notices-admin/ (and test-artifacts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from models import Notice, NoticeReach, NoticeStatus

from .test_browser import WIDTHS, assert_looks_finished, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
SHOTS = Path("/tmp/shots-notices-admin")
TITLE = "三号泵房检修停水"
HOSTILE = (
    '<p>正文</p><img src="x" onerror="window.__pwned=1">'
    '<svg><image href="x" onerror="window.__pwned=2"></image></svg>'
    '<a href="javascript:window.__pwned=3">链接</a><script>window.__pwned=4</script>'
)


def go(page, locator) -> None:
    with page.expect_navigation(wait_until="load"):
        locator.click()


def shot(tab, name: str, width: int, **kwargs) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    assert_looks_finished(tab, f"admin_notices_{name}", width, **kwargs)
    for selector in kwargs.get("data", ()):  # the check hid typed data; show it again
        tab.page.locator(selector).evaluate_all(
            "els => els.forEach(el => el.style.visibility = '')"
        )


def residents_counted(page) -> int:
    return int(page.locator("#reach-count").get_attribute("data-residents"))


def test_admin_writes_counts_and_publishes_a_building_notice(new_tab, db_session):
    tab = new_tab(width=1280)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto("/admin/notices/")
    go(page, page.get_by_role("link", name="写公告").last)
    page.locator("#title").fill(TITLE)

    area = page.locator(".rich-area")
    expect(area).to_be_visible()
    expect(page.locator("textarea#body")).to_be_hidden()
    toolbar = page.locator(".rich-toolbar")
    area.click()
    page.keyboard.type("检修安排")
    toolbar.locator("[data-command=heading]").click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    toolbar.locator("[data-command=insertUnorderedList]").click()
    page.keyboard.type("九点关闭总阀")
    page.keyboard.press("Enter")
    page.keyboard.type("五点恢复供水")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # out of the list
    toolbar.locator("[data-command=bold]").click()
    page.keyboard.type("请提前储水")
    toolbar.locator("[data-command=bold]").click()
    page.keyboard.type("，详情见")
    page.once("dialog", lambda dialog: dialog.accept("https://example.com/water"))
    toolbar.locator("[data-command=link]").click()
    body = page.locator("textarea#body").input_value()
    assert "<h3>检修安排</h3>" in body
    assert "<li>九点关闭总阀</li>" in body and "<li>五点恢复供水</li>" in body
    assert "<strong>请提前储水</strong>" in body or "<b>请提前储水</b>" in body
    assert 'href="https://example.com/water"' in body

    count = page.locator("#reach-count")
    expect(count).to_contain_text("覆盖")
    whole = residents_counted(page)
    assert whole > 0
    page.locator("input[name=reach][value=buildings]").check()
    expect(count).to_contain_text("楼")  # no building chosen yet: it says so
    page.locator("input[name=building_ids]").first.check()
    expect(count).to_contain_text("覆盖")
    first = residents_counted(page)
    assert 0 < first < whole, (first, whole)
    shot(tab, "editor", 1280, data=(".rich-area",))
    page.set_viewport_size({"width": 375, "height": 812})
    shot(tab, "editor", 375, data=(".rich-area",), tap_targets=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    go(page, page.get_by_role("button", name="保存", exact=True))
    expect(page.locator("#notice-status")).to_have_text("草稿")
    expect(page.locator(".phone-body h3")).to_have_text("检修安排")
    expect(page.locator(".reach-figures")).to_contain_text(f"覆盖 {first} 位住户")
    go(page, page.locator("#form-publish button"))
    expect(page.locator("#notice-status")).to_have_text("已发布")
    expect(page.locator(".notice-history")).to_contain_text("发布")
    expect(page.locator(".alert-success, .alert-info").first).to_contain_text("公告已发布")
    page.reload()  # without the message (its close button is Flask-Admin's, not ours)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(tab, "notice", width, data=(".phone-body", ".notice-history"), tap_targets=True)
        tab.goto("/admin/notices/")
        expect(page.locator(".notice-card").first).to_contain_text(TITLE)
        shot(tab, "list", width, data=(".notice-title",), tap_targets=True)
        page.go_back()

    db_session.expire_all()
    notice = db_session.scalars(select(Notice).where(Notice.title == TITLE)).one()
    assert notice.status is NoticeStatus.published
    assert notice.reach is NoticeReach.buildings and len(notice.buildings) == 1

    # A body written past the service (an import, a hand edit) loads into the editor
    # inert: its handlers never run, its unsafe image is never fetched.
    db_session.execute(update(Notice).where(Notice.id == notice.id).values(body=HOSTILE))
    db_session.commit()
    tab.goto(f"/admin/notices/{notice.id}/edit")
    expect(page.locator(".rich-area")).to_contain_text("正文")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator(".rich-area [onerror], .rich-area script, .rich-area svg").count() == 0
    assert page.locator(".rich-area a").get_attribute("href") is None
    # Chromium reports the Content-Security-Policy refusing the body's handlers as it
    # parses them (even in the editor's inert copy): a second wall, nothing else is wrong.
    refused = [p for p in tab.problems if "Executing inline event handler violates" in p]
    assert refused and [p for p in tab.problems if p not in refused] == []
    assert tab.outside == []
