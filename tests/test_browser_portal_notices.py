"""The portal's notices in a real browser: on a phone a resident sees the unread figure on
the notices tab, opens a notice, comes back and finds it read and the figure one lower; a
notice whose body carries script, event handlers, ``javascript:`` links and SVG opens
without a single dialog. Home, list and notice fit a phone and a desk, all in Chinese,
and five tabs fit a 375 px tab bar.
Screenshots: ``/tmp/shots-notices-portal/*.png`` (and test-artifacts/screenshots)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from models import Notice, NoticeCategory, NoticePriority, NoticeReach, NoticeRead

from .factories import FACTORY_PASSWORD
from .test_browser import assert_looks_finished, pytestmark, sign_in  # noqa: F401

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture reports it
    expect = None

SHOTS = Path("/tmp/shots-notices-portal")
HOSTILE = (
    "<p>请各位业主注意用电安全。</p>"
    '<script>alert("script")</script>'
    "<img src=x onerror=\"alert('onerror')\">"
    "<p><a href=\"javascript:alert('link')\">点此查看详情</a></p>"
    '<svg onload="alert(\'svg\')"><circle r="5"/></svg>'
    "<p onmouseover=\"alert('hover')\">谢谢配合。</p>"
)


# The tabs whose label (the text after the icon) runs over more than one line.
LABELS_ON_TWO_LINES = """els => els.filter(a => {
    const label = [...a.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
    const range = document.createRange();
    range.selectNodeContents(label);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).map(a => a.innerText.trim())"""


def shot(tab, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SHOTS / f"{name}_{width}.png"), full_page=True)


@pytest.fixture
def household(make, db_session):
    """An owner of their own estate, with three notices for them (one urgent with a long
    title, one with a hostile body) and one for the other building."""
    estate = make.estate(phone="0571-88886666", name="翠湖花园")
    first, second = make.building(estate, name="3栋"), make.building(estate, name="5栋")
    unit = make.unit(first, number="1202")
    make.unit(second, number="0801")
    user = make.user(roles=["owner"], display_name="陈业主")
    resident = make.resident(estate, unit=unit, name="陈业主")
    resident.user = user
    db_session.commit()
    make.notice(
        estate,
        publish=True,
        title="关于小区电梯年度检测期间3栋、5栋电梯暂停使用以及临时安排货梯运送大件物品的通知",
        body="<p>电梯检测期间请走楼梯，行动不便的住户请联系物业。</p>",
        category=NoticeCategory.safety,
        priority=NoticePriority.important,
    )
    make.notice(
        estate,
        publish=True,
        title="明日 9:00–17:00 停水",
        body="<h2>停水时间</h2><p>明日 9:00 至 17:00。</p>"
        "<ul><li>请提前储水</li><li>关好水龙头</li></ul>",
        category=NoticeCategory.outage,
        priority=NoticePriority.urgent,
    )
    hostile = make.notice(estate, publish=True, title="用电安全提示", body="<p>占位</p>")
    # Written straight into the table, as an import could: the page must clean it itself.
    db_session.execute(update(Notice).where(Notice.id == hostile.id).values(body=HOSTILE))
    make.notice(
        estate,
        publish=True,
        title="5栋专属通知",
        reach=NoticeReach.buildings,
        building_ids=[second.id],
    )
    db_session.commit()
    return user, resident, hostile


def test_resident_reads_a_notice_and_the_badge_goes_down_on_a_phone(new_tab, household, db_session):
    user, resident, hostile = household
    tab = new_tab(width=375)
    page = tab.page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(tab, user.username, FACTORY_PASSWORD)
    expect(page).to_have_url(tab.base + "/portal/")
    badge = page.locator("#unread-badge")
    expect(badge).to_have_text("未读3")  # the number, with its label for screen readers
    expect(page.locator("#notices .unread-notices")).to_have_text("未读公告：3 条")
    expect(page.locator("#notices")).not_to_contain_text("5栋专属通知")

    page.locator(".tabbar").get_by_text("公告通知").click()
    expect(page).to_have_url(tab.base + "/portal/notices")
    rows = page.locator("a.notice-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("明日 9:00–17:00 停水")  # urgent comes first
    expect(page.locator("a.notice-row.is-unread")).to_have_count(3)

    row = page.locator(f"a.notice-row[href='/portal/notices/{hostile.id}']")
    row.click()
    expect(page).to_have_url(tab.base + f"/portal/notices/{hostile.id}")
    body = page.locator(".notice-body")
    expect(body).to_contain_text("请各位业主注意用电安全。")
    expect(body).to_contain_text("谢谢配合。")
    assert body.locator("script, svg, [onerror], [onload], [onmouseover]").count() == 0
    page.get_by_text("谢谢配合。").hover()
    page.get_by_text("点此查看详情").click()  # a link without its javascript: address
    expect(page).to_have_url(tab.base + f"/portal/notices/{hostile.id}")
    expect(badge).to_have_text("未读2")

    page.locator(".back-link").click()
    expect(page).to_have_url(tab.base + "/portal/notices")
    expect(page.locator("a.notice-row.is-unread")).to_have_count(2)
    expect(row).not_to_have_class("notice-row is-unread")
    expect(badge).to_have_text("未读2")
    page.locator(".tabbar").get_by_text("首页").click()
    expect(page.locator("#notices .unread-notices")).to_have_text("未读公告：2 条")

    db_session.expire_all()
    reads = db_session.scalar(
        select(func.count(NoticeRead.id)).where(NoticeRead.resident_id == resident.id)
    )
    assert reads == 1
    assert dialogs == [], f"the hostile notice opened dialogs: {dialogs}"
    assert tab.problems == [] and tab.outside == []


@pytest.mark.parametrize("width", (375, 1280))
def test_notice_pages_fit_the_screen_and_are_all_chinese(new_tab, household, width):
    user, _resident, hostile = household
    tab = new_tab(width=width)
    sign_in(tab, user.username, FACTORY_PASSWORD)
    for name, path in (("home", "/portal/"), ("list", "/portal/notices")):
        tab.goto(path)
        shot(tab, name, width)
        assert_looks_finished(tab, f"portal-notices-{name}", width, tap_targets=True)
    tab.goto("/portal/notices")
    tab.page.locator("a.notice-row").first.click()  # the urgent one, with a list and heading
    shot(tab, "notice", width)
    assert_looks_finished(tab, "portal-notices-notice", width, tap_targets=True)
    tab.goto(f"/portal/notices/{hostile.id}")
    shot(tab, "notice_hostile", width)

    # Five tabs side by side, none cut off or pushed out of the bar.
    tabs = tab.page.locator(".tabbar a")
    expect(tabs).to_have_count(5)
    boxes = [tabs.nth(i).bounding_box() for i in range(5)]
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= width + 0.5 for b in boxes), boxes
    assert len({round(b["y"]) for b in boxes}) == 1, "the tabs wrap onto two rows"
    clipped = tabs.evaluate_all("els => els.filter(a => a.scrollWidth > a.clientWidth).length")
    assert clipped == 0, "a tab's label does not fit"
    wrapped = tabs.evaluate_all(LABELS_ON_TWO_LINES)
    assert wrapped == [], f"tab labels broken over two lines: {wrapped}"


def test_a_resident_without_notices_sees_a_friendly_empty_board(new_tab, make, db_session):
    estate = make.estate(name="静园")
    user = make.user(roles=["tenant"], display_name="林租户")
    resident = make.resident(estate, unit=make.unit(make.building(estate)), name="林租户")
    resident.user = user
    db_session.commit()
    tab = new_tab(width=375)
    sign_in(tab, user.username, FACTORY_PASSWORD)
    expect(tab.page.locator("#notices")).to_contain_text("暂无公告。")
    expect(tab.page.locator("#unread-badge")).to_have_count(0)
    tab.page.locator(".tabbar").get_by_text("公告通知").click()
    expect(tab.page.locator(".empty-notices")).to_contain_text("暂无公告")
    shot(tab, "list_empty", 375)
    assert_looks_finished(tab, "portal-notices-empty", 375, tap_targets=True)
