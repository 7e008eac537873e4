"""The notice body: HTML an editor wrote, reduced to what a notice needs.

``clean`` runs when a body is saved and again whenever it is shown (the portal, the
admin preview, the mail), so a row written some other way (an import, a hand edit in the
database) is as inert as one saved through the form. Allowed: headings, paragraphs,
emphasis, lists, quotes, links (http, https, mailto, tel) and images by http(s) URL.
Everything else — script, style, event handlers, ``javascript:`` and ``data:`` URLs, SVG,
iframes, forms — is removed. ``text`` gives the words alone, for mail and list excerpts.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3
from markupsafe import Markup

TAGS = {
    "h2", "h3", "h4", "p", "br", "hr", "strong", "b", "em", "i", "u", "s",
    "ul", "ol", "li", "blockquote", "a", "img",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
IMAGE_SCHEMES = ("http://", "https://")
# Tags whose content goes with them (not only the tag).
DROP_WITH_CONTENT = {"script", "style", "svg", "math", "template", "iframe", "object", "noscript"}
MAX_BODY = 20_000  # characters of cleaned HTML

BLOCKS = {"p", "h2", "h3", "h4", "li", "blockquote", "br", "hr", "ul", "ol", "div"}


def _attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src":
        return value if value.strip().lower().startswith(IMAGE_SCHEMES) else None
    if name in ("width", "height"):
        return value if value.isdigit() and len(value) <= 4 else None
    return value


EMPTY_PARAGRAPH_RE = re.compile(r"<p>(?:\s|&nbsp;)*</p>")


def clean(html: str | None) -> str:
    """The body with everything but the allowed tags and attributes removed (and the empty
    paragraphs an editor leaves around a list)."""
    if not html:
        return ""
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return EMPTY_PARAGRAPH_RE.sub("", cleaned).strip()


def render(html: str | None) -> Markup:
    """Cleaned again and marked safe for a template."""
    return Markup(clean(html))  # noqa: S704 - the markup has just been through nh3


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("· ")
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_endtag(self, tag):
        if tag == "a" and getattr(self, "_href", ""):
            if self._href.startswith(("http://", "https://")):
                self.parts.append(f" ({self._href})")
            self._href = ""
        if tag in BLOCKS and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def text(html: str | None) -> str:
    """The words of a (cleaned) body: block elements on lines of their own, list items
    with a bullet, a link followed by its address. For plain-text mail and excerpts."""
    parser = _Text()
    parser.feed(clean(html))
    parser.close()
    # The parser has turned character references into characters already.
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    out: list[str] = []
    for line in lines:  # no two blank lines in a row
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def excerpt(html: str | None, length: int = 80) -> str:
    words = " ".join(text(html).split())
    return words if len(words) <= length else words[: length - 1] + "…"
