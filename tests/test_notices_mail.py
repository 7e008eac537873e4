"""Notices by mail, end to end: a published notice reaches a real SMTP server once per
address, only at the addresses of the residents it targets, in each reader's language;
a hostile body arrives inert; a typed line break never makes a second header; re-sending
goes to the unread only; and queueing costs the same few statements for 3 or 30 people."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import (
    MailingKind,
    Notice,
    NoticeMailing,
    NoticeReach,
    NoticeStatus,
    OutboxMessage,
    Relation,
    utcnow,
)
from propadmin.mail import dispatch_now
from propadmin.services import notices
from propadmin.services.notice_mail import push, resend_unread
from propadmin.services.notices import NoticeError

from .helpers import Mailbox


class Estate:
    """Two buildings. In the first: 王 (account, Chinese), Ann (account set to English),
    赵 (no address at all), and a couple sharing one family address typed in two cases
    (one of them a tenant). In the second: 孙, with an address of her own."""

    def __init__(self, make, db_session):
        self.db = db_session
        self.estate = make.estate()
        self.first, self.second = make.building(self.estate), make.building(self.estate)
        u1, u2, u3 = (make.unit(self.first) for _ in range(3))
        self.wang = self.resident(make, u1, "王", user_email="wang@example.com")
        self.ann = self.resident(make, u2, "Ann", user_email="ann@example.com", locale="en")
        self.zhao = self.resident(make, u2, "赵", email="")
        self.he = self.resident(make, u3, "何", email="family@example.com")
        self.lu = self.resident(make, u3, "陆", email="Family@Example.com", tenant=True)
        self.sun = self.resident(make, make.unit(self.second), "孙", email="sun@example.com")
        self.admin = make.user(roles=["admin"], estates=[self.estate])

    def resident(self, make, unit, name, *, user_email=None, locale=None, tenant=False, **kw):
        relation = Relation.tenant if tenant else Relation.owner
        person = make.resident(self.estate, unit=unit, relation=relation, name=name, **kw)
        if user_email:
            person.user = make.user(roles=["owner"], email=user_email)
            person.user.locale = locale
            self.db.commit()
        return person

    FIRST_BUILDING = {"wang@example.com", "ann@example.com", "family@example.com"}

    def building_notice(self, make, **fields):
        fields.setdefault("send_mail", True)
        return make.notice(
            self.estate,
            by=self.admin,
            reach=NoticeReach.buildings,
            building_ids=[self.first.id],
            **fields,
        )


@pytest.fixture
def estate(make, db_session):
    return Estate(make, db_session)


def deliver(app):
    """What the dispatcher does right after a commit in a request or a command."""
    dispatch_now(app)


def outbox(db_session):
    db_session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == "notice")
    return db_session.scalars(query.order_by(OutboxMessage.id)).all()


def settle(smtp, count):
    """The ``count`` messages that arrived, after making sure no more are on their way."""
    arrived = smtp.mailbox.wait(count)
    time.sleep(0.3)
    assert len(smtp.mailbox.messages) == count, [m["To"] for m in smtp.mailbox.messages]
    return {m["To"]: m for m in arrived}


def scheduled(app, db_session, notice, minutes_ago=1):
    """Schedule ``notice`` for a moment that has just passed (as if set an hour ago)."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    with app.test_request_context():
        notices.schedule(db_session, notice, at, by=notice.author, now=at - timedelta(hours=1))
    db_session.commit()
    return at


def test_a_building_notice_is_mailed_to_that_buildings_addresses_once_each(
    app, estate, make, db_session, runner, smtp
):
    notice = estate.building_notice(make, title="3号楼明日停水")
    scheduled(app, db_session, notice)
    result = runner.invoke(args=["notices", "publish"])
    assert result.exit_code == 0, result.output
    assert (
        f"#{notice.id} {estate.estate.name} 《3号楼明日停水》: published, 3 mails" in result.output
    )
    mails = settle(smtp, 3)
    assert set(mails) == Estate.FIRST_BUILDING  # not 孙 of the second building, not 赵
    again = runner.invoke(args=["notices", "publish"])
    assert again.exit_code == 0 and "Published 0 notices" in again.output
    time.sleep(0.3)
    assert len(smtp.mailbox.messages) == 3

    chinese = mails["wang@example.com"]
    assert chinese["Subject"] == f"【{estate.estate.name}】一般通知：3号楼明日停水"
    assert "尊敬的住户" in Mailbox.text(chinese) and "因管道检修" in Mailbox.text(chinese)
    link = f"https://estate.example.test/portal/notices/{notice.id}"
    assert link in Mailbox.text(chinese) and link in Mailbox.html(chinese)
    english = mails["ann@example.com"]
    assert english["Subject"] == f"[{estate.estate.name}] General: 3号楼明日停水"
    assert "Dear resident," in Mailbox.text(english) and "尊敬" not in Mailbox.text(english)
    family = mails["family@example.com"]  # one mail for the two of them, in Chinese
    assert "尊敬的住户" in Mailbox.text(family)
    assert sorted(m.recipient for m in outbox(db_session)) == sorted(Estate.FIRST_BUILDING)


