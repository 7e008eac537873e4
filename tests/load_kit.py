"""A small HTTP client and load driver for PropAdmin served by gunicorn on loopback.

``Client`` is one person's browser: one keep-alive connection, the session cookie, the
CSRF token read from the page it came with; it never follows a redirect by itself, so the
caller sees what the app answered. ``owner_round`` and ``cashier_round`` are what an owner
and a cashier do; ``run_load`` runs several of them at once, bounded in count and time, and
returns what the server acknowledged, so a test can hold the database to it.

Used by tests/test_load_faults.py and tests/bench_serving.py.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Bill, BillStatus, Payment, RepairRequest, Resident, User

from .helpers import CSRF_RE, DEMO_PASSWORD
from .served import read_with_demo_keys

OWNERS = ("owner", "owner2", "tenant")
REPAIR_URL = "/portal/repairs/new"
RECEIPT_RE = re.compile(r"/admin/payment/receipt/\?id=(\d+)|/admin/payment/receipt/(\d+)")
REPAIR_RE = re.compile(r"/portal/repairs/(\d+)$")
BILL_LINK_RE = re.compile(r'href="/portal/bills/(\d+)"')
AMOUNT_RE = re.compile(r'name="amount"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="amount"')
VERSION_RE = re.compile(r'name="version"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="version"')


@dataclass
class Answer:
    status: int
    body: str
    location: str = ""
    seconds: float = 0.0


class Client:
    """One browser: a keep-alive connection to ``base`` and its cookies."""

    def __init__(self, base: str, timeout: float = 15.0) -> None:
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, form: dict | None = None) -> Answer:
        """One request; a dropped keep-alive connection is opened again once (as a browser
        does), any other connection error is raised to the caller."""
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Accept-Language": "zh-CN"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            start = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
                continue
            except Exception:
                self.close()
                raise
            took = time.perf_counter() - start
            for header in response.headers.get_all("Set-Cookie") or ():
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            if response.headers.get("Connection", "").lower() == "close":
                self.close()
            location = urllib.parse.urlsplit(response.headers.get("Location", "")).path
            query = urllib.parse.urlsplit(response.headers.get("Location", "")).query
            return Answer(response.status, text, location + (f"?{query}" if query else ""), took)
        raise AssertionError("unreachable")

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post_form(self, page: str, form: dict, url: str | None = None) -> Answer:
        """Like a browser: open the page for its CSRF token, then submit."""
        shown = self.get(page)
        if shown.status != 200:
            return shown
        match = CSRF_RE.search(shown.body)
        assert match, f"{page} has no csrf_token"
        return self.request("POST", url or page, {**form, "csrf_token": match[1] or match[2]})

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Answer:
        answer = self.post_form("/login", {"username": username, "password": password})
        assert answer.status == 302, f"{username} could not sign in: {answer.status}"
        return answer

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Tally:
    """What one run saw: statuses, failures, and the writes the server acknowledged."""

    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    repairs: dict[str, list[int]] = field(default_factory=dict)  # owner → repair ids
    payments: dict[int, tuple[int, Decimal]] = field(default_factory=dict)  # id → bill, amount
    refused: list[str] = field(default_factory=list)  # payments refused with a form error
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, what: str, answer: Answer) -> Answer:
        with self.lock:
            self.statuses[answer.status] += 1
            self.latencies.append(answer.seconds)
            if answer.status >= 500:
                self.errors.append(f"{what}: HTTP {answer.status}")
        return answer

    def failed(self, what: str, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{what}: {type(exc).__name__}: {exc}")


def owner_round(client: Client, tally: Tally, who: str, n: int) -> None:
    """An owner's visit: the bills, one bill, the repairs; every other round a report."""
    bills = tally.saw("bills", client.get("/portal/bills"))
    ids = BILL_LINK_RE.findall(bills.body)
    if ids:
        tally.saw("bill", client.get(f"/portal/bills/{ids[n % len(ids)]}"))
    tally.saw("repairs", client.get("/portal/repairs"))
    if n % 2 == 0:
        form = {
            "location": f"load-{who}-{n}",
            "description": "厨房水龙头漏水，压测提交。",
            "urgency": ("low", "normal", "urgent")[n % 3],
        }
        sent = tally.saw("report", client.post_form(REPAIR_URL, form))
        found = REPAIR_RE.search(sent.location) if sent.status in (302, 303) else None
        if found:
            with tally.lock:
                tally.repairs.setdefault(who, []).append(int(found[1]))
        elif sent.status < 500:
            tally.errors.append(f"report {who}-{n}: HTTP {sent.status}, not accepted")


def form_value(pattern: re.Pattern, page: str) -> str:
    match = pattern.search(page)
    return (match[1] or match[2] or "") if match else ""


