"""Payment reminders: one mail per payer with overdue bills, listing them, in the payer's
language, through the outbox to a real SMTP server; never twice on the same day, not even
from two hosts at the same moment; payers without e-mail are counted for a phone call.

Each test makes an estate of its own, so the demo's bills never count."""

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import BillReminder, BillStatus, OutboxMessage
from propadmin.extensions import db
from propadmin.services.reminders import preview_reminders, send_reminders

from .helpers import Mailbox, csrf_from, on_two_hosts

TODAY = date(2026, 12, 1)
OVERDUE = TODAY - timedelta(days=10)


BUILDINGS = itertools.count(1)


def payer(make, estate, name, *, email="", locale=None, account=False):
    """A resident paying for a unit of ``estate`` (in a building of its own, named so as
    not to meet the demo's); with an account when asked."""
    unit = make.unit(building=make.building(estate=estate, name=f"催{next(BUILDINGS)}栋"))
    person = make.resident(unit=unit, name=name, email=email)
    if account:
        user = make.user(roles=["owner"], estates=[estate], email=email or None)
        user.locale = locale
        person.user = user
        make.session.commit()
    return person, unit


def overdue(make, unit, person, period, *amounts, due=OVERDUE, **fields):
    return make.bill(unit, period=period, amounts=amounts, payer=person, due_date=due, **fields)


def outbox(db_session):
    db_session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == "bill_reminder")
    return db_session.scalars(query.order_by(OutboxMessage.id)).all()


def remind(app, estate, today=TODAY):
    with app.app_context():
        result = send_reminders(db.session, today=today, estate_ids=[estate.id])
        db.session.commit()
        return result


# -- the mail ------------------------------------------------------------------------------
def test_reminders_reach_the_smtp_server_in_each_payers_language(app, make, db_session, smtp):
    estate = make.estate(phone="0571-88886666")
    zhang, zhang_unit = payer(make, estate, "张伟", email="zhang@example.com", account=True)
    smith, smith_unit = payer(
        make, estate, "Smith", email="smith@example.com", locale="en", account=True
    )
    overdue(make, zhang_unit, zhang, "2026-09", "120.00", "35.50")
    overdue(make, zhang_unit, zhang, "2026-10", "88.00")
    overdue(make, smith_unit, smith, "2026-10", "300.00")
    overdue(make, smith_unit, smith, "2026-11", "99.00", due=TODAY + timedelta(days=5))
    paid = overdue(make, smith_unit, smith, "2026-08", "50.00")
    paid.paid, paid.status = Decimal("50.00"), BillStatus.paid
    make.session.commit()

    result = remind(app, estate)
    assert (result.queued, result.amount, result.already) == (2, Decimal("543.50"), 0)
    arrived = {m["To"]: m for m in smtp.mailbox.wait(2)}
    assert set(arrived) == {"zhang@example.com", "smith@example.com"}

    chinese = Mailbox.text(arrived["zhang@example.com"])
    assert arrived["zhang@example.com"]["Subject"] == f"{estate.name}：物业费用催缴通知"
    assert "张伟" in chinese and "已过缴费期限" in chinese
    assert "2026-09" in chinese and "¥155.50" in chinese and "2026-10" in chinese
    assert "合计：¥243.50" in chinese
    assert zhang_unit.label in chinese and OVERDUE.isoformat() in chinese
    assert "/portal/bills" in Mailbox.html(arrived["zhang@example.com"])

    english = Mailbox.text(arrived["smith@example.com"])
    assert arrived["smith@example.com"]["Subject"] == f"{estate.name}: bills to pay"
    assert "past their due date" in english and "Total: ¥300.00" in english
    assert "2026-10" in english
    assert "· 2026-11 ·" not in english and "2026-08" not in english  # not due yet; paid


def test_a_second_run_on_the_same_day_queues_nothing(app, make, db_session):
    estate = make.estate()
    for n in range(3):
        person, unit = payer(make, estate, f"业主{n}", email=f"p{n}@example.com")
        overdue(make, unit, person, "2026-10", "100.00")
    first = remind(app, estate)
    second = remind(app, estate)
    assert (first.queued, first.already) == (3, 0)
    assert (second.queued, second.already, second.amount) == (0, 3, Decimal("0.00"))
    assert len(outbox(db_session)) == 3
    rows = db_session.scalars(select(BillReminder).where(BillReminder.estate_id == estate.id)).all()
    assert len(rows) == 3 and all(r.outbox_id for r in rows)
    assert {r.amount for r in rows} == {Decimal("100.00")}
    # The next day, they are reminded again.
    assert remind(app, estate, TODAY + timedelta(days=1)).queued == 3


