"""The SQL behind ``estate_count`` (models/estate_counts.py): the triggers that keep the
counts, for SQLite (row triggers) and PostgreSQL (statement triggers over transition
tables), and the backfill migration 0012 ran. Migration 0012 holds its own copy of the
text; the backup check (services/backup_payload.py) accepts exactly these triggers."""

# The SQL below is built from fixed fragments of this file only.
# ruff: noqa: S608

from __future__ import annotations

from .estate_counts import ALWAYS, OPEN_END


class _Dialect:
    def __init__(self, postgresql: bool) -> None:
        self.postgresql = postgresql

    def day(self, text: str) -> str:
        return f"DATE '{text}'" if self.postgresql else f"'{text}'"

    def plus(self, expr: str, days: int) -> str:
        return f"({expr} + {days})" if self.postgresql else f"date({expr}, '{days:+d} day')"

    def upsert(self, rows: str) -> str:
        """Add ``rows`` (estate_id, figure, since, n) to the counts, one row per key."""
        if self.postgresql:
            return (
                "INSERT INTO estate_count AS t (estate_id, figure, since, n)\n"
                f"    SELECT estate_id, figure, since, sum(n) FROM ({rows}) AS delta\n"
                "    GROUP BY estate_id, figure, since HAVING sum(n) <> 0\n"
                "    ORDER BY estate_id, figure, since\n"
                "    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n"
            )
        return (
            "INSERT INTO estate_count (estate_id, figure, since, n)\n"
            f"    SELECT estate_id, figure, since, sum(n) FROM ({rows}) AS delta\n"
            "    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0\n"
            "    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n"
        )


def unit_changes(d: _Dialect, occupancies: str) -> str:
    """Rows (unit_id, since, n) for the occupancies given (unit_id, start_date, end_date):
    +1 on the first day of each stretch of days a unit is lived in, −1 on the day after it
    ends. Overlapping or adjoining occupancies make one stretch (gaps and islands)."""
    always, open_end = d.day(ALWAYS.isoformat()), d.day(OPEN_END)
    spans = (
        f"SELECT unit_id, coalesce(start_date, {always}) AS s,"
        f" coalesce(end_date, {open_end}) AS e FROM ({occupancies}) AS o"
        " WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date"
    )
    fresh = (
        "SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e"
        f" ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= {d.plus('s', -1)}"
        f" THEN 0 ELSE 1 END AS fresh FROM ({spans}) AS spans"
    )
    numbered = (
        "SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e"
        f" ROWS UNBOUNDED PRECEDING) AS island FROM ({fresh}) AS fresh"
    )
    islands = (
        "SELECT unit_id, min(s) AS first_day, max(e) AS last_day"
        f" FROM ({numbered}) AS numbered GROUP BY unit_id, island"
    )
    return (
        "SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day"
        f" ELSE {d.plus('i.last_day', 1)} END AS since, k.n"
        f" FROM ({islands}) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k"
        f" WHERE k.n = 1 OR i.last_day < {open_end}"
    )


def _occupied(d: _Dialect, occupancies: str, sign: str = "") -> str:
    """(estate_id, figure, since, n) of the units' stretches, in their current estate."""
    return (
        f"SELECT b.estate_id, 'occupied_units' AS figure, c.since, {sign}c.n AS n"
        f" FROM ({unit_changes(d, occupancies)}) AS c"
        " JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id"
    )


def _of_units(units: str, extra: str = "") -> str:
    return f"SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN ({units}){extra}"


def backfill(postgresql: bool) -> list[str]:
    """The counts of the rows already there (the migration runs these once)."""
    d = _Dialect(postgresql)
    always = d.day(ALWAYS.isoformat())
    plain = [
        f"SELECT estate_id, 'residents' AS figure, {always} AS since, count(*) AS n"
        " FROM resident GROUP BY estate_id",
        f"SELECT estate_id, 'vehicles' AS figure, {always} AS since, count(*) AS n"
        " FROM vehicle GROUP BY estate_id",
        f"SELECT b.estate_id, 'units' AS figure, {always} AS since, count(*) AS n"
        " FROM unit AS u JOIN building AS b ON b.id = u.building_id GROUP BY b.estate_id",
        _occupied(d, "SELECT unit_id, start_date, end_date FROM occupancy"),
    ]
    return [d.upsert(rows) for rows in plain]


