"""search indexes

Revision ID: 0011_search_indexes
Revises: 0010_list_indexes
Create Date: 2026-11-29 07:40:00

Indexes for each kind of search term (issue 12): a name from its start (PostgreSQL's
text_pattern_ops answers LIKE 'prefix%' under any collation; SQLite's range uses the
same columns), and a full ID-card number in every estate; a bill's payer from the start of the name. Units, buildings,
plates and mobile numbers are indexed already.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_search_indexes'
down_revision = '0010_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_resident_estate_name_prefix',
        'resident',
        ['estate_id', 'name'],
        postgresql_ops={'name': 'text_pattern_ops'},
    )
    op.create_index('ix_resident_id_number_index', 'resident', ['id_number_index'])
    op.create_index(
        'ix_bill_payer_name_prefix',
        'bill',
        ['payer_name'],
        postgresql_ops={'payer_name': 'text_pattern_ops'},
    )
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    ).first():
        # SQLite takes an index it has no statistics for as very selective: beside the
        # others' figures it would walk the new name index through the whole estate.
        op.execute('ANALYZE resident')
        op.execute('ANALYZE bill')


def downgrade():
    op.drop_index('ix_bill_payer_name_prefix', table_name='bill')
    op.drop_index('ix_resident_id_number_index', table_name='resident')
    op.drop_index('ix_resident_estate_name_prefix', table_name='resident')
