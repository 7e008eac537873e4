"""masked numbers

Revision ID: 0009_masked_numbers
Revises: 0008_notices
Create Date: 2026-11-29 07:40:00

Masked ID-card and mobile numbers kept beside their ciphertext (issue 12), so that lists,
exports and the portal never decrypt. Existing residents' masks are computed here with
the app's field cipher, in batches; a number that cannot be decrypted (tampered, or
under a key no longer configured) gets an empty mask and is counted in the log.
The masks are written out here rather than imported, so the migration stays as it is.
"""
import logging
import re

from alembic import op
import sqlalchemy as sa
from flask import current_app


revision = '0009_masked_numbers'
down_revision = '0008_notices'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
BATCH = 2000
COLUMNS = ('id_number', 'mobile', 'emergency_phone')

resident = sa.table(
    'resident',
    sa.column('id', sa.Integer),
    *(sa.column(name, sa.Text) for name in COLUMNS),
    *(sa.column(f'{name}_masked', sa.String) for name in COLUMNS),
)


def _mask_id_number(value):
    if not value:
        return ''
    if len(value) <= 7:
        return '*' * len(value)
    return value[:3] + '*' * (len(value) - 7) + value[-4:]


def _mask_mobile(value):
    if not value:
        return ''
    digits = re.sub(r'\D', '', value)
    if len(digits) < 7:
        return '*' * len(digits)
    return digits[:3] + '*' * (len(digits) - 7) + digits[-4:]


MASKS = {'id_number': _mask_id_number, 'mobile': _mask_mobile, 'emergency_phone': _mask_mobile}


def upgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(
                sa.Column(f'{name}_masked', sa.String(length=32), server_default='',
                          nullable=False)
            )
    _fill_masks(op.get_bind())


def _fill_masks(conn):
    cipher = current_app.extensions['propadmin.crypto']
    has_number = sa.or_(*(resident.c[name].is_not(None) for name in COLUMNS))
    update = (
        resident.update()
        .where(resident.c.id == sa.bindparam('row_id'))
        .values({f'{name}_masked': sa.bindparam(f'm_{name}') for name in COLUMNS})
    )
    last_id, done, unreadable = 0, 0, []
    while True:
        rows = conn.execute(
            sa.select(resident.c.id, *(resident.c[name] for name in COLUMNS))
            .where(resident.c.id > last_id, has_number)
            .order_by(resident.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        params = []
        for row in rows:
            values = {'row_id': row.id}
            for name in COLUMNS:
                token = getattr(row, name)
                try:
                    plain = cipher.decrypt(token) if token else None
                except ValueError:  # TamperedValue: authentication failed
                    plain = None
                    unreadable.append(row.id)
                values[f'm_{name}'] = MASKS[name](plain)[:32]
            params.append(values)
        conn.execute(update, params)
        done += len(rows)
        last_id = rows[-1].id
    log.info('masked the numbers of %d residents', done)
    if unreadable:
        ids = sorted(set(unreadable))
        log.warning(
            '%d residents have numbers that could not be decrypted (left unmasked, empty); '
            'resident ids: %s%s', len(ids), ', '.join(map(str, ids[:20])),
            ' …' if len(ids) > 20 else '',
        )


def downgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(f'{name}_masked')
