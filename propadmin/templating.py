"""The app's Jinja environment: Flask's, with template globals whose names are a set.

A template that imports macros (``{% from "_macros.html" import flashes %}``) asks, on
every render, which of its globals the imported template lacks: ``set - globals.keys()``.
Jinja keeps each template's globals as a ChainMap over the environment's (about fifty
names here, from Flask, Flask-Admin, Flask-WTF and the app), and a ChainMap's keys answer
that one name and one map at a time in Python: some 130 calls per import, three imports
on the portal home. Here ``keys()`` is a plain set of the names, built in C; the mapping
itself stays a ChainMap, so globals added to the environment later are still seen.
"""

from __future__ import annotations

from collections import ChainMap

from flask.templating import Environment


class _Globals(ChainMap):
    def keys(self):  # type: ignore[override]
        return set().union(*self.maps)


class TemplateEnvironment(Environment):
    def make_globals(self, d):
        return _Globals({} if d is None else d, self.globals)
