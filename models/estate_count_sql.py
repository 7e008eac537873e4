"""The SQL behind ``estate_count`` (models/estate_counts.py): what both databases share
(a unit's stretches of occupied days, the backfill migration 0012 ran) and SQLite's row
triggers; PostgreSQL's statement triggers are in estate_count_pg.py. Migration 0012 holds
its own copy of the text; the backup check (services/backup_payload.py) accepts exactly
these SQLite triggers."""

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


# Trigger name → (table, SQL), as migration 0012 writes them: the backup check accepts
# these word for word in an SQLite payload.
SQLITE_TRIGGERS = _sqlite_triggers()
