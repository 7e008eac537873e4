"""`make bench`, register export: the admin's CSV export of the resident register
beside a hand-written export of the same columns, and its peak memory at two sizes."""

from __future__ import annotations

import csv
import tempfile
from datetime import date
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

from .bench import peak_mib, seconds


def bench_export(app, residents: int) -> list[tuple[str, float, str]]:
    """The admin's export (header, masked numbers, current units, formula-safe cells)
    beside a hand-written one of the same columns: the same joined statement in plain
    SQL, streamed, grouped by resident, csv.writer. Peak memory is measured for all the
    rows and for a fifth of them: flat memory means the two are alike."""
    from models import Resident
    from propadmin.extensions import db
    from propadmin.services.register_export import csv_stream, resident_export

    path = Path(tempfile.gettempdir())
    with app.app_context():

        def run(matching=None):
            header, rows = resident_export(db.session(), None, matching=matching)
            with open(path / "bench-export.csv", "w", encoding="utf-8") as fh:
                for chunk in csv_stream(header, rows):
                    fh.write(chunk)
            db.session.close()

        took, peak = seconds(run), peak_mib(run)
        fifth = db.session.scalars(
            sa.select(Resident.id).order_by(Resident.id).offset(residents // 5 - 1).limit(1)
        ).one()
        db.session.close()
        fifth_peak = peak_mib(lambda: run(sa.select(Resident.id).where(Resident.id <= fifth)))

        def reference():
            today = date.today().isoformat()
            with (
                db.engine.connect() as conn,
                open(path / "bench-ref.csv", "w", encoding="utf-8", newline="") as fh,
            ):
                writer = csv.writer(fh)
                result = conn.execute(
                    text(
                        "SELECT r.id, r.name, r.mobile_masked, r.id_number_masked, r.email,"
                        " r.emergency_contact, e.name, b.name, u.number FROM resident r"
                        " JOIN estate e ON e.id = r.estate_id"
                        " LEFT JOIN occupancy o ON o.resident_id = r.id"
                        " AND (o.start_date IS NULL OR o.start_date <= :today)"
                        " AND (o.end_date IS NULL OR o.end_date >= :today)"
                        " LEFT JOIN unit u ON u.id = o.unit_id"
                        " LEFT JOIN building b ON b.id = u.building_id"
                        " ORDER BY r.name, r.id, o.id"
                    ).execution_options(yield_per=1000),
                    {"today": today},
                )
                for _id, group in groupby(result, key=itemgetter(0)):
                    rows = list(group)
                    units = "、".join(
                        f"{r[7].removesuffix('栋')}-{r[8]}" for r in rows if r[7] is not None
                    )
                    writer.writerow((rows[0][1], units, *rows[0][2:7]))

        ref_took, ref_peak = seconds(reference), peak_mib(reference)
    return [
        (
            f"export {residents:,} residents to CSV (masked columns, stream)",
            residents / took,
            "rows/s",
        ),
        ("  peak Python memory", peak, "MiB"),
        (f"  peak Python memory, the first {residents // 5:,} residents", fifth_peak, "MiB"),
        ("  reference: plain SQL rows → csv.writer (same columns)", residents / ref_took, "rows/s"),
        ("  reference peak memory", ref_peak, "MiB"),
        ("  export / reference", ref_took / took, "×"),
    ]
