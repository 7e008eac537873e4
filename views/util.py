"""Small helpers shared by the HTTP views."""

from urllib.parse import urlsplit

from flask import url_for
from flask_login import current_user

from propadmin.permissions import home_endpoint


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def home_url() -> str:
    return url_for(home_endpoint(current_user))


def seen_number(text: str | None) -> int:
    """A hidden field's version or id as the page showed it; -1 (matching nothing) when
    it is not a plain number of a size a column holds."""
    text = text or ""
    return int(text) if text.isdigit() and len(text) < 10 else -1