@pytest.mark.committed  # two sessions on two connections, at the same moment
def test_two_hosts_at_the_same_moment_send_one_mail_per_payer(app, make, db_session):
    estate = make.estate()
    for n in range(6):
        person, unit = payer(make, estate, f"业主{n}", email=f"host{n}@example.com")
        overdue(make, unit, person, "2026-10", "10.00")
        overdue(make, unit, person, "2026-09", "20.00")
    estate_ids = [estate.id]  # read here: the test's session is not for threads
    results = on_two_hosts(
        app, lambda session: send_reminders(session, today=TODAY, estate_ids=estate_ids)
    )
    assert sorted(r.queued for r in results) == [0, 6]
    mails = outbox(db_session)
    assert sorted(m.recipient for m in mails) == sorted(f"host{n}@example.com" for n in range(6))


def test_payers_without_email_are_counted_for_a_call(app, make, db_session):
    estate = make.estate()
    quiet, unit = payer(make, estate, "王静")
    overdue(make, unit, quiet, "2026-10", "75.00")
    loud, unit2 = payer(make, estate, "李强", email="li@example.com")
    overdue(make, unit2, loud, "2026-10", "25.00")
    with app.app_context():
        preview = preview_reminders(db.session, today=TODAY, estate_ids=[estate.id])
    assert (preview.payers, preview.amount, preview.no_email) == (1, Decimal("25.00"), 1)
    result = remind(app, estate)
    assert result.queued == 1 and result.no_email == ["王静"]
    assert [m.recipient for m in outbox(db_session)] == ["li@example.com"]


def test_the_payers_and_bills_are_read_in_a_constant_number_of_queries(
    app, make, db_session, count_queries
):
    def estate_with(n):
        estate = make.estate()
        for i in range(n):
            email = f"q{n}-{i}@example.com"
            person, unit = payer(make, estate, f"业主{i}", email=email)
            person.user = make.user(roles=["owner"], estates=[estate], email=email)
            overdue(make, unit, person, "2026-10", "10.00")
            overdue(make, unit, person, "2026-09", "10.00")
        make.session.commit()
        return estate

    small, large = estate_with(2), estate_with(8)
    with count_queries() as few:
        assert remind(app, small).queued == 2
    with count_queries() as many:
        assert remind(app, large).queued == 8

    def reads(queries):
        return [q for q in queries if q.lstrip().upper().startswith("SELECT")]

    assert len(reads(many)) == len(reads(few)), "\n\n".join(reads(many))
    # Writing: the day's reminder rows in one statement, then each mail into the outbox.
    assert len(many) - len(few) <= 8 - 2


# -- the command and the admin page --------------------------------------------------------
def test_the_command_prints_the_counts_and_runs_once_a_day(app, make, runner, db_session):
    estate = make.estate()
    person, unit = payer(make, estate, "赵敏", email="zhao@example.com")
    overdue(make, unit, person, "2026-10", "1234.50")
    nobody, unit2 = payer(make, estate, "钱多")
    overdue(make, unit2, nobody, "2026-10", "10.00")
    args = ["bills", "remind", "--estate", estate.name, "--date", TODAY.isoformat()]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Queued 1 reminders (¥1,234.50); 0 payers already reminded today; " in result.output
    assert "1 payers have no e-mail: call them" in result.output and "钱多" in result.output
    again = runner.invoke(args=args)
    assert "Queued 0 reminders (¥0.00); 1 payers already reminded today" in again.output


def test_the_command_delivers_at_once_through_the_outbox(app, make, runner, smtp):
    app.config["MAIL_DISPATCH"] = "thread"  # as in production: the command sends itself
    estate = make.estate()
    person, unit = payer(make, estate, "周明", email="zhou@example.com")
    overdue(make, unit, person, "2026-10", "60.00")
    result = runner.invoke(args=["bills", "remind", "--estate", estate.name])
    assert result.exit_code == 0 and "Queued 1 reminders (¥60.00)" in result.output
    [mail] = smtp.mailbox.messages  # delivered before the command returned
    assert mail["To"] == "zhou@example.com" and "¥60.00" in Mailbox.text(mail)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "2026-13-01"], "is not a date"),
        (["--date", "tomorrow"], "is not a date"),
        (["--estate", "没有这个小区"], "no estate called"),
    ],
)
def test_the_command_refuses_bad_input_with_a_message(runner, app, args, message):
    result = runner.invoke(args=["bills", "remind", *args])
    assert result.exit_code != 0 and message in result.output


def preview_on(page: str) -> tuple[int, Decimal]:
    payers = re.search(r'class="[^"]*reminder-payers">(\d+)<', page).group(1)
    amount = re.search(r'class="[^"]*reminder-amount">¥([\d,.]+)<', page).group(1)
    return int(payers), Decimal(amount.replace(",", ""))


