"""Sessions: loading the user, per-user session tokens, idle and absolute timeouts,
and response headers."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import defer, joinedload, lazyload

from models import Resident, RolePermission, User, user_role

from .extensions import db, limiter
from .mail import queue_mail

log = logging.getLogger(__name__)


# A browser the account holder signed in from carries a signed cookie naming it. Its
# sign-in attempts are not counted against the account-wide limit, so an attacker
# guessing from many addresses cannot lock the owner out of their own device.
DEVICE_COOKIE = "propadmin_device"
_DEVICE_SALT = "propadmin.known-device"
_DEVICE_ACCOUNTS = 10  # accounts remembered per browser (a family's shared laptop)


def _limit(name: str) -> RateLimitItem:
    return parse(current_app.config[name])


def _key(*parts: str) -> tuple[str, ...]:
    return (current_app.config.get("RATELIMIT_KEY_PREFIX") or "propadmin", "login", *parts)


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_DEVICE_SALT)


def _device_cookie() -> dict | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    max_age = current_app.config["KNOWN_DEVICE_MAX_AGE"].total_seconds()
    try:
        data = _device_serializer().loads(raw, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return None
    return data


def _device_mark(user: User) -> list:
    """What the cookie holds for an account: its id and a stamp of its password, so a
    browser that signed in with a password since changed (stolen, then reset) is no
    longer a known device."""
    stamp = hashlib.sha256(f"{user.id}:{user.password_changed_at}".encode()).hexdigest()[:16]
    return [user.id, stamp]


def known_device(user: User | None) -> str | None:
    """The id of this browser if it is a known device of ``user``, else None."""
    data = _device_cookie()
    if user is None or data is None or _device_mark(user) not in data.get("u", ()):
        return None
    return data["d"]


def remember_device(response, user: User) -> None:
    """After a successful sign-in: mark this browser as a known device of the user."""
    data = _device_cookie() or {"d": secrets.token_urlsafe(16), "u": []}
    mark = _device_mark(user)
    accounts = [u for u in data.get("u", ()) if not (isinstance(u, list) and u[0] == user.id)]
    accounts.append(mark)
    value = _device_serializer().dumps({"d": data["d"], "u": accounts[-_DEVICE_ACCOUNTS:]})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(current_app.config["KNOWN_DEVICE_MAX_AGE"].total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def _attempt_keys(account: str, user: User | None) -> tuple[tuple[str, ...], bool]:
    """The strict counter for this attempt, and whether the account-wide one applies."""
    device = known_device(user)
    if device is not None:
        return _key(account, "device", device), False
    return _key(account, "address", request.remote_addr or ""), True


def count_sign_in_attempt(account: str, user: User | None = None) -> bool:
    """Count one sign-in attempt (or current-password check); False once over a limit.

    Strictly per account and client address (per device for a known device of the
    user), and loosely per account from anywhere. The count and the check are one
    atomic step in the limiter's storage (Redis in production), so concurrent guesses
    are counted too. When the account-wide limit trips, the account holder is told
    by mail, once per window (queued in ``db.session``; the caller commits).
    """
    strict_key, account_wide = _attempt_keys(account, user)
    if not limiter.limiter.hit(_limit("LOGIN_LIMIT_PER_ACCOUNT"), *strict_key):
        return False
    if not account_wide:
        return True
    loose = _limit("LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS")
    if limiter.limiter.hit(loose, *_key(account)):
        return True
    once = parse(f"1 per {loose.get_expiry()} seconds")
    if user is not None and user.email and limiter.limiter.hit(once, *_key(account, "warned")):
        queue_mail(
            db.session,
            user,
            "sign_in_attack",
            _l("Many failed sign-ins on your PropAdmin account"),
        )
        log.warning("account-wide sign-in limit reached for %r", user)
    return False


def forget_sign_in_attempts(account: str, user: User | None = None) -> None:
    """A success clears the strict counter it was counted on. The account-wide count
    stays: it measures guesses from everywhere, which one success does not undo."""
    strict_key, _account_wide = _attempt_keys(account, user)
    limiter.limiter.clear(_limit("LOGIN_LIMIT_PER_ACCOUNT"), *strict_key)


# Every request loads the signed-in account with what its permission checks and estate
# scope read (the permissions its roles grant, staff memberships) and, for a resident, their
# record and estate (every portal page reads them): one statement, however many roles. The
# permissions come as one comma-separated column, not a joined row (and an ORM object) per
# grant: an estate admin holds dozens, and building them on every request cost more than
# the rest of the account. The resident's encrypted numbers are left out (read, and
# decrypted, only by the pages that use them): most pages never show them.
_GRANTED = (
    select(func.aggregate_strings(RolePermission.permission, ","))
    .join(user_role, user_role.c.role_id == RolePermission.role_id)
    .where(user_role.c.user_id == User.id)
    .scalar_subquery()
)
_USER_WITH_GRANTS = (
    select(User, _GRANTED)
    .options(
        lazyload(User.roles),  # selectin by default: only the pages about roles read them
        joinedload(User.memberships),
        joinedload(User.resident).options(
            defer(Resident.id_number),
            defer(Resident.mobile),
            defer(Resident.emergency_phone),
            joinedload(Resident.estate),
        ),
    )
    .where(User.id == bindparam("user_id", type_=Integer))
)  # built once: no cache key per request


def _load_user(alt_id: str) -> User | None:
    user_id, _sep, token = alt_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    row = db.session.execute(_USER_WITH_GRANTS, {"user_id": int(user_id)}).unique().first()
    if row is None or not row[0].active:
        return None
    user, granted = row
    if not hmac.compare_digest(user.session_token, token):
        return None  # signed out elsewhere or the password changed
    # What the roles granted when this request began (permissions_for reads it).
    user.granted_permissions = frozenset(granted.split(",")) if granted else frozenset()
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


def init_app(app, login_manager) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(_refuse_nul_characters)
    app.before_request(_enforce_timeouts)
