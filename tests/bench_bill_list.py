"""Benchmark of the admin bill list over 1,000,000 bills in one estate, beside a hand-written
single-query page of the same 50 rows.

``bench_bill_list(app, url)`` is called by tests/bench.py for each backend, on the migrated
database of that run; alone: ``python -m tests.bench --only billing [--backend ...] [--bills N]``.

Figures: median page time in-process through the test client (page 1; the deepest page the
pager offers — the list counts up to views.admin.bills.COUNT_CAP; page 1000 and the last
page typed into the address); SQL statements per page (page 1 and 1000, page sizes
20/50/100, with a filter); and
requests per second under gunicorn (2 workers, 8 client threads for a few seconds) for the
admin list and for ``reference_app`` — a plain Flask page whose one query reads the same
50 rows with their units and buildings.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

from .bench import median_ms

ESTATE = "账单基准小区"
USERNAME, PASSWORD = "bench_finance", "Bench-finance-4729"
BUILDINGS, UNITS_PER_BUILDING = 20, 500
ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SQL = text(
    "SELECT b.id, b.period, b.payer_name, b.amount, b.paid, b.discount, b.late_fee,"
    " b.due_date, b.status, u.number, g.name"
    " FROM bill b JOIN unit u ON u.id = b.unit_id JOIN building g ON g.id = b.building_id"
    " WHERE b.estate_id = :estate ORDER BY b.period DESC, b.id DESC LIMIT 50"
)


# -- data ---------------------------------------------------------------------------------------
def add_buildings(session, estate_id: int, count: int, *, floors: int) -> list[int]:
    """``count`` buildings 1栋, 2栋, … in the estate, by one multi-row insert; their ids."""
    session.execute(
        text(
            "INSERT INTO building (estate_id, name, floors, created_at, updated_at)"
            " VALUES (:e, :name, :floors, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        [{"e": estate_id, "name": f"{b}栋", "floors": floors} for b in range(1, count + 1)],
    )
    return list(
        session.scalars(
            text("SELECT id FROM building WHERE estate_id = :e ORDER BY id"), {"e": estate_id}
        )
    )


def fill_bills(app, bills: int) -> int:
    """One estate with 10,000 units and ``bills`` bills (a hundred periods of them), written
    with one INSERT … SELECT (not what is measured); and a finance account for it."""
    from models import Estate
    from propadmin.extensions import db
    from propadmin.services.accounts import create_user

    periods = -(-bills // (BUILDINGS * UNITS_PER_BUILDING))
    with app.app_context():
        estate = Estate(name=ESTATE)
        db.session.add(estate)
        db.session.flush()
        buildings = add_buildings(db.session, estate.id, BUILDINGS, floors=25)
        db.session.execute(
            text(
                "INSERT INTO unit (building_id, number, floor, area, layout, use, created_at,"
                " updated_at) VALUES (:b, :n, :f, 8950, '', 'residential', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            [
                {"b": b, "n": f"{f}{d:02d}", "f": f}
                for b in buildings
                for f in range(1, 26)
                for d in range(1, UNITS_PER_BUILDING // 25 + 1)
            ],
        )
        db.session.execute(
            text("CREATE TABLE bench_period (n INTEGER, period VARCHAR(7), due DATE)")
        )
        db.session.execute(
            text("INSERT INTO bench_period VALUES (:n, :p, :d)"),
            [
                {
                    "n": n,
                    "p": f"{2018 + n // 12:04d}-{n % 12 + 1:02d}",
                    "d": f"{2018 + n // 12:04d}-{n % 12 + 1:02d}-25",
                }
                for n in range(periods)
            ],
        )
        # Amounts in fen; a fifth unpaid, a fifth partly paid, the rest paid.
        db.session.execute(
            text(
                "INSERT INTO bill (estate_id, building_id, unit_id, period, payer_name, amount,"
                " discount, late_fee, paid, status, due_date, issued_at, version, void_reason,"
                " created_at, updated_at)"
                " SELECT :e, u.building_id, u.id, p.period, '业主' || u.number,"
                " 20000 + (u.id % 50) * 100, 0, 0,"
                " CASE (u.id + p.n) % 5 WHEN 0 THEN 0 WHEN 1 THEN 5000"
                " ELSE 20000 + (u.id % 50) * 100 END,"
                " CASE (u.id + p.n) % 5 WHEN 0 THEN 'unpaid' WHEN 1 THEN 'partial'"
                " ELSE 'paid' END,"
                " p.due, CURRENT_TIMESTAMP, 1, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
                " FROM unit u JOIN building g ON g.id = u.building_id CROSS JOIN bench_period p"
                " WHERE g.estate_id = :e"
            ),
            {"e": estate.id},
        )
        db.session.execute(text("DROP TABLE bench_period"))
        create_user(
            db.session,
            username=USERNAME,
            email=f"{USERNAME}@example.com",
            password=PASSWORD,
            roles=["finance"],
            estates=[ESTATE],
            check_strength=False,
        )
        db.session.commit()
        estate_id = estate.id
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE bill" if engine.dialect.name != "sqlite" else "ANALYZE"))
    engine.dispose()
    return estate_id


# -- in-process: page times and SQL statements ---------------------------------------------------
@contextlib.contextmanager
def counting(engine):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def page_figures(app, bills: int) -> list[tuple[str, float, str]]:
    from propadmin.extensions import db

    from .helpers import login

    client = app.test_client()
    assert login(client, USERNAME, PASSWORD).status_code == 302
    from views.admin.bills import COUNT_CAP

    view = next(v for v in app.extensions["propadmin.admin"]._views if v.endpoint == "bill")
    last = -(-bills // view.page_size) - 1
    deepest = -(-(COUNT_CAP + 1) // view.page_size) - 1  # the pager counts up to the cap
    pages = {
        "page 1": "/admin/bill/",
        f"page {deepest + 1} (the deepest the pager offers)": f"/admin/bill/?page={deepest}",
        "page 1000 (typed into the address)": "/admin/bill/?page=999",
        f"last page ({last + 1:,}, typed)": f"/admin/bill/?page={last}",
    }

    def get(url):
        response = client.get(url)
        assert response.status_code == 200 and response.text.count('class="row-link"') == 50
        return response

    out = []
    for name, url in pages.items():
        repeat = 15 if name != next(reversed(pages)) else 5
        ms = median_ms(lambda u=url: get(u), repeat)
        out.append((f"bill list, {name} (median)", ms, "ms"))
    with app.app_context():
        engine = db.engine
    counts = {}
    for size in (20, 50, 100):
        view.page_size = size
        for name, url in (("page 1", "/admin/bill/"), ("page 1000", "/admin/bill/?page=999")):
            with counting(engine) as statements:
                client.get(url)
            counts[(size, name)] = len(statements)
    view.page_size = 50
    with counting(engine) as statements:
        client.get("/admin/bill/?page=999&flt0_0=2020-05")
    out.append(
        (
            "  SQL statements per page (sizes 20/50/100 × page 1/1000): "
            + "/".join(str(n) for n in counts.values()),
            max(counts.values()),
            "queries",
        )
    )
    out.append(("  … with a period filter", len(statements), "queries"))
    with app.app_context():
        estate = db.session.scalar(text("SELECT id FROM estate WHERE name = :n"), {"n": ESTATE})
        ref = median_ms(lambda: db.session.execute(REFERENCE_SQL, {"estate": estate}).all())
    out.append(("  reference: the single query of the same 50 rows (median)", ref, "ms"))
    return out


# -- under gunicorn: requests per second -------------------------------------------------------
def reference_app():
    """gunicorn entry point: ``tests.bench_bill_list:reference_app()`` — the same 50 rows as
    the admin list's first page, read by one hand-written query, as a plain HTML table."""
    from flask import Flask, render_template

    app = Flask(__name__)
    engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"])
    page = (
        "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>账单</title><table>"
        "{% for r in rows %}<tr><td><a href=/bill/{{ r.id }}>{{ r.name.removesuffix('栋') }}-"
        "{{ r.number }}</a></td><td>{{ r.payer_name }}</td><td>{{ r.period }}</td>"
        "<td>¥{{ '{:,.2f}'.format(r.amount / 100) }}</td><td>¥{{ '{:,.2f}'.format(r.paid / 100) }}"
        "</td><td>{{ r.due_date }}</td><td>{{ r.status }}</td></tr>{% endfor %}</table>"
    )
    page = app.jinja_env.from_string(page)  # compiled once, as a template file would be

    @app.get("/bills")
    def bills():
        with engine.connect() as conn:
            estate = conn.scalar(text("SELECT id FROM estate WHERE name = :n"), {"n": ESTATE})
            rows = conn.execute(REFERENCE_SQL, {"estate": estate}).all()
        return render_template(page, rows=rows)

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(entry: str, url: str, instance: str, extra_env: dict | None = None):
    port = _free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        "PROPADMIN_SQLALCHEMY_DATABASE_URI": url,
        "PROPADMIN_INSTANCE_PATH": instance,
        "PROPADMIN_MAIL_DISPATCH": "off",
        "PROPADMIN_LOGIN_LIMIT_PER_ACCOUNT": "1000 per minute",
        "BENCH_DATABASE_URL": url,
    }
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            entry,
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _request(conn, method, path, cookie="", body=None):
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response, response.read()