def pay(
    client: Client, tally: Tally, bill_id: int, amount: str | None = None, before_post=None
) -> Answer:
    """Record a payment on a bill from its cashier page: ``amount``, or what the page says
    is owed. A 302 to the receipt is an acknowledged payment; a 200 is the form refusing
    it (the bill changed meanwhile, or overpayment). ``before_post()`` is called between
    opening the page and submitting it (to line two cashiers up)."""
    page = f"/admin/payment/record/?bill_id={bill_id}"
    shown = tally.saw("cashier page", client.get(page))
    if shown.status != 200:
        return shown
    owed = form_value(AMOUNT_RE, shown.body)
    form = {
        "amount": amount or owed,
        "method": "cash",
        "reference": "",
        "version": form_value(VERSION_RE, shown.body),
        "csrf_token": form_value(CSRF_RE, shown.body),
    }
    if not form["amount"]:
        return shown  # nothing owed any more
    if before_post is not None:
        before_post()
    answer = tally.saw("payment", client.request("POST", page, form))
    receipt = RECEIPT_RE.search(answer.location) if answer.status == 302 else None
    with tally.lock:
        if receipt:
            tally.payments[int(receipt[1] or receipt[2])] = (bill_id, Decimal(form["amount"]))
        elif answer.status == 200:
            tally.refused.append(f"bill {bill_id}: {form['amount']}")
        elif answer.status < 500:
            tally.errors.append(f"payment on bill {bill_id}: HTTP {answer.status}")
    return answer


def cashier_round(client: Client, tally: Tally, bills: list[int], n: int) -> None:
    """A cashier takes a small payment on the next bill of the shared list."""
    pay(client, tally, bills[n % len(bills)], amount="1.00")


def run_load(
    base: str,
    *,
    owners: tuple[str, ...] = OWNERS,
    cashiers: int = 2,
    bills: list[int] = (),
    rounds: int = 10,
    deadline: float = 40.0,
) -> Tally:
    """Each owner (one thread each) does ``rounds`` visits while ``cashiers`` threads,
    signed in as ``finance``, take payments on ``bills`` (the same list, so they race).
    Stops at ``deadline`` seconds whatever is left."""
    tally = Tally()
    stop_at = time.monotonic() + deadline
    start = threading.Barrier(len(owners) + (cashiers if bills else 0), timeout=30)

    def person(who: str, work) -> None:
        client = Client(base)
        try:
            client.login("finance" if work is cashier_round else who)
            start.wait()
            for n in range(rounds):
                if time.monotonic() > stop_at:
                    tally.failed(who, TimeoutError(f"round {n} not reached in {deadline} s"))
                    return
                work(client, tally, who if work is owner_round else list(bills), n)
        except Exception as exc:  # noqa: BLE001 — counted as an error of the run
            tally.failed(who, exc)
        finally:
            client.close()

    threads = [threading.Thread(target=person, args=(o, owner_round)) for o in owners]
    if bills:
        threads += [
            threading.Thread(target=person, args=(f"cashier{i}", cashier_round))
            for i in range(cashiers)
        ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(stop_at - time.monotonic(), 0) + 30)
    if any(t.is_alive() for t in threads):
        tally.failed("load", TimeoutError("a client thread did not finish"))
    return tally


# -- what the database holds, against what the server acknowledged -----------------------
def open_bills(url: str, count: int) -> list[int]:
    """Bills of the demo estate with something owed, the first ``count`` of them."""
    read_with_demo_keys()
    with Session(sa.create_engine(url, poolclass=sa.pool.NullPool)) as session:
        bills = session.scalars(
            sa.select(Bill)
            .where(Bill.status.in_((BillStatus.unpaid, BillStatus.partial)))
            .order_by(Bill.id)
        ).all()
        return [b.id for b in bills if b.owed >= Decimal("20")][:count]


def snapshot(url: str) -> dict:
    """What the database holds now: repair ids per reporter, payment rows, bills' paid."""
    read_with_demo_keys()
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
    new_repairs = {
        owner: sorted(set(ids) - set(before["repairs"].get(owner, [])))
        for owner, ids in after["repairs"].items()
    }
    assert {o: ids for o, ids in new_repairs.items() if ids} == {
        o: sorted(ids) for o, ids in tally.repairs.items() if ids
    }
    new = {k: v for k, v in after["payments"].items() if k not in before["payments"]}
    assert new == tally.payments
    for bill_id, bill in after["bills"].items():
        taken = sum((a for b, a in new.values() if b == bill_id), Decimal("0"))
        assert bill.paid == before["bills"][bill_id].paid + taken, f"bill {bill_id}"
        assert bill.owed >= 0, f"bill {bill_id} overpaid"
