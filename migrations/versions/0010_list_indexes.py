"""list indexes

Revision ID: 0010_list_indexes
Revises: 0009_masked_numbers
Create Date: 2026-11-29 07:40:00

Indexes matching the admin lists' scoped sort orders (issue 12).
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


def downgrade():
    op.drop_index("ix_payment_estate_paid_at", table_name="payment")
    op.create_index("ix_payment_estate_paid_at", "payment", ["estate_id", "paid_at"])
    op.drop_index("ix_resident_user_id", table_name="resident")
    for name, table, _columns in reversed(NEW):
        op.drop_index(name, table_name=table)
