"""Field-encryption key rotation: re-encrypt every stored value under the newest key."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Text, bindparam, column, select, table, update
from sqlalchemy.orm import Session

from models import Base, EncryptedText

from ..crypto import FieldCrypto

log = logging.getLogger(__name__)


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every encrypted column in the schema."""
    return [
        (tbl.name, col.name)
        for tbl in Base.metadata.sorted_tables
        for col in tbl.columns
        if isinstance(col.type, EncryptedText)
    ]


def reencrypt_all(
    session: Session,
    crypto: FieldCrypto,
    *,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rotate every ciphertext to the first key; return how many values were rewritten.

    The values are handled as text (the ciphertext), never decrypted into the ORM; a
    value that fails authentication stops the run with TamperedValue naming nothing
    secret. Commits per batch, so a long run can be resumed by running it again.
    """
    rewritten = 0
    for table_name, column_name in encrypted_columns():
        raw = table(table_name, column("id"), column(column_name, Text))
        last_id = 0
        while True:
            rows = session.execute(
                select(raw.c.id, raw.c[column_name])
                .where(raw.c.id > last_id, raw.c[column_name].is_not(None))
                .order_by(raw.c.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            session.execute(
                update(raw)
                .where(raw.c.id == bindparam("row_id"))
                .values({column_name: bindparam("token")}),
                [{"row_id": row_id, "token": crypto.rotate(token)} for row_id, token in rows],
            )
            session.commit()
            last_id = rows[-1][0]
            rewritten += len(rows)
            if progress:
                progress(len(rows))
        log.info("re-encrypted %s.%s", table_name, column_name)
    return rewritten
