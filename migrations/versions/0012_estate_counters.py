"""estate counters

Revision ID: 0012_estate_counters
Revises: 0011_search_indexes
Create Date: 2026-11-29 11:20:00

The staff home's per-estate counts (issue 12): ``estate_count`` holds how residents,
units, vehicles and occupied units change from a day on (models/estate_counts.py), kept by
triggers on resident, vehicle, unit, building and occupancy, and filled from the rows
already there. The SQL is copied here as it was written, so this migration does not
change when the model file does.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_estate_counters'
down_revision = '0011_search_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'estate_count',
        sa.Column('estate_id', sa.Integer(), nullable=False),
        sa.Column('figure', sa.String(length=16), nullable=False),
        sa.Column('since', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['estate_id'], ['estate.id'],
            name=op.f('fk_estate_count_estate_id_estate'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('estate_id', 'figure', 'since', name=op.f('pk_estate_count')),
    )
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for statement in PG_BACKFILL if postgresql else SQLITE_BACKFILL:
        op.execute(statement)
    if postgresql:
        for _table, function, trigger in PG_TRIGGERS.values():
            op.execute(function)
            op.execute(trigger)
    else:
        for _table, trigger in SQLITE_TRIGGERS.values():
            op.execute(trigger)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name, (table, _function, _trigger) in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('estate_count')


# Trigger name -> (table, SQL): word for word what models/estate_count_sql.py holds
# when this migration was written (the backup check compares SQLite's copies).
SQLITE_TRIGGERS = {
    'estate_count_resident_insert': ('resident', """CREATE TRIGGER estate_count_resident_insert AFTER INSERT ON resident
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT NEW.estate_id AS estate_id, 'residents' AS figure, '0001-01-01' AS since, 1 AS n) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_resident_delete': ('resident', """CREATE TRIGGER estate_count_resident_delete AFTER DELETE ON resident
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT OLD.estate_id AS estate_id, 'residents' AS figure, '0001-01-01' AS since, -1 AS n) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_resident_update': ('resident', """CREATE TRIGGER estate_count_resident_update AFTER UPDATE OF estate_id ON resident
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT OLD.estate_id AS estate_id, 'residents' AS figure, '0001-01-01' AS since, -1 AS n UNION ALL SELECT NEW.estate_id AS estate_id, 'residents' AS figure, '0001-01-01' AS since, 1 AS n) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_vehicle_insert': ('vehicle', """CREATE TRIGGER estate_count_vehicle_insert AFTER INSERT ON vehicle
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT NEW.estate_id AS estate_id, 'vehicles' AS figure, '0001-01-01' AS since, 1 AS n) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_vehicle_delete': ('vehicle', """CREATE TRIGGER estate_count_vehicle_delete AFTER DELETE ON vehicle
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT OLD.estate_id AS estate_id, 'vehicles' AS figure, '0001-01-01' AS since, -1 AS n) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_vehicle_update': ('vehicle', """CREATE TRIGGER estate_count_vehicle_update AFTER UPDATE OF estate_id ON vehicle
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT OLD.estate_id AS estate_id, 'vehicles' AS figure, '0001-01-01' AS since, -1 AS n UNION ALL SELECT NEW.estate_id AS estate_id, 'vehicles' AS figure, '0001-01-01' AS since, 1 AS n) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_unit_insert': ('unit', """CREATE TRIGGER estate_count_unit_insert AFTER INSERT ON unit
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id AS estate_id, 'units' AS figure, '0001-01-01' AS since, 1 AS n FROM building WHERE id = NEW.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_unit_delete': ('unit', """CREATE TRIGGER estate_count_unit_delete AFTER DELETE ON unit
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id AS estate_id, 'units' AS figure, '0001-01-01' AS since, -1 AS n FROM building WHERE id = OLD.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_unit_update': ('unit', """CREATE TRIGGER estate_count_unit_update AFTER UPDATE OF building_id ON unit
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id AS estate_id, 'units' AS figure, '0001-01-01' AS since, -1 AS n FROM building WHERE id = OLD.building_id UNION ALL SELECT estate_id AS estate_id, 'units' AS figure, '0001-01-01' AS since, 1 AS n FROM building WHERE id = NEW.building_id UNION ALL SELECT b.estate_id, 'occupied_units', c.since, -c.n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (OLD.id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN building AS b ON b.id = OLD.building_id UNION ALL SELECT b.estate_id, 'occupied_units', c.since, c.n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (OLD.id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN building AS b ON b.id = NEW.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_building_update': ('building', """CREATE TRIGGER estate_count_building_update AFTER UPDATE OF estate_id ON building
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT OLD.estate_id AS estate_id, 'units' AS figure, '0001-01-01' AS since, -count(*) AS n FROM unit WHERE building_id = OLD.id UNION ALL SELECT NEW.estate_id AS estate_id, 'units' AS figure, '0001-01-01' AS since, count(*) AS n FROM unit WHERE building_id = OLD.id UNION ALL SELECT OLD.estate_id, 'occupied_units', since, -n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT id FROM unit WHERE building_id = OLD.id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c UNION ALL SELECT NEW.estate_id, 'occupied_units', since, n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT id FROM unit WHERE building_id = OLD.id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_insert_before': ('occupancy', """CREATE TRIGGER estate_count_occupancy_insert_before BEFORE INSERT ON occupancy
WHEN coalesce(NEW.start_date, '0001-01-01') <= coalesce(NEW.end_date, '9999-12-31') AND EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = NEW.unit_id AND o.id IS NOT NEW.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(NEW.end_date, '9999-12-31') AND coalesce(o.end_date, '9999-12-31') >= coalesce(NEW.start_date, '0001-01-01')) AND NOT EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = NEW.unit_id AND o.id IS NOT NEW.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(NEW.start_date, '0001-01-01') AND coalesce(o.end_date, '9999-12-31') >= coalesce(NEW.end_date, '9999-12-31'))
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, -c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (NEW.unit_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_insert': ('occupancy', """CREATE TRIGGER estate_count_occupancy_insert AFTER INSERT ON occupancy
WHEN coalesce(NEW.start_date, '0001-01-01') <= coalesce(NEW.end_date, '9999-12-31') AND EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = NEW.unit_id AND o.id IS NOT NEW.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(NEW.end_date, '9999-12-31') AND coalesce(o.end_date, '9999-12-31') >= coalesce(NEW.start_date, '0001-01-01')) AND NOT EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = NEW.unit_id AND o.id IS NOT NEW.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(NEW.start_date, '0001-01-01') AND coalesce(o.end_date, '9999-12-31') >= coalesce(NEW.end_date, '9999-12-31'))
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (NEW.unit_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_insert_alone': ('occupancy', """CREATE TRIGGER estate_count_occupancy_insert_alone AFTER INSERT ON occupancy
WHEN coalesce(NEW.start_date, '0001-01-01') <= coalesce(NEW.end_date, '9999-12-31') AND NOT EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = NEW.unit_id AND o.id IS NOT NEW.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(NEW.end_date, '9999-12-31') AND coalesce(o.end_date, '9999-12-31') >= coalesce(NEW.start_date, '0001-01-01'))
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, coalesce(NEW.start_date, '0001-01-01') AS since, 1 AS n FROM unit AS u JOIN building AS b ON b.id = u.building_id WHERE u.id = NEW.unit_id UNION ALL SELECT b.estate_id, 'occupied_units', date(coalesce(NEW.end_date, '9999-12-31'), '+1 day'), -(1) FROM unit AS u JOIN building AS b ON b.id = u.building_id WHERE u.id = NEW.unit_id AND coalesce(NEW.end_date, '9999-12-31') < '9999-12-31') AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_delete_before': ('occupancy', """CREATE TRIGGER estate_count_occupancy_delete_before BEFORE DELETE ON occupancy
WHEN coalesce(OLD.start_date, '0001-01-01') <= coalesce(OLD.end_date, '9999-12-31') AND EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = OLD.unit_id AND o.id IS NOT OLD.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(OLD.end_date, '9999-12-31') AND coalesce(o.end_date, '9999-12-31') >= coalesce(OLD.start_date, '0001-01-01')) AND NOT EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = OLD.unit_id AND o.id IS NOT OLD.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(OLD.start_date, '0001-01-01') AND coalesce(o.end_date, '9999-12-31') >= coalesce(OLD.end_date, '9999-12-31'))
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, -c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (OLD.unit_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_delete': ('occupancy', """CREATE TRIGGER estate_count_occupancy_delete AFTER DELETE ON occupancy
WHEN coalesce(OLD.start_date, '0001-01-01') <= coalesce(OLD.end_date, '9999-12-31') AND EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = OLD.unit_id AND o.id IS NOT OLD.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(OLD.end_date, '9999-12-31') AND coalesce(o.end_date, '9999-12-31') >= coalesce(OLD.start_date, '0001-01-01')) AND NOT EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = OLD.unit_id AND o.id IS NOT OLD.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(OLD.start_date, '0001-01-01') AND coalesce(o.end_date, '9999-12-31') >= coalesce(OLD.end_date, '9999-12-31'))
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (OLD.unit_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_delete_alone': ('occupancy', """CREATE TRIGGER estate_count_occupancy_delete_alone AFTER DELETE ON occupancy
WHEN coalesce(OLD.start_date, '0001-01-01') <= coalesce(OLD.end_date, '9999-12-31') AND NOT EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = OLD.unit_id AND o.id IS NOT OLD.id AND coalesce(o.start_date, '0001-01-01') <= coalesce(o.end_date, '9999-12-31') AND coalesce(o.start_date, '0001-01-01') <= coalesce(OLD.end_date, '9999-12-31') AND coalesce(o.end_date, '9999-12-31') >= coalesce(OLD.start_date, '0001-01-01'))
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, coalesce(OLD.start_date, '0001-01-01') AS since, -1 AS n FROM unit AS u JOIN building AS b ON b.id = u.building_id WHERE u.id = OLD.unit_id UNION ALL SELECT b.estate_id, 'occupied_units', date(coalesce(OLD.end_date, '9999-12-31'), '+1 day'), -(-1) FROM unit AS u JOIN building AS b ON b.id = u.building_id WHERE u.id = OLD.unit_id AND coalesce(OLD.end_date, '9999-12-31') < '9999-12-31') AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_update_before': ('occupancy', """CREATE TRIGGER estate_count_occupancy_update_before BEFORE UPDATE OF unit_id, start_date, end_date ON occupancy
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, -c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (OLD.unit_id, NEW.unit_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
    'estate_count_occupancy_update': ('occupancy', """CREATE TRIGGER estate_count_occupancy_update AFTER UPDATE OF unit_id, start_date, end_date ON occupancy
BEGIN
    INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (OLD.unit_id, NEW.unit_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n;
END"""),
}

