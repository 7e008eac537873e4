"""Serving bench: the owner portal home under gunicorn, beside a minimal page served by the
same gunicorn in the same run.

``python -m tests.bench --only serving [--backend ...] [--serving-seconds S]`` (and part
of ``make bench``). Per backend: a database with the demo estate (migrated and seeded, not
measured); gunicorn with ``make serve``'s settings (propadmin/gunicorn_conf.py: gthread
workers, 2 per core plus one, 4 threads each) loading tests/bench_app.py — the app plus
``/bench/minimal``, which answers ``ok`` through the same request hooks (the signed-in
user is loaded, the session checked, the request logged). Then ``CLIENTS`` keep-alive
clients, all signed in as ``owner``, request one page as fast as it answers, the two pages
in turns: ``ROUNDS`` rounds of the minimal page then ``/portal/``, ``S / ROUNDS`` seconds
each, ``S`` seconds per page in all. Figures: requests per second, p50 and p99 latency,
errors (any answer but 200, or no answer), and the portal's share of the minimal page's
rate (target: at least 1/2, issue 12).

Why turns: gunicorn replaces a worker after ``max_requests`` (propadmin/gunicorn_conf.py),
and a new worker spends about a second of CPU loading the app. Hammered one after the
other, the minimal page's fast thousands of requests brought workers to that count, and
they were replaced while the portal was measured (two replacements in its 8 s, seen in
gunicorn's log): the portal paid for the minimal page's requests. In turns, a
replacement falls in either page's time. The bench prints how many there were.

The load generator runs on the same machine (Python threads), so on a small machine it
takes some of the CPU the server would have: the figures are a floor, the ratio fair.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

from .bench import FERNET_KEY, PG_SERVER, make_app
from .helpers import DEMO_PASSWORD
from .load_kit import Client
from .served import deployment_env, limit_storage, serving

CLIENTS = 8
ROUNDS = 4
MINIMAL, PORTAL = "/bench/minimal", "/portal/"
TARGET = 1 / 2
REPLACED = "Autorestarting worker"  # gunicorn's log line when max_requests is reached


@dataclass
class Figures:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * share), len(ordered) - 1)] * 1000

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.requests + other.requests,
            self.seconds + other.seconds,
            self.latencies + other.latencies,
            self.errors + other.errors,
        )


@contextmanager
def demo_database(backend: str):
    """A migrated database with the demo estate (24 units), removed at the end."""
    from flask_migrate import upgrade

    from propadmin.extensions import db
    from propadmin.services.demo import seed_demo

    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'serving.db'}"
        else:
            server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
            name = f"propadmin_bench_serving_{uuid.uuid4().hex[:8]}"
            with server.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = server.url.set(database=name).render_as_string(False)
        try:
            app = make_app(url)
            with app.app_context():
                upgrade()
                db.session.info["actor_name"] = "cli"
                seed_demo(db.session, units=24, password=DEMO_PASSWORD)
                db.session.commit()
                db.session.remove()
                db.engine.dispose()
            yield url, Path(tmp)
        finally:
            if server is not None:
                with server.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                server.dispose()


def hammer(base: str, path: str, cookies: dict, clients: int, seconds: float) -> Figures:
    """``clients`` keep-alive connections request ``path`` until ``seconds`` are up."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        browser = Client(base, timeout=30)
        browser.cookies = dict(cookies)
        mine, failed = [], 0
        while time.monotonic() < deadline:
            try:
                answer = browser.get(path)
            except (OSError, http.client.HTTPException):  # no answer: an error, go on
                failed += 1
                continue
            if answer.status != 200:
                failed += 1
            mine.append(answer.seconds)
        browser.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    took = time.monotonic() - start
    return Figures(len(latencies), took, latencies, errors[0])


def served_env(url: str, tmp: Path) -> dict[str, str]:
    """The hosts' environment for a database made by ``demo_database``."""
    return deployment_env(
        url,
        tmp / "instance",
        PROPADMIN_RATELIMIT_STORAGE_URI=limit_storage(),
        # The keys the demo estate was seeded with (tests/bench.py's make_app).
        PROPADMIN_FIELD_ENCRYPTION_KEYS=json.dumps([FERNET_KEY]),
        PROPADMIN_BLIND_INDEX_KEY="bench",
    )


def bench_serving_backend(backend: str, seconds: float, clients: int = CLIENTS) -> list:
    workers = multiprocessing.cpu_count() * 2 + 1  # as propadmin/gunicorn_conf.py sizes it
    with demo_database(backend) as (url, tmp):
        env = served_env(url, tmp)
        with serving(env, tmp, workers=workers, app_spec="tests.bench_app:app") as (host,):
            owner = Client(host.url)
            owner.login("owner")
            for path in (MINIMAL, PORTAL):
                assert owner.get(path).status == 200, f"{path} does not answer 200"
            owner.close()
            hammer(host.url, PORTAL, owner.cookies, clients, 1)  # warm every worker up
            replaced_before = host.log().count(REPLACED)
            minimal = portal = Figures(0, 0.0, [], 0)
            for _ in range(ROUNDS):
                minimal += hammer(host.url, MINIMAL, owner.cookies, clients, seconds / ROUNDS)
                portal += hammer(host.url, PORTAL, owner.cookies, clients, seconds / ROUNDS)
            replaced = host.log().count(REPLACED) - replaced_before
    print(
        f"(gunicorn: {workers} workers × 4 threads; {clients} keep-alive clients,"
        f" {seconds:.0f} s per page in {ROUNDS} turns each; owner signed in;"
        f" {replaced} workers replaced after max_requests while measuring)"
    )
    rows = []
    for label, figures in ((f"owner portal home {PORTAL}", portal), (MINIMAL, minimal)):
        pad = "" if figures is portal else "  reference: "
        rows += [
            (f"{pad}{label}", figures.rate, "req/s"),
            ("    p50 latency", figures.percentile(0.50), "ms"),
            ("    p99 latency", figures.percentile(0.99), "ms"),
            ("    errors", figures.errors, "errors"),
        ]
    ratio = portal.rate / minimal.rate
    verdict = "met" if ratio >= TARGET else "NOT met"
    rows.append((f"  portal ÷ minimal (target ≥ {TARGET:.2f}: {verdict})", ratio, "×"))
    return rows


def bench_serving(backend: str = "both", seconds: float = 8) -> None:
    from .bench import _print

    for name, key in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql")):
        if backend not in (key, "both"):
            continue
        print(f"\n== {name}: serving under gunicorn", flush=True)
        try:
            _print(bench_serving_backend(key, seconds))
        except sa.exc.OperationalError as exc:
            print(f"(database not reachable: {exc.orig}; skipped)")
