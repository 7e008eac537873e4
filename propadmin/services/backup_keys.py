"""The field-encryption keys and the blind-index key, as a backup sees them.

The keys are never in a backup. The manifest records a fingerprint of each: the first 16
hex digits of HMAC-SHA256(key, "propadmin-backup-key-fingerprint"), which tells whether
two keys are the same without revealing either. After a restore, a sample of every
encrypted column is decrypted with the keys configured here, and where a ``<column>_index``
blind index sits beside it, the index of the decrypted value is checked too.

Backups are signed (backup_format.py) with HMAC(blind_index_key,
"propadmin-backup-signature-v1"): the blind-index key stays the same for the life of an
installation (changing it would need every index rebuilt), while field-encryption keys
rotate, so a backup stays restorable after a rotation.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..crypto import FieldCrypto, TamperedValue
from .keys import encrypted_columns

_FINGERPRINT_MESSAGE = b"propadmin-backup-key-fingerprint"
_SIGNATURE_CONTEXT = b"propadmin-backup-signature-v1"
SAMPLE_PER_COLUMN = 200


def fingerprint(key: str) -> str:
    return hmac.new(key.encode(), _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def signing_key(index_key: str) -> bytes:
    """The key backups are signed with, derived from the blind-index key."""
    return hmac.new(index_key.encode(), _SIGNATURE_CONTEXT, hashlib.sha256).digest()


def key_fingerprints(fernet_keys: list[str], index_key: str) -> dict:
    """What the manifest records about the keys (never the keys)."""
    return {
        "field_encryption": [fingerprint(k) for k in fernet_keys],
        "blind_index": fingerprint(index_key),
    }


def configured_keys(config) -> tuple[list[str], str]:
    """The Fernet keys and blind-index key of the app config, as the factory reads them."""
    keys = config["FIELD_ENCRYPTION_KEYS"]
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    return list(keys), config["BLIND_INDEX_KEY"]


@dataclass
class KeyCheck:
    """What the keys at hand made of the restored data."""

    values: int = 0  # encrypted values tried
    unreadable: int = 0  # of those, how many the keys here cannot decrypt
    indexed: int = 0  # decrypted values with a blind index beside them
    index_mismatches: int = 0  # of those, how many indexes do not match
    columns: list[str] = field(default_factory=list)
    fingerprints_match: bool = True  # the backup's encrypting key is among ours, same index key

    @property
    def ok(self) -> bool:
        return not self.unreadable and not self.index_mismatches


def compare_fingerprints(recorded: dict, here: dict) -> bool:
    """Whether the keys here can be expected to read the backup: the key that encrypted
    (the backup's first) is among ours, and the blind-index key is the same."""
    backup_keys = recorded.get("field_encryption") or []
    return (
        bool(backup_keys)
        and backup_keys[0] in here["field_encryption"]
        and (recorded.get("blind_index") == here["blind_index"])
    )


def check_keys(conn: Connection, crypto: FieldCrypto, sample: int = SAMPLE_PER_COLUMN) -> KeyCheck:
    """Decrypt up to ``sample`` values of every encrypted column the database has."""
    check = KeyCheck()
    inspector = sa.inspect(conn)
    present = {
        name: {col["name"] for col in inspector.get_columns(name)}
        for name in inspector.get_table_names()
    }
    for table_name, column_name in encrypted_columns():
        if column_name not in present.get(table_name, ()):
            continue  # an older schema without this column
        index_column = f"{column_name}_index"
        has_index = index_column in present[table_name]
        raw = sa.table(table_name, sa.column(column_name), sa.column(index_column))
        wanted = [raw.c[column_name], raw.c[index_column] if has_index else sa.null()]
        rows = conn.execute(
            sa.select(*wanted).where(raw.c[column_name].is_not(None)).limit(sample)
        ).all()
        if rows:
            check.columns.append(f"{table_name}.{column_name}")
        for token, index in rows:
            check.values += 1
            try:
                plain = crypto.decrypt(token)
            except TamperedValue:
                check.unreadable += 1
                continue
            if has_index and index is not None:
                check.indexed += 1
                if crypto.blind_index(column_name, plain) != index:
                    check.index_mismatches += 1
    return check
