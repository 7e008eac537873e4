"""Two hosts of one deployment: two gunicorn instances on loopback, one PostgreSQL and one
Redis, as the README's "several hosts" section sets them up. The sign-in throttle counts
across both, and each scheduled command, started by cron on both hosts at the same moment,
does its work once."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import (
    Base,
    Bill,
    BillReminder,
    Estate,
    FacilityDigest,
    LateFeePolicy,
    MailStatus,
    Notice,
    NoticeStatus,
    OutboxMessage,
    RepairEvent,
    RepairRequest,
    RepairUrgency,
    User,
    utcnow,
)
from propadmin.services.late_fees import late_fee_for
from propadmin.services.today import office_today

from .conftest import _make_app
from .factories import Factories
from .helpers import DEMO_PASSWORD, SMTPServer, csrf_from
from .served import REDIS_URL, deployment_env, flask_command, redis_available, serving

WRONG = "Not-the-password-1"
INCORRECT = "用户名或密码错误"
COMMAND_TIMEOUT = 40.0


# -- (a) the sign-in throttle ----------------------------------------------------------
class Browser:
    """One person's browser, without a known-device cookie, talking to any host."""

    def __init__(self) -> None:
        self.url = ""  # where the last sign-in landed
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def sign_in(self, base: str, username: str, password: str) -> tuple[int, str]:
        page = self.opener.open(f"{base}/login", timeout=10).read().decode()
        form = {"username": username, "password": password, "csrf_token": csrf_from(page)}
        try:
            with self.opener.open(
                f"{base}/login", urllib.parse.urlencode(form).encode(), timeout=10
            ) as response:
                self.url = response.url
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def test_failed_sign_ins_are_counted_across_both_hosts(pg_demo, tmp_path):
    redis_available()
    env = deployment_env(pg_demo, tmp_path / "instance", PROPADMIN_WORKER_THREADS="2")
    prefix = env["PROPADMIN_RATELIMIT_KEY_PREFIX"]
    store = redis.Redis.from_url(REDIS_URL)
    try:
        with serving(env, tmp_path, hosts=2, workers=1) as hosts:
            browser = Browser()
            # The limit is 5 per account and client address, whichever host answers.
            for attempt in range(5):
                host = hosts[attempt % 2]
                status, page = browser.sign_in(host.url, "owner", WRONG)
                assert (status, INCORRECT in page) == (200, True), f"attempt {attempt + 1}"
            keys = [k.decode() for k in store.scan_iter(f"*{prefix}*")]
            assert any("login" in key for key in keys), keys
            # The sixth, on the other host and with the right password, is refused too.
            status, _page = browser.sign_in(hosts[1].url, "owner", DEMO_PASSWORD)
            assert status == 429
            status, _page = browser.sign_in(hosts[0].url, "owner", DEMO_PASSWORD)
            assert status == 429
            # Another account from the same address is not locked out by it.
            neighbour = Browser()
            status, _page = neighbour.sign_in(hosts[0].url, "owner2", DEMO_PASSWORD)
            assert (status, neighbour.url) == (200, f"{hosts[0].url}/portal/")
    finally:
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)


# -- (b) scheduled commands, both hosts at the same moment -----------------------------
@pytest.fixture
def estate_with_work(pg_demo, tmp_path):
    """The demo estate on PostgreSQL, with something for every scheduled command to do:
    overdue bills with payers who have e-mail, a notice whose time has come, an urgent
    repair past its response target (and the demo's warranty ending within 30 days)."""
    from propadmin.extensions import db
    from propadmin.services import notices

    app = _make_app(pg_demo, tmp_path / "prep")
    with app.app_context():
        engine = db.engine
    session = Session(engine)
    session.info["actor_name"] = "test"
    make = Factories(app, session)
    estate = session.scalar(sa.select(Estate).where(Estate.name == "示范小区"))
    admin = session.scalar(sa.select(User).where(User.username == "admin"))
    building = make.building(estate=estate, name="两机栋")
    today = utcnow().date()
    bills = []
    for n in range(3):
        unit = make.unit(building=building)
        payer = make.resident(unit=unit, name=f"欠费{n}", email=f"payer{n}@example.com")
        due = today - timedelta(days=40)
        bills.append(make.bill(unit, period="2025-06", due_date=due, payer=payer).id)
    notice = make.notice(estate, by=admin, title="两台主机同时发布", send_mail=True)
    at = utcnow() - timedelta(minutes=1)
    with app.test_request_context():
        notices.schedule(session, notice, at, by=admin, now=at - timedelta(hours=1))
    session.commit()
    repair = make.repair(make.unit(building=building), by=admin, urgency=RepairUrgency.urgent)
    repair.respond_by = utcnow() - timedelta(minutes=5)
    session.commit()
    marker = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
    yield (
        session,
        {
            "bills": bills,
            "notice": notice.id,
            "repair": repair.id,
            "estate": estate.id,
            "after": marker,
        },
    )
    session.close()
    engine.dispose()


def host_envs(database_url: str, tmp_path: Path, **extra: str) -> list[dict[str, str]]:
    """Each host's environment: its own instance folder, the same database, Redis and keys."""
    first = deployment_env(database_url, tmp_path / "host1", **extra)
    second = dict(first, PROPADMIN_INSTANCE_PATH=str(tmp_path / "host2"))
    return [first, second]


