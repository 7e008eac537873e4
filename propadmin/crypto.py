"""Field encryption (MultiFernet: authenticated, rotatable) and keyed blind indexes.

Keys come from the instance folder or PROPADMIN_FIELD_ENCRYPTION_KEYS /
PROPADMIN_BLIND_INDEX_KEY, never from the database. The first Fernet key encrypts;
all of them decrypt, so a new key can be put in front and old rows re-encrypted later.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# The masks live with the models, which keep them beside the ciphertext.
from models.masks import mask_id_number, mask_mobile

__all__ = ["FieldCrypto", "TamperedValue", "mask_id_number", "mask_mobile", "new_fernet_key"]


class TamperedValue(ValueError):
    """A stored ciphertext failed authentication: changed, truncated or under an unknown key."""


class FieldCrypto:
    def __init__(self, fernet_keys: list[str], index_key: str) -> None:
        if not fernet_keys:
            raise ValueError("at least one field encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in fernet_keys])
        self._index_key = index_key.encode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise TamperedValue("stored value failed authentication") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise TamperedValue("stored value failed authentication") from exc

    def blind_index(self, kind: str, normalized: str) -> str:
        """Deterministic keyed digest for exact lookup; ``kind`` separates domains."""
        msg = f"{kind}\x00{normalized}".encode()
        return hmac.new(self._index_key, msg, hashlib.sha256).hexdigest()


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()
