"""Load and faults, on gunicorn and PostgreSQL as ``make serve`` runs them.

- Load: owners read their bills and report repairs while two cashiers take payments on
  the same bills; nothing fails, nothing is lost or counted twice.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Bill, BillStatus, Payment, RepairRequest, Resident, User

from .helpers import DEMO_PASSWORD
from .load_kit import OWNERS, Client, Tally, owner_round, pay, run_load
from .pg_cluster import private_cluster, wait_until
from .served import deployment_env, redis_available, serving

pytestmark = pytest.mark.committed
REQUEST_TIMEOUT = 20  # seconds: an answer slower than this is a hang


def open_bills(url: str, count: int) -> list[int]:
    """Bills of the demo estate with something owed, the first ``count`` of them."""
    with Session(sa.create_engine(url, poolclass=sa.pool.NullPool)) as session:
        bills = session.scalars(
            sa.select(Bill)
            .where(Bill.status.in_((BillStatus.unpaid, BillStatus.partial)))
            .order_by(Bill.id)
        ).all()
        return [b.id for b in bills if b.owed >= Decimal("20")][:count]


def snapshot(url: str) -> dict:
    """What the database holds now: repair ids per reporter, payment rows, bills' paid."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with Session(engine) as session:
        accounts = dict(
            session.execute(sa.select(Resident.id, User.username).join(Resident.user)).all()
        )
        repairs: dict[str, list[int]] = {}
        for repair in session.scalars(
            sa.select(RepairRequest).where(RepairRequest.location.like("load-%"))
        ):
            repairs.setdefault(accounts.get(repair.reporter_id, "?"), []).append(repair.id)
        payments = {p.id: (p.bill_id, p.amount) for p in session.scalars(sa.select(Payment))}
        bills = {b.id: b for b in session.scalars(sa.select(Bill))}
        session.expunge_all()
    engine.dispose()
    return {"repairs": repairs, "payments": payments, "bills": bills}


def assert_nothing_lost(before: dict, after: dict, tally: Tally) -> None:
    """Every acknowledged write is in the database once, and no other write is there."""
    for owner, ids in tally.repairs.items():
        assert sorted(after["repairs"].get(owner, [])) == sorted(ids), owner
    assert set(after["repairs"]) <= set(tally.repairs)
    new = {k: v for k, v in after["payments"].items() if k not in before["payments"]}
    assert new == tally.payments
    for bill_id, bill in after["bills"].items():
        taken = sum((a for b, a in new.values() if b == bill_id), Decimal("0"))
        assert bill.paid == before["bills"][bill_id].paid + taken, f"bill {bill_id}"
        assert bill.owed >= 0, f"bill {bill_id} overpaid"


def test_owners_and_cashiers_at_once_lose_nothing(pg_demo, tmp_path):
    redis_available()
    env = deployment_env(pg_demo, tmp_path / "instance")
    bills = open_bills(pg_demo, 3)
    assert len(bills) == 3, "the demo estate has too few open bills"
    before = snapshot(pg_demo)
    with serving(env, tmp_path, workers=2) as (host,):
        tally = run_load(host.url, owners=OWNERS, cashiers=2, bills=bills, rounds=16)
    assert tally.errors == [], tally.errors[:10]
    assert not [s for s in tally.statuses if s >= 500], tally.statuses
    assert sum(len(ids) for ids in tally.repairs.values()) == len(OWNERS) * 8
    assert len(tally.payments) >= 3, "the cashiers recorded almost nothing"
    assert_nothing_lost(before, snapshot(pg_demo), tally)


def test_two_cashiers_paying_one_bill_in_full_at_once_record_one_payment(pg_demo, tmp_path):
    redis_available()
    env = deployment_env(pg_demo, tmp_path / "instance")
    (bill_id,) = open_bills(pg_demo, 1)
    before = snapshot(pg_demo)
    owed = before["bills"][bill_id].owed
    with serving(env, tmp_path, workers=2) as (host,):
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
    after = snapshot(pg_demo)
    assert after["bills"][bill_id].paid == before["bills"][bill_id].paid + owed
    assert after["bills"][bill_id].status is BillStatus.paid
    assert_nothing_lost(before, after, tally)


# -- the database restarted in the middle of a run -----------------------------------
@pytest.fixture
def own_cluster_demo(tmp_path_factory):
    """A private PostgreSQL cluster with the demo estate (the test stops and starts it)."""
    from propadmin.extensions import db
    from propadmin.services.demo import seed_demo

    from .conftest import _make_app, _migrated

    with private_cluster() as cluster:
        _migrated(cluster.url, tmp_path_factory)
        app = _make_app(cluster.url, tmp_path_factory.mktemp("cluster-seed"))
        with app.app_context():
            db.session.info["actor_name"] = "cli"
            seed_demo(db.session, units=24, password=DEMO_PASSWORD)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
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


def test_a_database_restart_fails_requests_cleanly_and_the_app_recovers(
    own_cluster_demo, tmp_path
):
    cluster = own_cluster_demo
    redis_available()
    env = deployment_env(cluster.url, tmp_path / "instance")
    tally, stop = Tally(), threading.Event()
    with serving(env, tmp_path, workers=2) as (host,):
        probe, owner = Client(host.url, timeout=REQUEST_TIMEOUT), Client(host.url)
        owner.login("owner")
        threads = owners_until(host.url, tally, stop)
        try:
            time.sleep(2)
            cluster.stop("fast")
            down = time.monotonic()
            health = probe.get("/healthz")
            page = owner.get("/portal/bills")
            time.sleep(2)
            cluster.start()
            came_back = wait_until(lambda: probe.get("/healthz").status == 200, 30)
            time.sleep(2)
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
    assert page.status in (500, 503)
    leaks = ("Traceback", "psycopg", "OperationalError", str(cluster.port))
    assert not [word for word in leaks if word in page.body + health.body]
    assert page.seconds < REQUEST_TIMEOUT and time.monotonic() - down < 120
    assert came_back, "/healthz did not answer 200 within 30 s of the database's return"
    # During the outage: answers, never hangs or dropped connections; 5xx allowed.
    assert [e for e in tally.errors if "HTTP 5" not in e] == []
    assert set(tally.statuses) <= {200, 302, 500, 503}, tally.statuses
    assert tally.statuses[200] > 0 and tally.statuses[500] + tally.statuses[503] > 0
    # After it: everything works again, with the same gunicorn.
    assert after.errors == [] and pid_after == host.process.pid
    assert set(after.statuses) <= {200, 302}
    # Every report acknowledged before, during or after the outage is there, once.
    held = snapshot(cluster.url)["repairs"]
    for who, ids in [*tally.repairs.items(), *after.repairs.items()]:
        assert set(ids) <= set(held.get(who, [])), who
    assert sum(len(ids) for ids in held.values()) == len(
        {i for ids in held.values() for i in ids}
    )
