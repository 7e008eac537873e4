"""masked numbers

Revision ID: 0009_masked_numbers
Revises: 0008_notices
Create Date: 2026-11-29 07:40:00

Masked ID-card and mobile numbers kept beside their ciphertext (issue 12).
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_masked_numbers'
down_revision = '0008_notices'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
