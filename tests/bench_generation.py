"""Bill generation on a 100,000-unit estate with 3 fee items (per m², fixed, metered with
readings), beside a hand-written ``INSERT … SELECT`` of the same bills and lines in the
same run. ``tests/bench.py`` calls ``bench_generation(app)``; alone:

    python -m tests.bench_generation [--backend sqlite|postgresql|both] [--units N]
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import text

PERIOD = "2026-11"
DUE = date(2026, 12, 15)  # 2026-11-30 + 15 days, as generation computes it
PRICES = {"per_area": Decimal("2.5000"), "fixed": Decimal("30.0000"), "metered": Decimal("3.2000")}


def fill_estate(app, units: int) -> dict:
    """An estate of ``units`` units (500 per building), each with one paying owner and a
    water meter read for the period; 3 fee items with a rate each. Plain inserts, not
    measured."""
    from models import (
        BillingMethod,
        Building,
        Estate,
        FeeItem,
        FeeRate,
        Meter,
        MeterReading,
        Occupancy,
        Resident,
        Unit,
    )
    from propadmin.extensions import db

    with app.app_context():
        session = db.session
        estate = Estate(name=f"账单基准小区{uuid.uuid4().hex[:6]}")
        session.add(estate)
        session.flush()
        buildings = [Building(estate_id=estate.id, name=f"{b}栋") for b in range(units // 500 + 1)]
        session.add_all(buildings)
        session.flush()
        items = {}
        for method, unit_label in (("per_area", "m²"), ("fixed", ""), ("metered", "吨")):
            item = FeeItem(
                estate_id=estate.id,
                name=f"基准{method}",
                method=BillingMethod(method),
                quantity_unit=unit_label,
                due_days=15,
            )
            item.rates.append(FeeRate(effective_from=date(2020, 1, 1), unit_price=PRICES[method]))
            session.add(item)
            items[method] = item
        session.flush()
        ids = {m: (i.id, i.rates[0].id) for m, i in items.items()}
        insert = sa.insert
        session.execute(
            insert(Unit.__table__),
            [
                {
                    "building_id": buildings[n // 500].id,
                    "number": f"{n % 500:04d}",
                    "floor": 1,
                    "area": Decimal(6000 + (n * 37) % 9000).scaleb(-2),  # 60.00 to 149.99 m²
                    "layout": "",
                    "use": "residential",
                }
                for n in range(units)
            ],
        )
        unit_ids = session.scalars(
            sa.select(Unit.id)
            .join(Building)
            .where(Building.estate_id == estate.id)
            .order_by(Unit.id)
        ).all()
        session.execute(
            insert(Resident.__table__),
            [{"estate_id": estate.id, "name": f"业主{n}"} for n in range(units)],
        )
        resident_ids = session.scalars(
            sa.select(Resident.id).where(Resident.estate_id == estate.id).order_by(Resident.id)
        ).all()
        session.execute(
            insert(Occupancy.__table__),
            [
                {"unit_id": u, "resident_id": r, "relation": "owner", "is_payer": True}
                for u, r in zip(unit_ids, resident_ids, strict=True)
            ],
        )
        water = ids["metered"][0]
        session.execute(
            insert(Meter.__table__),
            [
                {"estate_id": estate.id, "fee_item_id": water, "unit_id": u, "code": f"W{u}"}
                for u in unit_ids
            ],
        )
        meter_ids = session.scalars(
            sa.select(Meter.id).where(Meter.estate_id == estate.id).order_by(Meter.id)
        ).all()
        session.execute(
            insert(MeterReading.__table__),
            [
                {
                    "meter_id": m,
                    "period": PERIOD,
                    "read_on": date(2026, 11, 28),
                    "previous": Decimal(1000),
                    "value": Decimal(100000 + (m * 53) % 3000).scaleb(-2),
                    "usage": Decimal((m * 53) % 3000).scaleb(-2),
                }
                for m in meter_ids
            ],
        )
        session.commit()
        session.execute(text("ANALYZE"))  # statistics, as a database in use has them
        session.commit()
        return {"estate_id": estate.id, "items": ids}


BILLS_SQL = """
INSERT INTO bill (estate_id, building_id, unit_id, period, payer_id, payer_name, amount,
                  discount, late_fee, paid, status, due_date, issued_at, version, void_reason,
                  created_at, updated_at)
SELECT b.estate_id, u.building_id, u.id, :period, o.resident_id, r.name,
       (u.area * :p_area + 5000) / 10000 + (:p_fixed + 50) / 100
         + COALESCE((mr.usage * :p_water + 5000) / 10000, 0),
       0, 0, 0, 'unpaid', :due, CURRENT_TIMESTAMP, 1, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM unit u
