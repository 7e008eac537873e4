"""outbox messages list the secrets to remove from their bodies once sent

Revision ID: 0004_outbox_scrub
Revises: 0003_residents_export
Create Date: 2026-11-28 17:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_outbox_scrub'
down_revision = '0003_residents_export'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scrub', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('scrub')
