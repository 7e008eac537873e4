"""Benchmark of the staff repair queue ``/admin/repairs/`` over 100,000 repair requests,
beside a hand-written single-query page of the same rows.

``bench_repairs(app, url, n)`` is called by tests/bench.py for each backend, on the migrated
database of that run; alone: ``python -m tests.bench --only repairs [--backend ...]
[--repairs N]``.

Data (not measured): three estates with ten buildings each; ``n`` requests, most of them
in the first estate, written by plain multi-row inserts with a realistic mix — most jobs
closed, a few cancelled or resolved, about one in seven still open; urgent, normal and low;
every category; five repair workers sharing the jobs.

Figures, in-process through the test client, for an admin scoped to the first estate and
for one of its repair workers: median page time and SQL statements per page, for page 1
and page 100 of the queue (its default view: open requests, most urgent first, then the
oldest), beside ``reference_app`` — a plain Flask page whose one hand-written query reads
the same rows with their unit, building and assignee, rendered by a small Jinja template,
called in turns with the queue — and the ratio of the two times. When the queue page is
not there (it answers 404), the bench says so and measures only the reference.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask, render_template, request
from sqlalchemy import text

from .bench import median_ms
from .bench_bill_list import counting, pooled_app

ESTATES = ("报修基准小区", "报修基准小区二", "报修基准小区三")
SHARE = (0.6, 0.2, 0.2)  # of the requests, per estate
BUILDINGS, FLOORS, DOORS = 10, 30, 4
ADMIN, WORKER = "bench_repair_admin", "bench_repair_worker"
PASSWORD = "Bench-repairs-5831"  # noqa: S105 - the bench's own throwaway account
PAGE_SIZE = 20  # the queue's page size (services/repair_queue.py on the admin branch)
QUEUE = "/admin/repairs/"
OPEN = ("submitted", "assigned", "in_progress")
# (status, weight): most jobs are done; about one in seven is still open.
STATUSES = (
    ("closed", 76), ("cancelled", 4), ("resolved", 5),
    ("in_progress", 4), ("assigned", 5), ("submitted", 6),
)
URGENCIES = (("urgent", 10), ("normal", 60), ("low", 30))
TARGETS = {"urgent": (60, 1440), "normal": (240, 4320), "low": (1440, 10080)}
CATEGORIES = (
    ("plumbing", 30), ("electrical", 20), ("door_window", 12), ("leak", 10),
    ("elevator", 8), ("public", 10), ("gas", 2), ("other", 8),
)
PLACES = ("厨房", "主卫", "客卫", "阳台", "客厅", "主卧", "次卧", "入户门")
PROBLEMS = ("水管接头漏水", "下水道堵塞", "灯不亮", "插座没电", "窗户关不严", "墙面渗水",
            "门锁卡住", "马桶水箱漏水")

REFERENCE_SQL = text(
    "SELECT r.id, r.location, r.category, r.urgency, r.status, r.submitted_at, r.respond_by,"
    " r.resolve_by, r.started_at, u.number, ub.name AS unit_building, b.name AS building,"
    " a.display_name AS assignee"
    " FROM repair_request r"
    " LEFT JOIN unit u ON u.id = r.unit_id"
    " LEFT JOIN building ub ON ub.id = u.building_id"
    " LEFT JOIN building b ON b.id = r.building_id"
    ' LEFT JOIN "user" a ON a.id = r.assignee_id'
    " WHERE r.estate_id = :estate AND r.status IN ('submitted', 'assigned', 'in_progress')"
    " ORDER BY CASE r.urgency WHEN 'urgent' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,"
    " r.submitted_at, r.id"
    " LIMIT :size OFFSET :skip"
)
REFERENCE_PAGE = (
    "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>报修队列</title><table>"
    "{% for r in rows %}<tr><td><a href=/admin/repairs/{{ r.id }}>#{{ r.id }}</a></td>"
    "<td>{{ r.urgency }}</td><td>{{ r.status }}</td><td>{{ r.category }}</td>"
    "<td>{{ r.unit_building or r.building or '' }}{% if r.number %}-{{ r.number }}{% endif %}"
    " {{ r.location }}</td><td>{{ r.submitted_at }}</td><td>{{ r.respond_by }}</td>"
    "<td>{{ r.resolve_by }}</td><td>{{ r.assignee or '' }}</td></tr>{% endfor %}</table>"
)


def _pick(rng: random.Random, weighted) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


# -- data ---------------------------------------------------------------------------------------
def fill_repairs(app, n: int) -> int:
    """Three estates of 1,200 units each, five repair workers and an admin for the first,
    and ``n`` repair requests over the past two years. Returns the first estate's id."""
    from models import Estate, RepairRequest
    from propadmin.extensions import db
    from propadmin.services.accounts import create_user

    rng = random.Random(9)
    now = datetime.now(UTC)
    with app.app_context():
        estate_ids = []
        for name in ESTATES:
            estate = Estate(name=name)
            db.session.add(estate)
            db.session.flush()
            estate_ids.append(estate.id)
        db.session.execute(
            text(
                "INSERT INTO building (estate_id, name, floors, created_at, updated_at)"
                " VALUES (:e, :name, :floors, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            [{"e": e, "name": f"{b}栋", "floors": FLOORS}
             for e in estate_ids for b in range(1, BUILDINGS + 1)],
        )
        buildings = db.session.execute(text("SELECT id, estate_id FROM building")).all()
        db.session.execute(
            text(
                "INSERT INTO unit (building_id, number, floor, area, layout, use, created_at,"
                " updated_at) VALUES (:b, :n, :f, 9500, '', 'residential', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            [{"b": b.id, "n": f"{f}{d:02d}", "f": f}
             for b in buildings if b.estate_id in estate_ids
             for f in range(1, FLOORS + 1) for d in range(1, DOORS + 1)],
        )
        units: dict[int, list[tuple[int, int]]] = {e: [] for e in estate_ids}
        for unit_id, building_id, estate_id in db.session.execute(
            text("SELECT u.id, u.building_id, b.estate_id FROM unit u"
                 " JOIN building b ON b.id = u.building_id")
        ):
            if estate_id in units:
                units[estate_id].append((unit_id, building_id))
        workers: dict[int, list[int]] = {}
        for e, name in zip(estate_ids, ESTATES, strict=True):
            names = [f"{WORKER}{k or ''}" for k in range(5)] if e == estate_ids[0] else [
                f"{WORKER}_{e}_{k}" for k in range(2)
            ]
            workers[e] = [
                create_user(
                    db.session, username=username, email=f"{username}@example.com",
                    password=PASSWORD, display_name=f"维修师傅{k + 1}", roles=["repair"],
                    estates=[name], check_strength=False,
                ).id
                for k, username in enumerate(names)
            ]
        create_user(
            db.session, username=ADMIN, email=f"{ADMIN}@example.com", password=PASSWORD,
            display_name="基准管理员", roles=["admin"], estates=[ESTATES[0]],
            check_strength=False,
        )
        db.session.flush()
        table = RepairRequest.__table__
        batch = []
        for i in range(n):
            e = rng.choices(estate_ids, SHARE)[0]
            unit_id, building_id = rng.choice(units[e])
            status, urgency = _pick(rng, STATUSES), _pick(rng, URGENCIES)
            # Open jobs are recent; done ones spread over two years.
            age = timedelta(minutes=rng.randint(5, 60 * 24 * (20 if status in OPEN else 730)))
            submitted = now - age
            respond, resolve = TARGETS[urgency]
            row = {
                "estate_id": e, "building_id": building_id, "unit_id": unit_id,
                "source": rng.choice(("portal", "portal", "office", "patrol")),
                "contact_name": "", "contact_phone_masked": "138****0000",
                "location": rng.choice(PLACES), "description": rng.choice(PROBLEMS),
                "category": _pick(rng, CATEGORIES), "urgency": urgency, "status": status,
                "assignee_id": None, "submitted_at": submitted,
                "respond_by": submitted + timedelta(minutes=respond),
                "resolve_by": submitted + timedelta(minutes=resolve),
                "assigned_at": None, "started_at": None, "resolved_at": None,
                "closed_at": None, "cancelled_at": None, "rating": None,
                "paid_by": "estate", "version": 1,
            }
            step = min(age / 4, timedelta(hours=rng.randint(1, 48)))
            if status not in ("submitted", "cancelled"):
                row["assignee_id"] = rng.choice(workers[e])
                row["assigned_at"] = submitted + step / 2
            if status in ("in_progress", "resolved", "closed"):
                row["started_at"] = submitted + step
            if status in ("resolved", "closed"):
                row["resolved_at"] = submitted + step * 2
            if status == "closed":
                row["closed_at"] = submitted + step * 3
                row["rating"] = rng.choice((None, 3, 4, 5, 5))
            if status == "cancelled":
                row["cancelled_at"] = submitted + step
            batch.append(row)
            if len(batch) == 10_000 or i == n - 1:
                db.session.execute(sa.insert(table), batch)
                batch.clear()
        db.session.commit()
        first = estate_ids[0]
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        conn.execute(text("ANALYZE" if sqlite else "VACUUM ANALYZE repair_request"))
    engine.dispose()
    return first


