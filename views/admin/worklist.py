"""What each role has to do today (待办): tiles on the staff home, each a count and a link
to the list behind it, shown only to those who may open that list.

A module adds its own tiles with ``register_tile``; the count is a service function
``count(session, user) -> int`` that scopes itself like every query for a user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from flask import url_for
from flask_admin.menu import MenuLink

from propadmin.extensions import db
from propadmin.permissions import can


@dataclass(frozen=True)
class Filter:
    """One of a list's own filters: its column, its operation (Flask-Admin's English name:
    "equals", "between", "empty", ...) and the value."""

    column: str
    operation: str
    value: str | Callable[[], str]  # a callable for values of the day (date ranges)


@dataclass(frozen=True)
class Tile:
    key: str
    label: object  # a lazy string, shown in the reader's language
    endpoint: str  # the admin view whose list the tile opens
    count: Callable
    filters: tuple[Filter, ...] = field(default_factory=tuple)
    urgent: bool = False


TILES: list[Tile] = []


def register_tile(tile: Tile) -> Tile:
    TILES.append(tile)
    return tile


def _operation(flt) -> str:
    name = flt.operation()
    return getattr(name, "_args", (name,))[0]


def list_url(view, filters) -> str:
    """The view's list with these of its own filters applied (shown as removable chips)."""
    args = {}
    for position, wanted in enumerate(filters):
        for index, flt in enumerate(view._filters or ()):
            column = getattr(flt.column, "key", None)
            if column == wanted.column and _operation(flt) == wanted.operation:
                value = wanted.value() if callable(wanted.value) else wanted.value
                args[f"flt{position}_{view.get_filter_arg(index, flt)}"] = value
                break
        else:
            raise LookupError(f"{view.endpoint}: no {wanted.operation!r} filter on {wanted.column}")
    return url_for(f"{view.endpoint}.index_view", **args)


class PageFilter:
    """A filter of a hand-written list page (not a model view), as a tile names it: the
    page reads ``flt<n>_<key>`` itself; this only lets ``list_url`` find the key."""

    def __init__(self, key: str):
        self.column = SimpleNamespace(key=key)
        self.key = key

    def operation(self):
        return "equals"


class PageLink(MenuLink):
    """A menu entry for another page of a view (my jobs, the editor), shown to those who
    hold ``permission``."""

    def __init__(self, name, endpoint, permission, category):
        super().__init__(name=name, category=category)
        self.endpoint, self.permission = endpoint, permission

    def get_url(self):
        return url_for(self.endpoint)

    def is_accessible(self):
        return can(self.permission)


@dataclass
class TileView:
    tile: Tile
    count: int
    url: str


def tiles_for(admin, user) -> list[TileView]:
    """The tiles this user may open, with their counts (one query each)."""
    views = {v.endpoint: v for v in admin._views}
    shown = []
    for tile in TILES:
        view = views.get(tile.endpoint)
        if view is None or not view.is_accessible() or not can(view.permission_for("index_view")):
            continue
        shown.append(TileView(tile, tile.count(db.session, user), list_url(view, tile.filters)))
    return shown
