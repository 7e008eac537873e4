"""PostgreSQL's triggers behind ``estate_count`` (models/estate_counts.py): statement
triggers over transition tables, built from the shared pieces in estate_count_sql.py.
Migration 0012 created them; 0013 replaced the occupancy insert's function. Each
migration holds its own copy of the text."""

# The SQL below is built from fixed fragments of this file and estate_count_sql.py only.
# ruff: noqa: S608

from __future__ import annotations

from .estate_count_sql import _Dialect, _occupied, _of_units, unit_changes
from .estate_counts import ALWAYS, OPEN_END


# -- PostgreSQL: statement triggers over the transition tables, so a set-based write of
# many rows (an import) recounts once. Occupancies: the units' stretches as they are now,
# less their stretches as they were (the table without the new rows, with the old ones);
# the units are locked first, so two transactions changing one unit's occupancies count
# it one after the other.
def _pg_plain(table: str, figure: str) -> dict[str, str]:
    always = _Dialect(True).day(ALWAYS.isoformat())

    def count(rows: str, sign: str) -> str:
        return (
            f"SELECT estate_id, '{figure}' AS figure, {always} AS since, {sign}count(*) AS n"
            f" FROM {rows} GROUP BY estate_id"
        )

    return {
        "insert": count("new_rows", ""),
        "delete": count("old_rows", "-"),
        "update": count("old_rows", "-") + " UNION ALL " + count("new_rows", ""),
    }


CROWDED = "crowded_units"  # the occupancy insert's variable: units whose stretches change


