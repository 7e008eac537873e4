"""Language and time zone: the user's choice, then Accept-Language, then Chinese."""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app, g, has_app_context, has_request_context, request, session
from flask_admin import babel as admin_babel
from flask_babel import Domain, format_datetime, get_locale, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .extensions import db
from .templating import FixedTexts

# What Accept-Language offers → our locale names (Flask-Admin ships zh_Hans_CN).
ACCEPTED = {"zh": "zh_Hans_CN", "en": "en"}


def select_locale() -> Locale:
    """The request's locale. Given as Babel's ``Locale``, one per name for the process:
    Flask-Babel parses a name afresh on every request (a look on disk for the locale's
    data among it), and reading Accept-Language is remembered per header value."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return _locale(default)
    user = current_user._get_current_object()  # one look through the proxy, not three
    if user is not None and user.is_authenticated and user.locale:
        return _locale(user.locale)
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return _locale(chosen)
    return _locale(_accepted(request.headers.get("Accept-Language", "")) or default)


@functools.lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@functools.lru_cache(maxsize=256)
def _accepted(header: str) -> str | None:
    """Our locale name for an Accept-Language header, None if it asks for neither."""
    best = parse_accept_header(header, LanguageAccept).best_match(list(ACCEPTED))
    return ACCEPTED.get(best) if best else None


def html_lang() -> str:
    """The request's language as an HTML ``lang`` value (BCP 47): ``zh-CN`` or ``en``."""
    return _bcp47(str(get_locale()))


def other_languages() -> list[tuple[str, str, str]]:
    """The languages the switch offers: every one but the request's, as (code, label,
    HTML ``lang`` of the label)."""
    current = str(get_locale())
    return [
        (code, label, _bcp47(code))
        for code, label in current_app.config["LANGUAGES"].items()
        if code != current
    ]