# Trigger name -> (table, CREATE FUNCTION, CREATE TRIGGER).
PG_TRIGGERS = {
    'estate_count_resident_insert': (
        'resident',
        """CREATE FUNCTION estate_count_resident_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'residents' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM new_rows GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_resident_insert AFTER INSERT ON resident REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_resident_insert()""",
    ),
    'estate_count_resident_delete': (
        'resident',
        """CREATE FUNCTION estate_count_resident_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'residents' AS figure, DATE '0001-01-01' AS since, -count(*) AS n FROM old_rows GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_resident_delete AFTER DELETE ON resident REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_resident_delete()""",
    ),
    'estate_count_resident_update': (
        'resident',
        """CREATE FUNCTION estate_count_resident_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'residents' AS figure, DATE '0001-01-01' AS since, -count(*) AS n FROM old_rows GROUP BY estate_id UNION ALL SELECT estate_id, 'residents' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM new_rows GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_resident_update AFTER UPDATE ON resident REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_resident_update()""",
    ),
    'estate_count_vehicle_insert': (
        'vehicle',
        """CREATE FUNCTION estate_count_vehicle_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'vehicles' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM new_rows GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_vehicle_insert AFTER INSERT ON vehicle REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_vehicle_insert()""",
    ),
    'estate_count_vehicle_delete': (
        'vehicle',
        """CREATE FUNCTION estate_count_vehicle_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'vehicles' AS figure, DATE '0001-01-01' AS since, -count(*) AS n FROM old_rows GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_vehicle_delete AFTER DELETE ON vehicle REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_vehicle_delete()""",
    ),
    'estate_count_vehicle_update': (
        'vehicle',
        """CREATE FUNCTION estate_count_vehicle_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'vehicles' AS figure, DATE '0001-01-01' AS since, -count(*) AS n FROM old_rows GROUP BY estate_id UNION ALL SELECT estate_id, 'vehicles' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM new_rows GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_vehicle_update AFTER UPDATE ON vehicle REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_vehicle_update()""",
    ),
    'estate_count_unit_insert': (
        'unit',
        """CREATE FUNCTION estate_count_unit_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'units' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM new_rows AS r JOIN building AS b ON b.id = r.building_id GROUP BY b.estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_unit_insert AFTER INSERT ON unit REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_unit_insert()""",
    ),
    'estate_count_unit_delete': (
        'unit',
        """CREATE FUNCTION estate_count_unit_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'units' AS figure, DATE '0001-01-01' AS since, -count(*) AS n FROM old_rows AS r JOIN building AS b ON b.id = r.building_id GROUP BY b.estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_unit_delete AFTER DELETE ON unit REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_unit_delete()""",
    ),
    'estate_count_unit_update': (
        'unit',
        """CREATE FUNCTION estate_count_unit_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (WITH moved AS (SELECT o.id, o.building_id AS old_building, n.building_id AS new_building FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE o.building_id <> n.building_id) SELECT b.estate_id, 'units' AS figure, DATE '0001-01-01' AS since, -count(*) AS n FROM moved AS r JOIN building AS b ON b.id = r.old_building GROUP BY b.estate_id UNION ALL SELECT b.estate_id, 'units' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM moved AS r JOIN building AS b ON b.id = r.new_building GROUP BY b.estate_id UNION ALL SELECT b.estate_id, 'occupied_units', c.since, -c.n FROM moved AS m JOIN building AS b ON b.id = m.old_building JOIN (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT id FROM moved)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c ON c.unit_id = m.id UNION ALL SELECT b.estate_id, 'occupied_units', c.since, c.n FROM moved AS m JOIN building AS b ON b.id = m.new_building JOIN (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT id FROM moved)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c ON c.unit_id = m.id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_unit_update AFTER UPDATE ON unit REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_unit_update()""",
    ),
    'estate_count_building_update': (
        'building',
        """CREATE FUNCTION estate_count_building_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (WITH moved AS (SELECT o.id, o.estate_id AS old_estate, n.estate_id AS new_estate FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE o.estate_id <> n.estate_id) SELECT m.old_estate AS estate_id, 'units' AS figure, DATE '0001-01-01' AS since, -count(*) AS n FROM moved AS m JOIN unit AS u ON u.building_id = m.id GROUP BY m.old_estate UNION ALL SELECT m.old_estate, 'occupied_units', c.since, -c.n FROM moved AS m JOIN unit AS u ON u.building_id = m.id JOIN (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT u.id FROM unit AS u JOIN moved AS m ON m.id = u.building_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c ON c.unit_id = u.id UNION ALL SELECT m.new_estate AS estate_id, 'units' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM moved AS m JOIN unit AS u ON u.building_id = m.id GROUP BY m.new_estate UNION ALL SELECT m.new_estate, 'occupied_units', c.since, c.n FROM moved AS m JOIN unit AS u ON u.building_id = m.id JOIN (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT u.id FROM unit AS u JOIN moved AS m ON m.id = u.building_id)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c ON c.unit_id = u.id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_building_update AFTER UPDATE ON building REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_building_update()""",
    ),
    'estate_count_occupancy_insert': (
        'occupancy',
        """CREATE FUNCTION estate_count_occupancy_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM unit WHERE id IN (SELECT unit_id FROM new_rows) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (WITH fresh AS (SELECT r.unit_id, coalesce(r.start_date, DATE '0001-01-01') AS s, coalesce(r.end_date, DATE '9999-12-31') AS e, EXISTS (SELECT 1 FROM occupancy AS o WHERE o.unit_id = r.unit_id AND o.id <> r.id AND coalesce(o.start_date, DATE '0001-01-01') <= coalesce(o.end_date, DATE '9999-12-31') AND coalesce(o.start_date, DATE '0001-01-01') <= coalesce(r.end_date, DATE '9999-12-31') AND coalesce(o.end_date, DATE '9999-12-31') >= coalesce(r.start_date, DATE '0001-01-01')) AS overlapping FROM new_rows AS r), crowded AS (SELECT unit_id FROM fresh WHERE overlapping) SELECT b.estate_id, 'occupied_units' AS figure, f.s AS since, 1 AS n FROM fresh AS f JOIN unit AS u ON u.id = f.unit_id JOIN building AS b ON b.id = u.building_id WHERE NOT f.overlapping AND f.s <= f.e AND f.unit_id NOT IN (SELECT unit_id FROM crowded) UNION ALL SELECT b.estate_id, 'occupied_units', (f.e + 1), -1 FROM fresh AS f JOIN unit AS u ON u.id = f.unit_id JOIN building AS b ON b.id = u.building_id WHERE NOT f.overlapping AND f.s <= f.e AND f.unit_id NOT IN (SELECT unit_id FROM crowded) AND f.e < DATE '9999-12-31' UNION ALL SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT unit_id FROM crowded)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id UNION ALL SELECT b.estate_id, 'occupied_units' AS figure, c.since, -c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT unit_id FROM crowded) AND id NOT IN (SELECT id FROM new_rows)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_occupancy_insert AFTER INSERT ON occupancy REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_occupancy_insert()""",
    ),
    'estate_count_occupancy_delete': (
        'occupancy',
        """CREATE FUNCTION estate_count_occupancy_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM unit WHERE id IN (SELECT unit_id FROM old_rows) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT unit_id FROM old_rows)) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id UNION ALL SELECT b.estate_id, 'occupied_units' AS figure, c.since, -c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT unit_id FROM old_rows) UNION ALL SELECT unit_id, start_date, end_date FROM old_rows) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_occupancy_delete AFTER DELETE ON occupancy REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_occupancy_delete()""",
    ),
    'estate_count_occupancy_update': (
        'occupancy',
        """CREATE FUNCTION estate_count_occupancy_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM unit WHERE id IN (SELECT unit_id FROM old_rows WHERE id IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date)) UNION SELECT unit_id FROM new_rows WHERE id IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date))) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT unit_id FROM old_rows WHERE id IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date)) UNION SELECT unit_id FROM new_rows WHERE id IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date)))) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id UNION ALL SELECT b.estate_id, 'occupied_units' AS figure, c.since, -c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy WHERE unit_id IN (SELECT unit_id FROM old_rows WHERE id IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date)) UNION SELECT unit_id FROM new_rows WHERE id IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date))) AND id NOT IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date)) UNION ALL SELECT unit_id, start_date, end_date FROM old_rows WHERE id IN (SELECT o.id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE (o.unit_id, o.start_date, o.end_date) IS DISTINCT FROM (n.unit_id, n.start_date, n.end_date))) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$""",
        """CREATE TRIGGER estate_count_occupancy_update AFTER UPDATE ON occupancy REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION estate_count_occupancy_update()""",
    ),
}

