"""Secrets generated into the instance folder on first run (never committed, never in the DB)."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from .crypto import new_fernet_key

FILENAME = "secrets.json"


def load_or_create(instance_path: str) -> dict:
    """Return the instance secrets, creating the file (mode 0600) if it does not exist.

    ``O_EXCL`` makes concurrent first starts (several gunicorn workers) agree on one file.
    """
    path = Path(instance_path) / FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEYS": [new_fernet_key()],
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process may have created it a moment ago and still be writing.
        for _ in range(50):
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                time.sleep(0.05)
        raise RuntimeError(f"{path} is not valid JSON; fix or remove it") from None
    with os.fdopen(fd, "w") as fh:
        json.dump(fresh, fh, indent=2)
    return fresh
