"""The addresses an admin list page writes, each built once and filled in.

Mixed into the list (listing.FastList), so every model view's list gets it:

- the list's own address (the pager's pages, the sort headers, the page sizes) is built
  once per request and shape, with placeholders for the page and the sort, and the numbers
  are filled in;
- a row's page and edit form: one address per page with a placeholder for the key;
- the admin's stylesheets and scripts: built once per process (``static_url``), for model
  views here and for the other admin pages in base.PermissionView.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import g, request

ROW_ID = "__row_id__"  # placeholder in the URLs built once per page
# The list address's numbered arguments, and their placeholders (ListLinks._list_url).
_NUMBERED = {"page": "__page__", "sort": "__sort__"}
_FILLED = object()  # in a shape's key: a number filled in afterwards
_STATIC_URLS: dict[tuple, str] = {}  # the admin's stylesheets and scripts: fixed per process


def static_url(get_url, endpoint: str, kwargs: dict) -> str:
    """A view's ``get_url``, but the twenty-odd stylesheet and script links of every admin
    page are built once (model views here, other admin pages in base.PermissionView)."""
    if not endpoint.endswith(".static"):
        return get_url(endpoint, **kwargs)
    key = (request.script_root, endpoint, tuple(sorted(kwargs.items())))
    url = _STATIC_URLS.get(key)
    if url is None:
        url = _STATIC_URLS[key] = get_url(endpoint, **kwargs)
    return url


def admin_static_url(admin_view, get_url):
    """Flask-Admin's ``admin_static.url(filename=..., v=...)`` (templates/admin/static.html)
    as a function: a page asks for twenty-odd style sheet and script addresses, and the
    macro it replaces cost about forty Python calls a time before reaching ``get_url``."""

    def url(*args, **kwargs) -> str:
        return get_url(f"{admin_view.admin.endpoint}.static", *args, **kwargs)

    return url


class ListLinks:
    # Whether the list's own addresses are filled into one built per request (_list_url).
    list_url_shapes: bool = True

    def get_url(self, endpoint, **kwargs):
        if endpoint == ".index_view" and kwargs and self.list_url_shapes:
            return self._list_url(kwargs)
        return static_url(super().get_url, endpoint, kwargs)

    def _list_url(self, kwargs: dict) -> str:
        """The list's address with these arguments. A list page asks for a dozen (the
        pager's pages, the sort headers, the page sizes) that differ only in the page
        number or the sort column: each shape of address is built once per request,
        with placeholders, and the numbers are filled in. A shape whose arguments hold a
        placeholder themselves is built as it is."""
        numbers = {k: kwargs[k] for k in _NUMBERED if type(kwargs.get(k)) is int}
        shape = (
            type(self).__name__,
            *((k, _FILLED if k in numbers else v) for k, v in kwargs.items()),
        )
        try:
            cache = g.setdefault("_list_url_shapes", {})
            template = cache.get(shape)
        except TypeError:  # a value that cannot be a key (none of ours): built as it is
            return super().get_url(".index_view", **kwargs)
        if template is None:
            built = super().get_url(".index_view", **(kwargs | {k: _NUMBERED[k] for k in numbers}))
            # A placeholder found twice is in the arguments too (a search for "__page__"):
            # that shape is built as it is, every time.
            once = all(built.count(_NUMBERED[k]) == 1 for k in numbers)
            template = cache[shape] = built if once else ""
        if not template:
            return super().get_url(".index_view", **kwargs)
        for name, number in numbers.items():
            template = template.replace(_NUMBERED[name], str(number), 1)
        return template

    def row_url(self, endpoint: str, pk, **args) -> str:
        """A row's URL from a template built once per request and endpoint."""
        return _fill(self._row_url_template(endpoint, args), pk)

    def _row_url_template(self, endpoint: str, args: dict) -> list[str]:
        cache = g.setdefault("_row_url_templates", {})
        key = (type(self).__name__, endpoint, *sorted(args.items()))
        template = cache.get(key)
        if template is None:
            template = cache[key] = self.get_url(endpoint, id=ROW_ID, **args).split(ROW_ID, 1)
        return template

    def _row_link(self, endpoint: str, **args):
        """A function giving the rows' URLs of ``endpoint`` by key: its template is looked
        up on the first row, not on each."""
        template = None

        def url(pk) -> str:
            nonlocal template
            if template is None:
                template = self._row_url_template(endpoint, args)
            return _fill(template, pk)

        return url

    def row_urls(self, return_url):
        """For the list template: the URL of a row's page or edit form, by row key."""
        return {
            "details": self._row_link(".details_view", url=return_url),
            "edit": self._row_link(".edit_view", url=return_url),
            "details_modal": self._row_link(".details_view", url=return_url, modal=True),
            "edit_modal": self._row_link(".edit_view", url=return_url, modal=True),
        }


def _fill(template: list[str], pk) -> str:
    """A row's URL: its key put into the template's one placeholder."""
    key = str(pk) if type(pk) is int else quote(str(pk), safe="")
    return f"{template[0]}{key}{template[1]}"
