"""Sensitive columns: one mechanism for masking and hiding personal data in the admin.

A view lists its sensitive columns with ``Sensitive(masked=..., mask=..., see=...)``:

- ``masked`` — the model's column that holds the masked value (kept beside the
  ciphertext, see models/masks.py): shown wherever the view shows the column (list,
  details, export), so showing it decrypts nothing; the full value appears only through
  an audited reveal;
- ``mask`` — for a column with no masked column beside it: how its value is masked;
- ``see`` — the permission needed to see the column at all; without it the column is
  left out of the list, the details and the export.

Sensitive columns are never search fields or filters: the values are encrypted, and
exact-number search goes through the blind indexes with its own permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import has_request_context

from propadmin.permissions import can


@dataclass(frozen=True)
class Sensitive:
    mask: Callable[[str | None], str] | None = None
    see: str | None = None
    masked: str | None = None

    def __post_init__(self) -> None:
        if self.mask is None and self.masked is None and self.see is None:
            raise TypeError("a sensitive column is masked, or needs a permission, or both")

    def visible(self) -> bool:
        return self.see is None or can(self.see)

    def formatter(self, column: str):
        if self.masked is not None:
            masked = self.masked
            return lambda view, context, model, name: getattr(model, masked) or ""
        mask = self.mask
        if mask is None:
            return None
        return lambda view, context, model, name: mask(getattr(model, column))


def install_sensitive_formatters(view) -> None:
    """Route every display of a masked column (list, details, export) through its mask,
    whatever formatters the view declared."""
    for column, rule in view.sensitive_columns.items():
        formatter = rule.formatter(column)
        if formatter is None:
            continue
        for attr in ("column_formatters", "column_formatters_detail", "column_formatters_export"):
            current = dict(getattr(view, attr, None) or {})
            current[column] = formatter
            setattr(view, attr, current)


class VisibleColumns:
    """A column list Flask-Admin stores once and reads per request: sensitive columns
    are left out unless the current user holds the permission to see them."""

    def __set_name__(self, owner, name):
        self.stored = f"_all{name}"

    def __get__(self, view, owner=None):
        if view is None:
            return self
        columns = getattr(view, self.stored)
        if not has_request_context():
            return columns
        rules = view.sensitive_columns
        return [
            (name, label) for name, label in columns if name not in rules or rules[name].visible()
        ]

    def __set__(self, view, value):
        setattr(view, self.stored, value)