def test_a_hostile_body_arrives_inert(app, estate, make, db_session, smtp):
    hostile = (
        '<p onclick="steal()">停水<script>alert("x")</script>通知</p>'
        '<img src=x onerror="alert(1)"><a href="javascript:alert(2)">点这里</a>'
        '<svg onload="alert(3)"><circle r=1 /></svg>'
    )
    notice = estate.building_notice(make, body=hostile)
    # A row written around the form (an import, a hand edit) is cleaned again on the way out.
    db_session.execute(Notice.__table__.update().values(body=hostile).where(Notice.id == notice.id))
    db_session.commit()
    db_session.expire_all()
    notice = db_session.get(Notice, notice.id)
    with app.test_request_context():
        assert notices.publish(db_session, notice, by=estate.admin) == 3
        db_session.commit()  # the dispatcher delivers right after the commit
    mail = settle(smtp, 3)["wang@example.com"]
    html, words = Mailbox.html(mail), Mailbox.text(mail)
    for part in (html, words):
        assert "alert" not in part and "steal" not in part
        assert "javascript:" not in part and "<svg" not in part and "onerror" not in part
        assert "<script" not in part and "circle" not in part
    assert "onclick" not in html and "<p>停水通知</p>" in html and "点这里" in html
    assert "停水通知" in words and "点这里" in words
    assert "<p>" not in words and "<a" not in words


def test_a_line_break_in_the_title_stays_in_one_subject_line(app, estate, make, db_session, smtp):
    notice = estate.building_notice(make)
    # A title written around the form (the form joins lines itself, see below).
    db_session.execute(
        Notice.__table__.update()
        .values(title="停水\r\nBcc: everyone@example.com\n通知")
        .where(Notice.id == notice.id)
    )
    db_session.commit()
    db_session.expire_all()
    notice = db_session.get(Notice, notice.id)
    with app.test_request_context():
        notices.publish(db_session, notice, by=estate.admin)
        db_session.commit()
    mails = settle(smtp, 3)
    assert set(mails) == Estate.FIRST_BUILDING  # nobody added by a header in the title
    for mail in mails.values():
        assert mail["Bcc"] is None and mail["Subject"].count("Bcc: everyone@example.com") == 1
        assert "停水 Bcc: everyone@example.com 通知" in mail["Subject"]
    assert mails["ann@example.com"]["Subject"].startswith("[")
    assert mails["wang@example.com"]["Subject"].startswith("【")


def test_the_title_typed_with_a_line_break_is_saved_on_one_line(estate, make):
    notice = estate.building_notice(make, title="停水\n通知")
    assert notice.title == "停水 通知"


def test_resend_mails_only_the_unread_and_is_recorded(app, estate, make, db_session, smtp):
    notice = estate.building_notice(make, publish=True)
    deliver(app)
    settle(smtp, 3)
    assert notices.mark_read(db_session, notice, estate.wang) is True
    assert notices.mark_read(db_session, notice, estate.he) is True  # the family has read it
    db_session.commit()
    with app.test_request_context():
        assert resend_unread(db_session, notice, by=estate.admin) == 2
        db_session.commit()
    again = smtp.mailbox.wait(5)[3:]
    time.sleep(0.3)
    assert len(smtp.mailbox.messages) == 5
    # 陆 shares the family address and has not read it: the address gets the resend.
    assert sorted(m["To"] for m in again) == ["ann@example.com", "family@example.com"]
    db_session.expire_all()
    kinds = db_session.execute(
        select(NoticeMailing.kind, NoticeMailing.recipients, NoticeMailing.queued_by_id)
        .where(NoticeMailing.notice_id == notice.id)
        .order_by(NoticeMailing.id)
    ).all()
    assert kinds == [
        (MailingKind.publish, 3, estate.admin.id),
        (MailingKind.resend, 2, estate.admin.id),
    ]


def test_a_withdrawn_or_expired_notice_cannot_be_resent(app, estate, make, db_session):
    notice = estate.building_notice(make, publish=True)
    with app.test_request_context():
        notices.withdraw(db_session, notice, by=estate.admin)
        db_session.commit()
        with pytest.raises(NoticeError, match="只有已发布且未过期的公告"):
            resend_unread(db_session, notice, by=estate.admin)
        expiring = estate.building_notice(
            make, publish=True, expires_at=utcnow() + timedelta(hours=1)
        )
        with pytest.raises(NoticeError):
            resend_unread(db_session, expiring, by=estate.admin, now=utcnow() + timedelta(hours=2))
    db_session.rollback()
    assert notice.status is NoticeStatus.withdrawn
    assert len(outbox(db_session)) == 6  # the two first pushes only
    assert (
        db_session.scalar(select(NoticeMailing.id).where(NoticeMailing.kind == MailingKind.resend))
        is None
    )


def test_the_push_costs_the_same_statements_for_3_or_30_recipients(
    app, make, db_session, count_queries
):
    statements = {}
    for people in (3, 30):
        estate = make.estate()
        building = make.building(estate)
        for k in range(people):
            make.resident(estate, unit=make.unit(building), email=f"p{people}-{k}@example.com")
        notice = make.notice(estate, send_mail=True)
        db_session.expire_all()
        notice = db_session.get(Notice, notice.id)
        _ = notice.estate.name  # loaded, as publishing has it
        with app.test_request_context(), count_queries() as queries:
            assert push(db_session, notice, MailingKind.publish, by=None) == people
        statements[people] = queries
    # The INSERT … SELECT, the mailing record and its audit entry.
    assert len(statements[3]) == len(statements[30]) <= 3, statements[30]
    assert len(outbox(db_session)) == 33