def _cookies(response, jar: dict) -> str:
    for header in response.msg.get_all("Set-Cookie") or ():
        name, _, value = header.split(";")[0].partition("=")
        jar[name.strip()] = value
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _sign_in(port: int, username: str = USERNAME, password: str = PASSWORD) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    jar: dict[str, str] = {}
    response, body = _request(conn, "GET", "/login")
    cookie = _cookies(response, jar)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)[1].decode()
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token})
    response, _ = _request(conn, "POST", "/login", cookie, form)
    assert response.status == 302, response.status
    return _cookies(response, jar)


def requests_per_second(
    port: int, path: str, cookie: str = "", seconds: float = 8.0, threads: int = 8
) -> float:
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            response, _ = _request(conn, "GET", path, cookie)
            assert response.status == 200, (path, response.status)
            done[i] += 1

    _request(http.client.HTTPConnection("127.0.0.1", port), "GET", path, cookie)  # warm up
    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def throughput(url: str, rounds: int = 3) -> list[tuple[str, float, str]]:
    """Both servers run side by side and are measured in turns, so that what else the
    machine does meanwhile weighs on both alike."""
    admin, reference = [], []
    with (
        tempfile.TemporaryDirectory() as instance,
        gunicorn("app:app", url, instance) as admin_port,
        gunicorn("tests.bench_bill_list:reference_app()", url, instance) as reference_port,
    ):
        cookie = _sign_in(admin_port)
        for _ in range(rounds):
            admin.append(requests_per_second(admin_port, "/admin/bill/", cookie, seconds=4))
            reference.append(requests_per_second(reference_port, "/bills", seconds=4))
    admin_rps, reference_rps = sum(admin) / rounds, sum(reference) / rounds
    return [
        ("bill list page 1 under gunicorn (2 workers, 8 clients)", admin_rps, "req/s"),
        ("  reference: one-query Flask page of the same 50 rows", reference_rps, "req/s"),
        ("  ratio (target ≥ 0.20)", admin_rps / reference_rps, "×"),
    ]


def pooled_app(url: str):
    """The app as production runs it: a connection pool (bench.make_app has none)."""
    from propadmin import create_app

    from .bench import FERNET_KEY

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "MAIL_DISPATCH": "off",
            "SECRET_KEY": "bench",
            "FIELD_ENCRYPTION_KEYS": [FERNET_KEY],
            "BLIND_INDEX_KEY": "bench",
        }
    )


def bench_bill_list(app, url: str, bills: int = 1_000_000) -> list[tuple[str, float, str]]:
    start = time.perf_counter()
    fill_bills(app, bills)
    filled = time.perf_counter() - start
    return [
        (f"(filled {bills:,} bills in one estate; not measured)", filled, "s"),
        *page_figures(pooled_app(url), bills),
        *throughput(url),
    ]