SQLITE_BACKFILL = [
    """INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'residents' AS figure, '0001-01-01' AS since, count(*) AS n FROM resident GROUP BY estate_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n""",
    """INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'vehicles' AS figure, '0001-01-01' AS since, count(*) AS n FROM vehicle GROUP BY estate_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n""",
    """INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'units' AS figure, '0001-01-01' AS since, count(*) AS n FROM unit AS u JOIN building AS b ON b.id = u.building_id GROUP BY b.estate_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n""",
    """INSERT INTO estate_count (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE date(i.last_day, '+1 day') END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= date(s, '-1 day') THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, '0001-01-01') AS s, coalesce(end_date, '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    WHERE true GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = n + excluded.n""",
]

PG_BACKFILL = [
    """INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'residents' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM resident GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n""",
    """INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT estate_id, 'vehicles' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM vehicle GROUP BY estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n""",
    """INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'units' AS figure, DATE '0001-01-01' AS since, count(*) AS n FROM unit AS u JOIN building AS b ON b.id = u.building_id GROUP BY b.estate_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n""",
    """INSERT INTO estate_count AS t (estate_id, figure, since, n)
    SELECT estate_id, figure, since, sum(n) FROM (SELECT b.estate_id, 'occupied_units' AS figure, c.since, c.n AS n FROM (SELECT i.unit_id, CASE WHEN k.n = 1 THEN i.first_day ELSE (i.last_day + 1) END AS since, k.n FROM (SELECT unit_id, min(s) AS first_day, max(e) AS last_day FROM (SELECT unit_id, s, e, sum(fresh) OVER (PARTITION BY unit_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM (SELECT unit_id, s, e, CASE WHEN max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= (s + -1) THEN 0 ELSE 1 END AS fresh FROM (SELECT unit_id, coalesce(start_date, DATE '0001-01-01') AS s, coalesce(end_date, DATE '9999-12-31') AS e FROM (SELECT unit_id, start_date, end_date FROM occupancy) AS o WHERE start_date IS NULL OR end_date IS NULL OR start_date <= end_date) AS spans) AS fresh) AS numbered GROUP BY unit_id, island) AS i CROSS JOIN (SELECT 1 AS n UNION ALL SELECT -1) AS k WHERE k.n = 1 OR i.last_day < DATE '9999-12-31') AS c JOIN unit AS u ON u.id = c.unit_id JOIN building AS b ON b.id = u.building_id) AS delta
    GROUP BY estate_id, figure, since HAVING sum(n) <> 0
    ORDER BY estate_id, figure, since
    ON CONFLICT (estate_id, figure, since) DO UPDATE SET n = t.n + EXCLUDED.n""",
]

