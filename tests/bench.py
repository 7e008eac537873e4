"""`make bench`: figures for the parts that have benchmarks, each beside a reference
measured in the same run, so they read as ratios on any machine.

    python -m tests.bench
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text


def median_ms(fn, repeat: int = 15) -> float:
    fn()  # warm up caches and compiled statements
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def bench_dashboard(units: int = 5000) -> list[tuple[str, float, str]]:
    """Staff dashboard figures for an estate of ``units`` units vs one plain COUNT(*)."""
    from propadmin import create_app
    from propadmin.extensions import db
    from propadmin.services.dashboard import estate_overview
    from propadmin.services.demo import seed_demo

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                "MAIL_DISPATCH": "off",
                "SECRET_KEY": "bench",
                "FIELD_ENCRYPTION_KEYS": ["Zm9yLWJlbmNoLW9ubHktMzItYnl0ZXMta2V5LXh4eHg="],
                "BLIND_INDEX_KEY": "bench",
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            seed_demo(db.session, units=units)
            db.session.commit()
            overview = median_ms(lambda: estate_overview(db.session, None))
            reference = median_ms(
                lambda: db.session.execute(text("SELECT count(*) FROM unit")).scalar()
            )
    return [
        (f"dashboard figures, {units} units (median)", overview, "ms"),
        ("  reference: SELECT count(*) FROM unit (median)", reference, "ms"),
        ("  ratio", overview / reference if reference else float("nan"), "×"),
    ]


def main() -> None:
    print("PropAdmin benchmarks")
    for label, value, unit in bench_dashboard():
        print(f"{label:<52} {value:10.2f} {unit}")


if __name__ == "__main__":
    main()