JOIN building b ON b.id = u.building_id
JOIN occupancy o ON o.unit_id = u.id AND o.is_payer
JOIN resident r ON r.id = o.resident_id
LEFT JOIN meter m ON m.unit_id = u.id AND m.fee_item_id = :water
LEFT JOIN meter_reading mr ON mr.meter_id = m.id AND mr.period = :period
WHERE b.estate_id = :estate
"""

LINES_SQL = """
INSERT INTO bill_line (bill_id, fee_item_id, rate_id, method, quantity, quantity_unit,
                       unit_price, amount, meter_id, reading_previous, reading_current, detail)
SELECT bl.id, :area_item, :area_rate, 'per_area', u.area * 100, 'm²', :p_area,
       (u.area * :p_area + 5000) / 10000, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
       CAST(NULL AS BIGINT), ''
FROM bill bl JOIN unit u ON u.id = bl.unit_id
WHERE bl.estate_id = :estate AND bl.period = :period
UNION ALL
SELECT bl.id, :fixed_item, :fixed_rate, 'fixed', 10000, '', :p_fixed, (:p_fixed + 50) / 100,
       NULL, NULL, NULL, ''
FROM bill bl
WHERE bl.estate_id = :estate AND bl.period = :period
UNION ALL
SELECT bl.id, :water, :water_rate, 'metered', mr.usage * 100, '吨', :p_water,
       (mr.usage * :p_water + 5000) / 10000, m.id, mr.previous, mr.value, ''
FROM bill bl
JOIN meter m ON m.unit_id = bl.unit_id AND m.fee_item_id = :water
JOIN meter_reading mr ON mr.meter_id = m.id AND mr.period = :period
WHERE bl.estate_id = :estate AND bl.period = :period
"""


def _reference_params(filled: dict) -> dict:
    items = filled["items"]
    return {
        "estate": filled["estate_id"],
        "period": PERIOD,
        "due": DUE,
        "p_area": int(PRICES["per_area"].scaleb(4)),
        "p_fixed": int(PRICES["fixed"].scaleb(4)),
        "p_water": int(PRICES["metered"].scaleb(4)),
        "area_item": items["per_area"][0],
        "area_rate": items["per_area"][1],
        "fixed_item": items["fixed"][0],
        "fixed_rate": items["fixed"][1],
        "water": items["metered"][0],
        "water_rate": items["metered"][1],
    }


def _totals(session, estate_id: int) -> tuple[int, int, int]:
    bills, amount = session.execute(
        text("SELECT count(*), sum(amount) FROM bill WHERE estate_id = :e AND period = :p"),
        {"e": estate_id, "p": PERIOD},
    ).one()
    lines = session.scalar(
        text(
            "SELECT count(*) FROM bill_line l JOIN bill b ON b.id = l.bill_id"
            " WHERE b.estate_id = :e AND b.period = :p"
        ),
        {"e": estate_id, "p": PERIOD},
    )
    return bills, int(amount or 0), lines


def _clear(session, estate_id: int) -> None:
    params = {"e": estate_id, "p": PERIOD}
    session.execute(
        text(
            "DELETE FROM bill_line WHERE bill_id IN"
            " (SELECT id FROM bill WHERE estate_id = :e AND period = :p)"
        ),
        params,
    )
    session.execute(text("DELETE FROM bill WHERE estate_id = :e AND period = :p"), params)
    session.commit()


def bench_generation(app, units: int = 100_000) -> list[tuple[str, float, str]]:
    from propadmin.extensions import db
    from propadmin.services.bill_generation import generate_bills

    start = time.perf_counter()
    filled = fill_estate(app, units)
    print(f"(filled a {units:,}-unit estate in {time.perf_counter() - start:.0f} s; not measured)")
    estate_id = filled["estate_id"]
    with app.app_context():
        session = db.session
        session.info["actor_name"] = "bench"

        def run():
            result = generate_bills(session, estate_id, PERIOD, actor=None)
            session.commit()
            assert result.bills == units, result

        took = _seconds(run)
        service = _totals(session, estate_id)
        _clear(session, estate_id)

        def reference():
            params = _reference_params(filled)
            session.execute(text(BILLS_SQL), params)
            session.execute(text(LINES_SQL), params)
            session.commit()

        ref_took = _seconds(reference)
        by_hand = _totals(session, estate_id)
        assert service == by_hand, f"generation {service} ≠ INSERT … SELECT {by_hand}"
    return [
        (f"generate bills for {units:,} units, 3 fee items (one run)", took, "s"),
        ("  reference: INSERT … SELECT of the same bills and lines", ref_took, "s"),
        ("  ratio (target ≤ 2)", took / ref_took, "×"),
    ]


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