def _bcp47(code: str) -> str:
    return "zh-CN" if code.startswith("zh") else code


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def localtime(value: datetime | None, tz: str | None = None, fmt: str = "yyyy-MM-dd HH:mm"):
    """Show a stored UTC time in the estate's zone (default Asia/Shanghai)."""
    if value is None:
        return ""
    zone = ZoneInfo(tz or current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return format_datetime(value.astimezone(zone).replace(tzinfo=None), fmt, rebase=False)


def set_language(code: str) -> bool:
    if code not in current_app.config["LANGUAGES"]:
        return False
    session["lang"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return True


def _request_locale(store):
    """The locale Flask-Babel has settled on for this request (or ``force_locale``'s), kept
    on ``g``; None before its first get_locale(), or if it keeps the locale elsewhere."""
    return getattr(store.__dict__.get("_flask_babel"), "babel_locale", None)


def _for_the_request(key, load):
    """``load()``, remembered on ``g`` for the rest of the request while the locale stays
    the same; looked up again when it changes, as under ``force_locale`` for a mail."""
    if not has_app_context():
        return load()
    store = g._get_current_object()  # ``g`` itself: one lookup, not one per attribute
    locale = _request_locale(store)
    if locale is None:
        return load()  # Flask-Babel settles the locale first
    known = store.__dict__.setdefault("_i18n_catalogues", {})
    found = known.get(key)
    if found is None or found[0] is not locale:
        found = known[key] = (locale, load())
    return found[1]


def _translations():
    """The translations ``_()`` uses in templates (asking Flask-Babel which domain is in
    effect costs more than the lookup itself)."""
    return _for_the_request("templates", get_translations)


def _template_language() -> str | None:
    """The language templates are drawn in now (propadmin/templating.py compiles each
    template once per language); None outside an app context."""
    if not has_app_context():
        return None
    store = g._get_current_object()
    locale = _request_locale(store)
    if locale is None:
        get_locale()  # settles it for the request
        locale = _request_locale(store)
        if locale is None:
            return None
    named = store.__dict__.get("_i18n_language")
    if named is None or named[0] is not locale:  # Babel builds the name anew each time
        named = store.__dict__["_i18n_language"] = (locale, str(locale))
    return named[1]


_DRAWN: dict[tuple[int, str], tuple[object, object]] = {}


def in_language(table):
    """A fixed table of labels (a dict whose values are lazy texts, or rows holding them)
    with every lazy text drawn as text in the request's language. Worked out once per
    language for the life of the process, as the labels of a fixed table never change:
    each lazy text costs a catalogue lookup every time it is drawn, twice when escaped."""
    language = _template_language()
    if language is None:
        return _drawn(table)
    key = (id(table), language)
    found = _DRAWN.get(key)
    if found is None or found[0] is not table:  # the table is kept: its id stays its own
        found = _DRAWN[key] = (table, _drawn(table))
    return found[1]


def _drawn(table):
    if isinstance(table, dict):
        return {key: _text(value) for key, value in table.items()}
    return tuple(tuple(_text(value) for value in row) for row in table)


def _text(value):
    return str(value) if isinstance(value, LazyString) else value


def _app_catalogue():
    """``_()``'s translation of a fixed text, for templates loaded now: a text with a "%"
    is left to ``_()``, which formats it when drawn."""
    translations = _translations()

    def translate(text: str) -> str | None:
        found = translations.ugettext(text)
        return None if "%" in found else found

    return translate


def _admin_catalogue():
    """Flask-Admin's ``_gettext()`` of a fixed text (its catalogue depends on the view only
    through ``Admin(translations_path=...)``, which this app does not set)."""
    return admin_babel.domain.get_translations().ugettext


def _remembered_per_request(get_translations):
    """``Domain.get_translations``, remembered for the request per domain and locale.
    Flask-Babel looks the catalogue up again for every string: the request's context, its
    locale and the locale's name, each time. A list page shows dozens of labels
    (Flask-Admin's own, the columns', each row's status), and every one of them is a lazy
    string translated when it is drawn."""

    @functools.wraps(get_translations)
    def remembered(domain):
        return _for_the_request(id(domain), lambda: get_translations(domain))

    remembered.remembers = True
    return remembered


if not getattr(Domain.get_translations, "remembers", False):
    # Every domain: the app's, Flask-Admin's and WTForms'.
    Domain.get_translations = _remembered_per_request(Domain.get_translations)


class _WtformsMessages:
    """WTForms' own messages ("This field is required.") in the request's language.
    Flask-WTF reads its catalogue from disk on every request that builds a form; here each
    language's catalogue is read once per process."""

    _catalogues: dict[str, object] = {}

    def _catalogue(self):
        locale = str(get_locale())
        found = self._catalogues.get(locale)
        if found is None:
            from babel import support
            from wtforms.i18n import messages_path

            found = support.Translations.load(messages_path(), [locale], domain="wtforms")
            self._catalogues[locale] = found
        return found

    def ugettext(self, string):
        return self._catalogue().ugettext(string)

    def ungettext(self, singular, plural, n):
        return self._catalogue().ungettext(singular, plural, n)


def _wtforms_messages() -> None:
    request.wtforms_translations = _WtformsMessages()  # where Flask-WTF looks first


@pass_eval_context
def _gettext(eval_ctx, string: str, **variables) -> str:
    """``_()`` and ``gettext()`` in templates: Jinja's new-style gettext (the result is
    always a format string; under autoescape the variables are escaped), with the
    translations looked up directly. Jinja's own alias resolves ``gettext`` and calls
    through two more layers for every string, and a page translates dozens. It takes the
    evaluation context, not the template context: Jinja derives a new template context
    for each call of a context function made where a block or loop has set a variable."""
    rv = _translations().ugettext(string)
    if eval_ctx.autoescape:
        rv = Markup(rv)  # noqa: S704 - the catalogue's own text; the variables are escaped by %
    # Formatting also turns "%%" into "%"; a text with no "%" at all comes out unchanged.
    return rv % variables if variables or "%" in rv else rv


def init_app(app, babel) -> None:
    app.before_request(_wtforms_messages)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(_=_gettext, gettext=_gettext)
    # Flask-Admin passes its _gettext to each of its pages; as a global, the fixed texts
    # of its templates are translated when they load, as ours are.
    app.jinja_env.globals["_gettext"] = admin_babel.gettext
    app.jinja_env.template_language = _template_language
    app.jinja_env.fixed_texts = (
        FixedTexts(("_", "gettext"), _gettext, _app_catalogue, markup=True),
        FixedTexts(("_gettext",), admin_babel.gettext, _admin_catalogue, markup=False),
    )
    from .services.bill_explain import explain, yuan

    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["explain_line"] = explain
    app.jinja_env.globals.update(
        get_locale=get_locale, html_lang=html_lang, other_languages=other_languages
    )
    from .services.repair_labels import JINJA_GLOBALS

    app.jinja_env.globals.update(JINJA_GLOBALS)
    from .services.notice_labels import JINJA_GLOBALS as NOTICE_GLOBALS

    app.jinja_env.globals.update(NOTICE_GLOBALS)
