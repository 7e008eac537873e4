"""Accounts: sign-in checks, passwords, reset tokens and user creation."""

from __future__ import annotations

import hashlib
import logging
import re

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from models import (
    UNUSABLE_PASSWORD,
    Estate,
    Resident,
    Role,
    StaffEstate,
    User,
    new_session_token,
    utcnow,
)

from .. import audit
from ..mail import queue_mail
from . import ServiceError
from .identifiers import EMAIL_RE, blind_index, mobile_problem, normalize_mobile

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
_DUMMY_HASH: dict[str, str] = {}
# zxcvbn's scale: 0 too guessable … 4 very unguessable; 3 resists an offline attack
# on a slow hash well enough for an account that is also throttled online.
MIN_PASSWORD_SCORE = 3


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash("not-a-password", method=method)
    return _DUMMY_HASH[method]


def find_user(session: Session, login: str) -> User | None:
    """The account a sign-in name means: a user name, an e-mail address, or the mobile
    number of the resident the account belongs to (through the blind index; a number
    two accounts' residents share names neither)."""
    login = (login or "").strip()
    if not login:
        return None
    user = session.scalar(
        select(User).where(
            or_(func.lower(User.username) == login.lower(), User.email == login.lower())
        )
    )
    if user is not None:
        return user
    mobile = normalize_mobile(login)
    if mobile_problem(mobile):
        return None
    users = session.scalars(
        select(User)
        .join(Resident, Resident.user_id == User.id)
        .where(Resident.mobile_index == blind_index("mobile", mobile))
        .limit(2)
    ).all()
    return users[0] if len(users) == 1 else None


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


def _personal_inputs(user: User) -> list[str]:
    """What a guesser knows about the person: names, e-mail, and for a resident's
    account the resident's name and mobile number."""
    inputs = [user.username or "", user.display_name or "", user.email or ""]
    inputs.append((user.email or "").partition("@")[0])
    state = inspect(user)
    session = state.session
    if state.has_identity and session is not None:
        # A new account is not linked to a resident yet; loading the link must not
        # flush a half-built one.
        with session.no_autoflush:
            resident = user.resident
        if resident is not None:
            inputs += [resident.name or "", resident.mobile or ""]
    return [i for i in inputs if len(i) >= 2]


def _is_personal(match) -> bool:
    if match.get("dictionary_name") == "user_inputs":
        return True
    return any(_is_personal(m) for m in match.get("base_matches") or ())


def _without_personal_data(password: str, matches) -> str:
    """The password with whatever zxcvbn found in the person's own data (also
    repeated, as in ``zhangzhang``) cut out."""
    covered = {i for m in matches if _is_personal(m) for i in range(m["i"], m["j"] + 1)}
    return "".join(c for i, c in enumerate(password) if i not in covered)


def validate_password(password: str, user: User | None = None) -> None:
    """Raise ServiceError (field ``password``) when the password is too short, too
    common or built from the person's own data (zxcvbn, with their names, e-mail and
    mobile number as known words)."""
    min_len = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < min_len:
        raise ServiceError(_("Use at least %(n)d characters.", n=min_len), field="password")
    if len(password) > 128:
        raise ServiceError(_("Use at most 128 characters."), field="password")
    inputs = _personal_inputs(user) if user is not None else []
    result = zxcvbn(password, user_inputs=inputs)
    rest = _without_personal_data(password, result["sequence"])
    # Personal data adds nothing a guesser does not know: what is left must be a
    # good password on its own.
    if rest != password and (len(rest) < min_len or zxcvbn(rest)["score"] < MIN_PASSWORD_SCORE):
        raise ServiceError(
            _("The password must not be built from your name, user name, e-mail or mobile number."),
            field="password",
        )
    if result["score"] < MIN_PASSWORD_SCORE:
        raise ServiceError(
            _(
                "This password is too common or too easy to guess. "
                "Use a longer phrase of a few unrelated words."
            ),
            field="password",
        )


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
    email = (email or "").strip().lower()
    if not email:
        return
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        return
    base = current_app.config["BASE_URL"].rstrip("/")
    token = make_reset_token(user)
    link = f"{base}/reset-password/{token}"
    queue_mail(
        session,
        user,
        "reset_password",
        _l("Reset your PropAdmin password"),
        link=link,
        secrets=[link, token],
    )
    audit.record(session, "password", "User", user.id, event="reset requested")


def account_problems(
    session: Session, username: str, email: str | None, user_id: int | None = None
) -> dict[str, str]:
    """What is wrong with a user name and e-mail (field → message); {} when fine.
    Both are unique without regard to case; e-mail is compared lower-cased. The
    e-mail address may be left empty (most residents have none)."""
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
    if not email:
        pass
    elif not EMAIL_RE.match(email):
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
    email: str | None,
    password: str,
    display_name: str = "",
    roles: list[str] | tuple[str, ...] = (),
    estates: list[str] | tuple[str, ...] = (),
    superuser: bool = False,
    check_strength: bool = True,
) -> User:
    """Create an account; raise ServiceError naming the bad field.

    ``check_strength=False`` skips the password policy: only the demo seeder uses it,
    for its documented demo password.
    """
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
        email=email or None,
        display_name=display_name or username,
        is_superuser=superuser,
        roles=role_objs,
        memberships=[StaffEstate(estate=e) for e in estate_objs],
    )
    return add_account(session, user, password, check_strength=check_strength)


def add_account(
    session: Session, user: User, password: str, *, check_strength: bool = True
) -> User:
    """Give a new account its first password and add it (the admin's form and
    ``create_user`` both end here); raise ServiceError when the password is refused.
    No mail goes out: the person is handed the password."""
    user.password_hash = UNUSABLE_PASSWORD
    if check_strength:
        validate_password(password, user)
    user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    log.info("user %r created", user)
    return user
