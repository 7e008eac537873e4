"""Sessions: loading the user, per-user session tokens, idle and absolute timeouts,
and response headers."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from limits import parse

from models import User

from .extensions import db, limiter


def _account_limit():
    return parse(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])


def count_sign_in_attempt(account: str) -> bool:
    """Count one sign-in attempt for an account; False once over the limit.

    The count and the check are one atomic step in the limiter's storage (Redis in
    production), so concurrent guesses are counted too. A success clears the count.
    """
    return limiter.limiter.hit(_account_limit(), *_account_key(account))


def forget_sign_in_attempts(account: str) -> None:
    limiter.limiter.clear(_account_limit(), *_account_key(account))


def _account_key(account: str) -> tuple[str, ...]:
    return (current_app.config.get("RATELIMIT_KEY_PREFIX") or "propadmin", "login", account)


def _load_user(alt_id: str) -> User | None:
    user_id, _sep, token = alt_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token, token):
        return None  # signed out elsewhere or the password changed
    return user


def _now() -> float:
    return datetime.now(UTC).timestamp()


def start_session(user: User) -> None:
    """Sign in: a fresh session (no fixation), stamped for the timeouts."""
    if hasattr(user, "_get_current_object"):  # current_user: store the user, not the proxy
        user = user._get_current_object()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    session.permanent = True
    session["_login_at"] = session["_seen_at"] = _now()


def end_session() -> None:
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _enforce_timeouts():
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = _now()
    idle = current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    absolute = current_app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds()
    login_at = session.get("_login_at", 0)
    seen_at = session.get("_seen_at", 0)
    if now - seen_at > idle or now - login_at > absolute:
        end_session()
        flash(_("Your session has expired. Please sign in again."), "warning")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if now - seen_at > 30:  # avoid rewriting the cookie on every request
        session["_seen_at"] = now
    return None


def _refuse_nul_characters():
    """No form or address carries a NUL character honestly, and PostgreSQL refuses them
    in text: answer 400 before any view sees one."""
    for values in (request.args, request.form):
        for _key, value in values.items(multi=True):
            if "\x00" in value:
                abort(400)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if current_user and current_user.is_authenticated:
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app, login_manager) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(_refuse_nul_characters)
    app.before_request(_enforce_timeouts)
    app.after_request(_security_headers)
