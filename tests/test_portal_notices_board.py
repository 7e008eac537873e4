"""The portal's notice list as a resident reads it: pinned first (urgent above important),
then unread, then the newest; twenty a page, any page number answered with a page; the
same number of queries however many notices there are; the home screen's headlines; and
the dates in the estate's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from models import Notice, NoticePriority, utcnow

from .test_portal_notices import Home


@pytest.fixture
def estate(make):
    return make.estate(timezone="Asia/Shanghai")


@pytest.fixture
def owner(app, make, db_session, estate):
    return Home(app, make, db_session, make.unit(make.building(estate)))


def order_on(page: str) -> list[int]:
    return [
        int(i) for i in re.findall(r'class="notice-row[^"]*" href="/portal/notices/(\d+)"', page)
    ]


def many(make, estate, n: int) -> list[Notice]:
    return [make.notice(estate, publish=True, title=f"通知{i:03d}") for i in range(n)]


def test_pinned_then_unread_then_newest(make, estate, owner):
    old_read = make.notice(estate, publish=True, title="旧的已读")
    old_unread = make.notice(estate, publish=True, title="旧的未读")
    important = make.notice(estate, publish=True, priority=NoticePriority.important, title="重要")
    new_read = make.notice(estate, publish=True, title="新的已读")
    urgent = make.notice(estate, publish=True, priority=NoticePriority.urgent, title="紧急")
    newest = make.notice(estate, publish=True, title="最新未读")
    for read in (old_read, new_read, urgent):
        assert owner.open(read).status_code == 200
    page = owner.listing()
    expected = [urgent, important, newest, old_unread, new_read, old_read]
    assert order_on(page) == [n.id for n in expected]
    assert page.count('class="badge notice-urgent"') == 1
    assert page.count('class="badge notice-important"') == 1
    assert page.count('class="unread-dot"') == 3  # important, newest, old_unread
    home = owner.client.get("/portal/").text
    heads = re.findall(r'class="notice-head-row[^"]*" href="/portal/notices/(\d+)"', home)
    assert [int(i) for i in heads] == [urgent.id, important.id, newest.id]  # pinned, then newest


def test_twenty_a_page_and_any_page_number_gives_a_page(make, estate, owner):
    made = many(make, estate, 25)
    newest_first = [n.id for n in reversed(made)]
    first = owner.client.get("/portal/notices").text
    assert order_on(first) == newest_first[:20]
    assert "第 1 / 2 页" in first and 'rel="next" href="/portal/notices?page=2"' in first
    second = owner.client.get("/portal/notices?page=2").text
    assert order_on(second) == newest_first[20:]
    assert 'rel="prev" href="/portal/notices?page=1"' in second and 'rel="next"' not in second
    for wrong, shown in (("0", 1), ("-3", 1), ("abc", 1), ("2.5", 1), ("99", 2), ("9" * 40, 1)):
        page = owner.client.get(f"/portal/notices?page={wrong}")
        assert page.status_code == 200, wrong
        assert f"第 {shown} / 2 页" in page.text, wrong


@pytest.mark.parametrize(
    "url, few, cap",
    [
        ("/portal/notices", 5, 10),
        ("/portal/notices?page=2", 25, 10),  # a second page needs more than twenty
        ("/portal/", 5, 16),  # the home screen shows bills and repairs too
        ("notice", 5, 16),  # a notice's page (it writes the read and reloads the account)
    ],
)
def test_queries_do_not_grow_with_the_notices(make, estate, owner, count_queries, url, few, cap):
    made: list[Notice] = []

    def queries_for(total: int) -> int:
        made.extend(many(make, estate, total - len(made)))
        path = f"/portal/notices/{made[-1].id}" if url == "notice" else url
        owner.client.get(path)  # warm: the first request of a client loads more
        with count_queries() as queries:
            assert owner.client.get(path).status_code == 200
        return len(queries)

    at_few, at_60 = queries_for(few), queries_for(60)
    assert at_few == at_60, (at_few, at_60)
    assert at_60 <= cap


def test_dates_are_the_estates(make, db_session, estate, owner):
    notice = make.notice(estate, publish=True, title="跨日")
    expires = datetime(2099, 1, 2, 3, 0, tzinfo=UTC)
    db_session.execute(
        update(Notice)
        .where(Notice.id == notice.id)
        # 23:30 UTC on 31 December is the next morning in Shanghai.
        .values(published_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC), expires_at=expires)
    )
    db_session.commit()
    assert "2027-01-01" in owner.listing()
    page = owner.open(notice).text
    assert "发布于 2027-01-01 07:30" in page and "有效期至 2099-01-02 11:00" in page


def test_a_notice_page_has_a_way_back(make, estate, owner):
    notice = make.notice(estate, publish=True, body="<h2>停水时间</h2><ul><li>9:00 起</li></ul>")
    page = owner.open(notice).text
    assert 'href="/portal/notices"' in page and "返回公告列表" in page
    assert "<h2>停水时间</h2><ul><li>9:00 起</li></ul>" in page
    assert 'href="/portal/notices" aria-current="page"' in page  # the notices tab is current


def test_the_unread_badge_counts_only_unread_ones(make, estate, owner):
    made = many(make, estate, 3)
    assert owner.unread_on_home() == 3
    owner.open(made[0])
    owner.open(made[0])
    assert owner.unread_on_home() == 2
    for n in made[1:]:
        owner.open(n)
    assert owner.unread_on_home() == 0
    assert "公告都已读过" in owner.client.get("/portal/").text
    assert 'id="unread-badge"' not in owner.listing()


def test_the_board_is_english_for_english_readers(make, db_session, estate, owner):
    make.notice(estate, publish=True, priority=NoticePriority.urgent)
    owner.user.locale = "en"
    db_session.commit()
    page = owner.listing()
    assert "Unread notices: 1" in page and "Urgent" in page and "Water" not in page
    assert "未读" not in page and "公告" not in page


def test_excerpts_are_short_text(make, estate, owner):
    long_body = "<p>" + "管道检修" * 60 + "</p>"
    make.notice(estate, publish=True, body=long_body, expires_at=utcnow() + timedelta(days=3))
    page = owner.listing()
    (excerpt,) = re.findall(r'<span class="excerpt">([^<]*)</span>', page)
    assert excerpt.endswith("…") and len(excerpt) <= 80


def test_the_pages_show_no_english_in_chinese(make, db_session, estate, owner):
    from .test_no_english import data_words, english_words

    make.notice(estate, publish=True, priority=NoticePriority.urgent)
    made = many(make, estate, 21)  # two pages: the pager shows
    allowed = data_words(db_session) | {"staff"}  # factory user names (staff12) greet
    for url in (
        "/portal/",
        "/portal/notices",
        "/portal/notices?page=2",
        f"/portal/notices/{made[0].id}",
    ):
        page = owner.client.get(url, headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200
        assert english_words(page.text) - allowed == set(), url