def waiting_on_a_lock(connection) -> int:
    return connection.scalar(
        sa.text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


def on_both_hosts_at_once(database_url: str, envs, *args: str) -> list[str]:
    """Run ``flask ARGS`` on both hosts so that they collide: every table is locked
    against writes until both processes have read what to do and wait to write it; then
    both go on at the same moment. Returns the outputs; both must succeed."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    processes = []
    try:
        # The watcher autocommits: in a transaction PostgreSQL shows the first snapshot.
        watching = engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as lock, watching.connect() as watch:
            lock.execute(sa.text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
            processes = [flask_command(env, *args) for env in envs]
            deadline = time.monotonic() + COMMAND_TIMEOUT
            while waiting_on_a_lock(watch) < 2:
                finished = [p for p in processes if p.poll() is not None]
                if finished or time.monotonic() > deadline:
                    lock.rollback()
                    outputs = [p.communicate(timeout=COMMAND_TIMEOUT)[0] for p in processes]
                    pytest.fail(f"{args}: both runs did not reach their first write:\n{outputs}")
                time.sleep(0.05)
            lock.rollback()  # both released at the same moment
        outputs = [p.communicate(timeout=COMMAND_TIMEOUT)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        engine.dispose()
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"{args} failed:\n{output}"
    return outputs


def new_mail(session: Session, after: int, kind: str) -> list[str]:
    session.expire_all()
    query = sa.select(OutboxMessage.recipient).where(
        OutboxMessage.id > after, OutboxMessage.kind == kind
    )
    return list(session.scalars(query))


def queued(outputs: list[str], pattern: str) -> int:
    return sum(int(re.search(pattern, output)[1]) for output in outputs)


def test_each_scheduled_command_does_its_work_once_on_two_hosts(
    pg_demo, tmp_path, estate_with_work
):
    session, work = estate_with_work
    after = work["after"]
    envs = host_envs(pg_demo, tmp_path)

    outputs = on_both_hosts_at_once(pg_demo, envs, "bills", "remind")
    reminders = new_mail(session, after, "bill_reminder")
    assert {f"payer{n}@example.com" for n in range(3)} <= set(reminders)
    assert Counter(reminders).most_common(1)[0][1] == 1
    assert queued(outputs, r"Queued (\d+) reminders") == len(reminders)
    claims = session.scalar(
        sa.select(sa.func.count()).select_from(BillReminder).where(BillReminder.outbox_id > after)
    )
    assert claims == len(reminders)
    # The demo estate charges late fees; `bills remind` assesses them first: once.
    policy = session.scalar(
        sa.select(LateFeePolicy).where(LateFeePolicy.estate_id == work["estate"])
    )
    day = office_today(session, [work["estate"]])
    for bill_id in work["bills"]:
        bill = session.get(Bill, bill_id)
        assert bill.late_fee == late_fee_for(bill, policy, day) > 0

    outputs = on_both_hosts_at_once(pg_demo, envs, "notices", "publish")
    session.expire_all()
    notice = session.get(Notice, work["notice"])
    assert notice.status is NoticeStatus.published
    assert sum(f"#{notice.id} " in output for output in outputs) == 1
    notice_mail = new_mail(session, after, "notice")
    assert notice_mail and Counter(notice_mail).most_common(1)[0][1] == 1

    outputs = on_both_hosts_at_once(pg_demo, envs, "repairs", "escalate")
    session.expire_all()
    escalations = session.scalar(
        sa.select(sa.func.count())
        .select_from(RepairEvent)
        .where(RepairEvent.repair_id == work["repair"], RepairEvent.action == "escalate")
    )
    assert escalations == 1
    assert session.get(RepairRequest, work["repair"]).escalated_at is not None
    escalation_mail = new_mail(session, after, "repair_escalation")
    assert "admin@example.com" in escalation_mail
    assert queued(outputs, r"queued (\d+) mails") == len(escalation_mail)

    outputs = on_both_hosts_at_once(pg_demo, envs, "facilities", "digest")
    session.expire_all()
    digests = session.scalar(
        sa.select(sa.func.count())
        .select_from(FacilityDigest)
        .where(FacilityDigest.estate_id == work["estate"])
    )
    assert digests == 1
    digest_mail = new_mail(session, after, "facility_digest")
    assert "admin@example.com" in digest_mail and Counter(digest_mail).most_common(1)[0][1] == 1
    assert queued(outputs, r"Queued (\d+) digest mails") == len(digest_mail)

    # The mail all of that queued, delivered by `mail send` on both hosts at once.
    pending = session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.pending)
    )
    assert pending >= len(reminders) + len(notice_mail) + len(escalation_mail) + len(digest_mail)
    server = SMTPServer()
    server.start()
    try:
        envs = host_envs(pg_demo, tmp_path, PROPADMIN_MAIL_PORT=str(server.port))
        outputs = on_both_hosts_at_once(pg_demo, envs, "mail", "send")
        arrived = server.mailbox.wait(pending, timeout=10)
        time.sleep(0.3)  # nothing more is on its way
    finally:
        server.stop()
    assert queued(outputs, r"Sent (\d+) message") == pending
    assert len(arrived) == pending
    delivered = Counter((m["To"], m["Subject"]) for m in arrived)
    assert delivered.most_common(1)[0][1] == 1
    session.expire_all()
    left = session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status != MailStatus.sent, OutboxMessage.id > after)
    )
    assert left == 0
