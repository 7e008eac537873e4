"""The notices foundation on both databases: whom a notice reaches, publishing, reading and
the mail push agree with each other (the modules' own tests go further)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    MailingKind,
    Notice,
    NoticeAudience,
    NoticeReach,
    NoticeStatus,
    OutboxMessage,
    Relation,
    utcnow,
)
from propadmin.services import notice_targets as targets
from propadmin.services import notices
from propadmin.services.notices import NoticeError


@pytest.fixture
def estate_of_two(make):
    """Two buildings; in the first an owner and a tenant in two units, in the second an
    owner; and a resident of another estate."""
    estate = make.estate()
    first, second = make.building(estate), make.building(estate)
    u1, u2, u3 = make.unit(first), make.unit(first), make.unit(second)
    people = {
        "owner1": make.resident(estate, unit=u1, name="甲", email="a@example.com"),
        "tenant1": make.resident(estate, unit=u2, relation=Relation.tenant, name="乙"),
        "owner2": make.resident(estate, unit=u3, name="丙", email="c@example.com"),
    }
    other = make.estate()
    people["outsider"] = make.resident(other, unit=make.unit(make.building(other)), name="丁")
    return estate, (first, second), (u1, u2, u3), people


def reached(db_session, notice):
    today = targets.notice_today(notice)
    return set(db_session.scalars(targets.recipients(notice.id, today)))


def sees(db_session, resident, notice):
    now = utcnow()
    today = targets.notice_today(notice)
    clause = targets.visible_to(resident.id, today, now)
    return db_session.scalar(select(Notice.id).where(Notice.id == notice.id, clause)) is not None


def test_targets_agree_between_recipients_and_portal(make, db_session, estate_of_two):
    estate, (first, _second), (u1, _u2, _u3), people = estate_of_two
    cases = {
        (NoticeReach.estate, NoticeAudience.everyone, ()): {"owner1", "tenant1", "owner2"},
        (NoticeReach.buildings, NoticeAudience.everyone, (first.id,)): {"owner1", "tenant1"},
        (NoticeReach.buildings, NoticeAudience.owners, (first.id,)): {"owner1"},
        (NoticeReach.estate, NoticeAudience.tenants, ()): {"tenant1"},
        (NoticeReach.units, NoticeAudience.everyone, (u1.id,)): {"owner1"},
    }
    for (reach, audience, ids), expected in cases.items():
        kwargs = (
            {"building_ids": list(ids)}
            if reach is NoticeReach.buildings
            else {"unit_ids": list(ids)}
        )
        notice = make.notice(estate, reach=reach, audience=audience, publish=True, **kwargs)
        want = {people[name].id for name in expected}
        assert reached(db_session, notice) == want, (reach, audience)
        for name, resident in people.items():
            assert sees(db_session, resident, notice) is (name in expected), (name, reach)


def test_publish_mails_each_address_once_and_counts_reads(app, make, db_session, estate_of_two):
    estate, *_rest, people = estate_of_two
    notice = make.notice(estate, send_mail=True, publish=True)
    assert notice.status is NoticeStatus.published
    rows = db_session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")).all()
    assert sorted(m.recipient for m in rows) == ["a@example.com", "c@example.com"]
    assert all(notice.title in m.subject for m in rows)
    assert notice.mailings[0].kind is MailingKind.publish and notice.mailings[0].recipients == 2
    with app.test_request_context():
        reach = targets.count(db_session, notice)
    assert (reach.residents, reach.addresses) == (3, 2)
    assert notices.mark_read(db_session, notice, people["owner1"]) is True
    assert notices.mark_read(db_session, notice, people["owner1"]) is False
    db_session.commit()
    figures = targets.read_figures(db_session, notice)
    assert (figures.recipients, figures.read, figures.unread) == (3, 1, 2)
    with app.test_request_context():
        from propadmin.services.notice_mail import resend_unread

        assert resend_unread(db_session, notice, by=notice.author) == 1  # c@ only
        db_session.commit()


def test_scheduled_notice_goes_out_once_at_its_time(app, make, db_session, estate_of_two):
    estate, *_rest, people = estate_of_two
    notice = make.notice(estate)
    at = utcnow() + timedelta(hours=1)
    with app.test_request_context():
        notices.schedule(db_session, notice, at, by=notice.author)
        db_session.commit()
        assert not sees(db_session, people["owner1"], notice)
        assert notices.publish_due(db_session, now=at - timedelta(seconds=1)) == []
        assert [n.id for n in notices.publish_due(db_session, now=at)] == [notice.id]
        db_session.commit()
        assert notices.publish_due(db_session, now=at + timedelta(minutes=1)) == []
    assert notice.status is NoticeStatus.published
    assert sees(db_session, people["owner1"], notice)


def test_hostile_body_and_bad_targets_are_refused(make, db_session, estate_of_two):
    estate, *_rest = estate_of_two
    other_building = make.building(make.estate())
    notice = make.notice(
        estate,
        body='<p onclick="x()">水<script>alert(1)</script></p>'
        '<a href="javascript:alert(1)">点</a><svg onload=x>',
    )
    assert notice.body == '<p>水</p><a rel="noopener noreferrer nofollow">点</a>'
    with pytest.raises(NoticeError) as refused:
        make.notice(estate, reach=NoticeReach.buildings, building_ids=[other_building.id])
    assert "building_ids" in refused.value.errors
    with pytest.raises(NoticeError) as refused:
        make.notice(estate, title="", body="<script>x</script>")
    assert set(refused.value.errors) >= {"title", "body"}
    assert db_session.scalar(select(func.count(Notice.id))) == 1
