"""The staff notice pages: writing a draft, publishing, withdrawing, back to draft and
scheduling from the notice's page; the reach count before publishing; the list's filters,
read counts and cost in queries; who has not read it and sending it again; who may do
what. Hostile input and estate B: test_notices_admin_guard.py."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import Notice, NoticeReach, NoticeStatus, OutboxMessage, utcnow
from propadmin.services import notices as flow
from tests.helpers import csrf_from

from . import test_notices_admin_kit as kit
from .test_notices_admin_kit import move, notice_id_of, post_editor

office = kit.office  # the fixture


def listed(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-notice="(\d+)"', html)]


def notices_in(db_session) -> int:
    return db_session.scalar(select(func.count(Notice.id)))


def test_draft_publish_withdraw_redraft(office, db_session):
    admin = office.client(office.admin)
    saved = post_editor(
        admin, title="电梯检修通知", reach="buildings", building_ids=[str(office.first.id)]
    )
    assert saved.status_code == 302
    notice_id = notice_id_of(saved)
    page = admin.get(f"/admin/notices/{notice_id}").text
    assert "电梯检修通知" in page and "草稿" in page
    # whom it reaches, before publishing: the first building's owner and tenant
    assert "覆盖 2 位住户（其中 0 位有业主服务账号），1 个邮箱地址" in page
    assert 'id="form-publish"' in page

    assert move(admin, notice_id, "publish").status_code == 302
    db_session.expire_all()
    notice = db_session.get(Notice, notice_id)
    assert notice.status is NoticeStatus.published and notice.published_by_id == office.admin.id
    page = admin.get(f"/admin/notices/{notice_id}").text
    assert "公告已发布" in page and "王主任 发布" in page
    assert 'id="form-withdraw"' in page and 'id="form-publish"' not in page

    assert move(admin, notice_id, "withdraw").status_code == 302
    db_session.expire_all()
    assert db_session.get(Notice, notice_id).status is NoticeStatus.withdrawn
    assert move(admin, notice_id, "redraft").status_code == 302
    db_session.expire_all()
    assert db_session.get(Notice, notice_id).status is NoticeStatus.draft


def test_schedule_then_it_waits_in_the_worklist(office, db_session):
    admin = office.client(office.admin)
    notice = office.notice(title="冬季供暖通知")
    at = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    local = at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    response = move(admin, notice.id, "schedule", publish_at=local)
    assert response.status_code == 302
    db_session.expire_all()
    notice = db_session.get(Notice, notice.id)
    assert notice.status is NoticeStatus.scheduled
    assert notice.publish_at == at  # typed in the estate's zone, kept in UTC
    home = admin.get("/admin/").text
    assert "待定时发布的公告" in home
    scheduled = admin.get("/admin/notices/?flt0_status=scheduled").text
    assert listed(scheduled) == [notice.id]
    # a time in the past, or no time, is refused by the field
    other = office.notice(title="另一条")
    for bad in ("2001-01-01T09:00", "", "明天"):
        refused = move(admin, other.id, "schedule", publish_at=bad)
        assert refused.status_code == 400
        assert 'data-error="publish_at"' in refused.text
    db_session.expire_all()
    assert db_session.get(Notice, other.id).status is NoticeStatus.draft


def test_a_stale_page_gets_a_message_not_an_error(office, db_session):
    admin = office.client(office.admin)
    notice = office.notice()
    page = admin.get(f"/admin/notices/{notice.id}").text
    token = csrf_from(page)
    assert move(admin, notice.id, "publish").status_code == 302  # someone else, first
    for action in ("publish", "withdraw", "resend"):
        response = admin.post(
            f"/admin/notices/{notice.id}/move",
            data={"csrf_token": token, "action": action, "version": "1"},
            follow_redirects=True,
        )
        assert response.status_code == 200
        text = response.text
        assert "其他人刚刚修改了这条公告" in text or "不能这样操作" in text, action
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).status is NoticeStatus.published


def test_publishing_an_expired_notice_is_refused_by_the_field(office, db_session):
    notice = office.notice(expires_at=utcnow() + timedelta(minutes=5))
    notice.expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    response = move(office.client(office.admin), notice.id, "publish")
    assert response.status_code == 400
    assert 'data-error="expires_at"' in response.text and "过期时间已过" in response.text
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).status is NoticeStatus.draft


def test_the_editor_counts_whom_the_targets_reach_and_keeps_nothing(office, db_session):
    admin = office.client(office.admin)
    page = admin.get("/admin/notices/new").text
    token = csrf_from(page)
    before = notices_in(db_session)

    def count(**changes):
        data = {**kit.editor_form(title="", body=""), **changes, "csrf_token": token}
        response = admin.post("/admin/notices/reach", data=data)
        assert response.status_code == 200
        return response.get_json()

    assert count()["residents"] == 3
    first = count(reach="buildings", building_ids=[str(office.first.id)])
    assert (first["residents"], first["addresses"]) == (2, 1)
    assert "覆盖 2 位住户" in first["text"]
    assert (
        count(reach="buildings", building_ids=[str(office.first.id)], audience="tenants")[
            "residents"
        ]
        == 1
    )
    assert count(reach="units", units="1-101, 2-201")["residents"] == 2
    assert count(reach="units", units="9-999")["errors"] == {"units": "本小区没有房屋 9-999。"}
    assert notices_in(db_session) == before
    # the page of a saved notice shows the same figure as the editor
    notice = office.notice(reach=NoticeReach.buildings, building_ids=[office.first.id])
    assert "覆盖 2 位住户" in admin.get(f"/admin/notices/{notice.id}").text


def test_the_list_filters_and_counts_reads(office, db_session):
    admin = office.client(office.admin)
    draft = office.notice(title="草稿一条")
    live = office.notice(title="已发布一条", publish=True)
    old = office.notice(title="过期一条", publish=True)
    old.expires_at = utcnow() - timedelta(hours=1)
    db_session.commit()
    flow.mark_read(db_session, live, office.owner1)
    flow.mark_read(db_session, live, office.owner2)
    db_session.commit()
    page = admin.get("/admin/notices/").text
    assert listed(page) == [old.id, live.id, draft.id]  # newest first
    assert "已读 2 人" in page
    assert listed(admin.get("/admin/notices/?status=expired").text) == [old.id]
    assert listed(admin.get("/admin/notices/?status=published").text) == [live.id]
    assert listed(admin.get("/admin/notices/?status=draft").text) == [draft.id]
    fees = admin.get("/admin/notices/?category=fees&priority=urgent").text
    assert listed(fees) == []
    # the form shows the chosen filters, so the clerk sees why the list is empty
    assert '<option value="fees" selected>缴费通知</option>' in fees
    assert '<option value="urgent" selected>紧急（置顶最前）</option>' in fees
    for junk in ("?status=<script>", "?page=-1", "?page=99999999999", "?estate=abc"):
        assert admin.get("/admin/notices/" + junk).status_code == 200


def test_queries_per_list_page_do_not_grow_with_rows(office, db_session, count_queries):
    admin = office.client(office.admin)
    figures = []
    for rows in (2, 12):
        while db_session.scalar(select(func.count(Notice.id))) < rows:
            n = office.notice(
                reach=NoticeReach.buildings, building_ids=[office.first.id], publish=True
            )
            flow.mark_read(db_session, n, office.owner1)
            db_session.commit()
        with count_queries() as queries:
            page = admin.get("/admin/notices/")
        assert len(listed(page.text)) == rows
        figures.append(len(queries))
    assert figures[0] == figures[1], figures


def test_unread_residents_and_sending_again(office, db_session):
    admin = office.client(office.admin)
    notice = office.notice(publish=True, send_mail=True)
    flow.mark_read(db_session, notice, office.owner1)
    db_session.commit()
    page = admin.get(f"/admin/notices/{notice.id}").text
    unread = page[page.index("尚未阅读") :]
    assert "乙租户" in unread and "丙业主" in unread and "甲业主" not in unread
    assert "2-201" in unread and "1-102" in unread
    assert "3 人中已读 1 人，未读 2 人" in page
    assert "再次发送给有邮箱的 1 位未读住户" in page
    assert move(admin, notice.id, "resend").status_code == 302
    mails = db_session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.kind == "notice")
    ).all()
    assert sorted(mails) == ["bing@example.com", "bing@example.com", "jia@example.com"]
    assert "已再次发送给 1 个未读地址" in admin.get(f"/admin/notices/{notice.id}").text


@pytest.mark.parametrize("who", ["finance", "repair"])
def test_who_may_write_and_who_may_publish(office, db_session, who):
    client = office.client(getattr(office, who))
    notice = office.notice()
    assert client.get("/admin/notices/").status_code == 200
    assert client.get(f"/admin/notices/{notice.id}").status_code == 200
    page = client.get(f"/admin/notices/{notice.id}").text
    assert 'id="form-publish"' not in page
    response = move(client, notice.id, "publish")
    assert response.status_code == 403
    if who == "finance":
        saved = post_editor(client, title="财务草稿")
        assert saved.status_code == 302
        assert db_session.get(Notice, notice_id_of(saved)).author_id == office.finance.id
        assert client.get(f"/admin/notices/{notice.id}/edit").status_code == 200
        flow.publish(db_session, notice, by=office.admin)
        db_session.commit()
        # a notice that is out is corrected by those who may publish
        assert client.get(f"/admin/notices/{notice.id}/edit").status_code == 403
    else:
        assert client.get("/admin/notices/new").status_code == 403
        assert post_editor(client, title="维修草稿").status_code == 403
        assert client.get(f"/admin/notices/{notice.id}/edit").status_code == 403
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).status is not NoticeStatus.withdrawn


def test_the_audit_log_tells_a_notices_changes_in_the_screens_words(office, db_session):
    admin = office.client(office.admin)
    notice = office.notice(title="旧标题")
    url = f"/admin/notices/{notice.id}/edit"
    assert post_editor(admin, url, title="新标题", priority="urgent").status_code == 302
    log = admin.get(f"/admin/audit/?record=Notice:{notice.id}").text
    assert "公告通知" in log
    assert "标题" in log and "旧标题" in log and "新标题" in log
    assert "重要程度" in log and "紧急" in log
    assert "priority" not in log and "urgent" not in log


def test_every_notice_page_is_in_chinese(office, db_session):
    from .test_no_english import data_words, english_words

    admin = office.client(office.admin)
    draft = office.notice(title="草稿", reach=NoticeReach.buildings, building_ids=[office.first.id])
    live = office.notice(title="已发布", publish=True, send_mail=True)
    old = office.notice(title="过期", publish=True)
    old.expires_at = utcnow() - timedelta(hours=1)
    db_session.commit()
    allowed = data_words(db_session)
    pages = {
        "/admin/notices/": admin.get("/admin/notices/"),
        "/admin/notices/?status=expired": admin.get("/admin/notices/?status=expired"),
        "/admin/notices/new": admin.get("/admin/notices/new"),
        "errors": post_editor(admin, title="", body="", reach="units", units="x"),
        "expired": move(admin, old.id, "publish"),
    }
    for notice in (draft, live, old):
        pages[f"details {notice.title}"] = admin.get(f"/admin/notices/{notice.id}")
        pages[f"edit {notice.title}"] = admin.get(f"/admin/notices/{notice.id}/edit")
    problems = {}
    for name, response in pages.items():
        assert response.status_code in (200, 400), name
        words = english_words(response.text) - allowed
        if words:
            problems[name] = sorted(words)
    assert problems == {}


def test_staff_of_two_estates_choose_the_estate(office, make, db_session):
    second = make.estate(name="第二小区")
    tower = make.building(second, name="8栋")
    make.resident(second, unit=make.unit(tower, number="801"), name="丁住户")
    both = make.user(roles=["admin"], estates=[office.estate, second], display_name="两地主任")
    client = office.client(both)
    ours = office.notice(title="本小区公告")
    theirs = make.notice(second, title="第二小区公告", by=both)
    page = client.get("/admin/notices/").text
    assert listed(page) == [theirs.id, ours.id] and 'id="f-estate"' in page
    assert listed(client.get(f"/admin/notices/?estate={second.id}").text) == [theirs.id]
    editor = client.get("/admin/notices/new").text
    assert 'name="estate"' in editor and "第二小区" in editor
    refused = post_editor(client)
    assert refused.status_code == 400 and 'data-error="estate"' in refused.text
    # a building of one estate is not a target of a notice in the other
    mixed = post_editor(
        client, estate=str(second.id), reach="buildings", building_ids=[str(office.first.id)]
    )
    assert mixed.status_code == 400 and 'data-error="building_ids"' in mixed.text
    saved = post_editor(client, estate=str(second.id), reach="units", units="8-801")
    assert saved.status_code == 302
    notice = db_session.get(Notice, notice_id_of(saved))
    assert notice.estate_id == second.id and [u.unit_id for u in notice.units] != []
    # single-estate staff see no estate field at all
    assert 'name="estate"' not in office.client(office.admin).get("/admin/notices/new").text


def test_the_list_is_paged(office, db_session):
    for n in range(21):
        office.notice(title=f"第{n}条")
    admin = office.client(office.admin)
    first = admin.get("/admin/notices/").text
    assert len(listed(first)) == 20 and "1 / 2" in first
    second = admin.get("/admin/notices/?page=2").text
    assert len(listed(second)) == 1 and "第0条" in second
    assert listed(admin.get("/admin/notices/?page=999").text) == listed(second)


def test_publishing_with_mail_queues_one_mail_per_address(office, db_session):
    admin = office.client(office.admin)
    saved = post_editor(admin, send_mail="1")
    notice_id = notice_id_of(saved)
    assert "2 封邮件" in admin.get(f"/admin/notices/{notice_id}").text  # on the button
    published = move(admin, notice_id, "publish")
    assert published.status_code == 302
    page = admin.get(published.location).text
    assert "公告已发布，2 封邮件正在发送" in page and "已发邮件至 2 个地址" in page
    mails = db_session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.kind == "notice")
    ).all()
    assert sorted(mails) == ["bing@example.com", "jia@example.com"]


def test_the_unread_list_is_paged_and_shows_no_numbers(office, db_session, monkeypatch):
    from views.admin import notices as pages

    monkeypatch.setattr(pages, "UNREAD_PAGE", 2)
    admin = office.client(office.admin)
    notice = office.notice(publish=True)
    first = admin.get(f"/admin/notices/{notice.id}").text
    second = admin.get(f"/admin/notices/{notice.id}?unread_page=2").text
    names = {"甲业主", "乙租户", "丙业主"}
    shown = [{n for n in names if n in page[page.index("尚未阅读") :]} for page in (first, second)]
    assert len(shown[0]) == 2 and len(shown[1]) == 1 and shown[0] | shown[1] == names
    assert "1 / 2" in first
    for resident in (office.owner1, office.tenant1, office.owner2):
        db_session.refresh(resident)
        mobile, id_number = resident.mobile, resident.id_number
        for page in (first, second):
            assert mobile not in page and id_number not in page
    for page in (first, second):  # nor masked ones
        assert not re.search(r"\d{3}\*{4}\d{4}|\d{3}\*{11}", page)
