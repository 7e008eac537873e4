"""The app's Jinja environment: Flask's, with two changes that every page draws on.

**Template globals whose names are a set.** A template that imports macros (``{% from
"_macros.html" import flashes %}``) asks, on every render, which of its globals the
imported template lacks: ``set - globals.keys()``. Jinja keeps each template's globals as a
ChainMap over the environment's (about fifty names here, from Flask, Flask-Admin,
Flask-WTF and the app), and a ChainMap's keys answer that one name and one map at a time in
Python: some 130 calls per import, three imports on the portal home. Here ``keys()`` is a
plain set of the names, built in C; the mapping itself stays a ChainMap, so globals added to
the environment later are still seen.

**Fixed texts translated when the template is loaded.** ``{{ _("Sign out") }}`` is
looked up in the catalogue every time a page is drawn: a call from the template, the
request's catalogue, the lookup, the mark-up, about thirty Python calls for one word, and a
page has dozens. The catalogue for a language never changes while the process runs, so a
template is compiled once per language, with each such text already translated. Only an
output of one fixed text and nothing else is translated this way (``{{ _("Hello,
%(name)s", name=...) }}`` and ``_()`` inside an expression are still looked up when drawn),
and only in a template that does not give the name ``_`` a meaning of its own (a loop
variable, a ``set``, a macro argument, an import). Outside an app context there is no
language to compile for, and templates load as Jinja loads them.
"""

from __future__ import annotations

import weakref
from collections import ChainMap
from collections.abc import Callable
from dataclasses import dataclass

from flask.templating import Environment
from jinja2 import nodes
from jinja2.visitor import NodeTransformer


class _Globals(ChainMap):
    def keys(self):  # type: ignore[override]
        return set().union(*self.maps)


@dataclass(frozen=True)
class FixedTexts:
    """A translating function of the templates whose fixed texts are translated on load.

    ``names``: the template globals bound to ``function`` (``_`` and ``gettext``);
    ``catalogue()``: for the language drawn now, ``translate(text)`` giving what
    ``function(text)`` gives, or None for a text left to be translated when drawn;
    ``markup``: ``function`` gives safe markup where the output is escaped."""

    names: tuple[str, ...]
    function: Callable
    catalogue: Callable[[], Callable[[str], str | None]]
    markup: bool


class _TranslateFixedTexts(NodeTransformer):
    """``{{ _("text") }}`` → the translation, as a constant of the output. Only a call that
    is output on its own: Jinja folds constants in expressions (``_("a") ~ "<"``) as plain
    text, where ``_()`` would give markup, so a call inside an expression is left as it is."""

    def __init__(self, by_name: dict[str, tuple[Callable[[str], str | None], bool]]) -> None:
        self.by_name = by_name

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        node = self.generic_visit(node)
        node.nodes = [self._translated(child) for child in node.nodes]
        return node

    def _translated(self, node: nodes.Node) -> nodes.Node:
        if not (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name in self.by_name
            and len(node.args) == 1
            and isinstance(node.args[0], nodes.Const)
            and isinstance(node.args[0].value, str)
            and not node.kwargs
            and node.dyn_args is None
            and node.dyn_kwargs is None
        ):
            return node
        translate, markup = self.by_name[node.node.name]
        text = translate(node.args[0].value)
        if text is None:
            return node
        constant = nodes.Const(text, lineno=node.lineno)
        return nodes.MarkSafeIfAutoescape(constant, lineno=node.lineno) if markup else constant


def _names_given_a_meaning(tree: nodes.Template) -> set[str]:
    """The names a template binds itself: set, for, with, macro and call arguments, imports."""
    given = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all(nodes.FromImport):
        given.update(name if isinstance(name, str) else name[1] for name in node.names)
    given.update(node.target for node in tree.find_all(nodes.Import))
    given.update(node.name for node in tree.find_all(nodes.Macro))
    return given


class TemplateEnvironment(Environment):
    # The language drawn now (None: none, outside a request or app), and the functions
    # whose fixed texts are translated when a template loads in it.
    template_language: Callable[[], str | None] | None = None
    fixed_texts: tuple[FixedTexts, ...] = ()

    def make_globals(self, d):
        return _Globals({} if d is None else d, self.globals)

    def _load_template(self, name, globals):
        # Jinja's own, with the language in the cache key and the fixed texts translated.
        language = self.template_language() if self.template_language is not None else None
        if language is None or self.loader is None or self.cache is None:
            return super()._load_template(name, globals)
        key = (weakref.ref(self.loader), name, "language", language)
        template = self.cache.get(key)
        if template is not None and (not self.auto_reload or template.is_up_to_date):
            if globals:
                template.globals.update(globals)
            return template
        source, filename, uptodate = self.loader.get_source(self, name)
        tree = self.parse(source, name, filename)
        own = _names_given_a_meaning(tree)
        by_name = {}
        for texts in self.fixed_texts:
            bound = [
                n for n in texts.names if n not in own and self.globals.get(n) is texts.function
            ]
            if bound:
                translate = texts.catalogue()
                by_name.update((n, (translate, texts.markup)) for n in bound)
        if by_name:
            tree = _TranslateFixedTexts(by_name).visit(tree)
        code = self.compile(tree, name, filename)
        template = self.template_class.from_code(self, code, self.make_globals(globals), uptodate)
        self.cache[key] = template
        return template
