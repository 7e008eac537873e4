"""Changing a notice while others look at it: an edit moves the version on, so a page
opened before it cannot publish what nobody reviewed, two editors cannot overwrite each
other, and the re-send button sent twice mails once; a scheduled notice keeps a future
time; who has not read it is the register's business; every read figure counts the
residents the notice reaches now."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from models import (
    Notice,
    NoticeMailing,
    NoticeReach,
    NoticeStatus,
    Occupancy,
    Relation,
    utcnow,
)
from propadmin.services import notice_html
from propadmin.services import notices as flow
from tests.helpers import csrf_from

from . import test_notices_admin_kit as kit
from .test_notices_admin_kit import post_editor

office = kit.office  # the fixture


def version_on(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_a_page_opened_before_an_edit_cannot_publish_the_edited_text(office, db_session):
    notice = office.notice(body="<p>审核过的内容</p>")
    admin, finance = office.client(office.admin), office.client(office.finance)
    seen = admin.get(f"/admin/notices/{notice.id}").text  # the admin reviews it
    edited = post_editor(finance, f"/admin/notices/{notice.id}/edit", body="<p>改过的内容</p>")
    assert edited.status_code == 302
    response = admin.post(
        f"/admin/notices/{notice.id}/move",
        data={"csrf_token": csrf_from(seen), "action": "publish", "version": version_on(seen)},
        follow_redirects=True,
    )
    assert "其他人刚刚修改了这条公告" in response.text
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).status is NoticeStatus.draft


def test_two_editors_of_one_notice_do_not_overwrite_each_other(office, db_session):
    notice = office.notice()
    admin, finance = office.client(office.admin), office.client(office.finance)
    url = f"/admin/notices/{notice.id}/edit"
    admin_page, finance_page = admin.get(url).text, finance.get(url).text
    first = finance.post(
        url,
        data={**kit.editor_form(title="财务改的标题"), "version": version_on(finance_page),
              "csrf_token": csrf_from(finance_page)},
    )  # fmt: skip
    assert first.status_code == 302
    second = admin.post(
        url,
        data={**kit.editor_form(title="主任改的标题", reach="buildings",
                                building_ids=str(office.first.id)),
              "version": version_on(admin_page), "csrf_token": csrf_from(admin_page)},
    )  # fmt: skip
    assert second.status_code == 400 and "其他人刚刚修改了这条公告" in second.text
    db_session.expire_all()
    stored = db_session.get(Notice, notice.id)
    assert (stored.title, stored.reach) == ("财务改的标题", NoticeReach.estate)


def test_sending_again_twice_from_one_page_mails_once(office, db_session):
    notice = office.notice(publish=True, send_mail=True)
    admin = office.client(office.admin)
    page = admin.get(f"/admin/notices/{notice.id}").text
    data = {"csrf_token": csrf_from(page), "action": "resend", "version": version_on(page)}
    for _ in range(3):  # a double click, then a reload that posts again
        admin.post(f"/admin/notices/{notice.id}/move", data=data)
    resends = db_session.scalar(
        select(func.count(NoticeMailing.id)).where(
            NoticeMailing.notice_id == notice.id, NoticeMailing.kind == "resend"
        )
    )
    assert resends == 1


def test_a_scheduled_notice_keeps_a_time_in_the_future(office, db_session):
    notice = office.notice()
    flow.schedule(db_session, notice, utcnow() + timedelta(days=1), by=office.admin)
    db_session.commit()
    admin = office.client(office.admin)
    url = f"/admin/notices/{notice.id}/edit"
    cleared = post_editor(admin, url, publish_at="")
    assert cleared.status_code == 400 and "定时发布的公告需要发布时间" in cleared.text
    past = post_editor(admin, url, publish_at="2020-01-01T09:00")
    assert past.status_code == 400 and "请选择将来的时间" in past.text
    draft = post_editor(office.client(office.admin), "/admin/notices/new",
                        publish_at="2020-01-01T09:00")  # fmt: skip
    assert draft.status_code == 400
    db_session.expire_all()
    stored = db_session.get(Notice, notice.id)
    assert stored.status is NoticeStatus.scheduled and stored.publish_at > utcnow()


def test_repair_staff_see_the_figures_but_not_who_has_not_read(office, db_session):
    notice = office.notice(publish=True)
    repair = office.client(office.repair).get(f"/admin/notices/{notice.id}").text
    assert "3 人中已读 0 人，未读 3 人" in repair
    assert "甲业主" not in repair and "unread-row" not in repair
    assert "仅向可查看住户档案的工作人员显示" in repair
    admin = office.client(office.admin).get(f"/admin/notices/{notice.id}").text
    assert "甲业主" in admin and admin.count('class="unread-row"') == 3


def test_the_list_counts_the_readers_the_notice_still_reaches(office, db_session):
    notice = office.notice(publish=True)
    for resident in (office.owner1, office.tenant1, office.owner2):
        flow.mark_read(db_session, notice, resident)
    db_session.commit()
    admin = office.client(office.admin)
    retarget = post_editor(
        admin,
        f"/admin/notices/{notice.id}/edit",
        reach="buildings",
        building_ids=str(office.second.id),
    )
    assert retarget.status_code == 302
    listing = admin.get("/admin/notices/").text
    row = listing[listing.index(f'data-notice="{notice.id}"') :]
    assert "已读 1 人" in row[: row.index("</li>")]
    assert "1 人中已读 1 人" in admin.get(f"/admin/notices/{notice.id}").text


def test_the_unread_list_names_only_the_homes_the_notice_covers(office, make, db_session):
    both = make.resident(office.estate, unit=office.u101, name="两处业主")
    db_session.add(Occupancy(unit=office.u201, resident=both, relation=Relation.owner))
    db_session.commit()
    notice = office.notice(
        publish=True, reach=NoticeReach.buildings, building_ids=[office.first.id]
    )
    page = office.client(office.admin).get(f"/admin/notices/{notice.id}").text
    row = page[page.index("两处业主") :]
    row = row[: row.index("</tr>")]
    assert "1-101" in row and "2-201" not in row


def test_a_picture_without_an_address_is_no_notice(office, db_session):
    page = post_editor(office.client(office.admin), body='<img src="javascript:alert(1)">')
    assert page.status_code == 400 and "请填写公告内容" in page.text
    assert db_session.scalar(select(func.count(Notice.id))) == 0


def test_plain_text_keeps_escaped_markup_as_typed_and_drops_empty_paragraphs():
    assert notice_html.text("<p>&amp;lt;b&amp;gt; 与 &amp;</p>") == "&lt;b&gt; 与 &"
    assert notice_html.clean("<p>甲</p><p></p><ul><li>乙</li></ul><p> </p>") == (
        "<p>甲</p><ul><li>乙</li></ul>"
    )
