"""Masked forms of the encrypted numbers, kept in plain columns beside their ciphertext.

A mask holds no more than every page already shows (``110***********1234``,
``138****1234``), so lists, exports, the portal and mail read the mask column and never
decrypt; only a reveal (audited) or a key rotation reads the ciphertext.

The mask is written in one place per column, :func:`keep_masked`:

- an ORM ``set`` event: whoever sets ``resident.mobile`` (a service, a constructor,
  a form) sets ``resident.mobile_masked`` with it;
- the mask column's insert default, computed from the plain value in the same row, for
  set-based inserts (``session.execute(insert(Resident), rows)``) that leave it out.

A writer that goes around both (raw SQL, a Core UPDATE of a number) computes the masks
with :func:`masked_numbers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

# Long enough for any mask the register's numbers make (an ID-card number has 18).
MASK_LENGTH = 32


def mask_id_number(value: str | None) -> str:
    """``110105199003071234`` → ``110***********1234``."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_mobile(value: str | None) -> str:
    """``13812341234`` → ``138****1234``."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def masked_numbers(
    id_number: str | None = None, mobile: str | None = None, emergency_phone: str | None = None
) -> dict[str, str]:
    """The mask columns of a resident row, from its plain numbers (for set-based writers)."""
    return {
        "id_number_masked": mask_id_number(id_number)[:MASK_LENGTH],
        "mobile_masked": mask_mobile(mobile)[:MASK_LENGTH],
        "emergency_phone_masked": mask_mobile(emergency_phone)[:MASK_LENGTH],
    }


def masked_default(source: str, mask: Callable[[str | None], str]) -> Callable[[Any], str]:
    """Insert default of a mask column: the mask of ``source``'s plain value in the same
    row (the value before the encrypting type binds it)."""

    def default(context) -> str:
        limit = context.current_column.type.length
        return mask(context.get_current_parameters().get(source))[:limit]

    return default


def keep_masked(model: type, source: str, masked: str, mask: Callable[[str | None], str]):
    """Whenever ``model.source`` is set on an object, set its ``masked`` attribute too."""
    limit = model.__table__.c[masked].type.length

    def on_set(target, value, _old, _initiator):
        setattr(target, masked, mask(value)[:limit])

    event.listen(getattr(model, source), "set", on_set)
