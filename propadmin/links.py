"""Addresses of pages that take no arguments (and of static files), worked out once per
process and script root: the header, the portal's tab bar and its links name the same
pages on every request, and building each address anew cost more than the page's own
queries.

Templates call ``page_link('portal.bills')`` and ``static_link('css/site.css')`` where
they would call ``url_for`` without arguments.
"""

from __future__ import annotations

from functools import lru_cache

from flask import request, url_for


@lru_cache(maxsize=256)
def _link(script_root: str, endpoint: str, filename: str | None) -> str:
    if filename is None:
        return url_for(endpoint)
    return url_for(endpoint, filename=filename)


def page_link(endpoint: str) -> str:
    """``url_for(endpoint)``, remembered."""
    return _link(request.script_root, endpoint, None)


def static_link(filename: str) -> str:
    """``url_for('static', filename=filename)``, remembered."""
    return _link(request.script_root, "static", filename)


def init_app(app) -> None:
    app.jinja_env.globals.update(page_link=page_link, static_link=static_link)
