"""exporting the register is a permission of its own (residents.export)

Revision ID: 0003_residents_export
Revises: 0002_scoped_roles
Create Date: 2026-11-28 16:20:00

Until now viewing the register allowed exporting it. The built-in administrator role
gets the new permission; other roles that could export keep doing so only if an
administrator ticks it for them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_residents_export'
down_revision = '0002_scoped_roles'
branch_labels = None
depends_on = None

role = sa.table(
    'role', sa.column('id', sa.Integer), sa.column('name', sa.String),
    sa.column('builtin', sa.Boolean),
)
grant = sa.table(
    'role_permission', sa.column('role_id', sa.Integer), sa.column('permission', sa.String),
)


def upgrade():
    conn = op.get_bind()
    admin = conn.execute(
        sa.select(role.c.id).where(role.c.name == 'admin', role.c.builtin.is_(True))
    ).scalar()
    if admin is None:
        return
    has = conn.execute(
        sa.select(grant.c.role_id).where(
            grant.c.role_id == admin, grant.c.permission == 'residents.export'
        )
    ).first()
    if has is None:
        conn.execute(grant.insert().values(role_id=admin, permission='residents.export'))


def downgrade():
    op.execute(grant.delete().where(grant.c.permission == 'residents.export'))
