"""Chinese throughout: no page of the admin or the portal that a role can open shows English
words in the Chinese UI — headings, labels, buttons, table headers, filter choices,
placeholders, flash messages — allowing names, codes and numbers (people's data).

Every GET page of the app is opened as each demo account, with real records behind the
record pages, and the text a person sees (plus placeholders, titles and labels for screen
readers) is checked. A new screen is checked as soon as it exists."""

import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from models import Role, User

from .helpers import ROLES, login
from .test_access import a_record_of_each_view, all_rules
from .test_browser import ALLOWED_LATIN, LATIN_WORD

# What staff and residents type that may be in Latin letters: the demo's user names and
# role codes, time zone names, and the names of languages in the language switch.
DATA = {"admin", "finance", "repair", "owner", "owner2", "tenant", "probe"}
# One-time access codes (ABCD-7K3M) first: the digit pattern would split them.
ALLOWED = [re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b"), *ALLOWED_LATIN]
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-placeholder")


class VisibleText(HTMLParser):
    """The words a page shows: text outside scripts and styles, and the attributes a
    person reads (placeholders, tooltips, screen-reader labels)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._hidden: list[str] = []  # open tags whose content nobody sees

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        hidden_data = "d-none" in (attrs.get("class") or "").split()  # JSON for scripts
        if attrs.get("id") == "filter-groups-data":
            self._filters = True  # ...except the filters' choices, which a person picks
        if self._hidden or tag in ("script", "style", "template") or hidden_data:
            self._hidden.append(tag)
            return
        for name in VISIBLE_ATTRIBUTES:
            if attrs.get(name):
                self.words.append(attrs[name])

    def handle_startendtag(self, tag, attrs):
        if not self._hidden:
            for name in VISIBLE_ATTRIBUTES:
                value = dict(attrs).get(name)
                if value:
                    self.words.append(value)

    def handle_endtag(self, tag):
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data):
        if getattr(self, "_filters", False):
            self._filters = False
            for groups in json.loads(data).values():
                for group in groups:
                    self.words += [label for _value, label in group.get("options") or ()]
                    self.words.append(group.get("operation") or "")
        if not self._hidden and data.strip():
            self.words.append(data)


def english_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.words)
    for pattern in ALLOWED:
        text = pattern.sub(" ", text)
    return {w for w in LATIN_WORD.findall(text) if w not in DATA and w.lower() not in DATA}


def data_words(db_session) -> set[str]:
    """Words that are people's data here: user names, e-mail parts, role codes, zones."""
    words = set(db_session.scalars(select(User.username)))
    words |= set(db_session.scalars(select(Role.name)))
    words |= {"Asia", "Shanghai", "CSV", "XLSX"}  # time zones, file types
    return words


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_english_in_the_chinese_ui(app, demo, db_session, make, role):
    make.outbox_message(subject="您的密码已修改")  # so the outbox pages have a record
    client = app.test_client()
    assert login(client, role).status_code == 302
    allowed = data_words(db_session)
    problems = {}
    checked = 0
    for endpoint, method, url in all_rules(app, a_record_of_each_view(app, db_session)):
        if method != "GET" or "static" in endpoint or endpoint == "auth.logout":
            continue
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        words = english_words(response.get_data(as_text=True)) - allowed
        if words:
            problems[url] = sorted(words)
        checked += 1
    assert checked >= (3 if role in ("owner", "owner2", "tenant") else 10)
    assert problems == {}, "\n".join(f"{u}: {w}" for u, w in problems.items())
