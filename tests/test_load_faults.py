"""Load and faults, on gunicorn and PostgreSQL as ``make serve`` runs them (loopback only,
every run bounded in requests and time).

- Load: owners read their bills and report repairs while two cashiers take payments on
  the same bills; nothing fails, nothing is lost or counted twice.
- The database restarted mid-run (a private cluster, not the machine's shared one):
  requests fail cleanly and quickly, /healthz says 503, the same gunicorn recovers, no
  acknowledged write is lost.
- SMTP down for the whole run: every message queued is delivered once by ``flask mail
  send`` when the server is back.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import (
    BillStatus,
    MailStatus,
    OutboxMessage,
)

from .helpers import CSRF_RE, SMTPServer
from .load_kit import (
    OWNERS,
    VERSION_RE,
    Client,
    Tally,
    assert_nothing_lost,
    form_value,
    open_bills,
    owner_round,
    pay,
    run_load,
    snapshot,
)
from .pg_cluster import private_cluster, wait_until
from .served import deployment_env, flask_command, redis_available, serving

pytestmark = pytest.mark.committed
REQUEST_TIMEOUT = 20  # seconds: an answer slower than this is a hang


@pytest.fixture(scope="module")
def served_demo(pg_demo_template, tmp_path_factory):
    """One gunicorn host on a PostgreSQL copy of the demo estate, for the load tests."""
    from .conftest import _create_pg_database, _drop_pg_database

    redis_available()
    url = _create_pg_database(template=sa.engine.make_url(pg_demo_template).database)
    logs = tmp_path_factory.mktemp("load")
    try:
        with serving(deployment_env(url, logs / "instance"), logs, workers=2) as (host,):
            yield url, host
    finally:
        _drop_pg_database(url)


def test_owners_and_cashiers_at_once_lose_nothing(served_demo):
    url, host = served_demo
    bills = open_bills(url, 3)
    assert len(bills) == 3, "the demo estate has too few open bills"
    before = snapshot(url)
    tally = run_load(host.url, owners=OWNERS, cashiers=2, bills=bills, rounds=16)
    assert tally.errors == [], tally.errors[:10]
    assert not [s for s in tally.statuses if s >= 500], tally.statuses
    assert sum(len(ids) for ids in tally.repairs.values()) == len(OWNERS) * 8
    assert len(tally.payments) >= 3, "the cashiers recorded almost nothing"
    assert_nothing_lost(before, snapshot(url), tally)


def test_two_cashiers_paying_one_bill_in_full_at_once_record_one_payment(served_demo):
    url, host = served_demo
    bill_id = open_bills(url, 4)[-1]  # not one the load test paid on
    before = snapshot(url)
    owed = before["bills"][bill_id].owed
    cashiers = [Client(host.url), Client(host.url)]
    for cashier in cashiers:
        cashier.login("finance")
    tally, ready = Tally(), threading.Barrier(2, timeout=20)
    answers = []

    def full_payment(cashier: Client) -> None:
        answers.append(pay(cashier, tally, bill_id, f"{owed:.2f}", before_post=ready.wait))

    threads = [threading.Thread(target=full_payment, args=(c,)) for c in cashiers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Too much: refused by the form, nothing written.
    too_much = pay(cashiers[0], tally, bill_id, amount="0.01")
    for cashier in cashiers:
        cashier.close()
    assert sorted(a.status for a in answers) == [200, 302]
    refusal = next(a.body for a in answers if a.status == 200)
    assert "账单已有变动" in refusal or "超额收款被拒绝" in refusal
    assert too_much.status == 200 and "超额收款被拒绝" in too_much.body
    assert len(tally.payments) == 1 and tally.errors == []
    after = snapshot(url)
    assert after["bills"][bill_id].paid == before["bills"][bill_id].paid + owed
    assert after["bills"][bill_id].status is BillStatus.paid
    assert_nothing_lost(before, after, tally)


# -- the database restarted in the middle of a run -----------------------------------
@pytest.fixture
def own_cluster_demo(pg_demo_template):
    """A private PostgreSQL cluster with the demo estate (the test stops and starts it)."""
    with private_cluster() as cluster:
        cluster.copy_from(pg_demo_template)
        yield cluster


def owners_until(base: str, tally: Tally, stop: threading.Event) -> list[threading.Thread]:
    """Each owner does visits (reports included) until ``stop``, whatever answers."""

    def visits(who: str) -> None:
        client = Client(base, timeout=REQUEST_TIMEOUT)
        client.login(who)
        n = 0
        while not stop.is_set() and n < 500:
            try:
                owner_round(client, tally, who, n)
            except Exception as exc:  # noqa: BLE001 — a hang or a dropped connection
                tally.failed(who, exc)
            n += 1
        client.close()

    threads = [threading.Thread(target=visits, args=(who,)) for who in OWNERS]
    for thread in threads:
        thread.start()
    return threads


def test_a_database_restart_fails_requests_cleanly_and_the_app_recovers(own_cluster_demo, tmp_path):
    cluster = own_cluster_demo
    redis_available()
    env = deployment_env(cluster.url, tmp_path / "instance")
    tally, stop = Tally(), threading.Event()
    with serving(env, tmp_path, workers=2) as (host,):
        probe, owner = Client(host.url, timeout=REQUEST_TIMEOUT), Client(host.url)
        owner.login("owner")
        threads = owners_until(host.url, tally, stop)
        try:
            time.sleep(1)
            cluster.stop("fast")
            down = time.monotonic()
            health = probe.get("/healthz")
            page = owner.get("/portal/bills")
            time.sleep(2)
            cluster.start()
            came_back = wait_until(lambda: probe.get("/healthz").status == 200, 30)
            time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=REQUEST_TIMEOUT * 4)
        after = Tally()
        for n in range(4):
            owner_round(owner, after, "owner", 1000 + n)
        pid_after = host.process.pid if host.process.poll() is None else None
        for client in (probe, owner):
            client.close()
    assert health.status == 503 and health.body.strip() == '{"status":"unavailable"}'
    # The app's own page, which needs no database: 503, "try again in a minute".
    assert page.status == 503 and "系统暂时无法使用" in page.body
    leaks = ("Traceback", "psycopg", "OperationalError", str(cluster.port))
    assert not [word for word in leaks if word in page.body + health.body]
    assert page.seconds < REQUEST_TIMEOUT and time.monotonic() - down < 120
    assert came_back, "/healthz did not answer 200 within 30 s of the database's return"
    # During the outage: answers, never hangs or dropped connections; 503 while it lasts.
    log = host.log().splitlines()
    failures = [line for line in log if '"status": 500' in line or "Error" in line]
    assert [e for e in tally.errors if "HTTP 503" not in e] == [], failures
    assert set(tally.statuses) <= {200, 302, 503}, tally.statuses
    assert tally.statuses[200] > 0 and tally.statuses[503] > 0
    # After it: everything works again, with the same gunicorn.
    assert after.errors == [] and pid_after == host.process.pid
    assert set(after.statuses) <= {200, 302}
    # Every report acknowledged before, during or after the outage is there, once.
    held = snapshot(cluster.url)["repairs"]
    for who, ids in [*tally.repairs.items(), *after.repairs.items()]:
        assert set(ids) <= set(held.get(who, [])), who
    assert sum(len(ids) for ids in held.values()) == len({i for ids in held.values() for i in ids})


# -- SMTP down for the whole run -------------------------------------------------------
ACCOUNTS = ("admin", "finance", "repair", "owner", "owner2", "tenant")
RESETS = 3  # forgot-password requests per account


def outbox(url: str) -> dict[int, OutboxMessage]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with Session(engine) as session:
        rows = {m.id: m for m in session.scalars(sa.select(OutboxMessage))}
        session.expunge_all()
    engine.dispose()
    return rows


def forgot_passwords(base: str, tally: Tally, who: str) -> None:
    client = Client(base)
    try:
        for _ in range(RESETS):
            form = {"email": f"{who}@example.com"}
            tally.saw("forgot", client.post_form("/forgot-password", form))
    finally:
        client.close()


def assign_reports(base: str, tally: Tally) -> list[int]:
    """Owners report; the admin has each job assigned automatically (its worker is mailed)."""
    reports = Tally()
    for who in OWNERS:
        client = Client(base)
        client.login(who)
        for n in range(2):
            owner_round(client, reports, who, n * 2)
        client.close()
    admin, assigned = Client(base), []
    admin.login("admin")
    for repair_id in sorted(i for ids in reports.repairs.values() for i in ids):
        page = f"/admin/repairs/{repair_id}"
        shown = tally.saw("repair page", admin.get(page))
        answer = tally.saw(
            "assign",
            admin.request("POST", f"{page}/move", {
                "action": "auto_assign",
                "version": form_value(VERSION_RE, shown.body),
                "csrf_token": form_value(CSRF_RE, shown.body),
            }),
        )  # fmt: skip
        if answer.status == 302:
            assigned.append(repair_id)
    admin.close()
    tally.errors += reports.errors
    return assigned


def test_mail_queued_while_smtp_is_down_is_delivered_once_when_it_returns(pg_demo, tmp_path):
    redis_available()
    smtp = SMTPServer()  # its port is chosen now; the server starts later
    env = deployment_env(
        pg_demo,
        tmp_path / "instance",
        PROPADMIN_MAIL_DISPATCH="thread",
        PROPADMIN_MAIL_PORT=str(smtp.port),
        PROPADMIN_MAIL_TIMEOUT="5",
        PROPADMIN_FORGOT_PASSWORD_LIMIT="1000 per minute",
    )
    before = outbox(pg_demo)
    tally = Tally()
    with serving(env, tmp_path, workers=2) as (host,):
        people = [
            threading.Thread(target=forgot_passwords, args=(host.url, tally, who))
            for who in ACCOUNTS
        ]
        for thread in people:
            thread.start()
        assigned = assign_reports(host.url, tally)
        for thread in people:
            thread.join(timeout=60)

        def tried() -> bool:  # the dispatcher thread tried each new message, and failed
            new = [m for i, m in outbox(pg_demo).items() if i not in before]
            return bool(new) and all(m.attempts >= 1 for m in new)

        all_tried = wait_until(tried, 20)
    queued = {i: m for i, m in outbox(pg_demo).items() if i not in before}
    assert tally.errors == [] and tally.statuses[302] == len(ACCOUNTS) * RESETS + len(assigned)
    assert all_tried and {m.status for m in queued.values()} == {MailStatus.pending}
    resets = Counter(m.recipient for m in queued.values() if m.kind == "reset_password")
    assert resets == Counter({f"{who}@example.com": RESETS for who in ACCOUNTS})
    jobs = [m for m in queued.values() if m.kind == "repair_assigned"]
    assert len(jobs) == len(assigned) == len(OWNERS) * 2 == len(queued) - sum(resets.values())
    for repair_id in assigned:  # one mail per job, to the worker it went to
        assert [m.recipient for m in jobs if f"#{repair_id}" in m.subject] == ["repair@example.com"]
    waiting = [m for m in outbox(pg_demo).values() if m.status is MailStatus.pending]

    smtp.start()
    try:
        first = flask_command(env, "mail", "send")
        first_out, _ = first.communicate(timeout=60)
        again = flask_command(env, "mail", "send")
        again_out, _ = again.communicate(timeout=60)
        received = smtp.mailbox.wait(len(waiting), timeout=10)
    finally:
        smtp.stop()
    assert first.returncode == 0, first_out
    assert f"Sent {len(waiting)} message(s)" in first_out
    assert again.returncode == 0 and "Sent 0 message(s)" in again_out
    delivered = Counter((str(m["To"]), str(m["Subject"])) for m in received)
    assert delivered == Counter((m.recipient, m.subject) for m in waiting)
    assert {m.status for m in outbox(pg_demo).values()} == {MailStatus.sent}
