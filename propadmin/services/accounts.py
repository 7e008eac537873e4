"""Accounts: sign-in checks, passwords, reset tokens and user creation."""

from __future__ import annotations

import hashlib
import logging
import re

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import (
    UNUSABLE_PASSWORD,
    Estate,
    Role,
    StaffEstate,
    User,
    new_session_token,
    utcnow,
)

from .. import audit
from ..mail import queue_mail
from . import ServiceError
from .identifiers import EMAIL_RE

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
_DUMMY_HASH: dict[str, str] = {}


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash("not-a-password", method=method)
    return _DUMMY_HASH[method]


def find_user(session: Session, login: str) -> User | None:
    login = (login or "").strip()
    if not login:
        return None
    return session.scalar(
        select(User).where(
            or_(func.lower(User.username) == login.lower(), User.email == login.lower())
        )
    )


def authenticate(session: Session, login: str, password: str) -> User | None:
    """Return the user if the password is right and the account is active, else ``None``.

    Unknown users are checked against a dummy hash so all three failures take as long.
    """
    user = find_user(session, login)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def validate_password(password: str, user: User | None = None) -> None:
    """Raise ServiceError (field ``password``) when the password is too weak."""
    min_len = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < min_len:
        raise ServiceError(_("Use at least %(n)d characters.", n=min_len), field="password")
    if len(password) > 128:
        raise ServiceError(_("Use at most 128 characters."), field="password")
    if password.isdigit() or password.isalpha():
        raise ServiceError(_("Mix letters with digits or symbols."), field="password")
    if user is not None and password.lower() in {user.username.lower(), user.email.lower()}:
        raise ServiceError(_("The password must differ from your user name."), field="password")


def set_password(session: Session, user: User, password: str, *, notify: bool = True) -> None:
    """Change a password, end every session of the user and tell them by mail."""
    validate_password(password, user)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.session_token = new_session_token()
    session.flush()
    if notify:
        queue_mail(session, user, "password_changed", _l("Your PropAdmin password was changed"))
    log.info("password changed for %r", user)


def end_sessions(session: Session, user: User) -> None:
    """Sign the user out everywhere (rotating the per-user session token)."""
    user.session_token = new_session_token()
    session.flush()


# Password reset tokens are signed, expire after PASSWORD_RESET_MAX_AGE and carry a
# fingerprint of the password hash and e-mail: once the password changes (including by
# this very token) or the address does, the token no longer verifies, so it works once.
def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="propadmin.password-reset")


def _fingerprint(user: User) -> str:
    # A new password or a new e-mail address makes links sent earlier useless.
    return hashlib.sha256(f"{user.password_hash}\x00{user.email}".encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_reset_token(session: Session, token: str) -> User | None:
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except (SignatureExpired, BadSignature):
        return None
    user = session.get(User, data.get("u"))
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user


def request_password_reset(session: Session, email: str) -> None:
    """Queue a reset link if an active account has this address; say nothing either way."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.active:
        return
    base = current_app.config["BASE_URL"].rstrip("/")
    link = f"{base}/reset-password/{make_reset_token(user)}"
    queue_mail(session, user, "reset_password", _l("Reset your PropAdmin password"), link=link)
    audit.record(session, "password", "User", user.id, event="reset requested")


def account_problems(
    session: Session, username: str, email: str, user_id: int | None = None
) -> dict[str, str]:
    """What is wrong with a user name and e-mail (field → message); {} when fine.
    Both are unique without regard to case; e-mail is compared lower-cased."""
    problems: dict[str, str] = {}
    if not USERNAME_RE.match(username or ""):
        problems["username"] = _(
            "User names are 3–64 letters, digits, dots, dashes or underscores."
        )
    else:
        taken = select(User.id).where(func.lower(User.username) == username.lower())
        if user_id is not None:
            taken = taken.where(User.id != user_id)
        if session.scalar(taken.limit(1)) is not None:
            problems["username"] = _("User name %(value)s is taken.", value=username)
    if not EMAIL_RE.match(email or ""):
        problems["email"] = _("%(value)s is not an e-mail address.", value=email)
    else:
        taken = select(User.id).where(func.lower(User.email) == email.lower())
        if user_id is not None:
            taken = taken.where(User.id != user_id)
        if session.scalar(taken.limit(1)) is not None:
            problems["email"] = _("E-mail %(value)s is already in use.", value=email)
    return problems


def _by_name(session: Session, model, column, name: str, field: str, missing: str):
    row = session.scalar(select(model).where(column == name))
    if row is None:
        raise ServiceError(missing, field=field)
    return row


def create_user(
    session: Session,
    *,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    roles: list[str] | tuple[str, ...] = (),
    estates: list[str] | tuple[str, ...] = (),
    superuser: bool = False,
) -> User:
    """Create an account; raise ServiceError naming the bad field."""
    username = (username or "").strip()
    email = (email or "").strip().lower()
    problems = account_problems(session, username, email)
    if problems:
        field, message = next(iter(problems.items()))
        raise ServiceError(message, field=field)
    role_objs = [
        _by_name(
            session, Role, Role.name, name, "roles", _("There is no role %(value)s.", value=name)
        )
        for name in roles
    ]
    estate_objs = [
        _by_name(
            session,
            Estate,
            Estate.name,
            name,
            "estates",
            _("There is no estate %(value)s.", value=name),
        )
        for name in estates
    ]
    user = User(
        username=username,
        email=email,
        display_name=display_name or username,
        is_superuser=superuser,
        roles=role_objs,
        memberships=[StaffEstate(estate=e) for e in estate_objs],
    )
    return add_account(session, user, password)


def add_account(session: Session, user: User, password: str) -> User:
    """Give a new account its first password and add it (the admin's form and
    ``create_user`` both end here); raise ServiceError when the password is refused.
    No mail goes out: the person is handed the password."""
    user.password_hash = UNUSABLE_PASSWORD
    validate_password(password, user)
    user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    log.info("user %r created", user)
    return user