# -- SQLite: row triggers. Occupancies: a BEFORE trigger takes off the unit's stretches
# as they were, the AFTER trigger adds them as they are now.
def _sqlite_triggers() -> dict[str, tuple[str, str]]:
    d = _Dialect(False)
    always = d.day(ALWAYS.isoformat())
    triggers: dict[str, tuple[str, str]] = {}

    def add(name: str, event: str, table: str, *statements: str, when: str = "") -> None:
        body = "".join(f"\n    {s};" for s in statements)
        condition = f"\nWHEN {when}" if when else ""
        triggers[name] = (
            table,
            f"CREATE TRIGGER {name} {event} ON {table}{condition}\nBEGIN{body}\nEND",
        )

    def one(estate: str, figure: str, n: str, source: str = "") -> str:
        return (
            f"SELECT {estate} AS estate_id, '{figure}' AS figure, {always} AS since,"
            f" {n} AS n{source}"
        )

    for table, figure in (("resident", "residents"), ("vehicle", "vehicles")):
        add(
            f"estate_count_{table}_insert",
            "AFTER INSERT",
            table,
            d.upsert(one("NEW.estate_id", figure, "1")),
        )
        add(
            f"estate_count_{table}_delete",
            "AFTER DELETE",
            table,
            d.upsert(one("OLD.estate_id", figure, "-1")),
        )
        add(
            f"estate_count_{table}_update",
            "AFTER UPDATE OF estate_id",
            table,
            d.upsert(
                one("OLD.estate_id", figure, "-1")
                + " UNION ALL "
                + one("NEW.estate_id", figure, "1")
            ),
        )

    def unit_in(building: str, n: str) -> str:
        return one("estate_id", "units", n, f" FROM building WHERE id = {building}")

    add(
        "estate_count_unit_insert",
        "AFTER INSERT",
        "unit",
        d.upsert(unit_in("NEW.building_id", "1")),
    )
    add(
        "estate_count_unit_delete",
        "AFTER DELETE",
        "unit",
        d.upsert(unit_in("OLD.building_id", "-1")),
    )
    moved = unit_changes(d, _of_units("OLD.id"))
    add(
        "estate_count_unit_update",
        "AFTER UPDATE OF building_id",
        "unit",
        d.upsert(
            unit_in("OLD.building_id", "-1")
            + " UNION ALL "
            + unit_in("NEW.building_id", "1")
            + " UNION ALL SELECT b.estate_id, 'occupied_units', c.since, -c.n"
            f" FROM ({moved}) AS c JOIN building AS b ON b.id = OLD.building_id"
            " UNION ALL SELECT b.estate_id, 'occupied_units', c.since, c.n"
            f" FROM ({moved}) AS c JOIN building AS b ON b.id = NEW.building_id"
        ),
    )
    its_units = "SELECT id FROM unit WHERE building_id = OLD.id"
    moved = unit_changes(d, _of_units(its_units))
    add(
        "estate_count_building_update",
        "AFTER UPDATE OF estate_id",
        "building",
        d.upsert(
            one("OLD.estate_id", "units", "-count(*)", " FROM unit WHERE building_id = OLD.id")
            + " UNION ALL "
            + one("NEW.estate_id", "units", "count(*)", " FROM unit WHERE building_id = OLD.id")
            + f" UNION ALL SELECT OLD.estate_id, 'occupied_units', since, -n FROM ({moved}) AS c"
            + f" UNION ALL SELECT NEW.estate_id, 'occupied_units', since, n FROM ({moved}) AS c"
        ),
    )
    # An occupancy that overlaps no other of its unit adds (or takes off) its own days;
    # one within another's days changes nothing; only the rest rewrite the unit's stretches.
    for event, row in (("insert", "NEW"), ("delete", "OLD")):
        start = f"coalesce({row}.start_date, {always})"
        end = f"coalesce({row}.end_date, {d.day(OPEN_END)})"
        others = (
            f"SELECT 1 FROM occupancy AS o WHERE o.unit_id = {row}.unit_id AND o.id IS NOT {row}.id"
            f" AND coalesce(o.start_date, {always}) <= coalesce(o.end_date, {d.day(OPEN_END)})"
        )
        overlaps = (
            f"EXISTS ({others} AND coalesce(o.start_date, {always}) <= {end}"
            f" AND coalesce(o.end_date, {d.day(OPEN_END)}) >= {start})"
        )
        within = (
            f"EXISTS ({others} AND coalesce(o.start_date, {always}) <= {start}"
            f" AND coalesce(o.end_date, {d.day(OPEN_END)}) >= {end})"
        )
        rewrite = f"{start} <= {end} AND {overlaps} AND NOT {within}"
        units = f"{row}.unit_id"
        sign = "" if event == "insert" else "-"
        add(
            f"estate_count_occupancy_{event}_before",
            f"BEFORE {event.upper()}",
            "occupancy",
            d.upsert(_occupied(d, _of_units(units), "-")),
            when=rewrite,
        )
        add(
            f"estate_count_occupancy_{event}",
            f"AFTER {event.upper()}",
            "occupancy",
            d.upsert(_occupied(d, _of_units(units))),
            when=rewrite,
        )
        alone = (
            f"SELECT b.estate_id, 'occupied_units' AS figure, {start} AS since, {sign}1 AS n"
            f" FROM unit AS u JOIN building AS b ON b.id = u.building_id WHERE u.id = {units}"
            f" UNION ALL SELECT b.estate_id, 'occupied_units', {d.plus(end, 1)}, -({sign}1)"
            f" FROM unit AS u JOIN building AS b ON b.id = u.building_id WHERE u.id = {units}"
            f" AND {end} < {d.day(OPEN_END)}"
        )
        add(
            f"estate_count_occupancy_{event}_alone",
            f"AFTER {event.upper()}",
            "occupancy",
            d.upsert(alone),
            when=f"{start} <= {end} AND NOT {overlaps}",
        )
    of = "UPDATE OF unit_id, start_date, end_date"
    units = "OLD.unit_id, NEW.unit_id"
    add(
        "estate_count_occupancy_update_before",
        f"BEFORE {of}",
        "occupancy",
        d.upsert(_occupied(d, _of_units(units), "-")),
    )
    add(
        "estate_count_occupancy_update",
        f"AFTER {of}",
        "occupancy",
        d.upsert(_occupied(d, _of_units(units))),
    )
    return triggers


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


# Trigger name → (table, SQL), as migration 0012 writes them: the backup check accepts
# these word for word in an SQLite payload.
SQLITE_TRIGGERS = _sqlite_triggers()
PG_TRIGGERS = _pg_statements()
