"""How each row belongs to an estate, declared once per model.

Every mapped class sets ``__estate_scope__`` to one of:

- ``EstateColumn("estate_id")`` — the row names its estate in a column of its own
  (``shared_when_null=True``: a NULL estate means the row is shared by every estate,
  like a global role);
- ``Through("unit")`` — the row belongs to the estate of the row a many-to-one
  relationship leads to (an occupancy through its unit, a unit through its building);
- ``Custom(clause, estate_of)`` — anything else, written out once (accounts belong to
  every estate they work or live in);
- ``GLOBAL`` — the few tables that belong to no estate at all.

One declaration answers both questions that scoping asks: the where-clause for "rows in
these estates" and "which estate is this row in" (for the audit log). ``scope_of`` raises
for a model that declares nothing, so a forgotten declaration stops the app at start-up
instead of showing every estate's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import inspect, or_, select, true
from sqlalchemy.orm import RelationshipDirection, object_session


class UndeclaredScope(TypeError):
    """A model was used for scoped work without saying how its rows belong to an estate."""


class EstateScope:
    def clause(self, model: type, estate_ids: Collection[int]) -> Any:
        """The where-clause limiting ``model`` to rows of these estates."""
        raise NotImplementedError

    def estate_of(self, row: Any) -> int | None:
        """The estate a row belongs to; ``None`` for rows of no single estate."""
        raise NotImplementedError

    def check(self, model: type) -> None:
        """Raise UndeclaredScope when the declaration does not fit the model."""


class EstateColumn(EstateScope):
    def __init__(self, column: str = "estate_id", *, shared_when_null: bool = False) -> None:
        self.column = column
        self.shared_when_null = shared_when_null

    def clause(self, model, estate_ids):
        column = getattr(model, self.column)
        if self.shared_when_null:
            return or_(column.in_(estate_ids), column.is_(None))
        return column.in_(estate_ids)

    def estate_of(self, row):
        return getattr(row, self.column)

    def check(self, model):
        if self.column not in inspect(model).columns:
            raise UndeclaredScope(f"{model.__name__}: no column {self.column!r} for its estate")


class Through(EstateScope):
    def __init__(self, relationship: str) -> None:
        self.relationship = relationship

    def _rel(self, model):
        rel = inspect(model).relationships.get(self.relationship)
        if rel is None or rel.direction is not RelationshipDirection.MANYTOONE:
            raise UndeclaredScope(
                f"{model.__name__}: {self.relationship!r} is not a many-to-one relationship"
            )
        return rel

    def clause(self, model, estate_ids):
        rel = self._rel(model)
        target = rel.mapper.class_
        ((local, remote),) = rel.local_remote_pairs
        inner = scope_of(target).clause(target, estate_ids)
        return local.in_(select(remote).where(inner))

    def estate_of(self, row):
        rel = self._rel(type(row))
        parent = getattr(row, self.relationship)
        if parent is None:
            # A row added with only its foreign key set: look the parent up.
            ((local, _remote),) = rel.local_remote_pairs
            key = getattr(row, inspect(type(row)).get_property_by_column(local).key)
            session = object_session(row)
            if key is None or session is None:
                return None
            parent = session.get(rel.mapper.class_, key)
            if parent is None:
                return None
        return scope_of(type(parent)).estate_of(parent)

    def check(self, model):
        target = self._rel(model).mapper.class_
        scope_of(target)


class Custom(EstateScope):
    def __init__(
        self,
        clause: Callable[[Collection[int]], Any],
        estate_of: Callable[[Any], int | None] = lambda row: None,
    ) -> None:
        self._clause = clause
        self._estate_of = estate_of

    def clause(self, model, estate_ids):
        return self._clause(estate_ids)

    def estate_of(self, row):
        return self._estate_of(row)


class Global(EstateScope):
    """Rows shared by every estate: nothing to limit, no estate to name."""

    def clause(self, model, estate_ids):
        return true()

    def estate_of(self, row):
        return None


GLOBAL = Global()


def scope_of(model: type) -> EstateScope:
    """The model's declared scope; raises UndeclaredScope when it has none."""
    scope = getattr(model, "__estate_scope__", None)
    if not isinstance(scope, EstateScope):
        name = getattr(model, "__name__", repr(model))
        raise UndeclaredScope(
            f"{name} does not declare how its rows belong to an estate: set "
            "__estate_scope__ to EstateColumn(...), Through(...), Custom(...) or GLOBAL "
            "(see models/scope.py)"
        )
    return scope


def row_estate(row: Any) -> int | None:
    """The estate a row belongs to, by its model's declaration."""
    return scope_of(type(row)).estate_of(row)


def check_declared(models) -> None:
    """Raise UndeclaredScope naming the first model whose declaration is missing or wrong."""
    for model in models:
        scope_of(model).check(model)
