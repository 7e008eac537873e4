"""The demo estate's notices, as DESIGN.md's demo contract promises them: a published notice
for the whole estate and one for the first building only, reaching the demo accounts the way
the portal will show them; and the notices that must not be seen (draft, scheduled,
withdrawn, expired) seen by nobody."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import (
    Building,
    Estate,
    Notice,
    NoticeAudience,
    NoticeMailing,
    NoticePriority,
    NoticeReach,
    NoticeRead,
    NoticeStatus,
    Occupancy,
    OutboxMessage,
    Resident,
    Unit,
    User,
    utcnow,
)
from propadmin.services import notice_targets as targets
from propadmin.services.notice_html import clean
from propadmin.services.today import estate_today


def _resident(db_session, username) -> Resident:
    return db_session.scalar(select(User).where(User.username == username)).resident


def _notices(db_session, estate_id, *where) -> list[Notice]:
    return db_session.scalars(
        select(Notice).where(Notice.estate_id == estate_id, *where).order_by(Notice.id)
    ).all()


def _seen_by(db_session, resident, estate) -> set[int]:
    """The ids of the notices the resident's portal shows."""
    clause = targets.visible_to(resident.id, estate_today(estate), utcnow())
    return set(db_session.scalars(select(Notice.id).where(clause)))


@pytest.fixture
def accounts(db_session, demo):
    return {name: _resident(db_session, name) for name in ("owner", "owner2", "tenant")}


def _building_of(resident) -> int:
    (building_id,) = {o.unit.building_id for o in resident.occupancies}
    return building_id


def test_the_first_building_notice_reaches_owner_and_tenant_not_owner2(demo, db_session, accounts):
    estate = db_session.get(Estate, demo)
    first = db_session.scalar(
        select(Building.id).where(Building.estate_id == demo).order_by(Building.id).limit(1)
    )
    assert _building_of(accounts["owner"]) == first == _building_of(accounts["tenant"])
    assert _building_of(accounts["owner2"]) != first
    water = [
        n
        for n in _notices(db_session, demo, Notice.reach == NoticeReach.buildings)
        if n.status is NoticeStatus.published and {b.building_id for b in n.buildings} == {first}
    ]
    assert len(water) == 1, "one published notice for the first building only"
    (water,) = water
    assert water.priority is NoticePriority.urgent and water.pinned
    assert water.id in _seen_by(db_session, accounts["owner"], estate)
    assert water.id in _seen_by(db_session, accounts["tenant"], estate)
    assert water.id not in _seen_by(db_session, accounts["owner2"], estate)
    # Everyone it reaches lives in the first building today.
    reached = set(db_session.scalars(targets.recipients(water.id, estate_today(estate))))
    today = estate_today(estate)
    in_first = set(
        db_session.scalars(
            select(Occupancy.resident_id)
            .join(Unit)
            .where(Unit.building_id == first, targets.current(today))
        )
    )
    assert reached == in_first and accounts["owner2"].id not in reached


def test_the_whole_estate_notice_reaches_all_three(demo, db_session, accounts):
    estate = db_session.get(Estate, demo)
    whole = _notices(
        db_session,
        demo,
        Notice.reach == NoticeReach.estate,
        Notice.audience == NoticeAudience.everyone,
        targets.live(utcnow()),
    )
    fees = [n for n in whole if n.category.value == "fees"]
    assert len(fees) == 1
    for resident in accounts.values():
        assert fees[0].id in _seen_by(db_session, resident, estate)
    reach = targets.count(db_session, fees[0])
    living_here = db_session.scalar(
        select(func.count(func.distinct(Occupancy.resident_id)))
        .join(Unit)
        .join(Building)
        .where(Building.estate_id == demo, targets.current(estate_today(estate)))
    )
    assert reach.residents == living_here


def test_the_owners_meeting_reaches_owners_not_the_tenant(demo, db_session, accounts):
    estate = db_session.get(Estate, demo)
    (meeting,) = _notices(
        db_session, demo, Notice.audience == NoticeAudience.owners, targets.live(utcnow())
    )
    assert "业主大会" in meeting.title
    assert meeting.id in _seen_by(db_session, accounts["owner"], estate)
    assert meeting.id in _seen_by(db_session, accounts["owner2"], estate)
    assert meeting.id not in _seen_by(db_session, accounts["tenant"], estate)


def test_draft_scheduled_withdrawn_and_expired_notices_are_seen_by_nobody(demo, db_session):
    estate = db_session.get(Estate, demo)
    now = utcnow()
    today = estate_today(estate)
    hidden = {
        "draft": _notices(db_session, demo, Notice.status == NoticeStatus.draft),
        "scheduled": _notices(db_session, demo, Notice.status == NoticeStatus.scheduled),
        "withdrawn": _notices(db_session, demo, Notice.status == NoticeStatus.withdrawn),
        "expired": _notices(
            db_session, demo, Notice.status == NoticeStatus.published, Notice.expires_at <= now
        ),
    }
    for kind, found in hidden.items():
        assert found, f"the demo has no {kind} notice"
    (scheduled,) = hidden["scheduled"]
    at = scheduled.publish_at.astimezone(ZoneInfo(estate.timezone))
    assert at.date() == today + timedelta(days=1) and at.hour < 12  # tomorrow morning
    residents = db_session.scalars(select(Resident).where(Resident.estate_id == demo)).all()
    hidden_ids = {n.id for found in hidden.values() for n in found}
    for resident in residents:
        assert not _seen_by(db_session, resident, estate) & hidden_ids, resident.name
    # They do reach people: only their status keeps them off the portal.
    assert all(db_session.scalars(targets.recipients(i, today)).first() for i in hidden_ids)


def test_owner_has_read_some_and_the_tenant_none(demo, db_session, accounts):
    estate = db_session.get(Estate, demo)
    for name, resident in accounts.items():
        seen = _seen_by(db_session, resident, estate)
        unread = set(
            db_session.scalars(
                select(Notice.id).where(Notice.id.in_(seen), targets.unread(resident.id))
            )
        )
        assert seen, name
        if name == "owner":
            assert 0 < len(unread) < len(seen)
        if name == "tenant":
            assert unread == seen
    # Every read came after the notice went out, and before now.
    for read in db_session.scalars(select(NoticeRead).join(Notice).where(Notice.estate_id == demo)):
        assert read.notice.published_at < read.read_at < utcnow()


def test_bodies_are_clean_and_the_event_keeps_its_heading_list_link_and_picture(demo, db_session):
    every = _notices(db_session, demo)
    assert all(n.body == clean(n.body) for n in every)
    (event,) = [n for n in every if n.category.value == "event"]
    for markup in ("<h2>", "<ul>", "<li>", '<a href="http', '<img src="http'):
        assert markup in event.body, markup
    assert "/static/img/demo-notice-garden.svg" in event.body


def test_the_demo_sends_no_notice_mail(demo, db_session):
    assert db_session.scalar(select(func.count(NoticeMailing.id))) == 0
    queued = select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "notice")
    assert db_session.scalar(queued) == 0
    assert not any(n.send_mail for n in _notices(db_session, demo))


def test_the_audit_log_tells_a_notice_by_its_words_not_its_markup(demo, db_session, login_as):
    (event,) = _notices(db_session, demo, Notice.category == "event")
    page = login_as("admin").get(f"/admin/audit/?record=Notice:{event.id}").text
    assert f"新建了公告通知 {event.title}" in " ".join(page.split())
    assert "第三届邻里文化节" in page and "时间和地点" in page
    for markup in ("&lt;p&gt;", "&lt;img", "href=&#34;", "nofollow"):
        assert markup not in page, markup
