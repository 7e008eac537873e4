"""list indexes

Revision ID: 0010_list_indexes
Revises: 0009_masked_numbers
Create Date: 2026-11-29 07:40:00

Indexes matching the admin lists' scoped sort orders (issue 12). Also the dashboard's
maintained counter of open bills per estate and due date (models/figures.py), kept by
triggers on ``bill`` and filled from the bills already there.
"""
import sqlalchemy as sa
from alembic import op


revision = "0010_list_indexes"
down_revision = "0009_masked_numbers"
branch_labels = None
depends_on = None


# Each list's scope and default order, then the primary key (views/admin/listing.py makes
# the order total): the page is read from the index, not sorted from the whole table.
NEW = [
    ("ix_resident_estate_name", "resident", ["estate_id", "name", "id"]),
    ("ix_bill_reminder_estate_sent", "bill_reminder", ["estate_id", "sent_on", "id"]),
    ("ix_unit_charge_estate_created", "unit_charge", ["estate_id", "created_at", "id"]),
    # A superuser's lists span every estate: the same order without the scope.
    ("ix_resident_name_id", "resident", ["name", "id"]),
    ("ix_bill_period", "bill", ["period", "id"]),
    ("ix_payment_paid_at", "payment", ["paid_at", "id"]),
    # The dashboard: occupied units (a current occupancy per unit), leases ending soon.
    ("ix_occupancy_unit_dates", "occupancy", ["unit_id", "start_date", "end_date"]),
    ("ix_occupancy_end_date", "occupancy", ["end_date"]),
]


def upgrade():
    for name, table, columns in NEW:
        op.create_index(name, table, columns)
    # Each request finds the account's resident record by user_id; most residents have none,
    # and SQLite, counting the NULLs in the unique index's statistics, scanned the table.
    op.create_index(
        "ix_resident_user_id",
        "resident",
        ["user_id"],
        sqlite_where=sa.text("user_id IS NOT NULL"),
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )
    # The payment list sorts by (paid_at, id) within an estate.
    op.drop_index("ix_payment_estate_paid_at", table_name="payment")
    op.create_index("ix_payment_estate_paid_at", "payment", ["estate_id", "paid_at", "id"])
    _upgrade_bill_due_total()


def downgrade():
    _downgrade_bill_due_total()
    op.drop_index("ix_payment_estate_paid_at", table_name="payment")
    op.create_index("ix_payment_estate_paid_at", "payment", ["estate_id", "paid_at"])
    op.drop_index("ix_resident_user_id", table_name="resident")
    for name, table, _columns in reversed(NEW):
        op.drop_index(name, table_name=table)


# -- the dashboard's counter of open bills (models/figures.py) --------------------------
# The counter's SQL, copied from models/figures.py as it was when this migration was
# written (the backup check compares an SQLite payload's triggers with the model's).
OPEN = "('unpaid', 'partial')"
OWED = 'amount - discount + late_fee - paid'

SQLITE_TRIGGERS = {
    'bill_due_total_insert': """CREATE TRIGGER bill_due_total_insert AFTER INSERT ON bill
    WHEN NEW.status IN ('unpaid', 'partial')
    BEGIN
        INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)
        VALUES (NEW.estate_id, NEW.due_date, 1,
                NEW.amount - NEW.discount + NEW.late_fee - NEW.paid)
        ON CONFLICT (estate_id, due_date) DO UPDATE SET
            open_bills = open_bills + 1, owed = owed + excluded.owed;
    END""",
    'bill_due_total_delete': """CREATE TRIGGER bill_due_total_delete AFTER DELETE ON bill
    WHEN OLD.status IN ('unpaid', 'partial')
    BEGIN
        UPDATE bill_due_total SET open_bills = open_bills - 1,
            owed = owed - (OLD.amount - OLD.discount + OLD.late_fee - OLD.paid)
        WHERE estate_id = OLD.estate_id AND due_date = OLD.due_date;
    END""",
    'bill_due_total_update': """CREATE TRIGGER bill_due_total_update
    AFTER UPDATE OF estate_id, due_date, status, amount, discount, late_fee, paid ON bill
    BEGIN
        UPDATE bill_due_total SET open_bills = open_bills - 1,
            owed = owed - (OLD.amount - OLD.discount + OLD.late_fee - OLD.paid)
        WHERE OLD.status IN ('unpaid', 'partial')
            AND estate_id = OLD.estate_id AND due_date = OLD.due_date;
        INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)
        SELECT NEW.estate_id, NEW.due_date, 1,
               NEW.amount - NEW.discount + NEW.late_fee - NEW.paid
        WHERE NEW.status IN ('unpaid', 'partial')
        ON CONFLICT (estate_id, due_date) DO UPDATE SET
            open_bills = open_bills + 1, owed = owed + excluded.owed;
    END""",
}

PG_FUNCTION = """CREATE FUNCTION bill_due_total_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bill_due_total AS t (estate_id, due_date, open_bills, owed)
    SELECT estate_id, due_date, sum(n), sum(owed) FROM (
        {rows}
    ) AS delta GROUP BY estate_id, due_date
    HAVING sum(n) <> 0 OR sum(owed) <> 0
    ORDER BY estate_id, due_date
    ON CONFLICT (estate_id, due_date) DO UPDATE SET
        open_bills = t.open_bills + EXCLUDED.open_bills, owed = t.owed + EXCLUDED.owed;
    RETURN NULL;
END $$"""

PG_TRIGGERS = {
    'insert': (
        'INSERT',
        'NEW TABLE AS new_rows',
        "SELECT estate_id, due_date, count(*) AS n, sum(amount - discount + late_fee - paid) AS owed FROM new_rows WHERE status IN ('unpaid', 'partial') GROUP BY estate_id, due_date",
    ),
    'delete': (
        'DELETE',
        'OLD TABLE AS old_rows',
        "SELECT estate_id, due_date, -count(*) AS n, -sum(amount - discount + late_fee - paid) AS owed FROM old_rows WHERE status IN ('unpaid', 'partial') GROUP BY estate_id, due_date",
    ),
    'update': (
        'UPDATE',
        'OLD TABLE AS old_rows NEW TABLE AS new_rows',
        "SELECT estate_id, due_date, -count(*) AS n, -sum(amount - discount + late_fee - paid) AS owed FROM old_rows WHERE status IN ('unpaid', 'partial') GROUP BY estate_id, due_date UNION ALL SELECT estate_id, due_date, count(*) AS n, sum(amount - discount + late_fee - paid) AS owed FROM new_rows WHERE status IN ('unpaid', 'partial') GROUP BY estate_id, due_date",
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
    fill = "INSERT INTO bill_due_total (estate_id, due_date, open_bills, owed)"
    fill += f" SELECT estate_id, due_date, count(*), sum({OWED}) FROM bill"  # noqa: S608
    op.execute(fill + f" WHERE status IN {OPEN} GROUP BY estate_id, due_date")
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
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def _downgrade_bill_due_total():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name in PG_TRIGGERS:
        on_bill = " ON bill" if postgresql else ""
        op.execute(f"DROP TRIGGER IF EXISTS bill_due_total_{name}{on_bill}")
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS bill_due_total_{name}()")
    op.drop_table('bill_due_total')
