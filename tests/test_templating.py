"""The app's Jinja environment (propadmin/templating.py): imports of macros behave as in
Jinja's own environment."""

import pytest
from jinja2 import DictLoader, Environment

from propadmin.templating import TemplateEnvironment

TEMPLATES = {
    "macros.html": "{% macro hello(who) %}{{ greeting }}, {{ who }}{% endmacro %}",
    "page.html": '{% from "macros.html" import hello %}[{{ hello(name) }}]',
}


def _environment(cls):
    if cls is TemplateEnvironment:
        from flask import Flask

        env = cls(Flask(__name__), loader=DictLoader(TEMPLATES))
    else:
        env = cls(loader=DictLoader(TEMPLATES))
    env.globals["greeting"] = "Hello"
    return env


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_imports_render_as_in_jinjas_own_environment(database_url):
    """The same pages, globals changed and added between renders: the same output."""
    ours, jinja = _environment(TemplateEnvironment), _environment(Environment)
    seen = {}
    for env in (ours, jinja):
        outputs = [env.get_template("page.html").render(name="Ann")]
        env.globals["greeting"] = "Hi"  # changed after the templates were loaded
        outputs.append(env.get_template("page.html").render(name="Bo"))
        env.globals["late"] = "x"  # a name the macros' template never had
        outputs.append(env.from_string('{% from "macros.html" import hello %}{{ late }}').render())
        seen[env] = outputs
    assert seen[ours] == seen[jinja]
    assert seen[ours][0] == "[Hello, Ann]" and seen[ours][2] == "x"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_template_global_set_on_one_template_stays_its_own(database_url):
    env = _environment(TemplateEnvironment)
    page = env.get_template("page.html")
    page.globals["greeting"] = "Hey"  # this template's own, as Jinja allows
    assert page.render(name="Cy") == "[Hello, Cy]"  # the macro's template keeps its own
    assert env.from_string("{{ greeting }}").render() == "Hello"
    assert page.globals.keys() >= {"greeting", "range", "dict"}


def test_the_app_draws_its_pages_with_it(app):
    assert isinstance(app.jinja_env, TemplateEnvironment)
    assert isinstance(app.jinja_env.get_template("portal/home.html").globals.keys(), set)


# Fixed texts translated when a template loads (LoadTimeTranslation).

CATALOGUES = {
    "zh": {"Sign out": "退出登录", "Hello, %(name)s": "你好，%(name)s", "Bold": "<b>粗</b>"},
    "en": {},
}
I18N_TEMPLATES = {
    "chrome.html": '<a>{{ _("Sign out") }}</a>{% include "part.html" %}',
    "part.html": (
        '[{{ gettext("Bold") }}|{{ _("Hello, %(name)s", name=who) }}|{{ _("100%% sure") }}]'
    ),
    "own_meaning.html": '{% set _ = shout %}{{ _("Sign out") }}',
    "macro_argument.html": '{% macro m(_) %}{{ _("Sign out") }}{% endmacro %}{{ m(shout) }}',
    "mail.txt": '{{ _("Bold") }}',
    "joined.html": '{{ _("Bold") ~ "<" }}',
}


def _i18n_environment(language: list, looked_up: list):
    """An environment whose ``_`` translates from CATALOGUES in ``language[0]`` (None:
    outside a request); ``looked_up`` records each text the catalogue is asked for."""
    from flask import Flask
    from markupsafe import Markup

    from propadmin.templating import FixedTexts

    def translate(text):
        looked_up.append(text)
        return CATALOGUES[language[0] or "en"].get(text, text)

    def gettext(text, **variables):  # what the app's _() does, for the calls left to it
        rv = Markup(translate(text))  # noqa: S704 - the test catalogue's own text
        return rv % variables if variables or "%" in rv else rv

    env = TemplateEnvironment(Flask(__name__), loader=DictLoader(I18N_TEMPLATES), autoescape=True)
    env.globals.update(_=gettext, gettext=gettext, shout=lambda text: text.upper())
    env.template_language = lambda: language[0]

    def catalogue():  # as the app's: a text with a "%" is left to be formatted when drawn
        def fixed(text):
            found = translate(text)
            return None if "%" in found else found

        return fixed

    env.fixed_texts = (FixedTexts(("_", "gettext"), gettext, catalogue, markup=True),)
    return env


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fixed_texts_are_translated_once_per_language_and_drawn_as_before(database_url):
    language, looked_up = [None], []
    env = _i18n_environment(language, looked_up)
    drawn = {}
    for code in (None, "zh", "en", "zh"):
        language[0] = code
        drawn.setdefault(code, []).append(env.get_template("chrome.html").render(who="<i>Ann</i>"))
    assert drawn[None][0] == "<a>Sign out</a>[Bold|Hello, &lt;i&gt;Ann&lt;/i&gt;|100% sure]"
    assert drawn["zh"][0] == drawn["zh"][1] == (
        "<a>退出登录</a>[<b>粗</b>|你好，&lt;i&gt;Ann&lt;/i&gt;|100% sure]"
    )
    assert drawn["en"][0] == drawn[None][0]

    # Drawn again and again in one language: the fixed texts are not looked up again; the
    # message with a variable and the one with "%" still are, each time.
    language[0] = "zh"
    looked_up.clear()
    for _ in range(3):
        env.get_template("chrome.html").render(who="Bo")
    assert sorted(set(looked_up)) == ["100%% sure", "Hello, %(name)s"]
    assert looked_up.count("Sign out") == looked_up.count("Bold") == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", ["own_meaning.html", "macro_argument.html"])
def test_a_template_that_gives_the_name_its_own_meaning_is_drawn_with_it(database_url, name):
    language, looked_up = ["zh"], []
    env = _i18n_environment(language, looked_up)
    assert env.get_template(name).render() == "SIGN OUT"
    assert looked_up == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_translation_is_markup_only_where_the_output_is_escaped(database_url):
    language, looked_up = ["zh"], []
    env = _i18n_environment(language, looked_up)
    env.autoescape = lambda name: name.endswith(".html")
    assert env.get_template("mail.txt").render() == "<b>粗</b>"
    assert looked_up == ["Bold"]  # when the template loaded
    # Inside an expression, _() gives markup when drawn: the "<" is escaped, its own text not.
    assert env.get_template("joined.html").render() == "<b>粗</b>&lt;"
