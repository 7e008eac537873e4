"""``flask notices publish``: a scheduled notice stays out of the portal until its time,
then goes out exactly once with one mail per address — however often the command runs,
and when two hosts run it at the same moment. One notice that fails does not hold back
the others."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from models import (
    Notice,
    NoticeMailing,
    NoticeReach,
    NoticeStatus,
    OutboxMessage,
    utcnow,
)
from propadmin import cli_notices_publish
from propadmin.cli_notices_publish import publish_scheduled
from propadmin.services import notice_mail, notices
from propadmin.services import notice_targets as targets

from .helpers import on_two_hosts

AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def publish_when(runner, monkeypatch, local: str):
    """``flask notices publish`` as cron runs it when the office clock shows ``local``."""
    when = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    monkeypatch.setattr(cli_notices_publish, "utcnow", lambda: when.astimezone(UTC))
    return runner.invoke(args=["notices", "publish"])


class Estate:
    """Two buildings, two residents with addresses in each and one without in the first."""

    def __init__(self, make):
        self.estate = make.estate()
        self.first, self.second = make.building(self.estate), make.building(self.estate)
        self.admin = make.user(roles=["admin"], estates=[self.estate])
        self.people = [
            make.resident(self.estate, unit=make.unit(building), name=name, email=email)
            for building, name, email in (
                (self.first, "甲", "jia@example.com"),
                (self.first, "乙", "yi@example.com"),
                (self.first, "丙", ""),
                (self.second, "丁", "ding@example.com"),
                (self.second, "戊", "wu@example.com"),
            )
        ]

    def notice(self, make, **fields):
        fields.setdefault("send_mail", True)
        return make.notice(self.estate, by=self.admin, **fields)


@pytest.fixture
def estate(make):
    return Estate(make)


def schedule(app, db_session, notice, at):
    """Schedule ``notice`` for ``at``, as the editor did an hour before it."""
    with app.test_request_context():
        notices.schedule(db_session, notice, at, by=notice.author, now=at - timedelta(hours=1))
    db_session.commit()


def sees(db_session, resident, notice, now=None):
    clause = targets.visible_to(resident.id, targets.notice_today(notice), now or utcnow())
    return db_session.scalar(select(Notice.id).where(Notice.id == notice.id, clause)) is not None


def mail_rows(db_session, notice):
    """(outbox recipients, push records) of the notice."""
    db_session.expire_all()
    link = f'/portal/notices/{notice.id}"'  # the closing quote: not #12 for #1
    rows = db_session.scalars(
        select(OutboxMessage.recipient).where(
            OutboxMessage.kind == "notice", OutboxMessage.body_html.contains(link)
        )
    ).all()
    pushes = db_session.scalar(
        select(func.count(NoticeMailing.id)).where(NoticeMailing.notice_id == notice.id)
    )
    return sorted(rows), pushes


def test_invisible_before_its_time_then_published_once_however_often_it_runs(
    app, estate, make, db_session, runner, monkeypatch
):
    notice = estate.notice(make, title="小区停电检修")
    schedule(app, db_session, notice, AT)
    jia = estate.people[0]
    assert not sees(db_session, jia, notice, now=AT - timedelta(minutes=1))

    early = publish_when(runner, monkeypatch, "2026-12-01 08:59")
    assert early.exit_code == 0, early.output
    assert "Published 0 notices due by 2026-12-01 00:59 UTC; queued 0 mails." in early.output
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).status is NoticeStatus.scheduled
    assert not sees(db_session, jia, notice)

    outputs = [publish_when(runner, monkeypatch, "2026-12-01 09:00") for _ in range(3)]
    assert [r.exit_code for r in outputs] == [0, 0, 0], [r.output for r in outputs]
    assert f"#{notice.id} {estate.estate.name} 《小区停电检修》: published, 4 mails" in (
        outputs[0].output
    )
    assert "Published 1 notices due by 2026-12-01 01:00 UTC; queued 4 mails." in outputs[0].output
    for later in outputs[1:]:
        assert "Published 0 notices" in later.output and "#" not in later.output
    db_session.expire_all()
    stored = db_session.get(Notice, notice.id)
    assert stored.status is NoticeStatus.published and stored.published_at == AT
    assert stored.published_by_id is None and stored.version == 3  # schedule, publish
    assert sees(db_session, jia, notice) and sees(db_session, estate.people[3], notice)
    recipients = ["ding@example.com", "jia@example.com", "wu@example.com", "yi@example.com"]
    assert mail_rows(db_session, notice) == (recipients, 1)


def test_nothing_due_exits_quietly(estate, runner):
    result = runner.invoke(args=["notices", "publish"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Published 0 notices due by ")


def test_only_the_due_ones_go_and_a_building_notice_mails_that_building(
    app, estate, make, db_session, runner
):
    now = utcnow()
    due = estate.notice(make, reach=NoticeReach.buildings, building_ids=[estate.first.id])
    later = estate.notice(make)
    draft = estate.notice(make)
    schedule(app, db_session, due, now - timedelta(minutes=2))
    schedule(app, db_session, later, now + timedelta(hours=2))
    result = runner.invoke(args=["notices", "publish"])
    assert result.exit_code == 0, result.output
    assert f"#{due.id} " in result.output and f"#{later.id} " not in result.output
    assert mail_rows(db_session, due) == (["jia@example.com", "yi@example.com"], 1)
    assert mail_rows(db_session, later) == ([], 0)
    statuses = {n.id: db_session.get(Notice, n.id).status for n in (due, later, draft)}
    assert statuses == {
        due.id: NoticeStatus.published,
        later.id: NoticeStatus.scheduled,
        draft.id: NoticeStatus.draft,
    }
    assert not sees(db_session, estate.people[3], due)  # the second building does not see it


def test_a_notice_whose_expiry_passed_before_its_time_is_not_published(
    app, estate, make, db_session, runner, monkeypatch
):
    notice = estate.notice(make, expires_at=AT + timedelta(hours=1))
    schedule(app, db_session, notice, AT)
    result = publish_when(runner, monkeypatch, "2026-12-01 10:30")
    assert result.exit_code == 0, result.output
    assert "Published 0 notices due by 2026-12-01 02:30 UTC" in result.output
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).status is NoticeStatus.scheduled
    assert mail_rows(db_session, notice) == ([], 0)


def test_one_failing_notice_rolls_back_alone_and_goes_out_on_the_next_run(
    app, estate, make, db_session, runner, monkeypatch
):
    first, second, third = (estate.notice(make, title=f"通知{k}") for k in range(3))
    for notice in (first, second, third):
        schedule(app, db_session, notice, AT)
    real_push, failing = notice_mail.push, second.id

    def push(session, notice, *args, **kwargs):
        if notice.id == failing:
            raise OperationalError("INSERT …", {}, Exception("database is locked"))
        return real_push(session, notice, *args, **kwargs)

    monkeypatch.setattr(notice_mail, "push", push)
    result = publish_when(runner, monkeypatch, "2026-12-01 09:05")
    assert result.exit_code == 1, result.output
    assert f"#{second.id}: not published, will be tried again on the next run" in result.output
    assert "database is locked" in result.output
    assert "Published 2 notices" in result.output and "1 failed." in result.output
    db_session.expire_all()
    assert db_session.get(Notice, second.id).status is NoticeStatus.scheduled
    assert mail_rows(db_session, second) == ([], 0)  # its publish and its mails went together
    assert mail_rows(db_session, first)[1] == mail_rows(db_session, third)[1] == 1

    monkeypatch.setattr(notice_mail, "push", real_push)
    retry = publish_when(runner, monkeypatch, "2026-12-01 09:06")
    assert retry.exit_code == 0, retry.output
    assert "Published 1 notices" in retry.output and f"#{second.id} " in retry.output
    assert mail_rows(db_session, second)[1] == 1
    assert len(mail_rows(db_session, first)[0]) == 4


@pytest.mark.committed  # two sessions on two connections, at the same moment
def test_two_hosts_at_the_same_moment_publish_each_notice_once(app, estate, make, db_session):
    ids = []
    for k in range(4):
        notice = estate.notice(make, title=f"同时发布{k}")
        schedule(app, db_session, notice, AT)
        ids.append(notice.id)
    runs = on_two_hosts(app, lambda session: publish_scheduled(session, AT + timedelta(minutes=1)))
    assert [run.failed for run in runs] == [[], []]
    published = sorted(p.id for run in runs for p in run.published)
    assert published == ids
    assert sum(run.mails for run in runs) == 16
    db_session.expire_all()
    for notice_id in ids:
        stored = db_session.get(Notice, notice_id)
        assert stored.status is NoticeStatus.published and stored.version == 3
        assert stored.published_at == AT + timedelta(minutes=1)
        assert mail_rows(db_session, stored) == (
            ["ding@example.com", "jia@example.com", "wu@example.com", "yi@example.com"],
            1,
        )


def test_with_a_notice_for_each_building_each_resident_sees_and_gets_only_their_own(
    app, estate, make, db_session, runner, monkeypatch
):
    first = estate.notice(make, reach=NoticeReach.buildings, building_ids=[estate.first.id])
    second = estate.notice(make, reach=NoticeReach.buildings, building_ids=[estate.second.id])
    home = make.unit(estate.first)
    unit_notice = estate.notice(make, reach=NoticeReach.units, unit_ids=[home.id])
    someone = make.resident(estate.estate, unit=home, email="home@example.com")
    for notice in (first, second, unit_notice):
        schedule(app, db_session, notice, AT)
    assert publish_when(runner, monkeypatch, "2026-12-01 09:00").exit_code == 0
    jia, ding = estate.people[0], estate.people[3]
    assert (sees(db_session, jia, first), sees(db_session, jia, second)) == (True, False)
    assert (sees(db_session, ding, first), sees(db_session, ding, second)) == (False, True)
    assert [sees(db_session, p, unit_notice) for p in (jia, ding, someone)] == [False, False, True]
    assert mail_rows(db_session, first)[0] == [
        "home@example.com",
        "jia@example.com",
        "yi@example.com",
    ]
    assert mail_rows(db_session, second)[0] == ["ding@example.com", "wu@example.com"]
    assert mail_rows(db_session, unit_notice)[0] == ["home@example.com"]