# -- the reference page -------------------------------------------------------------------------
def reference_app(url: str, estate_id: int) -> Flask:
    """The same rows as the queue's default view, read by one hand-written query and
    rendered by a small Jinja template."""
    app = Flask(__name__)
    engine = sa.create_engine(url)
    app.extensions["bench.engine"] = engine
    template = app.jinja_env.from_string(REFERENCE_PAGE)  # compiled once, as a file would be

    @app.get("/repairs")
    def repairs():
        page = int(request.args.get("page", "1"))
        with engine.connect() as conn:
            rows = conn.execute(
                REFERENCE_SQL,
                {"estate": estate_id, "size": PAGE_SIZE, "skip": (page - 1) * PAGE_SIZE},
            ).all()
        return render_template(template, rows=rows)

    return app


def page_app(url: str):
    """The app measured (a stand-in for trying the bench out may be swapped in here)."""
    return pooled_app(url)


# -- figures ------------------------------------------------------------------------------------
def _getter(client, path: str):
    def get():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return get


def _queries(engine, get) -> int:
    with counting(engine) as statements:
        get()
    return len(statements)


def paired_medians(a, b, repeat: int = 15) -> tuple[float, float]:
    """Median ms of ``a`` and of ``b``, called in turns, so that whatever else the machine
    does meanwhile weighs on both alike."""
    a(), b()  # warm up
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, into in ((a, samples[0]), (b, samples[1])):
            start = time.perf_counter()
            fn()
            into.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def page_figures(url: str, estate_id: int) -> list[tuple[str, float, str]]:
    from propadmin.extensions import db

    from .helpers import login

    ref = reference_app(url, estate_id)
    ref_client, ref_engine = ref.test_client(), ref.extensions["bench.engine"]
    deep = {"page 1": 1, "page 100": 100}
    references = {name: _getter(ref_client, f"/repairs?page={page}") for name, page in deep.items()}
    ref_queries = {name: _queries(ref_engine, get) for name, get in references.items()}
    with ref_engine.connect() as conn:
        first_ids = {
            name: conn.execute(
                REFERENCE_SQL, {"estate": estate_id, "size": 1, "skip": (page - 1) * PAGE_SIZE}
            ).scalar()
            for name, page in deep.items()
        }
    app = page_app(url)
    with app.app_context():
        engine = db.engine
    out: list[tuple[str, float, str]] = []
    measured = False
    for who, username in (("estate admin", ADMIN), ("repair worker", WORKER)):
        client = app.test_client()
        assert login(client, username, PASSWORD).status_code == 302, username
        status = client.get(QUEUE).status_code
        if status != 200:
            out.append((f"repair queue {QUEUE} for the {who}: answers {status}, not measured "
                        "(is the admin's queue page merged?)", status, "HTTP"))
            continue
        measured = True
        for name, page in deep.items():
            get = _getter(client, QUEUE if page == 1 else f"{QUEUE}?page={page}")
            if f"/admin/repairs/{first_ids[name]}" not in get().text:
                out.append((f"  NOTE: {name} does not show request #{first_ids[name]}, the "
                            "reference's first row", 0, "!"))
            ms, ref_ms = paired_medians(get, references[name])
            out += [
                (f"repair queue, {who}, {name} (median)", ms, "ms"),
                ("  SQL statements per page", _queries(engine, get), "queries"),
                (f"  reference: one-query page of the same {PAGE_SIZE} rows", ref_ms, "ms"),
                ("  reference SQL statements", ref_queries[name], "queries"),
                ("  ratio (queue / reference)", ms / ref_ms, "×"),
            ]
    if not measured:
        for name, get in references.items():
            out.append((f"  reference only, {name} (median)", median_ms(get, 15), "ms"))
            out.append(("  reference SQL statements", ref_queries[name], "queries"))
    ref_engine.dispose()
    return out


def bench_repairs(app, url: str, n: int = 100_000) -> list[tuple[str, float, str]]:
    start = time.perf_counter()
    estate_id = fill_repairs(app, n)
    filled = time.perf_counter() - start
    return [
        (f"(filled {n:,} repair requests in {len(ESTATES)} estates; not measured)", filled, "s"),
        *page_figures(url, estate_id),
    ]
