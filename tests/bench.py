"""`make bench`: figures for the parts that have benchmarks, each beside a reference
measured in the same run, so that they read as ratios on any machine.

    python -m tests.bench [--backend sqlite|postgresql|both] [--only PART]

``--only import`` runs the register's import alone (after the same fill as ``register``).

The ``serving`` part (tests/bench_serving.py) runs gunicorn on a demo estate of its own.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

FERNET_KEY = "Zm9yLWJlbmNoLW9ubHktMzItYnl0ZXMta2V5LXh4eHg="
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def median_ms(fn, repeat: int = 15) -> float:
    fn()  # warm up caches and compiled statements
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_mib(fn) -> float:
    """Peak Python allocations during one call (tracemalloc slows the call down, so the
    time is taken in a separate, untraced run)."""
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def make_app(url: str, *, pooled: bool = False):
    """The app on ``url``; ``pooled`` keeps connections between requests as a served app
    does (propadmin/gunicorn_conf.py), else each session opens its own (NullPool)."""
    from propadmin import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {} if pooled else {"poolclass": sa.pool.NullPool},
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "MAIL_DISPATCH": "off",
            "SECRET_KEY": "bench",
            "FIELD_ENCRYPTION_KEYS": [FERNET_KEY],
            "BLIND_INDEX_KEY": "bench",
        }
    )


def fill_register(app, residents: int):
    """A large estate, written with plain multi-row inserts (not what is measured)."""
    from models import (
        Building,
        Estate,
        Occupancy,
        Relation,
        Resident,
        Unit,
        masked_numbers,
        utcnow,
    )
    from propadmin.extensions import db
    from propadmin.services.demo import FakePeople
    from propadmin.services.identifiers import blind_index

    people = FakePeople(seed=7)
    crypto = app.extensions["propadmin.crypto"]
    with app.app_context():
        estate = Estate(name="基准小区")
        db.session.add(estate)
        db.session.flush()
        buildings = [Building(estate_id=estate.id, name=f"{b}栋") for b in range(1, 21)]
        db.session.add_all(buildings)
        db.session.flush()
        unit_rows = [
            {
                "building_id": b.id,
                "number": f"{f}{d:02d}",
                "floor": f,
                "area": 9000,
                "layout": "",
                "use": "residential",
            }
            for b in buildings
            for f in range(1, 51)
            for d in range(1, 5)
        ]
        db.session.execute(sa.insert(Unit.__table__), unit_rows)
        unit_ids = db.session.scalars(sa.select(Unit.id)).all()
        batch = []
        for i in range(residents):
            id_number, mobile = people.id_number(), people.mobile()
            batch.append(
                {
                    "estate_id": estate.id,
                    "name": people.name(),
                    "email": "",
                    "notes": "",
                    "id_number": crypto.encrypt(id_number),
                    "id_number_index": blind_index("id_number", id_number),
                    "mobile": crypto.encrypt(mobile),
                    "mobile_index": blind_index("mobile", mobile),
                    "emergency_contact": "",
                    **masked_numbers(id_number, mobile),
                }
            )
            if len(batch) == 5000 or i == residents - 1:
                db.session.execute(
                    text(
                        "INSERT INTO resident (estate_id, name, email, notes, id_number, "
                        "id_number_index, mobile, mobile_index, emergency_contact, "
                        "id_number_masked, mobile_masked, emergency_phone_masked, created_at, "
                        "updated_at) VALUES (:estate_id, :name, :email, :notes, :id_number, "
                        ":id_number_index, :mobile, :mobile_index, :emergency_contact, "
                        ":id_number_masked, :mobile_masked, :emergency_phone_masked, "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    batch,
                )
                batch.clear()
        resident_ids = db.session.scalars(sa.select(Resident.id)).all()
        rng = random.Random(3)
        now = utcnow()
        occupancies = [
            {"unit_id": rng.choice(unit_ids), "resident_id": r, "relation": Relation.owner}
            | {"is_payer": False, "created_at": now, "updated_at": now}
            for r in resident_ids
        ]
        for start in range(0, len(occupancies), 2000):  # one statement per 2,000 rows
            db.session.execute(
                sa.insert(Occupancy.__table__).values(occupancies[start : start + 2000])
            )
        db.session.execute(
            text(
                "INSERT INTO vehicle (estate_id, plate, brand, colour, owner_id, created_at, "
                "updated_at) VALUES (:e, :p, '', '', :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            [{"e": estate.id, "p": people.plate(), "o": r} for r in resident_ids[::5]],
        )
        db.session.commit()
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # the statistics a database in use has (autovacuum's)
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return people  # remembers every number it made, so later fakes do not collide


def bench_search(app, residents: int) -> list[tuple[str, float, str]]:
    from models import Resident, Vehicle
    from propadmin.extensions import db
    from propadmin.services.residents import find_residents

    out = []
    with app.app_context():
        sample = db.session.scalars(sa.select(Resident).offset(residents // 2).limit(1)).one()
        plate = db.session.scalar(sa.select(Vehicle.plate).limit(1))
        queries = {
            "a name": sample.name,
            "a unit (7-2501)": "7-2501",
            "a plate": plate,
            "a full mobile": sample.mobile,
        }
        for label, query in queries.items():
            ms = median_ms(lambda q=query: find_residents(db.session, q, None, limit=50))
            out.append((f"search {residents:,} residents for {label} (median)", ms, "ms"))
        reference = median_ms(
            lambda: db.session.execute(
                text("SELECT id, name FROM resident WHERE name LIKE :q ORDER BY name LIMIT 50"),
                {"q": f"%{sample.name}%"},
            ).all()
        )
        out.append(("  reference: plain SQL name LIKE '%…%' (median)", reference, "ms"))
    return out


def bench_import(app, rows: int, people) -> list[tuple[str, float, str]]:
    from models import Estate
    from propadmin.extensions import db
    from propadmin.services.register_import import import_sheet
    from propadmin.services.register_sheet import CLI_MAX_ROWS, COLUMNS, read_sheet

    header = [zh for _k, zh, _en, _r in COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for i in range(rows):
        writer.writerow(
            [
                f"{30 + i // 400}栋",
                f"{i % 400 + 101}",
                "88.5",
                "2室1厅",
                people.name(),
                people.id_number(),
                people.mobile(),
                "业主",
                "2021-01-01",
                "",
                "是",
                "",
                "",
                "",
                people.plate() if i % 3 == 0 else "",
                "",
                "",
                "",
            ]
        )
    data = buffer.getvalue().encode("utf-8")
    with app.app_context():
        timed_estate = db.session.scalar(sa.select(Estate))
        traced_estate = Estate(name="基准小区二")  # the same sheet again, for the memory run
        db.session.add(traced_estate)
        db.session.commit()

        def run(estate):
            sheet = read_sheet(io.BytesIO(data), "bench.csv", max_rows=CLI_MAX_ROWS)
            plan = import_sheet(db.session, estate, sheet)
            assert plan.imported and plan.valid == rows, plan.errors[:3]
            db.session.commit()

        cpu = time.process_time()
        took = seconds(lambda: run(timed_estate))
        cpu = time.process_time() - cpu
        peak = peak_mib(lambda: run(traced_estate))

    def reference():
        return sum(1 for _ in csv.reader(io.StringIO(data.decode())))

    rate = rows / took
    return [
        (f"import {rows:,} rows (validate + write + audit)", rate, "rows/s"),
        (f"  (target ≥ 5,000 rows/s: {'met' if rate >= 5000 else 'NOT met'})", rate, "rows/s"),
        ("  rows per CPU-second of the importing process", rows / cpu, "rows/s"),
        ("  peak Python memory", peak, "MiB"),
        (f"  (target < 300 MiB: {'met' if peak < 300 else 'NOT met'})", peak, "MiB"),
        ("  reference: plain csv.reader over the same file", rows / seconds(reference), "rows/s"),
        ("  reference peak memory", peak_mib(reference), "MiB"),
    ]


def run_backend(
    name: str,
    url: str,
    residents: int,
    import_rows: int,
    bill_units: int,
    bills: int,
    only: str | None = None,
    repairs: int = 100_000,
    notice_residents: int = 100_000,
) -> None:
    from flask_migrate import upgrade

    from .bench_bill_list import bench_bill_list
    from .bench_dashboard import bench_dashboard
    from .bench_export import bench_export
    from .bench_generation import bench_generation
    from .bench_notices import bench_notices
    from .bench_repairs import bench_repairs

    app = make_app(url)
    with app.app_context():
        upgrade()
    print(f"\n== {name}")
    if only == "repairs":
        _print(bench_repairs(app, url, repairs))
        return
    if only == "notices":
        _print(bench_notices(app, url, notice_residents))
        return
    if only == "dashboard":
        from .bench_bill_list import fill_bills

        fill_register(app, residents)
        fill_bills(app, bills)
        _print(bench_dashboard(app))
        return
    if only == "pages":
        from .bench_bill_list import fill_bills
        from .bench_pages import bench_pages

        fill_register(app, residents)
        fill_bills(app, bills)
        _print(bench_pages(app, url))
        return
    if only == "import":  # the register's import alone, on the same filled estate
        people = fill_register(app, residents)
        _print(bench_import(app, import_rows, people))
        return
    if only != "billing":
        start = time.perf_counter()
        people = fill_register(app, residents)
        took = time.perf_counter() - start
        print(f"(filled {residents:,} residents in {took:.0f} s; not measured)")
        for section in (
            bench_search(app, residents),
            bench_export(app, residents),
            bench_import(app, import_rows, people),
        ):
            _print(section)
    if only == "register":
        return
    # Billing: generation on an estate of its own, then the bill list over a million bills
    # (it adds an estate of 10,000 units, so it runs after the register's figures).
    _print(bench_generation(app, bill_units))
    _print(bench_bill_list(app, url, bills))
    _print(bench_dashboard(app))  # over the register's residents and the million bills
    if only is None:
        from .bench_pages import bench_pages

        _print(bench_pages(app, url))
        _print(bench_repairs(app, url, repairs))
        _print(bench_notices(app, url, notice_residents))


def _print(section) -> None:
    for label, value, unit in section:
        places = 2 if unit in ("×", "s") else 1  # ratios and seconds read to two places
        print(f"{label:<62} {value:12,.{places}f} {unit}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--bill-units", type=int, default=100_000, help="units to bill")
    parser.add_argument("--bills", type=int, default=1_000_000, help="bills in the list")
    parser.add_argument("--repairs", type=int, default=100_000, help="repair requests")
    parser.add_argument("--notice-residents", type=int, default=100_000, help="mailed residents")
    parser.add_argument("--serving-seconds", type=float, default=8, help="per page, per backend")
    parser.add_argument(
        "--only",
        choices=[
            "register",
            "import",
            "billing",
            "dashboard",
            "pages",
            "repairs",
            "notices",
            "serving",
        ],
        help="one part's figures",
    )
    args = parser.parse_args()
    print("PropAdmin benchmarks")
    if args.only != "serving":
        run_parts(args)
    if args.only in (None, "serving"):
        from .bench_serving import bench_serving

        bench_serving(args.backend, args.serving_seconds)


def run_parts(args) -> None:
    billing = (args.bill_units, args.bills, args.only, args.repairs, args.notice_residents)
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run_backend(
                "SQLite",
                f"sqlite:///{Path(tmp) / 'bench.db'}",
                args.residents,
                args.import_rows,
                *billing,
            )
    if args.backend in ("postgresql", "both"):
        server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        name = f"propadmin_bench_{uuid.uuid4().hex[:8]}"
        try:
            with server.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError as exc:
            print(f"\n== PostgreSQL: not reachable at {PG_SERVER} ({exc.orig}); skipped")
            return
        try:
            run_backend(
                "PostgreSQL",
                server.url.set(database=name).render_as_string(False),
                args.residents,
                args.import_rows,
                *billing,
            )
        finally:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
