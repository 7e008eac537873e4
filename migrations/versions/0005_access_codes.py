"""accounts without e-mail; one-time access codes for activation and office resets

Revision ID: 0005_access_codes
Revises: 0004_outbox_scrub
Create Date: 2026-11-29 10:00:00

Most residents have no e-mail: the address becomes optional. Accounts that had an empty
address get NULL, so the unique constraint keeps holding for real addresses only (NULLs
are distinct on SQLite and PostgreSQL).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_access_codes'
down_revision = '0004_outbox_scrub'
branch_labels = None
depends_on = None

user = sa.table('user', sa.column('id', sa.Integer), sa.column('email', sa.String))


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
    op.execute(user.update().where(user.c.email == '').values(email=None))

    op.create_table(
        'access_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column(
            'purpose',
            sa.Enum('activate', 'reset', name='accesspurpose', native_enum=False,
                    create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['user.id'],
            name=op.f('fk_access_code_created_by_id_user'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user.id'], name=op.f('fk_access_code_user_id_user'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_code')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_access_code_secret_hash')),
    )
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_code_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('access_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_code_user_id'))
    op.drop_table('access_code')
    # Accounts without an address cannot keep it empty under NOT NULL: they get a
    # placeholder that is unique and clearly not deliverable.
    op.execute(
        user.update().where(user.c.email.is_(None))
        .values(email=sa.literal('no-mail-') + sa.cast(user.c.id, sa.String) + '@invalid')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
