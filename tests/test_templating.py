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
