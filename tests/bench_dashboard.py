"""The staff home (dashboard) at a property company's scale (issue 12): the estate
figures, then the whole admin home page as a superuser sees it (every estate, every figure,
every to-do tile), in-process through Flask's test client, with the statements it sends,
the engine keeping its connections as a served app's pool does.

Runs on the database tests/bench.py filled (100,000 residents in one estate, 1,000,000
bills in another). Beside it, in the same run: ``SELECT count(*) FROM unit``, the least a
figure can cost. Target: the page under 50 ms (median) in a constant number of statements
(tests/test_dashboard_figures.py checks that the number does not grow with the rows).

``python -m tests.bench_dashboard URL`` measures a database kept between runs (a copy of a
filled one; it is migrated to this branch first).
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy import text

TARGET_MS = 50.0
BOSS = ("bench_dash", "Bench-dash-5183")  # a superuser


def _sign_in(app):
    from models import User
    from propadmin.extensions import db
    from propadmin.services.accounts import create_user

    from .helpers import login

    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.username == BOSS[0])) is None:
            create_user(
                db.session,
                username=BOSS[0],
                email=None,
                password=BOSS[1],
                superuser=True,
                check_strength=False,
            )
            db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert login(client, *BOSS).status_code == 302, "the bench superuser cannot sign in"
    return client


def _statements(app, fn) -> int:
    from propadmin.extensions import db

    with app.app_context():
        engine = db.engine
    sent = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(sent)


def bench_dashboard(app) -> list[tuple[str, float, str]]:
    """Figures and page on an app whose engine keeps its connections, as a served app's
    pool does: opening a PostgreSQL connection for every page (the benchmarks' NullPool)
    would measure the connection, not the page."""
    from propadmin.extensions import db
    from propadmin.services.dashboard import add_money, estate_overview

    from .bench import make_app, median_ms

    app = make_app(app.config["SQLALCHEMY_DATABASE_URI"], pooled=True)

    def figures():
        add_money(db.session, estate_overview(db.session, None))
        db.session.remove()

    with app.app_context(), db.engine.connect() as conn:
        # Statistics and the visibility map, as a database in use has them.
        sqlite = conn.dialect.name == "sqlite"
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE" if sqlite else "VACUUM ANALYZE")
        )
    with app.app_context():
        bills = db.session.scalar(text("SELECT count(*) FROM bill"))
        residents = db.session.scalar(text("SELECT count(*) FROM resident"))
        overview = median_ms(figures)
        reference = median_ms(
            lambda: db.session.execute(text("SELECT count(*) FROM unit")).scalar()
        )
        db.session.remove()

    client = _sign_in(app)

    def home():
        assert client.get("/admin/").status_code == 200

    page = median_ms(home)
    statements = _statements(app, home)
    with app.app_context():
        db.engine.dispose()
    verdict = "met" if page < TARGET_MS else "NOT met"
    return [
        (f"dashboard figures, {residents:,} residents, {bills:,} bills (median)", overview, "ms"),
        (f"admin home page as a superuser, in-process (target < 50 ms: {verdict})", page, "ms"),
        ("  statements per page (constant: tests/test_dashboard_figures.py)", statements, "stmts"),
        ("  reference: SELECT count(*) FROM unit (median)", reference, "ms"),
    ]


def main() -> None:
    import argparse

    from flask_migrate import upgrade

    from .bench import _print, make_app

    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    args = parser.parse_args()
    app = make_app(args.url)
    with app.app_context():
        upgrade()
    start = time.perf_counter()
    _print(bench_dashboard(app))
    print(f"(took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
