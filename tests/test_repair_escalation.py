"""Escalation: an urgent request nobody started past its response target is mailed to
the estate's administrators once — not again on the next run, not twice from two hosts
at once — and the assignee's mail and the escalation mail reach a real SMTP server."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import OutboxMessage, RepairEvent, RepairRequest, RepairUrgency, utcnow
from propadmin.extensions import db
from propadmin.services import repairs
from propadmin.services.repair_escalation import escalate_overdue

from .helpers import Mailbox, on_two_hosts


def office(make, *, admins=1):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    bosses = [make.user(roles=["admin"], estates=[estate]) for _ in range(admins)]
    return estate, unit, bosses


def overdue(make, unit, by, *, minutes=5, urgency=RepairUrgency.urgent, **fields):
    """A request logged by ``by``, whose response target passed ``minutes`` ago."""
    repair = make.repair(unit, by=by, urgency=urgency, **fields)
    repair.respond_by = utcnow() - timedelta(minutes=minutes)
    make.session.commit()
    return repair


def escalation_mails(db_session):
    db_session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == "repair_escalation")
    return db_session.scalars(query.order_by(OutboxMessage.id)).all()


def escalate_events(db_session, repair_ids):
    query = select(func.count()).select_from(RepairEvent).where(
        RepairEvent.action == "escalate", RepairEvent.repair_id.in_(repair_ids)
    )
    return db_session.scalar(query)


def test_the_assignee_and_the_admins_are_mailed_once_even_when_run_twice(
    app, make, db_session, runner, smtp
):
    estate, unit, (boss,) = office(make)
    boss.display_name = "王经理"
    english = make.user(roles=["admin"], estates=[estate], display_name="Ann")
    english.locale = "en"
    worker = make.user(roles=["repair"], estates=[estate], display_name="李师傅")
    db_session.commit()
    repair = overdue(make, unit, boss, location="3号楼电梯井积水")
    with app.test_request_context():
        repairs.assign(db_session, repair, worker, by=boss)
        db_session.commit()
    [assigned] = smtp.mailbox.wait(1)
    assert assigned["To"] == worker.email and f"#{repair.id}" in assigned["Subject"]
    assert f"/admin/repairs/{repair.id}" in Mailbox.text(assigned)

    args = ["repairs", "escalate", "--estate", estate.name]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert f"Escalated 1 urgent requests (#{repair.id}); queued 2 mails" in first.output
    second = runner.invoke(args=args)
    assert second.exit_code == 0 and "Escalated 0 urgent requests; queued 0" in second.output

    arrived = smtp.mailbox.wait(3)
    time.sleep(0.2)  # nothing more is on its way
    assert len(smtp.mailbox.messages) == 3
    mails = {m["To"]: m for m in arrived[1:]}
    assert set(mails) == {boss.email, english.email}
    chinese = Mailbox.text(mails[boss.email])
    assert "超过响应时限" in chinese and "王经理" in chinese
    assert "3号楼电梯井积水" in chinese and "李师傅" in chinese
    assert f"/admin/repairs/{repair.id}" in Mailbox.html(mails[boss.email])
    assert mails[boss.email]["Subject"] == f"{estate.name}：1 条紧急报修超时未响应"
    assert "urgent repairs without response" in mails[english.email]["Subject"]
    assert "no response past their target" in Mailbox.text(mails[english.email])
    db_session.expire_all()
    stored = db_session.get(RepairRequest, repair.id)
    assert stored.escalated_at is not None and stored.version == 2  # assign only
    assert [e.action for e in stored.events][-1] == "escalate"
    assert escalate_events(db_session, [repair.id]) == 1


def test_only_urgent_unanswered_overdue_requests_escalate(app, make, db_session):
    estate, unit, (boss,) = office(make)
    worker = make.user(roles=["repair"], estates=[estate])
    due = overdue(make, unit, boss)
    not_yet = overdue(make, unit, boss, minutes=-5)
    normal = overdue(make, unit, boss, urgency=RepairUrgency.normal)
    started = overdue(make, unit, boss)
    cancelled = overdue(make, unit, boss)
    with app.test_request_context():
        repairs.assign(db_session, started, worker, by=boss)
        repairs.start(db_session, started, by=worker)
        repairs.cancel(db_session, cancelled, by=boss, note="住户已自行处理")
        db_session.commit()
        result = escalate_overdue(db.session, estate_ids=[estate.id])
        db.session.commit()
    assert result.repair_ids == [due.id] and result.mails == 1
    assert [m.recipient for m in escalation_mails(db_session)] == [boss.email]
    for quiet in (not_yet, normal, started, cancelled):
        db_session.refresh(quiet)
        assert quiet.escalated_at is None


def test_who_is_told(app, make, db_session):
    estate, unit, (boss,) = office(make)
    other_estate = make.estate()
    gone = make.user(roles=["admin"], estates=[estate])
    gone.active = False
    make.user(roles=["finance"], estates=[estate])
    make.user(roles=["repair"], estates=[estate])
    make.user(roles=["admin"], estates=[other_estate])
    make.user(superuser=True)  # runs the system, is no member of the estate: not told
    member_super = make.user(superuser=True, estates=[estate])
    db_session.commit()
    overdue(make, unit, boss)
    with app.test_request_context():
        result = escalate_overdue(db.session, estate_ids=[estate.id])
        db.session.commit()
    assert sorted(m.recipient for m in escalation_mails(db_session)) == sorted(
        [boss.email, member_super.email]
    )
    assert result.mails == 2 and result.nobody_told == []


def test_nobody_to_tell_fails_the_command_with_a_message(app, make, db_session, runner):
    estate = make.estate()
    unit = make.unit(make.building(estate))
    overdue(make, unit, make.user(roles=["repair"], estates=[estate]))
    result = runner.invoke(args=["repairs", "escalate", "--estate", estate.name])
    assert result.exit_code == 1
    assert f"nobody to tell in {estate.name}" in result.output
    bad = runner.invoke(args=["repairs", "escalate", "--estate", "没有这个小区"])
    assert bad.exit_code != 0 and "no estate called" in bad.output


@pytest.mark.committed  # two sessions on two connections, at the same moment
def test_two_hosts_at_the_same_moment_escalate_each_request_once(app, make, db_session):
    estate, unit, bosses = office(make, admins=2)
    boss = bosses[0]
    ids = [overdue(make, unit, boss).id for _ in range(4)]
    estate_ids = [estate.id]
    results = on_two_hosts(app, lambda session: escalate_overdue(session, estate_ids=estate_ids))
    claimed = sorted(i for r in results for i in r.repair_ids)
    assert claimed == sorted(ids)
    assert sorted(r.mails for r in results) == [0, 2] or sum(r.mails for r in results) == 4
    assert escalate_events(db_session, ids) == 4
    assert len(escalation_mails(db_session)) == sum(r.mails for r in results)
