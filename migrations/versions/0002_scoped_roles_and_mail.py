"""roles belong to an estate or to all; mail knows its recipient's account; built-in roles

Revision ID: 0002_scoped_roles
Revises: 0001_initial
Create Date: 2026-11-28 16:30:00

The built-in roles and their default permissions are data every install needs (so that
`db upgrade` then `users create --role admin` works without the demo). They are written
out here as they stand at this revision; a later module that adds permissions grants
them to the built-in roles in a migration of its own.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_scoped_roles'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

BUILTIN_ROLES = {
    'admin': ('物业管理员', [
        'dashboard.view', 'estates.edit', 'property.view', 'property.edit',
        'residents.view', 'residents.edit', 'residents.reveal', 'users.view',
        'users.edit', 'roles.edit', 'audit.view', 'mail.view', 'mail.edit',
    ]),
    'finance': ('财务人员', ['dashboard.view', 'property.view', 'residents.view']),
    'repair': ('维修人员', ['dashboard.view', 'property.view']),
    'owner': ('业主', ['portal.use']),
    'tenant': ('租户', ['portal.use']),
}


def upgrade():
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_role_estate_id'), ['estate_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_role_estate_id_estate'), 'estate', ['estate_id'], ['id'],
            ondelete='CASCADE',
        )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_outbox_message_user_id'), ['user_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_message_user_id_user'), 'user', ['user_id'], ['id'],
            ondelete='SET NULL',
        )

    conn = op.get_bind()
    # Mail queued before this revision: link it to the account with that address.
    conn.execute(sa.text(
        'UPDATE outbox_message SET user_id = '
        '(SELECT "user".id FROM "user" WHERE "user".email = outbox_message.recipient)'
    ))
    role = sa.table(
        'role', sa.column('id', sa.Integer), sa.column('name', sa.String),
        sa.column('label', sa.String), sa.column('description', sa.String),
        sa.column('builtin', sa.Boolean),
    )
    grant = sa.table(
        'role_permission', sa.column('role_id', sa.Integer),
        sa.column('permission', sa.String),
    )
    for name, (label, permissions) in BUILTIN_ROLES.items():
        exists = conn.execute(sa.select(role.c.id).where(role.c.name == name)).scalar()
        if exists is not None:
            continue  # an install seeded before this revision keeps its settings
        conn.execute(role.insert().values(
            name=name, label=label, description='', builtin=True,
        ))
        role_id = conn.execute(sa.select(role.c.id).where(role.c.name == name)).scalar_one()
        conn.execute(grant.insert(), [
            {'role_id': role_id, 'permission': p} for p in permissions
        ])


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_user_id_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_user_id'))
        batch_op.drop_column('user_id')
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_role_estate_id_estate'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_role_estate_id'))
        batch_op.drop_column('estate_id')
