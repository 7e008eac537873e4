"""Load and faults, on gunicorn and PostgreSQL as ``make serve`` runs them.

- Load: owners read their bills and report repairs while two cashiers take payments on
  the same bills; nothing fails, nothing is lost or counted twice.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Bill, BillStatus, Payment, RepairRequest, Resident, User

from .load_kit import OWNERS, Client, Tally, pay, run_load
from .served import deployment_env, redis_available, serving

pytestmark = pytest.mark.committed


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
