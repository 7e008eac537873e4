"""Admin pages at a property company's scale, under gunicorn, each beside a hand-written page
of the same rows served by gunicorn in the same run (issue 12).

Runs on the database tests/bench.py filled: 100,000 residents in one estate (fill_register)
and 1,000,000 bills in another (bench_bill_list.fill_bills). ``python -m tests.bench --only
pages [--backend ...]`` fills both and prints only these figures.

Per page: the median time of one request on an idle server (one keep-alive client, in
turns with the reference), then requests per second with ``CLIENTS`` client threads:
``ROUNDS`` turns of ``SECONDS`` seconds each for the page and for the reference, the mean
of each side's rounds. (With one 3-second window each, a slow spell of this shared
machine in one of them moved a ratio by 0.05 and more between runs.) The reference
(``reference_app``) is a plain Flask page: no sign-in, no admin, one or two hand-written
queries reading the same rows (same scope, order, page and columns) into a plain table,
drawn by a template compiled once. Targets: at least 1/3 of the reference's requests per
second, and a median under 100 ms. Before the pages, the app's own signed-in minimal page
(``_floor``, served by the same gunicorn: tests/bench_app.py) is measured the same way,
for comparison only. Beside each page, also for comparison: the hand-written page served
inside the app, signed in, and the admin page's own bytes (fetched once, then answered
as they are behind the same sign-in: ``/bench/frozen``), which is what the page would cost
if reading its rows and drawing it cost nothing.

The app's rate-limit counters are kept where a deployment keeps them, in Redis
(``served.limit_storage``; memory only when this machine has no Redis, and the output says
which), as the serving bench does: the full-number search counts one hit per request.
In memory each gunicorn worker would count alone, and each hit starts a timer thread.
(On 2026-11-29 that search read 0.30-0.34× with the counters in memory and 0.30-0.35×
in Redis, six and seven runs: no difference this machine's noise lets one see. Those
ratios were against a reference that compiled its template on every request; see
``reference_app``.)
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, render_template, request
from sqlalchemy import text

from .bench import FERNET_KEY
from .bench_bill_list import ESTATE as BILL_ESTATE
from .bench_bill_list import REFERENCE_SQL as BILL_PAGE_SQL
from .bench_bill_list import _request, _sign_in, gunicorn, requests_per_second
from .served import limit_storage

REGISTER_ESTATE = "基准小区"
ADMIN = ("bench_admin", "Bench-admin-8352")  # a superuser: every estate
MANAGER = ("bench_manager", "Bench-manager-6147")  # the admin role in the register estate
CLIENTS, SECONDS, ROUNDS = 8, 2.0, 3
RATIO_TARGET, MEDIAN_TARGET_MS = 1 / 3, 100.0
RESIDENTS_PAGE, BILLS_PAGE = 20, 50
HAND_IN_APP = "/bench/hand"  # tests/bench_app.py serves the hand-written pages here


@dataclass
class Page:
    label: str
    admin_path: str
    account: tuple[str, str]
    reference_path: str


# -- the hand-written pages ----------------------------------------------------------------------
RESIDENT_TABLE = (
    "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>住户</title><table>"
    "{% for r in rows %}<tr><td><a href=/resident/{{ r.id }}>{{ r.name }}</a></td>"
    "<td>{{ units.get(r.id, [])|join('、') }}</td><td>{{ r.mobile }}</td>"
    "<td>{{ r.id_number }}</td><td>{{ r.email }}</td><td>{{ r.estate }}</td></tr>"
    "{% endfor %}</table>"
)
BILL_TABLE = (
    "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>账单</title><table>"
    "{% for r in rows %}<tr><td><a href=/bill/{{ r.id }}>{{ r.name.removesuffix('栋') }}-"
    "{{ r.number }}</a></td><td>{{ r.payer_name }}</td><td>{{ r.period }}</td>"
    "<td>¥{{ '{:,.2f}'.format(r.amount / 100) }}</td><td>¥{{ '{:,.2f}'.format(r.paid / 100) }}"
    "</td><td>{{ r.due_date }}</td><td>{{ r.status }}</td></tr>{% endfor %}</table>"
)


def _resident_sql(masked: bool, where: str, join: str = "") -> sa.TextClause:
    numbers = (
        "r.mobile_masked AS mobile, r.id_number_masked AS id_number"
        if masked
        else "r.mobile, r.id_number"
    )
    # Fixed fragments of this file; the values are bound parameters.
    # DISTINCT only where a join may repeat a resident: it costs a scan of every row.
    distinct = "DISTINCT " if join.strip() else ""
    sql = f"SELECT {distinct}r.id, r.name, r.email, e.name AS estate, {numbers}"  # noqa: S608
    sql += f" FROM resident r JOIN estate e ON e.id = r.estate_id {join} WHERE {where}"
    return text(sql + f" ORDER BY r.name, r.id LIMIT {RESIDENTS_PAGE} OFFSET :offset")


CURRENT_UNITS_SQL = text(
    "SELECT o.resident_id, g.name, u.number FROM occupancy o"
    " JOIN unit u ON u.id = o.unit_id JOIN building g ON g.id = u.building_id"
    " WHERE o.resident_id IN :ids AND (o.start_date IS NULL OR o.start_date <= :today)"
    " AND (o.end_date IS NULL OR o.end_date >= :today) ORDER BY o.id"
).bindparams(sa.bindparam("ids", expanding=True))
UNIT_JOIN = (
    "JOIN occupancy o ON o.resident_id = r.id JOIN unit u ON u.id = o.unit_id"
    " JOIN building g ON g.id = u.building_id"
)
SEARCHES = {  # reference search parameter → (join, condition)
    "name": ("", "r.name LIKE :term"),
    "unit": (UNIT_JOIN, "g.name = :building AND u.number = :number"),
    "plate": ("JOIN vehicle v ON v.owner_id = r.id", "v.plate = :term"),
    "mobile": ("", "r.mobile_index = :term"),
}


def reference_app():
    """gunicorn entry point ``tests.bench_pages:reference_app()``."""
    app = Flask(__name__)
    engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"])
    residents, bills = reference_views(app, engine)
    app.add_url_rule("/residents", view_func=residents)
    app.add_url_rule("/bills", view_func=bills)
    return app


def reference_views(app, engine):
    """The hand-written pages' two views, reading through ``engine`` and drawing with
    ``app``'s Jinja: served alone by ``reference_app``, and inside the app, signed in, by
    tests/bench_app.py."""
    from cryptography.fernet import Fernet

    from propadmin.crypto import mask_id_number, mask_mobile

    masked = "mobile_masked" in {c["name"] for c in sa.inspect(engine).get_columns("resident")}
    fernet = Fernet(FERNET_KEY)
    # Compiled once, as a template file would be (render_template_string compiles its
    # source on every call: about a millisecond a request on this machine).
    resident_table = app.jinja_env.from_string(RESIDENT_TABLE)
    bill_table = app.jinja_env.from_string(BILL_TABLE)

    def plain(row) -> dict:
        if masked:
            return dict(row._mapping)
        mobile = fernet.decrypt(row.mobile.encode()).decode() if row.mobile else None
        id_number = fernet.decrypt(row.id_number.encode()).decode() if row.id_number else None
        return {
            **row._mapping,
            "mobile": mask_mobile(mobile),
            "id_number": mask_id_number(id_number),
        }

    def residents():
        args, params = request.args, {"offset": int(request.args.get("page", 0)) * RESIDENTS_PAGE}
        conditions, joins = ["1 = 1"], []
        if "estate" in args:
            conditions.append("r.estate_id = :estate")
            params["estate"] = int(args["estate"])
        for key, (join, condition) in SEARCHES.items():
            if key in args:
                conditions.append(condition)
                joins.append(join)
        if "name" in args:
            params["term"] = args["name"] + "%"
        elif "unit" in args:
            building, _, number = args["unit"].partition("-")
            params.update(building=f"{building}栋", number=number)
        elif "plate" in args:
            params["term"] = args["plate"]
        elif "mobile" in args:
            params["term"] = args["mobile"]  # its blind index, worked out by prepare()
        sql = _resident_sql(masked, " AND ".join(conditions), " ".join(joins))
        with engine.connect() as conn:
            rows = [plain(r) for r in conn.execute(sql, params)]
            units: dict[int, list[str]] = {}
            if rows:
                found = conn.execute(
                    CURRENT_UNITS_SQL, {"ids": [r["id"] for r in rows], "today": date.today()}
                )
                for resident_id, building, number in found:
                    units.setdefault(resident_id, []).append(
                        f"{building.removesuffix('栋')}-{number}"
                    )
        return render_template(resident_table, rows=rows, units=units)

    def bills():
        offset = int(request.args.get("page", 0)) * BILLS_PAGE
        sql = text(str(BILL_PAGE_SQL) + " OFFSET :offset")
        with engine.connect() as conn:
            estate = conn.scalar(text("SELECT id FROM estate WHERE name = :n"), {"n": BILL_ESTATE})
            rows = conn.execute(sql, {"estate": estate, "offset": offset}).all()
        return render_template(bill_table, rows=rows)

    return residents, bills


# -- the pages measured --------------------------------------------------------------------------
def prepare(app) -> list[Page]:
    """The two accounts, and the pages with the sample terms taken from the data."""
    from models import Resident, User, Vehicle
    from propadmin.extensions import db
    from propadmin.services.accounts import create_user
    from propadmin.services.identifiers import blind_index

    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.username == ADMIN[0])) is None:
            for (username, password), extra in (
                (ADMIN, {"superuser": True}),
                (MANAGER, {"roles": ["admin"], "estates": [REGISTER_ESTATE]}),
            ):
                create_user(
                    db.session,
                    username=username,
                    email=None,
                    password=password,
                    check_strength=False,
                    **extra,
                )
        db.session.commit()
        estate = db.session.scalar(
            text("SELECT id FROM estate WHERE name = :n"), {"n": REGISTER_ESTATE}
        )
        count = db.session.scalar(sa.select(sa.func.count(Resident.id)))
        sample = db.session.scalars(sa.select(Resident).offset(count // 2).limit(1)).one()
        name_prefix, mobile = sample.name[:2], sample.mobile
        mobile_index = blind_index("mobile", mobile)
        plate = db.session.scalar(sa.select(Vehicle.plate).order_by(Vehicle.id).limit(1))
        db.session.remove()
    unit = "7-2501"
    return [
        Page("resident list, page 1 (every estate)", "/admin/resident/", ADMIN, "/residents"),
        Page(
            "resident list, page 1000 (every estate)",
            "/admin/resident/?page=999",
            ADMIN,
            "/residents?page=999",
        ),
        Page(
            "resident list, page 1000 (one estate's admin)",
            "/admin/resident/?page=999",
            MANAGER,
            f"/residents?page=999&estate={estate}",
        ),
        Page(
            f"search a name prefix ({name_prefix})",
            f"/admin/resident/?search={name_prefix}",
            MANAGER,
            f"/residents?estate={estate}&name={name_prefix}",
        ),
        Page(
            f"search a unit ({unit})",
            f"/admin/resident/?search={unit}",
            MANAGER,
            f"/residents?estate={estate}&unit={unit}",
        ),
        Page(
            f"search a plate ({plate})",
            f"/admin/resident/?search={plate}",
            MANAGER,
            f"/residents?estate={estate}&plate={plate}",
        ),
        Page(
            "search a full mobile",
            f"/admin/resident/?search={mobile}",
            MANAGER,
            f"/residents?estate={estate}&mobile={mobile_index}",
        ),
        Page("bill list, page 1 (1,000,000 bills)", "/admin/bill/", ADMIN, "/bills"),
        Page("bill list, page 1000", "/admin/bill/?page=999", ADMIN, "/bills?page=999"),
    ]


def median_request_ms(port: int, path: str, cookie: str = "", repeat: int = 21) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    samples = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        response, _body = _request(conn, "GET", path, cookie)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status == 200, (path, response.status)
    conn.close()
    return statistics.median(samples[1:])  # the first warms the worker up


def _floor(port: int, cookie: str):
    """What any signed-in page of the app costs before it reads or draws anything:
    ``/bench/minimal`` (tests/bench_app.py) answers ``ok`` through the same request hooks
    (the account and its roles loaded, the session checked, CSRF, the rate limiter). Not a
    target: beside the hand-written pages below it shows how much of their 1/3 that leaves
    an admin page for its own queries and drawing."""
    path = "/bench/minimal"
    ms = median_request_ms(port, path, cookie)
    rates = [
        requests_per_second(port, path, cookie, seconds=SECONDS, threads=CLIENTS)
        for _ in range(ROUNDS)
    ]
    return [
        (
            "the app's minimal page, signed in (no query of its own, nothing drawn)",
            statistics.fmean(rates),
            "req/s",
        ),
        ("    median of one request", ms, "ms"),
    ]


def bench_pages(app, url: str):
    """The figures, yielded page by page as they are measured."""
    from urllib.parse import quote

    pages = prepare(app)
    storage = limit_storage()
    print(f"(rate-limit counters: {storage.split('://')[0]})")
    env = {
        "PROPADMIN_RATELIMIT_STORAGE_URI": storage,
        "PROPADMIN_RATELIMIT_KEY_PREFIX": f"propadmin-bench-{os.getpid()}",
        "PROPADMIN_FIELD_ENCRYPTION_KEYS": json.dumps([FERNET_KEY]),
        "PROPADMIN_BLIND_INDEX_KEY": "bench",
        "PROPADMIN_NUMBER_SEARCH_LIMIT": "1000000 per minute",
        "PROPADMIN_REQUEST_LOG": "false",
    }
    with (
        tempfile.TemporaryDirectory() as instance,
        gunicorn("tests.bench_app:app", url, instance, env) as admin_port,
        gunicorn("tests.bench_pages:reference_app()", url, instance, env) as reference_port,
    ):
        cookies = {account: _sign_in(admin_port, *account) for account in (ADMIN, MANAGER)}
        yield from _floor(admin_port, cookies[MANAGER])
        frozen = Path(instance) / "bench-frozen"  # tests/bench_app.py reads them there
        frozen.mkdir()
        for number, page in enumerate(p for p in pages if ONLY in p.label):
            admin_path = quote(page.admin_path, safe="/?=&")
            reference_path = quote(page.reference_path, safe="/?=&")
            in_app_path = f"{HAND_IN_APP}{reference_path}"
            cookie = cookies[page.account]
            conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=60)
            response, body = _request(conn, "GET", admin_path, cookie)
            assert response.status == 200, (admin_path, response.status)
            conn.close()
            (frozen / f"page{number}.html").write_bytes(body)
            frozen_path = f"/bench/frozen/page{number}"
            admin_ms = median_request_ms(admin_port, admin_path, cookie)
            reference_ms = median_request_ms(reference_port, reference_path)
            in_app_ms = median_request_ms(admin_port, in_app_path, cookie)
            admin_rates, reference_rates, in_app_rates, frozen_rates = [], [], [], []
            for _ in range(ROUNDS):  # in turns: a slow spell of the machine weighs on all
                for rates, port, path, account_cookie in (
                    (admin_rates, admin_port, admin_path, cookie),
                    (reference_rates, reference_port, reference_path, ""),
                    (in_app_rates, admin_port, in_app_path, cookie),
                    (frozen_rates, admin_port, frozen_path, cookie),
                ):
                    rates.append(
                        requests_per_second(
                            port, path, account_cookie, seconds=SECONDS, threads=CLIENTS
                        )
                    )
            admin_rps = statistics.fmean(admin_rates)
            reference_rps = statistics.fmean(reference_rates)
            in_app_rps = statistics.fmean(in_app_rates)
            frozen_rps = statistics.fmean(frozen_rates)
            ratio = admin_rps / reference_rps
            verdict = "met" if ratio >= RATIO_TARGET and admin_ms < MEDIAN_TARGET_MS else "NOT met"
            yield from [
                (page.label, admin_rps, "req/s"),
                ("    median of one request", admin_ms, "ms"),
                ("  reference: hand-written page of the same rows", reference_rps, "req/s"),
                ("    median of one request", reference_ms, "ms"),
                (f"  ratio (target ≥ 0.33 and median < 100 ms: {verdict})", ratio, "×"),
                ("  for comparison: the hand-written page in the app, signed in", in_app_rps,
                 "req/s"),
                ("    median of one request", in_app_ms, "ms"),
                ("    it ÷ the hand-written page alone", in_app_rps / reference_rps, "×"),
                ("    the admin page ÷ it", admin_rps / in_app_rps, "×"),
                (f"  for comparison: its {len(body) // 1024} KB answered as they are, signed in",
                 frozen_rps, "req/s"),
                ("    it ÷ the hand-written page alone", frozen_rps / reference_rps, "×"),
            ]


def main() -> None:
    """``python -m tests.bench_pages URL [--fill] [--only TEXT]``: the page figures on a
    database kept between runs (``--fill`` migrates and fills it first), for iterating;
    ``make bench`` makes its own."""
    import argparse

    from flask_migrate import upgrade

    from .bench import _print, fill_register, make_app
    from .bench_bill_list import fill_bills

    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--fill", action="store_true")
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--bills", type=int, default=1_000_000)
    parser.add_argument("--only", default="", help="pages whose label contains this")
    args = parser.parse_args()
    app = make_app(args.url)
    with app.app_context():
        upgrade()  # this branch's migrations, on a copy of a filled database
    if args.fill:
        fill_register(app, args.residents)
        fill_bills(app, args.bills)
    global ONLY
    ONLY = args.only
    _print(bench_pages(app, args.url))


ONLY = ""

if __name__ == "__main__":
    main()