def _pg_functions() -> dict[tuple[str, ...], tuple[str, ...]]:
    """(table, event) → (locking statement or "", rows to add[, rows to add when any
    unit is CROWDED])."""
    d = _Dialect(True)
    always = d.day(ALWAYS.isoformat())
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for table, figure in (("resident", "residents"), ("vehicle", "vehicles")):
        for event, rows in _pg_plain(table, figure).items():
            out[table, event] = ("", rows)

    def units(rows: str, building: str, sign: str) -> str:
        return (
            f"SELECT b.estate_id, 'units' AS figure, {always} AS since, {sign}count(*) AS n"
            f" FROM {rows} AS r JOIN building AS b ON b.id = r.{building} GROUP BY b.estate_id"
        )

    out["unit", "insert"] = ("", units("new_rows", "building_id", ""))
    out["unit", "delete"] = ("", units("old_rows", "building_id", "-"))
    moved = (
        "SELECT o.id, o.building_id AS old_building, n.building_id AS new_building"
        " FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id"
        " WHERE o.building_id <> n.building_id"
    )
    changes = unit_changes(d, _of_units("SELECT id FROM moved"))
    out["unit", "update"] = (
        "",
        f"WITH moved AS ({moved}) "
        + units("moved", "old_building", "-")
        + " UNION ALL "
        + units("moved", "new_building", "")
        + " UNION ALL SELECT b.estate_id, 'occupied_units', c.since, -c.n FROM moved AS m"
        f" JOIN building AS b ON b.id = m.old_building JOIN ({changes}) AS c ON c.unit_id = m.id"
        " UNION ALL SELECT b.estate_id, 'occupied_units', c.since, c.n FROM moved AS m"
        f" JOIN building AS b ON b.id = m.new_building JOIN ({changes}) AS c ON c.unit_id = m.id",
    )
    moved = (
        "SELECT o.id, o.estate_id AS old_estate, n.estate_id AS new_estate"
        " FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE o.estate_id <> n.estate_id"
    )
    changes = unit_changes(
        d, _of_units("SELECT u.id FROM unit AS u JOIN moved AS m ON m.id = u.building_id")
    )

    def building_side(estate: str, sign: str) -> str:
        return (
            f"SELECT m.{estate} AS estate_id, 'units' AS figure, {always} AS since,"
            f" {sign}count(*) AS n FROM moved AS m"
            f" JOIN unit AS u ON u.building_id = m.id GROUP BY m.{estate}"
            f" UNION ALL SELECT m.{estate}, 'occupied_units', c.since, {sign}c.n FROM moved AS m"
            f" JOIN unit AS u ON u.building_id = m.id JOIN ({changes}) AS c ON c.unit_id = u.id"
        )

    out["building", "update"] = (
        "",
        f"WITH moved AS ({moved}) "
        + building_side("old_estate", "-")
        + " UNION ALL "
        + building_side("new_estate", ""),
    )

    def occupancy(affected: str, old_extra: str, old_rows: str) -> tuple[str, str]:
        now = _of_units(affected)
        before = _of_units(affected, old_extra) + old_rows
        lock = f"PERFORM 1 FROM unit WHERE id IN ({affected}) ORDER BY id FOR NO KEY UPDATE"
        return lock, _occupied(d, now) + " UNION ALL " + _occupied(d, before, "-")

    # Inserts (an import): a new occupancy that overlaps no other of its unit adds its own
    # days; only the units where new rows overlap others rewrite their stretches. Those
    # units are found first, into CROWDED, and the rewrite runs only if there are any
    # (planned in the same statement, it hashed the whole unit table on every insert).
    # The rewrite is planned afresh each time (EXECUTE) for the units it is given: a plan
    # kept from a session's first inserts read the whole, by then larger, occupancy table
    # on every later one.
    # The overlap test stays a per-row subquery (OFFSET 0 keeps it from being flattened):
    # as a join, with the new rows' statistics unknown, it read the whole occupancy table.
    open_end = d.day(OPEN_END)
    overlapping = (
        "EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = r.unit_id AND o.id <> r.id"
        f" AND coalesce(o.start_date, {always}) <= coalesce(o.end_date, {open_end})"
        f" AND coalesce(o.start_date, {always}) <= coalesce(r.end_date, {open_end})"
        f" AND coalesce(o.end_date, {open_end}) >= coalesce(r.start_date, {always}))"
    )
    fresh = (
        f"SELECT r.unit_id, coalesce(r.start_date, {always}) AS s,"
        f" coalesce(r.end_date, {open_end}) AS e FROM new_rows AS r"
        f" WHERE NOT (r.unit_id = ANY ({CROWDED}))"
    )
    alone = (
        " FROM fresh AS f JOIN unit AS u ON u.id = f.unit_id"
        " JOIN building AS b ON b.id = u.building_id WHERE f.s <= f.e"
    )
    _lock, rewrite = occupancy(
        "SELECT unnest($1::integer[])", " AND id NOT IN (SELECT id FROM new_rows)", ""
    )
    out["occupancy", "insert"] = (
        "PERFORM 1 FROM unit WHERE id IN (SELECT unit_id FROM new_rows) ORDER BY id"
        " FOR NO KEY UPDATE;\n"
        f"    {CROWDED} := ARRAY(SELECT unit_id FROM (SELECT r.unit_id,"
        f" {overlapping} AS overlapping FROM new_rows AS r OFFSET 0) AS f WHERE overlapping)",
        f"WITH fresh AS ({fresh}) "
        f"SELECT b.estate_id, 'occupied_units' AS figure, f.s AS since, 1 AS n{alone}"
        f" UNION ALL SELECT b.estate_id, 'occupied_units', {d.plus('f.e', 1)}, -1{alone}"
        f" AND f.e < {open_end}",
        rewrite,
    )
    out["occupancy", "delete"] = occupancy(
        "SELECT unit_id FROM old_rows",
        "",
        " UNION ALL SELECT unit_id, start_date, end_date FROM old_rows",
    )
    changed = (
        "SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id"
        " WHERE (o.unit_id, o.start_date, o.end_date)"
        " IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date)"
    )
    out["occupancy", "update"] = occupancy(
        f"SELECT unit_id FROM old_rows WHERE id IN ({changed})"
        f" UNION SELECT unit_id FROM new_rows WHERE id IN ({changed})",
        f" AND id NOT IN ({changed})",
        f" UNION ALL SELECT unit_id, start_date, end_date FROM old_rows WHERE id IN ({changed})",
    )
    return out


_TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _pg_statements() -> dict[str, tuple[str, str, str]]:
    """Trigger name → (table, CREATE FUNCTION, CREATE TRIGGER)."""
    d = _Dialect(True)
    out = {}
    for (table, event), (lock, rows, *crowded) in _pg_functions().items():
        name = f"estate_count_{table}_{event}"
        body = (f"    {lock};\n" if lock else "") + f"    {d.upsert(rows)};\n"
        declare = ""
        if crowded:
            declare = f"DECLARE {CROWDED} integer[];\n"
            rewrite = f"EXECUTE $rewrite${d.upsert(crowded[0])}$rewrite$ USING {CROWDED}"
            body += f"    IF cardinality({CROWDED}) > 0 THEN\n        {rewrite};\n    END IF;\n"
        function = (
            f"CREATE FUNCTION {name}() RETURNS trigger\nLANGUAGE plpgsql AS $$\n{declare}BEGIN\n"
            f"{body}    RETURN NULL;\nEND $$"
        )
        trigger = (
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table}"
            f" REFERENCING {_TRANSITIONS[event]} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
        out[name] = (table, function, trigger)
    return out


# Trigger name → (table, CREATE FUNCTION, CREATE TRIGGER).
PG_TRIGGERS = _pg_statements()
