"""The hidden fields of an admin list page's forms, drawn without building the forms.

A list page carries two small forms that only send what the page gives them: the delete
form (the row's id, the page's address and the CSRF token) and the mass-action form (the
action, the address and the token). Flask-Admin builds both as WTForms forms for every list
page, and WTForms draws each hidden field through its widget machinery; here they are
written as the same markup from the form classes (``PageForm``, ``hidden_input``). The
POSTs are read by the real forms in Flask-Admin's ``delete_view`` and ``action_view``.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from wtforms import HiddenField


def hidden_input(field, value=None) -> Markup:
    """A hidden WTForms field as its widget writes it (``<input id= name= type="hidden"
    value=>``, the value escaped). Every list page has four (the mass-action form's and
    the page's delete form's address and CSRF token), and WTForms' widget machinery drew
    each in some four hundred Python calls."""
    if value is None:
        value = field._value()
    return Markup('<input id="{}" name="{}" type="hidden" value="{}">').format(
        field.id, field.name, value
    )


class PageField:
    """A hidden field of a list page's form, drawn as WTForms' ``HiddenInput`` draws it:
    ``field(value=...)``, ``field()`` and ``{{ field }}`` give the same markup."""

    __slots__ = ("id", "name", "_given")

    def __init__(self, name: str, value: str = "") -> None:
        self.id = self.name = name
        self._given = value

    def _value(self) -> str:
        return self._given

    def __call__(self, value=None) -> Markup:
        return hidden_input(self, value)

    def __html__(self) -> str:
        return self()

    __str__ = __html__


class PageForm:
    """A list page's delete or mass-action form as the page draws it: its hidden fields,
    empty, and the CSRF token the form would carry. Flask-Admin builds both forms for
    every list page only to draw them; building them cost some 270 µs of a 5 ms page
    (tests/bench_pages.py's register), nearly all of it WTForms setting up fields that
    are never read. A POST from the page is checked by the real form (``delete_view``,
    ``action_view``), so nothing about the check changes."""

    _drawn: dict[type, tuple | None] = {}  # per form class: (field names, meta class)

    @classmethod
    def of(cls, form_class) -> PageForm | None:
        """The page form for ``form_class``; None for a form this cannot stand for (a
        field that is not a plain hidden field, or a CSRF token not Flask-WTF's)."""
        if form_class not in cls._drawn:
            cls._drawn[form_class] = _hidden_fields(form_class)
        drawn = cls._drawn[form_class]
        if drawn is None:
            return None
        names, meta_class = drawn
        form = cls()
        for name in names:
            setattr(form, name, PageField(name))
        meta = meta_class()  # reads the app's config, as the form's own meta would
        if meta.csrf:
            token = generate_csrf(secret_key=meta.csrf_secret, token_key=meta.csrf_field_name)
            setattr(form, meta.csrf_field_name, PageField(meta.csrf_field_name, token))
        return form


def _hidden_fields(form_class) -> tuple | None:
    """The names of ``form_class``'s fields and the class of its meta, as WTForms finds
    them when it builds the form (FormMeta.__call__); None unless every field is a
    ``HiddenField`` with nothing but validators given and the meta is Flask-WTF's."""
    names = []
    for name in dir(form_class):
        field = getattr(form_class, name)
        if name.startswith("_") or not hasattr(field, "_formfield"):
            continue
        if field.field_class is not HiddenField or field.args or set(field.kwargs) - {
            "validators"
        }:
            return None
        names.append(name)
    metas = tuple(k.__dict__["Meta"] for k in form_class.__mro__ if "Meta" in k.__dict__)
    meta_class = type("Meta", metas, {})
    if not issubclass(meta_class, FlaskForm.Meta):
        return None
    return tuple(names), meta_class
