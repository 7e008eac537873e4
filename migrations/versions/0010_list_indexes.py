"""list indexes

Revision ID: 0010_list_indexes
Revises: 0009_masked_numbers
Create Date: 2026-11-29 07:40:00

Indexes matching the admin lists' scoped sort orders (issue 12). Also the dashboard's
maintained counter of open bills per estate and due date (models/figures.py), kept by
triggers on ``bill`` and filled from the bills already there.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_list_indexes'
down_revision = '0009_masked_numbers'
branch_labels = None
depends_on = None


def upgrade():
    _upgrade_bill_due_total()


def downgrade():
    _downgrade_bill_due_total()


# -- the dashboard's counter of open bills (models/figures.py) --------------------------------
OPEN = "('unpaid', 'partial')"
OWED = "amount - discount + late_fee - paid"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER bill_due_total_insert AFTER INSERT ON bill
    WHEN NEW.status IN {OPEN}
    BEGIN
        INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)
        VALUES (NEW.estate_id, NEW.due_date, 1,
                NEW.amount - NEW.discount + NEW.late_fee - NEW.paid)
        ON CONFLICT (estate_id, due_date) DO UPDATE SET
            open_bills = open_bills + 1, owed = owed + excluded.owed;
    END""",
    f"""CREATE TRIGGER bill_due_total_delete AFTER DELETE ON bill
    WHEN OLD.status IN {OPEN}
    BEGIN
        UPDATE bill_due_total SET open_bills = open_bills - 1,
            owed = owed - (OLD.amount - OLD.discount + OLD.late_fee - OLD.paid)
        WHERE estate_id = OLD.estate_id AND due_date = OLD.due_date;
    END""",
    f"""CREATE TRIGGER bill_due_total_update
    AFTER UPDATE OF estate_id, due_date, status, amount, discount, late_fee, paid ON bill
    BEGIN
        UPDATE bill_due_total SET open_bills = open_bills - 1,
            owed = owed - (OLD.amount - OLD.discount + OLD.late_fee - OLD.paid)
        WHERE OLD.status IN {OPEN}
            AND estate_id = OLD.estate_id AND due_date = OLD.due_date;
        INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)
        SELECT NEW.estate_id, NEW.due_date, 1,
               NEW.amount - NEW.discount + NEW.late_fee - NEW.paid
        WHERE NEW.status IN {OPEN}
        ON CONFLICT (estate_id, due_date) DO UPDATE SET
            open_bills = open_bills + 1, owed = owed + excluded.owed;
    END""",
]


def _pg_delta(rows: str, sign: str) -> str:
    return (
        f"SELECT estate_id, due_date, {sign}count(*) AS n, {sign}sum({OWED}) AS owed"
        f" FROM {rows} WHERE status IN {OPEN} GROUP BY estate_id, due_date"
    )


# Statement-level triggers over the transition tables: a set-based write of many bills
# (generation, late fees) adds one grouped row per estate and due date, in key order.
PG_FUNCTION = f"""CREATE FUNCTION bill_due_total_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bill_due_total AS t (estate_id, due_date, open_bills, owed)
    SELECT estate_id, due_date, sum(n), sum(owed) FROM (
        {{rows}}
    ) AS delta GROUP BY estate_id, due_date
    HAVING sum(n) <> 0 OR sum(owed) <> 0
    ORDER BY estate_id, due_date
    ON CONFLICT (estate_id, due_date) DO UPDATE SET
        open_bills = t.open_bills + EXCLUDED.open_bills, owed = t.owed + EXCLUDED.owed;
    RETURN NULL;
END $$"""

PG_TRIGGERS = {
    "insert": ("INSERT", "NEW TABLE AS new_rows", _pg_delta("new_rows", "")),
    "delete": ("DELETE", "OLD TABLE AS old_rows", _pg_delta("old_rows", "-")),
    "update": (
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _pg_delta("old_rows", "-") + " UNION ALL " + _pg_delta("new_rows", ""),
    ),
}


def _upgrade_bill_due_total():
    op.create_table(
        'bill_due_total',
        sa.Column('estate_id', sa.Integer(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('open_bills', sa.Integer(), nullable=False),
        sa.Column('owed', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['estate_id'], ['estate.id'],
            name=op.f('fk_bill_due_total_estate_id_estate'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('estate_id', 'due_date', name=op.f('pk_bill_due_total')),
    )
    op.execute(
        f"INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)"
        f" SELECT estate_id, due_date, count(*), sum({OWED}) FROM bill"
        f" WHERE status IN {OPEN} GROUP BY estate_id, due_date"
    )
    if op.get_bind().dialect.name == 'postgresql':
        for name, (event, tables, rows) in PG_TRIGGERS.items():
            op.execute(PG_FUNCTION.replace("bill_due_total_apply", f"bill_due_total_{name}")
                       .replace("{rows}", rows))
            op.execute(
                f"CREATE TRIGGER bill_due_total_{name} AFTER {event} ON bill"
                f" REFERENCING {tables} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION bill_due_total_{name}()"
            )
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def _downgrade_bill_due_total():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name in PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS bill_due_total_{name}" + (" ON bill" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS bill_due_total_{name}()")
    op.drop_table('bill_due_total')
