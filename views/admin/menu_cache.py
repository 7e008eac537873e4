"""The admin menu bar, drawn once per kind of reader and reused (every admin page shows it).

Flask-Admin's ``menu()`` and ``menu_links()`` macros (admin/layout.html) asked every view
whether it is accessible — a permission check each — and translated every label, on every
page. What they draw depends only on:

- which items the reader may open: each view's and link's ``is_accessible`` is
  ``can(permission)`` (views/admin/base.py, worklist.PageLink), so the reader's needs
  (``g.identity.provides``), whether they are signed in and whether they are a superuser;
- the language (labels are lazy strings);
- the page shown (its item and category are marked active);
- the application root the URLs start with.

Nothing else (no counts, badges or names), so the drawn HTML is kept per that key in a
small LRU per admin. A role whose permissions change gives its holders another key on
their next request, so the change shows at once; a view or link added to the menu
empties the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import g, request
from flask_admin import Admin
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

MAX_ENTRIES = 512


class MenuCache:
    def __init__(self, size: int = MAX_ENTRIES):
        self.size = size
        self._entries: OrderedDict[tuple, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, draw: Callable[[], Markup]) -> Markup:
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
                return html
        html = draw()  # a macro's Markup (the admin templates autoescape)
        with self._lock:
            self._entries[key] = html
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def reader_key() -> tuple:
    """What decides which menu items this request's reader may open (once per request)."""
    key = g.get("_menu_reader")
    if key is None:
        user = current_user._get_current_object()
        if user.is_authenticated:
            identity = g.get("identity")
            needs = frozenset(identity.provides) if identity is not None else frozenset()
            key = (True, bool(getattr(user, "is_superuser", False)), needs)
        else:
            key = (False, False, frozenset())
        g._menu_reader = key
    return key


class CachedMenuAdmin(Admin):
    """Flask-Admin's Admin with a menu cache that any change to the menu empties."""

    def __init__(self, *args, **kwargs):
        self.menu_cache = MenuCache()
        super().__init__(*args, **kwargs)

    def add_menu_item(self, *args, **kwargs) -> None:  # add_view and add_link end here
        super().add_menu_item(*args, **kwargs)
        self.menu_cache.clear()

    def add_link(self, *args, **kwargs) -> None:
        super().add_link(*args, **kwargs)
        self.menu_cache.clear()

    def add_category(self, *args, **kwargs) -> None:
        super().add_category(*args, **kwargs)
        self.menu_cache.clear()

    def add_sub_category(self, *args, **kwargs) -> None:
        super().add_sub_category(*args, **kwargs)
        self.menu_cache.clear()


def cached_menu(kind: str, admin_view, draw: Callable[[], Markup]) -> Markup:
    """``draw()`` (a layout macro) for this reader, language, page and root, or the HTML
    drawn before for the same."""
    key = (kind, reader_key(), str(get_locale()), admin_view.endpoint, request.script_root)
    return admin_view.admin.menu_cache.get(key, draw)


def init_menu_cache(app) -> None:
    app.jinja_env.globals["cached_menu"] = cached_menu