def test_finance_sees_the_count_then_sends_from_the_admin(login_as, make, db_session, demo):
    from models import Estate

    finance = login_as("finance")
    payers, amount = preview_on(finance.get("/admin/bill_reminder/send/").text)
    estate = db_session.get(Estate, demo)
    person, unit = payer(make, estate, "孙丽", email="sun@example.com")
    overdue(make, unit, person, "2019-10", "77.00", due=date.today() - timedelta(days=3))
    page = finance.get("/admin/bill_reminder/send/").text
    assert "本次将提醒的缴费人" in page
    assert preview_on(page) == (payers + 1, amount + Decimal("77.00"))
    answer = finance.post(
        "/admin/bill_reminder/send/", data={"csrf_token": csrf_from(page)}
    )
    assert answer.status_code == 302
    listing = finance.get(answer.location).text
    assert "封催缴邮件" in listing and "孙丽" in listing
    assert any(m.recipient == "sun@example.com" for m in outbox(db_session))
    page = finance.get("/admin/bill_reminder/send/").text
    assert "今天已提醒" in page
    from .test_no_english import english_words

    row = db_session.scalar(select(BillReminder).where(BillReminder.payer_id == person.id))
    for url in ("/admin/bill_reminder/", f"/admin/bill_reminder/details/?id={row.id}"):
        shown = finance.get(url, headers={"Accept-Language": "zh-CN"}).text
        assert english_words(shown) - {"finance"} == set(), url
    assert english_words(page) - {"finance"} == set()
    audit = login_as("admin").get("/admin/audit/", headers={"Accept-Language": "zh-CN"}).text
    [entry] = [row for row in audit.split("<tr")[1:] if "催缴通知" in row]
    # One entry for the estate's run: what today's reminders there asked for, together —
    # 孙丽's ¥77.00 and what the demo's payers with overdue bills owe, as the preview said.
    assert row.amount == Decimal("77.00")
    sent = db_session.scalar(
        select(func.sum(BillReminder.amount)).where(
            BillReminder.estate_id == demo, BillReminder.sent_on == row.sent_on
        )
    )
    assert sent == amount + Decimal("77.00")
    assert "提醒日期" in entry and f"{sent:.2f}" in entry
    assert english_words("<tr" + entry) - {"finance"} == set()


def test_a_reminder_charges_todays_late_fee_before_listing_what_is_owed(app, make, db_session):
    """With a late-fee policy, the reminder first assesses the fee, so the mail asks for
    what the payer owes today: ¥1,000.00 overdue 10 days past 0 grace days at 0.03 %/day."""
    from models import LateFeePolicy

    estate = make.estate()
    make.session.add(LateFeePolicy(estate=estate, grace_days=0, daily_percent=Decimal("0.03")))
    person, unit = payer(make, estate, "周敏", email="zhou@example.com")
    bill = overdue(make, unit, person, "2026-10", "1000.00")

    result = remind(app, estate)
    assert (result.queued, result.amount) == (1, Decimal("1003.00"))
    db_session.refresh(bill)
    assert bill.late_fee == Decimal("3.00")
    (mail,) = outbox(db_session)
    assert "1,003.00" in mail.body_text


def test_the_preview_asks_for_todays_late_fee_as_the_mail_will(app, make, db_session):
    """The count finance sees before sending is what the mails then ask for: today's late
    fee included (less a late-fee waiver), though the preview itself charges nothing."""
    from models import AdjustmentKind, BillAdjustment, LateFeePolicy

    estate = make.estate()
    make.session.add(LateFeePolicy(estate=estate, grace_days=0, daily_percent=Decimal("0.03")))
    person, unit = payer(make, estate, "周敏", email="zhou@example.com")
    overdue(make, unit, person, "2026-10", "1000.00")
    other, unit2 = payer(make, estate, "吴刚", email="wu@example.com")
    waived = overdue(make, unit2, other, "2026-10", "1000.00")
    db_session.add(
        BillAdjustment(
            bill=waived, kind=AdjustmentKind.late_fee_waiver, amount=Decimal("1.00"), reason="免"
        )
    )
    db_session.commit()
    with app.app_context():
        preview = preview_reminders(db.session, today=TODAY, estate_ids=[estate.id])
    assert (preview.payers, preview.amount) == (2, Decimal("2005.00"))
    db_session.refresh(waived)
    assert waived.late_fee == Decimal("0.00")  # nothing charged by looking
    result = remind(app, estate)
    assert (result.queued, result.amount) == (preview.payers, preview.amount)
