"""The daily facilities digest: each estate's admins get one mail, in their language,
listing warranties ending within 30 days and maintenance due or overdue — through the
outbox to a real SMTP server, once a day even when run twice or on two hosts at once;
never another estate's equipment; nothing when there is nothing to report."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from models import FacilityDigest, FacilityStatus, MaintenancePlan, OutboxMessage
from propadmin.extensions import db
from propadmin.services.facility_digest import send_digest

from .helpers import Mailbox, on_two_hosts

DAY = date(2026, 12, 1)


def digests(db_session):
    db_session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == "facility_digest")
    return db_session.scalars(query.order_by(OutboxMessage.id)).all()


class Estates:
    """Our estate with a lift whose warranty ends soon and an overdue plan on a pump;
    another estate with its own admin and equipment due."""

    def __init__(self, make, db_session):
        self.db = db_session
        self.ours = make.estate()
        self.admin = make.user(roles=["admin"], estates=[self.ours], email="boss@example.com")
        self.english = make.user(roles=["admin"], estates=[self.ours], email="eng@example.com")
        self.english.locale = "en"
        self.worker = make.user(roles=["repair"], estates=[self.ours], email="fix@example.com")
        self.lift = make.facility(
            self.ours, code="DT-01", name="1号客梯", warranty_end=DAY + timedelta(days=20),
            supplier="奥的斯", supplier_phone="4008-123-456",
        )
        self.pump = make.facility(self.ours, code="SB-02", name="生活水泵")
        self.old = make.facility(self.ours, code="OLD-1", name="旧路灯",
                                 warranty_end=DAY - timedelta(days=3))
        self.retired = make.facility(self.ours, code="RT-1", name="报废电梯",
                                     status=FacilityStatus.retired,
                                     warranty_end=DAY + timedelta(days=2))
        plans = [
            (self.pump, "水泵月度保养", -5, True),
            (self.lift, "电梯半月保养", 2, True),
            (self.lift, "年检", 90, True),
            (self.old, "停用计划", 0, False),
        ]
        db_session.add_all([
            MaintenancePlan(facility=f, title=t, next_due=DAY + timedelta(days=d), active=a)
            for f, t, d, a in plans
        ])
        self.theirs = make.estate()
        self.their_admin = make.user(roles=["admin"], estates=[self.theirs],
                                     email="other@example.com")
        their = make.facility(self.theirs, code="XX-9", name="别家水泵",
                              warranty_end=DAY + timedelta(days=1))
        db_session.add(MaintenancePlan(facility=their, title="别家保养", next_due=DAY))
        db_session.commit()

    @property
    def ids(self):
        return [self.ours.id, self.theirs.id]


@pytest.fixture
def estates(make, db_session):
    return Estates(make, db_session)


def run(app, estate_ids, day=DAY):
    with app.app_context():
        result = send_digest(db.session, estate_ids=estate_ids, today=day)
        db.session.commit()
        return result


def test_the_admins_get_one_mail_each_in_their_language(app, estates, smtp):
    result = run(app, estates.ids)
    assert result.mails == 3 and sorted(result.estates) == sorted(
        [estates.ours.name, estates.theirs.name]
    )
    arrived = {m["To"]: m for m in smtp.mailbox.wait(3)}
    assert set(arrived) == {"boss@example.com", "eng@example.com", "other@example.com"}
    chinese = Mailbox.text(arrived["boss@example.com"])
    assert arrived["boss@example.com"]["Subject"] == f"{estates.ours.name}：设施设备待办 2026-12-01"
    assert "水泵月度保养" in chinese and "逾期 5 天" in chinese
    assert "电梯半月保养" in chinese and "年检" not in chinese and "停用计划" not in chinese
    assert "DT-01" in chinese and "2026-12-21" in chinese and "4008-123-456" in chinese
    assert "旧路灯" not in chinese and "报废电梯" not in chinese
    assert f"/admin/facility/details/?id={estates.pump.id}" in chinese
    assert "别家" not in chinese and "XX-9" not in chinese
    assert "别家" not in Mailbox.html(arrived["boss@example.com"])
    english = Mailbox.text(arrived["eng@example.com"])
    assert "5 days overdue" in english and "Warranties ending within 30 days" in english
    other = Mailbox.text(arrived["other@example.com"])
    assert "别家水泵" in other and "1号客梯" not in other and "生活水泵" not in other


def test_run_twice_it_sends_once(app, estates, smtp, db_session):
    first = run(app, estates.ids)
    second = run(app, estates.ids)
    assert (first.mails, second.mails) == (3, 0)
    assert sorted(second.already) == sorted([estates.ours.name, estates.theirs.name])
    smtp.mailbox.wait(3)
    assert len(smtp.mailbox.messages) == 3
    assert len(digests(db_session)) == 3
    # The next day is a new digest.
    assert run(app, estates.ids, DAY + timedelta(days=1)).mails == 3


def test_two_hosts_at_the_same_moment_send_it_once(app, estates, smtp, db_session):
    ids = estates.ids
    results = on_two_hosts(app, lambda session: send_digest(session, estate_ids=ids, today=DAY))
    assert sorted(r.mails for r in results) == [0, 3]
    smtp.mailbox.wait(3)
    assert sorted(m["To"] for m in smtp.mailbox.messages) == sorted(
        ["boss@example.com", "eng@example.com", "other@example.com"]
    )
    rows = db_session.scalar(select(func.count(FacilityDigest.id)))
    assert rows == 2


def test_nothing_to_report_sends_nothing_and_claims_nothing(app, make, db_session):
    quiet = make.estate()
    make.user(roles=["admin"], estates=[quiet])
    make.facility(quiet, warranty_end=DAY + timedelta(days=31))
    assert run(app, [quiet.id]).mails == 0
    assert db_session.scalar(select(func.count(FacilityDigest.id))) == 0


def test_who_is_mailed(app, make, db_session):
    estate = make.estate()
    make.facility(estate, warranty_end=DAY + timedelta(days=3))
    boss = make.user(roles=["admin"], estates=[estate])
    make.user(roles=["admin"], estates=[estate]).active = False
    make.user(roles=["repair"], estates=[estate])  # facilities.view and maintain, not edit
    make.user(roles=["finance"], estates=[estate])
    member_root = make.user(estates=[estate], superuser=True)
    make.user(superuser=True)  # looks after every estate: not mailed for each of them
    db_session.commit()
    run(app, [estate.id])
    assert sorted(m.recipient for m in digests(db_session)) == sorted(
        [boss.email, member_root.email]
    )


def test_an_estate_without_an_admin_to_mail_is_named(app, make, runner):
    estate = make.estate()
    make.facility(estate, warranty_end=DAY)
    make.user(roles=["admin"], estates=[estate], email=None)
    result = runner.invoke(args=["facilities", "digest", "--estate", estate.name,
                                 "--date", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Queued 0 digest mails for 0 estates" in result.output
    assert f"no admin with an e-mail address for facilities in {estate.name}" in result.output


def test_the_command_sends_once_and_says_so(app, estates, runner, smtp):
    app.config["MAIL_DISPATCH"] = "thread"  # as in production: the command delivers itself
    args = ["facilities", "digest", "--estate", estates.ours.name, "--date", DAY.isoformat()]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Queued 2 digest mails for 1 estates; 0 estates already" in first.output
    assert {m["To"] for m in smtp.mailbox.messages} == {"boss@example.com", "eng@example.com"}
    again = runner.invoke(args=args)
    assert "Queued 0 digest mails for 0 estates; 1 estates already" in again.output
    assert len(smtp.mailbox.messages) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "2026-13-01"], "is not a date"),
        (["--date", "tomorrow"], "is not a date"),
        (["--estate", "没有这个小区"], "no estate called"),
    ],
)
def test_the_command_refuses_bad_input_with_a_message(runner, app, args, message):
    result = runner.invoke(args=["facilities", "digest", *args])
    assert result.exit_code != 0 and message in result.output


def test_the_command_fails_loudly_when_the_database_is_busy(runner, monkeypatch):
    def busy(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr("propadmin.cli_facilities_digest.send_digest", busy)
    result = runner.invoke(args=["facilities", "digest"])
    assert result.exit_code != 0
    assert "nothing was sent" in result.output and "database is locked" in result.output
